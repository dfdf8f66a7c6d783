/* Clocks, sleeps and waiting for the console: clock_gettime and friends,
 * nanosleep, poll/ppoll/select/pselect6. Waiting halts the CPU (time.c). */
#include "file.h"
#include "syscalls.h"

#define NSEC 1000000000ull

#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3

static bool is_cpu_clock(uint64_t id)
{
	return id == CLOCK_PROCESS_CPUTIME_ID || id == CLOCK_THREAD_CPUTIME_ID || (int64_t)(int32_t)id < 0;
}

/* clockid_t is an int: a CPU clock of another thread or process is negative
 * (cputime.c). */
static int clock_now(uint64_t id, uint64_t *ns)
{
	if (is_cpu_clock(id))
		return cputime_clock((int32_t)id, ns);
	switch (id) {
	case 0:
	case 5:
	case 8:
	case 11: /* REALTIME, _COARSE, _ALARM, TAI */ *ns = time_realtime_ns(); return 0;
	case 1:
	case 4:
	case 6:
	case 7:
	case 9: *ns = time_ns(); return 0;
	default: return -EINVAL;
	}
}

SYSCALL_DEFINE2(clock_gettime, uint64_t, which_clock, uaddr_t, tp)
{
	uint64_t ns;
	int r = clock_now(which_clock, &ns);
	if (r < 0)
		return r;
	int64_t ts[2] = {(int64_t)(ns / NSEC), (int64_t)(ns % NSEC)};
	return copy_to_user(tp, ts, sizeof(ts));
}

SYSCALL_DEFINE2(clock_getres, uint64_t, which_clock, uaddr_t, tp)
{
	uint64_t ns;
	int r = clock_now(which_clock, &ns);
	if (r < 0)
		return r;
	int64_t ts[2] = {0, 1};
	return tp ? copy_to_user(tp, ts, sizeof(ts)) : 0;
}

SYSCALL_DEFINE2(gettimeofday, uaddr_t, tv, uaddr_t, tz)
{
	uint64_t ns = time_realtime_ns();
	int64_t ktv[2] = {(int64_t)(ns / NSEC), (int64_t)(ns % NSEC / 1000)};
	if (tv && copy_to_user(tv, ktv, sizeof(ktv)) < 0)
		return -EFAULT;
	if (tz) {
		int32_t ktz[2] = {0, 0};
		if (copy_to_user(tz, ktz, sizeof(ktz)) < 0)
			return -EFAULT;
	}
	return 0;
}

SYSCALL_DEFINE1(time, uaddr_t, tloc)
{
	int64_t t = (int64_t)(time_realtime_ns() / NSEC);
	if (tloc && copy_to_user(tloc, &t, 8) < 0)
		return -EFAULT;
	return t;
}

