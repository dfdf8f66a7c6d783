/* Arrays of small integers (CPU ids) in the JSON carve writes: records,
 * the CPU pool, describe-enclaves. One writer and one reader, so every file
 * spells them the same way and every reader bounds them the same way. */
#include <json-c/json.h>

#include "carve/util.h"

struct json_object *json_int_array(const int *v, int n)
{
	json_object *a = json_object_new_array();
	for (int i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_int(v[i]));
	return a;
}

int json_int_array_read(struct json_object *a, int *out, int max)
{
	if (!json_object_is_type(a, json_type_array))
		return -1;
	size_t len = json_object_array_length(a);
	int n = 0;
	for (size_t i = 0; i < len && n < max; i++)
		out[n++] = json_object_get_int(json_object_array_get_idx(a, i));
	return n;
}
