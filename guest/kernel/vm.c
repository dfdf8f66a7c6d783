/* The program's address space: a sorted array of VMAs, pages filled on first
 * touch (anonymous memory zeroed, file pages copied from the file), and the
 * checks that keep the kernel's accesses to user memory inside it.
 *
 * Pages are faulted in lazily because glibc and musl reserve large ranges
 * (malloc arenas, thread stacks) and touch little of them; every page the
 * kernel fills is emulated work on PVM hosts. A read-only private mapping of
 * a ramdisk file whose bytes happen to be page-aligned in the initrd maps the
 * initrd page itself, no copy (PTE_BORROWED: such pages are never freed and
 * are copied on the first write after an mprotect). */
#include "proc.h"

#define EFAULT 14
#define ENOMEM 12
#define EINVAL 22

struct process proc;

struct vma *vm_find(uint64_t addr)
{
	int lo = 0, hi = proc.nvmas;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		struct vma *v = &proc.vmas[mid];
		if (addr < v->start)
			hi = mid;
		else if (addr >= v->end)
			lo = mid + 1;
		else
			return v;
	}
	return NULL;
}

/* The first VMA that ends above addr, NULL if none: a walk over the address
 * space in order (procfs.c) that does not depend on how VMAs are kept. */
struct vma *vm_next(uint64_t addr)
{
	int lo = 0, hi = proc.nvmas;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (proc.vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < proc.nvmas ? &proc.vmas[lo] : NULL;
}

static uint64_t pte_flags(int prot)
{
	uint64_t f = 0;
	if (prot & PROT_WRITE)
		f |= PTE_W;
	if (!(prot & PROT_EXEC) && proc.nx)
		f |= PTE_NX;
	return f;
}

static void drop_page(uint64_t va, uint64_t *pte, void *ctx)
{
	(void)ctx;
	if (!(*pte & PTE_BORROWED))
		page_free(*pte & PTE_ADDR);
	*pte = 0;
	invlpg(va);
}

static void insert_at(int i, const struct vma *v)
{
	memmove(&proc.vmas[i + 1], &proc.vmas[i], (size_t)(proc.nvmas - i) * sizeof(*v));
	proc.vmas[i] = *v;
	proc.nvmas++;
	if (v->vn)
		vn_ref(v->vn);
}

static void remove_at(int i)
{
	struct vnode *vn = proc.vmas[i].vn;
	memmove(&proc.vmas[i], &proc.vmas[i + 1], (size_t)(proc.nvmas - i - 1) * sizeof(proc.vmas[0]));
	proc.nvmas--;
	if (vn)
		vn_unref(vn);
}

/* Splits VMAs so that addr is a boundary. -ENOMEM when the table is full. */
static int split_at(uint64_t addr)
{
	for (int i = 0; i < proc.nvmas; i++) {
		struct vma *v = &proc.vmas[i];
		if (addr <= v->start || addr >= v->end)
			continue;
		if (proc.nvmas >= MAX_VMAS)
			return -ENOMEM;
		struct vma hi = *v;
		uint64_t delta = addr - v->start;
		hi.start = addr;
		hi.off = v->off + delta;
		hi.flen = v->flen > delta ? v->flen - delta : 0;
		v->end = addr;
		insert_at(i + 1, &hi);
		return 0;
	}
	return 0;
}

int vm_unmap(uint64_t start, uint64_t len)
{
	uint64_t end = start + ALIGN_UP(len, PAGE_SIZE);
	if (start & ~PAGE_MASK || end < start || end > USER_TOP)
		return -EINVAL;
	if (split_at(start) < 0 || split_at(end) < 0)
		return -ENOMEM;
	for (int i = 0; i < proc.nvmas;) {
		if (proc.vmas[i].start >= start && proc.vmas[i].end <= end)
			remove_at(i);
		else
			i++;
	}
	/* The kernel's helper region (helper.c) holds no VMA and is not the
	 * program's to unmap, even inside a munmap(0, huge) or an execve. */
	if (start < HELPER_REGION)
		user_range_walk(start, MIN(end, HELPER_REGION), drop_page, NULL);
	if (end > HELPER_REGION_END)
		user_range_walk(MAX(start, HELPER_REGION_END), end, drop_page, NULL);
	return 0;
}

int vm_map(uint64_t start, uint64_t len, int prot, struct vnode *vn, uint64_t off, uint64_t flen)
{
	len = ALIGN_UP(len, PAGE_SIZE);
	if (start & ~PAGE_MASK || !len || start + len < start || start + len > USER_TOP)
		return -EINVAL;
	if (start < HELPER_REGION_END && start + len > HELPER_REGION)
		return -ENOMEM; /* the kernel's zeroing window (helper.c) */
	int r = vm_unmap(start, len);
	if (r < 0)
		return r;
	if (proc.nvmas >= MAX_VMAS)
		return -ENOMEM;
	struct vma v = {
		.start = start, .end = start + len, .prot = prot, .vn = vn, .off = off, .flen = vn ? flen : 0};
	int i = 0;
	while (i < proc.nvmas && proc.vmas[i].start < start)
		i++;
	insert_at(i, &v);
	return 0;
}

struct prot_ctx {
	uint64_t flags;
	bool none;
};

/* PROT_NONE keeps the pages but takes away the user bit, so any access by
 * the program faults; a later mprotect gives it back. */
static void reprotect(uint64_t va, uint64_t *pte, void *ctx)
{
	struct prot_ctx *c = ctx;
	uint64_t f = c->flags;
	if (*pte & PTE_BORROWED)
		f &= ~PTE_W; /* the first write copies it */
	*pte = (*pte & (PTE_ADDR | PTE_BORROWED)) | f | PTE_P | (c->none ? 0 : PTE_U);
	invlpg(va);
}

int vm_protect(uint64_t start, uint64_t len, int prot)
{
	uint64_t end = start + ALIGN_UP(len, PAGE_SIZE);
	if (start & ~PAGE_MASK || end < start || end > USER_TOP)
		return -EINVAL;
	/* Linux: ENOMEM if any part of the range is unmapped. */
	for (uint64_t a = start; a < end;) {
		struct vma *v = vm_find(a);
		if (!v)
			return -ENOMEM;
		a = v->end;
	}
	if (split_at(start) < 0 || split_at(end) < 0)
		return -ENOMEM;
	for (int i = 0; i < proc.nvmas; i++)
		if (proc.vmas[i].start >= start && proc.vmas[i].end <= end)
			proc.vmas[i].prot = prot;
	struct prot_ctx c = {pte_flags(prot), prot == 0};
	user_range_walk(start, end, reprotect, &c);
	return 0;
}

uint64_t vm_find_free(uint64_t len)
{
	len = ALIGN_UP(len, PAGE_SIZE);
	uint64_t top = MMAP_TOP;
	for (int i = proc.nvmas - 1; i >= -1; i--) {
		uint64_t lo = i >= 0 ? proc.vmas[i].end : MMAP_BOTTOM;
		if (i >= 0 && proc.vmas[i].start >= MMAP_TOP)
			continue;
		if (top > lo && top - lo >= len)
			return top - len;
		if (i >= 0)
			top = MIN(top, proc.vmas[i].start);
	}
	return 0;
}

/* Fills a fresh page for va from its VMA. */
static int populate(struct vma *v, uint64_t va)
{
	uint64_t rel = va - v->start;
	struct vnode *vn = v->vn;
	const uint8_t *src = NULL;
	uint64_t n = 0;
	if (vn && rel < v->flen && v->off + rel < vn->size) {
		n = MIN(PAGE_SIZE, v->flen - rel);
		n = MIN(n, vn->size - (v->off + rel));
		src = vn_bytes(vn) + v->off + rel;
	}
	/* A whole, page-aligned, never-written ramdisk page: map it in place. */
	if (src && n == PAGE_SIZE && !vn->data && !(v->prot & PROT_WRITE) &&
	    (virt_to_phys(src) & ~PAGE_MASK) == 0)
		return map_user_page(va, virt_to_phys(src), pte_flags(v->prot) | PTE_BORROWED);
	uint64_t pa = page_alloc();
	if (!pa)
		return -ENOMEM;
	if (n)
		memcpy(phys_to_virt(pa), src, n);
	int r = map_user_page(va, pa, pte_flags(v->prot));
	if (r < 0)
		page_free(pa);
	return r;
}

/* Anonymous memory is filled FAULT_AROUND pages at a time (the aligned
 * block around the fault, inside the VMA): programs touch heap and stack in
 * order, each fault costs hundreds of emulated instructions on PVM hosts,
 * and fresh pages come pre-zeroed (mm.c), so the extra pages cost a PTE
 * write each. The block never crosses a page table (it divides 2 MiB). */
#define FAULT_AROUND 8

static int populate_anon(struct vma *v, uint64_t va)
{
	uint64_t blk = ALIGN_DOWN(va, FAULT_AROUND * PAGE_SIZE);
	uint64_t lo = MAX(blk, v->start), hi = MIN(blk + FAULT_AROUND * PAGE_SIZE, v->end);
	uint64_t *slot = user_pte_slot(lo);
	if (!slot)
		return -ENOMEM;
	uint64_t flags = pte_flags(v->prot) | PTE_P | PTE_U;
	for (uint64_t a = lo; a < hi; a += PAGE_SIZE, slot++) {
		if (*slot & PTE_P)
			continue;
		uint64_t pa = page_alloc();
		if (!pa)
			return a <= va ? -ENOMEM : 0; /* va itself must be mapped */
		*slot = pa | flags;
	}
	return 0;
}

int vm_fault(uint64_t addr, bool write, bool exec)
{
	struct vma *v = vm_find(addr);
	if (!v || !v->prot || (write && !(v->prot & PROT_WRITE)) || (exec && !(v->prot & PROT_EXEC)))
		return -1;
	uint64_t va = addr & PAGE_MASK;
	uint64_t pte = user_pte(va);
	if (!pte)
		return (v->vn ? populate(v, va) : populate_anon(v, va)) < 0 ? -1 : 0;
	if (write && !(pte & PTE_W)) {
		if (pte & PTE_BORROWED) {
			uint64_t pa = page_alloc();
			if (!pa)
				return -1;
			memcpy(phys_to_virt(pa), phys_to_virt(pte & PTE_ADDR), PAGE_SIZE);
			return map_user_page(va, pa, pte_flags(v->prot)) < 0 ? -1 : 0;
		}
		return set_user_pte_flags(va, pte_flags(v->prot));
	}
	return 0; /* already resolved (a stale TLB entry) */
}

int user_ok(uint64_t addr, uint64_t len, bool write)
{
	if (!len)
		return 0;
	if (addr >= USER_TOP || len > USER_TOP - addr)
		return -EFAULT;
	for (uint64_t va = addr & PAGE_MASK; va < addr + len; va += PAGE_SIZE) {
		uint64_t pte = user_pte(va);
		if (pte && (!write || (pte & PTE_W))) {
			struct vma *v = vm_find(va);
			if (v && v->prot)
				continue;
		}
		if (vm_fault(va, write, false) < 0)
			return -EFAULT;
	}
	return 0;
}

int copy_from_user(void *dst, uint64_t src, uint64_t len)
{
	if (user_ok(src, len, false) < 0)
		return -EFAULT;
	memcpy(dst, (const void *)src, len);
	return 0;
}

int copy_to_user(uint64_t dst, const void *src, uint64_t len)
{
	if (user_ok(dst, len, true) < 0)
		return -EFAULT;
	memcpy((void *)dst, src, len);
	return 0;
}

int64_t strncpy_from_user(char *buf, uint64_t src, size_t cap)
{
	size_t n = 0;
	while (n < cap) {
		/* Check page by page: the string may end before an unmapped page. */
		uint64_t a = src + n;
		size_t chunk = MIN(cap - n, PAGE_SIZE - (a & ~PAGE_MASK));
		if (user_ok(a, chunk, false) < 0)
			return -EFAULT;
		for (size_t i = 0; i < chunk; i++) {
			buf[n] = ((const char *)a)[i];
			if (!buf[n])
				return (int64_t)n;
			n++;
		}
	}
	return -36; /* ENAMETOOLONG */
}

uint64_t vm_brk(uint64_t want)
{
	if (want < proc.brk_start || want > proc.brk_start + (1ull << 40))
		return proc.brk;
	uint64_t old_end = ALIGN_UP(proc.brk, PAGE_SIZE), new_end = ALIGN_UP(want, PAGE_SIZE);
	if (new_end > old_end) {
		/* Refuse to grow into another mapping. */
		for (int i = 0; i < proc.nvmas; i++)
			if (proc.vmas[i].start < new_end && proc.vmas[i].end > old_end)
				return proc.brk;
		struct vma *v = old_end > proc.brk_start ? vm_find(old_end - 1) : NULL;
		if (v && v->heap && v->end == old_end) {
			v->end = new_end;
		} else {
			if (vm_map(old_end, new_end - old_end, PROT_READ | PROT_WRITE, NULL, 0, 0) < 0)
				return proc.brk;
			vm_find(old_end)->heap = true;
		}
	} else if (new_end < old_end) {
		vm_unmap(new_end, old_end - new_end);
	}
	proc.brk = want;
	return proc.brk;
}
