/* Segments: the flat kernel and user code/data descriptors SYSCALL needs
 * (STAR's layout fixes their order), and the TSS whose RSP0 is the stack
 * traps from user mode land on; IST1 is a separate stack for double faults.
 *
 * The selectors are Linux's own (kernel CS 0x10, DS 0x18, user CS32 0x23,
 * DS 0x2b, CS 0x33, TSS 0x40): PVM hosts refuse a STAR whose user selectors
 * differ from the host kernel's, and then SYSCALL does not reach CPL0. */
#include "cpu.h"

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

/* One GDT and TSS per CPU: the TSS's busy bit and RSP0 are each CPU's. */
static struct tss tss_of[MAX_CPUS];
static uint64_t gdt_of[MAX_CPUS][10];

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

void gdt_load(const struct desc_ptr *d);
extern char kstack_top[];

/* c's RSP0 is its first stack until a task runs there (boot: the boot
 * stack; an AP: the stack it starts on). The address of tss.rsp[0]
 * (unaligned: the TSS is packed) goes in c->tss_rsp0_ptr: boot.S and the
 * scheduler move RSP0. */
void gdt_init_cpu(struct cpu *c)
{
	struct tss *t = &tss_of[c->id];
	uint64_t *gdt = gdt_of[c->id];
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull; /* 0x08 kernel code (the boot GDT's) */
	gdt[2] = 0x00af9b000000ffffull; /* 0x10 kernel code: L, DPL0 */
	gdt[3] = 0x00cf93000000ffffull; /* 0x18 kernel data */
	gdt[4] = 0x00cffb000000ffffull; /* 0x20 user code, 32-bit (SYSRET's base) */
	gdt[5] = 0x00cff3000000ffffull; /* 0x28 user data, DPL3 */
	gdt[6] = 0x00affb000000ffffull; /* 0x30 user code: L, DPL3 */
	gdt[7] = 0;
	uint64_t base = (uint64_t)t, limit = sizeof(*t) - 1;
	gdt[8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 | ((limit >> 16) & 0xf) << 48 |
		((base >> 24) & 0xff) << 56;
	gdt[9] = base >> 32;
	t->rsp[0] = c->kstack_cur ? c->kstack_cur : (uint64_t)kstack_top;
	c->tss_rsp0_ptr = (uint64_t)t + offsetof(struct tss, rsp);
	t->ist[0] = c->df_stack_top;
	t->iomap_base = sizeof(*t); /* no I/O bitmap: user port I/O faults */
	struct desc_ptr d = {sizeof(gdt_of[0]) - 1, (uint64_t)gdt};
	gdt_load(&d);
}

void gdt_init(void) { gdt_init_cpu(&cpus[0]); }
