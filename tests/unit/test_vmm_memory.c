/* Guest memory: layout around the MMIO hole and the checked accessor. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vmm/vmm_internal.h"

static void layout_small(void **state)
{
	(void)state;
	struct guest_mem gm;
	struct carve_err err = {0};
	assert_int_equal(gm_layout(&gm, 64 * VMM_MIB, &err), 0);
	assert_int_equal(gm.nregions, 1);
	assert_int_equal(gm.regions[0].gpa, 0);
	assert_int_equal(gm.regions[0].size, 64 * VMM_MIB);
	assert_int_equal(gm_low_end(&gm), 64 * VMM_MIB);
}

static void layout_split_at_hole(void **state)
{
	(void)state;
	struct guest_mem gm;
	struct carve_err err = {0};
	assert_int_equal(gm_layout(&gm, 5ull << 30, &err), 0);
	assert_int_equal(gm.nregions, 2);
	assert_int_equal(gm.regions[0].size, 3ull << 30);
	assert_int_equal(gm.regions[1].gpa, 4ull << 30);
	assert_int_equal(gm.regions[1].size, 2ull << 30);
	for (int i = 0; i < gm.nregions; i++) {
		assert_int_equal(gm.regions[i].gpa % VMM_MEM_ALIGN, 0);
		assert_int_equal(gm.regions[i].size % VMM_MEM_ALIGN, 0);
		assert_true(gm.regions[i].size >= VMM_MEM_ALIGN);
	}
}

static void layout_rejects(void **state)
{
	(void)state;
	struct guest_mem gm;
	struct carve_err err = {0};
	assert_int_equal(gm_layout(&gm, 62 * VMM_MIB, &err), -1);
	assert_int_equal(err.code, E26_INSUFFICIENT_MEMORY_REQUESTED);
	carve_err_clear(&err);
	assert_int_equal(gm_layout(&gm, 65 * VMM_MIB, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	carve_err_clear(&err);
	assert_int_equal(gm_layout(&gm, UINT64_MAX & ~(VMM_MEM_ALIGN - 1), &err), -1);
}

/* Two fake regions backed by heap buffers. */
static struct guest_mem fake(uint8_t **a, uint8_t **b)
{
	struct guest_mem gm = {.nregions = 2, .fd = -1};
	*a = calloc(1, 4096);
	*b = calloc(1, 4096);
	gm.regions[0] = (struct gm_region){.gpa = 0x1000, .size = 4096, .host = *a};
	gm.regions[1] = (struct gm_region){.gpa = 0x10000, .size = 4096, .host = *b};
	return gm;
}

static void accessor_bounds(void **state)
{
	(void)state;
	uint8_t *a, *b;
	struct guest_mem gm = fake(&a, &b);
	assert_ptr_equal(gm_ptr(&gm, 0x1000, 4096), a);
	assert_ptr_equal(gm_ptr(&gm, 0x1fff, 1), a + 4095);
	assert_ptr_equal(gm_ptr(&gm, 0x2000, 0), a + 4096); /* empty range at the end */
	assert_null(gm_ptr(&gm, 0x0fff, 1));                /* below */
	assert_null(gm_ptr(&gm, 0x1fff, 2));                /* runs off the end */
	assert_null(gm_ptr(&gm, 0x1000, 4097));
	assert_null(gm_ptr(&gm, 0x2000, 1));       /* the gap */
	assert_null(gm_ptr(&gm, 0x1f00, 0x10000)); /* spans the gap into region 1 */
	assert_ptr_equal(gm_ptr(&gm, 0x10800, 16), b + 0x800);
	free(a);
	free(b);
}

static void accessor_overflow(void **state)
{
	(void)state;
	uint8_t *a, *b;
	struct guest_mem gm = fake(&a, &b);
	/* gpa + len wraps around 2^64: must not look like a small range. */
	assert_null(gm_ptr(&gm, 0x1000, UINT64_MAX));
	assert_null(gm_ptr(&gm, 0x1800, UINT64_MAX - 0x7ff));
	assert_null(gm_ptr(&gm, UINT64_MAX, 2));
	assert_null(gm_ptr(&gm, UINT64_MAX - 1, 0x1002));
	uint8_t buf[8];
	assert_int_equal(gm_read(&gm, 0x1ffc, buf, 8), -14 /* -EFAULT */);
	assert_int_equal(gm_write(&gm, UINT64_MAX - 3, buf, 8), -14);
	memcpy(buf, "carve!!", 8);
	assert_int_equal(gm_write(&gm, 0x1ff8, buf, 8), 0);
	assert_memory_equal(a + 0xff8, "carve!!", 8);
	free(a);
	free(b);
}

