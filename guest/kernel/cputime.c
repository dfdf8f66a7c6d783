/* CPU time of threads and processes, for the CPU-time clocks
 * (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID and the clocks of
 * pthread_getcpuclockid/clock_getcpuclockid), getrusage, times and wait4,
 * and the timers on CPU time (ITIMER_VIRTUAL, ITIMER_PROF, POSIX timers on
 * those clocks): when to look at them.
 *
 * A task is charged TSC ticks between boundaries: its system calls' entry
 * and return split user from system time, and a task switch (sched.c)
 * closes the running task's span and opens the next one's, as a halt with
 * nothing to run does, so time asleep is nobody's. Faults and interrupts taken in user mode count as user time.
 * A running task's open span (cpu_mark, 0 while it does not run) counts in
 * every reading, whichever CPU reads it.
 * A thread's time goes to its process when it ends, a process's (and its
 * reaped children's) to its parent when the parent reaps it, as Linux's
 * cutime/cstime. Reading the TSC costs an instruction at each boundary,
 * which the emulator of PVM hosts runs as one.
 *
 * Timers on CPU time are looked at where CPU time is charged: at every
 * pick of the scheduler (a switch, a slice's end, a halt's end: through
 * alarms_fire), and at the return of a system call of a process that has
 * one. So that a program spinning alone still gets its signal in time, the
 * CPU that runs a task sets its LAPIC timer for the moment the task's CPU
 * time could first make a timer due: a thread's clock moves no faster than
 * the wall clock, a process's no faster than that times its threads that
 * run (cputimers_next). */
#include "errno.h"
#include "proc.h"

/* Charges t's span up to now to its mode. */
static void charge(struct task *t, uint64_t now)
{
	if (t->cpu_mark && now > t->cpu_mark) {
		if (t->cpu_in_sys)
			t->cpu_sys += now - t->cpu_mark;
		else
			t->cpu_user += now - t->cpu_mark;
	}
	t->cpu_mark = now;
}

void cputime_switch(struct task *prev, struct task *next)
{
	uint64_t now = rdtsc();
	charge(prev, now);
	prev->cpu_mark = 0;
	next->cpu_mark = now;
}

void cputime_idle(bool halting)
{
	uint64_t now = rdtsc();
	if (halting) {
		charge(current, now);
		current->cpu_mark = 0;
	} else {
		current->cpu_mark = now;
	}
}

void cputime_kernel(void)
{
	charge(current, rdtsc());
	current->cpu_in_sys = true;
}

static bool timers_on; /* some process may have a timer on CPU time armed */

void cputime_user(void)
{
	charge(current, rdtsc());
	current->cpu_in_sys = false;
	if (timers_on && curproc->cputimers) {
		cputimers_fire(curproc);
		sched_rearm(); /* (a deadline taken while the helper ran is lost) */
	}
}

void cputime_thread_end(struct task *t)
{
	charge(t, rdtsc());
	t->cpu_mark = 0;
	t->proc->cpu_user += t->cpu_user;
	t->proc->cpu_sys += t->cpu_sys;
	ptimers_thread_gone(t);
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	uint64_t hz = tsc_hz();
	if (!hz)
		return 0;
	return ticks / hz * 1000000000ull + ticks % hz * 1000000000ull / hz;
}

/* t's ticks with its open span if it runs (here or on another CPU). */
static void sample(const struct task *t, uint64_t now, uint64_t *u, uint64_t *s)
{
	*u += t->cpu_user;
	*s += t->cpu_sys;
	if (t->cpu_mark && now > t->cpu_mark)
		*(t->cpu_in_sys ? s : u) += now - t->cpu_mark;
}

void cputime_task(struct task *t, uint64_t *user_ns, uint64_t *sys_ns)
{
	uint64_t u = 0, s = 0;
	sample(t, rdtsc(), &u, &s);
	*user_ns = ticks_to_ns(u);
	*sys_ns = ticks_to_ns(s);
}

/* The process's own time: its ended threads and its live ones. */
void cputime_process(struct process *p, uint64_t *user_ns, uint64_t *sys_ns)
{
	uint64_t u = p->cpu_user, s = p->cpu_sys, now = rdtsc();
	for (struct task *t = p->threads; t; t = t->sibling)
		sample(t, now, &u, &s);
	*user_ns = ticks_to_ns(u);
	*sys_ns = ticks_to_ns(s);
}

void cputime_children(struct process *p, uint64_t *user_ns, uint64_t *sys_ns)
{
	*user_ns = ticks_to_ns(p->child_user);
	*sys_ns = ticks_to_ns(p->child_sys);
}

