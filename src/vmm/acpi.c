/* ACPI tables (ACPI 6.5; Firecracker's ACPI tables), built in guest
 * memory from LAYOUT_ACPI (0xe0000, inside the e820 reserved range):
 *
 *   RSDP (rev 2) -> XSDT -> FADT (rev 6.5, HW_REDUCED_ACPI, reset register,
 *                                 sleep control/status registers) -> DSDT
 *                        -> MADT (a LAPIC per vCPU, the IOAPIC)
 *
 * The Debian cloud kernel has no MP-table parser and no cmdline virtio-mmio
 * devices, so the MADT is how it finds CPUs and the DSDT how it finds devices. */
#include <string.h>

#include "vmm/vmm_internal.h"

#define OEM_ID "CARVE "
#define OEM_TABLE_ID "CARVEVMM"
#define CREATOR_ID "CRVE"
#define HDR_LEN 36

#define FADT_LEN 276
#define FADT_F_PWR_BUTTON (1u << 4)
#define FADT_F_SLP_BUTTON (1u << 5)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED (1u << 20)
#define IAPC_8042 (1u << 1) /* the keyboard controller, src/vmm/i8042.c */
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0 - sum);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}
static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put32(t + 24, 1);
	memcpy(t + 28, CREATOR_ID, 4);
	put32(t + 32, 1);
}

static void finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = acpi_checksum(t, len);
}

/* A Generic Address Structure for one byte in I/O space. */
static void gas_io8(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8; /* bit width */
	g[2] = 0; /* bit offset */
	g[3] = GAS_ACCESS_BYTE;
	put64(g + 4, port);
}

struct cursor {
	const struct guest_mem *gm;
	uint64_t next;
	struct acpi_tables *out;
};

/* Reserves len bytes (16-aligned) and records the table; NULL if full. */
static uint8_t *alloc_table(struct cursor *c, const char *name, uint32_t len, uint64_t *gpa)
{
	uint64_t at = (c->next + 15) & ~15ull;
	if (at + len > LAYOUT_ACPI_END || c->out->n >= ACPI_MAX_TABLES)
		return NULL;
	uint8_t *p = gm_ptr(c->gm, at, len);
	if (!p)
		return NULL;
	memset(p, 0, len);
	c->next = at + len;
	struct acpi_table_ref *r = &c->out->t[c->out->n++];
	memcpy(r->name, name, 4);
	r->name[4] = 0;
	r->gpa = at;
	r->len = len;
	*gpa = at;
	return p;
}

static int build_fadt(struct cursor *c, uint64_t dsdt, uint64_t *gpa)
{
	uint8_t *f = alloc_table(c, "FACP", FADT_LEN, gpa);
	if (!f)
		return -1;
	header(f, "FACP", FADT_LEN, 6);
	put32(f + 112, FADT_F_HW_REDUCED | FADT_F_RESET_REG_SUP | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON);
	put16(f + 109, IAPC_8042 | IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT);
	gas_io8(f + 116, PORT_ACPI_RESET);
	f[128] = ACPI_RESET_VALUE;
	f[131] = 5;           /* FADT minor version: ACPI 6.5 */
	put64(f + 140, dsdt); /* X_DSDT */
	gas_io8(f + 244, PORT_ACPI_SLEEP_CTL);
	gas_io8(f + 256, PORT_ACPI_SLEEP_STS);
	memcpy(f + 268, "CARVEKVM", 8); /* hypervisor vendor identity */
	finish(f, FADT_LEN);
	return 0;
}

