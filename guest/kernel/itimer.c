/* alarm, setitimer and getitimer: ITIMER_REAL, the process's one real-time
 * timer, which sends SIGALRM when it expires and rearms itself by its
 * interval (the scheduler fires it: sched.c asks alarms_fire at every pick
 * and sets the LAPIC timer for the earliest alarm); ITIMER_VIRTUAL and
 * ITIMER_PROF, on the process's CPU time (user time, and user and system
 * time), which send SIGVTALRM and SIGPROF (si_code SI_KERNEL, as Linux)
 * and are looked at where CPU time is charged (cputime.c). fork does not
 * copy them, exec keeps them, as Linux. */
#include "syscalls.h"

#define ITIMER_REAL 0
#define ITIMER_VIRTUAL 1
#define ITIMER_PROF 2
#define SIGVTALRM 26
#define SIGPROF 27
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
	cputimers_fire(NULL);
}

uint64_t alarms_next(void)
{
	uint64_t d = ptimers_next();
	for (struct process *p = process_first(); p; p = p->next)
		if (p->alarm_at && !p->zombie)
			d = MIN(d, p->alarm_at);
	return d;
}

/* A signal already pending anywhere in p is not sent again (Linux drops a
 * second one): a thread's timer signal pending with its own siginfo
 * (Go's profiler's, SI_TIMER) keeps it. */
static bool pending_anywhere(const struct process *p, int sig)
{
	if (signal_pending_in(p, NULL, sig))
		return true;
	for (const struct task *t = p->threads; t; t = t->sibling)
		if (signal_pending_in(p, t, sig))
			return true;
	return false;
}

static bool cpu_fire(struct process *p, struct cpu_itimer *it, uint64_t now, int sig)
{
	if (!it->at)
		return false;
	if (now < it->at)
		return true;
	it->at = it->every ? MAX(it->at + it->every, now + 1) : 0;
	if (!pending_anywhere(p, sig))
		signal_send_kernel(p, sig); /* signal_send brings a thread of p running elsewhere in */
	return it->at != 0;
}

bool itimers_cpu_fire(struct process *p, uint64_t user, uint64_t sys)
{
	bool virt = cpu_fire(p, &p->itimer_virt, user, SIGVTALRM);
	return cpu_fire(p, &p->itimer_prof, user + sys, SIGPROF) || virt;
}

uint64_t itimers_cpu_left(const struct process *p, uint64_t user, uint64_t sys)
{
	uint64_t left = UINT64_MAX;
	if (p->itimer_virt.at)
		left = p->itimer_virt.at > user ? p->itimer_virt.at - user : 0;
	if (p->itimer_prof.at)
		left = MIN(left, p->itimer_prof.at > user + sys ? p->itimer_prof.at - (user + sys) : 0);
	return left;
}

static void put_value(struct itimerval *v, uint64_t left, uint64_t every)
{
	v->interval_sec = (int64_t)(every / NSEC);
	v->interval_usec = (int64_t)(every % NSEC / USEC);
	v->value_sec = (int64_t)(left / NSEC);
	v->value_usec = (int64_t)((left % NSEC + USEC - 1) / USEC);
	if (v->value_usec == 1000000) {
		v->value_sec++;
		v->value_usec = 0;
	}
}

/* which's CPU time now, and its timer. */
static struct cpu_itimer *cpu_itimer(int which, uint64_t *now)
{
	uint64_t u, s;
	cputime_process(curproc, &u, &s);
	*now = which == ITIMER_VIRTUAL ? u : u + s;
	return which == ITIMER_VIRTUAL ? &curproc->itimer_virt : &curproc->itimer_prof;
}

static void current_value(int which, struct itimerval *v)
{
	if (which != ITIMER_REAL) {
		uint64_t now;
		struct cpu_itimer *it = cpu_itimer(which, &now);
		/* due, not yet fired: still running */
		put_value(v, it->at > now ? it->at - now : it->at ? 1 : 0, it->every);
		return;
	}
	uint64_t now = time_ns(), left = curproc->alarm_at > now ? curproc->alarm_at - now : 0;
	if (curproc->alarm_at && !left)
		left = 1; /* due, not yet fired: still running */
	put_value(v, left, curproc->alarm_every);
}

static bool valid_tv(int64_t sec, int64_t usec) { return sec >= 0 && usec >= 0 && usec < 1000000; }

static void set_alarm(uint64_t value_ns, uint64_t interval_ns)
{
	curproc->alarm_at = value_ns ? time_ns() + value_ns : 0;
	curproc->alarm_every = value_ns ? interval_ns : 0;
	sched_rearm();
}

/* The interval stays as given when the value is 0 (getitimer shows it),
 * as Linux keeps it. */
static void set_cpu(int which, uint64_t value_ns, uint64_t interval_ns)
{
	uint64_t now;
	struct cpu_itimer *it = cpu_itimer(which, &now);
	it->at = value_ns ? now + value_ns : 0;
	it->every = interval_ns;
	if (it->at) {
		cputimers_armed(curproc);
		sched_rearm();
	}
}

SYSCALL_DEFINE2(getitimer, int, which, uaddr_t, value)
{
	if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
		return -EINVAL;
	struct itimerval v;
	current_value(which, &v);
	return copy_to_user(value, &v, sizeof(v));
}

SYSCALL_DEFINE3(setitimer, int, which, uaddr_t, value, uaddr_t, ovalue)
{
	if (which != ITIMER_REAL && which != ITIMER_VIRTUAL && which != ITIMER_PROF)
		return -EINVAL;
	struct itimerval n = {0}, o;
	if (value && copy_from_user(&n, value, sizeof(n)) < 0)
		return -EFAULT;
	if (!valid_tv(n.value_sec, n.value_usec) || !valid_tv(n.interval_sec, n.interval_usec))
		return -EINVAL;
	current_value(which, &o);
	if (ovalue && copy_to_user(ovalue, &o, sizeof(o)) < 0)
		return -EFAULT;
	uint64_t value_ns = (uint64_t)n.value_sec * NSEC + (uint64_t)n.value_usec * USEC;
	uint64_t interval_ns = (uint64_t)n.interval_sec * NSEC + (uint64_t)n.interval_usec * USEC;
	if (which == ITIMER_REAL)
		set_alarm(value_ns, interval_ns);
	else
		set_cpu(which, value_ns, interval_ns);
	return 0;
}

/* The seconds left of the previous alarm, rounded as Linux rounds them. */
SYSCALL_DEFINE1(alarm, uint32_t, seconds)
{
	struct itimerval o;
	current_value(ITIMER_REAL, &o);
	int64_t left = o.value_sec + (o.value_usec >= 500000 || (!o.value_sec && o.value_usec));
	set_alarm((uint64_t)seconds * NSEC, 0);
	return left;
}
