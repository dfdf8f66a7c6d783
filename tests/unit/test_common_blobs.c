/* Where carve finds its blobs (src/common/blobs.c): the variables first, then
 * an install tree beside the binary, and the build-tree guesses only when
 * there is no install tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "carve/util.h"

/* A scratch tree: <base>/<rel> files and directories, removed afterwards. */
struct tree {
	char base[PATH_MAX];
	char made[16][PATH_MAX + 64];
	int nmade;
};

static const char *in_tree(struct tree *t, const char *rel)
{
	static char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", t->base, rel);
	return path;
}

static void make_dir(struct tree *t, const char *rel)
{
	const char *p = in_tree(t, rel);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(t->made[t->nmade++], sizeof(t->made[0]), "%s", p);
}

static void make_file(struct tree *t, const char *rel)
{
	const char *p = in_tree(t, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(t->made[t->nmade++], sizeof(t->made[0]), "%s", p);
}

static void tree_init(struct tree *t)
{
	memset(t, 0, sizeof(*t));
	const char *tmp = getenv("TMPDIR");
	snprintf(t->base, sizeof(t->base), "%s/blobs.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(t->base));
	/* Resolved, as carve_find_blob_from answers with realpath. */
	char real[PATH_MAX];
	assert_non_null(realpath(t->base, real));
	snprintf(t->base, sizeof(t->base), "%s", real);
}

static void tree_free(struct tree *t)
{
	for (int i = t->nmade - 1; i >= 0; i--)
		assert_int_equal(remove(t->made[i]), 0);
	assert_int_equal(rmdir(t->base), 0);
}

static int clean_env(void **state)
{
	(void)state;
	unsetenv("CARVE_BLOBS");
	unsetenv("NITRO_CLI_BLOBS");
	return 0;
}

/* make install's layout: <prefix>/bin/carve, <prefix>/share/carve/blobs. */
static void install_tree_found(void **state)
{
	(void)state;
	struct tree t;
	tree_init(&t);
	make_dir(&t, "bin");
	make_dir(&t, "share");
	make_dir(&t, "share/carve");
	make_dir(&t, "share/carve/blobs");
	make_file(&t, "share/carve/blobs/carve-kernel.elf");
	char bin[PATH_MAX + 64], out[PATH_MAX], want[PATH_MAX + 64];
	snprintf(bin, sizeof(bin), "%s/bin", t.base);
	assert_int_equal(carve_find_blob_from(bin, "carve-kernel.elf", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/share/carve/blobs/carve-kernel.elf", t.base);
	assert_string_equal(out, want);
	assert_int_equal(carve_find_blob_from(bin, "bzImage", out, sizeof(out)), -1);
	tree_free(&t);
}

/* The build tree: build/bin/carve and build/guest/<blob>. */
static void build_tree_found(void **state)
{
	(void)state;
	struct tree t;
	tree_init(&t);
	make_dir(&t, "bin");
	make_dir(&t, "guest");
	make_file(&t, "guest/carve-kernel.elf");
	char bin[PATH_MAX + 64], out[PATH_MAX], want[PATH_MAX + 64];
	snprintf(bin, sizeof(bin), "%s/bin", t.base);
	assert_int_equal(carve_find_blob_from(bin, "carve-kernel.elf", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/guest/carve-kernel.elf", t.base);
	assert_string_equal(out, want);
	tree_free(&t);
}

/* An install tree that lacks a blob does not fall back to a guest/
 * directory that happens to sit beside it. */
static void install_tree_excludes_build_guesses(void **state)
{
	(void)state;
	struct tree t;
	tree_init(&t);
	make_dir(&t, "bin");
	make_dir(&t, "guest");
	make_file(&t, "guest/bzImage");
	make_dir(&t, "share");
	make_dir(&t, "share/carve");
	make_dir(&t, "share/carve/blobs");
	char bin[PATH_MAX + 64], out[PATH_MAX];
	snprintf(bin, sizeof(bin), "%s/bin", t.base);
	assert_int_equal(carve_find_blob_from(bin, "bzImage", out, sizeof(out)), -1);
	tree_free(&t);
}

/* $CARVE_BLOBS, then $NITRO_CLI_BLOBS, win over the install tree. */
static void variables_first(void **state)
{
	(void)state;
	struct tree t;
	tree_init(&t);
	make_dir(&t, "bin");
	make_dir(&t, "mine");
	make_file(&t, "mine/cmdline");
	make_dir(&t, "nitro");
	make_file(&t, "nitro/cmdline");
	make_dir(&t, "share");
	make_dir(&t, "share/carve");
	make_dir(&t, "share/carve/blobs");
	make_file(&t, "share/carve/blobs/cmdline");
	char bin[PATH_MAX + 64], dir[PATH_MAX + 64], out[PATH_MAX], want[PATH_MAX + 64];
	snprintf(bin, sizeof(bin), "%s/bin", t.base);
	snprintf(dir, sizeof(dir), "%s/nitro", t.base);
	setenv("NITRO_CLI_BLOBS", dir, 1);
	assert_int_equal(carve_find_blob_from(bin, "cmdline", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/nitro/cmdline", t.base);
	assert_string_equal(out, want);
	snprintf(dir, sizeof(dir), "%s/mine", t.base);
	setenv("CARVE_BLOBS", dir, 1);
	assert_int_equal(carve_find_blob_from(bin, "cmdline", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s/mine/cmdline", t.base);
	assert_string_equal(out, want);
	/* Too small a buffer is a miss, not a truncated path. */
	assert_int_equal(carve_find_blob_from(bin, "cmdline", out, 8), -1);
	tree_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(install_tree_found, clean_env),
		cmocka_unit_test_setup(build_tree_found, clean_env),
		cmocka_unit_test_setup(install_tree_excludes_build_guesses, clean_env),
		cmocka_unit_test_setup(variables_first, clean_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
