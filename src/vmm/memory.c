/* Guest memory: the layout around the 32-bit MMIO hole, the backing (huge
 * pages when reserved, else anonymous memory with transparent huge pages),
 * and the one checked accessor every other piece of the VMM uses.
 *
 * Memory is populated before any vCPU runs (populate.c, on every CPU the
 * process may use): a guest never waits on a host page fault for RAM, and
 * the process fails now, not mid-boot, if the host cannot provide it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/vmm_internal.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

int gm_layout(struct guest_mem *gm, uint64_t mem_bytes, struct carve_err *err)
{
	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	if (mem_bytes < VMM_MIN_MEM)
		return carve_fail(err, E26_INSUFFICIENT_MEMORY_REQUESTED,
				  "guest memory of %llu MiB is below the minimum of %llu MiB",
				  (unsigned long long)(mem_bytes / VMM_MIB),
				  (unsigned long long)(VMM_MIN_MEM / VMM_MIB));
	if (mem_bytes % VMM_MEM_ALIGN)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "guest memory must be a multiple of 2 MiB (got %llu bytes)",
				  (unsigned long long)mem_bytes);
	/* A 48-bit guest physical space is the most any x86 KVM gives; also keeps
	 * gpa + size far from overflow. */
	if (mem_bytes > (1ull << 46))
		return carve_fail(err, E03_INVALID_ARGUMENT, "guest memory of %llu MiB is too large",
				  (unsigned long long)(mem_bytes / VMM_MIB));
	uint64_t low = mem_bytes < LAYOUT_MMIO_HOLE ? mem_bytes : LAYOUT_MMIO_HOLE;
	gm->regions[0] = (struct gm_region){.gpa = 0, .size = low};
	gm->nregions = 1;
	if (mem_bytes > low) {
		gm->regions[1] = (struct gm_region){.gpa = LAYOUT_4G, .size = mem_bytes - low};
		gm->nregions = 2;
	}
	gm->total = mem_bytes;
	return 0;
}

static uint64_t free_hugepages_2m(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "re");
	if (!f)
		return 0;
	unsigned long long n = 0;
	if (fscanf(f, "%llu", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

/* Anonymous memory, 2 MiB-aligned so that transparent huge pages can back
 * all of it. Not a memfd: shmem gets huge pages only when the host enables
 * them for shmem (transparent_hugepage/shmem_enabled, "never" by default in
 * Debian), so a memfd meant 4 KiB pages: 65,536 page faults per 256 MiB to
 * populate, about three times as long as 128 huge-page faults (measured on
 * the PVM host: 114-150 ms against 38-48 ms for 256 MiB). */
static void *map_anonymous(uint64_t len)
{
	uint64_t extra = VMM_MEM_ALIGN;
	uint8_t *raw = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
	if (raw == MAP_FAILED)
		return MAP_FAILED;
	uint64_t head = (VMM_MEM_ALIGN - ((uintptr_t)raw & (VMM_MEM_ALIGN - 1))) & (VMM_MEM_ALIGN - 1);
	if (head)
		munmap(raw, head);
	if (extra - head)
		munmap(raw + head + len, extra - head);
	uint8_t *map = raw + head;
	(void)madvise(map, len, MADV_HUGEPAGE); /* best effort: THP may be off */
	/* A private mapping shared with a child after fork() would be
	 * copy-on-write: the guest's next write to each page a host fault. */
	(void)madvise(map, len, MADV_DONTFORK);
	return map;
}

/* One mapping of all guest memory (a hugetlb memfd, or anonymous), populated. */
static int map_backing(struct guest_mem *gm, bool huge, struct carve_err *err)
{
	int fd = -1;
	void *map;
	if (huge) {
		fd = memfd_create("carve-guest", MFD_CLOEXEC | MFD_HUGETLB);
		if (fd < 0)
			return carve_fail(err, E72_GUEST_MEMORY, "cannot create guest memory: %s",
					  strerror(errno));
		if (ftruncate(fd, (off_t)gm->total) < 0) {
			int e = errno;
			close(fd);
			return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
					  "cannot size guest memory to %llu MiB: %s",
					  (unsigned long long)(gm->total / VMM_MIB), strerror(e));
		}
		map = mmap(NULL, gm->total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	} else {
		map = map_anonymous(gm->total);
	}
	if (map == MAP_FAILED) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return carve_fail(err, E72_GUEST_MEMORY, "cannot map guest memory: %s", strerror(e));
	}
	/* With huge pages EINVAL cannot mean "unknown advice" (hugetlb memfds
	 * need 5.14+ anyway): fail, let the caller fall back to small pages. */
	int e = gm_populate(map, gm->total, gm_populate_threads(gm->total), !huge);
	if (e) {
		munmap(map, gm->total);
		if (fd >= 0)
			close(fd);
		return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
				  "cannot populate %llu MiB of guest memory: %s",
				  (unsigned long long)(gm->total / VMM_MIB), strerror(e));
	}
	uint64_t off = 0;
	for (int i = 0; i < gm->nregions; i++) {
		gm->regions[i].host = (uint8_t *)map + off;
		off += gm->regions[i].size;
	}
	gm->fd = fd;
	gm->map = map;
	gm->hugetlb = huge;
	return 0;
}

int gm_map(struct guest_mem *gm, bool verbose, struct carve_err *err)
{
	/* Reserved huge pages when there are enough free; another process may
	 * take them between the check and the populate, so a failure there falls
	 * back to small pages. */
	bool mapped = false;
	if (free_hugepages_2m() >= gm->total / VMM_MEM_ALIGN) {
		struct carve_err huge_err = {0};
		mapped = map_backing(gm, true, &huge_err) == 0;
		if (!mapped && verbose)
			fprintf(stderr, "vmm: huge pages unusable (%s); using small pages\n", huge_err.msg);
	}
	if (!mapped && map_backing(gm, false, err) < 0)
		return -1;
	if (verbose)
		fprintf(stderr, "vmm: guest memory %llu MiB in %d region(s), %s\n",
			(unsigned long long)(gm->total / VMM_MIB), gm->nregions,
			gm->hugetlb ? "hugetlbfs 2 MiB pages" : "anonymous memory with transparent huge pages");
	return 0;
}

void gm_unmap(struct guest_mem *gm)
{
	if (gm->map)
		munmap(gm->map, gm->total);
	if (gm->fd >= 0)
		close(gm->fd);
	gm->map = NULL;
	gm->fd = -1;
	for (int i = 0; i < gm->nregions; i++)
		gm->regions[i].host = NULL;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (!r->host || gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		/* off <= size and len <= size - off: no addition that can wrap */
		if (off > r->size || len > r->size - off)
			continue;
		return r->host + off;
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = gm_ptr(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t gm_low_end(const struct guest_mem *gm) { return gm->regions[0].gpa + gm->regions[0].size; }
