/* Boot structures: e820, the zero page, bzImage header parsing and loading,
 * ELF checks. Kernels are crafted buffers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gm_fixture.h"
#include "vmm/vmm_internal.h"

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}

static void e820_layouts(void **state)
{
	(void)state;
	struct e820_entry e[E820_MAX];
	int n = e820_build(&gm, e, E820_MAX);
	assert_int_equal(n, 3);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[1].addr, 0x9fc00);
	assert_int_equal(e[1].addr + e[1].size, 0x100000);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, 0x100000);
	assert_int_equal(e[2].addr + e[2].size, 64 * VMM_MIB);
	assert_int_equal(e[2].type, E820_RAM);

	struct guest_mem big;
	struct carve_err err = {0};
	assert_int_equal(gm_layout(&big, 6ull << 30, &err), 0);
	n = e820_build(&big, e, E820_MAX);
	assert_int_equal(n, 4);
	assert_int_equal(e[2].addr + e[2].size, 3ull << 30); /* stops at the MMIO hole */
	assert_int_equal(e[3].addr, 4ull << 30);
	assert_int_equal(e[3].size, 3ull << 30);
	/* The ACPI tables lie in a reserved range. */
	assert_true(LAYOUT_ACPI >= e[1].addr && LAYOUT_ACPI_END <= e[1].addr + e[1].size);
}

/* A bzImage with a 2.15 header and a 64 KiB protected-mode part. */
static uint8_t *make_bz(size_t *len, uint16_t version, uint32_t init_size)
{
	*len = 5 * 512 + 65536;
	uint8_t *b = calloc(1, *len);
	b[0x1f1] = 4;
	wr16(b + 0x1fe, 0xaa55);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(b + 0x202, "HdrS", 4);
	wr16(b + 0x206, version);
	b[0x211] = 0x01;
	wr32(b + 0x22c, 0x7fffffff);
	wr32(b + 0x230, 0x200000);
	b[0x234] = 1;
	wr16(b + 0x236, 0x3);
	wr32(b + 0x238, 2047);
	wr32(b + 0x260, init_size);
	for (size_t i = 5 * 512; i < *len; i++)
		b[i] = (uint8_t)i;
	return b;
}

static void bz_parse_good(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = make_bz(&len, 0x020f, 0x400000);
	struct bzimage_info bi;
	struct carve_err err = {0};
	assert_int_equal(bzimage_parse(b, len, &bi, &err), 0);
	assert_int_equal(bi.version, 0x020f);
	assert_int_equal(bi.setup_sects, 4);
	assert_int_equal(bi.pm_offset, 5 * 512);
	assert_int_equal(bi.pm_size, 65536);
	assert_int_equal(bi.cmdline_size, 2047);
	assert_int_equal(bi.initrd_addr_max, 0x7fffffff);
	assert_int_equal(bi.init_size, 0x400000);
	assert_int_equal(bi.hdr_len, 0x26c - 0x1f1);
	assert_true(bi.relocatable);
	b[0x1f1] = 0; /* 0 means 4 */
	assert_int_equal(bzimage_parse(b, len, &bi, &err), 0);
	assert_int_equal(bi.setup_sects, 4);
	free(b);
}

static void expect_parse_error(uint8_t *b, size_t len, const char *needle)
{
	struct bzimage_info bi;
	struct carve_err err = {0};
	assert_int_equal(bzimage_parse(b, len, &bi, &err), -1);
	assert_int_equal(err.code, E75_GUEST_KERNEL_LOAD);
	if (!strstr(err.msg, needle))
		fail_msg("error '%s' lacks '%s'", err.msg, needle);
}

static void bz_parse_bad(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = make_bz(&len, 0x020b, 0);
	expect_parse_error(b, len, "boot protocol 2.11");
	wr16(b + 0x206, 0x020c);
	expect_parse_error(b, 0x200, "too short");
	b[0x1f1] = 200; /* setup larger than the file */
	expect_parse_error(b, len, "truncated");
	b[0x1f1] = 4;
	wr16(b + 0x236, 0); /* no 64-bit entry */
	expect_parse_error(b, len, "XLF_KERNEL_64");
	wr16(b + 0x236, 1);
	b[0x211] = 0;
	expect_parse_error(b, len, "zImage");
	b[0x211] = 1;
	memcpy(b + 0x202, "HdrX", 4);
	expect_parse_error(b, len, "HdrS");
	free(b);
}

