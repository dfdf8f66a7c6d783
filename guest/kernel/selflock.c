/* The kernel locks itself (docs/vmm.md § The guest's lock device): once
 * booted, it asks the VMM's lock device to make its text and read-only data
 * (the system-call table is const: there too), its IDT and its GDT
 * read-only for good, then seals, which measures the locked map into an
 * NSM PCR. From then on a write to them, by a bug or by an attacker who
 * has a write primitive and cleared CR0.WP, never reaches memory: the VMM
 * refuses it (or stops the enclave, by its policy) and logs where.
 *
 * What the CPU itself writes must not be in a locked page: segment
 * descriptors get their accessed bit set on first load, and LTR sets the
 * TSS descriptor's busy bit. So the GDT and the IDT are copied to pages of
 * their own (the originals share pages with data the kernel writes): the
 * copy's code and data descriptors have the accessed bit already set, the
 * TSS descriptor is busy already (LTR ran at boot), and LGDT/LIDT switch
 * to the copies. The TSS itself is not locked (RSP0 changes with every
 * task switch). Every gate is set before (devices_init; idt_set_irq_gate
 * refuses one after), and CPUs started after it load the copy (idt_load).
 * Only the boot CPU's GDT is locked: each AP's GDT and TSS are its own
 * (gdt.c), written by its LTR, and stay writable. */
#include "cpu.h"
#include "errno.h"
#include "proc.h"
#include "selflock.h"

/* The device's registers (carve/vmm.h's SELFLOCK_REG_*). */
#define REG_ID 0x00
#define REG_GRANULE 0x08
#define REG_STATUS 0x0c
#define REG_ADDR_LO 0x10
#define REG_ADDR_HI 0x14
#define REG_LEN_LO 0x18
#define REG_LEN_HI 0x1c
#define REG_COMMAND 0x20
#define REG_PCR 0x28
#define LOCK_ID 0x4b4c5053u /* "SPLK" */
#define CMD_LOCK 1
#define CMD_SEAL 2
#define DEV_KEY "carve_selflock.device="

extern char __kernel_start[], __locked_end[], __kernel_end[];

/* The tables' copies: one page each, nothing else in them, right after
 * rodata (kernel.ld's .locked), so one range locks everything: one
 * remap of guest memory, one read-only memory slot. Written here before
 * the lock (the kernel maps its image writable). */
static uint8_t idt_copy[4096] __attribute__((aligned(4096), section(".locked.idt")));
static uint8_t gdt_copy[4096] __attribute__((aligned(4096), section(".locked.gdt")));

static bool test_write_enabled;
static uint16_t port_base;

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* A word of the command line: "key" alone, or "key=value" (value back). */
static bool word(const char *cmdline, const char *key, const char **value)
{
	size_t k = strlen(key);
	for (const char *s = cmdline; *s;) {
		while (*s == ' ')
			s++;
		const char *w = s;
		while (*s && *s != ' ')
			s++;
		if ((size_t)(s - w) >= k && !strncmp(w, key, k) && (w + k == s || w[k] == '=')) {
			if (value)
				*value = w[k] == '=' ? w + k + 1 : NULL;
			return true;
		}
	}
	return false;
}

static uint64_t hex_or_dec(const char **p)
{
	const char *s = *p;
	uint64_t v = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (s += 2;; s++) {
			unsigned d;
			if (*s >= '0' && *s <= '9')
				d = (unsigned)(*s - '0');
			else if (*s >= 'a' && *s <= 'f')
				d = (unsigned)(*s - 'a' + 10);
			else if (*s >= 'A' && *s <= 'F')
				d = (unsigned)(*s - 'A' + 10);
			else
				break;
			v = v * 16 + d;
		}
	} else {
		for (; *s >= '0' && *s <= '9'; s++)
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	return v;
}

/* "carve_selflock.device=SIZE@PORT": the ports, if the device answers. */
static bool find_device(const char *cmdline)
{
	const char *v;
	if (!word(cmdline, "carve_selflock.device", &v) || !v)
		return false;
	uint64_t size = hex_or_dec(&v);
	if (*v++ != '@')
		return false;
	uint64_t base = hex_or_dec(&v);
	if ((*v && *v != ' ') || size < 0x30 || base + size > 0x10000)
		return false;
	port_base = (uint16_t)base;
	return inl(port_base + REG_ID) == LOCK_ID;
}

static uint32_t command(uint32_t cmd, uint64_t pa, uint64_t len)
{
	outl(port_base + REG_ADDR_LO, (uint32_t)pa);
	outl(port_base + REG_ADDR_HI, (uint32_t)(pa >> 32));
	outl(port_base + REG_LEN_LO, (uint32_t)len);
	outl(port_base + REG_LEN_HI, (uint32_t)(len >> 32));
	outl(port_base + REG_COMMAND, cmd);
	return inl(port_base + REG_STATUS);
}

