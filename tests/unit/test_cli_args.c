/* The flag parser every command uses: list flags take several words after
 * one flag as nitro-cli's clap parser does, and keep carve's repeated flags
 * and comma lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

/* args.c and arg_errors.c are the CLI's (not in libcarve), so their source
 * is compiled in here; --help looks the command up in main.c's table, given
 * here instead. */
#include "../../src/cli/arg_errors.c"
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
 * positional one, which run-enclave has none of: refused as clap refuses an
 * unknown word (exit 2), not with an Exx code. */
static void attached_value_is_one_value(void **state)
{
	(void)state;
	struct carve_err err = {0};
	struct parsed p;
	char *argv[] = {"--cpu-ids=1", "3"};
	assert_int_equal(parse(&p, 2, argv, &err), -1);
	assert_int_equal(err.code, CLI_USAGE_ERROR);
	assert_non_null(strstr(err.msg, "error: unexpected argument '3' found"));
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
	assert_int_equal(err.code, CLI_USAGE_ERROR);
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

/* nitro-cli's build-enclave relations (src/lib.rs:743-793): required flags,
 * a pair that requires each other, one that conflicts. */
struct built {
	const char *uri, *out, *cert, *key, *rootfs;
};

static int parse_build(struct built *b, int argc, char **argv, struct carve_err *err)
{
	memset(b, 0, sizeof(*b));
	memset(err, 0, sizeof(*err));
	const struct cli_arg args[] = {
		{"docker-uri", ARG_STRING, true, &b->uri, "", .unless = "rootfs", .conflicts = "rootfs"},
		{"output-file", ARG_STRING, true, &b->out, ""},
		{"signing-certificate", ARG_STRING, false, &b->cert, "", .requires = "private-key"},
		{"private-key", ARG_STRING, false, &b->key, "", .requires = "signing-certificate"},
		{"rootfs", ARG_STRING, false, &b->rootfs, ""},
		{0},
	};
	return cli_parse("build-enclave", args, argc, argv, err);
}

/* clap lists what is missing after the required flags (with what each
 * requires, in its unroll order) and shows them all in the usage line. */
static void missing_required_in_claps_order(void **state)
{
	(void)state;
	struct carve_err err;
	struct built b;
	char *argv[] = {"--docker-uri", "x", "--output-file", "y", "--private-key", "k"};
	assert_int_equal(parse_build(&b, 6, argv, &err), -1);
	assert_int_equal(err.code, CLI_USAGE_ERROR);
	assert_string_equal(err.msg,
			    "error: the following required arguments were not provided:\n"
			    "  --signing-certificate <signing-certificate>\n\n"
			    "Usage: carve build-enclave --docker-uri <docker-uri> --output-file "
			    "<output-file> --private-key <private-key> --signing-certificate "
			    "<signing-certificate>\n\n"
			    "For more information, try '--help'.");
	/* A flag named in "unless" stands in for a required one. */
	char *form[] = {"--rootfs", "r", "--output-file", "y"};
	assert_int_equal(parse_build(&b, 4, form, &err), CLI_PARSED);
	/* ... and a conflict is found before anything is missing. */
	char *both[] = {"--rootfs", "r", "--docker-uri", "x"};
	assert_int_equal(parse_build(&b, 4, both, &err), -1);
	assert_non_null(strstr(err.msg,
			       "error: the argument '--rootfs <rootfs>' cannot be used with "
			       "'--docker-uri <docker-uri>'\n\nUsage: carve build-enclave "
			       "--docker-uri <docker-uri> --output-file <output-file> --rootfs <rootfs>"));
}

/* A near miss gets clap's suggestion; the first refusal wins and is whole. */
static void near_miss_is_suggested(void **state)
{
	(void)state;
	struct carve_err err;
	struct built b;
	char *argv[] = {"--output-fil", "y"};
	assert_int_equal(parse_build(&b, 2, argv, &err), -1);
	assert_non_null(strstr(err.msg,
			       "error: unexpected argument '--output-fil' found\n\n"
			       "  tip: a similar argument exists: '--output-file'\n\n"
			       "Usage: carve build-enclave --docker-uri <docker-uri> --output-file "
			       "<output-file>\n"));
	char *far[] = {"--zzz"};
	assert_int_equal(parse_build(&b, 1, far, &err), -1);
	assert_null(strstr(err.msg, "tip:"));
}

/* strsim's Jaro values, which clap compares with 0.7: ranking and cut-off
 * follow them. */
static void similarity_is_jaro(void **state)
{
	(void)state;
	assert_true(jaro("martha", "marhta") > 0.9444 && jaro("martha", "marhta") < 0.9445);
	assert_true(jaro("dwayne", "duane") > 0.8222 && jaro("dwayne", "duane") < 0.8223);
	assert_true(jaro("", "") == 1.0);
	assert_true(jaro("a", "") == 0.0);
	const char *names[] = {"build-enclave", "run-enclave", "describe-eif", "help"};
	int found[8];
	int n = cli_similar("run-enclav", names, 4, found);
	assert_int_equal(n, 2);
	assert_string_equal(names[found[0]], "build-enclave");
	assert_string_equal(names[found[1]], "run-enclave");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(several_values_after_one_flag),
		cmocka_unit_test(repeated_flags_and_comma_lists),
		cmocka_unit_test(attached_value_is_one_value),
		cmocka_unit_test(string_flag_takes_one_word),
		cmocka_unit_test(dash_word_ends_the_list),
		cmocka_unit_test(missing_required_in_claps_order),
		cmocka_unit_test(near_miss_is_suggested),
		cmocka_unit_test(similarity_is_jaro),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