static void bz_load_and_zero_page(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = make_bz(&len, 0x020f, 0x400000);
	wr32(b + 0x22c, 0x01ffffff); /* initrd must end below 32 MiB */
	struct boot_plan plan;
	struct carve_err err = {0};
	assert_int_equal(bzimage_load(&gm, b, len, 0, 0, &plan, &err), 0);
	assert_int_equal(plan.entry, 0x100200);
	assert_int_equal(plan.kernel_start, 0x100000);
	assert_int_equal(plan.kernel_end, 0x500000);
	assert_memory_equal(gm_ptr(&gm, 0x100000, 65536), b + 5 * 512, 65536);
	uint8_t initrd[10000];
	memset(initrd, 0x5a, sizeof(initrd));
	assert_int_equal(zeropage_setup(&gm, &plan, "console=ttyS0", initrd, sizeof(initrd), 0, 0, &err), 0);
	const uint8_t *zp = gm_ptr(&gm, LAYOUT_ZERO_PAGE, 4096);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x206], 0x0f);        /* setup header copied */
	assert_int_equal(rd32(zp + 0x238), 2047); /* kernel's own cmdline_size kept */
	assert_int_equal(zp[0x210], 0xff);        /* type_of_loader */
	assert_int_equal(rd32(zp + 0x228), LAYOUT_CMDLINE);
	assert_string_equal((const char *)gm_ptr(&gm, LAYOUT_CMDLINE, 14), "console=ttyS0");
	uint32_t ia = rd32(zp + 0x218);
	assert_int_equal(rd32(zp + 0x21c), sizeof(initrd));
	assert_int_equal(ia % 4096, 0);
	assert_true(ia + sizeof(initrd) <= 0x2000000);
	assert_true(ia >= plan.kernel_end);
	assert_memory_equal(gm_ptr(&gm, ia, sizeof(initrd)), initrd, sizeof(initrd));
	assert_int_equal(rd64(zp + 0x70), LAYOUT_ACPI);
	assert_int_equal(zp[0x1e8], 3);
	assert_int_equal(rd64(zp + 0x2d0 + 2 * 20), 0x100000);
	assert_int_equal(rd32(zp + 0x2d0 + 2 * 20 + 16), E820_RAM);
	free(b);
}

static void bz_too_big_for_memory(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = make_bz(&len, 0x020f, 100u << 20);
	struct boot_plan plan;
	struct carve_err err = {0};
	assert_int_equal(bzimage_load(&gm, b, len, 0, 0, &plan, &err), -1);
	assert_int_equal(err.code, E34_MEMORY_OVERFLOW);
	assert_non_null(strstr(err.msg, "more memory"));
	free(b);
}

static void bz_relocated_past_image(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = make_bz(&len, 0x020f, 20u << 20);
	struct boot_plan plan;
	struct carve_err err = {0};
	/* An image at 8-13 MiB (the EIF's place) pushes the kernel to 14 MiB. */
	assert_int_equal(bzimage_load(&gm, b, len, 8u << 20, 13u << 20, &plan, &err), 0);
	assert_int_equal(plan.kernel_start, 14u << 20);
	assert_int_equal(plan.entry, (14u << 20) + 0x200);
	b[0x234] = 0; /* not relocatable: refused */
	carve_err_clear(&err);
	assert_int_equal(bzimage_load(&gm, b, len, 8u << 20, 13u << 20, &plan, &err), -1);
	assert_int_equal(err.code, E34_MEMORY_OVERFLOW);
	free(b);
}

static void cmdline_limits(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = make_bz(&len, 0x020f, 0x400000);
	wr32(b + 0x238, 10);
	struct boot_plan plan;
	struct carve_err err = {0};
	assert_int_equal(bzimage_load(&gm, b, len, 0, 0, &plan, &err), 0);
	assert_int_equal(zeropage_setup(&gm, &plan, "0123456789", NULL, 0, 0, 0, &err), 0);
	assert_int_equal(zeropage_setup(&gm, &plan, "0123456789a", NULL, 0, 0, 0, &err), -1);
	assert_int_equal(err.code, E34_MEMORY_OVERFLOW);
	free(b);
}

