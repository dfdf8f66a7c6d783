/* The scheduler: round robin over the tasks that can run, with a 10 ms
 * slice (carve.slice_ms) enforced by the LAPIC timer while more than one
 * task exists.
 *
 * Sleepers are not kept on wait queues. Each says what ends its sleep (its
 * deadline, an explicit wake_task, a signal, and by kind: any event, or a
 * condition the scheduler asks), and the scheduler looks when it picks the
 * next task. So no waker has to know who waits on what: a pipe write, a
 * socket close or a device interrupt only bumps the event count, and a
 * sleeper whose condition holds runs at the next pick. The kernel runs
 * under the big kernel lock (cpu.h) and is never preempted, so a condition
 * that held at the pick still holds when the sleeper runs.
 *
 * SMP: every CPU picks from the one task list, under the lock; a task runs
 * on one CPU at a time (on_cpu) and only where its affinity allows. A CPU
 * with no task able to run switches to its idle context (a stack of its
 * own, so no task's stack stays held by a halted CPU and any CPU may run
 * the task next) and halts, the lock released, until the earliest
 * deadline, an interrupt or an IPI. Whoever releases the lock looks for
 * tasks that can now run and wakes halted CPUs for them (sched_kick). With
 * one CPU it halts on the stack of the task it last ran, as before SMP. */
#include "cpu.h"
#include "errno.h"
#include "proc.h"

#define SLICE_NS (boot_opts.slice_ms ? boot_opts.slice_ms * 1000000ull : 10000000ull)
/* The console raises no interrupt: event sleepers look this often. */
#define EVENT_POLL_NS 10000000ull
#define MSR_FS_BASE 0xc0000100
#define MSR_KERNEL_GS_BASE 0xc0000102

struct task *task_list; /* task.c keeps it */
static uint64_t wake_seq;

void switch_to(uint64_t *save_ksp, uint64_t next_ksp);
void cpu_idle(void);

static bool signal_wakes(const struct task *t)
{
	return ((t->sigpending | t->proc->sigpending) & ~t->sigmask) != 0;
}

bool task_interrupted(void) { return current->killed || signal_wakes(current); }

static bool can_run(struct task *t, uint64_t now)
{
	if (t->state == TASK_RUNNABLE)
		return true;
	if (t->state != TASK_SLEEPING)
		return false;
	if (t->woken || t->killed || now >= t->deadline || signal_wakes(t))
		return true;
	switch (t->wait) {
	case WAIT_EVENT: return t->seen_seq != wake_seq || now >= t->polled_at + EVENT_POLL_NS;
	case WAIT_COND: return t->cond(t->cond_arg);
	default: return false;
	}
}

/* t can run on CPU c: not running on another, allowed there, and ready. */
static bool can_run_on(struct task *t, const struct cpu *c, uint64_t now)
{
	if (t->on_cpu >= 0 && t->on_cpu != c->id)
		return false;
	if (!(t->affinity & (1ull << c->id)))
		return false;
	return can_run(t, now);
}

/* The next task after current (current itself last) that can run here. */
static struct task *pick(uint64_t now)
{
	struct cpu *c = this_cpu();
	struct task *cur = c->cur;
	if (cur->state == TASK_DEAD || cur->is_idle) { /* not on the list */
		for (struct task *t = task_list; t; t = t->next)
			if (can_run_on(t, c, now))
				return t;
		return NULL;
	}
	struct task *t = cur->next ? cur->next : task_list;
	for (;;) {
		if (t != cur && can_run_on(t, c, now))
			return t;
		if (t == cur)
			return can_run_on(t, c, now) ? t : NULL;
		t = t->next ? t->next : task_list;
	}
}

/* Before the lock goes: a halted CPU gets an IPI for each task that can
 * run now, runs nowhere, and may run there. (A CPU that runs a program
 * picks again at its next slice.) */
void sched_kick(void)
{
	if (cpus_online == 1 || !task_list)
		return;
	struct cpu *me = this_cpu();
	uint64_t now = time_ns(), kicked = 0;
	for (struct task *t = task_list; t; t = t->next) {
		if (t->on_cpu >= 0 || !can_run(t, now))
			continue;
		for (int i = 0; i < cpus_online; i++) {
			struct cpu *c = &cpus[i];
			if (c != me && c->idle && !(kicked & (1ull << i)) && (t->affinity & (1ull << i))) {
				kicked |= 1ull << i;
				break;
			}
		}
	}
	/* The CPU clears its own idle mark once it holds the lock again: until
	 * then every kick sends another IPI, so one that did not wake it is
	 * not the last. */
	for (int i = 0; i < cpus_online; i++)
		if (kicked & (1ull << i))
			ipi_send(i, VEC_RESCHED);
}

