/* bzImage kernels through the 64-bit boot protocol (Linux
 * Documentation/arch/x86/boot.rst): the setup header is checked
 * and copied into the zero page, the protected-mode kernel is loaded at 1 MiB
 * (or higher when relocatable and something else needs that range), and the
 * vCPU enters at load address + 0x200 in long mode. */
#include <string.h>

#include "vmm/vmm_internal.h"

#define BZ_BOOT_FLAG 0x1fe
#define BZ_HEADER 0x202
#define BZ_VERSION 0x206
#define BZ_LOADFLAGS 0x211
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE 0x234
#define BZ_XLOADFLAGS 0x236
#define BZ_CMDLINE_SIZE 0x238
#define BZ_PREF_ADDRESS 0x258
#define BZ_INIT_SIZE 0x260
#define BZ_HDR_MIN_END 0x264 /* init_size, present since 2.10 */
#define BZ_HDR_MAX_END 0x290 /* where struct boot_params' header area ends */
#define LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01
#define ENTRY_64 0x200

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *bi, struct carve_err *err)
{
	memset(bi, 0, sizeof(*bi));
	if (len < BZ_HDR_MIN_END)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD,
				  "the kernel is neither an ELF file nor a bzImage (%zu bytes, too short "
				  "for a setup header)",
				  len);
	if (le16(img + BZ_BOOT_FLAG) != 0xaa55 || memcmp(img + BZ_HEADER, "HdrS", 4) != 0)
		return carve_fail(
			err, E75_GUEST_KERNEL_LOAD,
			"the kernel is neither an ELF file nor a bzImage (no \"HdrS\" setup header)");
	bi->version = le16(img + BZ_VERSION);
	if (bi->version < BZ_MIN_VERSION)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD,
				  "the bzImage speaks boot protocol %u.%02u; carve needs 2.12 or later "
				  "(Linux 3.8+) for the 64-bit entry",
				  bi->version >> 8, bi->version & 0xff);
	bi->loadflags = img[BZ_LOADFLAGS];
	bi->xloadflags = le16(img + BZ_XLOADFLAGS);
	if (!(bi->xloadflags & XLF_KERNEL_64))
		return carve_fail(err, E75_GUEST_KERNEL_LOAD,
				  "the bzImage has no 64-bit entry point (XLF_KERNEL_64 clear): not an "
				  "x86-64 kernel");
	if (!(bi->loadflags & LOADED_HIGH))
		return carve_fail(err, E75_GUEST_KERNEL_LOAD, "the bzImage is a zImage (loads below 1 MiB)");
	bi->setup_sects = img[BZ_SETUP_HDR] ? img[BZ_SETUP_HDR] : 4;
	bi->pm_offset = (uint64_t)(bi->setup_sects + 1) * 512;
	if (bi->pm_offset >= len)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD,
				  "the bzImage is truncated: its setup code claims %llu of %zu bytes",
				  (unsigned long long)bi->pm_offset, len);
	bi->pm_size = len - bi->pm_offset;
	uint64_t hdr_end = 0x202 + (uint64_t)img[0x201];
	if (hdr_end < BZ_HDR_MIN_END)
		hdr_end = BZ_HDR_MIN_END;
	if (hdr_end > BZ_HDR_MAX_END)
		hdr_end = BZ_HDR_MAX_END;
	if (hdr_end > len)
		return carve_fail(err, E75_GUEST_KERNEL_LOAD,
				  "the bzImage is truncated inside its setup header");
	bi->hdr_len = hdr_end - BZ_SETUP_HDR;
	bi->initrd_addr_max = le32(img + BZ_INITRD_ADDR_MAX);
	bi->kernel_alignment = le32(img + BZ_KERNEL_ALIGNMENT);
	bi->relocatable = img[BZ_RELOCATABLE] != 0;
	bi->cmdline_size = le32(img + BZ_CMDLINE_SIZE);
	bi->pref_address = le64(img + BZ_PREF_ADDRESS);
	bi->init_size = le32(img + BZ_INIT_SIZE);
	if (bi->kernel_alignment == 0 || (bi->kernel_alignment & (bi->kernel_alignment - 1)))
		bi->kernel_alignment = 2 * 1024 * 1024; /* not a power of two: use 2 MiB */
	return 0;
}

int bzimage_load(const struct guest_mem *gm, const uint8_t *img, size_t len, uint64_t avoid_lo,
		 uint64_t avoid_hi, struct boot_plan *plan, struct carve_err *err)
{
	struct bzimage_info bi;
	if (bzimage_parse(img, len, &bi, err) < 0)
		return -1;
	/* The kernel decompresses in place and needs init_size bytes from its
	 * load address. */
	uint64_t need = bi.init_size > bi.pm_size ? bi.init_size : bi.pm_size;
	uint64_t load = LAYOUT_HIMEM;
	if (avoid_hi > avoid_lo && load < avoid_hi && avoid_lo < load + need) {
		if (!bi.relocatable)
			return carve_fail(err, E34_MEMORY_OVERFLOW,
					  "the kernel is not relocatable and its memory at 1 MiB overlaps "
					  "the image at 0x%llx",
					  (unsigned long long)avoid_lo);
		load = (avoid_hi + bi.kernel_alignment - 1) & ~((uint64_t)bi.kernel_alignment - 1);
	}
	uint64_t low_end = gm_low_end(gm);
	if (load > low_end || need > low_end - load)
		return carve_fail(err, E34_MEMORY_OVERFLOW,
				  "the kernel needs %llu MiB from 0x%llx but guest RAM ends at %llu MiB; "
				  "give the VM more memory",
				  (unsigned long long)((need + VMM_MIB - 1) / VMM_MIB),
				  (unsigned long long)load, (unsigned long long)(low_end / VMM_MIB));
	if (gm_write(gm, load, img + bi.pm_offset, bi.pm_size) < 0)
		return carve_fail(err, E34_MEMORY_OVERFLOW, "the kernel does not fit in guest memory");
	memset(plan->zero_page, 0, sizeof(plan->zero_page));
	memcpy(plan->zero_page + BZ_SETUP_HDR, img + BZ_SETUP_HDR, bi.hdr_len);
	/* code32_start tells the kernel where it was loaded. */
	for (int i = 0; i < 4; i++)
		plan->zero_page[0x214 + i] = (uint8_t)(load >> (8 * i));
	plan->entry = load + ENTRY_64;
	plan->kernel_start = load;
	plan->kernel_end = load + need;
	plan->initrd_max = bi.initrd_addr_max;
	plan->cmdline_max = bi.cmdline_size;
	return 0;
}
