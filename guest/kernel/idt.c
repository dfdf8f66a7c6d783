/* Interrupts and exceptions. A fault in the program is reported the way a
 * shell reports a killed program (status 128 + signal) with the registers
 * and fault address; a fault in the kernel is a panic (status 255). */
#include "cpu.h"
#include "proc.h"
#include "virtio.h"

#define VEC_TIMER 64
#define VEC_SPURIOUS 255

struct __attribute__((packed)) gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

static struct gate idt[256];

/* clang-format off */
#define STUB(n) extern void trap_stub_##n(void);
STUB(0) STUB(1) STUB(2) STUB(3) STUB(4) STUB(5) STUB(6) STUB(7) STUB(8) STUB(9) STUB(10)
STUB(11) STUB(12) STUB(13) STUB(14) STUB(15) STUB(16) STUB(17) STUB(18) STUB(19) STUB(20)
STUB(21) STUB(64) STUB(241) STUB(242) STUB(255)
	/* clang-format on */

	static void set_gate(int v, void (*fn)(void), int dpl, int ist)
{
	uint64_t a = (uint64_t)fn;
	idt[v] = (struct gate){
		(uint16_t)a,         0x10, (uint8_t)ist, (uint8_t)(0x8e | dpl << 5), (uint16_t)(a >> 16),
		(uint32_t)(a >> 32), 0};
}

/* The legacy 8259 PICs: KVM routes GSIs below 16 (the virtio devices' lines)
 * to them as well as to the IOAPIC, and an uninitialised PIC delivers IRQ n
 * as vector n, which looks like an exception (IRQ 6 as #UD). Remap them to
 * 0x20-0x2f and mask every line; device interrupts come through the IOAPIC
 * (virtio.c). */
static void pic_disable(void)
{
	static const uint8_t init[2][4] = {{0x11, 0x20, 0x04, 0x01}, {0x11, 0x28, 0x02, 0x01}};
	for (int i = 0; i < 2; i++) {
		uint16_t cmd = i ? 0xa0 : 0x20, data = (uint16_t)(cmd + 1);
		outb(cmd, init[i][0]);
		outb(data, init[i][1]);
		outb(data, init[i][2]);
		outb(data, init[i][3]);
		outb(data, 0xff);
	}
}

void idt_init(void)
{
	pic_disable();
	void (*stubs[22])(void) = {trap_stub_0,  trap_stub_1,  trap_stub_2,  trap_stub_3,  trap_stub_4,
				   trap_stub_5,  trap_stub_6,  trap_stub_7,  trap_stub_8,  trap_stub_9,
				   trap_stub_10, trap_stub_11, trap_stub_12, trap_stub_13, trap_stub_14,
				   trap_stub_15, trap_stub_16, trap_stub_17, trap_stub_18, trap_stub_19,
				   trap_stub_20, trap_stub_21};
	for (int i = 0; i < 22; i++)
		set_gate(i, stubs[i], i == 3 || i == 4 ? 3 : 0, i == 8 ? 1 : 0);
	for (int v = 0x20; v < 0x30; v++) /* a masked PIC can still raise a spurious IRQ 7/15 */
		set_gate(v, trap_stub_255, 0, 0);
	set_gate(VEC_TIMER, trap_stub_64, 0, 0);
	set_gate(VEC_SPURIOUS, trap_stub_255, 0, 0);
	set_gate(VEC_RESCHED, trap_stub_241, 0, 0);
	set_gate(VEC_TLB, trap_stub_242, 0, 0);
	idt_load();
}

/* The IDT every CPU loads: this table, or, once the kernel has locked
 * itself, selflock.c's read-only copy of it (so APs started later load the
 * locked one too). */
static const struct gate *idt_live = idt;

void idt_moved(const void *copy) { idt_live = copy; }

/* Every CPU uses the one IDT. */
void idt_load(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} d = {sizeof(idt) - 1, (uint64_t)idt_live};
	__asm__ volatile("lidt %0" : : "m"(d));
}

/* For drivers' interrupt vectors (virtio.c), before the IDT is locked:
 * after it a new gate could reach no CPU. */
void idt_set_irq_gate(int vec, void (*stub)(void))
{
	if (idt_live != idt)
		panic("idt: gate %d set after the IDT was locked", vec);
	set_gate(vec, stub, 0, 0);
}

static const char *const names[22] = {
	"divide error",
	"debug",
	"NMI",
	"breakpoint",
	"overflow",
	"bound range",
	"invalid opcode",
	"device not available",
	"double fault",
	"coprocessor overrun",
	"invalid TSS",
	"segment not present",
	"stack fault",
	"general protection",
	"page fault",
	"reserved",
	"x87 floating point",
	"alignment check",
	"machine check",
	"SIMD floating point",
	"virtualization",
	"control protection",
};

