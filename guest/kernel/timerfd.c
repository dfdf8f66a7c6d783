/* timerfd: a timer read as a count of expirations. The expiry is kept on
 * the monotonic clock (an absolute CLOCK_REALTIME time is converted when
 * set: nothing here sets the wall clock); expirations are counted when
 * someone looks (read, poll, gettime), and a poll reports the next expiry
 * as its deadline, so waiting halts exactly until then. */
#include "file.h"
#include "syscalls.h"

#define NSEC 1000000000ull
#define TFD_TIMER_ABSTIME 1
#define TFD_TIMER_CANCEL_ON_SET 2

struct timerfd {
	int clock;
	bool armed;
	uint64_t next;     /* monotonic ns of the next expiry, when armed */
	uint64_t interval; /* ns; 0: one-shot */
	uint64_t ticks;    /* expirations not yet read */
	uint64_t total;    /* expirations ever: epoll's edge (file_ops.seq) */
};

static void tick(struct timerfd *t)
{
	uint64_t now = time_ns();
	if (!t->armed || now < t->next)
		return;
	if (!t->interval) {
		t->ticks++;
		t->total++;
		t->armed = false;
		return;
	}
	uint64_t n = (now - t->next) / t->interval + 1;
	t->ticks += n;
	t->total += n;
	t->next += n * t->interval;
}

static int64_t tfd_read(struct file *f, void *buf, uint64_t len, bool nonblock)
{
	struct timerfd *t = f->priv;
	if (len < 8)
		return -EINVAL;
	for (tick(t); !t->ticks; tick(t)) {
		if (nonblock || (f->flags & O_NONBLOCK))
			return -EAGAIN;
		if (wait_a_while(t->armed ? t->next : UINT64_MAX) < 0)
			return -ERESTARTSYS;
	}
	memcpy(buf, &t->ticks, 8);
	t->ticks = 0;
	return 8;
}

static short tfd_poll(struct file *f, short want, uint64_t *deadline)
{
	(void)want;
	struct timerfd *t = f->priv;
	tick(t);
	if (t->armed && t->next < *deadline)
		*deadline = t->next;
	return t->ticks ? POLLIN | POLLRDNORM : 0;
}

static uint64_t tfd_seq(struct file *f, short want)
{
	(void)want;
	return ((struct timerfd *)f->priv)->total;
}

static void tfd_release(struct file *f) { kfree(f->priv); }

static const struct file_ops timerfd_ops = {
	.read = tfd_read, .poll = tfd_poll, .seq = tfd_seq, .release = tfd_release};

static bool is_realtime(int clock) { return clock == 0 || clock == 8; }

SYSCALL_DEFINE2(timerfd_create, int, clockid, int, flags)
{
	/* REALTIME, MONOTONIC, BOOTTIME, REALTIME_ALARM, BOOTTIME_ALARM */
	if (clockid != 0 && clockid != 1 && clockid != 7 && clockid != 8 && clockid != 9)
		return -EINVAL;
	if (flags & ~(O_NONBLOCK | O_CLOEXEC))
		return -EINVAL;
	struct timerfd *t = kmalloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->clock = clockid;
	return file_install(&timerfd_ops, &anon_vn, t, O_RDWR | (flags & O_NONBLOCK), flags & O_CLOEXEC);
}

static int timer_of(int fd, struct timerfd **t)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (f->ops != &timerfd_ops)
		return -EINVAL;
	*t = f->priv;
	return 0;
}

static void ns_to_ts(uint64_t ns, int64_t ts[2])
{
	ts[0] = (int64_t)(ns / NSEC);
	ts[1] = (int64_t)(ns % NSEC);
}

/* struct itimerspec: interval, then value. */
static int put_itimerspec(uaddr_t u, struct timerfd *t)
{
	int64_t its[4];
	tick(t);
	uint64_t now = time_ns();
	ns_to_ts(t->interval, its);
	ns_to_ts(t->armed ? (t->next > now ? t->next - now : 1) : 0, its + 2);
	return copy_to_user(u, its, sizeof(its));
}

static bool ts_bad(const int64_t ts[2]) { return ts[0] < 0 || ts[1] < 0 || (uint64_t)ts[1] >= NSEC; }
static uint64_t ts_ns(const int64_t ts[2])
{
	return (uint64_t)ts[0] > UINT64_MAX / NSEC / 2 ? UINT64_MAX / 2
						       : (uint64_t)ts[0] * NSEC + (uint64_t)ts[1];
}

SYSCALL_DEFINE4(timerfd_settime, int, ufd, int, flags, uaddr_t, utmr, uaddr_t, otmr)
{
	struct timerfd *t;
	int r = timer_of(ufd, &t);
	if (r < 0)
		return r;
	if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
		return -EINVAL;
	int64_t its[4];
	if (copy_from_user(its, utmr, sizeof(its)) < 0)
		return -EFAULT;
	if (ts_bad(its) || ts_bad(its + 2))
		return -EINVAL;
	if (otmr && put_itimerspec(otmr, t) < 0)
		return -EFAULT;
	uint64_t value = ts_ns(its + 2), now = time_ns();
	t->interval = ts_ns(its);
	t->ticks = 0;
	t->armed = value != 0;
	if (!t->armed)
		return 0;
	if (flags & TFD_TIMER_ABSTIME) {
		uint64_t clock_now = is_realtime(t->clock) ? time_realtime_ns() : now;
		t->next = value > clock_now ? now + (value - clock_now) : now;
	} else {
		t->next = now + value;
	}
	return 0;
}

SYSCALL_DEFINE2(timerfd_gettime, int, ufd, uaddr_t, otmr)
{
	struct timerfd *t;
	int r = timer_of(ufd, &t);
	return r < 0 ? r : put_itimerspec(otmr, t);
}
