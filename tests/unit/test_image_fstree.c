/* The image part's tree: layer entry names made safe (image_path_clean),
 * whiteouts, opaque directories and hard links applied as the OCI layer
 * spec says, whatever the order of entries inside a layer. */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "image/fstree.h"

static void clean_is(const char *in, const char *want)
{
	char out[64];
	int rc = image_path_clean(in, out, sizeof(out));
	if (rc != 0 || strcmp(out, want))
		fail_msg("'%s': got rc %d '%s', want '%s'", in, rc, rc == 0 ? out : "", want);
}

static void test_path_clean_normalises(void **state)
{
	(void)state;
	clean_is("usr/bin/sh", "usr/bin/sh");
	clean_is("./usr/bin/sh", "usr/bin/sh");
	clean_is("/usr/bin/sh", "usr/bin/sh"); /* absolute names stay under the root */
	clean_is("//usr///bin//", "usr/bin");
	clean_is("usr/./bin/./sh", "usr/bin/sh");
	clean_is("./", "");
	clean_is(".", "");
	clean_is("/", "");
	clean_is("a..b/..c/d..", "a..b/..c/d.."); /* dots inside names are names */
	clean_is("...", "...");
}

static void test_path_clean_refuses_dotdot(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(image_path_clean("../etc/passwd", out, sizeof(out)), -1);
	assert_int_equal(image_path_clean("a/../../b", out, sizeof(out)), -1);
	assert_int_equal(image_path_clean("a/..", out, sizeof(out)), -1);
	assert_int_equal(image_path_clean("/..", out, sizeof(out)), -1);
	assert_int_equal(image_path_clean("./a/b/../c", out, sizeof(out)), -1);
}

static void test_path_clean_bounds(void **state)
{
	(void)state;
	char out[8];
	assert_int_equal(image_path_clean("abcdefg", out, sizeof(out)), 0);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(image_path_clean("abcdefgh", out, sizeof(out)), -2);
	assert_int_equal(image_path_clean("abc/defg", out, sizeof(out)), -2);
	assert_int_equal(image_path_clean("", out, 0), -2);
}

static void test_whiteout_names(void **state)
{
	(void)state;
	const char *h = NULL;
	assert_int_equal(whiteout_kind("file", &h), WH_NONE);
	assert_int_equal(whiteout_kind(".whx", &h), WH_NONE);
	assert_int_equal(whiteout_kind(".wh.file", &h), WH_FILE);
	assert_string_equal(h, "file");
	assert_int_equal(whiteout_kind(".wh..hidden", &h), WH_FILE);
	assert_string_equal(h, ".hidden");
	assert_int_equal(whiteout_kind(".wh..wh..opq", &h), WH_OPAQUE);
	assert_int_equal(whiteout_kind(".wh..wh.plnk", &h), WH_OTHER);
	assert_int_equal(whiteout_kind(".wh.", &h), WH_OTHER);
	assert_int_equal(whiteout_kind(".wh..", &h), WH_OTHER);
	assert_int_equal(whiteout_kind(".wh...", &h), WH_OTHER);
}

static void put_file(struct fs_tree *t, const char *path, unsigned layer, uint64_t off)
{
	struct fs_attrs a = {.mode = S_IFREG | 0644, .off = off, .size = 1};
	assert_int_equal(fs_put(t, path, &a, layer), 0);
}

static void put_dir(struct fs_tree *t, const char *path, unsigned layer)
{
	struct fs_attrs a = {.mode = S_IFDIR | 0700};
	assert_int_equal(fs_put(t, path, &a, layer), 0);
}

static void test_whiteout_deletes_lower_only(void **state)
{
	(void)state;
	struct fs_tree t;
	fs_tree_init(&t);
	put_file(&t, "etc/a", 1, 0);
	put_file(&t, "etc/b", 1, 0);
	put_dir(&t, "gone", 1);
	put_file(&t, "gone/x/y", 1, 0);
	assert_int_equal(fs_whiteout(&t, "etc", "a", 2), 0);
	assert_int_equal(fs_whiteout(&t, "", "gone", 2), 0);
	assert_int_equal(fs_whiteout(&t, "etc", "missing", 2), 0);
	assert_int_equal(fs_whiteout(&t, "nodir", "x", 2), 0);
	assert_null(fs_lookup(&t, "etc/a"));
	assert_non_null(fs_lookup(&t, "etc/b"));
	assert_null(fs_lookup(&t, "gone"));
	assert_null(fs_lookup(&t, "gone/x/y"));
	/* The same layer writing the name again, before or after its whiteout, keeps it. */
	put_file(&t, "etc/b", 3, 7);
	assert_int_equal(fs_whiteout(&t, "etc", "b", 3), 0);
	assert_non_null(fs_lookup(&t, "etc/b"));
	assert_int_equal(fs_lookup(&t, "etc/b")->data->off, 7);
	fs_tree_free(&t);
}

