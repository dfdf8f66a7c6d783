/* Physical memory and the kernel heap.
 *
 * Pages come from the e820 RAM above 1 MiB and inside the direct map, minus
 * the kernel image and the initrd (which stays where the VMM put it: files are
 * read, and mapped, straight from it). Allocation is a free list in front of a
 * bump pointer over those ranges: O(1), no bitmap to build at boot (every
 * boot instruction is emulated on PVM hosts). Freed runs of 2 to RUN_MAX
 * pages are kept whole, one list per length, and serve the next request of
 * that length: a vsock connection's 16 KiB ring comes back for the next
 * connection, so a long-lived enclave never runs out of contiguous memory by
 * churn (it did after ~3,000 connections per 64 MiB). Longer runs return
 * page by page; when single pages run out, a kept run is split.
 *
 * The heap: power-of-two size classes from 32 bytes to 2 KiB carved from
 * pages, larger blocks as whole pages; a 16-byte header says which. */
#include "kernel.h"

#define ZP_E820_COUNT 0x1e8
#define ZP_E820_TABLE 0x2d0
#define E820_ENTRY 20
#define E820_MAX 128
#define E820_RAM 1
#define MAX_RANGES 16

struct range {
	uint64_t start, end;
};

static struct range ranges[MAX_RANGES];
static int nranges, cur_range;
static uint64_t bump;      /* next fresh page in ranges[cur_range] */
static uint64_t free_list; /* physical address of the first free page, 0 if none */
#define RUN_MAX 32
static uint64_t run_list[RUN_MAX + 1]; /* freed runs by length; a run's first page links the next */
static uint64_t free_pages, total_pages;
/* Fresh memory below this (in the current range) is known to be zero. */
static uint64_t zeroed_until;
#define ZERO_CHUNK (2ull << 20)

static void add_range(uint64_t s, uint64_t e)
{
	s = ALIGN_UP(s, PAGE_SIZE);
	e = ALIGN_DOWN(e, PAGE_SIZE);
	if (e <= s || nranges >= MAX_RANGES)
		return;
	ranges[nranges++] = (struct range){s, e};
	total_pages += (e - s) / PAGE_SIZE;
}

/* Adds [s, e) minus the reserved ranges (sorted, non-overlapping). */
static void add_minus(uint64_t s, uint64_t e, const struct range *res, int nres)
{
	for (int i = 0; i < nres && s < e; i++) {
		if (res[i].end <= s || res[i].start >= e)
			continue;
		if (res[i].start > s)
			add_range(s, res[i].start);
		s = res[i].end;
	}
	if (s < e)
		add_range(s, e);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

void mm_init(const uint8_t *zp, uint64_t initrd_lo, uint64_t initrd_hi)
{
	extern char __kernel_start[], __kernel_end[];
	struct range res[2] = {
		{virt_to_phys(__kernel_start), virt_to_phys(__kernel_end)},
		{ALIGN_DOWN(initrd_lo, PAGE_SIZE), ALIGN_UP(initrd_hi, PAGE_SIZE)},
	};
	if (res[1].start < res[0].start) {
		struct range t = res[0];
		res[0] = res[1];
		res[1] = t;
	}
	unsigned n = zp[ZP_E820_COUNT];
	if (n > E820_MAX)
		n = E820_MAX;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = zp + ZP_E820_TABLE + i * E820_ENTRY;
		uint64_t addr = rd64(e), size = rd64(e + 8);
		if (rd32(e + 16) != E820_RAM || addr + size < addr)
			continue;
		uint64_t s = MAX(addr, 0x100000ull), end = MIN(addr + size, DIRECT_MAP_SIZE);
		if (s < end)
			add_minus(s, end, res, 2);
	}
	if (!nranges)
		panic("no usable RAM in the e820 map");
	bump = zeroed_until = ranges[0].start;
	free_pages = total_pages;
}

uint64_t mm_free_bytes(void) { return free_pages * PAGE_SIZE; }
uint64_t mm_total_bytes(void) { return total_pages * PAGE_SIZE; }

/* n fresh contiguous pages from the bump pointer (not zeroed), 0 if none. */
static uint64_t bump_alloc(size_t n)
{
	while (cur_range < nranges) {
		if (ranges[cur_range].end - bump >= n * PAGE_SIZE) {
			uint64_t pa = bump;
			bump += n * PAGE_SIZE;
			return pa;
		}
		/* What is left of this range goes to the free list. */
		while (bump < ranges[cur_range].end) {
			*(uint64_t *)phys_to_virt(bump) = free_list;
			free_list = bump;
			bump += PAGE_SIZE;
		}
		if (++cur_range < nranges)
			bump = zeroed_until = ranges[cur_range].start;
	}
	return 0;
}

/* Zeroes fresh pages [pa, pa+len): nothing if known zero, else the next
 * chunk natively (helper.c) once that is possible, else here. */
static void zero_fresh(uint64_t pa, uint64_t len)
{
	if (pa + len <= zeroed_until && pa >= ranges[cur_range].start)
		return;
	if (!helper_ready()) {
		memset(phys_to_virt(pa), 0, len);
		return;
	}
	uint64_t from = MAX(pa, zeroed_until);
	uint64_t to = MIN(ranges[cur_range].end, MAX(pa + len, from + ZERO_CHUNK));
	if (pa < from)
		memset(phys_to_virt(pa), 0, from - pa);
	helper_zero(from, to - from);
	zeroed_until = to;
}

static uint64_t run_take(size_t n)
{
	uint64_t pa = run_list[n];
	if (pa)
		run_list[n] = *(uint64_t *)phys_to_virt(pa);
	return pa;
}

