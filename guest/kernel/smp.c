/* The other vCPUs: start-up, the big kernel lock, IPIs and TLB shootdown.
 *
 * Start-up. The VMM creates every vCPU with its LAPIC in the kernel (APIC
 * ID = vCPU index, as the MADT says; src/vmm/acpi.c) waiting for INIT/SIPI.
 * The boot CPU copies boot.S's real-mode trampoline to TRAMP_PA (below 1 MiB,
 * which the page allocator never hands out), gives it page tables that map
 * the trampoline's page where it runs (the boot tables plus their identity
 * entry, dropped from the kernel's own), and starts the APs one at a time
 * with INIT, SIPI, SIPI; each reaches ap_main on a stack of its own, sets up
 * its GDT and TSS, IDT, FPU, SYSCALL MSRs and LAPIC timer, and enters the
 * scheduler, where it halts until there is something to run. The count of
 * vCPUs is the one CPUID's topology leaf gives (vm_cpu_count, which the VMM
 * keeps equal to the MADT's).
 *
 * TLB shootdown (tlb_note/tlb_sync): page tables change only under the
 * lock, so one pending set of tables at a time is enough. Other CPUs that
 * have those tables in CR3 get VEC_TLB and reload CR3 (a full flush: the
 * changes batched since the last sync may be many pages). The initiator
 * waits for every one with interrupts off; a target is in user mode or
 * halted (interrupts on), or spinning for the lock (which polls its
 * flush_req), so each answers. */
#include "cpu.h"
#include "proc.h"

#define TRAMP_PA 0x10000ull /* SIPI vector 0x10 */
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define LAPIC_PHYS 0xfee00000ull
#define LAPIC_ID 0x20
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_BUSY (1u << 12)
#define AP_STACK_PAGES 8
#define DF_STACK_PAGES 2

struct cpu cpus[MAX_CPUS];
int cpus_online = 1;

extern char df_stack_top[], kstack_top[];
extern const char ap_tramp[], ap_tramp_end[], ap_tramp_cr3[];
extern uint64_t boot_pml4[512];
extern uint64_t ap_boot_rsp;
void ap_main(void);

static volatile uint32_t *lapic(uint32_t reg)
{
	return (volatile uint32_t *)((uint8_t *)phys_to_virt(LAPIC_PHYS) + reg);
}

static void cpu_bind(struct cpu *c, int id)
{
	c->self = c;
	c->id = id;
	c->pml4 = boot_pml4;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	wrmsr(MSR_KERNEL_GS_BASE, 0); /* the program's, until it sets one */
}

void smp_init_bsp(void)
{
	cpu_bind(&cpus[0], 0);
	cpus[0].df_stack_top = (uint64_t)df_stack_top;
	cpus[0].kstack_cur = (uint64_t)kstack_top;
}

uint64_t cpus_online_mask(void) { return cpus_online >= 64 ? ~0ull : (1ull << cpus_online) - 1; }

/* ---- the big kernel lock ---- */

static volatile int bkl_word;
static volatile int bkl_owner = -1;
static volatile bool stopping;

bool bkl_held(void) { return bkl_owner == this_cpu()->id; }

/* The enclave is ending on another CPU, which keeps the lock: halt for
 * good, with interrupts on (a device interrupt is acknowledged without the
 * lock, irq_call), so the exiting CPU's last waits see the devices. */
static _Noreturn void park(void)
{
	for (;;)
		__asm__ volatile("sti; hlt");
}

void bkl_lock(void)
{
	struct cpu *c = this_cpu();
	while (__atomic_exchange_n(&bkl_word, 1, __ATOMIC_ACQUIRE)) {
		/* Interrupts are off here: answer a shootdown the holder may be
		 * waiting for, or we would wait for each other. */
		while (__atomic_load_n(&bkl_word, __ATOMIC_RELAXED)) {
			if (c->flush_req)
				tlb_flush_local();
			if (stopping)
				park();
			__asm__ volatile("pause");
		}
	}
	bkl_owner = c->id;
}

void bkl_unlock(void)
{
	tlb_sync();
	sched_kick(); /* what this CPU did may let a task run elsewhere */
	bkl_owner = -1;
	__atomic_store_n(&bkl_word, 0, __ATOMIC_RELEASE);
}