void cputime_reaped(struct process *c)
{
	if (!c->parent)
		return;
	c->parent->child_user += c->cpu_user + c->child_user;
	c->parent->child_sys += c->cpu_sys + c->child_sys;
}

int put_rusage(uint64_t uru, uint64_t user_ns, uint64_t sys_ns)
{
	uint64_t ru[18] = {0}; /* two timevals, then fourteen longs */
	ru[0] = user_ns / 1000000000ull;
	ru[1] = user_ns % 1000000000ull / 1000;
	ru[2] = sys_ns / 1000000000ull;
	ru[3] = sys_ns % 1000000000ull / 1000;
	return copy_to_user(uru, ru, sizeof(ru));
}

/* Linux's encoding of a CPU-time clock id: ~pid (or ~tid) above three
 * bits, which clock in the low two (PROF 0, VIRT 1, SCHED 2) and a
 * per-thread bit; pid 0 is the caller. */
#define CPUCLOCK_WHICH(c) ((c)&3)
#define CPUCLOCK_PERTHREAD 4
#define CPUCLOCK_MAX 3

int cputime_decode(int64_t clk, struct process **p, struct task **t, int *which)
{
	*p = curproc;
	*t = NULL;
	*which = CPUCLOCK_SCHED;
	if (clk == 2) /* CLOCK_PROCESS_CPUTIME_ID */
		return 0;
	if (clk == 3) { /* CLOCK_THREAD_CPUTIME_ID */
		*t = current;
		return 0;
	}
	if (clk >= 0 || CPUCLOCK_WHICH(clk) == CPUCLOCK_MAX)
		return -EINVAL;
	*which = CPUCLOCK_WHICH(clk);
	int id = (int)~(clk >> 3);
	if (clk & CPUCLOCK_PERTHREAD) {
		*t = id ? task_by_tid(id) : current;
		if (!*t || (*t)->proc != curproc) /* Linux: a thread of the caller's process */
			return -EINVAL;
		return 0;
	}
	*p = id ? process_by_pid(id) : curproc;
	return *p && !(*p)->zombie ? 0 : -EINVAL;
}

uint64_t cputime_read(struct process *p, struct task *t, int which)
{
	uint64_t u, s;
	if (t)
		cputime_task(t, &u, &s);
	else
		cputime_process(p, &u, &s);
	return which == CPUCLOCK_VIRT ? u : u + s;
}

int cputime_clock(int64_t clk, uint64_t *ns)
{
	struct process *p;
	struct task *t;
	int which, r = cputime_decode(clk, &p, &t, &which);
	if (r == 0)
		*ns = cputime_read(p, t, which);
	return r;
}

/* ---- timers on CPU time ---- */

/* No sooner than this after a look: a timer due at once (an interval of a
 * nanosecond) costs an interrupt a look, not a storm of them. */
#define MIN_LOOK_NS 50000ull

void cputimers_armed(struct process *p)
{
	p->cputimers = true;
	timers_on = true;
}

static bool fire_process(struct process *p)
{
	uint64_t u, s;
	cputime_process(p, &u, &s);
	bool armed = itimers_cpu_fire(p, u, s);
	return ptimers_cpu_fire(p) || armed;
}

void cputimers_fire(struct process *only)
{
	if (!timers_on)
		return;
	if (only) {
		if (only->cputimers && !only->zombie)
			only->cputimers = fire_process(only);
		return;
	}
	bool any = false;
	for (struct process *p = process_first(); p; p = p->next) {
		if (!p->cputimers || p->zombie)
			continue;
		p->cputimers = fire_process(p);
		any |= p->cputimers;
	}
	timers_on = any;
}

int cputime_runners(const struct process *p, const struct task *t)
{
	int n = 0;
	for (const struct task *u = p->threads; u; u = u->sibling)
		n += u->on_cpu >= 0 || u == t;
	return n ? n : 1;
}

uint64_t cputimers_next(struct task *t, uint64_t now)
{
	if (!timers_on || t->is_idle || t->state == TASK_DEAD)
		return UINT64_MAX;
	uint64_t left = UINT64_MAX;
	for (struct process *p = process_first(); p; p = p->next) {
		if (!p->cputimers || p->zombie)
			continue;
		if (p == t->proc && (p->itimer_virt.at || p->itimer_prof.at)) {
			uint64_t u, s;
			cputime_process(p, &u, &s);
			uint64_t l = itimers_cpu_left(p, u, s);
			if (l != UINT64_MAX)
				left = MIN(left, l / (uint64_t)cputime_runners(p, t));
		}
		left = MIN(left, ptimers_cpu_left(p, t));
	}
	return left == UINT64_MAX ? left : now + MAX(left, MIN_LOOK_NS);
}
