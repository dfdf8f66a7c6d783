/* carve's test guest: a freestanding ELF64 kernel that reports what the VMM
 * gave it over COM1 and then stops the way its command line asks.
 *
 * Command-line words: "smp" (start the other CPUs with INIT/SIPI through the
 * LAPIC, as Linux does), "pvmsr" (probe paravirtual MSRs under an IDT),
 * "chaos" (odd port and MMIO accesses), "echo" (echo one line of serial input), "eif" (report the EIF at 8 MiB), "cpuid" (print feature leaves), "vfault"
 * (misprogram the first virtio-mmio device), "subpage" (write to
 * protected and allowed sub-pages, below), "subbench=N" (time N writes
 * each to a protected page and an ordinary one), "dirty" (write one byte of
 * every 4 KiB page of RAM from 16 MiB to 1 GiB, what the boot page tables
 * map: the VMM then counts the host faults that cost; with "smp" every CPU
 * writes a share at the same time, timed in TSC cycles:
 * bench/fault_parallel.sh; with "zerocheck" it first counts the pages whose
 * byte was not zero: a VMM that reused memory without zeroing it shows; a
 * read before the write, so not for timing first touch),
 * "stop=poweroff|acpi-reset|i8042|
 * triple|crash|hang" (default poweroff).
 *
 * Guest kernel code is emulated on PVM hosts (about 1 us an instruction), so
 * every loop here is short. */
#include <stddef.h>
#include <stdint.h>

#define COM1 0x3f8
#define TRAMP_BASE 0x10000u
#define LAPIC_BASE 0xfee00000ull

extern char tramp_start[], tramp_end[], tramp_cr3[];
extern void gp_stub(void);
volatile uint64_t gp_count;
volatile uint32_t ap_stack_idx;
static volatile uint32_t ap_running;
static volatile uint32_t print_lock;
static volatile int ap_probe_pv; /* APs repeat the gated PV MSR probe */
static volatile int ap_subpage;  /* APs write protected sub-pages ("subpage") */
static volatile uint32_t ap_subpage_done;
static void ap_subpage_writes(uint32_t id);

void guest_main(const uint8_t *zp);
void ap_main(void);

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}
void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

static void lock(void)
{
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
}
static void unlock(void) { __atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE); }

