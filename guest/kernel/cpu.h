/* Per-CPU state, the big kernel lock, inter-processor interrupts and TLB
 * shootdown (smp.c).
 *
 * Each CPU's struct cpu is reached through GS: in the kernel GS base is the
 * CPU's struct (whose first word points to itself), in user mode it is the
 * program's own GS base (arch_prctl ARCH_SET_GS), and every entry from and
 * return to CPL3 swaps the two with SWAPGS, as Linux does. boot.S reads the
 * first fields at fixed offsets (CPU_* below): keep them in step.
 *
 * The kernel runs under one lock (the BKL), taken on every entry from user
 * mode (system call, exception, interrupt) and released on the way back to
 * user mode and while a CPU idles. So the kernel stays the uniprocessor
 * kernel it was: only one CPU at a time is in kernel code; what runs in
 * parallel is user code. The lock belongs to the CPU, not the task: a task
 * that sleeps inside a system call hands it, through switch_to, to the task
 * the same CPU runs next. */
#ifndef CARVE_CPU_H
#define CARVE_CPU_H

#include "kernel.h"

#define MAX_CPUS 64 /* affinity masks are one 64-bit word */

/* Offsets boot.S uses. */
#define CPU_USER_RSP 8
#define CPU_KSTACK_CUR 16
#define CPU_HELPER_KSP 24
#define CPU_TSS_RSP0_PTR 32

struct task;

struct cpu {
	struct cpu *self;      /* 0: %gs:0 */
	uint64_t user_rsp;     /* 8: SYSCALL's user RSP until it is on the stack */
	uint64_t kstack_cur;   /* 16: the running task's stack top (helper_run moves it) */
	uint64_t helper_ksp;   /* 24: helper_run's frame */
	uint64_t tss_rsp0_ptr; /* 32: &this CPU's TSS RSP0 */
	struct task *cur;      /* the task on this CPU */
	int id;                /* 0 .. cpus_online-1 */
	uint32_t apic_id;
	uint64_t *pml4;         /* the page tables in CR3 (may be a task's that left: lazy) */
	struct task *dead_task; /* freed by the next task to run here */
	struct task *idle_task; /* where it halts when no task can run here */
	volatile int flush_req; /* a TLB shootdown asks this CPU to flush */
	volatile bool idle;     /* halted with nothing to run (a wake needs an IPI) */
	uint64_t df_stack_top;  /* IST1 */
};

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	/* volatile: a task may move to another CPU across any call. */
	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}

extern struct cpu cpus[MAX_CPUS];
extern int cpus_online;

/* ---- smp.c ---- */
/* The boot CPU's per-CPU data (before anything uses current). */
void smp_init_bsp(void);
/* Starts the other vCPUs (unless carve.nosmp): each sets itself up and
 * enters the scheduler. */
void smp_start_aps(void);
/* The mask of online CPUs (sched_getaffinity, /sys). */
uint64_t cpus_online_mask(void);

/* The big kernel lock. kernel_enter at the start of trap and system-call
 * handling (takes it on an entry from user mode); kernel_exit just before
 * IRETQ (releases it on a return to user mode). */
void kernel_enter(const struct trap_frame *tf);
void kernel_exit(const struct trap_frame *tf);
void bkl_lock(void);
void bkl_unlock(void);
bool bkl_held(void);
/* A device interrupt handler, with the lock (boot's irq stubs). */
void irq_call(void (*handler)(void));
/* The enclave is ending: other CPUs park, interrupt handlers stop locking. */
void smp_stop(void);

/* Each CPU's own set-up (the boot CPU's at boot, an AP's in ap_main). */
void gdt_init_cpu(struct cpu *c); /* gdt.c */
void idt_load(void);              /* idt.c */
void idt_moved(const void *copy); /* idt.c: the IDT CPUs load from now on */
void fpu_init(void);              /* main.c */
void timer_init_cpu(void);        /* time.c */
void sched_ap_enter(void);        /* sched.c: an AP's first context; never returns */
bool sched_idle_init_bsp(void);   /* sched.c: the boot CPU's idle context */
void sched_kick(void);            /* sched.c: before the lock goes */

/* IPIs. */
#define VEC_RESCHED 0xf1
#define VEC_TLB 0xf2
void ipi_send(int cpu, int vec);
/* The TLB IPI's handler and the lock's spin: flush, then say so. */
void tlb_flush_local(void);

/* TLB shootdown. A change that removes or narrows a user translation
 * (unmap, write-protect, a replaced page) notes the page tables it was made
 * in (tlb_note); the other CPUs that may hold them in CR3 flush before any
 * page is allocated again (a freed page must not be reused while a stale
 * entry elsewhere still reaches it), before the lock is released (user code
 * elsewhere would run on), and before a second set of tables is noted. */
void tlb_note(const uint64_t *pml4);
void tlb_sync(void);
/* Page tables about to be freed: no CPU keeps them in CR3 lazily. */
void tlb_forget(const uint64_t *pml4);

#endif
