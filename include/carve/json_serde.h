/* JSON as nitro-cli's serde_json writes it, so carve's output is byte for
 * byte the same: to_string_pretty's layout, and serde_json::Value's objects,
 * whose keys are sorted (nitro-cli builds serde_json without preserve_order:
 * its Map is a BTreeMap; aws-nitro-enclaves-cli v1.5.0 Cargo.lock). */
#ifndef CARVE_JSON_SERDE_H
#define CARVE_JSON_SERDE_H

struct json_object;

/* serde_json::to_string_pretty: two-space indent, "key": value, empty
 * objects and arrays as {} and [], strings escaped as serde_json does
 * (only '"', '\\' and control characters; '/' and non-ASCII as they are).
 * Doubles as json-c keeps them (the text they were parsed from). malloc'ed;
 * NULL when out of memory. */
char *json_serde_pretty(struct json_object *value);

/* A deep copy whose objects list their keys in byte order, as a
 * serde_json::Value holds them. NULL in, NULL (JSON null) out. */
struct json_object *json_sorted_copy(struct json_object *value);

#endif