static void map_populated(void **state)
{
	(void)state;
	struct guest_mem gm;
	struct carve_err err = {0};
	assert_int_equal(gm_layout(&gm, 64 * VMM_MIB, &err), 0);
	assert_int_equal(gm_map(&gm, false, &err), 0);
	uint8_t *p = gm_ptr(&gm, 64 * VMM_MIB - 1, 1);
	assert_non_null(p);
	*p = 0xaa; /* the whole range is mapped read-write */
	assert_null(gm_ptr(&gm, 64 * VMM_MIB, 1));
	gm_unmap(&gm);
	assert_null(gm_ptr(&gm, 0, 1)); /* unmapped memory is never handed out */
}

/* Resident pages of [p, p+len) (mincore), and the minor faults this
 * process took while writing one byte of each page. */
static uint64_t resident_pages(uint8_t *p, uint64_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t n = len / (uint64_t)pg, in = 0;
	unsigned char *vec = malloc(n);
	assert_non_null(vec);
	assert_int_equal(mincore(p, len, vec), 0);
	for (uint64_t i = 0; i < n; i++)
		in += vec[i] & 1;
	free(vec);
	return in;
}

/* Not instrumented: ASan would fault in the shadow of each page it checks,
 * and those faults are not the mapping's. */
__attribute__((no_sanitize_address)) static long faults_writing(uint8_t *p, uint64_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct rusage before, after;
	getrusage(RUSAGE_SELF, &before);
	for (uint64_t off = 0; off < len; off += (uint64_t)pg)
		((volatile uint8_t *)p)[off] = 1;
	getrusage(RUSAGE_SELF, &after);
	return after.ru_minflt - before.ru_minflt + after.ru_majflt - before.ru_majflt;
}

/* Populated by several threads, in shares that need not divide evenly:
 * every page resident, and writing all of them afterwards takes no fault
 * (what a vCPU would find: nothing left for the host to do). */
static void populate_in_parallel(void **state)
{
	(void)state;
	uint64_t len = 98 * VMM_MIB;
	int fd = memfd_create("test-populate", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	assert_true(p != MAP_FAILED);
	long pg = sysconf(_SC_PAGESIZE);
	assert_int_equal(resident_pages(p, len), 0);
	assert_int_equal(gm_populate(p, len, 3, true), 0);
	assert_int_equal(resident_pages(p, len), len / (uint64_t)pg);
	long faults = faults_writing(p, len);
	assert_true(faults < 16);
	munmap(p, len);
	close(fd);
	/* One 32 MiB share per thread at most, never fewer than one thread. */
	assert_int_equal(gm_populate_threads(VMM_MIB), 1);
	assert_true(gm_populate_threads(1ull << 40) >= 1);
}

/* Population in the background (gm_map_start, what vmm_create does): the
 * memory takes writes at once (the image is loaded meanwhile), and after
 * gm_map_finish every page is resident, the written bytes kept, and writing
 * all of it takes no fault. gm_unmap while the threads still run waits for
 * them first (the error paths of vmm_create). */
static void map_in_background(void **state)
{
	(void)state;
	struct guest_mem gm;
	struct carve_err err = {0};
	assert_int_equal(gm_layout(&gm, 96 * VMM_MIB, &err), 0);
	assert_int_equal(gm_map_start(&gm, false, &err), 0);
	assert_non_null(gm.populating);
	uint8_t image[4096];
	memset(image, 0x5a, sizeof(image));
	assert_int_equal(gm_write(&gm, 0x100000, image, sizeof(image)), 0);
	assert_int_equal(gm_write(&gm, 95 * VMM_MIB, image, sizeof(image)), 0);
	assert_int_equal(gm_map_finish(&gm, &err), 0);
	assert_null(gm.populating);
	assert_int_equal(gm_map_finish(&gm, &err), 0); /* nothing left to wait for */
	long pg = sysconf(_SC_PAGESIZE);
	assert_int_equal(resident_pages(gm.map, gm.total), gm.total / (uint64_t)pg);
	assert_memory_equal(gm_ptr(&gm, 0x100000, sizeof(image)), image, sizeof(image));
	assert_memory_equal(gm_ptr(&gm, 95 * VMM_MIB, sizeof(image)), image, sizeof(image));
	assert_true(faults_writing(gm.map, gm.total) < 16);
	gm_unmap(&gm);

	assert_int_equal(gm_layout(&gm, 96 * VMM_MIB, &err), 0);
	assert_int_equal(gm_map_start(&gm, false, &err), 0);
	gm_unmap(&gm);
	assert_null(gm.populating);
	assert_null(gm.map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout_small),         cmocka_unit_test(layout_split_at_hole),
		cmocka_unit_test(layout_rejects),       cmocka_unit_test(accessor_bounds),
		cmocka_unit_test(accessor_overflow),    cmocka_unit_test(map_populated),
		cmocka_unit_test(populate_in_parallel), cmocka_unit_test(map_in_background),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
