/* The structures a 64-bit entry needs in guest memory: a flat GDT and identity
 * page tables (Firecracker's x86_64 regs.rs; the 64-bit boot protocol of
 * Linux Documentation/arch/x86/boot.rst).
 *
 * The map covers the first 4 GiB with 2 MiB pages, not just 1 GiB: kernels
 * loaded high, initrds near the top of low RAM and the LAPIC/IOAPIC pages of a
 * small test kernel are then all reachable before the kernel builds its own
 * tables. Pages in the MMIO hole are mapped uncached. */
#include <string.h>

#include "vmm/vmm_internal.h"

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_PWT 0x8ull
#define PTE_PCD 0x10ull
#define PTE_PS 0x80ull

/* Flat segments: selector 0x08 64-bit code, 0x10 data, 0x18 TSS. */
static const uint64_t boot_gdt[4] = {
	0, 0x00af9b000000ffffull, /* code: P, DPL0, S, exec/read, accessed, L, G */
	0x00cf93000000ffffull,    /* data: P, DPL0, S, read/write, accessed, D/B, G */
	0x00008b0000000067ull,    /* TSS: busy 64-bit TSS, 104 bytes (KVM needs a usable TR) */
};

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int boot_structures_write(const struct guest_mem *gm)
{
	uint8_t *gdt = gm_ptr(gm, LAYOUT_GDT, sizeof(boot_gdt));
	uint8_t *idt = gm_ptr(gm, LAYOUT_IDT, 8);
	uint8_t *pml4 = gm_ptr(gm, LAYOUT_PML4, 4096);
	uint8_t *pdpt = gm_ptr(gm, LAYOUT_PDPT, 4096);
	uint8_t *pd = gm_ptr(gm, LAYOUT_PD, 4096 * LAYOUT_PD_PAGES);
	if (!gdt || !idt || !pml4 || !pdpt || !pd)
		return -1;
	for (int i = 0; i < 4; i++)
		put64(gdt + 8 * i, boot_gdt[i]);
	memset(idt, 0, 8);
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	put64(pml4, LAYOUT_PDPT | PTE_P | PTE_RW);
	for (int i = 0; i < LAYOUT_PD_PAGES; i++)
		put64(pdpt + 8 * i, (LAYOUT_PD + 4096ull * (uint64_t)i) | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 512ull * LAYOUT_PD_PAGES; i++) {
		uint64_t addr = i << 21;
		uint64_t flags = PTE_P | PTE_RW | PTE_PS;
		if (addr >= LAYOUT_MMIO_HOLE)
			flags |= PTE_PCD | PTE_PWT;
		put64(pd + 8 * i, addr | flags);
	}
	return 0;
}
