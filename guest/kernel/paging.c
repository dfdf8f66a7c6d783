/* The kernel's page tables: boot.S's tables (direct map and kernel image,
 * both supervisor-only) with the boot-time identity map removed, and 4 KiB
 * user pages below USER_TOP built on demand. Intermediate user entries allow
 * everything; the leaf PTE carries the protection. */
#include "cpu.h"

extern uint64_t boot_pml4[512];

/* The page tables in CR3: the running task's address space (each CPU's). */
#define cur_pml4 (this_cpu()->pml4)

void paging_init(void)
{
	boot_pml4[0] = 0; /* the lower half now belongs to the program */
	paging_switch(boot_pml4);
}

void tlb_page_changed(uint64_t va)
{
	invlpg(va);
	tlb_note(cur_pml4);
}

void paging_switch(uint64_t *pml4)
{
	cur_pml4 = pml4;
	__asm__ volatile("mov %0, %%cr3" : : "r"(virt_to_phys(pml4)) : "memory");
}

void paging_flush(void) { paging_switch(cur_pml4); }
uint64_t *paging_current(void) { return cur_pml4; }
uint64_t *kernel_pml4(void) { return boot_pml4; }

/* The PTE slot for va in pml4, creating tables when create is set; NULL
 * otherwise. */
static uint64_t *walk_in(uint64_t *pml4, uint64_t va, bool create)
{
	uint64_t *table = pml4;
	for (int shift = 39; shift > 12; shift -= 9) {
		uint64_t *e = &table[(va >> shift) & 511];
		if (!(*e & PTE_P)) {
			if (!create)
				return NULL;
			uint64_t pa = page_alloc();
			if (!pa)
				return NULL;
			*e = pa | PTE_P | PTE_W | PTE_U;
		}
		table = phys_to_virt(*e & PTE_ADDR);
	}
	return &table[(va >> 12) & 511];
}

static uint64_t *walk(uint64_t va, bool create) { return walk_in(cur_pml4, va, create); }

uint64_t *pt_slot(uint64_t *pml4, uint64_t va) { return va < USER_TOP ? walk_in(pml4, va, true) : NULL; }

/* The helper region's page directory (helper.c) is one for every address
 * space: the boot tables' PDPT entry for it is linked into each new one. */
#define HELPER_PML4I 255
#define HELPER_PDPTI ((HELPER_REGION >> 30) & 511)

uint64_t *pt_new(void)
{
	uint64_t pa = page_alloc(), pdpt = page_alloc();
	if (!pa || !pdpt) {
		if (pa)
			page_free(pa);
		if (pdpt)
			page_free(pdpt);
		return NULL;
	}
	uint64_t *pml4 = phys_to_virt(pa), *boot_pdpt = phys_to_virt(boot_pml4[HELPER_PML4I] & PTE_ADDR);
	memcpy(pml4 + 256, boot_pml4 + 256, 256 * 8);
	((uint64_t *)phys_to_virt(pdpt))[HELPER_PDPTI] = boot_pdpt[HELPER_PDPTI];
	pml4[HELPER_PML4I] = pdpt | PTE_P | PTE_W | PTE_U;
	return pml4;
}

/* Frees the user half's tables (the pages they mapped are already gone),
 * but not the shared helper directory. */
void pt_free(uint64_t *pml4)
{
	for (int i = 0; i < 256; i++) {
		if (!(pml4[i] & PTE_P))
			continue;
		uint64_t *pdpt = phys_to_virt(pml4[i] & PTE_ADDR);
		for (int j = 0; j < 512; j++) {
			if (!(pdpt[j] & PTE_P) || (i == HELPER_PML4I && j == HELPER_PDPTI))
				continue;
			uint64_t *pd = phys_to_virt(pdpt[j] & PTE_ADDR);
			for (int k = 0; k < 512; k++)
				if ((pd[k] & PTE_P) && !(pd[k] & PTE_PS))
					page_free(pd[k] & PTE_ADDR);
			page_free(pdpt[j] & PTE_ADDR);
		}
		page_free(pml4[i] & PTE_ADDR);
	}
	page_free(virt_to_phys(pml4));
}

