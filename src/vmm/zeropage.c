/* The zero page (struct boot_params, Linux Documentation/arch/x86/
 * zero-page.rst) and the e820 memory map in it; the command line and initrd
 * placed in guest memory.
 *
 * e820: [0, 0x9fc00) RAM; [0x9fc00, 1 MiB) reserved (EBDA, ACPI tables, the
 * RSDP at 0xe0000 where a kernel scanning for it looks); [1 MiB, end of low
 * RAM) RAM; RAM above 4 GiB when the VM has more than 3 GiB. */
#include <string.h>

#include "vmm/vmm_internal.h"

#define ZP_ACPI_RSDP_ADDR 0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_BOOT_FLAG 0x1fe
#define ZP_HEADER 0x202
#define ZP_TYPE_OF_LOADER 0x210
#define ZP_RAMDISK_IMAGE 0x218
#define ZP_RAMDISK_SIZE 0x21c
#define ZP_CMD_LINE_PTR 0x228
#define ZP_CMDLINE_SIZE 0x238
#define ZP_E820_TABLE 0x2d0
#define ZP_E820_ENTRY_SIZE 20

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

int e820_build(const struct guest_mem *gm, struct e820_entry *out, int max)
{
	int n = 0;
	struct e820_entry all[3 + GM_MAX_REGIONS];
	all[n++] = (struct e820_entry){0, LAYOUT_EBDA, E820_RAM};
	all[n++] = (struct e820_entry){LAYOUT_EBDA, LAYOUT_HIMEM - LAYOUT_EBDA, E820_RESERVED};
	for (int i = 0; i < gm->nregions; i++) {
		uint64_t start = gm->regions[i].gpa, end = start + gm->regions[i].size;
		if (start < LAYOUT_HIMEM)
			start = LAYOUT_HIMEM;
		if (end > start)
			all[n++] = (struct e820_entry){start, end - start, E820_RAM};
	}
	if (n > max)
		n = max;
	memcpy(out, all, (size_t)n * sizeof(*out));
	return n;
}

static bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 < b1 && b0 < a1; }

/* The highest page-aligned place for len bytes that ends at or below `top`,
 * clears the kernel and avoids [avoid_lo, avoid_hi); 0 if none. */
static uint64_t place_initrd(uint64_t top, uint64_t len, uint64_t kernel_end, uint64_t avoid_lo,
			     uint64_t avoid_hi)
{
	if (len > top)
		return 0;
	uint64_t addr = (top - len) & ~0xfffull;
	if (avoid_hi > avoid_lo && overlaps(addr, addr + len, avoid_lo, avoid_hi)) {
		if (len > avoid_lo)
			return 0;
		addr = (avoid_lo - len) & ~0xfffull;
	}
	return addr >= kernel_end ? addr : 0;
}

int zeropage_setup(const struct guest_mem *gm, struct boot_plan *plan, const char *cmdline,
		   const uint8_t *initrd, size_t initrd_len, uint64_t avoid_lo, uint64_t avoid_hi,
		   struct carve_err *err)
{
	uint8_t *zp = plan->zero_page;
	zp[ZP_TYPE_OF_LOADER] = 0xff; /* "undefined" loader */
	zp[ZP_BOOT_FLAG] = 0x55;
	zp[ZP_BOOT_FLAG + 1] = 0xaa;
	memcpy(zp + ZP_HEADER, "HdrS", 4);

	size_t clen = strlen(cmdline);
	uint64_t cmax = plan->cmdline_max;
	if (cmax > LAYOUT_CMDLINE_MAX - 1)
		cmax = LAYOUT_CMDLINE_MAX - 1;
	if (clen > cmax)
		return carve_fail(err, E34_MEMORY_OVERFLOW,
				  "the kernel command line is %zu bytes; this kernel accepts at most %llu",
				  clen, (unsigned long long)cmax);
	if (gm_write(gm, LAYOUT_CMDLINE, cmdline, clen + 1) < 0)
		return carve_fail(err, E34_MEMORY_OVERFLOW, "cannot write the command line");
	put32(zp + ZP_CMD_LINE_PTR, (uint32_t)LAYOUT_CMDLINE);
	put32(zp + ZP_EXT_CMD_LINE_PTR, 0);
	if (zp[0x206] == 0 && zp[0x207] == 0) /* no setup header (ELF): say how long */
		put32(zp + ZP_CMDLINE_SIZE, (uint32_t)(clen + 1));

	if (initrd && initrd_len) {
		uint64_t top = gm_low_end(gm);
		if ((uint64_t)plan->initrd_max + 1 < top)
			top = (uint64_t)plan->initrd_max + 1;
		uint64_t addr = place_initrd(top, initrd_len, plan->kernel_end, avoid_lo, avoid_hi);
		if (!addr || gm_write(gm, addr, initrd, initrd_len) < 0)
			return carve_fail(err, E34_MEMORY_OVERFLOW,
					  "the %zu-byte initrd does not fit between the kernel (ends 0x%llx) "
					  "and 0x%llx; give the VM more memory",
					  initrd_len, (unsigned long long)plan->kernel_end,
					  (unsigned long long)top);
		put32(zp + ZP_RAMDISK_IMAGE, (uint32_t)addr);
		put32(zp + ZP_RAMDISK_SIZE, (uint32_t)initrd_len);
		put32(zp + ZP_EXT_RAMDISK_IMAGE, (uint32_t)(addr >> 32));
		put32(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)initrd_len >> 32));
	}

	put64(zp + ZP_ACPI_RSDP_ADDR, LAYOUT_ACPI);

	struct e820_entry map[E820_MAX];
	int n = e820_build(gm, map, E820_MAX);
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + i * ZP_E820_ENTRY_SIZE;
		put64(e, map[i].addr);
		put64(e + 8, map[i].size);
		put32(e + 16, map[i].type);
	}
	if (gm_write(gm, LAYOUT_ZERO_PAGE, zp, sizeof(plan->zero_page)) < 0)
		return carve_fail(err, E34_MEMORY_OVERFLOW, "cannot write the zero page");
	return 0;
}
