/* libFuzzer target for describe-eif's reading of an EIF's metadata section
 * (eif_metadata_describe): any bytes, as an image can hold any. Whatever it
 * accepts must print. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>

#include "carve/json_serde.h"
#include "eif/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct carve_err err = {0};
	json_object *out = json_object_new_object();
	if (eif_metadata_describe((const char *)data, size, out, &err) == 0) {
		char *text = json_serde_pretty(out);
		if (!text)
			abort();
		free(text);
	}
	json_object_put(out);
	return 0;
}