void kernel_enter(const struct trap_frame *tf)
{
	/* From user mode without the lock: a program's entry. (During a
	 * helper run, at CPL3 too, this CPU already holds it.) */
	if (cpus_online > 1 && (tf->cs & 3) && bkl_owner != this_cpu()->id)
		bkl_lock();
}

void kernel_exit(const struct trap_frame *tf)
{
	if (cpus_online > 1 && (tf->cs & 3) && !current->in_helper && bkl_owner == this_cpu()->id)
		bkl_unlock();
}

void irq_call(void (*handler)(void))
{
	/* Interrupts come in user mode, in the idle loop's HLT, or during a
	 * helper run (this CPU holds the lock then). Once the enclave is
	 * ending, the exiting CPU keeps the lock: handlers only acknowledge
	 * and count, and take nothing. */
	bool take = cpus_online > 1 && !stopping && bkl_owner != this_cpu()->id;
	if (take)
		bkl_lock();
	handler();
	if (take)
		bkl_unlock();
}

void smp_stop(void)
{
	stopping = true;
	for (int i = 0; i < cpus_online; i++)
		if (i != this_cpu()->id)
			ipi_send(i, VEC_RESCHED); /* idle or user mode: into the kernel, to park */
}

/* ---- IPIs ---- */

static void icr_wait(void)
{
	for (int i = 0; i < 1000000 && (*lapic(LAPIC_ICR_LO) & ICR_BUSY); i++)
		__asm__ volatile("pause");
}

static void icr(uint32_t apic_id, uint32_t low)
{
	icr_wait();
	*lapic(LAPIC_ICR_HI) = apic_id << 24;
	*lapic(LAPIC_ICR_LO) = low;
	icr_wait();
}

void ipi_send(int cpu, int vec) { icr(cpus[cpu].apic_id, (uint32_t)vec); /* fixed, physical */ }

/* ---- TLB shootdown ---- */

static const uint64_t *tlb_pending;
/* Pages freed while a shootdown is pending: they go to the allocator after
 * it (a full list syncs early). */
#define DEFER_MAX 512
static uint64_t deferred[DEFER_MAX];
static int ndeferred;

bool tlb_defer_free(uint64_t pa)
{
	if (!tlb_pending)
		return false;
	if (ndeferred == DEFER_MAX)
		tlb_sync();
	if (!tlb_pending)
		return false;
	deferred[ndeferred++] = pa;
	return true;
}

void tlb_flush_local(void)
{
	struct cpu *c = this_cpu();
	__asm__ volatile("mov %0, %%cr3" : : "r"(virt_to_phys(c->pml4)) : "memory");
	__atomic_store_n(&c->flush_req, 0, __ATOMIC_RELEASE);
}

/* Every other CPU with pml4 in CR3 reloads CR3 (VEC_TLB, tlb_flush_local)
 * and is waited for; with to_kernel it first moves to the kernel's tables
 * (pml4 is about to be freed). */
static void shootdown(const uint64_t *pml4, bool to_kernel)
{
	struct cpu *me = this_cpu();
	int asked = 0;
	for (int i = 0; i < cpus_online; i++) {
		struct cpu *c = &cpus[i];
		if (c == me || c->pml4 != pml4)
			continue;
		if (to_kernel)
			c->pml4 = boot_pml4;
		c->flush_req = 1;
		ipi_send(i, VEC_TLB);
		asked++;
	}
	for (int i = 0; asked && i < cpus_online; i++)
		while (__atomic_load_n(&cpus[i].flush_req, __ATOMIC_ACQUIRE))
			__asm__ volatile("pause");
}

void tlb_note(const uint64_t *pml4)
{
	if (cpus_online == 1 || pml4 == tlb_pending)
		return;
	tlb_sync();
	tlb_pending = pml4;
}

void tlb_sync(void)
{
	if (!tlb_pending)
		return;
	const uint64_t *p = tlb_pending;
	tlb_pending = NULL;
	shootdown(p, false);
	while (ndeferred)
		page_free_now(deferred[--ndeferred]);
}

void tlb_forget(const uint64_t *pml4)
{
	if (cpus_online == 1)
		return;
	tlb_sync();
	/* A CPU that halted with these tables in CR3 moves to the kernel's,
	 * so no walk (not even a speculative one) reads the freed pages. */
	shootdown(pml4, true);
}

/* ---- AP start-up ---- */

