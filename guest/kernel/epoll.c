/* epoll: a set of (open file, descriptor) items, each with the events it
 * wants and the caller's data. epoll_wait asks each item's file what it is
 * ready for (file_poll) and halts until one is or the timeout passes.
 *
 * Level-triggered items are reported while ready. EPOLLET items are
 * reported when their file has had a wake-up for the wanted events since
 * the last report (file_ops.seq: data arriving, room appearing, a timer
 * expiring), or, for kinds without that count (vsock, console), when the
 * ready mask gains a bit. EPOLLONESHOT items fall silent after one report
 * until EPOLL_CTL_MOD. An item goes when its open file's last reference
 * does (epoll_forget), not when one descriptor to it is closed: as Linux. */
#include "file.h"
#include "syscalls.h"

#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3
#define EPOLLEXCLUSIVE (1u << 28)
#define EPOLLWAKEUP (1u << 29)
#define EPOLLONESHOT (1u << 30)
#define EPOLLET (1u << 31)
#define EP_MAX_EVENTS (0x7fffffff / 12)

struct epoll_event {
	uint32_t events;
	uint64_t data;
} __attribute__((packed));

struct epitem {
	struct file *file;
	int fd;
	uint32_t events; /* wanted, with EPOLLET/EPOLLONESHOT */
	uint64_t data;
	bool disabled; /* EPOLLONESHOT: reported */
	uint64_t seen_seq;
	short seen_mask;
	struct epitem *next;
};

struct epoll {
	struct epitem *items; /* in the order added */
	struct epoll *next;   /* all sets, for epoll_forget */
};

static struct epoll *all_sets;
static const struct file_ops epoll_ops;

static short item_want(const struct epitem *it) { return (short)(it->events & 0xffff); }

/* The events to report for it now (0: none), updating its edge state. With
 * consume false nothing changes (epoll's own poll). */
static uint32_t item_check(struct epitem *it, uint64_t *deadline, bool consume)
{
	if (it->disabled)
		return 0;
	short want = item_want(it);
	short ready = (short)(file_poll(it->file, want, deadline) & (want | POLLERR | POLLHUP));
	if (!(it->events & EPOLLET))
		return (uint16_t)ready;
	const struct file_ops *ops = it->file->ops;
	uint64_t seq = ops && ops->seq ? ops->seq(it->file, want) : it->seen_seq;
	bool edge = ready && (seq != it->seen_seq || (ready & ~it->seen_mask));
	if (consume) {
		it->seen_mask = ready;
		if (edge)
			it->seen_seq = seq;
	}
	return edge ? (uint16_t)ready : 0;
}

static short epoll_poll(struct file *f, short want, uint64_t *deadline)
{
	(void)want;
	struct epoll *ep = f->priv;
	for (struct epitem *it = ep->items; it; it = it->next)
		if (it->file != f && item_check(it, deadline, false))
			return POLLIN | POLLRDNORM;
	return 0;
}

static void epoll_release(struct file *f)
{
	struct epoll *ep = f->priv;
	for (struct epoll **pp = &all_sets; *pp; pp = &(*pp)->next) {
		if (*pp == ep) {
			*pp = ep->next;
			break;
		}
	}
	while (ep->items) {
		struct epitem *it = ep->items;
		ep->items = it->next;
		kfree(it);
	}
	kfree(ep);
}

static const struct file_ops epoll_ops = {.poll = epoll_poll, .release = epoll_release};

void epoll_forget(struct file *f)
{
	for (struct epoll *ep = all_sets; ep; ep = ep->next) {
		for (struct epitem **pp = &ep->items; *pp;) {
			struct epitem *it = *pp;
			if (it->file == f) {
				*pp = it->next;
				kfree(it);
			} else {
				pp = &it->next;
			}
		}
	}
}