static void test_whiteout_of_a_remade_directory_drops_old_contents(void **state)
{
	(void)state;
	struct fs_tree t;
	fs_tree_init(&t);
	put_file(&t, "d/old", 1, 0);
	put_dir(&t, "d", 2);
	put_file(&t, "d/new", 2, 0);
	assert_int_equal(fs_whiteout(&t, "", "d", 2), 0);
	assert_non_null(fs_lookup(&t, "d/new"));
	assert_null(fs_lookup(&t, "d/old"));
	fs_tree_free(&t);
}

static void test_opaque_hides_lower_contents_in_any_order(void **state)
{
	(void)state;
	struct fs_tree t;
	fs_tree_init(&t);
	put_file(&t, "opt/old/file", 1, 0);
	put_file(&t, "opt/top", 1, 0);
	put_file(&t, "opt/sub/lower", 1, 0);
	put_file(&t, "other/keep", 1, 0);
	/* Layer 2 writes into opt before its opaque marker comes. */
	put_file(&t, "opt/new", 2, 0);
	put_file(&t, "opt/sub/upper", 2, 0);
	assert_int_equal(fs_opaque(&t, "opt", 2), 0);
	assert_null(fs_lookup(&t, "opt/old"));
	assert_null(fs_lookup(&t, "opt/top"));
	assert_null(fs_lookup(&t, "opt/sub/lower"));
	assert_non_null(fs_lookup(&t, "opt/new"));
	assert_non_null(fs_lookup(&t, "opt/sub/upper"));
	assert_non_null(fs_lookup(&t, "opt"));
	assert_non_null(fs_lookup(&t, "other/keep"));
	fs_tree_free(&t);
}

static void test_hard_links_share_data_and_survive_replacement(void **state)
{
	(void)state;
	struct fs_tree t;
	fs_tree_init(&t);
	put_file(&t, "a", 1, 42);
	assert_int_equal(fs_link(&t, "b", "a", 1), 0);
	struct fs_node *a = fs_lookup(&t, "a"), *b = fs_lookup(&t, "b");
	assert_ptr_equal(a->data, b->data);
	assert_int_equal(a->data->refs, 2);
	/* A later layer replacing a leaves b with the old contents. */
	put_file(&t, "a", 2, 99);
	b = fs_lookup(&t, "b");
	assert_int_equal(b->data->off, 42);
	assert_int_equal(b->data->refs, 1);
	/* A link over its own target, to nothing, or to a directory. */
	assert_int_equal(fs_link(&t, "b", "b", 2), 0);
	assert_int_equal(fs_link(&t, "c", "missing", 2), -ENOENT);
	put_dir(&t, "dir", 2);
	assert_int_equal(fs_link(&t, "c", "dir", 2), -ENOENT);
	/* A link that replaces the file it points to keeps the data alive. */
	assert_int_equal(fs_link(&t, "x/b", "b", 2), 0);
	assert_int_equal(fs_whiteout(&t, "", "b", 3), 0);
	assert_int_equal(fs_lookup(&t, "x/b")->data->off, 42);
	/* A hard link to a symlink is a second symlink. */
	struct fs_attrs l = {.mode = S_IFLNK | 0777, .target = "x/b"};
	assert_int_equal(fs_put(&t, "sl", &l, 3), 0);
	assert_int_equal(fs_link(&t, "sl2", "sl", 3), 0);
	assert_string_equal(fs_lookup(&t, "sl2")->target, "x/b");
	fs_tree_free(&t);
}