static void putc_(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}
static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}
static void hex(uint64_t v, int digits)
{
	puts_("0x");
	for (int i = digits - 1; i >= 0; i--)
		putc_("0123456789abcdef"[(v >> (4 * i)) & 0xf]);
}
static void dec(uint64_t v)
{
	char b[24];
	int n = 0;
	do {
		b[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		putc_(b[--n]);
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int has_word(const char *s, const char *w)
{
	for (; *s; s++) {
		const char *a = s, *b = w;
		while (*b && *a == *b) {
			a++;
			b++;
		}
		if (!*b && (*a == ' ' || *a == 0) && (s == w || 1))
			return 1;
		while (*s && *s != ' ')
			s++;
		if (!*s)
			break;
	}
	return 0;
}
/* The value of "key=" in the command line, copied into out. */
static int get_opt(const char *s, const char *key, char *out, int cap)
{
	int kl = 0;
	while (key[kl])
		kl++;
	for (const char *p = s; *p;) {
		int i = 0;
		while (i < kl && p[i] == key[i])
			i++;
		if (i == kl && p[i] == '=') {
			p += kl + 1;
			int n = 0;
			while (*p && *p != ' ' && n < cap - 1)
				out[n++] = *p++;
			out[n] = 0;
			return 1;
		}
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	return 0;
}
static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static uint8_t sum8(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static volatile uint32_t *lapic(uint32_t reg) { return (volatile uint32_t *)(LAPIC_BASE + reg); }

static uint32_t ioapic_addr;
static uint32_t lapic_ids[16];
static int nlapics;

static void report_acpi(uint64_t rsdp_addr)
{
	const uint8_t *r = (const uint8_t *)rsdp_addr;
	if (rsdp_addr == 0 || rd64(r) != 0x2052545020445352ull /* "RSD PTR " */ || sum8(r, 20) || r[15] < 2 ||
	    sum8(r, 36)) {
		puts_("acpi: bad rsdp\n");
		return;
	}
	const uint8_t *x = (const uint8_t *)rd64(r + 24);
	puts_("acpi: rsdp ok xsdt=");
	hex((uint64_t)x, 8);
	puts_("\n");
	uint32_t xl = rd32(x + 4);
	if (rd32(x) != 0x54445358u || sum8(x, xl)) {
		puts_("acpi: bad xsdt\n");
		return;
	}
	for (uint32_t off = 36; off + 8 <= xl; off += 8) {
		const uint8_t *t = (const uint8_t *)rd64(x + off);
		uint32_t len = rd32(t + 4);
		puts_("acpi: table ");
		for (int i = 0; i < 4; i++)
			putc_((char)t[i]);
		puts_(sum8(t, len) ? " bad-checksum\n" : " ok\n");
		if (rd32(t) == 0x50434146u) { /* FACP: follow X_DSDT */
			const uint8_t *d = (const uint8_t *)rd64(t + 140);
			puts_("acpi: table ");
			for (int i = 0; i < 4; i++)
				putc_((char)d[i]);
			puts_(sum8(d, rd32(d + 4)) ? " bad-checksum\n" : " ok\n");
			puts_("acpi: fadt flags=");
			hex(rd32(t + 112), 8);
			puts_("\n");
		}
		if (rd32(t) == 0x43495041u) { /* APIC */
			for (uint32_t o = 44; o + 2 <= len && t[o + 1]; o += t[o + 1]) {
				if (t[o] == 0 && nlapics < 16 && (rd32(t + o + 4) & 1))
					lapic_ids[nlapics++] = t[o + 3];
				if (t[o] == 1)
					ioapic_addr = rd32(t + o + 4);
			}
			puts_("acpi: madt lapics=");
			dec((uint64_t)nlapics);
			puts_(" ioapic=");
			hex(ioapic_addr, 8);
			puts_("\n");
		}
	}
}

static void ap_probe(uint32_t id);
static void ap_dirty(void);
static volatile int dirty_armed; /* "dirty smp": APs wait for dirty_go */

void ap_main(void)
{
	uint32_t id = *lapic(0x20) >> 24;
	lock();
	puts_("smp: cpu ");
	dec(id);
	puts_(" up\n");
	unlock();
	if (ap_probe_pv)
		ap_probe(id);
	if (ap_subpage)
		ap_subpage_writes(id);
	__atomic_fetch_add(&ap_running, 1, __ATOMIC_SEQ_CST);
	if (dirty_armed)
		ap_dirty();
}

static void icr(uint32_t dest, uint32_t low)
{
	*lapic(0x310) = dest << 24;
	*lapic(0x300) = low;
	for (int i = 0; i < 1000 && (*lapic(0x300) & (1u << 12)); i++)
		__asm__ volatile("pause");
}

static void start_aps(void)
{
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	uint8_t *t = (uint8_t *)(uintptr_t)TRAMP_BASE;
	memcpy(t, tramp_start, (size_t)(tramp_end - tramp_start));
	*(uint32_t *)(t + (tramp_cr3 - tramp_start)) = (uint32_t)cr3;
	*lapic(0xf0) = 0x1ff; /* software-enable the LAPIC, spurious vector 0xff */
	uint32_t self = *lapic(0x20) >> 24;
	int want = 0;
	for (int i = 0; i < nlapics; i++) {
		if (lapic_ids[i] == self)
			continue;
		want++;
		icr(lapic_ids[i], 0x0000c500);                      /* INIT, level assert */
		icr(lapic_ids[i], 0x00008500);                      /* INIT, level de-assert */
		icr(lapic_ids[i], 0x00000600 | (TRAMP_BASE >> 12)); /* STARTUP */
		icr(lapic_ids[i], 0x00000600 | (TRAMP_BASE >> 12));
	}
	for (long i = 0; i < 3000000 && (int)ap_running < want; i++)
		__asm__ volatile("pause");
	lock();
	puts_("smp: ");
	dec(ap_running + 1u);
	puts_(" cpus running\n");
	unlock();
}

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static struct __attribute__((packed)) {
	uint16_t lim;
	uint64_t base;
} idtr;
static uint8_t idt[16 * 14] __attribute__((aligned(16)));

static void install_gp_handler(void)
{
	uint64_t h = (uint64_t)(uintptr_t)gp_stub;
	uint8_t *e = idt + 16 * 13;
	e[0] = (uint8_t)h;
	e[1] = (uint8_t)(h >> 8);
	e[2] = 0x08;
	e[3] = 0;
	e[4] = 0;
	e[5] = 0x8e; /* present interrupt gate, DPL 0 */
	e[6] = (uint8_t)(h >> 16);
	e[7] = (uint8_t)(h >> 24);
	e[8] = (uint8_t)(h >> 32);
	e[9] = (uint8_t)(h >> 40);
	e[10] = (uint8_t)(h >> 48);
	e[11] = (uint8_t)(h >> 56);
	idtr.lim = sizeof(idt) - 1;
	idtr.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

static void probe_msr(uint32_t msr)
{
	uint64_t before = gp_count;
	__asm__ volatile("wrmsr" : : "c"(msr), "a"(0), "d"(0) : "memory");
	puts_("pvmsr: ");
	hex(msr, 8);
	puts_(gp_count != before ? " gp=1\n" : " gp=0\n");
}

/* On an AP: the same IDT, and MSR_KVM_ASYNC_PF_EN must fault here too
 * (KVM_CAP_ENFORCE_PV_FEATURE_CPUID is per vCPU). */
static void ap_probe(uint32_t id)
{
	__asm__ volatile("lidt %0" : : "m"(idtr));
	uint64_t before = gp_count;
	__asm__ volatile("wrmsr" : : "c"(0x4b564d02u), "a"(0), "d"(0) : "memory");
	lock();
	puts_("pvmsr: cpu ");
	dec(id);
	puts_(gp_count != before ? " 0x4b564d02 gp=1\n" : " 0x4b564d02 gp=0\n");
	unlock();
}

static void pv_probe(void)
{
	uint32_t a, b, c, d;
	cpuid(0x40000000, &a, &b, &c, &d);
	if (b != 0x4b4d564bu) { /* "KVMK" */
		puts_("pv: no kvm leaves\n");
		return;
	}
	cpuid(0x40000001, &a, &b, &c, &d);
	puts_("pv: features=");
	hex(a, 8);
	puts_("\n");
	install_gp_handler();
	probe_msr(0x4b564d02); /* MSR_KVM_ASYNC_PF_EN: not in carve's allow-list */
	probe_msr(0x4b564d03); /* MSR_KVM_STEAL_TIME: not allowed */
	probe_msr(0x4b564d01); /* MSR_KVM_SYSTEM_TIME_NEW: allowed (kvmclock) */
}

static void cpuid_report(void)
{
	uint32_t a, b, c, d;
	cpuid(1, &a, &b, &c, &d);
	puts_("cpuid: 1.ecx=");
	hex(c, 8);
	puts_(" 1.edx=");
	hex(d, 8);
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
	puts_(" 7.ebx=");
	hex(b, 8);
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xb), "c"(1));
	puts_(" b.1.ebx=");
	hex(b, 8);
	puts_(" b.1.edx=");
	hex(d, 8);
	cpuid(1, &a, &b, &c, &d);
	puts_(" 1.ebx=");
	hex(b, 8);
	puts_("\n");
}

/* Hardware that is not there, odd access widths, string I/O and writes to
 * unmapped physical memory: the VMM must shrug all of it off. */
static void chaos(void)
{
	static const char msg[] = "chaos: rep outsb ok\n";
	const char *p = msg;
	uint64_t n = sizeof(msg) - 1;
	__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"((uint16_t)COM1) : "memory");
	uint8_t buf[64];
	uint8_t *q = buf;
	n = sizeof(buf);
	__asm__ volatile("rep insb" : "+D"(q), "+c"(n) : "d"((uint16_t)0x1234) : "memory");
	uint32_t sum = 0;
	for (unsigned i = 0; i < sizeof(buf); i++)
		sum += buf[i];
	puts_(sum == 0xff * sizeof(buf) ? "chaos: absent port reads all ones\n"
					: "chaos: absent port read garbage\n");
	uint32_t l;
	__asm__ volatile("inl %1, %0" : "=a"(l) : "Nd"((uint16_t)(COM1 + 4)));
	(void)l;
	__asm__ volatile("outl %0, %1" : : "a"(0x00000000u), "Nd"((uint16_t)(COM1 + 4)));
	__asm__ volatile("outw %0, %1" : : "a"((uint16_t)0x0a0a), "Nd"((uint16_t)0x3fe));
	outb(0x64, 0xaa); /* i8042 self-test: not a reset */
	outb(0x64, 0xff);
	outb(0x600, 0x20 | (3 << 2)); /* sleep to S3: not offered, ignored */
	outb(0x602, 0x01);            /* wrong reset value: ignored */
	outb(0x80, 0x55);             /* POST code port */
	for (uint16_t port = 0x3f8; port < 0x400; port++)
		(void)inb(port);
	for (uint64_t a = 0xc0000000ull; a < 0x100000000ull; a += 0x10000000ull) {
		if (a == 0xf0000000ull)
			continue; /* IOAPIC/LAPIC live here */
		*(volatile uint32_t *)a = 0xdeadbeef;
		(void)*(volatile uint64_t *)(a + 8);
	}
	puts_("chaos: done\n");
}

static void echo_line(void)
{
	char buf[80];
	int n = 0;
	puts_("echo: ready\n");
	for (long spins = 0; spins < 2000000 && n < 79; spins++) {
		if (!(inb(COM1 + 5) & 1))
			continue;
		char ch = (char)inb(COM1);
		if (ch == '\n')
			break;
		buf[n++] = ch;
	}
	buf[n] = 0;
	puts_("echo: ");
	puts_(buf);
	puts_("\n");
}

/* A driver bug the device must survive: queue 0 of the first virtio-mmio
 * device (from "virtio_mmio.device=4K@0x...:gsi", which the VMM appends for
 * an ELF kernel booted from an EIF) made ready with 3 entries, not a power
 * of two. The device must refuse the queue and ask for a reset (the VMM
 * logs a device fault), and a reset must bring it back. */
static uint8_t vfault_rings[3 * 4096] __attribute__((aligned(4096)));

static volatile uint32_t *vreg(uint64_t base, uint32_t off) { return (volatile uint32_t *)(base + off); }

/* Writes one byte of every 4 KiB page of the e820 RAM between 16 MiB (above
 * this guest, its stack and the boot structures) and 1 GiB, and reports how
 * many pages it wrote. With APs armed (dirty_armed before start_aps) every
 * CPU takes a contiguous share of those pages at once, the BSP share 0;
 * the BSP reports the TSC cycles from the start signal until the last CPU
 * finished. */
static uint64_t rdtsc(void);
static const uint8_t *dirty_zp;
static volatile uint32_t dirty_go, dirty_next_share, dirty_done;
static volatile uint32_t dirty_cpus = 1;
static volatile uint64_t dirty_ap_pages; /* what the APs wrote */
static volatile uint64_t dirty_not_zero; /* pages whose byte was not 0 before the write */
static volatile int dirty_zerocheck;     /* "zerocheck": count them */

/* Writes share `k` of `n` of the pages; returns how many it wrote. */
static uint64_t dirty_share(uint32_t k, uint32_t n)
{
	const uint64_t lo = 16ull << 20, hi = 1ull << 30;
	uint64_t total = 0, pages = 0;
	uint8_t count = dirty_zp[0x1e8];
	for (int pass = 0; pass < 2; pass++) {
		/* Pass 0 counts the pages, pass 1 writes share k of them. */
		uint64_t index = 0, first = total * k / n, end = total * (k + 1) / n;
		for (int i = 0; i < count && i < 128; i++) {
			const uint8_t *e = dirty_zp + 0x2d0 + 20 * i;
			uint64_t start = rd64(e), stop_at = start + rd64(e + 8);
			if (rd32(e + 16) != 1)
				continue;
			start = start < lo ? lo : start;
			stop_at = stop_at > hi ? hi : stop_at;
			for (uint64_t a = (start + 4095) & ~4095ull; a + 4096 <= stop_at;
			     a += 4096, index++) {
				if (pass == 1 && index >= first && index < end) {
					if (dirty_zerocheck && *(volatile uint8_t *)(uintptr_t)a)
						__atomic_fetch_add(&dirty_not_zero, 1, __ATOMIC_RELAXED);
					*(volatile uint8_t *)(uintptr_t)a = 0xd1;
					pages++;
				}
			}
		}
		total = index;
	}
	return pages;
}

static void ap_dirty(void)
{
	uint32_t k = __atomic_add_fetch(&dirty_next_share, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&dirty_go, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	__atomic_fetch_add(&dirty_ap_pages, dirty_share(k, dirty_cpus), __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&dirty_done, 1, __ATOMIC_SEQ_CST);
}

static void dirty(const uint8_t *zp)
{
	dirty_zp = zp;
	uint32_t aps = dirty_armed ? ap_running : 0;
	dirty_cpus = aps + 1;
	/* Every AP has its share number before the start. */
	while (__atomic_load_n(&dirty_next_share, __ATOMIC_ACQUIRE) < aps)
		__asm__ volatile("pause");
	uint64_t t0 = rdtsc();
	__atomic_store_n(&dirty_go, 1, __ATOMIC_RELEASE);
	uint64_t pages = dirty_share(0, dirty_cpus);
	while (__atomic_load_n(&dirty_done, __ATOMIC_ACQUIRE) < aps)
		__asm__ volatile("pause");
	uint64_t cycles = rdtsc() - t0;
	pages += __atomic_load_n(&dirty_ap_pages, __ATOMIC_ACQUIRE);
	puts_("guest: dirtied pages=");
	dec(pages);
	puts_("\n");
	if (dirty_zerocheck) {
		puts_("guest: pages not zero before the write=");
		dec(__atomic_load_n(&dirty_not_zero, __ATOMIC_ACQUIRE));
		puts_("\n");
	}
	puts_("guest: dirty cpus=");
	dec(dirty_cpus);
	puts_(" cycles=");
	dec(cycles);
	puts_("\n");
}

static void vfault(const char *cmdline)
{
	char dev[48];
	uint64_t base = 0;
	if (get_opt(cmdline, "virtio_mmio.device", dev, sizeof(dev))) {
		const char *p = dev;
		while (*p && *p != '@')
			p++;
		if (p[0] == '@' && p[1] == '0' && p[2] == 'x')
			for (p += 3; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++)
				base = base << 4 | (uint64_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
	}
	if (!base || *vreg(base, 0x000) != 0x74726976u) {
		puts_("vfault: no virtio-mmio device\n");
		return;
	}
	puts_("vfault: device id ");
	dec(*vreg(base, 0x008));
	puts_("\n");
	*vreg(base, 0x070) = 0;     /* Status: reset */
	*vreg(base, 0x070) = 1 | 2; /* ACKNOWLEDGE | DRIVER */
	*vreg(base, 0x030) = 0;     /* QueueSel */
	*vreg(base, 0x038) = 3;     /* QueueNum: not a power of two */
	uint64_t r = (uint64_t)(uintptr_t)vfault_rings;
	*vreg(base, 0x080) = (uint32_t)r; /* QueueDesc */
	*vreg(base, 0x084) = (uint32_t)(r >> 32);
	*vreg(base, 0x090) = (uint32_t)(r + 4096); /* QueueDriver */
	*vreg(base, 0x094) = (uint32_t)((r + 4096) >> 32);
	*vreg(base, 0x0a0) = (uint32_t)(r + 8192); /* QueueDevice */
	*vreg(base, 0x0a4) = (uint32_t)((r + 8192) >> 32);
	*vreg(base, 0x044) = 1; /* QueueReady */
	*vreg(base, 0x050) = 0; /* QueueNotify: for a queue that is not live */
	puts_("vfault: queue ready=");
	dec(*vreg(base, 0x044));
	puts_(" status=");
	hex(*vreg(base, 0x070), 2);
	puts_("\n");
	*vreg(base, 0x070) = 0; /* a reset clears NEEDS_RESET */
	puts_("vfault: after reset status=");
	hex(*vreg(base, 0x070), 2);
	puts_("\n");
}

/* Sub-page write protection (issue 18). The test protects, with carve vmm
 * --protect, sub-pages 1 and 3 of page P (SP_PAGE), all of page P+1 but its
 * sub-pages 0 and 31, and all of page P+2; the guest then writes into
 * allowed and protected sub-pages with every access size, across a
 * sub-page and a page boundary, runs code it wrote into P, and reads a
 * protected sub-page; each check prints "subpage: NAME ok" or "... BAD".
 * With "smp" each AP writes an allowed and a protected sub-page too. */
#define SP_PAGE 0x2000000ull
static void sp_store(uint64_t a, uint64_t v, int size)
{
	switch (size) {
	case 1: *(volatile uint8_t *)a = (uint8_t)v; break;
	case 2: *(volatile uint16_t *)a = (uint16_t)v; break;
	case 4: *(volatile uint32_t *)a = (uint32_t)v; break;
	default: *(volatile uint64_t *)a = v; break;
	}
}

static uint64_t sp_load(uint64_t a, int size)
{
	switch (size) {
	case 1: return *(volatile uint8_t *)a;
	case 2: return *(volatile uint16_t *)a;
	case 4: return *(volatile uint32_t *)a;
	default: return *(volatile uint64_t *)a;
	}
}

static void sp_check(const char *name, int size, uint64_t got, uint64_t want)
{
	lock();
	puts_("subpage: ");
	puts_(name);
	if (size) {
		puts_(" size=");
		dec((uint64_t)size);
	}
	if (got == want) {
		puts_(" ok\n");
	} else {
		puts_(" BAD got=");
		hex(got, 16);
		puts_(" want=");
		hex(want, 16);
		puts_("\n");
	}
	unlock();
}

static uint64_t sp_mask(int size) { return size == 8 ? ~0ull : (1ull << (8 * size)) - 1; }

/* On an AP: one allowed write (sub-page 8) and one refused (sub-page 3). */
static void ap_subpage_writes(uint32_t id)
{
	uint64_t v = 0xa0a0a0a000000000ull | id;
	sp_store(SP_PAGE + 0x400 + 8 * id, v, 8);
	sp_store(SP_PAGE + 0x180 + 8 * id, v, 8);
	__atomic_fetch_add(&ap_subpage_done, 1, __ATOMIC_SEQ_CST);
}

static void subpage(void)
{
	const uint64_t p = SP_PAGE;
	for (int size = 1; size <= 8; size *= 2) {
		uint64_t v = 0x8877665544332211ull & sp_mask(size);
		sp_store(p + 8 * size, v, size); /* sub-page 0: allowed */
		sp_check("allowed", size, sp_load(p + 8 * size, size), v);
	}
	for (int size = 1; size <= 8; size *= 2) {
		sp_store(p + 0x80 + 8 * size, 0x1122334455667788ull, size); /* sub-page 1 */
		sp_check("protected", size, sp_load(p + 0x80 + 8 * size, size), 0);
	}
	/* Unaligned 8 bytes over the boundary of sub-pages 4 and 5 (both
	 * allowed), then over 0 and 1 (1 protected: refused whole). */
	sp_store(p + 0x27c, 0x0102030405060708ull, 8);
	sp_check("cross-subpage-allowed", 0, sp_load(p + 0x27c, 8), 0x0102030405060708ull);
	sp_store(p + 0x7c, 0x0102030405060708ull, 8);
	sp_check("cross-subpage-protected", 0, sp_load(p + 0x7c, 8), 0);
	/* Over the boundary of P and P+1: sub-page 31 and sub-page 0, both
	 * allowed; then of P+1 (sub-page 31 allowed) and P+2 (protected). */
	sp_store(p + 0xffc, 0x1112131415161718ull, 8);
	sp_check("cross-page-allowed", 0, sp_load(p + 0xffc, 8), 0x1112131415161718ull);
	sp_store(p + 0x1ffc, 0x2122232425262728ull, 8); /* refused whole */
	sp_check("cross-page-protected", 0, sp_load(p + 0x1ffc, 8), 0);
	/* Reads of a protected sub-page and instruction fetches from a page
	 * mapped read-only are not affected: code written into sub-page 6
	 * ("mov eax, 0x5a; ret") runs. */
	sp_check("read-protected", 0, sp_load(p + 0x180, 8), 0);
	sp_store(p + 0x300, 0x0000c30000005ab8ull, 8);
	uint32_t r = ((uint32_t(*)(void))(uintptr_t)(p + 0x300))();
	sp_check("fetch", 0, r, 0x5a);
	/* A 16-byte SSE store (KVM hands it over in two 8-byte pieces) into
	 * sub-page 4, then over sub-pages 2 and 3: applied, refused whole. */
	uint64_t cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1u << 9) | (1u << 10))); /* OSFXSR, OSXMMEXCPT */
	static const uint64_t sse_src[2]
		__attribute__((aligned(16))) = {0x3132333435363738ull, 0x4142434445464748ull};
	/* movdqu (%rsi), %xmm0; movdqu %xmm0, (%rdi): encoded, this file is
	 * built without SSE */
	__asm__ volatile(".byte 0xf3, 0x0f, 0x6f, 0x06; .byte 0xf3, 0x0f, 0x7f, 0x07"
			 :
			 : "S"(sse_src), "D"(p + 0x200)
			 : "memory");
	sp_check("sse16-allowed", 0, sp_load(p + 0x200, 8) ^ sp_load(p + 0x208, 8), sse_src[0] ^ sse_src[1]);
	__asm__ volatile(".byte 0xf3, 0x0f, 0x6f, 0x06; .byte 0xf3, 0x0f, 0x7f, 0x07"
			 :
			 : "S"(sse_src), "D"(p + 0x178)
			 : "memory");
	sp_check("sse16-protected", 0, sp_load(p + 0x178, 8) | sp_load(p + 0x180, 8), 0);
	if (ap_subpage) {
		for (long i = 0; i < 3000000 && ap_subpage_done < ap_running; i++)
			__asm__ volatile("pause");
		for (uint32_t id = 1; id <= ap_running; id++) {
			sp_check("ap-allowed", 0, sp_load(p + 0x400 + 8 * id, 8), 0xa0a0a0a000000000ull | id);
			sp_check("ap-protected", 0, sp_load(p + 0x180 + 8 * id, 8), 0);
		}
	}
	puts_("subpage: done\n");
}

/* "subbench=N" (bench/subpage.sh): N 4-byte writes to sub-page 0 of page
 * P, to sub-page 1 of P, and to a page 64 KiB above P, each loop timed with
 * the TSC. The bench protects P's sub-page 1 or nothing, so it sees a
 * permitted write to a read-only-mapped page (an exit each), a refused one,
 * and an ordinary write, beside the same loops with no protection. */
static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* The best of 5 rounds of n writes: the host is shared, and the first
 * touch of a page costs a fault. */
static void subbench_loop(const char *name, uint64_t addr, uint64_t n)
{
	uint64_t best = ~0ull;
	for (int round = 0; round < 5; round++) {
		uint64_t t0 = rdtsc();
		for (uint64_t i = 0; i < n; i++)
			*(volatile uint32_t *)addr = (uint32_t)i;
		uint64_t t = rdtsc() - t0;
		best = t < best ? t : best;
	}
	puts_("subbench: ");
	puts_(name);
	puts_(" writes=");
	dec(n);
	puts_(" cycles=");
	dec(best);
	puts_("\n");
}

static void subbench(const char *cmdline)
{
	char v[24];
	uint64_t n = 0;
	if (get_opt(cmdline, "subbench", v, sizeof(v)))
		for (const char *c = v; *c >= '0' && *c <= '9'; c++)
			n = n * 10 + (uint64_t)(*c - '0');
	subbench_loop("page-p-subpage-0", SP_PAGE + 0x10, n);
	subbench_loop("page-p-subpage-1", SP_PAGE + 0x90, n);
	subbench_loop("other-page", SP_PAGE + 0x10010, n);
}

static void stop(const char *how)
{
	puts_("guest: stopping via ");
	puts_(how);
	puts_("\n");
	if (streq(how, "i8042")) {
		while (inb(0x64) & 2)
			;
		outb(0x64, 0xfe);
	} else if (streq(how, "acpi-reset")) {
		outb(0x602, 0x0f);
	} else if (streq(how, "triple")) {
		idtr.lim = 0;
		idtr.base = 0;
		__asm__ volatile("lidt %0; ud2" : : "m"(idtr));
	} else if (streq(how, "crash")) {
		/* A VEX instruction at CPL0 with no IDT: KVM's emulator cannot run it
		 * (internal error); hardware raises #UD, which becomes a triple fault. */
		idtr.lim = 0;
		idtr.base = 0;
		__asm__ volatile("lidt %0; .byte 0xc5, 0xf8, 0x77" : : "m"(idtr));
	} else if (streq(how, "hang")) {
		for (;;)
			__asm__ volatile("cli; hlt");
	} else {
		outb(0x601, 0x01);
		outb(0x600, (5 << 2) | 0x20); /* SLP_TYP=5 (\_S5), SLP_EN */
	}
	puts_("guest: still running after stop request\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_main(const uint8_t *zp)
{
	puts_("guest: hello\n");
	if (!zp) { /* PVH entry (bench only): nothing more to report */
		puts_("guest: entered through PVH; halting\n");
		return;
	}
	uint8_t n = zp[0x1e8];
	puts_("zp: e820 entries=");
	dec(n);
	puts_("\n");
	for (int i = 0; i < n && i < 128; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;
		puts_("zp: e820 ");
		hex(rd64(e), 16);
		putc_(' ');
		hex(rd64(e + 8), 16);
		putc_(' ');
		dec(rd32(e + 16));
		puts_("\n");
	}
	puts_("zp: boot_protocol=");
	hex(rd16(zp + 0x206), 4);
	puts_(" loader=");
	hex(zp[0x210], 2);
	puts_(" cmdline_size=");
	dec(rd32(zp + 0x238));
	puts_("\n");
	uint64_t cl = rd32(zp + 0x228) | (uint64_t)rd32(zp + 0xc8) << 32;
	puts_("zp: cmdline_ptr=");
	hex(cl, 8);
	puts_("\ncmdline: ");
	const char *cmdline = cl ? (const char *)cl : "";
	puts_(cmdline);
	puts_("\n");
	uint64_t ia = rd32(zp + 0x218) | (uint64_t)rd32(zp + 0xc0) << 32;
	uint64_t is = rd32(zp + 0x21c) | (uint64_t)rd32(zp + 0xc4) << 32;
	uint32_t sum = 0;
	for (uint64_t i = 0; i < is; i++)
		sum += ((const uint8_t *)ia)[i];
	puts_("zp: initrd addr=");
	hex(ia, 8);
	puts_(" size=");
	dec(is);
	puts_(" sum=");
	dec(sum);
	puts_("\n");
	uint64_t rsdp = rd64(zp + 0x70);
	puts_("zp: rsdp=");
	hex(rsdp, 8);
	puts_("\n");
	report_acpi(rsdp);
	/* The PV probe first, so the APs can repeat it under the same IDT. */
	if (has_word(cmdline, "pvmsr")) {
		pv_probe();
		ap_probe_pv = 1;
	}
	if (has_word(cmdline, "subpage"))
		ap_subpage = 1;
	if (has_word(cmdline, "dirty") && has_word(cmdline, "smp"))
		dirty_armed = 1;
	dirty_zerocheck = has_word(cmdline, "zerocheck");
	if (has_word(cmdline, "smp"))
		start_aps();
	if (has_word(cmdline, "eif")) {
		/* The VMM places the whole EIF at 8 MiB, as Nitro does. */
		const uint8_t *e = (const uint8_t *)0x800000;
		puts_("eif: magic=");
		for (int i = 0; i < 4; i++)
			putc_(e[i] >= 0x20 && e[i] < 0x7f ? (char)e[i] : '?');
		puts_(" version=");
		dec((uint64_t)(e[4] << 8 | e[5]));
		puts_(" sections=");
		dec((uint64_t)(e[26] << 8 | e[27]));
		puts_("\n");
	}
	if (has_word(cmdline, "cpuid"))
		cpuid_report();
	if (has_word(cmdline, "chaos"))
		chaos();
	if (has_word(cmdline, "echo"))
		echo_line();
	if (has_word(cmdline, "vfault"))
		vfault(cmdline);
	if (has_word(cmdline, "dirty"))
		dirty(zp);
	if (has_word(cmdline, "subpage"))
		subpage();
	{
		char v[24];
		if (get_opt(cmdline, "subbench", v, sizeof(v)))
			subbench(cmdline);
	}
	char how[16] = "poweroff";
	get_opt(cmdline, "stop", how, sizeof(how));
	stop(how);
}
