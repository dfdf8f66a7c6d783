/* The program's address space: its VMAs (a tree, vma.c), pages filled on first
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
#define EACCES 13

bool cpu_nx;

struct vma *vm_find(uint64_t addr) { return vma_find(&curproc->as->map, addr); }
struct vma *vm_first(void) { return vma_first(&curproc->as->map); }
struct vma *vm_next(const struct vma *v) { return vma_next(v); }
bool vm_range_free(uint64_t start, uint64_t end) { return vma_range_free(&curproc->as->map, start, end); }

static uint64_t pte_flags(int prot)
{
	uint64_t f = 0;
	if (prot & PROT_WRITE)
		f |= PTE_W;
	if (!(prot & PROT_EXEC) && cpu_nx)
		f |= PTE_NX;
	return f;
}

static void drop_page(uint64_t va, uint64_t *pte, void *ctx)
{
	(void)ctx;
	if (!(*pte & PTE_BORROWED))
		page_put(*pte & PTE_ADDR);
	*pte = 0;
	tlb_page_changed(va);
}

/* Frees the pages of [start, end) (already out of the VMAs). */
static void drop_pages(uint64_t start, uint64_t end)
{
	/* The kernel's helper region (helper.c) holds no VMA and is not the
	 * program's to unmap, even inside a munmap(0, huge) or an execve. */
	if (start < HELPER_REGION)
		user_range_walk(start, MIN(end, HELPER_REGION), drop_page, NULL);
	if (end > HELPER_REGION_END)
		user_range_walk(MAX(start, HELPER_REGION_END), end, drop_page, NULL);
}

int vm_unmap(uint64_t start, uint64_t len)
{
	uint64_t end = start + ALIGN_UP(len, PAGE_SIZE);
	if (start & ~PAGE_MASK || end < start || end > USER_TOP)
		return -EINVAL;
	int r = vma_unmap(&curproc->as->map, start, end);
	if (r < 0)
		return r;
	drop_pages(start, end);
	return 0;
}

void vm_unmap_space(struct vm_space *s)
{
	vma_unmap(s, 0, USER_TOP);
	drop_pages(0, USER_TOP);
}

int vm_map_vma(const struct vma *t)
{
	if (t->start & ~PAGE_MASK || t->end & ~PAGE_MASK || t->end <= t->start || t->end > USER_TOP)
		return -EINVAL;
	if (t->start < HELPER_REGION_END && t->end > HELPER_REGION)
		return -ENOMEM; /* the kernel's zeroing window (helper.c) */
	int r = vma_map(&curproc->as->map, t);
	if (r < 0)
		return r;
	drop_pages(t->start, t->end); /* what was mapped there before */
	return 0;
}

int vm_map(uint64_t start, uint64_t len, int prot, struct vnode *vn, uint64_t off, uint64_t flen)
{
	len = ALIGN_UP(len, PAGE_SIZE);
	if (!len || start + len < start)
		return -EINVAL;
	struct vma t = {.start = start, .end = start + len, .prot = prot, .vn = vn, .off = off, .flen = flen};
	return vm_map_vma(&t);
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
	if (*pte & (PTE_BORROWED | PTE_COW))
		f &= ~PTE_W; /* the first write copies it */
	*pte = (*pte & (PTE_ADDR | PTE_BORROWED | PTE_COW)) | f | PTE_P | (c->none ? 0 : PTE_U);
	tlb_page_changed(va);
}

int vm_protect(uint64_t start, uint64_t len, int prot)
{
	uint64_t end = start + ALIGN_UP(len, PAGE_SIZE);
	if (start & ~PAGE_MASK || end < start || end > USER_TOP)
		return -EINVAL;
	if (end == start)
		return 0;
	/* Linux: a shared mapping of a file opened read-only stays so. */
	for (struct vma *v = vma_after(&curproc->as->map, start); (prot & PROT_WRITE) && v && v->start < end;
	     v = vma_next(v))
		if (v->flags & VMA_READONLY)
			return -EACCES;
	int r = vma_protect(&curproc->as->map, start, end, prot);
	if (r < 0)
		return r;
	struct prot_ctx c = {pte_flags(prot), prot == 0};
	user_range_walk(start, end, reprotect, &c);
	return 0;
}

uint64_t vm_find_free(uint64_t len)
{
	return vma_gap_top(&curproc->as->map, ALIGN_UP(len, PAGE_SIZE), MMAP_BOTTOM, MMAP_TOP);
}

/* A page of a page-backed file (vfs.h) at va: a shared mapping maps the
 * file's own page, so every mapping and read() see one copy; a private one
 * maps it read-only and copy-on-write (PTE_COW), so it sees the file until
 * it writes the page. Each mapping is an owner of the page (page_get): a
 * file that shrinks or goes keeps none of it from under a mapping. */