static int get_ts(uint64_t uts, uint64_t *ns)
{
	int64_t ts[2];
	if (copy_from_user(ts, uts, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || (uint64_t)ts[1] >= NSEC)
		return -EINVAL;
	*ns = (uint64_t)ts[0] > UINT64_MAX / NSEC / 2 ? UINT64_MAX / 2
						      : (uint64_t)ts[0] * NSEC + (uint64_t)ts[1];
	return 0;
}

/* A sleep a signal may end early: EINTR, with what was left in rem. */
static int64_t sleep_until(uint64_t deadline, uaddr_t rem)
{
	if (time_sleep_until(deadline, NULL) == 0)
		return 0;
	uint64_t now = time_ns(), left = deadline > now ? deadline - now : 0;
	int64_t ts[2] = {(int64_t)(left / NSEC), (int64_t)(left % NSEC)};
	if (rem && copy_to_user(rem, ts, sizeof(ts)) < 0)
		return -EFAULT;
	return -EINTR;
}

SYSCALL_DEFINE2(nanosleep, uaddr_t, req, uaddr_t, rem)
{
	uint64_t ns;
	int r = get_ts(req, &ns);
	if (r < 0)
		return r;
	return sleep_until(time_ns() + ns, rem);
}

#define TIMER_ABSTIME 1

SYSCALL_DEFINE4(clock_nanosleep, uint64_t, which_clock, int, flags, uaddr_t, req, uaddr_t, rem)
{
	uint64_t ns, now;
	if (is_cpu_clock(which_clock))
		return -EINVAL; /* sleeping on a CPU clock: Linux's EINVAL for a thread's */
	int r = clock_now(which_clock, &now);
	if (r < 0 || (r = get_ts(req, &ns)) < 0)
		return r;
	uint64_t mono = time_ns();
	uint64_t deadline = (flags & TIMER_ABSTIME) ? (ns > now ? mono + (ns - now) : mono) : mono + ns;
	return sleep_until(deadline, (flags & TIMER_ABSTIME) ? 0 : rem);
}

static short ready_events(int fd, short want, uint64_t *deadline)
{
	struct file *f = fd_get(fd);
	return f ? file_poll(f, want, deadline) : POLLNVAL;
}

struct pollfd {
	int fd;
	short events, revents;
};

#define MAX_POLL 256

/* timeout_ns UINT64_MAX: forever. Sleeps in 10 ms halts between checks: the
 * console raises no interrupt. */
static int64_t do_poll(uint64_t ufds, uint64_t n, uint64_t timeout_ns)
{
	if (n > MAX_POLL)
		return -EINVAL;
	struct pollfd fds[MAX_POLL]; /* 2 KiB of the task's stack: tasks sleep in here */
	if (copy_from_user(fds, ufds, n * sizeof(fds[0])) < 0)
		return -EFAULT;
	uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : time_ns() + timeout_ns;
	for (;;) {
		int64_t count = 0;
		uint64_t wake = deadline;
		for (uint64_t i = 0; i < n; i++) {
			fds[i].revents = fds[i].fd < 0 ? 0 : ready_events(fds[i].fd, fds[i].events, &wake);
			if (fds[i].revents)
				count++;
		}
		uint64_t now = time_ns();
		if (count || now >= deadline) {
			if (copy_to_user(ufds, fds, n * sizeof(fds[0])) < 0)
				return -EFAULT;
			return count;
		}
		if (wait_a_while(wake) < 0)
			return -ERESTARTSYS;
	}
}

SYSCALL_DEFINE3(poll, uaddr_t, ufds, uint64_t, nfds, int, timeout_msecs)
{
	return do_poll(ufds, nfds, timeout_msecs < 0 ? UINT64_MAX : (uint64_t)timeout_msecs * 1000000ull);
}

SYSCALL_DEFINE5(ppoll, uaddr_t, ufds, uint64_t, nfds, uaddr_t, tsp, uaddr_t, sigmask, uint64_t, sigsetsize)
{
	uint64_t ns = UINT64_MAX;
	if (tsp) {
		int r = get_ts(tsp, &ns);
		if (r < 0)
			return r;
	}
	return do_poll(ufds, nfds, ns);
}

static int64_t do_select(uint64_t nfds, uint64_t ur, uint64_t uw, uint64_t ue, uint64_t timeout_ns)
{
	if (nfds > MAX_FDS)
		nfds = MAX_FDS;
	uint64_t words = (nfds + 63) / 64;
	uint64_t rs[MAX_FDS / 64] = {0}, ws[MAX_FDS / 64] = {0}, orr[MAX_FDS / 64], ow[MAX_FDS / 64];
	if ((ur && copy_from_user(rs, ur, words * 8) < 0) || (uw && copy_from_user(ws, uw, words * 8) < 0))
		return -EFAULT;
	uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : time_ns() + timeout_ns;
	for (;;) {
		int64_t count = 0;
		uint64_t wake = deadline;
		for (uint64_t w = 0; w < words; w++) {
			orr[w] = ow[w] = 0;
			for (int b = 0; b < 64; b++) {
				int fd = (int)(w * 64 + (uint64_t)b);
				bool r = rs[w] >> b & 1, wr = ws[w] >> b & 1;
				if (!r && !wr)
					continue;
				short ev = ready_events(fd, (short)((r ? POLLIN : 0) | (wr ? POLLOUT : 0)),
							&wake);
				if (ev & POLLNVAL)
					return -EBADF;
				if (ev & (POLLIN | POLLHUP | POLLERR) && r) {
					orr[w] |= 1ull << b;
					count++;
				}
				if (ev & (POLLOUT | POLLERR) && wr) {
					ow[w] |= 1ull << b;
					count++;
				}
			}
		}
		uint64_t now = time_ns();
		if (count || now >= deadline) {
			uint64_t zero[MAX_FDS / 64] = {0};
			if ((ur && copy_to_user(ur, orr, words * 8) < 0) ||
			    (uw && copy_to_user(uw, ow, words * 8) < 0) ||
			    (ue && copy_to_user(ue, zero, words * 8) < 0))
				return -EFAULT;
			return count;
		}
		if (wait_a_while(wake) < 0)
			return -ERESTARTSYS;
	}
}

SYSCALL_DEFINE5(select, uint64_t, nfds, uaddr_t, readfds, uaddr_t, writefds, uaddr_t, exceptfds, uaddr_t, tvp)
{
	uint64_t ns = UINT64_MAX;
	if (tvp) {
		int64_t tv[2];
		if (copy_from_user(tv, tvp, sizeof(tv)) < 0)
			return -EFAULT;
		if (tv[0] < 0 || tv[1] < 0)
			return -EINVAL;
		ns = (uint64_t)tv[0] * NSEC + (uint64_t)tv[1] * 1000;
	}
	return do_select(nfds, readfds, writefds, exceptfds, ns);
}

/* clang-format off */
SYSCALL_DEFINE6(pselect6, uint64_t, nfds, uaddr_t, readfds, uaddr_t, writefds, uaddr_t, exceptfds,
		uaddr_t, tsp, uaddr_t, sig)
/* clang-format on */
{
	uint64_t ns = UINT64_MAX;
	if (tsp) {
		int r = get_ts(tsp, &ns);
		if (r < 0)
			return r;
	}
	return do_select(nfds, readfds, writefds, exceptfds, ns);
}
