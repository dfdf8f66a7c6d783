/* CPU time of threads and processes, for the CPU-time clocks
 * (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID and the clocks of
 * pthread_getcpuclockid/clock_getcpuclockid), getrusage, times and wait4.
 *
 * A task is charged TSC ticks between boundaries: its system calls' entry
 * and return split user from system time, and a task switch (sched.c)
 * closes the running task's span and opens the next one's, as a halt with
 * nothing to run does, so time asleep is nobody's. Faults and interrupts taken in user mode count as user time.
 * A thread's time goes to its process when it ends, a process's (and its
 * reaped children's) to its parent when the parent reaps it, as Linux's
 * cutime/cstime. Reading the TSC costs an instruction at each boundary,
 * which the emulator of PVM hosts runs as one. */
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
	next->cpu_mark = now;
}

void cputime_idle(bool halting)
{
	uint64_t now = rdtsc();
	if (halting)
		charge(current, now);
	else
		current->cpu_mark = now;
}

void cputime_kernel(void)
{
	charge(current, rdtsc());
	current->cpu_in_sys = true;
}

void cputime_user(void)
{
	charge(current, rdtsc());
	current->cpu_in_sys = false;
}

void cputime_thread_end(struct task *t)
{
	charge(t, rdtsc());
	t->proc->cpu_user += t->cpu_user;
	t->proc->cpu_sys += t->cpu_sys;
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	uint64_t hz = tsc_hz();
	if (!hz)
		return 0;
	return ticks / hz * 1000000000ull + ticks % hz * 1000000000ull / hz;
}

void cputime_task(struct task *t, uint64_t *user_ns, uint64_t *sys_ns)
{
	if (t == current)
		charge(t, rdtsc());
	*user_ns = ticks_to_ns(t->cpu_user);
	*sys_ns = ticks_to_ns(t->cpu_sys);
}

/* The process's own time: its ended threads and its live ones. */
void cputime_process(struct process *p, uint64_t *user_ns, uint64_t *sys_ns)
{
	uint64_t u = p->cpu_user, s = p->cpu_sys;
	for (struct task *t = p->threads; t; t = t->sibling) {
		if (t == current)
			charge(t, rdtsc());
		u += t->cpu_user;
		s += t->cpu_sys;
	}
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
#define CPUCLOCK_VIRT 1
#define CPUCLOCK_MAX 3

int cputime_clock(int64_t clk, uint64_t *ns)
{
	uint64_t u, s;
	int which;
	if (clk == 2) { /* CLOCK_PROCESS_CPUTIME_ID */
		cputime_process(curproc, &u, &s);
		which = 2;
	} else if (clk == 3) { /* CLOCK_THREAD_CPUTIME_ID */
		cputime_task(current, &u, &s);
		which = 2;
	} else if (clk < 0) {
		which = CPUCLOCK_WHICH(clk);
		if (which == CPUCLOCK_MAX)
			return -EINVAL;
		int id = (int)~(clk >> 3);
		if (clk & CPUCLOCK_PERTHREAD) {
			struct task *t = id ? task_by_tid(id) : current;
			if (!t || t->proc != curproc) /* Linux: a thread of the caller's process */
				return -EINVAL;
			cputime_task(t, &u, &s);
		} else {
			struct process *p = id ? process_by_pid(id) : curproc;
			if (!p || p->zombie)
				return -EINVAL;
			cputime_process(p, &u, &s);
		}
	} else {
		return -EINVAL;
	}
	*ns = which == CPUCLOCK_VIRT ? u : u + s;
	return 0;
}
