/* DockerInfo's Config (see docker_info.h). The fields and types are
 * bollard-stubs 1.49.1-rc.28.4.0's ImageConfig and HealthConfig
 * (bollard v0.19.4 codegen/swagger/src/models.rs), the versions nitro-cli
 * v1.5.0's Cargo.lock pins. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "image/docker_info.h"

enum kind { STR, BOOL, INT, STRV, SET, STRMAP, HEALTH };

struct field {
	const char *name;
	enum kind kind;
};

static const struct field image_config_fields[] = {
	{"Hostname", STR},         {"Domainname", STR},    {"User", STR},
	{"AttachStdin", BOOL},     {"AttachStdout", BOOL}, {"AttachStderr", BOOL},
	{"ExposedPorts", SET},     {"Tty", BOOL},          {"OpenStdin", BOOL},
	{"StdinOnce", BOOL},       {"Env", STRV},          {"Cmd", STRV},
	{"Healthcheck", HEALTH},   {"ArgsEscaped", BOOL},  {"Image", STR},
	{"Volumes", SET},          {"WorkingDir", STR},    {"Entrypoint", STRV},
	{"NetworkDisabled", BOOL}, {"MacAddress", STR},    {"OnBuild", STRV},
	{"Labels", STRMAP},        {"StopSignal", STR},    {"StopTimeout", INT},
	{"Shell", STRV},
};

static const struct field health_fields[] = {
	{"Test", STRV},   {"Interval", INT},    {"Timeout", INT},
	{"Retries", INT}, {"StartPeriod", INT}, {"StartInterval", INT},
};

static json_object *filter(json_object *obj, const struct field *fields, size_t n);

static bool all_strings(json_object *v, bool object)
{
	if (object) {
		json_object_object_foreach(v, key, val)
		{
			(void)key;
			if (!json_object_is_type(val, json_type_string))
				return false;
		}
		return true;
	}
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
			return false;
	return true;
}

/* The value as bollard writes it back, or NULL to leave the field out. */
static json_object *convert(json_object *v, enum kind kind)
{
	switch (kind) {
	case STR: return json_object_is_type(v, json_type_string) ? json_object_get(v) : NULL;
	case BOOL: return json_object_is_type(v, json_type_boolean) ? json_object_get(v) : NULL;
	case INT: return json_object_is_type(v, json_type_int) ? json_object_get(v) : NULL;
	case STRV:
		return json_object_is_type(v, json_type_array) && all_strings(v, false) ? json_object_get(v)
											: NULL;
	case STRMAP:
		return json_object_is_type(v, json_type_object) && all_strings(v, true) ? json_object_get(v)
											: NULL;
	case SET: {
		/* HashMap<String, HashMap<(), ()>>: each value reads as an empty
		 * map and is written as {}. */
		if (!json_object_is_type(v, json_type_object))
			return NULL;
		json_object *out = json_object_new_object();
		json_object_object_foreach(v, key, val)
		{
			if (!json_object_is_type(val, json_type_object) ||
			    json_object_object_length(val) != 0) {
				json_object_put(out);
				return NULL;
			}
			json_object_object_add(out, key, json_object_new_object());
		}
		return out;
	}
	case HEALTH:
		return json_object_is_type(v, json_type_object)
			? filter(v, health_fields, sizeof(health_fields) / sizeof(health_fields[0]))
			: NULL;
	}
	return NULL;
}

static json_object *filter(json_object *obj, const struct field *fields, size_t n)
{
	json_object *out = json_object_new_object();
	for (size_t i = 0; out && i < n; i++) {
		json_object *v;
		if (!json_object_object_get_ex(obj, fields[i].name, &v) || !v)
			continue;
		json_object *c = convert(v, fields[i].kind);
		if (c)
			json_object_object_add(out, fields[i].name, c);
	}
	return out;
}

json_object *docker_info_config(json_object *config)
{
	if (!json_object_is_type(config, json_type_object))
		return NULL;
	return filter(config, image_config_fields,
		      sizeof(image_config_fields) / sizeof(image_config_fields[0]));
}
