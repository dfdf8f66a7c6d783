/* A few AML encodings, enough for the DSDT (ACPI 6.5 §20 "ACPI Machine
 * Language Specification"; resource descriptors §6.4):
 *
 *   Name(\_S5, Package(4){5, 0, 0, 0})        poweroff's SLP_TYP
 *   Scope(\_SB) {
 *     Device(COM1) { _HID EISAID("PNP0501"), _UID 0,
 *                    _CRS { IO(Decode16, 0x3f8, 0x3f8, 1, 8), IRQNoFlags {4} } }
 *     Device(KBD_) { _HID EISAID("PNP0303"),                the i8042 and its keyboard
 *                    _CRS { IO(Decode16, 0x60, 0x60, 1, 1), IO(Decode16, 0x64, 0x64, 1, 1),
 *                           IRQNoFlags {1} } }
 *     Device(Vnnn) { _HID "LNRO0005", _UID n, _CCA 1,       one per virtio-mmio slot
 *                    _CRS { Memory32Fixed(ReadWrite, base, size),
 *                           Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {gsi} } }
 *   }
 *
 * Edge-triggered virtio interrupts let devices use irqfd without a resample
 * fd (Firecracker's ACPI tables). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/vmm_internal.h"

#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_STRING 0x0d
#define AML_QWORD 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT 0x5b
#define AML_DEVICE 0x82
#define AML_ROOT '\\'

static void put(struct aml *a, const void *p, size_t n)
{
	if (a->oom)
		return;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		while (cap < a->len + n)
			cap *= 2;
		uint8_t *b = realloc(a->buf, cap);
		if (!b) {
			a->oom = true;
			return;
		}
		a->buf = b;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void byte(struct aml *a, uint8_t b) { put(a, &b, 1); }

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

/* PkgLength counts itself: 1 byte up to 63, else 2-4 bytes (low nibble in
 * the lead byte, then whole bytes). */
static void pkg(struct aml *a, uint8_t op_or_0, bool ext, const struct aml *body)
{
	if (ext)
		byte(a, AML_EXT);
	if (op_or_0)
		byte(a, op_or_0);
	size_t n = body->len;
	if (n + 1 <= 0x3f) {
		byte(a, (uint8_t)(n + 1));
	} else {
		int extra = n + 2 <= 0xfff ? 1 : n + 3 <= 0xfffff ? 2 : 3;
		size_t total = n + 1 + (size_t)extra;
		byte(a, (uint8_t)((extra << 6) | (total & 0xf)));
		for (int i = 0; i < extra; i++)
			byte(a, (uint8_t)(total >> (4 + 8 * i)));
	}
	put(a, body->buf, body->len);
	if (body->oom)
		a->oom = true;
}

static void integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		byte(a, AML_ZERO);
	} else if (v == 1) {
		byte(a, AML_ONE);
	} else if (v <= 0xff) {
		byte(a, AML_BYTE);
		byte(a, (uint8_t)v);
	} else {
		int n = v <= 0xffff ? 2 : v <= 0xffffffffull ? 4 : 8;
		byte(a, n == 2 ? AML_WORD : n == 4 ? AML_DWORD : AML_QWORD);
		for (int i = 0; i < n; i++)
			byte(a, (uint8_t)(v >> (8 * i)));
	}
}

static void name_int(struct aml *a, const char seg[4], uint64_t v)
{
	byte(a, AML_NAME);
	put(a, seg, 4);
	integer(a, v);
}

static void name_string(struct aml *a, const char seg[4], const char *s)
{
	byte(a, AML_NAME);
	put(a, seg, 4);
	byte(a, AML_STRING);
	put(a, s, strlen(s) + 1);
}

/* EISAID("PNP0501"): three 5-bit letters and four hex digits, stored as a
 * big-endian 32-bit value. */
static uint32_t eisaid(const char *id)
{
	uint32_t v = (uint32_t)(id[0] - 0x40) << 26 | (uint32_t)(id[1] - 0x40) << 21 |
		(uint32_t)(id[2] - 0x40) << 16;
	v |= (uint32_t)strtoul(id + 3, NULL, 16);
	return __builtin_bswap32(v);
}

static void le32(struct aml *a, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		byte(a, (uint8_t)(v >> (8 * i)));
}

/* Name(_CRS, ResourceTemplate(){...}) around raw descriptor bytes. */
static void name_crs(struct aml *a, const struct aml *desc)
{
	struct aml buf = {0};
	integer(&buf, desc->len + 2);
	put(&buf, desc->buf, desc->len);
	byte(&buf, 0x79); /* End Tag */
	byte(&buf, 0x00); /* checksum 0: "treat as valid" */
	byte(a, AML_NAME);
	put(a, "_CRS", 4);
	pkg(a, AML_BUFFER, false, &buf);
	aml_free(&buf);
}

static void device(struct aml *a, const char seg[4], const struct aml *body)
{
	struct aml d = {0};
	put(&d, seg, 4);
	put(&d, body->buf, body->len);
	if (body->oom)
		d.oom = true;
	pkg(a, AML_DEVICE, true, &d);
	aml_free(&d);
}

/* Device(SEG) { _HID EISAID(hid), [_UID uid,] _CRS { resources } }: a legacy
 * ISA device; uid < 0 leaves out _UID. */