/* A task that must leave its CPU soon (a signal, its end, a new affinity)
 * and runs in user mode on another: an IPI brings it into the kernel. */
void sched_nudge(struct task *t)
{
	if (t->on_cpu >= 0 && t->on_cpu != this_cpu()->id)
		ipi_send(t->on_cpu, VEC_RESCHED);
}

/* When a sleeper must be looked at again without an interrupt. */
static uint64_t next_deadline(uint64_t now)
{
	uint64_t d = alarms_next();
	for (struct task *t = task_list; t; t = t->next) {
		if (t->state != TASK_SLEEPING)
			continue;
		d = MIN(d, t->deadline);
		/* (A condition is asked at every pick: each slice, each sleep.) */
		if (t->wait == WAIT_EVENT)
			d = MIN(d, MAX(t->polled_at + EVENT_POLL_NS, now));
	}
	return d;
}

static void fpu_save(struct task *t) { __asm__ volatile("fxsave64 (%0)" : : "r"(t->fpu) : "memory"); }
static void fpu_load(struct task *t) { __asm__ volatile("fxrstor64 (%0)" : : "r"(t->fpu) : "memory"); }

/* Runs in the next task after every switch (sched.c and task_start). */
void sched_tail(void)
{
	struct cpu *c = this_cpu();
	if (c->dead_task && c->dead_task != c->cur) {
		task_free(c->dead_task);
		c->dead_task = NULL;
	}
}

/* The MSRs hold prev's values when prev is a task that ran here (not an
 * idle context, not one that ended). CR3 is compared with what this CPU
 * has loaded: an idle context keeps the last task's tables (or the
 * kernel's after an exit). */
static void switch_task(struct task *prev, struct task *next)
{
	struct cpu *c = this_cpu();
	bool prev_dead = prev->state == TASK_DEAD, fresh = prev_dead || prev->is_idle;
	if (prev_dead)
		c->dead_task = prev;
	else if (!prev->is_idle)
		fpu_save(prev);
	prev->rsp0 = c->kstack_cur;
	c->kstack_cur = next->rsp0;
	*(uint64_t *)c->tss_rsp0_ptr = next->rsp0;
	if (!next->is_idle) {
		if (c->pml4 != next->proc->as->pml4)
			paging_switch(next->proc->as->pml4);
		if (fresh || next->fs_base != prev->fs_base)
			wrmsr(MSR_FS_BASE, next->fs_base);
		if (fresh || next->gs_base != prev->gs_base)
			wrmsr(MSR_KERNEL_GS_BASE, next->gs_base);
		fpu_load(next);
	}
	cputime_switch(prev, next);
	prev->on_cpu = -1;
	next->on_cpu = c->id;
	c->cur = next;
	switch_to(&prev->ksp, next->ksp);
	sched_tail();
}

/* Halts until an interrupt, an IPI or the timer; without the lock when
 * other CPUs run (they may have work for this one: sched_kick). */
static void idle_wait(void)
{
	struct cpu *c = this_cpu();
	if (cpus_online == 1) {
		cpu_idle();
		return;
	}
	c->idle = true;
	bkl_unlock();
	cpu_idle();
	bkl_lock();
	c->idle = false;
}

/* The LAPIC timer of this CPU, about to run t: the first deadline, the
 * slice's end, and when t's CPU time could make a timer on CPU time due. */
static void arm_for(uint64_t now, struct task *t)
{
	uint64_t d = MIN(next_deadline(now), cputimers_next(t, now));
	if (task_list->next) /* more than one task: slices */
		d = MIN(d, now + SLICE_NS);
	timer_arm(d);
}

void sched_rearm(void) { arm_for(time_ns(), current); }

void schedule(void)
{
	for (;;) {
		uint64_t now = time_ns();
		alarms_fire(now);
		struct task *next = pick(now);
		if (next) {
			next->state = TASK_RUNNABLE;
			arm_for(now, next);
			if (next != current)
				switch_task(current, next);
			return;
		}
		if (current->state == TASK_DEAD && !task_list)
			panic("no task left");
		if (cpus_online > 1 && !current->is_idle) {
			/* Off this task's stack, so another CPU may run it. */
			switch_task(current, this_cpu()->idle_task);
			return; /* it runs again (picked, here or elsewhere) */
		}
		/* With other CPUs a halted one looks again at least every slice:
		 * the kicks above should wake it, but in the bed (nested SVM
		 * under load) a CPU once stayed halted for 3.8 s beside a
		 * runnable task; a wake-up that does not arrive costs at most
		 * a slice, never the enclave. */
		timer_arm(cpus_online > 1 ? MIN(next_deadline(now), now + SLICE_NS) : next_deadline(now));
		cputime_idle(true); /* a halt is nobody's CPU time */
		idle_wait();
		cputime_idle(false);
		wake_seq++; /* an interrupt: a device may have news */
	}
}

