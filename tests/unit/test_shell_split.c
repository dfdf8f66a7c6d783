/* --cmd word splitting: POSIX quoting, no expansion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "carve/ramdisk.h"

static void expect(const char *line, int n, const char *const *words)
{
	char **argv;
	struct carve_err err = {0};
	int got = shell_split(line, &argv, &err);
	if (got != n)
		fail_msg("'%s': %d words, expected %d (%s)", line, got, n, err.msg);
	for (int i = 0; i < n; i++)
		if (strcmp(argv[i], words[i]))
			fail_msg("'%s': word %d is '%s', expected '%s'", line, i, argv[i], words[i]);
	assert_null(argv[n]);
	free(argv);
}

static void test_plain_words(void **state)
{
	(void)state;
	expect("/bin/app a  b\tc", 4, (const char *[]){"/bin/app", "a", "b", "c"});
	expect("   ", 0, NULL);
	expect("", 0, NULL);
	expect("x", 1, (const char *[]){"x"});
}

static void test_quotes(void **state)
{
	(void)state;
	expect("echo 'a b' \"c d\"", 3, (const char *[]){"echo", "a b", "c d"});
	expect("a'b'\"c\"d", 1, (const char *[]){"abcd"});
	expect("'' \"\"", 2, (const char *[]){"", ""});
	expect("'$HOME' \"$HOME\" *", 3, (const char *[]){"$HOME", "$HOME", "*"});
	expect("\"a\\\"b\\\\c\\d\"", 1, (const char *[]){"a\"b\\c\\d"});
	expect("'it\\'", 1, (const char *[]){"it\\"});
}

static void test_backslash(void **state)
{
	(void)state;
	expect("a\\ b c", 2, (const char *[]){"a b", "c"});
	expect("\\'x", 1, (const char *[]){"'x"});
}

static void test_errors(void **state)
{
	(void)state;
	const char *bad[] = {"'open", "\"open", "end\\", "a \"b\\\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char **argv;
		struct carve_err err = {0};
		assert_int_equal(shell_split(bad[i], &argv, &err), -1);
		assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_words),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_backslash),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
