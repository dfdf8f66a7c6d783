/* POSIX timers: timer_create, timer_settime, timer_gettime,
 * timer_getoverrun, timer_delete. Up to 32 a process, on CLOCK_REALTIME,
 * CLOCK_TAI (the same here), CLOCK_MONOTONIC or CLOCK_BOOTTIME (the same
 * here: the enclave never sleeps), or on a CPU-time clock: CLOCK_PROCESS_CPUTIME_ID,
 * CLOCK_THREAD_CPUTIME_ID or one of clock_getcpuclockid/
 * pthread_getcpuclockid (cputime.c decodes them; the caller's process or
 * thread is the one at timer_create, as Linux). Each expiry sends its
 * signal to the process (SIGEV_SIGNAL), to one thread (SIGEV_THREAD_ID,
 * how glibc runs SIGEV_THREAD and Go's profiler its per-thread timers), or
 * nothing (SIGEV_NONE), with the timer's id and value in the siginfo; the
 * expiries while the signal is still pending are its overruns, counted
 * until the signal is taken (si_overrun, timer_getoverrun). The scheduler
 * fires the wall-clock ones with the alarms (itimer.c), cputime.c the
 * CPU-time ones where CPU time is charged. exec deletes them; fork does
 * not copy them, as Linux. */
#include "syscalls.h"

#define MAX_PTIMERS 32
#define NSEC 1000000000ull
#define SIGEV_SIGNAL 0
#define SIGEV_NONE 1
#define SIGEV_THREAD_ID 4
#define TIMER_ABSTIME 1

enum ptimer_clock {
	PT_WALL,    /* clock: REALTIME, MONOTONIC, BOOTTIME, TAI */
	PT_PROCESS, /* the CPU time of process target */
	PT_THREAD,  /* the CPU time of thread target (of the timer's process) */
	PT_GONE,    /* a CPU-time clock whose thread or process has ended */
};

struct ptimer {
	bool used;
	int clock; /* PT_WALL: the clock id */
	enum ptimer_clock kind;
	int which, target;  /* a CPU-time clock: CPUCLOCK_*, the pid or tid */
	uint64_t at, every; /* ns: monotonic, or of the CPU-time clock; at 0: disarmed */
	int notify, signo, tid;
	uint64_t value;
	int overrun, last_overrun;
};

static struct ptimer *timers_of(struct process *p, bool create)
{
	if (!p->ptimers && create)
		p->ptimers = kmalloc(MAX_PTIMERS * sizeof(struct ptimer));
	return p->ptimers;
}

void ptimers_clear(struct process *p)
{
	kfree(p->ptimers);
	p->ptimers = NULL;
}

static bool is_cpu(const struct ptimer *t) { return t->kind != PT_WALL; }

/* The timer's CPU-time clock now: false if its thread or process is gone.
 * The owner p's threads hold a thread clock's thread. */
static bool cpu_now(struct process *p, const struct ptimer *t, uint64_t *now)
{
	if (t->kind == PT_THREAD) {
		for (struct task *u = p->threads; u; u = u->sibling) {
			if (u->tid == t->target) {
				*now = cputime_read(p, u, t->which);
				return true;
			}
		}
		return false;
	}
	if (t->kind != PT_PROCESS)
		return false;
	struct process *q = t->target == p->pid ? p : process_by_pid(t->target);
	if (!q || q->zombie)
		return false;
	*now = cputime_read(q, NULL, t->which);
	return true;
}

/* An expiry at now (on the timer's clock). */
static void fire(struct process *p, int id, struct ptimer *t, uint64_t now)
{
	uint64_t late = t->every && now > t->at ? (now - t->at) / t->every : 0;
	t->at = t->every ? t->at + (late + 1) * t->every : 0;
	if (t->notify == SIGEV_NONE)
		return;
	struct task *to = t->notify == SIGEV_THREAD_ID ? task_by_tid(t->tid) : NULL;
	if (t->notify == SIGEV_THREAD_ID && (!to || to->proc != p))
		return; /* that thread is gone */
	int missed = (int)MIN(late, 0x7fffffffull);
	if (signal_pending_in(p, to, t->signo)) {
		t->overrun = t->overrun > 0x7fffffff - 1 - missed ? 0x7fffffff : t->overrun + 1 + missed;
		return;
	}
	t->overrun = missed;
	signal_send_timer(p, to, t->signo, id, missed, t->value);
}

int ptimer_taken(int id, int fallback)
{
	struct ptimer *ts = timers_of(curproc, false);
	if (!ts || id < 0 || id >= MAX_PTIMERS || !ts[id].used)
		return fallback;
	ts[id].last_overrun = ts[id].overrun;
	ts[id].overrun = 0;
	return ts[id].last_overrun;
}

