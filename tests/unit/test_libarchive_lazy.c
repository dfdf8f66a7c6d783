/* libarchive loaded on first use (src/common/libarchive_lazy.c): nothing of
 * it is mapped until carve makes an archive object, the destructors take
 * NULL without loading it (a caller's cleanup after a failed creator), and
 * once loaded the forwarded functions are libarchive's own. */
#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Whether this process maps libarchive now. */
static bool libarchive_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	assert_non_null(f);
	char line[512];
	bool found = false;
	while (fgets(line, sizeof(line), f))
		found = found || strstr(line, "/libarchive.so") != NULL;
	fclose(f);
	return found;
}

static void loaded_on_first_use(void **state)
{
	(void)state;
	assert_false(libarchive_mapped()); /* not linked: the test binary starts without it */
	assert_int_equal(archive_read_free(NULL), ARCHIVE_OK);
	assert_int_equal(archive_write_free(NULL), ARCHIVE_OK);
	archive_entry_free(NULL);
	assert_false(libarchive_mapped()); /* freeing nothing loads nothing */

	struct archive_entry *e = archive_entry_new();
	assert_non_null(e);
	assert_true(libarchive_mapped());
	archive_entry_set_pathname(e, "bin/hello");
	archive_entry_set_size(e, 4096);
	archive_entry_set_perm(e, 0755);
	assert_string_equal(archive_entry_pathname(e), "bin/hello");
	assert_int_equal(archive_entry_size(e), 4096);
	assert_int_equal(archive_entry_perm(e), 0755);
	archive_entry_free(e);

	struct archive *a = archive_read_new();
	assert_non_null(a);
	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	assert_int_equal(archive_read_free(a), ARCHIVE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loaded_on_first_use),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
