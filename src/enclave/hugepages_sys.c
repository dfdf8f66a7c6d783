/* Reserving hugepages on a NUMA node through sysfs, the way nitro's
 * allocator does: write nr_hugepages, read back what the kernel granted, and
 * roll back when it granted less (nitro-cli issue #313: a silent partial
 * reservation is worse than a clear failure). carve's VMM backs guest memory
 * with 2 MiB pages, so that is the size reserved. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "carve/enclave.h"
#include "enclave/pool.h"

#define HUGEPAGE_2M_KB 2048

static void nr_path_kb(int node, unsigned kb, char *out, size_t len, const char *what)
{
	snprintf(out, len, "%s/node/node%d/hugepages/hugepages-%ukB/%s", sysfs_system_root(), node, kb, what);
}

static void nr_path(int node, char *out, size_t len, const char *what)
{
	nr_path_kb(node, HUGEPAGE_2M_KB, out, len, what);
}

int hugepages_read(int node, uint64_t *total, uint64_t *free_pages)
{
	return hugepages_read_kb(node, HUGEPAGE_2M_KB, total, free_pages);
}

int hugepages_read_kb(int node, unsigned kb, uint64_t *total, uint64_t *free_pages)
{
	char path[256];
	unsigned long long t = 0, f = 0;
	nr_path_kb(node, kb, path, sizeof(path), "nr_hugepages");
	FILE *ft = fopen(path, "re");
	if (!ft)
		return -1;
	int ok = fscanf(ft, "%llu", &t) == 1;
	fclose(ft);
	nr_path_kb(node, kb, path, sizeof(path), "free_hugepages");
	FILE *ff = fopen(path, "re");
	if (ff) {
		ok = ok && fscanf(ff, "%llu", &f) == 1;
		fclose(ff);
	}
	*total = t;
	*free_pages = f;
	return ok ? 0 : -1;
}

static int write_nr(int node, uint64_t n)
{
	char path[256];
	nr_path(node, path, sizeof(path), "nr_hugepages");
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	int ok = fprintf(f, "%llu\n", (unsigned long long)n) > 0;
	ok = (fclose(f) == 0) && ok;
	return ok ? 0 : -1;
}

int hugepages_reserve(int node, uint64_t mib, uint64_t *granted_mib, struct carve_err *err)
{
	uint64_t before, free_pages;
	if (hugepages_read(node, &before, &free_pages) < 0)
		return carve_fail(err, E25_NO_SUCH_HUGEPAGE_FLAG,
				  "NUMA node %d has no 2 MiB hugepage pool in sysfs", node);
	uint64_t want = (mib + 1) / 2;
	if (write_nr(node, want) < 0)
		return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
				  "cannot set the 2 MiB hugepages of node %d: %s (run as root)", node,
				  strerror(errno));
	uint64_t got, f2;
	if (hugepages_read(node, &got, &f2) < 0 || got < want) {
		write_nr(node, before);
		return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
				  "node %d granted %llu of the %llu hugepages of 2 MiB asked for (memory too "
				  "fragmented or too small); the previous reservation is restored",
				  node, (unsigned long long)got, (unsigned long long)want);
	}
	*granted_mib = got * 2;
	return 0;
}

int hugepages_release(int node, struct carve_err *err)
{
	if (write_nr(node, 0) < 0)
		return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
				  "cannot release the hugepages of node %d: %s", node, strerror(errno));
	return 0;
}
