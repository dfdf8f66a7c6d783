/* describe-eif's view of the metadata section, as nitro-cli gives it:
 * the section is read into EifIdentityInfo (aws-nitro-enclaves-image-format
 * src/defs/mod.rs:255-283; src/utils/eif_reader.rs from_eif, "Error
 * deserializing metadata"), and printed as MetadataDescribeInfo
 * (aws-nitro-enclaves-cli v1.5.0 src/common/json_output.rs:222-261):
 * BuildMetadata's five fields in that struct's order, DockerInfo, then the
 * user's CustomMetadata keys inlined (serde flatten). DockerInfo and
 * CustomMetadata are serde_json::Values, so their keys come out sorted. */
#include <json-c/json.h>
#include <string.h>

#include "carve/json_serde.h"
#include "eif/metadata.h"

static const char *const build_fields[] = {"BuildTime", "BuildTool", "BuildToolVersion", "OperatingSystem",
					   "KernelVersion"};

static int bad(struct carve_err *err, const char *problem, const char *field)
{
	return carve_fail(err, E35_EIF_PARSING,
			  "Failed to initialize EIF reader: Error deserializing metadata: %s '%s'", problem,
			  field);
}

/* A field serde requires: present, and a string when want_string. */
static int field(json_object *obj, const char *key, bool want_string, json_object **out,
		 struct carve_err *err)
{
	if (!json_object_object_get_ex(obj, key, out))
		return bad(err, "missing field", key);
	if (want_string && !json_object_is_type(*out, json_type_string))
		return bad(err, "not a string:", key);
	return 0;
}

int eif_metadata_describe(const char *text, size_t len, json_object *out, struct carve_err *err)
{
	if (len > EIF_METADATA_MAX)
		return bad(err, "too large:", "metadata");
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	json_object *meta = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	/* serde_json::from_slice: one value, then only whitespace. */
	bool trailing = false;
	for (size_t i = used; jerr == json_tokener_success && i < len; i++)
		if (!strchr(" \t\r\n", text[i]))
			trailing = true;
	if (jerr != json_tokener_success || trailing || !json_object_is_type(meta, json_type_object)) {
		json_object_put(meta);
		return bad(err, "not a JSON object:", "metadata");
	}

	json_object *name, *version, *build, *docker, *custom, *v;
	int rc = 0;
	if (field(meta, "ImageName", true, &name, err) < 0 ||
	    field(meta, "ImageVersion", true, &version, err) < 0 ||
	    field(meta, "BuildMetadata", false, &build, err) < 0 ||
	    field(meta, "DockerInfo", false, &docker, err) < 0 ||
	    field(meta, "CustomMetadata", false, &custom, err) < 0)
		rc = -1;
	if (rc == 0 && !json_object_is_type(build, json_type_object))
		rc = bad(err, "not an object:", "BuildMetadata");
	for (size_t i = 0; rc == 0 && i < sizeof(build_fields) / sizeof(build_fields[0]); i++)
		rc = field(build, build_fields[i], true, &v, err);
	/* Flattening anything but a map fails serde_json::to_string_pretty
	 * (src/lib.rs:282-292, SerdeError). */
	if (rc == 0 && custom && !json_object_is_type(custom, json_type_object))
		rc = carve_fail(
			err, E17_SERDE,
			"Failed to display EIF describe data: CustomMetadata is a %s; can only flatten "
			"structs and maps",
			json_type_to_name(json_object_get_type(custom)));
	if (rc < 0) {
		json_object_put(meta);
		return -1;
	}

	json_object *m = json_object_new_object();
	for (size_t i = 0; i < sizeof(build_fields) / sizeof(build_fields[0]); i++) {
		json_object_object_get_ex(build, build_fields[i], &v);
		json_object_object_add(m, build_fields[i], json_object_get(v));
	}
	json_object_object_add(m, "DockerInfo", json_sorted_copy(docker));
	if (custom) {
		json_object *sorted = json_sorted_copy(custom);
		json_object_object_foreach(sorted, key, val)
			json_object_object_add(m, key, json_object_get(val));
		json_object_put(sorted);
	}
	json_object_object_add(out, "ImageName", json_object_get(name));
	json_object_object_add(out, "ImageVersion", json_object_get(version));
	json_object_object_add(out, "Metadata", m);
	json_object_put(meta);
	return 0;
}
