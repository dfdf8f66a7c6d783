/* The sub-page write-permission table (src/vmm/subpage.c): set/get over
 * frame ranges, byte ranges at 128-byte granularity, one-way removal and its
 * lock, the checks a guarded write makes, the runs the memslot layout uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/subpage.h"

static void empty_table_is_writable(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 16);
	assert_int_equal(subpage_access(&t, 0), SUBPAGE_ALL);
	assert_true(subpage_range_writable(&t, 0x1234, 4096 * 3));
	uint32_t a[4];
	assert_int_equal(subpage_get(&t, 7, 4, a), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(a[i], SUBPAGE_ALL);
	assert_int_equal(subpage_pages(&t), 0);
	subpage_destroy(&t);
}

static void set_get_roundtrip(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 16);
	uint32_t in[3] = {0xfffffffd, SUBPAGE_ALL, 0};
	assert_int_equal(subpage_set(&t, 100, 3, in, 0), 0);
	uint32_t out[5];
	assert_int_equal(subpage_get(&t, 99, 5, out), 0);
	assert_int_equal(out[0], SUBPAGE_ALL);
	assert_int_equal(out[1], 0xfffffffd);
	assert_int_equal(out[2], SUBPAGE_ALL); /* all-ones pages are not stored */
	assert_int_equal(out[3], 0);
	assert_int_equal(out[4], SUBPAGE_ALL);
	assert_int_equal(subpage_pages(&t), 2);
	/* Making a page writable again (not one-way) drops it. */
	uint32_t all = SUBPAGE_ALL;
	assert_int_equal(subpage_set(&t, 100, 1, &all, 0), 0);
	assert_int_equal(subpage_pages(&t), 1);
	assert_int_equal(subpage_access(&t, 100), SUBPAGE_ALL);
	subpage_destroy(&t);
}

static void set_rejects_bad_arguments(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 1024);
	static uint32_t many[SUBPAGE_MAX_PAGES + 1];
	assert_int_equal(subpage_set(&t, 0, 0, many, 0), -EINVAL);
	assert_int_equal(subpage_set(&t, 0, SUBPAGE_MAX_PAGES + 1, many, 0), -EINVAL);
	assert_int_equal(subpage_set(&t, UINT64_MAX, 2, many, 0), -EINVAL); /* wraps */
	assert_int_equal(subpage_set(&t, 0, 1, many, 0x80), -EINVAL);        /* unknown flag */
	assert_int_equal(subpage_get(&t, 0, SUBPAGE_MAX_PAGES + 1, many), -EINVAL);
	assert_int_equal(subpage_set(&t, 0, SUBPAGE_MAX_PAGES, many, 0), 0);
	assert_int_equal(subpage_pages(&t), SUBPAGE_MAX_PAGES);
	subpage_destroy(&t);
}

static void capacity_is_bounded(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 4);
	uint32_t zero[5] = {0};
	assert_int_equal(subpage_set(&t, 10, 5, zero, 0), -ENOSPC);
	assert_int_equal(subpage_pages(&t), 0); /* nothing changed */
	assert_int_equal(subpage_set(&t, 10, 4, zero, 0), 0);
	assert_int_equal(subpage_set(&t, 20, 1, zero, 0), -ENOSPC);
	/* Rewriting pages already counted needs no more room. */
	assert_int_equal(subpage_set(&t, 11, 2, zero, 0), 0);
	subpage_destroy(&t);
}

static void range_granularity(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 64);
	/* Sub-pages 1 and 3 of page 0x2000, then all of page 0x3000 but its
	 * sub-page 31 ... and the first sub-page of 0x4000. */
	assert_int_equal(subpage_set_range(&t, 0x2080, 128, false, 0), 0);
	assert_int_equal(subpage_set_range(&t, 0x2180, 128, false, 0), 0);
	assert_int_equal(subpage_access(&t, 2), ~((1u << 1) | (1u << 3)));
	assert_int_equal(subpage_set_range(&t, 0x3000, 4096 + 128, false, 0), 0);
	assert_int_equal(subpage_set_range(&t, 0x3f80, 128, true, 0), 0);
	assert_int_equal(subpage_access(&t, 3), 1u << 31);
	assert_int_equal(subpage_access(&t, 4), ~1u);
	/* Misaligned or empty ranges. */
	assert_int_equal(subpage_set_range(&t, 0x2040, 128, false, 0), -EINVAL);
	assert_int_equal(subpage_set_range(&t, 0x2000, 100, false, 0), -EINVAL);
	assert_int_equal(subpage_set_range(&t, 0x2000, 0, false, 0), -EINVAL);
	assert_int_equal(subpage_set_range(&t, UINT64_MAX - 127, 256, false, 0), -EINVAL);
	subpage_destroy(&t);
}

