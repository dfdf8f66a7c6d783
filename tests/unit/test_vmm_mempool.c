/* The pool of pre-zeroed guest memory (carve/mempool.h), on tmpfs: slabs
 * taken whole and only by one process, given back zeroed, a dead process's
 * slab never handed out, guest memory mapped from a slab. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "carve/mempool.h"
#include "vmm/vmm_internal.h"

#define SLAB (2ull << 20)

static char pool[256];

static int make_pool(void **state)
{
	(void)state;
	/* /dev/shm is tmpfs on every Linux this runs on; skip the suite where not. */
	snprintf(pool, sizeof(pool), "/dev/shm/carve-test-pool.XXXXXX");
	if (!mkdtemp(pool))
		snprintf(pool, sizeof(pool), "/tmp/carve-no-pool");
	return 0;
}

static int remove_pool(void **state)
{
	(void)state;
	DIR *d = opendir(pool);
	if (d) {
		struct dirent *e;
		char path[512];
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && snprintf(path, sizeof(path), "%s/%s", pool, e->d_name) > 0)
				unlink(path);
		closedir(d);
	}
	rmdir(pool);
	return 0;
}

static int count_named(const char *prefix)
{
	DIR *d = opendir(pool);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

static void check_refuses_disk(void **state)
{
	(void)state;
	struct carve_err err = {0};
	uint64_t page = 0;
	assert_int_equal(mempool_check(pool, &page, &err), 0);
	assert_int_equal(page, 4096);
	char disk[] = "/var/tmp/carve-pool-disk.XXXXXX";
	if (mkdtemp(disk)) {
		struct carve_err e2 = {0};
		int r = mempool_check(disk, NULL, &e2);
		rmdir(disk);
		if (r == 0)
			skip(); /* /var/tmp on tmpfs here: nothing to refuse */
		assert_int_equal(e2.code, E03_INVALID_ARGUMENT);
		assert_non_null(strstr(e2.msg, "not on hugetlbfs or tmpfs"));
	}
	struct carve_err e3 = {0};
	assert_int_equal(mempool_check("/nonexistent/pool", NULL, &e3), -1);
	assert_int_equal(e3.code, E03_INVALID_ARGUMENT);
}

static void fill_take_give_back_zeroed(void **state)
{
	(void)state;
	struct carve_err err = {0};
	assert_int_equal(mempool_fill(pool, SLAB, 2, &err), 0);
	assert_int_equal(mempool_fill(pool, 4096 + 1, 1, &err), -1); /* not whole pages */
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	struct mempool_census c;
	assert_int_equal(mempool_census(pool, 0, &c, &err), 0);
	assert_int_equal(c.free, 2);
	assert_int_equal(c.free_bytes, 2 * SLAB);

	assert_null(mempool_take(pool, 2 * SLAB)); /* only exactly the size */
	struct mempool_slab *a = mempool_take(pool, SLAB), *b = mempool_take(pool, SLAB);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(mempool_slab_reused(a));
	assert_null(mempool_take(pool, SLAB)); /* both taken: none is shared */
	assert_int_equal(mempool_census(pool, SLAB, &c, &err), 0);
	assert_int_equal(c.free, 0);
	assert_int_equal(c.busy, 2);

	uint8_t *m = mmap(NULL, SLAB, PROT_READ | PROT_WRITE, MAP_SHARED, mempool_slab_fd(a), 0);
	assert_true(m != MAP_FAILED);
	for (uint64_t i = 0; i < SLAB; i++)
		assert_int_equal(m[i], 0);
	memset(m, 0xa5, SLAB); /* a VM's data */
	mempool_give_back(a, m);
	munmap(m, SLAB);
	mempool_give_back(b, NULL); /* never mapped: deleted, not trusted */
	assert_int_equal(mempool_census(pool, 0, &c, &err), 0);
	assert_int_equal(c.free, 1);
	assert_int_equal(c.busy, 0);

	struct mempool_slab *again = mempool_take(pool, SLAB);
	assert_non_null(again);
	m = mmap(NULL, SLAB, PROT_READ, MAP_SHARED, mempool_slab_fd(again), 0);
	assert_true(m != MAP_FAILED);
	for (uint64_t i = 0; i < SLAB; i++)
		assert_int_equal(m[i], 0);
	munmap(m, SLAB);
	mempool_give_back(again, NULL);
	assert_int_equal(count_named(""), 2); /* "." and "..": nothing left */
}

/* A child takes a slab, writes to it and dies without giving it back. */
static void die_holding_a_slab(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mempool_slab *s = mempool_take(pool, SLAB);
		if (!s)
			_exit(1);
		uint8_t *m = mmap(NULL, SLAB, PROT_READ | PROT_WRITE, MAP_SHARED, mempool_slab_fd(s), 0);
		if (m == MAP_FAILED)
			_exit(2);
		memset(m, 0x5a, SLAB);
		_exit(0); /* no give back */
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(count_named("busy."), 1);
}

/* A process that dies holding a slab leaves its data in it: never handed
 * out, deleted by the next census or the next take. */
static void dead_holder_slab_deleted(void **state)
{
	(void)state;
	struct carve_err err = {0};
	assert_int_equal(mempool_fill(pool, SLAB, 1, &err), 0);
	die_holding_a_slab();
	struct mempool_census c;
	assert_int_equal(mempool_census(pool, 0, &c, &err), 0);
	assert_int_equal(c.stale, 1);
	assert_int_equal(c.busy, 0);
	assert_int_equal(c.free, 0);
	assert_int_equal(count_named("busy."), 0);

	assert_int_equal(mempool_fill(pool, SLAB, 1, &err), 0);
	die_holding_a_slab();
	assert_null(mempool_take(pool, SLAB));
	assert_int_equal(count_named("busy."), 0);
}

/* A busy slab of a live process is neither counted stale nor drained. */
static void drain_keeps_busy(void **state)
{
	(void)state;
	struct carve_err err = {0};
	assert_int_equal(mempool_fill(pool, SLAB, 3, &err), 0);
	struct mempool_slab *s = mempool_take(pool, SLAB);
	assert_non_null(s);
	int deleted = 0;
	assert_int_equal(mempool_drain(pool, &deleted, &err), 0);
	assert_int_equal(deleted, 2);
	struct mempool_census c;
	assert_int_equal(mempool_census(pool, 0, &c, &err), 0);
	assert_int_equal(c.busy, 1);
	assert_int_equal(c.stale, 0);
	mempool_give_back(s, NULL);
}

/* Names the pool did not make are left alone and never taken. */
static void foreign_names_ignored(void **state)
{
	(void)state;
	const char *names[] = {"free",     "free.",     "free.2097152", "free.2097152.",
			       "free.x.1", "free.-1.2", "notes.txt"};
	char path[512];
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		snprintf(path, sizeof(path), "%s/%s", pool, names[i]);
		int fd = open(path, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, (off_t)SLAB), 0);
		close(fd);
	}
	assert_null(mempool_take(pool, SLAB));
	struct mempool_census c;
	struct carve_err err = {0};
	assert_int_equal(mempool_census(pool, 0, &c, &err), 0);
	assert_int_equal(c.free + c.busy + c.stale, 0);
	/* A well-named free slab that others may write is not trusted to be zeroed. */
	snprintf(path, sizeof(path), "%s/free.%llu.planted", pool, (unsigned long long)SLAB);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)SLAB), 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	close(fd);
	assert_null(mempool_take(pool, SLAB));
	assert_int_equal(unlink(path), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		snprintf(path, sizeof(path), "%s/%s", pool, names[i]);
		assert_int_equal(unlink(path), 0);
	}
}

