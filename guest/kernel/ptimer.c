/* POSIX timers: timer_create, timer_settime, timer_gettime,
 * timer_getoverrun, timer_delete. Up to 32 a process, on CLOCK_REALTIME,
 * CLOCK_TAI (the same here), CLOCK_MONOTONIC or CLOCK_BOOTTIME (the same
 * here: the enclave never sleeps); each expiry sends its signal to the
 * process (SIGEV_SIGNAL), to one thread (SIGEV_THREAD_ID, how glibc runs
 * SIGEV_THREAD), or nothing (SIGEV_NONE), with the timer's id and value in
 * the siginfo; the expiries while the signal is still pending are its
 * overruns, counted until the signal is taken (si_overrun,
 * timer_getoverrun), as Linux.
 * The scheduler fires them with the alarms (itimer.c). exec deletes them;
 * fork does not copy them, as Linux. */
#include "syscalls.h"

#define MAX_PTIMERS 32
#define NSEC 1000000000ull
#define SIGEV_SIGNAL 0
#define SIGEV_NONE 1
#define SIGEV_THREAD_ID 4
#define TIMER_ABSTIME 1
#define SI_TIMER (-2)

struct ptimer {
	bool used;
	int clock;
	uint64_t at, every; /* monotonic ns; at 0: disarmed */
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
		for (int i = 0; i < MAX_PTIMERS; i++)
			if (p->ptimers[i].used && p->ptimers[i].at && now >= p->ptimers[i].at)
				fire(p, i, &p->ptimers[i], now);
	}
}

uint64_t ptimers_next(void)
{
	uint64_t d = UINT64_MAX;
	for (struct process *p = process_first(); p; p = p->next)
		if (p->ptimers && !p->zombie)
			for (int i = 0; i < MAX_PTIMERS; i++)
				if (p->ptimers[i].used && p->ptimers[i].at)
					d = MIN(d, p->ptimers[i].at);
	return d;
}

static struct ptimer *lookup(int id)
{
	struct ptimer *ts = timers_of(curproc, false);
	if (!ts || id < 0 || id >= MAX_PTIMERS || !ts[id].used)
		return NULL;
	return &ts[id];
}

/* struct sigevent: value (8 bytes), signo, notify, then the thread id. */
SYSCALL_DEFINE3(timer_create, int, clock, uaddr_t, sevp, uaddr_t, created)
{
	/* MONOTONIC_RAW, the coarse clocks, the alarm clocks (no RTC to wake
	 * anything) and the ids of posix-clock descriptors have no timers, as
	 * Linux; nor, here, the CPU-time clocks (2, 3 and the negative ids). */
	if (clock != 0 && clock != 1 && clock != 7 && clock != 11)
		return (clock >= 2 && clock <= 9) || clock < 0 ? -EOPNOTSUPP : -EINVAL;
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
	ts[id] = (struct ptimer){.used = true, .clock = clock, .notify = notify, .signo = signo, .tid = tid};
	ts[id].value = sevp ? value : (uint64_t)id;
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

static int put_spec(uaddr_t u, const struct ptimer *t)
{
	uint64_t now = time_ns(), left = t->at > now ? t->at - now : (t->at ? 1 : 0);
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
	if (old_value && put_spec(old_value, t) < 0)
		return -EFAULT;
	uint64_t now = time_ns();
	if (!value) {
		t->at = 0;
	} else if (flags & TIMER_ABSTIME) {
		uint64_t base = t->clock == 0 || t->clock == 11 ? time_realtime_ns() : now;
		t->at = value > base ? now + (value - base) : now;
	} else {
		t->at = now + value;
	}
	t->every = t->at ? every : 0;
	t->overrun = t->last_overrun = 0;
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
