/* Guest memory: the layout around the 32-bit MMIO hole, the backing (huge
 * pages when reserved, else anonymous memory with transparent huge pages),
 * and the one checked accessor every other piece of the VMM uses.
 *
 * Memory is populated before any vCPU runs (populate.c, on every CPU the
 * process may use): a guest never waits on a host page fault for RAM, and
 * the process fails before the guest's first instruction, not mid-boot, if
 * the host cannot provide it. Population runs in the background from
 * gm_map_start while the VMM builds the rest of the VM (KVM, devices, the
 * image into guest memory); gm_map_finish waits for it, and vm.c calls that
 * before any vCPU may run (docs/vmm.md § Memory). With a memory pool
 * (carve/mempool.h) the memory is a slab of the pool: one zeroed ahead of
 * time needs no zeroing here, only its page tables. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "carve/mempool.h"
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

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << MFD_HUGE_SHIFT)
#endif
#ifndef MFD_HUGE_1GB
#define MFD_HUGE_1GB (30U << MFD_HUGE_SHIFT)
#endif
#define GM_GIB (1ull << 30)

/* Free reserved pages of one size ("2048", "1048576": kB), 0 if none. */
static uint64_t free_hugepages(const char *kb)
{
	char path[96];
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%skB/free_hugepages", kb);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	unsigned long long n = 0;
	if (fscanf(f, "%llu", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

/* A hugetlb memfd of len bytes (pages as `size_flag` says) mapped at addr.
 * Returns 0 or an errno. The fd is closed: the mapping holds the file.
 * Without MAP_NORESERVE the kernel reserves every page now, or fails
 * (ENOMEM): a page another process took since free_hugepages was read shows
 * here, where the caller can still fall back to small pages, and the
 * population in the background (gm_map_start) cannot run short. */
static int map_hugetlb_at(uint8_t *addr, uint64_t len, unsigned size_flag)
{
	int fd = memfd_create("carve-guest", MFD_CLOEXEC | MFD_HUGETLB | size_flag);
	if (fd < 0)
		return errno;
	bool ok = ftruncate(fd, (off_t)len) == 0 &&
		mmap(addr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED;
	int e = ok ? 0 : errno;
	close(fd);
	return e;
}

/* len bytes of private anonymous address space (prot: PROT_NONE to be
 * mapped over with MAP_FIXED, or the memory itself) starting at a multiple
 * of align, a power of two: more is mapped and the ends trimmed. */
static uint8_t *map_aligned(uint64_t len, uint64_t align, int prot)
{
	uint8_t *raw = mmap(NULL, len + align, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return MAP_FAILED;
	uint64_t head = (align - ((uintptr_t)raw & (align - 1))) & (align - 1);
	if (head)
		munmap(raw, head);
	munmap(raw + head + len, align - head);
	return raw + head;
}

/* Reserved huge pages: the first gib_bytes in 1 GiB pages, the rest in
 * 2 MiB pages, in one range aligned to the largest page. Guest-physical
 * addresses then share the host addresses' alignment (RAM starts at GPA 0
 * and 4 GiB), which is what lets KVM map the guest with pages as large. */
static void *map_huge(uint64_t len, uint64_t gib_bytes, int *error)
{
	uint8_t *map = map_aligned(len, gib_bytes ? GM_GIB : VMM_MEM_ALIGN, PROT_NONE);
	if (map == MAP_FAILED) {
		*error = errno;
		return MAP_FAILED;
	}
	int e = 0;
	if (gib_bytes)
		e = map_hugetlb_at(map, gib_bytes, MFD_HUGE_1GB);
	if (!e && len > gib_bytes)
		e = map_hugetlb_at(map + gib_bytes, len - gib_bytes, MFD_HUGE_2MB);
	if (e) {
		munmap(map, len);
		*error = e;
		return MAP_FAILED;
	}
	return map;
}

/* Anonymous memory, 2 MiB-aligned so that transparent huge pages can back
 * all of it. Not a memfd: shmem gets huge pages only when the host enables
 * them for shmem (transparent_hugepage/shmem_enabled, "never" by default in
 * Debian), so a memfd meant 4 KiB pages: 65,536 page faults per 256 MiB to
 * populate, about three times as long as 128 huge-page faults (measured on
 * the PVM host: 114-150 ms against 38-48 ms for 256 MiB). */
static void *map_anonymous(uint64_t len)
{
	uint8_t *map = map_aligned(len, VMM_MEM_ALIGN, PROT_READ | PROT_WRITE);
	if (map == MAP_FAILED)
		return MAP_FAILED;
	(void)madvise(map, len, MADV_HUGEPAGE); /* best effort: THP may be off */
	/* A private mapping shared with a child after fork() would be
	 * copy-on-write: the guest's next write to each page a host fault. */
	(void)madvise(map, len, MADV_DONTFORK);
	return map;
}

/* map, all guest memory (huge: on huge pages), becomes gm's: its population
 * started (unless lazy) and the regions pointed into it. false when the
 * population threads could not start (nothing of gm changed). */
static bool attach(struct guest_mem *gm, uint8_t *map, bool huge)
{
	/* With huge pages EINVAL cannot mean "unknown advice" (hugetlb memfds
	 * need 5.14+ anyway): no touching fallback there. */
	gm->populating = gm->lazy ? NULL
				  : gm_populate_start(map, gm->total, gm_populate_threads(gm->total), !huge);
	if (!gm->populating && !gm->lazy)
		return false;
	uint64_t off = 0;
	for (int i = 0; i < gm->nregions; i++) {
		gm->regions[i].host = map + off;
		off += gm->regions[i].size;
	}
	gm->fd = -1;
	gm->map = map;
	gm->hugetlb = huge;
	return true;
}

/* One range of all guest memory (reserved huge pages, gib_bytes of them
 * 1 GiB pages; or anonymous memory), its population started. */
static int map_backing(struct guest_mem *gm, bool huge, uint64_t gib_bytes, struct carve_err *err)
{
	int e = 0;
	void *map = huge ? map_huge(gm->total, gib_bytes, &e) : map_anonymous(gm->total);
	if (map == MAP_FAILED)
		return carve_fail(err, E72_GUEST_MEMORY, "cannot map guest memory: %s",
				  strerror(e ? e : errno));
	if (!attach(gm, map, huge)) {
		munmap(map, gm->total);
		return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
				  "cannot populate %llu MiB of guest memory: out of memory",
				  (unsigned long long)(gm->total / VMM_MIB));
	}
	return 0;
}

/* All guest memory in a slab of the pool at gm->pool_dir: a free one of the
 * size (zeroed ahead of time), else a new one made there (zeroed as it is
 * populated, like any memory). 0, or -1 when the pool cannot serve (no
 * room, not a usable directory): the caller maps memory as without one. */
static int map_pool(struct guest_mem *gm, const char **why)
{
	uint64_t page;
	struct carve_err check = {0};
	if (mempool_check(gm->pool_dir, &page, &check) < 0)
		return *why = "not on hugetlbfs or tmpfs", -1;
	if (gm->total % page)
		return *why = "its pages do not divide the guest memory", -1;
	struct mempool_slab *slab = mempool_take(gm->pool_dir, gm->total);
	if (!slab)
		slab = mempool_create(gm->pool_dir, gm->total);
	if (!slab)
		return *why = "no slab could be made there", -1;
	/* Aligned to the pool's pages (2 MiB at least: THP on tmpfs), as map_huge.
	 * Without MAP_NORESERVE hugetlbfs reserves every page of a new slab
	 * now, or fails here (another process took the pages). */
	uint8_t *map = map_aligned(gm->total, page > VMM_MEM_ALIGN ? page : VMM_MEM_ALIGN, PROT_NONE);
	if (map != MAP_FAILED &&
	    mmap(map, gm->total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, mempool_slab_fd(slab), 0) ==
		    MAP_FAILED) {
		munmap(map, gm->total);
		map = MAP_FAILED;
	}
	if (map == MAP_FAILED) {
		mempool_give_back(slab, NULL); /* deleted: nothing of it was used */
		return *why = "its pages are taken", -1;
	}
	(void)madvise(map, gm->total, MADV_DONTFORK);
	if (!attach(gm, map, page >= VMM_MEM_ALIGN)) {
		munmap(map, gm->total);
		mempool_give_back(slab, NULL);
		return *why = "it could not be populated", -1;
	}
	gm->slab = slab;
	return 0;
}

int gm_map_start(struct guest_mem *gm, bool verbose, struct carve_err *err)
{
	if (gm->pool_dir && !gm->lazy) {
		const char *why = NULL;
		if (map_pool(gm, &why) == 0) {
			if (verbose)
				fprintf(stderr,
					"vmm: guest memory %llu MiB in %d region(s), %s slab of the memory pool %s\n",
					(unsigned long long)(gm->total / VMM_MIB), gm->nregions,
					mempool_slab_reused(gm->slab) ? "a zeroed" : "a new", gm->pool_dir);
			return 0;
		}
		fprintf(stderr, "vmm: memory pool %s not used: %s\n", gm->pool_dir, why);
	}

	/* Reserved huge pages when there are enough free: 1 GiB pages for as
	 * many whole GiB as are free, 2 MiB pages for the rest (the exact cover
	 * with the fewest pages; guest memory is a multiple of 2 MiB). Another
	 * process may take them between the check and the mapping, which
	 * reserves them (map_hugetlb_at): a failure there falls back to small
	 * pages. */
	uint64_t gib = gm->total / GM_GIB, free_1g = free_hugepages("1048576");
	if (gib > free_1g)
		gib = free_1g;
	uint64_t rest_2m = (gm->total - gib * GM_GIB) / VMM_MEM_ALIGN;
	bool mapped = false;
	if (free_hugepages("2048") >= rest_2m) {
		struct carve_err huge_err = {0};
		mapped = map_backing(gm, true, gib * GM_GIB, &huge_err) == 0;
		if (!mapped && verbose)
			fprintf(stderr, "vmm: huge pages unusable (%s); using small pages\n", huge_err.msg);
	}
	if (!mapped && map_backing(gm, false, 0, err) < 0)
		return -1;
	if (!verbose)
		return 0;
	char backing[96];
	if (!gm->hugetlb)
		snprintf(backing, sizeof(backing), "anonymous memory with transparent huge pages");
	else if (!gib)
		snprintf(backing, sizeof(backing), "hugetlbfs 2 MiB pages");
	else
		snprintf(backing, sizeof(backing), "hugetlbfs 1 GiB pages (%llu) and 2 MiB pages (%llu)",
			 (unsigned long long)gib, (unsigned long long)rest_2m);
	fprintf(stderr, "vmm: guest memory %llu MiB in %d region(s), %s%s\n",
		(unsigned long long)(gm->total / VMM_MIB), gm->nregions, backing,
		gm->lazy ? ", NOT populated: pages come on first touch (lazy_memory)" : "");
	return 0;
}

int gm_map_finish(struct guest_mem *gm, struct carve_err *err)
{
	if (!gm->populating)
		return 0;
	int e = gm_populate_finish(gm->populating);
	gm->populating = NULL;
	if (e)
		return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
				  "cannot populate %llu MiB of guest memory: %s",
				  (unsigned long long)(gm->total / VMM_MIB), strerror(e));
	return 0;
}

int gm_map(struct guest_mem *gm, bool verbose, struct carve_err *err)
{
	if (gm_map_start(gm, verbose, err) < 0)
		return -1;
	if (gm_map_finish(gm, err) < 0) {
		gm_unmap(gm);
		return -1;
	}
	return 0;
}

void gm_unmap(struct guest_mem *gm)
{
	if (gm->populating) /* its threads are writing to the mapping */
		(void)gm_populate_finish(gm->populating);
	gm->populating = NULL;
	if (gm->slab) /* zeroed through the mapping, then free for the next VM */
		mempool_give_back(gm->slab, gm->map);
	gm->slab = NULL;
	if (gm->map)
		munmap(gm->map, gm->total);
	if (gm->fd >= 0) /* -1 from gm_map (the mappings hold their files); a fixture may set one */
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
