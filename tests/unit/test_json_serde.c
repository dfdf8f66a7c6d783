/* serde_json's pretty form and Value key order, which carve's JSON output
 * copies byte for byte (serde_json 1.0.135, nitro-cli v1.5.0's Cargo.lock:
 * ser.rs PrettyFormatter, ESCAPE table; map.rs Map = BTreeMap). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "carve/json_serde.h"

static void check(const char *in, const char *want)
{
	json_object *v = json_tokener_parse(in);
	char *got = json_serde_pretty(v);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	json_object_put(v);
}

static void layout(void **state)
{
	(void)state;
	check("{\"a\":{},\"b\":[],\"c\":[1,true,null],\"d\":{\"e\":\"f\"}}",
	      "{\n  \"a\": {},\n  \"b\": [],\n  \"c\": [\n    1,\n    true,\n    null\n  ],\n"
	      "  \"d\": {\n    \"e\": \"f\"\n  }\n}");
	check("{}", "{}");
	check("[]", "[]");
	check("\"x\"", "\"x\"");
	check("-12", "-12");
	check("1.50", "1.50"); /* a parsed double keeps its text */
	check("18446744073709551615", "18446744073709551615");
}

static void escapes(void **state)
{
	(void)state;
	/* '/' and DEL and UTF-8 stay; quote, backslash and controls are escaped. */
	check("\"a/b\\u007f\\u00e9\"", "\"a/b\x7f\xc3\xa9\"");
	check("\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\"", "\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\"");
	/* keys are escaped the same way */
	check("{\"k\\n\":1}", "{\n  \"k\\n\": 1\n}");
}

static void sorted(void **state)
{
	(void)state;
	json_object *v = json_tokener_parse("{\"b\":{\"z\":1,\"Z\":2,\"a\":[{\"y\":1,\"x\":2}]},\"a\":null,"
					    "\"\xc3\xa9\":1,\"B\":true}");
	json_object *s = json_sorted_copy(v);
	char *got = json_serde_pretty(s);
	/* byte order: upper case before lower case, UTF-8 after ASCII; nested too */
	assert_string_equal(
		got,
		"{\n  \"B\": true,\n  \"a\": null,\n  \"b\": {\n    \"Z\": 2,\n    \"a\": [\n"
		"      {\n        \"x\": 2,\n        \"y\": 1\n      }\n    ],\n    \"z\": 1\n  },\n"
		"  \"\xc3\xa9\": 1\n}");
	free(got);
	/* the original is unchanged */
	got = json_serde_pretty(v);
	assert_non_null(strstr(got, "\"b\": {\n    \"z\": 1"));
	free(got);
	json_object_put(s);
	json_object_put(v);
	assert_null(json_sorted_copy(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout),
		cmocka_unit_test(escapes),
		cmocka_unit_test(sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
