/* file_write_atomic: whole files replaced by rename, never written through
 * a name another user could plant. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carve/util.h"

static char dir[] = "/tmp/carve-fileio.XXXXXX";

static void read_back(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void replaces_whole_file(void **state)
{
	(void)state;
	char path[256], buf[64];
	struct carve_err err = {0};
	snprintf(path, sizeof(path), "%s/out", dir);
	assert_int_equal(file_write_atomic(path, "first", 5, &err), 0);
	assert_int_equal(file_write_atomic(path, "second", 6, &err), 0);
	read_back(path, buf, sizeof(buf));
	assert_string_equal(buf, "second");
	/* Nothing else is left in the directory. */
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) = 1", dir);
	assert_int_equal(system(cmd), 0);
}

static void planted_symlink_not_followed(void **state)
{
	(void)state;
	char path[256], victim[256], planted[300], buf[64];
	struct carve_err err = {0};
	snprintf(path, sizeof(path), "%s/doc", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	FILE *f = fopen(victim, "w");
	assert_non_null(f);
	fputs("precious", f);
	fclose(f);
	/* The temporary name carve used to use: <output>.tmp.<pid>. */
	snprintf(planted, sizeof(planted), "%s.tmp.%d", path, (int)getpid());
	assert_int_equal(symlink(victim, planted), 0);
	assert_int_equal(file_write_atomic(path, "document", 8, &err), 0);
	read_back(victim, buf, sizeof(buf));
	assert_string_equal(buf, "precious");
	read_back(path, buf, sizeof(buf));
	assert_string_equal(buf, "document");
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

static void mode_follows_umask(void **state)
{
	(void)state;
	char path[256];
	struct carve_err err = {0};
	struct stat st;
	snprintf(path, sizeof(path), "%s/mode", dir);
	mode_t old = umask(077);
	assert_int_equal(file_write_atomic(path, "x", 1, &err), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	umask(022);
	assert_int_equal(file_write_atomic(path, "x", 1, &err), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
}

static void unwritable_directory_is_e19(void **state)
{
	(void)state;
	struct carve_err err = {0};
	assert_int_equal(file_write_atomic("/nonexistent-dir/out", "x", 1, &err), -1);
	assert_int_equal(err.code, E19_FILE_OPERATION);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replaces_whole_file),
		cmocka_unit_test(planted_symlink_not_followed),
		cmocka_unit_test(mode_follows_umask),
		cmocka_unit_test(unwritable_directory_is_e19),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