void sched_sleep(enum wait_kind kind, uint64_t deadline)
{
	struct task *t = current;
	t->state = TASK_SLEEPING;
	t->wait = kind;
	t->deadline = deadline;
	t->seen_seq = wake_seq;
	t->polled_at = time_ns();
	t->woken = false;
	schedule();
	t->woken = false;
}

void sched_sleep_cond(bool (*cond)(void *), void *arg, uint64_t deadline)
{
	current->cond = cond;
	current->cond_arg = arg;
	sched_sleep(WAIT_COND, deadline);
}

void wake_task(struct task *t)
{
	if (t->state == TASK_SLEEPING)
		t->woken = true;
}

void sched_event(void) { wake_seq++; }

/* A tick during a helper run (helper.c's stub, kernel work at CPL3) cannot
 * switch: it comes again soon, or the slice, a sleeper's deadline or a
 * timer on CPU time it stood for would wait for the next system call. */
#define HELPER_TICK_NS 500000ull

void sched_tick(void)
{
	if (!current->in_helper)
		schedule();
	else
		timer_arm(time_ns() + HELPER_TICK_NS);
}

/* The enclave is ending (sched_stop): no task runs again, and the last
 * waits (vsock's flush) halt the CPU directly, whatever state the exiting
 * task is in (dead, killed). */
static bool stopped;

void sched_stop(void)
{
	stopped = true;
	smp_stop();
}

/* A CPU's idle context: it only ever picks the next task, or halts. */
static _Noreturn void idle_loop(void)
{
	sched_tail();
	for (;;)
		schedule();
}

/* An AP's start (smp.c): the context it started in becomes its idle
 * context. Holds the lock. */
void sched_ap_enter(void)
{
	struct cpu *c = this_cpu();
	struct task *t = kmalloc(sizeof(*t));
	if (!t)
		panic("out of memory for CPU %d's idle context", c->id);
	t->is_idle = true;
	t->on_cpu = c->id;
	t->rsp0 = c->kstack_cur;
	c->idle_task = t;
	c->cur = t;
	idle_loop();
}

/* The boot CPU's idle context (smp.c, before the APs start): a stack of
 * its own whose first switch_to returns into idle_loop. */
#define IDLE_STACK_PAGES 4
bool sched_idle_init_bsp(void)
{
	struct task *t = kmalloc(sizeof(*t));
	uint64_t stack = pages_alloc(IDLE_STACK_PAGES);
	if (!t || !stack) {
		kfree(t);
		return false;
	}
	t->is_idle = true;
	t->on_cpu = -1;
	t->kstack_top = t->rsp0 = (uint64_t)phys_to_virt(stack) + IDLE_STACK_PAGES * PAGE_SIZE;
	/* switch_to pops six registers and returns into idle_loop, which
	 * then sees the stack as a call left it. */
	uint64_t *sp = (uint64_t *)t->kstack_top;
	*--sp = 0;
	*--sp = (uint64_t)idle_loop;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	t->ksp = (uint64_t)sp;
	this_cpu()->idle_task = t;
	return true;
}

static void halt_until(uint64_t deadline, bool (*wake)(void))
{
	for (;;) {
		uint64_t now = time_ns();
		if (now >= deadline || (wake && wake()))
			break;
		timer_arm(MIN(deadline, now + EVENT_POLL_NS));
		cpu_idle();
	}
	timer_arm(UINT64_MAX);
}

int time_sleep_until(uint64_t deadline, bool (*wake)(void))
{
	if (stopped) {
		halt_until(deadline, wake);
		return 0;
	}
	for (;;) {
		if (time_ns() >= deadline || (wake && wake()))
			return 0;
		if (task_interrupted())
			return -EINTR;
		sched_sleep(wake ? WAIT_EVENT : WAIT_TIMER, deadline);
		/* With a wake condition the caller looks itself: another
		 * sleeper may have taken what woke us (vdev_event). */
		if (wake)
			return 0;
	}
}
