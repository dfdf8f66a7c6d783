/* libFuzzer target: the kernel loaders on arbitrary bytes, the way
 * vmm_load_kernel uses them: ELF or bzImage, then the zero page with a command line
 * and an initrd. Guest memory is a 64 MiB fake region (heap, not KVM): every
 * write the loaders make goes through the checked accessor, so ASan catches
 * any that escape it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vmm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem gm;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!gm.nregions) {
		struct carve_err err = {0};
		if (gm_layout(&gm, VMM_MIN_MEM, &err) < 0)
			abort();
		gm.regions[0].host = calloc(1, VMM_MIN_MEM);
		if (!gm.regions[0].host)
			abort();
	}
	static struct boot_plan plan;
	struct carve_err err = {0};
	/* The last bytes choose where an image (an EIF's place) sits. */
	uint64_t avoid_lo = 0, avoid_hi = 0;
	if (size > 2) {
		avoid_lo = (uint64_t)data[size - 1] << 20;
		avoid_hi = avoid_lo + ((uint64_t)data[size - 2] << 16);
	}
	int r = elf_is_elf(data, size) ? elf_load(&gm, data, size, &plan, &err)
				       : bzimage_load(&gm, data, size, avoid_lo, avoid_hi, &plan, &err);
	if (r == 0) {
		carve_err_clear(&err);
		(void)zeropage_setup(&gm, &plan, "console=ttyS0", data, size < 4096 ? size : 4096, avoid_lo,
				     avoid_hi, &err);
	}
	return 0;
}