int map_user_page(uint64_t va, uint64_t pa, uint64_t flags)
{
	if (va >= USER_TOP)
		return -14;
	uint64_t *pte = walk(va, true);
	if (!pte)
		return -12;
	bool was = *pte & PTE_P;
	*pte = (pa & PTE_ADDR) | flags | PTE_P | PTE_U;
	if (was)
		tlb_page_changed(va);
	return 0;
}

uint64_t *user_pte_slot(uint64_t va) { return va < USER_TOP ? walk(va, true) : NULL; }

uint64_t *user_pd_of(uint64_t va)
{
	uint64_t *table = cur_pml4;
	for (int shift = 39; shift > 21; shift -= 9) {
		uint64_t *e = &table[(va >> shift) & 511];
		if (!(*e & PTE_P)) {
			uint64_t pa = page_alloc();
			if (!pa)
				return NULL;
			*e = pa | PTE_P | PTE_W | PTE_U;
		}
		table = phys_to_virt(*e & PTE_ADDR);
	}
	return table;
}

uint64_t unmap_user_page(uint64_t va)
{
	uint64_t *pte = walk(va, false);
	if (!pte || !(*pte & PTE_P))
		return 0;
	uint64_t old = *pte;
	*pte = 0;
	tlb_page_changed(va);
	return old;
}

uint64_t user_pte(uint64_t va)
{
	uint64_t *pte = walk(va, false);
	return pte && (*pte & PTE_P) ? *pte : 0;
}

int set_user_pte_flags(uint64_t va, uint64_t flags)
{
	uint64_t *pte = walk(va, false);
	if (!pte || !(*pte & PTE_P))
		return -1;
	*pte = (*pte & PTE_ADDR) | flags | PTE_P | PTE_U;
	tlb_page_changed(va);
	return 0;
}

/* Calls fn for every present user PTE in [start, end), skipping absent
 * tables whole: munmap and mprotect of large, mostly untouched reservations
 * then cost a few table reads, not one walk per page. fn invalidates the
 * pages it changes (INVLPG: a CR3 reload would also discard every shadow
 * entry on PVM hosts). */
static void walk_level(uint64_t *table, int shift, uint64_t base, uint64_t start, uint64_t end,
		       void (*fn)(uint64_t va, uint64_t *pte, void *ctx), void *ctx)
{
	/* Only the entries meeting [start, end) (which meets this table): a
	 * one-page munmap reads one entry a level, not 512, each an emulated
	 * loop iteration on PVM hosts (milliseconds a call). */
	uint64_t span = 1ull << shift;
	uint64_t first = start > base ? (start - base) >> shift : 0,
		 last = MIN((end - 1 - base) >> shift, 511);
	for (uint64_t i = first; i <= last; i++) {
		if (!(table[i] & PTE_P))
			continue;
		uint64_t lo = base + i * span;
		if (shift == 12)
			fn(lo, &table[i], ctx);
		else
			walk_level(phys_to_virt(table[i] & PTE_ADDR), shift - 9, lo, start, end, fn, ctx);
	}
}

void user_range_walk(uint64_t start, uint64_t end, void (*fn)(uint64_t va, uint64_t *pte, void *ctx),
		     void *ctx)
{
	if (start >= end || start >= USER_TOP)
		return;
	/* Only the lower half: PML4 entries 0-255. */
	uint64_t last = MIN((end - 1) >> 39, 255);
	for (uint64_t i = start >> 39; i <= last; i++)
		if (cur_pml4[i] & PTE_P)
			walk_level(phys_to_virt(cur_pml4[i] & PTE_ADDR), 30, i << 39, start, end, fn, ctx);
}
