/* The kernel's page tables: boot.S's tables (direct map and kernel image,
 * both supervisor-only) with the boot-time identity map removed, and 4 KiB
 * user pages below USER_TOP built on demand. Intermediate user entries allow
 * everything; the leaf PTE carries the protection. */
#include "kernel.h"

extern uint64_t boot_pml4[512];

static uint64_t cr3_phys;

static void flush_all(void) { __asm__ volatile("mov %0, %%cr3" : : "r"(cr3_phys) : "memory"); }

void paging_init(void)
{
	cr3_phys = virt_to_phys(boot_pml4);
	boot_pml4[0] = 0; /* the lower half now belongs to the program */
	flush_all();
}

/* The PTE slot for va, creating tables when create is set; NULL otherwise. */
static uint64_t *walk(uint64_t va, bool create)
{
	uint64_t *table = boot_pml4;
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
		invlpg(va);
	return 0;
}

uint64_t *user_pte_slot(uint64_t va) { return va < USER_TOP ? walk(va, true) : NULL; }

uint64_t *user_pd_of(uint64_t va)
{
	uint64_t *table = boot_pml4;
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
	invlpg(va);
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
	invlpg(va);
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
		if (boot_pml4[i] & PTE_P)
			walk_level(phys_to_virt(boot_pml4[i] & PTE_ADDR), 30, i << 39, start, end, fn, ctx);
}
