/* alarm, setitimer and getitimer: ITIMER_REAL, the process's one real-time
 * timer, which sends SIGALRM when it expires and rearms itself by its
 * interval. The scheduler fires it (sched.c asks alarms_fire at every pick
 * and sets the LAPIC timer for the earliest alarm). ITIMER_VIRTUAL and
 * ITIMER_PROF count CPU time, which this kernel does not account: EINVAL. */
#include "syscalls.h"

#define ITIMER_REAL 0
#define NSEC 1000000000ull
#define USEC 1000ull

struct itimerval {
	int64_t interval_sec, interval_usec, value_sec, value_usec;
};

void alarms_fire(uint64_t now)
{
	ptimers_fire(now);
	for (struct process *p = process_first(); p; p = p->next) {
		if (!p->alarm_at || now < p->alarm_at || p->zombie)
			continue;
		signal_send(p, NULL, SIGALRM, 0);
		p->alarm_at = p->alarm_every ? MAX(p->alarm_at + p->alarm_every, now + 1) : 0;
	}
}

uint64_t alarms_next(void)
{
	uint64_t d = ptimers_next();
	for (struct process *p = process_first(); p; p = p->next)
		if (p->alarm_at && !p->zombie)
			d = MIN(d, p->alarm_at);
	return d;
}

static void current_value(struct itimerval *v)
{
	uint64_t now = time_ns(), left = curproc->alarm_at > now ? curproc->alarm_at - now : 0;
	if (curproc->alarm_at && !left)
		left = 1; /* due, not yet fired: still running */
	v->interval_sec = (int64_t)(curproc->alarm_every / NSEC);
	v->interval_usec = (int64_t)(curproc->alarm_every % NSEC / USEC);
	v->value_sec = (int64_t)(left / NSEC);
	v->value_usec = (int64_t)((left % NSEC + USEC - 1) / USEC);
}

static bool valid_tv(int64_t sec, int64_t usec) { return sec >= 0 && usec >= 0 && usec < 1000000; }

static void set_alarm(uint64_t value_ns, uint64_t interval_ns)
{
	curproc->alarm_at = value_ns ? time_ns() + value_ns : 0;
	curproc->alarm_every = value_ns ? interval_ns : 0;
	sched_rearm();
}

SYSCALL_DEFINE2(getitimer, int, which, uaddr_t, value)
{
	if (which != ITIMER_REAL)
		return -EINVAL;
	struct itimerval v;
	current_value(&v);
	return copy_to_user(value, &v, sizeof(v));
}

SYSCALL_DEFINE3(setitimer, int, which, uaddr_t, value, uaddr_t, ovalue)
{
	if (which != ITIMER_REAL)
		return -EINVAL;
	struct itimerval n = {0}, o;
	if (value && copy_from_user(&n, value, sizeof(n)) < 0)
		return -EFAULT;
	if (!valid_tv(n.value_sec, n.value_usec) || !valid_tv(n.interval_sec, n.interval_usec))
		return -EINVAL;
	current_value(&o);
	if (ovalue && copy_to_user(ovalue, &o, sizeof(o)) < 0)
		return -EFAULT;
	set_alarm((uint64_t)n.value_sec * NSEC + (uint64_t)n.value_usec * USEC,
		  (uint64_t)n.interval_sec * NSEC + (uint64_t)n.interval_usec * USEC);
	return 0;
}

/* The seconds left of the previous alarm, rounded as Linux rounds them. */
SYSCALL_DEFINE1(alarm, uint32_t, seconds)
{
	struct itimerval o;
	current_value(&o);
	int64_t left = o.value_sec + (o.value_usec >= 500000 || (!o.value_sec && o.value_usec));
	set_alarm((uint64_t)seconds * NSEC, 0);
	return left;
}
