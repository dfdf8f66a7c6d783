/* ACPI tables: checksums, links between tables, MADT and DSDT contents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
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

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static const uint8_t *table(const struct acpi_tables *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->t[i].name, name))
			return gm_ptr(&gm, t->t[i].gpa, t->t[i].len);
	return NULL;
}

static size_t count(const uint8_t *p, size_t n, const char *needle)
{
	size_t k = strlen(needle), c = 0;
	for (size_t i = 0; i + k <= n; i++)
		c += memcmp(p + i, needle, k) == 0;
	return c;
}

/* The first n slots as the MMIO bus hands them out; -1 past the last. */
static int slots_of(int n, struct vmm_mmio_slot *out)
{
	for (int i = 0; i < n; i++)
		if (mmio_slot_at(i, &out[i]) < 0)
			return -1;
	return 0;
}

static void checksums_and_links(void **state)
{
	(void)state;
	struct vmm_mmio_slot slots[3];
	assert_int_equal(slots_of(3, slots), 0);
	struct acpi_tables t;
	struct carve_err err = {0};
	assert_int_equal(acpi_build(&gm, 4, slots, 3, &t, &err), 0);
	assert_int_equal(t.n, 5);
	const uint8_t *rsdp = table(&t, "RSDP");
	assert_non_null(rsdp);
	assert_int_equal(t.t[0].gpa, 0xe0000); /* scannable location */
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);
	for (int i = 1; i < t.n; i++) {
		const uint8_t *p = gm_ptr(&gm, t.t[i].gpa, t.t[i].len);
		assert_int_equal(rd32(p + 4), t.t[i].len);
		assert_int_equal(sum(p, t.t[i].len), 0);
		assert_memory_equal(p, t.t[i].name, 4);
		assert_true(t.t[i].gpa + t.t[i].len <= LAYOUT_ACPI_END);
	}
	const uint8_t *xsdt = gm_ptr(&gm, rd64(rsdp + 24), 52);
	assert_memory_equal(xsdt, "XSDT", 4);
	const uint8_t *fadt = gm_ptr(&gm, rd64(xsdt + 36), 276);
	const uint8_t *madt = gm_ptr(&gm, rd64(xsdt + 44), 36);
	assert_memory_equal(fadt, "FACP", 4);
	assert_memory_equal(madt, "APIC", 4);
	assert_memory_equal(gm_ptr(&gm, rd64(fadt + 140), 4), "DSDT", 4);
	assert_int_equal(rd32(fadt + 4), 276);
	assert_true(rd32(fadt + 112) & (1u << 20)); /* HW_REDUCED_ACPI */
	assert_true(rd32(fadt + 112) & (1u << 10)); /* RESET_REG_SUP */
	assert_int_equal(fadt[116], 1);             /* reset register in I/O space */
	assert_int_equal(rd64(fadt + 120), PORT_ACPI_RESET);
	assert_int_equal(fadt[128], ACPI_RESET_VALUE);
	assert_int_equal(rd64(fadt + 248), PORT_ACPI_SLEEP_CTL);
	assert_int_equal(rd64(fadt + 260), PORT_ACPI_SLEEP_STS);
}

static void madt_entries(void **state)
{
	(void)state;
	struct acpi_tables t;
	struct carve_err err = {0};
	assert_int_equal(acpi_build(&gm, 3, NULL, 0, &t, &err), 0);
	const uint8_t *m = table(&t, "APIC");
	uint32_t len = rd32(m + 4);
	int lapics = 0, ioapics = 0;
	for (uint32_t o = 44; o < len; o += m[o + 1]) {
		assert_true(m[o + 1] >= 2);
		if (m[o] == 0) {
			assert_int_equal(m[o + 3], lapics); /* APIC ID = vCPU index */
			assert_int_equal(rd32(m + o + 4), 1);
			lapics++;
		} else if (m[o] == 1) {
			assert_int_equal(rd32(m + o + 4), LAYOUT_IOAPIC);
			assert_int_equal(rd32(m + o + 8), 0);
			ioapics++;
		}
	}
	assert_int_equal(lapics, 3);
	assert_int_equal(ioapics, 1);
	assert_int_equal(rd32(m + 36), LAYOUT_LAPIC);
}

static void dsdt_devices(void **state)
{
	(void)state;
	struct vmm_mmio_slot slots[20];
	assert_int_equal(slots_of(19, slots), 0);
	assert_int_equal(slots_of(20, slots), -1); /* GSIs would pass 23 */
	struct acpi_tables t;
	struct carve_err err = {0};
	assert_int_equal(acpi_build(&gm, 2, slots, 19, &t, &err), 0);
	const uint8_t *d = table(&t, "DSDT");
	uint32_t len = rd32(d + 4);
	assert_int_equal(count(d, len, "LNRO0005"), 19);
	assert_int_equal(count(d, len, "_S5_"), 1);
	assert_int_equal(count(d, len, "COM1"), 1);
	assert_int_equal(count(d, len, "KBD_"), 1);
	/* Slot 18's Memory32Fixed: base 0xd0012000, length 0x1000. */
	const uint8_t mem[] = {0x86, 0x09, 0x00, 0x01, 0x00, 0x20, 0x01, 0xd0, 0x00, 0x10, 0x00, 0x00};
	int found = 0;
	for (uint32_t i = 0; i + sizeof(mem) <= len; i++)
		found += memcmp(d + i, mem, sizeof(mem)) == 0;
	assert_int_equal(found, 1);
	/* Its interrupt: GSI 23, edge, active-high, consumer. */
	const uint8_t irq[] = {0x89, 0x06, 0x00, 0x03, 0x01, 23, 0, 0, 0};
	found = 0;
	for (uint32_t i = 0; i + sizeof(irq) <= len; i++)
		found += memcmp(d + i, irq, sizeof(irq)) == 0;
	assert_int_equal(found, 1);
}

/* A Scope whose body is over 63 bytes needs a multi-byte PkgLength. */
static void aml_package_lengths(void **state)
{
	(void)state;
	struct vmm_mmio_slot slots[2];
	assert_int_equal(slots_of(2, slots), 0);
	struct aml a = {0};
	assert_int_equal(aml_dsdt_body(&a, slots, 2), 0);
	/* Scope(\_SB) follows the 13..14-byte \_S5 object; find ScopeOp. */
	size_t i = 0;
	while (i < a.len && a.buf[i] != 0x10)
		i++;
	assert_true(i < a.len);
	uint8_t lead = a.buf[i + 1];
	int extra = lead >> 6;
	assert_true(extra >= 1);
	size_t pl = lead & 0xf;
	for (int k = 0; k < extra; k++)
		pl |= (size_t)a.buf[i + 2 + k] << (4 + 8 * k);
	assert_int_equal(i + 1 + pl, a.len); /* the scope runs to the end exactly */
	aml_free(&a);
}

static void too_many_tables_rejected(void **state)
{
	(void)state;
	struct acpi_tables t;
	struct carve_err err = {0};
	/* 64 vCPUs is the VMM's limit and must fit. */
	assert_int_equal(acpi_build(&gm, VMM_MAX_VCPUS, NULL, 0, &t, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checksums_and_links),
		cmocka_unit_test(madt_entries),
		cmocka_unit_test(dsdt_devices),
		cmocka_unit_test(aml_package_lengths),
		cmocka_unit_test(too_many_tables_rejected),
	};
	return cmocka_run_group_tests(tests, gm_fixture_setup, gm_fixture_teardown);
}