static int64_t do_create(int flags)
{
	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	struct epoll *ep = kmalloc(sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	ep->next = all_sets;
	all_sets = ep;
	return file_install(&epoll_ops, &anon_vn, ep, O_RDWR, flags & O_CLOEXEC);
}

SYSCALL_DEFINE1(epoll_create, int, size) { return size <= 0 ? -EINVAL : do_create(0); }
SYSCALL_DEFINE1(epoll_create1, int, flags) { return do_create(flags); }

static int epoll_of(int epfd, struct epoll **ep)
{
	struct file *f = fd_get(epfd);
	if (!f)
		return -EBADF;
	if (f->ops != &epoll_ops)
		return -EINVAL;
	*ep = f->priv;
	return 0;
}

/* Whether adding f to ep would make a loop of sets (ELOOP). */
static bool reaches(struct file *f, struct epoll *ep, int depth)
{
	if (f->ops != &epoll_ops)
		return false;
	if (f->priv == ep || depth > 4)
		return true;
	struct epoll *inner = f->priv;
	for (struct epitem *it = inner->items; it; it = it->next)
		if (reaches(it->file, ep, depth + 1))
			return true;
	return false;
}

SYSCALL_DEFINE4(epoll_ctl, int, epfd, int, op, int, fd, uaddr_t, event)
{
	struct epoll_event ev = {0, 0};
	if (op != EPOLL_CTL_DEL && copy_from_user(&ev, event, sizeof(ev)) < 0)
		return -EFAULT;
	struct epoll *ep = NULL;
	struct file *tf = fd_get(fd);
	int r = epoll_of(epfd, &ep);
	if (r == -EBADF || !tf)
		return -EBADF;
	if (tf->vn && !tf->ops && (vn_is_reg(tf->vn) || vn_is_dir(tf->vn)))
		return -EPERM; /* always ready: Linux refuses them */
	if (r < 0 || fd == epfd)
		return -EINVAL;
	if ((ev.events & EPOLLEXCLUSIVE) &&
	    (op == EPOLL_CTL_MOD || tf->ops == &epoll_ops ||
	     (ev.events &
	      ~(uint32_t)(EPOLLEXCLUSIVE | EPOLLET | EPOLLWAKEUP | 0x1 | 0x4 | 0x8 | 0x10 | 0x2000))))
		return -EINVAL;
	struct epitem **pp = &ep->items;
	while (*pp && ((*pp)->file != tf || (*pp)->fd != fd))
		pp = &(*pp)->next;
	struct epitem *it = *pp;
	switch (op) {
	case EPOLL_CTL_ADD:
		if (it)
			return -EEXIST;
		if (reaches(tf, ep, 0))
			return -ELOOP;
		if (!(it = kmalloc(sizeof(*it))))
			return -ENOMEM;
		it->file = tf;
		it->fd = fd;
		*pp = it; /* at the end: reports come in the order added */
		break;
	case EPOLL_CTL_MOD:
		if (!it)
			return -ENOENT;
		if (it->events & EPOLLEXCLUSIVE)
			return -EINVAL;
		break;
	case EPOLL_CTL_DEL:
		if (!it)
			return -ENOENT;
		*pp = it->next;
		kfree(it);
		return 0;
	default: return -EINVAL;
	}
	it->events = ev.events | POLLERR | POLLHUP;
	it->data = ev.data;
	it->disabled = false;
	/* An item already ready is reported once, as a new wake-up would. */
	it->seen_mask = 0;
	const struct file_ops *ops = tf->ops;
	it->seen_seq = ops && ops->seq ? ops->seq(tf, item_want(it)) : 0;
	return 0;
}

/* timeout_ns UINT64_MAX: forever. */
static int64_t do_wait(int epfd, uaddr_t uevents, int maxevents, uint64_t timeout_ns)
{
	struct epoll *ep;
	if (maxevents <= 0 || maxevents > EP_MAX_EVENTS)
		return -EINVAL;
	if (user_ok(uevents, (uint64_t)maxevents * sizeof(struct epoll_event), true) < 0)
		return -EFAULT;
	int r = epoll_of(epfd, &ep);
	if (r < 0)
		return r;
	uint64_t deadline = timeout_ns == UINT64_MAX ? UINT64_MAX : time_ns() + timeout_ns;
	for (;;) {
		int n = 0;
		uint64_t wake = deadline;
		for (struct epitem *it = ep->items; it && n < maxevents; it = it->next) {
			uint32_t got = item_check(it, &wake, true);
			if (!got)
				continue;
			struct epoll_event ev = {got, it->data};
			memcpy((uint8_t *)uevents + (uint64_t)n * sizeof(ev), &ev, sizeof(ev));
			n++;
			if (it->events & EPOLLONESHOT)
				it->disabled = true;
		}
		if (n || time_ns() >= deadline)
			return n;
		if (wait_a_while(wake) < 0)
			return timeout_ns == UINT64_MAX ? -ERESTARTSYS : -EINTR;
	}
}

static uint64_t ms_timeout(int ms) { return ms < 0 ? UINT64_MAX : (uint64_t)ms * 1000000ull; }

SYSCALL_DEFINE4(epoll_wait, int, epfd, uaddr_t, events, int, maxevents, int, timeout)
{
	return do_wait(epfd, events, maxevents, ms_timeout(timeout));
}

/* Signals are not delivered here, so the mask has nothing to change. */
/* clang-format off */
SYSCALL_DEFINE6(epoll_pwait, int, epfd, uaddr_t, events, int, maxevents, int, timeout,
		uaddr_t, sigmask, uint64_t, sigsetsize)
/* clang-format on */
{
	if (sigmask && sigsetsize != 8)
		return -EINVAL;
	return do_wait(epfd, events, maxevents, ms_timeout(timeout));
}

/* clang-format off */
SYSCALL_DEFINE6(epoll_pwait2, int, epfd, uaddr_t, events, int, maxevents, uaddr_t, timeout,
		uaddr_t, sigmask, uint64_t, sigsetsize)
/* clang-format on */
{
	if (sigmask && sigsetsize != 8)
		return -EINVAL;
	uint64_t ns = UINT64_MAX;
	if (timeout) {
		int64_t ts[2];
		if (copy_from_user(ts, timeout, sizeof(ts)) < 0)
			return -EFAULT;
		if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
			return -EINVAL;
		ns = (uint64_t)ts[0] > UINT64_MAX / 2000000000ull
			? UINT64_MAX / 2
			: (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
	}
	return do_wait(epfd, events, maxevents, ns);
}
