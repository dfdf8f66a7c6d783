/* serde_json's pretty form and Value key order (see carve/json_serde.h). */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/json_serde.h"

struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *b = realloc(o->buf, cap);
		if (!b) {
			o->failed = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void indent(struct out *o, int depth)
{
	for (int i = 0; i < depth; i++)
		put(o, "  ", 2);
}

/* serde_json's ESCAPE table: \" \\ \b \t \n \f \r, other bytes below 0x20 as
 * \u00xx with lower-case hex; everything else (0x7f, UTF-8) as it is. */
static void string(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	put(o, "\"", 1);
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[7];
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\b': esc = "\\b"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\f': esc = "\\f"; break;
		case '\r': esc = "\\r"; break;
		default:
			if (c < 0x20) {
				memcpy(u, "\\u00", 4);
				u[4] = hex[c >> 4];
				u[5] = hex[c & 0xf];
				u[6] = '\0';
				esc = u;
			}
		}
		if (!esc)
			continue;
		put(o, s + start, i - start);
		puts_(o, esc);
		start = i + 1;
	}
	put(o, s + start, n - start);
	put(o, "\"", 1);
}

static void value(struct out *o, json_object *v, int depth)
{
	switch (json_object_get_type(v)) {
	case json_type_null: puts_(o, "null"); return;
	case json_type_boolean: puts_(o, json_object_get_boolean(v) ? "true" : "false"); return;
	case json_type_int:
	case json_type_double: puts_(o, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)); return;
	case json_type_string:
		string(o, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		return;
	case json_type_array: {
		size_t n = json_object_array_length(v);
		if (n == 0) {
			puts_(o, "[]");
			return;
		}
		puts_(o, "[\n");
		for (size_t i = 0; i < n; i++) {
			indent(o, depth + 1);
			value(o, json_object_array_get_idx(v, i), depth + 1);
			puts_(o, i + 1 < n ? ",\n" : "\n");
		}
		indent(o, depth);
		puts_(o, "]");
		return;
	}
	case json_type_object: {
		if (json_object_object_length(v) == 0) {
			puts_(o, "{}");
			return;
		}
		puts_(o, "{\n");
		int left = json_object_object_length(v);
		json_object_object_foreach(v, key, val)
		{
			indent(o, depth + 1);
			string(o, key, strlen(key));
			puts_(o, ": ");
			value(o, val, depth + 1);
			puts_(o, --left ? ",\n" : "\n");
		}
		indent(o, depth);
		puts_(o, "}");
		return;
	}
	}
}

char *json_serde_pretty(json_object *v)
{
	struct out o = {0};
	value(&o, v, 0);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	return o.buf ? o.buf : strdup("");
}

static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_object *json_sorted_copy(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return NULL;
	case json_type_array: {
		json_object *a = json_object_new_array();
		for (size_t i = 0; a && i < json_object_array_length(v); i++)
			json_object_array_add(a, json_sorted_copy(json_object_array_get_idx(v, i)));
		return a;
	}
	case json_type_object: {
		size_t n = (size_t)json_object_object_length(v), i = 0;
		const char **keys = calloc(n ? n : 1, sizeof(*keys));
		json_object *obj = json_object_new_object();
		if (!keys || !obj) {
			free(keys);
			json_object_put(obj);
			return NULL;
		}
		json_object_object_foreach(v, key, val)
		{
			(void)val;
			keys[i++] = key;
		}
		/* Rust orders String keys by their bytes: strcmp on UTF-8 is the same. */
		qsort(keys, n, sizeof(*keys), by_key);
		for (i = 0; i < n; i++)
			json_object_object_add(obj, keys[i],
					       json_sorted_copy(json_object_object_get(v, keys[i])));
		free(keys);
		return obj;
	}
	default: return json_object_get(v); /* scalars are immutable here: share them */
	}
}