static void isa_device(struct aml *sb, const char seg[4], const char *hid, int uid, const uint8_t *res,
		       size_t res_len)
{
	struct aml body = {0}, crs = {0};
	byte(&body, AML_NAME);
	put(&body, "_HID", 4);
	byte(&body, AML_DWORD);
	le32(&body, eisaid(hid));
	if (uid >= 0)
		name_int(&body, "_UID", (uint64_t)uid);
	put(&crs, res, res_len);
	name_crs(&body, &crs);
	device(sb, seg, &body);
	aml_free(&body);
	aml_free(&crs);
}

static void com1(struct aml *sb)
{
	const uint8_t res[] = {0x47, 0x01,           0xf8, 0x03,
			       0xf8, 0x03,           0x01, 0x08, /* IO 0x3f8, 8 ports */
			       0x22, 1u << COM1_GSI, 0x00};      /* IRQNoFlags {4} */
	isa_device(sb, "COM1", "PNP0501", 0, res, sizeof(res));
}

/* On a hardware-reduced ACPI machine Linux has no legacy IRQs: GSI 1 gets
 * a Linux IRQ only through a device whose _CRS names it, and Linux's i8042
 * driver finds it here through PNP (with i8042.nopnp it asks for IRQ 1,
 * which does not exist, and fails with -EINVAL). The keyboard is how the
 * host asks a Linux guest to shut down (Ctrl-Alt-Del, i8042.c). */
static void keyboard(struct aml *sb)
{
	const uint8_t res[] = {0x47, 0x01,
			       0x60, 0x00,
			       0x60, 0x00,
			       0x01, 0x01, /* IO 0x60 */
			       0x47, 0x01,
			       0x64, 0x00,
			       0x64, 0x00,
			       0x01, 0x01, /* IO 0x64 */
			       0x22, 1u << KEYBOARD_GSI,
			       0x00}; /* IRQNoFlags {1} */
	isa_device(sb, "KBD_", "PNP0303", -1, res, sizeof(res));
}

/* The sub-page lock device (selflock.c): a _HID of carve's own, its ports
 * as one IO resource, as a Linux platform driver would match and claim it. */
static void selflock(struct aml *sb)
{
	struct aml body = {0}, crs = {0};
	name_string(&body, "_HID", VMM_SELFLOCK_HID);
	name_int(&body, "_UID", 0);
	const uint8_t io[] = {0x47,
			      0x01, /* IO, 16-bit decode */
			      (uint8_t)VMM_SELFLOCK_PORT,
			      (uint8_t)(VMM_SELFLOCK_PORT >> 8),
			      (uint8_t)VMM_SELFLOCK_PORT,
			      (uint8_t)(VMM_SELFLOCK_PORT >> 8),
			      0x04, /* alignment */
			      (uint8_t)VMM_SELFLOCK_PORTS};
	put(&crs, io, sizeof(io));
	name_crs(&body, &crs);
	device(sb, "SPLK", &body);
	aml_free(&body);
	aml_free(&crs);
}

static void virtio_slot(struct aml *sb, int idx, const struct vmm_mmio_slot *s)
{
	struct aml body = {0}, crs = {0};
	name_string(&body, "_HID", "LNRO0005");
	name_int(&body, "_UID", (uint64_t)idx);
	name_int(&body, "_CCA", 1);                         /* DMA is cache-coherent */
	const uint8_t mem_hdr[] = {0x86, 0x09, 0x00, 0x01}; /* Memory32Fixed, read-write */
	put(&crs, mem_hdr, sizeof(mem_hdr));
	le32(&crs, (uint32_t)s->base);
	le32(&crs, s->size);
	/* Extended Interrupt: consumer | edge, active-high, exclusive; one GSI. */
	const uint8_t irq_hdr[] = {0x89, 0x06, 0x00, 0x03, 0x01};
	put(&crs, irq_hdr, sizeof(irq_hdr));
	le32(&crs, s->gsi);
	name_crs(&body, &crs);
	char seg[5];
	snprintf(seg, sizeof(seg), "V%03X", (unsigned)idx & 0xfff);
	device(sb, seg, &body);
	aml_free(&body);
	aml_free(&crs);
}

int aml_dsdt_body(struct aml *a, const struct vmm_mmio_slot *slots, int nslots)
{
	/* Name(\_S5, Package(4){S5, 0, 0, 0}) */
	struct aml s5 = {0};
	byte(&s5, 4);
	integer(&s5, ACPI_S5_TYPE);
	integer(&s5, 0);
	integer(&s5, 0);
	integer(&s5, 0);
	byte(a, AML_NAME);
	byte(a, AML_ROOT);
	put(a, "_S5_", 4);
	pkg(a, AML_PACKAGE, false, &s5);
	aml_free(&s5);

	struct aml sb = {0};
	byte(&sb, AML_ROOT);
	put(&sb, "_SB_", 4);
	com1(&sb);
	keyboard(&sb);
	selflock(&sb);
	for (int i = 0; i < nslots; i++)
		virtio_slot(&sb, i, &slots[i]);
	pkg(a, AML_SCOPE, false, &sb);
	aml_free(&sb);
	return a->oom ? -1 : 0;
}