static void writable_checks_every_touched_subpage(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 64);
	assert_int_equal(subpage_set_range(&t, 0x2080, 128, false, 0), 0); /* sub-page 1 */
	assert_true(subpage_range_writable(&t, 0x2000, 128));
	assert_true(subpage_range_writable(&t, 0x207f, 1));
	assert_false(subpage_range_writable(&t, 0x207f, 2)); /* crosses into sub-page 1 */
	assert_false(subpage_range_writable(&t, 0x2080, 1));
	assert_false(subpage_range_writable(&t, 0x20ff, 1));
	assert_true(subpage_range_writable(&t, 0x2100, 8));
	assert_false(subpage_range_writable(&t, 0x1ffc, 8192)); /* a span over the page */
	/* Across a page boundary: sub-page 31 of one page, 0 of the next. */
	assert_int_equal(subpage_set_range(&t, 0x3000, 128, false, 0), 0);
	assert_true(subpage_range_writable(&t, 0x2ffc, 4));
	assert_false(subpage_range_writable(&t, 0x2ffc, 8));
	assert_true(subpage_range_writable(&t, 0, 0));
	assert_false(subpage_range_writable(&t, UINT64_MAX, 2)); /* wraps */
	subpage_destroy(&t);
}

static void guarded_write(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 64);
	uint8_t *page = aligned_alloc(4096, 8192);
	memset(page, 0xaa, 8192);
	assert_int_equal(subpage_set_range(&t, 0x10080, 128, false, 0), 0);
	uint64_t v = 0x1122334455667788ull;
	for (uint32_t len = 1; len <= 8; len *= 2) {
		assert_true(subpage_write(&t, 0x10000 + 8 * len, page + 8 * len, &v, len));
		assert_memory_equal(page + 8 * len, &v, len);
		assert_false(subpage_write(&t, 0x10080 + 8 * len, page + 0x80 + 8 * len, &v, len));
		assert_int_equal(page[0x80 + 8 * len], 0xaa);
	}
	/* A crossing write is all or nothing. */
	assert_false(subpage_write(&t, 0x1007c, page + 0x7c, &v, 8));
	assert_int_equal(page[0x7c], 0xaa);
	assert_true(subpage_write(&t, 0x1017c, page + 0x17c, &v, 8)); /* sub-pages 2 and 3 */
	assert_memory_equal(page + 0x17c, &v, 8);
	assert_true(subpage_write(&t, 0x10ffc, page + 0xffc, &v, 8)); /* into the next page */
	assert_memory_equal(page + 0xffc, &v, 8);
	free(page);
	subpage_destroy(&t);
}

static void one_way_locks(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 64);
	/* A one-way change may not add permission. */
	assert_int_equal(subpage_set_range(&t, 0x5000, 256, false, SUBPAGE_ONE_WAY), 0);
	assert_int_equal(subpage_access(&t, 5), ~3u);
	uint32_t all = SUBPAGE_ALL;
	assert_int_equal(subpage_set(&t, 5, 1, &all, SUBPAGE_ONE_WAY), -EPERM);
	/* Nor may anyone else give back a locked sub-page. */
	assert_int_equal(subpage_set(&t, 5, 1, &all, 0), -EPERM);
	assert_int_equal(subpage_set_range(&t, 0x5080, 128, true, 0), -EPERM);
	assert_int_equal(subpage_access(&t, 5), ~3u); /* unchanged */
	/* Protecting more is fine, and sub-pages never locked may come back. */
	assert_int_equal(subpage_set_range(&t, 0x5200, 128, false, 0), 0);
	assert_int_equal(subpage_set_range(&t, 0x5200, 128, true, 0), 0);
	assert_int_equal(subpage_access(&t, 5), ~3u);
	/* A refused multi-page request changes none of its pages. */
	uint32_t two[2] = {0, SUBPAGE_ALL};
	assert_int_equal(subpage_set(&t, 4, 2, two, 0), -EPERM);
	assert_int_equal(subpage_access(&t, 4), SUBPAGE_ALL);
	subpage_destroy(&t);
}

static void runs_of_protected_pages(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 64);
	assert_int_equal(subpage_set_range(&t, 0x1000, 3 * 4096, false, 0), 0);  /* 1,2,3 */
	assert_int_equal(subpage_set_range(&t, 0x8000 + 128, 128, false, 0), 0); /* 8 */
	assert_int_equal(subpage_set_range(&t, 0x9000, 128, false, 0), 0);       /* 9 */
	assert_int_equal(subpage_set_range(&t, 0x20000, 128, false, 0), 0);      /* 32 */
	struct subpage_run r[4];
	assert_int_equal(subpage_runs(&t, r, 4), 3);
	assert_int_equal(r[0].gfn, 1);
	assert_int_equal(r[0].npages, 3);
	assert_int_equal(r[1].gfn, 8);
	assert_int_equal(r[1].npages, 2);
	assert_int_equal(r[2].gfn, 32);
	assert_int_equal(r[2].npages, 1);
	/* Too small an array: the count still says how many. */
	assert_int_equal(subpage_runs(&t, r, 1), 3);
	assert_int_equal(r[0].npages, 3);
	subpage_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_table_is_writable),
		cmocka_unit_test(set_get_roundtrip),
		cmocka_unit_test(set_rejects_bad_arguments),
		cmocka_unit_test(capacity_is_bounded),
		cmocka_unit_test(range_granularity),
		cmocka_unit_test(writable_checks_every_touched_subpage),
		cmocka_unit_test(guarded_write),
		cmocka_unit_test(one_way_locks),
		cmocka_unit_test(runs_of_protected_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