void ptimers_fire(uint64_t now)
{
	for (struct process *p = process_first(); p; p = p->next) {
		if (!p->ptimers || p->zombie)
			continue;
		for (int i = 0; i < MAX_PTIMERS; i++) {
			struct ptimer *t = &p->ptimers[i];
			if (t->used && !is_cpu(t) && t->at && now >= t->at)
				fire(p, i, t, now);
		}
	}
}

uint64_t ptimers_next(void)
{
	uint64_t d = UINT64_MAX;
	for (struct process *p = process_first(); p; p = p->next)
		if (p->ptimers && !p->zombie)
			for (int i = 0; i < MAX_PTIMERS; i++)
				if (p->ptimers[i].used && !is_cpu(&p->ptimers[i]) && p->ptimers[i].at)
					d = MIN(d, p->ptimers[i].at);
	return d;
}

bool ptimers_cpu_fire(struct process *p)
{
	bool armed = false;
	for (int i = 0; p->ptimers && i < MAX_PTIMERS; i++) {
		struct ptimer *t = &p->ptimers[i];
		uint64_t now;
		if (!t->used || !is_cpu(t) || !t->at || !cpu_now(p, t, &now))
			continue;
		if (now >= t->at)
			fire(p, i, t, now);
		armed |= t->at != 0;
	}
	return armed;
}

uint64_t ptimers_cpu_left(struct process *p, struct task *t)
{
	uint64_t left = UINT64_MAX;
	for (int i = 0; p->ptimers && i < MAX_PTIMERS; i++) {
		struct ptimer *pt = &p->ptimers[i];
		uint64_t now;
		if (!pt->used || !pt->at)
			continue;
		if (pt->kind == PT_THREAD && pt->target == t->tid && t->proc == p && cpu_now(p, pt, &now))
			left = MIN(left, pt->at > now ? pt->at - now : 0);
		if (pt->kind == PT_PROCESS && pt->target == t->proc->pid && cpu_now(p, pt, &now))
			left = MIN(left,
				   (pt->at > now ? pt->at - now : 0) / (uint64_t)cputime_runners(t->proc, t));
	}
	return left;
}

void ptimers_thread_gone(struct task *t)
{
	for (int i = 0; t->proc->ptimers && i < MAX_PTIMERS; i++) {
		struct ptimer *pt = &t->proc->ptimers[i];
		if (pt->used && pt->kind == PT_THREAD && pt->target == t->tid)
			pt->kind = PT_GONE;
	}
}

void ptimers_process_gone(struct process *gone)
{
	for (struct process *p = process_first(); p; p = p->next) {
		for (int i = 0; p->ptimers && i < MAX_PTIMERS; i++) {
			struct ptimer *pt = &p->ptimers[i];
			if (pt->used && pt->kind == PT_PROCESS && pt->target == gone->pid)
				pt->kind = PT_GONE;
		}
	}
}

static struct ptimer *lookup(int id)
{
	struct ptimer *ts = timers_of(curproc, false);
	if (!ts || id < 0 || id >= MAX_PTIMERS || !ts[id].used)
		return NULL;
	return &ts[id];
}

/* The clock a new timer counts: a wall clock, or a CPU-time clock's
 * process or thread as it is now. */
static int timer_clock(int clock, struct ptimer *t)
{
	if (clock == 0 || clock == 1 || clock == 7 || clock == 11) {
		t->kind = PT_WALL;
		t->clock = clock;
		return 0;
	}
	/* MONOTONIC_RAW, the coarse clocks, the alarm clocks (no RTC to wake
	 * anything) and clock ids of the posix-clock descriptors (low bits 3)
	 * have no timers, as Linux. */
	if ((clock >= 4 && clock <= 9) || (clock < 0 && (clock & 7) == 3))
		return -EOPNOTSUPP;
	struct process *p;
	struct task *u;
	int r = cputime_decode(clock, &p, &u, &t->which);
	if (r < 0)
		return r;
	t->kind = u ? PT_THREAD : PT_PROCESS;
	t->target = u ? u->tid : p->pid;
	t->clock = clock;
	return 0;
}

