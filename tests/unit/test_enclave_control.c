/* Control requests: one JSON object a line, every field checked, no field
 * twice (json-c would keep the last). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "carve/control.h"

static int parse(const char *line, struct control_request *req, struct carve_err *err)
{
	memset(err, 0, sizeof(*err));
	return control_parse_request(line, strlen(line), req, err);
}

static void accepted(void **state)
{
	(void)state;
	struct control_request r;
	struct carve_err e;
	assert_int_equal(parse("{\"cmd\": \"describe\"}\n", &r, &e), 0);
	assert_int_equal(r.cmd, CONTROL_DESCRIBE);
	assert_false(r.metadata);
	assert_int_equal(parse("{\"cmd\":\"describe\",\"metadata\":true}", &r, &e), 0);
	assert_true(r.metadata);
	assert_int_equal(parse("{\"metadata\": false, \"cmd\": \"terminate\"}", &r, &e), 0);
	assert_int_equal(r.cmd, CONTROL_TERMINATE);
	/* What carve itself sends parses back. */
	char line[128];
	struct control_request out = {.cmd = CONTROL_CONSOLE, .metadata = true};
	assert_true(control_format_request(&out, line, sizeof(line)) > 0);
	assert_int_equal(parse(line, &r, &e), 0);
	assert_int_equal(r.cmd, CONTROL_CONSOLE);
	assert_true(r.metadata);
}

static void refused(void **state)
{
	(void)state;
	struct control_request r;
	struct carve_err e;
	static const struct {
		const char *line;
		int code;
	} bad[] = {
		{"{\"cmd\":\"describe\",\"cmd\":\"terminate\"}", E17_SERDE}, /* the last would win */
		{"{\"cmd\":\"describe\",\"metadata\":true,\"metadata\":false}", E17_SERDE},
		{"{\"cmd\":\"describe\",\"metadata\":\"true\"}", E17_SERDE},
		{"{\"cmd\":\"descr:be\"}", E14_INVALID_COMMAND}, /* a colon in a string */
		{"{\"cmd\":\"describe\",\"x\":{\"a\":1}}", E17_SERDE},
		{"{\"cmd\":7}", E17_SERDE},
		{"[\"cmd\"]", E17_SERDE},
		{"{\"cmd\":\"describe\"} {}", E17_SERDE},
		{"", E17_SERDE},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(parse(bad[i].line, &r, &e), -1);
		assert_int_equal(e.code, bad[i].code);
	}
	assert_int_equal(parse("{\"cmd\":\"describe\",\"cmd\":\"terminate\"}", &r, &e), -1);
	assert_string_equal(e.msg, "a control request names a field twice");
}

/* "subpages": the whole table, or a range of frames as
 * KVM_SUBPAGES_GET_ACCESS takes it (1 to 512 pages, below 2^36). */
static void subpages_request(void **state)
{
	(void)state;
	struct control_request r;
	struct carve_err e;
	assert_int_equal(parse("{\"cmd\": \"subpages\"}", &r, &e), 0);
	assert_int_equal(r.cmd, CONTROL_SUBPAGES);
	assert_false(r.has_range);
	assert_int_equal(parse("{\"cmd\": \"subpages\", \"gfn\": 8192, \"npages\": 512}", &r, &e), 0);
	assert_true(r.has_range);
	assert_int_equal(r.gfn, 8192);
	assert_int_equal(r.npages, 512);
	char line[128];
	struct control_request out = {
		.cmd = CONTROL_SUBPAGES, .has_range = true, .gfn = 68719476735ull, .npages = 1};
	assert_true(control_format_request(&out, line, sizeof(line)) > 0);
	assert_int_equal(parse(line, &r, &e), 0);
	assert_true(r.has_range && r.gfn == 68719476735ull && r.npages == 1);
	static const char *const bad[] = {
		"{\"cmd\": \"subpages\", \"gfn\": 1}",
		"{\"cmd\": \"subpages\", \"npages\": 1}",
		"{\"cmd\": \"subpages\", \"gfn\": 1, \"npages\": 0}",
		"{\"cmd\": \"subpages\", \"gfn\": 1, \"npages\": 513}",
		"{\"cmd\": \"subpages\", \"gfn\": -1, \"npages\": 1}",
		"{\"cmd\": \"subpages\", \"gfn\": 68719476736, \"npages\": 1}",
		"{\"cmd\": \"subpages\", \"gfn\": 68719476735, \"npages\": 2}",
		"{\"cmd\": \"subpages\", \"gfn\": 1.5, \"npages\": 1}",
		"{\"cmd\": \"subpages\", \"gfn\": \"1\", \"npages\": 1}",
		"{\"cmd\": \"subpages\", \"gfn\": 99999999999999999999999, \"npages\": 1}",
		"{\"cmd\": \"describe\", \"gfn\": 1, \"npages\": 1}",
		"{\"cmd\": \"subpages\", \"gfn\": 1, \"npages\": 1, \"gfn\": 2}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (parse(bad[i], &r, &e) != -1 || e.code != E17_SERDE)
			fail_msg("accepted: %s", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepted),
		cmocka_unit_test(refused),
		cmocka_unit_test(subpages_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