static void test_types_replace_each_other(void **state)
{
	(void)state;
	struct fs_tree t;
	fs_tree_init(&t);
	put_file(&t, "p/q", 1, 0);
	/* A file where a later layer needs a directory: the directory wins. */
	put_file(&t, "f", 1, 0);
	put_file(&t, "f/inner", 2, 0);
	assert_true(S_ISDIR(fs_lookup(&t, "f")->mode));
	/* A directory replaced by a symlink loses its contents. */
	struct fs_attrs l = {.mode = S_IFLNK | 0777, .target = "/elsewhere"};
	assert_int_equal(fs_put(&t, "p", &l, 2), 0);
	assert_true(S_ISLNK(fs_lookup(&t, "p")->mode));
	assert_string_equal(fs_lookup(&t, "p")->target, "/elsewhere");
	assert_null(fs_lookup(&t, "p/q"));
	/* A directory over a directory keeps the contents, takes the mode. */
	put_file(&t, "d/x", 1, 0);
	put_dir(&t, "d", 2);
	assert_int_equal(fs_lookup(&t, "d")->mode & 07777, 0700);
	assert_non_null(fs_lookup(&t, "d/x"));
	/* The root stays a directory. */
	put_file(&t, "", 2, 0);
	assert_true(S_ISDIR(fs_lookup(&t, "")->mode));
	fs_tree_free(&t);
}

static void put_link(struct fs_tree *t, const char *path, const char *target, unsigned layer)
{
	struct fs_attrs a = {.mode = S_IFLNK | 0777, .target = target};
	assert_int_equal(fs_put(t, path, &a, layer), 0);
}

static void test_symlinked_parents_are_followed_inside_the_tree(void **state)
{
	(void)state;
	struct fs_tree t;
	fs_tree_init(&t);
	put_dir(&t, "usr/bin", 1);
	put_link(&t, "bin", "usr/bin", 1);        /* merged /usr */
	put_link(&t, "usr/lib64", "/usr/lib", 1); /* absolute: from the image's root */
	put_dir(&t, "usr/lib", 1);
	put_link(&t, "up", "../../../../usr", 1); /* ".." stops at the root */
	put_link(&t, "loop", "loop", 1);
	put_link(&t, "dangling", "nowhere", 1);
	put_file(&t, "bin/sh", 2, 1);
	put_file(&t, "usr/lib64/libc.so", 2, 2);
	put_file(&t, "up/bin/env", 2, 3);
	assert_true(S_ISLNK(fs_lookup(&t, "bin")->mode));
	assert_int_equal(fs_lookup(&t, "usr/bin/sh")->data->off, 1);
	assert_int_equal(fs_lookup(&t, "usr/lib/libc.so")->data->off, 2);
	assert_int_equal(fs_lookup(&t, "usr/bin/env")->data->off, 3);
	assert_non_null(fs_lookup(&t, "bin/sh")); /* lookups follow too */
	/* A whiteout through the link deletes the file it names. */
	assert_int_equal(fs_whiteout(&t, "bin", "sh", 3), 0);
	assert_null(fs_lookup(&t, "usr/bin/sh"));
	/* A loop or a dangling link in the way is replaced by a directory. */
	put_file(&t, "loop/x", 2, 0);
	assert_true(S_ISDIR(fs_lookup(&t, "loop")->mode));
	put_file(&t, "dangling/x", 2, 0);
	assert_true(S_ISDIR(fs_lookup(&t, "dangling")->mode));
	assert_null(fs_lookup(&t, "nowhere"));
	fs_tree_free(&t);
}

static void test_children_are_sorted(void **state)
{
	(void)state;
	struct fs_tree t;
	fs_tree_init(&t);
	const char *names[] = {"m", "b", "z", "a", "B", "mm", "m.d"};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		put_file(&t, names[i], 1, 0);
	for (size_t i = 1; i < t.root.nkids; i++)
		assert_true(strcmp(t.root.kids[i - 1]->name, t.root.kids[i]->name) < 0);
	assert_int_equal(t.root.nkids, 7);
	fs_tree_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_clean_normalises),
		cmocka_unit_test(test_path_clean_refuses_dotdot),
		cmocka_unit_test(test_path_clean_bounds),
		cmocka_unit_test(test_whiteout_names),
		cmocka_unit_test(test_whiteout_deletes_lower_only),
		cmocka_unit_test(test_whiteout_of_a_remade_directory_drops_old_contents),
		cmocka_unit_test(test_opaque_hides_lower_contents_in_any_order),
		cmocka_unit_test(test_hard_links_share_data_and_survive_replacement),
		cmocka_unit_test(test_types_replace_each_other),
		cmocka_unit_test(test_symlinked_parents_are_followed_inside_the_tree),
		cmocka_unit_test(test_children_are_sorted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