static volatile int ap_arrived;
static struct cpu *ap_starting;

void ap_main(void)
{
	struct cpu *c = ap_starting;
	cpu_bind(c, c->id);
	gdt_init_cpu(c);
	idt_load();
	fpu_init();
	syscall_init();
	timer_init_cpu();
	__atomic_store_n(&ap_arrived, 1, __ATOMIC_RELEASE);
	bkl_lock();
	sched_ap_enter(); /* never returns */
}

static bool start_one(int id, uint64_t tramp_pml4)
{
	struct cpu *c = &cpus[id];
	uint64_t stack = pages_alloc(AP_STACK_PAGES), df = pages_alloc(DF_STACK_PAGES);
	if (!stack || !df) {
		kprintf("carve: out of memory starting CPU %d\n", id);
		return false;
	}
	c->id = id;
	c->apic_id = (uint32_t)id;
	c->df_stack_top = (uint64_t)phys_to_virt(df) + DF_STACK_PAGES * PAGE_SIZE;
	ap_boot_rsp = (uint64_t)phys_to_virt(stack) + AP_STACK_PAGES * PAGE_SIZE;
	c->kstack_cur = ap_boot_rsp;
	ap_starting = c;
	ap_arrived = 0;
	uint8_t *t = phys_to_virt(TRAMP_PA);
	memcpy(t, ap_tramp, (size_t)(ap_tramp_end - ap_tramp));
	*(uint32_t *)(t + (ap_tramp_cr3 - ap_tramp)) = (uint32_t)tramp_pml4;
	icr(c->apic_id, 0x0000c500); /* INIT, level assert */
	icr(c->apic_id, 0x00008500); /* INIT, level de-assert */
	for (int i = 0; i < 2; i++)
		icr(c->apic_id, 0x00000600 | (uint32_t)(TRAMP_PA >> 12)); /* STARTUP */
	/* Up to five seconds: an AP's start-up code is emulated on PVM hosts,
	 * and a loaded host running the hardware-KVM bed (L1 under QEMU's
	 * emulator) can take over a second to schedule it. */
	uint64_t until = time_ns() + 5000000000ull;
	while (!__atomic_load_n(&ap_arrived, __ATOMIC_ACQUIRE) && time_ns() < until)
		__asm__ volatile("pause");
	if (!ap_arrived) {
		kprintf("carve: CPU %d did not start; running on %d\n", id, id);
		return false;
	}
	return true;
}

void smp_start_aps(void)
{
	int want = vm_cpu_count();
	cpus[0].apic_id = *lapic(LAPIC_ID) >> 24;
	if (want <= 1)
		return;
	/* On by default: the enclave was given these CPUs to run on
	 * (bench/kernel_smp.sh: what it gives and costs; on PVM hosts, where
	 * every kernel instruction is emulated, a program whose threads hand
	 * work back and forth may run faster with carve.nosmp,
	 * guest/kernel/README.md). */
	if (boot_opts.nosmp) {
		kdebug("smp: 1 of %d CPUs used (carve.nosmp)\n", want);
		return;
	}
	if (cpus[0].apic_id != 0) {
		kprintf("carve: boot CPU has APIC ID %u, not 0; running on one CPU\n", cpus[0].apic_id);
		return;
	}
	want = MIN(want, MAX_CPUS);
	if (!sched_idle_init_bsp())
		return;
	/* The trampoline's tables: the kernel's, plus the identity map of the
	 * low 4 GiB its jump to long mode runs through. */
	uint64_t tp = page_alloc();
	if (!tp)
		return;
	uint64_t *tramp_pml4 = phys_to_virt(tp);
	memcpy(tramp_pml4, boot_pml4, PAGE_SIZE);
	tramp_pml4[0] = boot_pml4[256];
	uint64_t t0 = time_ns();
	/* Each AP counts itself in only once it is whole; the lock keeps them
	 * out of the scheduler until the boot CPU leaves for the program. */
	bkl_lock();
	int n = 1;
	for (int id = 1; id < want; id++) {
		if (!start_one(id, tp))
			break;
		n++;
		__atomic_store_n(&cpus_online, n, __ATOMIC_RELEASE);
	}
	page_free(tp);
	if (n == 1)
		bkl_unlock();
	kdebug("smp: %d CPUs running (started in %lu us)\n", n, (time_ns() - t0) / 1000);
}