struct __attribute__((packed)) table_ptr {
	uint16_t limit;
	uint64_t base;
};

/* The GDT and IDT move to their own pages (see the top). */
static void move_tables(void)
{
	struct table_ptr g, i;
	__asm__ volatile("sgdt %0" : "=m"(g));
	__asm__ volatile("sidt %0" : "=m"(i));
	if ((size_t)g.limit + 1 > sizeof(gdt_copy) || (size_t)i.limit + 1 > sizeof(idt_copy))
		panic("selflock: descriptor tables larger than a page");
	memcpy(gdt_copy, (const void *)g.base, (size_t)g.limit + 1);
	memcpy(idt_copy, (const void *)i.base, (size_t)i.limit + 1);
	/* Code and data descriptors (S, bit 44) accessed (bit 40) already,
	 * so no segment load has the CPU write the locked page. */
	for (size_t k = 0; k + 8 <= (size_t)g.limit + 1; k += 8) {
		uint64_t d;
		memcpy(&d, gdt_copy + k, 8);
		if (d & 1ull << 44)
			d |= 1ull << 40;
		memcpy(gdt_copy + k, &d, 8);
	}
	struct table_ptr ng = {g.limit, (uint64_t)gdt_copy}, ni = {i.limit, (uint64_t)idt_copy};
	__asm__ volatile("lgdt %0" : : "m"(ng));
	__asm__ volatile("lidt %0" : : "m"(ni));
	idt_moved(idt_copy); /* what CPUs started later load (smp.c) */
}

static bool lock(const char *what, uint64_t pa, uint64_t len)
{
	uint32_t st = command(CMD_LOCK, pa, len);
	if (st != 0)
		kprintf("carve: selflock: locking the %s (0x%lx+0x%lx) failed: status %u\n", what, pa, len,
			st);
	else
		kdebug("selflock: %s 0x%lx+0x%lx read-only\n", what, pa, len);
	return st == 0;
}

void selflock_boot(const char *cmdline)
{
	test_write_enabled = word(cmdline, "carve.test_write_primitive", NULL);
	const char *v;
	if (word(cmdline, "carve.selflock", &v) && v && v[0] == '0' && (v[1] == 0 || v[1] == ' ')) {
		kdebug("selflock: off (carve.selflock=0)\n");
		return;
	}
	if (!find_device(cmdline)) {
		kdebug("selflock: no lock device: the kernel stays writable\n");
		return;
	}
	uint32_t granule = inl(port_base + REG_GRANULE);
	if (granule == 0 || granule > PAGE_SIZE || (granule & (granule - 1)))
		panic("selflock: the lock device gives a granule of %u bytes", granule);
	move_tables();
	uint64_t start = virt_to_phys(__kernel_start), end = virt_to_phys(__locked_end);
	if (virt_to_phys(idt_copy) < start || virt_to_phys(gdt_copy) + sizeof(gdt_copy) > end)
		panic("selflock: the table copies are outside the locked range (kernel.ld)");
	bool ok = lock("text, read-only data, IDT and GDT", start, end - start);
	/* Sealed even after a failure: what is locked stays measured, and a
	 * verifier sees the digest is not the full kernel's. */
	uint32_t st = command(CMD_SEAL, 0, 0);
	uint32_t pcr = inl(port_base + REG_PCR);
	if (st != 0)
		kprintf("carve: selflock: sealing failed: status %u\n", st);
	else
		kdebug("selflock: %s, sealed (PCR %d)\n", ok ? "kernel locked" : "kernel partly locked",
		       pcr == 0xffffffffu ? -1 : (int)pcr);
}

int64_t selflock_test_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	if (nr != SYS_CARVE_TEST_WRITE || !test_write_enabled)
		return -ENOSYS;
	uint64_t kaddr = a0, src = a1, len = a2, out = a3;
	uint8_t buf[64];
	if (len == 0 || len > sizeof(buf) || kaddr < (uint64_t)__kernel_start ||
	    kaddr + len > (uint64_t)__kernel_end || kaddr + len < kaddr)
		return -EINVAL;
	if (src && copy_from_user(buf, src, len) < 0)
		return -EFAULT;
	if (src) {
		/* What an exploit does: CR0.WP off, so no page-table protection
		 * stands in the way; only the VMM's can. */
		uint64_t cr0;
		__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
		__asm__ volatile("mov %0, %%cr0" : : "r"(cr0 & ~(1ull << 16)));
		memcpy((void *)kaddr, buf, len);
		__asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
	}
	if (out) {
		memcpy(buf, (const void *)kaddr, len);
		if (copy_to_user(out, buf, len) < 0)
			return -EFAULT;
	}
	return 0;
}
