/* carve-init's parsing of /cmd, /env, /workdir, the module list and the
 * kernel command line (guest/init/cmdenv.c), built for the host. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../guest/init/cmdenv.c"

/* Parses len bytes and checks the entries are exactly want[0..n). */
static void expect_lines(const char *data, size_t len, size_t n, const char *const *want)
{
	struct cmdenv_list l;
	char why[CMDENV_WHY_LEN] = "";
	int rc = cmdenv_parse(data, len, &l, why, sizeof(why));
	if (rc != 0)
		fail_msg("parse failed: %d %s", rc, why);
	assert_int_equal(l.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l.v[i], want[i]);
	assert_null(l.v[n]);
	cmdenv_free(&l);
	assert_null(l.v);
}
#define EXPECT(s, n, ...) expect_lines(s, sizeof(s) - 1, n, (const char *const[]){__VA_ARGS__})

static void expect_error(const char *data, size_t len, int err, const char *why_part)
{
	struct cmdenv_list l = {(char **)0x1, 42}; /* must stay untouched */
	char why[CMDENV_WHY_LEN] = "";
	assert_int_equal(cmdenv_parse(data, len, &l, why, sizeof(why)), -err);
	if (!strstr(why, why_part))
		fail_msg("reason '%s' does not say '%s'", why, why_part);
	assert_ptr_equal(l.v, (char **)0x1);
	assert_int_equal(l.n, 42);
}

static void test_lines(void **state)
{
	(void)state;
	EXPECT("/bin/app\n--flag\nvalue\n", 3, "/bin/app", "--flag", "value");
	EXPECT("x\n", 1, "x");
	/* No final newline: the last line still counts. */
	EXPECT("a\nb", 2, "a", "b");
	EXPECT("only", 1, "only");
	/* Empty lines are empty arguments, as with Nitro's init. */
	EXPECT("a\n\nb\n", 3, "a", "", "b");
	EXPECT("a\n\n", 2, "a", "");
	EXPECT("\n", 1, "");
	EXPECT("\n\n\n", 3, "", "", "");
	/* Nothing else is special: spaces, quotes, CR, tabs, '=' stay. */
	EXPECT(" a b \n'q'\r\n\t=\n", 3, " a b ", "'q'\r", "\t=");
}