/* struct sigevent: value (8 bytes), signo, notify, then the thread id. */
SYSCALL_DEFINE3(timer_create, int, clock, uaddr_t, sevp, uaddr_t, created)
{
	struct ptimer nt = {.used = true};
	int r = timer_clock(clock, &nt);
	if (r < 0)
		return r;
	int32_t ev[4] = {0, 0, SIGALRM, SIGEV_SIGNAL};
	uint64_t value = 0;
	int tid = 0;
	if (sevp) {
		int32_t raw[5];
		if (copy_from_user(raw, sevp, sizeof(raw)) < 0)
			return -EFAULT;
		memcpy(&value, raw, 8);
		ev[2] = raw[2];
		ev[3] = raw[3];
		tid = raw[4];
	}
	int notify = ev[3], signo = ev[2];
	if (notify != SIGEV_SIGNAL && notify != SIGEV_NONE && notify != SIGEV_THREAD_ID)
		return -EINVAL;
	if (notify != SIGEV_NONE && (signo <= 0 || signo > 64))
		return -EINVAL;
	if (notify == SIGEV_THREAD_ID) {
		struct task *t = task_by_tid(tid);
		if (!t || t->proc != curproc)
			return -EINVAL;
	}
	struct ptimer *ts = timers_of(curproc, true);
	if (!ts)
		return -ENOMEM;
	int id = 0;
	while (id < MAX_PTIMERS && ts[id].used)
		id++;
	if (id == MAX_PTIMERS)
		return -EAGAIN;
	if (copy_to_user(created, &id, sizeof(id)) < 0)
		return -EFAULT;
	nt.notify = notify;
	nt.signo = signo;
	nt.tid = tid;
	nt.value = sevp ? value : (uint64_t)id;
	ts[id] = nt;
	return 0;
}

static int get_spec(uaddr_t u, uint64_t *interval, uint64_t *value)
{
	int64_t ts[4];
	if (copy_from_user(ts, u, sizeof(ts)) < 0)
		return -EFAULT;
	for (int i = 0; i < 4; i += 2)
		if (ts[i] < 0 || ts[i + 1] < 0 || ts[i + 1] >= (int64_t)NSEC)
			return -EINVAL;
	*interval = (uint64_t)ts[0] * NSEC + (uint64_t)ts[1];
	*value = (uint64_t)ts[2] * NSEC + (uint64_t)ts[3];
	return 0;
}

/* The time left on the timer's own clock (a CPU-time clock's CPU time;
 * none once its thread or process is gone, as Linux). A SIGEV_NONE timer
 * that is due expires here: nobody else looks at it. */
static int put_spec(uaddr_t u, struct ptimer *t)
{
	uint64_t now = 0;
	bool alive = is_cpu(t) ? cpu_now(curproc, t, &now) : (now = time_ns(), true);
	if (alive && t->at && now >= t->at && t->notify == SIGEV_NONE)
		fire(curproc, (int)(t - curproc->ptimers), t, now);
	uint64_t left = !alive ? 0 : t->at > now ? t->at - now : (t->at ? 1 : 0);
	int64_t ts[4] = {(int64_t)(t->every / NSEC), (int64_t)(t->every % NSEC), (int64_t)(left / NSEC),
			 (int64_t)(left % NSEC)};
	return copy_to_user(u, ts, sizeof(ts));
}

/* clang-format off */
SYSCALL_DEFINE4(timer_settime, int, id, int, flags, uaddr_t, new_value,
		uaddr_t, old_value)
/* clang-format on */
{
	struct ptimer *t = lookup(id);
	if (!t)
		return -EINVAL;
	uint64_t every, value;
	int r = get_spec(new_value, &every, &value);
	if (r < 0)
		return r;
	uint64_t now;
	if (is_cpu(t) && !cpu_now(curproc, t, &now))
		return -ESRCH; /* its thread or process has ended */
	if (old_value && put_spec(old_value, t) < 0)
		return -EFAULT;
	if (!is_cpu(t))
		now = time_ns();
	if (!value) {
		t->at = 0;
	} else if (is_cpu(t)) {
		t->at = flags & TIMER_ABSTIME ? value : now + value;
	} else if (flags & TIMER_ABSTIME) {
		uint64_t base = t->clock == 0 || t->clock == 11 ? time_realtime_ns() : now;
		t->at = value > base ? now + (value - base) : now;
	} else {
		t->at = now + value;
	}
	t->every = t->at ? every : 0;
	t->overrun = t->last_overrun = 0;
	if (is_cpu(t) && t->at) {
		cputimers_armed(curproc);
		/* Already due: it fires now, even if that clock never moves
		 * again (as Linux). */
		if (now >= t->at && t->notify != SIGEV_NONE)
			fire(curproc, id, t, now);
	}
	sched_rearm();
	return 0;
}

SYSCALL_DEFINE2(timer_gettime, int, id, uaddr_t, value)
{
	struct ptimer *t = lookup(id);
	return t ? put_spec(value, t) : -EINVAL;
}

SYSCALL_DEFINE1(timer_getoverrun, int, id)
{
	struct ptimer *t = lookup(id);
	return t ? t->last_overrun : -EINVAL;
}

SYSCALL_DEFINE1(timer_delete, int, id)
{
	struct ptimer *t = lookup(id);
	if (!t)
		return -EINVAL;
	t->used = false;
	t->at = 0;
	return 0;
}