static int populate_file_page(struct vma *v, uint64_t va, uint64_t idx)
{
	uint64_t pa = vfs_page(v->vn, idx, true);
	if (!pa || page_get(pa) < 0)
		return -ENOMEM;
	uint64_t f = pte_flags(v->prot);
	if (!(v->flags & VMA_SHARED))
		f = (f & ~PTE_W) | PTE_COW;
	int r = map_user_page(va, pa, f);
	if (r < 0)
		page_put(pa);
	return r;
}

/* Fills a fresh page for va from its VMA. */
static int populate(struct vma *v, uint64_t va)
{
	uint64_t rel = va - v->start;
	struct vnode *vn = v->vn;
	const uint8_t *src = NULL;
	uint64_t n = 0;
	if (rel < v->flen && v->off + rel >= ALIGN_UP(vn->size, PAGE_SIZE))
		return VM_FAULT_SIGBUS; /* past the file's last page, as Linux */
	if (vn->pages && ((v->flags & VMA_SHARED) || rel + PAGE_SIZE <= v->flen))
		return populate_file_page(v, va, (v->off + rel) / PAGE_SIZE);
	if (rel < v->flen && v->off + rel < vn->size) {
		n = MIN(PAGE_SIZE, v->flen - rel);
		n = MIN(n, vn->size - (v->off + rel));
		if (!vn->pages)
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
		vfs_read(vn, phys_to_virt(pa), n, v->off + rel);
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
	if (!pte) {
		int r = v->vn ? populate(v, va) : populate_anon(v, va);
		return r == VM_FAULT_SIGBUS ? r : r < 0 ? -1 : 0;
	}
	if (write && !(pte & PTE_W)) {
		if ((pte & PTE_COW) && page_owners(pte & PTE_ADDR) == 1)
			return set_user_pte_flags(va, pte_flags(v->prot)); /* the others are gone */
		if (pte & (PTE_BORROWED | PTE_COW)) {
			uint64_t pa = page_alloc();
			if (!pa)
				return -1;
			memcpy(phys_to_virt(pa), phys_to_virt(pte & PTE_ADDR), PAGE_SIZE);
			if (map_user_page(va, pa, pte_flags(v->prot)) < 0) {
				page_free(pa);
				return -1;
			}
			if (pte & PTE_COW)
				page_put(pte & PTE_ADDR);
			return 0;
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
	struct vma *v = NULL;
	for (uint64_t va = addr & PAGE_MASK; va < addr + len; va += PAGE_SIZE) {
		uint64_t pte = user_pte(va);
		if (pte && (!write || (pte & PTE_W))) {
			if (!v || va >= v->end)
				v = vm_find(va); /* once per VMA the range crosses */
			if (v && v->prot)
				continue;
		}
		if (vm_fault(va, write, false) != 0)
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
	struct vm_space *mm = &curproc->as->map;
	if (want < mm->brk_start || want > mm->brk_start + (1ull << 40))
		return mm->brk;
	uint64_t old_end = ALIGN_UP(mm->brk, PAGE_SIZE), new_end = ALIGN_UP(want, PAGE_SIZE);
	if (new_end > old_end) {
		/* Refuse to grow into another mapping. The new part joins the
		 * heap VMA below it (vma_map merges brk areas only together). */
		if (!vma_range_free(mm, old_end, new_end))
			return mm->brk;
		struct vma t = {
			.start = old_end, .end = new_end, .prot = PROT_READ | PROT_WRITE, .heap = true};
		if (vm_map_vma(&t) < 0)
			return mm->brk;
	} else if (new_end < old_end) {
		vm_unmap(new_end, old_end - new_end);
	}
	mm->brk = want;
	return mm->brk;
}

struct move_ctx {
	uint64_t from, to;
	int err;
};

/* Moves one page table entry as it is (present, user or PROT_NONE, its
 * write bit and the borrowed mark): the page itself stays where it is. */
static void move_pte(uint64_t va, uint64_t *pte, void *ctx)
{
	struct move_ctx *c = ctx;
	uint64_t *slot = c->err ? NULL : user_pte_slot(va - c->from + c->to);
	if (!slot) {
		c->err = -ENOMEM;
		return;
	}
	*slot = *pte;
	*pte = 0;
	tlb_page_changed(va);
}

#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2

/* Moves [old, old+olen) of its VMA v to [to, to+nlen) (free space). */
static int64_t remap_move(struct vma *v, uint64_t old, uint64_t olen, uint64_t to, uint64_t nlen)
{
	/* Linux keeps room for the worst case: the old VMA split in three
	 * and the new one. */
	if (curproc->as->map.count >= MAX_MAP_COUNT - 3)
		return -ENOMEM;
	uint64_t delta = old - v->start;
	struct vma t = *v;
	t.start = to;
	t.end = to + nlen;
	if (t.vn) {
		t.off = v->off + delta;
		t.flen = v->flen > delta ? v->flen - delta : 0;
		if (t.flen >= olen)
			t.flen = nlen; /* the file continues into the grown part */
	}
	int r = vm_map_vma(&t);
	if (r < 0)
		return r;
	struct move_ctx c = {old, to, 0};
	user_range_walk(old, old + olen, move_pte, &c);
	if (c.err)
		return c.err;
	/* The pages have moved; drop the old range (no pages left to free). */
	vm_unmap(old, olen);
	return (int64_t)to;
}

/* old_len 0: a second mapping of the same shared pages (Linux allows it
 * for shared mappings only, EINVAL for private ones). */
static int64_t remap_dup(uint64_t old, uint64_t nlen, int flags, uint64_t new_addr)
{
	struct vma *v = vm_find(old);
	if (!v || !(v->flags & VMA_SHARED) || !v->vn || !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	uint64_t to = new_addr;
	if (flags & MREMAP_FIXED) {
		if (new_addr & ~PAGE_MASK || new_addr < MMAP_BOTTOM || new_addr + nlen < new_addr ||
		    new_addr + nlen > USER_TOP)
			return -EINVAL;
	} else if (!(to = vm_find_free(nlen))) {
		return -ENOMEM;
	}
	struct vma t = *v;
	t.start = to;
	t.end = to + nlen;
	t.off = v->off + (old - v->start);
	t.flen = nlen;
	int r = vm_map_vma(&t);
	return r < 0 ? r : (int64_t)to;
}

int64_t vm_remap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr)
{
	uint64_t olen = ALIGN_UP(old_len, PAGE_SIZE), nlen = ALIGN_UP(new_len, PAGE_SIZE);
	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) || ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)))
		return -EINVAL;
	if (old & ~PAGE_MASK || !nlen || olen < old_len || nlen < new_len)
		return -EINVAL;
	if (!olen)
		return remap_dup(old, nlen, flags, new_addr);
	if (old + olen < old || old + olen > USER_TOP)
		return -EFAULT;
	struct vma *v = vm_find(old);
	if (!v || old + olen > v->end)
		return -EFAULT;
	if (flags & MREMAP_FIXED) {
		if (new_addr & ~PAGE_MASK || new_addr < MMAP_BOTTOM || new_addr + nlen < new_addr ||
		    new_addr + nlen > USER_TOP || (new_addr < old + olen && old < new_addr + nlen))
			return -EINVAL;
		if (new_addr < HELPER_REGION_END && new_addr + nlen > HELPER_REGION)
			return -ENOMEM;
		int r = vm_unmap(new_addr, nlen);
		if (r == 0 && nlen < olen)
			r = vm_unmap(old + nlen, olen - nlen);
		if (r < 0)
			return r;
		olen = MIN(olen, nlen);
		v = vm_find(old); /* the unmaps may have split it */
		return remap_move(v, old, olen, new_addr, nlen);
	}
	if (nlen <= olen) {
		if (nlen < olen) {
			int r = vm_unmap(old + nlen, olen - nlen);
			if (r < 0)
				return r;
		}
		return (int64_t)old;
	}
	/* Grow in place when the range after it is free. */
	uint64_t grow_end = old + nlen;
	if (old + olen == v->end && grow_end > old && grow_end <= USER_TOP &&
	    !(v->end < HELPER_REGION_END && grow_end > HELPER_REGION) &&
	    vma_range_free(&curproc->as->map, v->end, grow_end)) {
		vma_set_end(&curproc->as->map, v, grow_end);
		return (int64_t)old;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	uint64_t to = vm_find_free(nlen);
	if (!to)
		return -ENOMEM;
	return remap_move(v, old, olen, to, nlen);
}

struct shrink_ctx {
	const struct vma *v;
	const struct fpages *pg;
};

/* Drops a page of the file's gone part: any page of a shared mapping, and
 * a private mapping's page only while it is still the file's (not a copy
 * it wrote). The page itself stays until its last owner lets go. */
static void drop_file_page(uint64_t va, uint64_t *pte, void *ctx)
{
	struct shrink_ctx *c = ctx;
	uint64_t idx = (c->v->off + (va - c->v->start)) / PAGE_SIZE;
	uint64_t file_pa = idx < c->pg->n ? c->pg->pa[idx] : 0;
	if (!(c->v->flags & VMA_SHARED) && (*pte & PTE_ADDR) != file_pa)
		return;
	drop_page(va, pte, NULL);
}

void vm_file_shrunk(const struct fpages *pg, uint64_t idx)
{
	extern struct task *task_list;
	uint64_t *was = paging_current();
	uint64_t from = idx * PAGE_SIZE;
	for (struct task *t = task_list; t; t = t->next) {
		struct aspace *as = t->proc ? t->proc->as : NULL;
		if (!as)
			continue;
		paging_switch(as->pml4);
		for (struct vma *v = vma_first(&as->map); v; v = vma_next(v)) {
			if (!v->vn || v->vn->pages != pg || v->off + v->flen <= from)
				continue;
			uint64_t lo = v->start + (from > v->off ? from - v->off : 0);
			uint64_t hi = MIN(v->end, v->start + v->flen);
			struct shrink_ctx c = {v, pg};
			if (lo < hi)
				user_range_walk(lo, hi, drop_file_page, &c);
		}
	}
	paging_switch(was);
}