static void test_empty(void **state)
{
	(void)state;
	struct cmdenv_list l;
	char why[CMDENV_WHY_LEN];
	assert_int_equal(cmdenv_parse("", 0, &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.v[0]);
	cmdenv_free(&l);
	/* A NULL data pointer with no bytes is fine too. */
	assert_int_equal(cmdenv_parse(NULL, 0, &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 0);
	cmdenv_free(&l);
}

static void test_nul_refused(void **state)
{
	(void)state;
	expect_error("a\0b\n", 4, EINVAL, "line 1 has a NUL byte");
	expect_error("ok\nx\0", 5, EINVAL, "line 2 has a NUL byte");
	expect_error("\0", 1, EINVAL, "NUL");
}

static void test_line_length(void **state)
{
	(void)state;
	size_t max = CMDENV_LINE_MAX;
	char *buf = malloc(max + 3);
	memset(buf, 'x', max + 2);
	/* Exactly the limit, with and without '\n'. */
	buf[max] = '\n';
	struct cmdenv_list l;
	char why[CMDENV_WHY_LEN];
	assert_int_equal(cmdenv_parse(buf, max + 1, &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(strlen(l.v[0]), max);
	cmdenv_free(&l);
	assert_int_equal(cmdenv_parse(buf, max, &l, why, sizeof(why)), 0);
	assert_int_equal(strlen(l.v[0]), max);
	cmdenv_free(&l);
	/* One more byte, ended by '\n' or by the end of the file. */
	buf[max] = 'x';
	buf[max + 1] = '\n';
	expect_error(buf, max + 2, E2BIG, "line 1 is 131072 bytes long");
	expect_error(buf, max + 1, E2BIG, "line 1 is 131072 bytes long");
	/* A long line after a short one is counted as line 2. */
	buf[0] = '\n';
	buf[max + 1] = 'x';
	buf[max + 2] = '\n';
	expect_error(buf, max + 3, E2BIG, "line 2 is 131072 bytes long");
	free(buf);
}

static void test_line_count(void **state)
{
	(void)state;
	size_t n = CMDENV_LINES_MAX;
	char *buf = malloc(n + 2);
	memset(buf, '\n', n + 1);
	struct cmdenv_list l;
	char why[CMDENV_WHY_LEN];
	assert_int_equal(cmdenv_parse(buf, n, &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, n);
	assert_string_equal(l.v[n - 1], "");
	assert_null(l.v[n]);
	cmdenv_free(&l);
	expect_error(buf, n + 1, E2BIG, "more than 65536 lines");
	/* The extra line may also be a final one without '\n'. */
	buf[n] = 'z';
	expect_error(buf, n + 1, E2BIG, "more than 65536 lines");
	free(buf);
}

static void test_file_size(void **state)
{
	(void)state;
	size_t max = CMDENV_FILE_MAX;
	char *buf = malloc(max + 1);
	/* Lines of 31 bytes and '\n': under the line-count limit. */
	for (size_t i = 0; i < max + 1; i++)
		buf[i] = (i % 32 == 31) ? '\n' : 'a' + (char)(i % 26);
	struct cmdenv_list l;
	char why[CMDENV_WHY_LEN];
	assert_int_equal(cmdenv_parse(buf, max, &l, why, sizeof(why)), 0);
	assert_int_equal(l.n, max / 32);
	assert_int_equal(strlen(l.v[l.n - 1]), 31);
	cmdenv_free(&l);
	expect_error(buf, max + 1, EFBIG, "more than the 1048576 allowed");
	free(buf);
}

static void test_small_why(void **state)
{
	(void)state;
	/* A short reason buffer truncates the text and nothing else. */
	struct cmdenv_list l;
	char why[8];
	memset(why, '#', sizeof(why));
	assert_int_equal(cmdenv_parse("a\0", 2, &l, why, sizeof(why)), -EINVAL);
	assert_int_equal(why[7], '\0');
}

static struct cmdenv_list list_of(const char *text)
{
	struct cmdenv_list l;
	char why[CMDENV_WHY_LEN];
	assert_int_equal(cmdenv_parse(text, strlen(text), &l, why, sizeof(why)), 0);
	return l;
}

static void test_env(void **state)
{
	(void)state;
	struct cmdenv_list e = list_of("HOME=/root\nPATHX=no\nPATH\nPATH=/opt/bin\nPATH=/second\nEMPTY=\n");
	assert_string_equal(cmdenv_get(&e, "PATH"), "/opt/bin");
	assert_string_equal(cmdenv_get(&e, "HOME"), "/root");
	assert_string_equal(cmdenv_get(&e, "EMPTY"), "");
	assert_null(cmdenv_get(&e, "HOM"));
	assert_null(cmdenv_get(&e, "USER"));
	cmdenv_free(&e);

	e = list_of("A=1\n\n=x\nnoeq\nB=\nC==\n");
	assert_int_equal(cmdenv_drop_invalid_env(&e), 3);
	assert_int_equal(e.n, 3);
	assert_string_equal(e.v[0], "A=1");
	assert_string_equal(e.v[1], "B=");
	assert_string_equal(e.v[2], "C==");
	assert_null(e.v[3]);
	assert_int_equal(cmdenv_drop_invalid_env(&e), 0);
	cmdenv_free(&e);

	e = list_of("");
	assert_int_equal(cmdenv_drop_invalid_env(&e), 0);
	assert_null(cmdenv_get(&e, "PATH"));
	cmdenv_free(&e);
}

static void expect_one_line(const char *text, const char *want, const char *why_part)
{
	char *line = NULL;
	char why[CMDENV_WHY_LEN] = "";
	int rc = cmdenv_one_line(text, strlen(text), &line, why, sizeof(why));
	if (want) {
		assert_int_equal(rc, 0);
		assert_string_equal(line, want);
		free(line);
	} else {
		assert_int_equal(rc, -EINVAL);
		assert_null(line);
		if (!strstr(why, why_part))
			fail_msg("'%s': reason '%s' does not say '%s'", text, why, why_part);
	}
}

static void test_one_line(void **state)
{
	(void)state;
	expect_one_line("/app\n", "/app", NULL);
	expect_one_line("/srv/my app", "/srv/my app", NULL);
	expect_one_line("", NULL, "empty");
	expect_one_line("\n", NULL, "empty");
	expect_one_line("/a\n/b\n", NULL, "2 lines, expected one");
	expect_one_line("/a\n\n", NULL, "2 lines");
	char *line = NULL, why[CMDENV_WHY_LEN];
	assert_int_equal(cmdenv_one_line("/a\0", 3, &line, why, sizeof(why)), -EINVAL);
	assert_null(line);
}

static void test_module_names(void **state)
{
	(void)state;
	assert_true(cmdenv_module_name_ok("nsm.ko"));
	assert_true(cmdenv_module_name_ok("vmw_vsock_virtio_transport_common.ko"));
	assert_true(cmdenv_module_name_ok("x.ko"));
	assert_false(cmdenv_module_name_ok(".ko"));
	assert_false(cmdenv_module_name_ok(""));
	assert_false(cmdenv_module_name_ok("nsm"));
	assert_false(cmdenv_module_name_ok("nsm.ko.xz"));
	assert_false(cmdenv_module_name_ok("nsm.ko.zst"));
	assert_false(cmdenv_module_name_ok("../nsm.ko"));
	assert_false(cmdenv_module_name_ok("/lib/nsm.ko"));
	assert_false(cmdenv_module_name_ok("sub/nsm.ko"));
}

static bool has(const char *cmdline, const char *word)
{
	return cmdenv_cmdline_has(cmdline, strlen(cmdline), word);
}

static void test_cmdline(void **state)
{
	(void)state;
	assert_true(has("console=ttyS0 carve.quiet panic=30\n", "carve.quiet"));
	assert_true(has("carve.quiet\n", "carve.quiet"));
	assert_true(has("carve.quiet", "carve.quiet"));
	assert_true(has("a\tcarve.quiet", "carve.quiet"));
	assert_false(has("carve.quieter", "carve.quiet"));
	assert_false(has("xcarve.quiet", "carve.quiet"));
	assert_false(has("carve.quiet=0", "carve.quiet"));
	assert_false(has("", "carve.quiet"));
	assert_false(has("   ", "carve.quiet"));
	assert_false(has("a b", ""));
	/* Only len bytes are read; a NUL ends the line. */
	assert_false(cmdenv_cmdline_has("a carve.quiet", 8, "carve.quiet"));
	assert_false(cmdenv_cmdline_has("a\0carve.quiet", 13, "carve.quiet"));
	assert_true(cmdenv_cmdline_has("carve.quiet\0junk", 16, "carve.quiet"));
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void test_read_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/carve-init-test.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/cmd", dir);
	char *data = NULL;
	size_t len = 0;

	write_file(path, "0123456789", 10);
	assert_int_equal(cmdenv_read_file(path, 10, &data, &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(data, "0123456789");
	free(data);
	data = NULL;
	assert_int_equal(cmdenv_read_file(path, 9, &data, &len), -EFBIG);
	assert_null(data);

	write_file(path, "", 0);
	assert_int_equal(cmdenv_read_file(path, 10, &data, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);
	data = NULL;

	assert_int_equal(cmdenv_read_file(dir, 10, &data, &len), -EINVAL);
	unlink(path);
	assert_int_equal(cmdenv_read_file(path, 10, &data, &len), -ENOENT);
	assert_null(data);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),       cmocka_unit_test(test_empty),
		cmocka_unit_test(test_nul_refused), cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_line_count),  cmocka_unit_test(test_file_size),
		cmocka_unit_test(test_small_why),   cmocka_unit_test(test_env),
		cmocka_unit_test(test_one_line),    cmocka_unit_test(test_module_names),
		cmocka_unit_test(test_cmdline),     cmocka_unit_test(test_read_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
