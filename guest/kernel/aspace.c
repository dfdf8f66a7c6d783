/* Address spaces: a new empty one (exec, the first program), a copy-on-write
 * copy (fork), and the end of one (exit, exec, with its last user).
 *
 * fork shares every page: private writable pages become read-only in both
 * spaces and marked PTE_COW, so the first write of either copies the page
 * (vm.c's fault handler), or takes it over when the other side is gone.
 * MAP_SHARED pages (a file's own pages, vm.c; shared anonymous memory is an
 * unlinked file too) stay writable in both: that memory is shared between
 * parent and child, as Linux shares it. */
#include "cpu.h"
#include "proc.h"

struct aspace *aspace_new(void)
{
	struct aspace *as = kmalloc(sizeof(*as));
	if (!as)
		return NULL;
	as->pml4 = pt_new();
	if (!as->pml4) {
		kfree(as);
		return NULL;
	}
	as->users = 1;
	return as;
}

struct fork_ctx {
	uint64_t *pml4;
	bool shared;
	int err;
};

static void share_pte(uint64_t va, uint64_t *pte, void *ctx)
{
	struct fork_ctx *c = ctx;
	if (c->err)
		return;
	uint64_t *slot = pt_slot(c->pml4, va);
	if (!slot || (!(*pte & PTE_BORROWED) && page_get(*pte & PTE_ADDR) < 0)) {
		c->err = -12;
		return;
	}
	if (!c->shared && (*pte & PTE_W))
		*pte = (*pte & ~PTE_W) | PTE_COW;
	*slot = *pte;
}

/* The parent's TLB still holds writable entries for the pages now
 * read-only: one reload of CR3 drops them all here, and the other CPUs
 * running the parent's threads flush before the child can run (a stale
 * writable entry there would write into the page the child shares). */
int aspace_fork(struct aspace *src, struct aspace **out)
{
	struct aspace *as = aspace_new();
	if (!as)
		return -12;
	as->map.brk_start = src->map.brk_start;
	as->map.brk = src->map.brk;
	struct fork_ctx c = {as->pml4, false, 0};
	for (struct vma *v = vma_first(&src->map); v && !c.err; v = vma_next(v)) {
		int r = vma_map(&as->map, v);
		if (r < 0) {
			c.err = r;
			break;
		}
		c.shared = v->flags & VMA_SHARED;
		user_range_walk(v->start, v->end, share_pte, &c);
	}
	paging_flush();
	tlb_note(src->pml4);
	tlb_sync();
	if (c.err) {
		aspace_put(as);
		return c.err;
	}
	*out = as;
	return 0;
}

/* Drops a user; the last one frees the pages, the tables and the
 * mappings. Must not be the address space in CR3 unless it is the
 * current one and a switch follows (exit). */
void aspace_put(struct aspace *as)
{
	if (--as->users > 0)
		return;
	uint64_t *was = paging_current();
	paging_switch(as->pml4);
	vm_unmap_space(&as->map);
	paging_switch(was == as->pml4 ? kernel_pml4() : was);
	tlb_forget(as->pml4);
	pt_free(as->pml4);
	kfree(as);
}