/* No free page and no fresh memory: split the shortest kept run. */
static uint64_t split_run(void)
{
	for (size_t n = 2; n <= RUN_MAX; n++) {
		uint64_t pa = run_take(n);
		if (!pa)
			continue;
		for (size_t i = 1; i < n; i++) {
			*(uint64_t *)phys_to_virt(pa + i * PAGE_SIZE) = free_list;
			free_list = pa + i * PAGE_SIZE;
		}
		return pa;
	}
	return 0;
}

uint64_t page_alloc(void)
{
	uint64_t pa = free_list;
	if (pa) {
		free_list = *(uint64_t *)phys_to_virt(pa);
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	} else if ((pa = bump_alloc(1))) {
		zero_fresh(pa, PAGE_SIZE);
	} else if ((pa = split_run())) {
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	} else {
		return 0;
	}
	free_pages--;
	return pa;
}

uint64_t pages_alloc(size_t n)
{
	if (n == 1)
		return page_alloc();
	uint64_t pa = n <= RUN_MAX ? run_take(n) : 0;
	if (pa) {
		memset(phys_to_virt(pa), 0, n * PAGE_SIZE);
	} else {
		pa = bump_alloc(n);
		if (!pa)
			return 0;
		zero_fresh(pa, n * PAGE_SIZE);
	}
	free_pages -= n;
	return pa;
}

void page_free(uint64_t pa)
{
	/* While another CPU may still reach the page through a stale TLB
	 * entry, it waits for the shootdown (smp.c) before it is written to or
	 * handed out again. */
	if (tlb_defer_free(pa))
		return;
	page_free_now(pa);
}

void page_free_now(uint64_t pa)
{
	*(uint64_t *)phys_to_virt(pa) = free_list;
	free_list = pa;
	free_pages++;
}

void pages_free(uint64_t pa, size_t n)
{
	if (n >= 2 && n <= RUN_MAX) {
		*(uint64_t *)phys_to_virt(pa) = run_list[n];
		run_list[n] = pa;
		free_pages += n;
		return;
	}
	for (size_t i = 0; i < n; i++)
		page_free(pa + i * PAGE_SIZE);
}

/* Owners of a page beyond the first, by frame number, made on the first
 * fork (most enclaves never fork, and a fresh table is zeroed natively
 * then). 16 bits: a page is shared by at most 65,536 address spaces. */
static uint16_t *extra_owners;
static uint64_t nframes;

int page_get(uint64_t pa)
{
	if (!extra_owners) {
		uint64_t top = 0;
		for (int i = 0; i < nranges; i++)
			top = MAX(top, ranges[i].end);
		uint64_t n = top / PAGE_SIZE, pages = ALIGN_UP(n * 2, PAGE_SIZE) / PAGE_SIZE;
		uint64_t t = pages_alloc(pages);
		if (!t)
			return -12;
		extra_owners = phys_to_virt(t);
		nframes = n;
	}
	uint64_t f = pa / PAGE_SIZE;
	if (f >= nframes || extra_owners[f] == 0xffff)
		return -12;
	extra_owners[f]++;
	return 0;
}

void page_put(uint64_t pa)
{
	uint64_t f = pa / PAGE_SIZE;
	if (extra_owners && f < nframes && extra_owners[f]) {
		extra_owners[f]--;
		return;
	}
	page_free(pa);
}

unsigned page_owners(uint64_t pa)
{
	uint64_t f = pa / PAGE_SIZE;
	return 1u + (extra_owners && f < nframes ? extra_owners[f] : 0);
}

/* ---- heap ---- */
#define HDR 16
#define MIN_SHIFT 5
#define MAX_SHIFT 11
#define NCLASSES (MAX_SHIFT - MIN_SHIFT + 1)

struct hdr {
	uint64_t cls;    /* size class index, or NCLASSES for page blocks */
	uint64_t npages; /* page blocks only */
};
static void *heap_free[NCLASSES];

void *kmalloc(size_t n)
{
	if (n > (1u << MAX_SHIFT) - HDR) {
		if (n > (1ull << 30))
			return NULL;
		size_t np = (n + HDR + PAGE_SIZE - 1) / PAGE_SIZE;
		uint64_t pa = pages_alloc(np);
		if (!pa)
			return NULL;
		struct hdr *h = phys_to_virt(pa);
		h->cls = NCLASSES;
		h->npages = np;
		return (uint8_t *)h + HDR;
	}
	int c = 0;
	while ((1u << (c + MIN_SHIFT)) < n + HDR)
		c++;
	size_t sz = 1u << (c + MIN_SHIFT);
	if (!heap_free[c]) {
		uint64_t pa = page_alloc();
		if (!pa)
			return NULL;
		uint8_t *p = phys_to_virt(pa);
		for (size_t off = 0; off + sz <= PAGE_SIZE; off += sz) {
			*(void **)(p + off) = heap_free[c];
			heap_free[c] = p + off;
		}
	}
	struct hdr *h = heap_free[c];
	heap_free[c] = *(void **)h;
	memset(h, 0, sz);
	h->cls = (uint64_t)c;
	return (uint8_t *)h + HDR;
}

void kfree(void *p)
{
	if (!p)
		return;
	struct hdr *h = (struct hdr *)((uint8_t *)p - HDR);
	if (h->cls == NCLASSES) {
		pages_free(virt_to_phys(h), h->npages);
		return;
	}
	if (h->cls >= NCLASSES)
		panic("kfree: corrupt heap block at %p", p);
	int c = (int)h->cls;
	*(void **)h = heap_free[c];
	heap_free[c] = h;
}