static void initrd_too_big(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = make_bz(&len, 0x020f, 0x400000);
	struct boot_plan plan;
	struct carve_err err = {0};
	assert_int_equal(bzimage_load(&gm, b, len, 0, 0, &plan, &err), 0);
	size_t big = 62u << 20;
	uint8_t *initrd = calloc(1, big);
	assert_int_equal(zeropage_setup(&gm, &plan, "", initrd, big, 0, 0, &err), -1);
	assert_int_equal(err.code, E34_MEMORY_OVERFLOW);
	free(initrd);
	free(b);
}

/* A minimal ELF64 executable with one PT_LOAD at `paddr`. */
static uint8_t *make_elf(size_t *len, uint64_t paddr, uint64_t filesz, uint64_t memsz)
{
	*len = 4096 + filesz;
	uint8_t *b = calloc(1, *len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_entry = paddr;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 1;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + sizeof(*eh));
	ph->p_type = PT_LOAD;
	ph->p_offset = 4096;
	ph->p_paddr = ph->p_vaddr = paddr;
	ph->p_filesz = filesz;
	ph->p_memsz = memsz;
	memset(b + 4096, 0xcc, filesz);
	return b;
}

static void elf_good_and_bad(void **state)
{
	(void)state;
	size_t len;
	struct boot_plan plan;
	struct carve_err err = {0};
	uint8_t *b = make_elf(&len, 0x200000, 100, 8192);
	assert_true(elf_is_elf(b, len));
	memset(gm_ptr(&gm, 0x200000, 8192), 0xee, 8192);
	assert_int_equal(elf_load(&gm, b, len, &plan, &err), 0);
	assert_int_equal(plan.entry, 0x200000);
	assert_int_equal(plan.kernel_end, 0x200000 + 8192);
	assert_int_equal(*(uint8_t *)gm_ptr(&gm, 0x200000 + 99, 1), 0xcc);
	assert_int_equal(*(uint8_t *)gm_ptr(&gm, 0x200000 + 100, 1), 0); /* bss zeroed */

	assert_int_equal(elf_load(&gm, b, 40, &plan, &err), -1); /* truncated header */
	assert_int_equal(err.code, E75_GUEST_KERNEL_LOAD);
	carve_err_clear(&err);
	assert_int_equal(elf_load(&gm, b, 4096 + 50, &plan, &err), -1); /* segment cut off */
	assert_non_null(strstr(err.msg, "truncated"));
	carve_err_clear(&err);
	((Elf64_Ehdr *)b)->e_phnum = 200; /* program headers past the end */
	assert_int_equal(elf_load(&gm, b, len, &plan, &err), -1);
	assert_int_equal(err.code, E75_GUEST_KERNEL_LOAD);
	free(b);

	b = make_elf(&len, 0x8000, 16, 16); /* over the VMM's boot structures */
	carve_err_clear(&err);
	assert_int_equal(elf_load(&gm, b, len, &plan, &err), -1);
	assert_int_equal(err.code, E34_MEMORY_OVERFLOW);
	free(b);
	b = make_elf(&len, 60u << 20, 16, 8u << 20); /* past the end of RAM */
	carve_err_clear(&err);
	assert_int_equal(elf_load(&gm, b, len, &plan, &err), -1);
	assert_int_equal(err.code, E34_MEMORY_OVERFLOW);
	free(b);
	b = make_elf(&len, 0x200000, 16, UINT64_MAX - 0x100000); /* size wraps */
	carve_err_clear(&err);
	assert_int_equal(elf_load(&gm, b, len, &plan, &err), -1);
	free(b);
	b = make_elf(&len, 0x200000, 16, 16);
	((Elf64_Ehdr *)b)->e_machine = EM_AARCH64;
	carve_err_clear(&err);
	assert_int_equal(elf_load(&gm, b, len, &plan, &err), -1);
	assert_non_null(strstr(err.msg, "x86-64"));
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(e820_layouts),          cmocka_unit_test(bz_parse_good),
		cmocka_unit_test(bz_parse_bad),          cmocka_unit_test(bz_load_and_zero_page),
		cmocka_unit_test(bz_too_big_for_memory), cmocka_unit_test(bz_relocated_past_image),
		cmocka_unit_test(cmdline_limits),        cmocka_unit_test(initrd_too_big),
		cmocka_unit_test(elf_good_and_bad),
	};
	return cmocka_run_group_tests(tests, gm_fixture_setup, gm_fixture_teardown);
}
