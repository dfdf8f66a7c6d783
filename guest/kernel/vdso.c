/* The vDSO (guest/vdso/): its image, built beside the kernel and carried
 * in it (vdso_image.S), copied once into pages mapped user-executable at
 * VDSO_VA, after the clock page time.c registers with KVM, mapped
 * read-only (and not executable) at VDSO_VVAR_VA. Both are in the helper
 * region, whose page directory every address space shares, so every
 * program sees them without a mapping of its own; exec tells each where
 * (AT_SYSINFO_EHDR). */
#include "cpu.h"
#include "proc.h"
#include "../vdso/vdso_data.h"

_Static_assert(VDSO_VVAR_VA >= HELPER_REGION && VDSO_VA + VDSO_MAX_PAGES * PAGE_SIZE <= HELPER_WIN_VA,
	       "the vDSO lies in the helper region, below its window");

extern const char vdso_image[], vdso_image_end[];
static bool mapped;

void vdso_init(void)
{
	uint64_t len = (uint64_t)(vdso_image_end - vdso_image), pages = vdso_size() / PAGE_SIZE;
	if (!len || pages > VDSO_MAX_PAGES)
		panic("the vDSO image is %lu bytes", len);
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pa = page_alloc();
		if (!pa || map_user_page(VDSO_VA + i * PAGE_SIZE, pa, 0) < 0)
			panic("out of memory for the vDSO");
		uint64_t n = MIN(len - i * PAGE_SIZE, PAGE_SIZE);
		memcpy(phys_to_virt(pa), vdso_image + i * PAGE_SIZE, n);
	}
	if (map_user_page(VDSO_VVAR_VA, time_vvar_pa(), cpu_nx ? PTE_NX : 0) < 0)
		panic("out of memory for the vDSO's clock page");
	mapped = true;
}

uint64_t vdso_base(void) { return mapped ? VDSO_VA : 0; }

uint64_t vdso_size(void) { return ALIGN_UP((uint64_t)(vdso_image_end - vdso_image), PAGE_SIZE); }
