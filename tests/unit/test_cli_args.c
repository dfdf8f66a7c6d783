/* The flag parser every command uses: list flags take several words after
 * one flag as nitro-cli's clap parser does, and keep carve's repeated flags
 * and comma lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

/* args.c is the CLI's (not in libcarve), so its source is compiled in here;
 * its --help looks the command up in main.c's table, given here instead. */
#include "../../src/cli/args.c"

const struct cli_command cli_commands[] = {{"run-enclave", NULL, "test", NULL}, {NULL, NULL, NULL, NULL}};

struct parsed {
	const char *memory;
	struct cli_list ids;
	bool debug;
};

static int parse(struct parsed *p, int argc, char **argv, struct carve_err *err)
{
	memset(p, 0, sizeof(*p));
	const struct cli_arg args[] = {
		{"memory", ARG_STRING, false, &p->memory, ""},
		{"cpu-ids", ARG_STRING_LIST, false, &p->ids, ""},
		{"debug-mode", ARG_FLAG, false, &p->debug, ""},
		{0},
	};
	return cli_parse("run-enclave", args, argc, argv, err);
}

/* aws-nitro-enclaves-cli v1.5.0 src/lib.rs:645-651 (create_app!): --cpu-ids
 * is num_args(1..), so "--cpu-ids 1 3" is two values and the next flag ends
 * the list. */
static void several_values_after_one_flag(void **state)
{
	(void)state;
	struct carve_err err = {0};
	struct parsed p;
	char *argv[] = {"--cpu-ids", "1", "3", "--memory", "64", "--debug-mode"};
	assert_int_equal(parse(&p, 6, argv, &err), CLI_PARSED);
	assert_int_equal(p.ids.count, 2);
	assert_string_equal(p.ids.items[0], "1");
	assert_string_equal(p.ids.items[1], "3");
	assert_string_equal(p.memory, "64");
	assert_true(p.debug);
	cli_list_free(&p.ids);
	/* Last on the line: the list runs to the end. */
	char *tail[] = {"--memory", "64", "--cpu-ids", "5", "6", "7"};
	assert_int_equal(parse(&p, 6, tail, &err), CLI_PARSED);
	assert_int_equal(p.ids.count, 3);
	assert_string_equal(p.ids.items[2], "7");
	cli_list_free(&p.ids);
}

/* carve's own forms stay: a repeated flag adds to the list, and a value may
 * itself be a comma list (split later by enclave_parse_cpu_list). */
static void repeated_flags_and_comma_lists(void **state)
{
	(void)state;
	struct carve_err err = {0};
	struct parsed p;
	char *argv[] = {"--cpu-ids", "1,2", "--memory", "64", "--cpu-ids", "3", "--cpu-ids=4"};
	assert_int_equal(parse(&p, 7, argv, &err), CLI_PARSED);
	assert_int_equal(p.ids.count, 3);
	assert_string_equal(p.ids.items[0], "1,2");
	assert_string_equal(p.ids.items[1], "3");
	assert_string_equal(p.ids.items[2], "4");
	cli_list_free(&p.ids);
}

/* clap takes one value from "--flag=value" and leaves the next word a
 * positional one, which run-enclave has none of: E03, as an unknown word. */
static void attached_value_is_one_value(void **state)
{
	(void)state;
	struct carve_err err = {0};
	struct parsed p;
	char *argv[] = {"--cpu-ids=1", "3"};
	assert_int_equal(parse(&p, 2, argv, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	assert_non_null(strstr(err.msg, "'3'"));
	cli_list_free(&p.ids);
}

/* A plain string flag still takes exactly one word. */
static void string_flag_takes_one_word(void **state)
{
	(void)state;
	struct carve_err err = {0};
	struct parsed p;
	char *argv[] = {"--memory", "64", "128"};
	assert_int_equal(parse(&p, 3, argv, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	cli_list_free(&p.ids);
}

/* A word starting with '-' ends the list (clap reads it as a flag): a help
 * request after the values is still one. */
static void dash_word_ends_the_list(void **state)
{
	(void)state;
	struct carve_err err = {0};
	struct parsed p;
	char *argv[] = {"--cpu-ids", "1", "-h"};
	assert_int_equal(parse(&p, 3, argv, &err), CLI_HELP_SHOWN);
	assert_int_equal(p.ids.count, 1);
	cli_list_free(&p.ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(several_values_after_one_flag),
		cmocka_unit_test(repeated_flags_and_comma_lists),
		cmocka_unit_test(attached_value_is_one_value),
		cmocka_unit_test(string_flag_takes_one_word),
		cmocka_unit_test(dash_word_ends_the_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