static int build_madt(struct cursor *c, int ncpus, uint64_t *gpa)
{
	uint32_t len = HDR_LEN + 8 + 12 + 8 * (uint32_t)ncpus;
	uint8_t *m = alloc_table(c, "APIC", len, gpa);
	if (!m)
		return -1;
	header(m, "APIC", len, 5);
	put32(m + 36, (uint32_t)LAYOUT_LAPIC);
	put32(m + 40, 0); /* no PCAT_COMPAT: no 8259s for the OS to program */
	uint8_t *e = m + 44;
	for (int i = 0; i < ncpus; i++, e += 8) {
		e[0] = 0; /* Processor Local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC ID = vCPU index (cpuid.c) */
		put32(e + 4, 1);   /* enabled */
	}
	e[0] = 1; /* I/O APIC */
	e[1] = 12;
	e[2] = (uint8_t)ncpus; /* an ID no LAPIC uses */
	put32(e + 4, (uint32_t)LAYOUT_IOAPIC);
	put32(e + 8, 0); /* GSI base */
	finish(m, len);
	return 0;
}

static int build_dsdt(struct cursor *c, const struct vmm_mmio_slot *slots, int nslots, uint64_t *gpa)
{
	struct aml body = {0};
	if (aml_dsdt_body(&body, slots, nslots) < 0) {
		aml_free(&body);
		return -1;
	}
	uint32_t len = HDR_LEN + (uint32_t)body.len;
	uint8_t *d = alloc_table(c, "DSDT", len, gpa);
	if (!d) {
		aml_free(&body);
		return -1;
	}
	header(d, "DSDT", len, 2); /* revision 2: 64-bit integers */
	memcpy(d + HDR_LEN, body.buf, body.len);
	aml_free(&body);
	finish(d, len);
	return 0;
}

int acpi_build(const struct guest_mem *gm, int ncpus, const struct vmm_mmio_slot *slots, int nslots,
	       struct acpi_tables *out, struct carve_err *err)
{
	memset(out, 0, sizeof(*out));
	struct cursor c = {.gm = gm, .next = LAYOUT_ACPI, .out = out};
	uint64_t rsdp_gpa, xsdt_gpa, fadt_gpa, madt_gpa, dsdt_gpa;
	/* The RSDP goes first, at 0xe0000 itself: a kernel that ignores
	 * acpi_rsdp_addr finds it by scanning 0xe0000-0xfffff. */
	uint8_t *rsdp = alloc_table(&c, "RSDP", 36, &rsdp_gpa);
	uint32_t xsdt_len = HDR_LEN + 2 * 8;
	uint8_t *xsdt = alloc_table(&c, "XSDT", xsdt_len, &xsdt_gpa);
	if (!rsdp || !xsdt || build_dsdt(&c, slots, nslots, &dsdt_gpa) < 0 ||
	    build_fadt(&c, dsdt_gpa, &fadt_gpa) < 0 || build_madt(&c, ncpus, &madt_gpa) < 0)
		return carve_fail(err, E34_MEMORY_OVERFLOW,
				  "the ACPI tables for %d vCPUs and %d devices do not fit below 1 MiB", ncpus,
				  nslots);
	header(xsdt, "XSDT", xsdt_len, 1);
	put64(xsdt + 36, fadt_gpa);
	put64(xsdt + 44, madt_gpa);
	finish(xsdt, xsdt_len);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, OEM_ID, 6);
	rsdp[15] = 2;        /* revision: ACPI 2.0+, XSDT */
	put32(rsdp + 16, 0); /* no RSDT */
	put32(rsdp + 20, 36);
	put64(rsdp + 24, xsdt_gpa);
	rsdp[8] = acpi_checksum(rsdp, 20);
	rsdp[32] = acpi_checksum(rsdp, 36);
	return 0;
}

int mmio_slot_at(int i, struct vmm_mmio_slot *out)
{
	/* Inside the 32-bit hole, clear of the IOAPIC/LAPIC; GSIs after the
	 * ISA range's COM1 (4) and below the IOAPIC's 24 pins. */
	if (i < 0 || i >= VMM_MMIO_SLOTS)
		return -1;
	*out = (struct vmm_mmio_slot){
		.base = 0xd0000000ull + 0x1000ull * (uint64_t)i, .size = 0x1000, .gsi = 5u + (uint32_t)i};
	return 0;
}