/* Guest memory from the pool: a new slab the first time, populated; the same
 * slab, zeroed, the next. */
static void guest_memory_from_pool(void **state)
{
	(void)state;
	/* Containers often give /dev/shm 64 MiB in all: no room for a guest. */
	struct statvfs fs;
	if (statvfs(pool, &fs) < 0 || (uint64_t)fs.f_bavail * fs.f_frsize < 80 * VMM_MIB)
		skip();
	struct guest_mem gm;
	struct carve_err err = {0};
	assert_int_equal(gm_layout(&gm, 64 * VMM_MIB, &err), 0);
	gm.pool_dir = pool;
	assert_int_equal(gm_map(&gm, false, &err), 0);
	assert_non_null(gm.slab);
	assert_false(mempool_slab_reused(gm.slab));
	memset(gm_ptr(&gm, 0, 4096), 0x77, 4096);
	memset(gm_ptr(&gm, 63 * VMM_MIB, 4096), 0x77, 4096);
	gm_unmap(&gm);
	assert_int_equal(count_named("free.67108864."), 1);

	assert_int_equal(gm_layout(&gm, 64 * VMM_MIB, &err), 0);
	gm.pool_dir = pool;
	assert_int_equal(gm_map(&gm, false, &err), 0);
	assert_non_null(gm.slab);
	assert_true(mempool_slab_reused(gm.slab));
	const uint8_t *p = gm_ptr(&gm, 0, gm.total);
	for (uint64_t i = 0; i < gm.total; i += 512)
		assert_int_equal(p[i], 0);
	assert_int_equal(p[63 * VMM_MIB + 100], 0);
	assert_int_equal(count_named("busy."), 1);
	gm_unmap(&gm);
	assert_int_equal(count_named("busy."), 0);
	assert_int_equal(count_named("free."), 1);
	int deleted;
	assert_int_equal(mempool_drain(pool, &deleted, &err), 0);
	assert_int_equal(deleted, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_refuses_disk),       cmocka_unit_test(fill_take_give_back_zeroed),
		cmocka_unit_test(dead_holder_slab_deleted), cmocka_unit_test(drain_keeps_busy),
		cmocka_unit_test(foreign_names_ignored),    cmocka_unit_test(guest_memory_from_pool),
	};
	return cmocka_run_group_tests(tests, make_pool, remove_pool);
}
