/* eventfd: a 64-bit counter. write adds, read takes the whole count (or
 * one, in semaphore mode) and waits while it is zero; a write that would
 * take the count past 2^64-2 waits for a read. */
#include "file.h"
#include "syscalls.h"

#define EFD_SEMAPHORE 1
#define EFD_MAX 0xfffffffffffffffeull

struct eventfd {
	uint64_t count;
	uint64_t rd_seq, wr_seq; /* writes and reads done: epoll's edges */
	bool semaphore;
};

static bool nonzero(void *arg) { return ((struct eventfd *)arg)->count > 0; }

static int64_t efd_read(struct file *f, void *buf, uint64_t len, bool nonblock)
{
	struct eventfd *e = f->priv;
	if (len < 8)
		return -EINVAL;
	if (!e->count) {
		if (nonblock || (f->flags & O_NONBLOCK))
			return -EAGAIN;
		int r = wait_until(nonzero, e, UINT64_MAX);
		if (r < 0)
			return r;
	}
	uint64_t v = e->semaphore ? 1 : e->count;
	e->count -= v;
	e->wr_seq++;
	memcpy(buf, &v, 8);
	return 8;
}

struct add {
	struct eventfd *e;
	uint64_t v;
};
static bool fits(void *arg)
{
	struct add *a = arg;
	return a->v <= EFD_MAX - a->e->count;
}

static int64_t efd_write(struct file *f, const void *buf, uint64_t len, bool nonblock)
{
	struct eventfd *e = f->priv;
	if (len < 8)
		return -EINVAL;
	struct add a = {e, 0};
	memcpy(&a.v, buf, 8);
	if (a.v == UINT64_MAX)
		return -EINVAL;
	if (!fits(&a)) {
		if (nonblock || (f->flags & O_NONBLOCK))
			return -EAGAIN;
		int r = wait_until(fits, &a, UINT64_MAX);
		if (r < 0)
			return r;
	}
	e->count += a.v;
	e->rd_seq++;
	return 8;
}

static short efd_poll(struct file *f, short want, uint64_t *deadline)
{
	(void)want;
	(void)deadline;
	struct eventfd *e = f->priv;
	short r = 0;
	if (e->count)
		r |= POLLIN | POLLRDNORM;
	if (e->count < EFD_MAX)
		r |= POLLOUT | POLLWRNORM;
	return r;
}

static uint64_t efd_seq(struct file *f, short want)
{
	struct eventfd *e = f->priv;
	return (want & POLLIN ? e->rd_seq : 0) + (want & POLLOUT ? e->wr_seq : 0);
}

static void efd_release(struct file *f) { kfree(f->priv); }

static const struct file_ops eventfd_ops = {
	.read = efd_read, .write = efd_write, .poll = efd_poll, .seq = efd_seq, .release = efd_release};

static int64_t do_eventfd(uint32_t initval, uint32_t flags)
{
	if (flags & ~(uint32_t)(EFD_SEMAPHORE | O_NONBLOCK | O_CLOEXEC))
		return -EINVAL;
	struct eventfd *e = kmalloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->count = initval;
	e->semaphore = flags & EFD_SEMAPHORE;
	return file_install(&eventfd_ops, &anon_vn, e, O_RDWR | (int)(flags & O_NONBLOCK), flags & O_CLOEXEC);
}

SYSCALL_DEFINE1(eventfd, uint32_t, count) { return do_eventfd(count, 0); }
SYSCALL_DEFINE2(eventfd2, uint32_t, count, uint32_t, flags) { return do_eventfd(count, flags); }