static void dump(const struct trap_frame *tf, uint64_t cr2)
{
	kprintf("  vector %lu (%s) error 0x%lx\n", tf->vector, tf->vector < 22 ? names[tf->vector] : "?",
		tf->error);
	kprintf("  rip %016lx  rsp %016lx  rflags %08lx  cs %lx ss %lx\n", tf->rip, tf->rsp, tf->rflags,
		tf->cs, tf->ss);
	if (tf->vector == 14)
		kprintf("  cr2 %016lx (%s, %s, %s mode)\n", cr2,
			tf->error & 2            ? "write"
				: tf->error & 16 ? "exec"
						 : "read",
			tf->error & 1 ? "protection" : "not present", tf->error & 4 ? "user" : "kernel");
	kprintf("  rax %016lx  rbx %016lx  rcx %016lx  rdx %016lx\n", tf->rax, tf->rbx, tf->rcx, tf->rdx);
	kprintf("  rsi %016lx  rdi %016lx  rbp %016lx  r8  %016lx\n", tf->rsi, tf->rdi, tf->rbp, tf->r8);
	kprintf("  r9  %016lx  r10 %016lx  r11 %016lx  r12 %016lx\n", tf->r9, tf->r10, tf->r11, tf->r12);
	kprintf("  r13 %016lx  r14 %016lx  r15 %016lx  fs  %016lx\n", tf->r13, tf->r14, tf->r15,
		current ? current->fs_base : 0);
}

/* The signal Linux would send for this exception. */
static int signal_for(uint64_t vec, const char **name)
{
	switch (vec) {
	case 0:
	case 16:
	case 19: *name = "SIGFPE"; return 8;
	case 1:
	case 3: *name = "SIGTRAP"; return 5;
	case 6: *name = "SIGILL"; return 4;
	case 17: *name = "SIGBUS"; return 7;
	default: *name = "SIGSEGV"; return 11;
	}
}

/* A fault in the program: its handler for the signal if it has one, else
 * the report (for pid 1, whose end is the enclave's) and the end of the
 * process, as killed by that signal. */
static void user_fault(struct trap_frame *tf, uint64_t cr2)
{
	current->tf = tf;
	int fault = tf->vector == 14 ? vm_fault(cr2, tf->error & 2, tf->error & 16) : -1;
	if (fault == 0)
		return;
	const char *sig;
	int signo = signal_for(tf->vector, &sig);
	if (fault == VM_FAULT_SIGBUS) { /* a mapping past the end of its file */
		sig = "SIGBUS";
		signo = 7;
	}
	if (signal_fault(tf, signo, tf->vector == 14 ? cr2 : tf->rip))
		return;
	kprintf("carve: %s (pid %d) killed by %s: %s at rip %lx", curproc->exe, curproc->pid, sig,
		tf->vector < 22 ? names[tf->vector] : "trap", tf->rip);
	if (tf->vector == 14)
		kprintf(", address %lx", cr2);
	kprintf("\n");
	dump(tf, cr2);
	process_exit_group(signo);
}

#define LAPIC_EOI_REG ((volatile uint32_t *)((uint8_t *)phys_to_virt(0xfee00000ull) + 0xb0))

void trap_dispatch(struct trap_frame *tf)
{
	bool user = (tf->cs & 3) == 3;
	if (tf->vector == VEC_TLB) { /* no lock: the holder waits for this */
		tlb_flush_local();
		*LAPIC_EOI_REG = 0;
		return;
	}
	kernel_enter(tf);
	if (tf->vector == VEC_RESCHED) {
		*LAPIC_EOI_REG = 0;
		/* Halted: the scheduler looks again. In user mode: a signal, an
		 * end or a move waits for this task (and the enclave's end parks
		 * this CPU). */
		if (user && !current->in_helper) {
			current->tf = tf;
			if (!(current->affinity & (1ull << this_cpu()->id)))
				schedule();
			return_to_user(tf);
		}
		return;
	}
	if (tf->vector == VEC_TIMER) {
		timer_interrupt();
		if (user) {
			current->tf = tf;
			sched_tick();
			return_to_user(tf);
		}
		return;
	}
	if (tf->vector == VEC_SPURIOUS)
		return;
	uint64_t cr2 = tf->vector == 14 ? read_cr2() : 0;
	extern volatile int rdrand_probe, rdrand_failed;
	if (tf->vector == 6 && !user && rdrand_probe) {
		/* random.c's guarded RDRAND (REX.W 0F C7 /6, 4 bytes) is not runnable. */
		rdrand_failed = 1;
		tf->rip += 4;
		return;
	}
	if (user && current->in_helper && tf->vector == 14) {
		if (vm_fault(cr2, tf->error & 2, tf->error & 16) == 0)
			return; /* lazy memory or copy-on-write under a copy: fixed, it goes on */
		/* A bad program address in a copy: EFAULT. What the copy had left:
		 * helper_stub.S's COPY. */
		helper_fault(tf->r8, tf->rcx * tf->r11 + tf->rdx);
	}
	if (user && !current->in_helper) {
		user_fault(tf, cr2);
		return_to_user(tf);
		return;
	}
	kprintf("carve: kernel panic: %s in the kernel\n",
		tf->vector < 22 ? names[tf->vector] : "unexpected trap");
	dump(tf, cr2);
	kernel_fail();
}
