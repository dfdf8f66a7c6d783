/* The scheduler: round robin over the tasks that can run, with a 10 ms
 * slice enforced by the LAPIC timer while more than one task exists.
 *
 * Sleepers are not kept on wait queues. Each says what ends its sleep (its
 * deadline, an explicit wake_task, a signal, and by kind: any event, or a
 * condition the scheduler asks), and the scheduler looks when it picks the
 * next task. So no waker has to know who waits on what: a pipe write, a
 * socket close or a device interrupt only bumps the event count, and a
 * sleeper whose condition holds runs at the next pick. With one CPU and a
 * kernel that is never preempted, a condition that held at the pick still
 * holds when the sleeper runs. With no task able to run the CPU halts until
 * the earliest deadline or an interrupt. */
#include "errno.h"
#include "proc.h"

#define SLICE_NS 10000000ull
/* The console raises no interrupt: event sleepers look this often. */
#define EVENT_POLL_NS 10000000ull
#define MSR_FS_BASE 0xc0000100

struct task *current;
struct task *task_list; /* task.c keeps it */
static uint64_t wake_seq;
static struct task *dead_task; /* freed by the next task to run */

extern uint64_t kstack_cur, tss_rsp0_ptr;
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

/* The next task after current (current itself last) that can run. */
static struct task *pick(uint64_t now)
{
	if (current->state == TASK_DEAD) { /* no longer on the list */
		for (struct task *t = task_list; t; t = t->next)
			if (can_run(t, now))
				return t;
		return NULL;
	}
	struct task *t = current->next ? current->next : task_list;
	for (;;) {
		if (t != current && can_run(t, now))
			return t;
		if (t == current)
			return can_run(t, now) ? t : NULL;
		t = t->next ? t->next : task_list;
	}
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
	if (dead_task && dead_task != current) {
		task_free(dead_task);
		dead_task = NULL;
	}
}

static void switch_task(struct task *prev, struct task *next)
{
	bool prev_dead = prev->state == TASK_DEAD;
	if (prev_dead)
		dead_task = prev;
	else
		fpu_save(prev);
	prev->rsp0 = kstack_cur;
	kstack_cur = next->rsp0;
	*(uint64_t *)tss_rsp0_ptr = next->rsp0;
	if (prev_dead || next->proc->as != prev->proc->as)
		paging_switch(next->proc->as->pml4);
	if (prev_dead || next->fs_base != prev->fs_base)
		wrmsr(MSR_FS_BASE, next->fs_base);
	fpu_load(next);
	cputime_switch(prev, next);
	current = next;
	switch_to(&prev->ksp, next->ksp);
	sched_tail();
}

static void arm_for(uint64_t now)
{
	uint64_t d = next_deadline(now);
	if (task_list->next) /* more than one task: slices */
		d = MIN(d, now + SLICE_NS);
	timer_arm(d);
}

void sched_rearm(void) { arm_for(time_ns()); }

void schedule(void)
{
	for (;;) {
		uint64_t now = time_ns();
		alarms_fire(now);
		struct task *next = pick(now);
		if (next) {
			next->state = TASK_RUNNABLE;
			arm_for(now);
			if (next != current)
				switch_task(current, next);
			return;
		}
		if (current->state == TASK_DEAD && !task_list)
			panic("no task left");
		timer_arm(next_deadline(now));
		cputime_idle(true); /* a halt is nobody's CPU time */
		cpu_idle();
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

void sched_tick(void)
{
	if (!current->in_helper)
		schedule();
}

/* The enclave is ending (sched_stop): no task runs again, and the last
 * waits (vsock's flush) halt the CPU directly, whatever state the exiting
 * task is in (dead, killed). */
static bool stopped;

void sched_stop(void) { stopped = true; }

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
