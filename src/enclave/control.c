/* Control requests: one JSON object per line, checked field by field. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "carve/control.h"

static const char *const cmd_names[] = {
	[CONTROL_DESCRIBE] = "describe",
	[CONTROL_TERMINATE] = "terminate",
	[CONTROL_CONSOLE] = "console",
	[CONTROL_SUBPAGES] = "subpages",
};

/* "gfn" and "npages" of a subpages request: both or neither, integers in
 * range, and for no other command. */
static int parse_range(json_object *obj, struct control_request *req, struct carve_err *err)
{
	json_object *g, *n;
	bool has_g = json_object_object_get_ex(obj, "gfn", &g),
	     has_n = json_object_object_get_ex(obj, "npages", &n);
	req->has_range = false;
	req->gfn = 0;
	req->npages = 0;
	if (!has_g && !has_n)
		return 0;
	if (req->cmd != CONTROL_SUBPAGES)
		return carve_fail(err, E17_SERDE, "\"gfn\" and \"npages\" go with \"subpages\" only");
	if (!has_g || !has_n)
		return carve_fail(err, E17_SERDE, "\"gfn\" and \"npages\" go together");
	if (!json_object_is_type(g, json_type_int) || !json_object_is_type(n, json_type_int))
		return carve_fail(err, E17_SERDE, "\"gfn\" and \"npages\" are integers");
	int64_t gv = json_object_get_int64(g), nv = json_object_get_int64(n);
	if (gv < 0 || (uint64_t)gv > CONTROL_SUBPAGES_MAX_GFN || nv < 1 || nv > CONTROL_SUBPAGES_MAX_PAGES ||
	    (uint64_t)gv + (uint64_t)nv - 1 > CONTROL_SUBPAGES_MAX_GFN)
		return carve_fail(err, E17_SERDE,
				  "\"gfn\" is a frame below 2^36 and \"npages\" 1 to %d, the range inside",
				  CONTROL_SUBPAGES_MAX_PAGES);
	req->has_range = true;
	req->gfn = (uint64_t)gv;
	req->npages = (uint32_t)nv;
	return 0;
}

/* The members of the top-level object of a valid JSON text: the ':' at
 * depth 1 outside strings. */
static size_t top_level_members(const char *s, size_t len)
{
	size_t n = 0;
	int depth = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_string) {
			if (c == '\\')
				i++; /* the escaped character */
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == ':' && depth == 1) {
			n++;
		}
	}
	return n;
}

int control_parse_request(const char *line, size_t len, struct control_request *req, struct carve_err *err)
{
	if (len && line[len - 1] == '\n')
		len--;
	if (len == 0 || len >= CONTROL_MSG_MAX)
		return carve_fail(err, E17_SERDE, "a control request is one JSON line of 1 to %d bytes",
				  CONTROL_MSG_MAX - 1);
	if (memchr(line, '\n', len) || memchr(line, '\0', len))
		return carve_fail(err, E17_SERDE, "a control request is a single line of text");
	json_tokener *tok = json_tokener_new_ex(8);
	if (!tok)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	json_object *obj = json_tokener_parse_ex(tok, line, (int)len);
	bool complete = json_tokener_get_error(tok) == json_tokener_success &&
		(size_t)json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	int rc = -1;
	if (!obj || !complete || !json_object_is_type(obj, json_type_object)) {
		carve_fail(err, E17_SERDE, "a control request is a JSON object");
		goto out;
	}
	/* json-c keeps the last of two equal keys, so {"cmd":"describe",
	 * "cmd":"terminate"} would terminate: a field named twice is refused. */
	if (top_level_members(line, len) != (size_t)json_object_object_length(obj)) {
		carve_fail(err, E17_SERDE, "a control request names a field twice");
		goto out;
	}
	json_object *cmd, *meta;
	if (!json_object_object_get_ex(obj, "cmd", &cmd) || !json_object_is_type(cmd, json_type_string)) {
		carve_fail(err, E17_SERDE, "a control request needs \"cmd\" as a string");
		goto out;
	}
	const char *name = json_object_get_string(cmd);
	int which = -1;
	for (size_t i = 0; i < sizeof(cmd_names) / sizeof(*cmd_names); i++)
		if (!strcmp(name, cmd_names[i]))
			which = (int)i;
	if (which < 0) {
		carve_fail(err, E14_INVALID_COMMAND, "unknown control command '%.64s'", name);
		goto out;
	}
	req->cmd = (enum control_cmd)which;
	req->metadata = false;
	if (json_object_object_get_ex(obj, "metadata", &meta)) {
		if (!json_object_is_type(meta, json_type_boolean)) {
			carve_fail(err, E17_SERDE, "\"metadata\" must be true or false");
			goto out;
		}
		req->metadata = json_object_get_boolean(meta);
	}
	if (parse_range(obj, req, err) < 0)
		goto out;
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		if (strcmp(key, "cmd") && strcmp(key, "metadata") && strcmp(key, "gfn") &&
		    strcmp(key, "npages")) {
			carve_fail(err, E17_SERDE, "unknown field \"%.64s\" in a control request", key);
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(obj);
	return rc;
}

int control_format_request(const struct control_request *req, char *out, size_t cap)
{
	char range[64] = "";
	if (req->has_range)
		snprintf(range, sizeof(range), ", \"gfn\": %llu, \"npages\": %u",
			 (unsigned long long)req->gfn, req->npages);
	int n = snprintf(out, cap, "{\"cmd\": \"%s\"%s%s}\n", cmd_names[req->cmd],
			 req->metadata ? ", \"metadata\": true" : "", range);
	return n > 0 && (size_t)n < cap ? n : -1;
}
