/* Pipes: pipe, pipe2, and named pipes (mkfifo; sys_misc.c makes the vnode,
 * sys_fs.c's open comes here). A pipe is a 64 KiB byte ring with counts of
 * the open files that read and write it; which end an open file is comes
 * from its access mode (a FIFO opened O_RDWR is both). Writes of at most
 * PIPE_BUF bytes are all-or-nothing, as POSIX asks. SIGPIPE is not raised
 * (signals are not delivered here): a write with no reader is EPIPE. */
#include "file.h"
#include "syscalls.h"

#define PIPE_CAP 65536u
#define PIPE_BUF 4096u

struct pipe {
	struct ring ring;
	int readers, writers;
	uint64_t rd_seq, wr_seq; /* data or EOF arrived; room appeared */
	struct vnode *fifo;      /* the named pipe's vnode, NULL for pipe() */
};

static struct vnode pipe_vn = {.name = "pipe", .mode = S_IFIFO | 0600, .refs = 1};

/* Named pipes open now: vnode -> pipe. One process opens few. */
#define MAX_FIFOS 64
static struct pipe *fifos[MAX_FIFOS];

static bool reads(const struct file *f) { return (f->flags & O_ACCMODE) != O_WRONLY; }
static bool writes(const struct file *f) { return (f->flags & O_ACCMODE) != O_RDONLY; }

static bool readable(void *arg)
{
	struct pipe *p = arg;
	return p->ring.len || !p->writers;
}

static int64_t pipe_read(struct file *f, void *buf, uint64_t len, bool nonblock)
{
	struct pipe *p = f->priv;
	if (!len)
		return 0;
	if (!readable(p)) {
		if (nonblock || (f->flags & O_NONBLOCK))
			return -EAGAIN;
		int r = wait_until(readable, p, UINT64_MAX);
		if (r < 0)
			return r;
	}
	uint64_t n = ring_get(&p->ring, buf, len, false);
	if (n)
		p->wr_seq++;
	return (int64_t)n;
}

struct want_room {
	struct pipe *p;
	uint32_t n;
};
static bool has_room(void *arg)
{
	struct want_room *w = arg;
	return ring_room(&w->p->ring) >= w->n || !w->p->readers;
}

static int64_t pipe_write(struct file *f, const void *buf, uint64_t len, bool nonblock)
{
	struct pipe *p = f->priv;
	nonblock = nonblock || (f->flags & O_NONBLOCK);
	uint64_t done = 0;
	while (done < len || !len) {
		if (!p->readers)
			return done ? (int64_t)done : -EPIPE;
		if (!len)
			return 0;
		/* Small writes wait for room for all of it; large ones for any. */
		struct want_room w = {p, len - done <= PIPE_BUF ? (uint32_t)(len - done) : 1};
		if (!has_room(&w)) {
			if (nonblock)
				return done ? (int64_t)done : -EAGAIN;
			int r = wait_until(has_room, &w, UINT64_MAX);
			if (r < 0)
				return done ? (int64_t)done : r;
			continue;
		}
		int64_t r = ring_put(&p->ring, (const uint8_t *)buf + done, len - done);
		if (r < 0)
			return done ? (int64_t)done : r;
		done += (uint64_t)r;
		p->rd_seq++;
	}
	return (int64_t)done;
}

static short pipe_poll(struct file *f, short want, uint64_t *deadline)
{
	(void)want;
	(void)deadline;
	struct pipe *p = f->priv;
	short r = 0;
	if (reads(f)) {
		if (p->ring.len)
			r |= POLLIN | POLLRDNORM;
		if (!p->writers)
			r |= POLLHUP;
	}
	if (writes(f)) {
		if (ring_room(&p->ring) >= PIPE_BUF)
			r |= POLLOUT | POLLWRNORM;
		if (!p->readers)
			r |= POLLERR;
	}
	return r;
}

static int64_t pipe_ioctl(struct file *f, uint32_t cmd, uint64_t arg)
{
	struct pipe *p = f->priv;
	int n = (int)p->ring.len;
	return cmd == FIONREAD ? copy_to_user(arg, &n, sizeof(n)) : -ENOTTY;
}

static uint64_t pipe_seq(struct file *f, short want)
{
	struct pipe *p = f->priv;
	return (want & POLLIN ? p->rd_seq : 0) + (want & POLLOUT ? p->wr_seq : 0);
}

static void pipe_release(struct file *f)
{
	struct pipe *p = f->priv;
	if (reads(f) && --p->readers == 0)
		p->wr_seq++; /* writers see POLLERR */
	if (writes(f) && --p->writers == 0)
		p->rd_seq++; /* readers see EOF */
	if (p->readers || p->writers)
		return;
	if (p->fifo) {
		/* A named pipe forgets its bytes when nothing has it open. */
		for (int i = 0; i < MAX_FIFOS; i++)
			if (fifos[i] == p)
				fifos[i] = NULL;
		vn_unref(p->fifo);
	}
	ring_free(&p->ring);
	kfree(p);
}

static const struct file_ops pipe_ops = {.read = pipe_read,
					 .write = pipe_write,
					 .poll = pipe_poll,
					 .seq = pipe_seq,
					 .ioctl = pipe_ioctl,
					 .release = pipe_release};

static struct pipe *pipe_new(void)
{
	struct pipe *p = kmalloc(sizeof(*p));
	if (p)
		p->ring.cap = PIPE_CAP;
	return p;
}

static int64_t do_pipe2(uaddr_t ufds, uint64_t flags)
{
	if (flags & ~(uint64_t)(O_NONBLOCK | O_CLOEXEC))
		return -EINVAL;
	if (user_ok(ufds, 8, true) < 0)
		return -EFAULT;
	struct pipe *p = pipe_new();
	if (!p)
		return -ENOMEM;
	int nb = (int)(flags & O_NONBLOCK);
	struct file *rf = file_alloc(&pipe_ops, &pipe_vn, p, O_RDONLY | nb);
	struct file *wf = rf ? file_alloc(&pipe_ops, &pipe_vn, p, O_WRONLY | nb) : NULL;
	if (!wf) {
		if (rf) {
			rf->ops = NULL; /* p is freed here, not by a release */
			file_put(rf);
		}
		kfree(p);
		return -ENOMEM;
	}
	p->readers = p->writers = 1;
	int fds[2] = {fd_alloc(rf, 0, flags & O_CLOEXEC), -1};
	if (fds[0] >= 0)
		fds[1] = fd_alloc(wf, 0, flags & O_CLOEXEC);
	if (fds[1] < 0) {
		if (fds[0] >= 0)
			curproc->fds[fds[0]] = NULL;
		file_put(rf);
		file_put(wf);
		return -EMFILE;
	}
	return copy_to_user(ufds, fds, sizeof(fds));
}

SYSCALL_DEFINE1(pipe, uaddr_t, fildes) { return do_pipe2(fildes, 0); }
SYSCALL_DEFINE2(pipe2, uaddr_t, fildes, uint64_t, flags) { return do_pipe2(fildes, flags); }

struct fifo_wait {
	struct pipe *p;
	bool for_writer;
};
static bool counterpart(void *arg)
{
	struct fifo_wait *w = arg;
	return w->for_writer ? w->p->writers > 0 : w->p->readers > 0;
}

int fifo_open(struct vnode *v, int flags)
{
	struct pipe *p = NULL;
	int slot = -1;
	for (int i = 0; i < MAX_FIFOS; i++) {
		if (fifos[i] && fifos[i]->fifo == v)
			p = fifos[i];
		else if (!fifos[i] && slot < 0)
			slot = i;
	}
	int acc = flags & O_ACCMODE;
	if (!p && acc == O_WRONLY && (flags & O_NONBLOCK))
		return -ENXIO; /* no reader, and no waiting */
	if (!p) {
		if (slot < 0 || !(p = pipe_new()))
			return -ENOMEM;
		p->fifo = v;
		vn_ref(v);
		fifos[slot] = p;
	}
	if (acc == O_WRONLY && !p->readers && (flags & O_NONBLOCK))
		return -ENXIO;
	struct file *f = file_alloc(&pipe_ops, v, p, flags & ~O_CLOEXEC);
	if (!f)
		return -ENOMEM; /* p stays known; the next open or nothing uses it */
	if (acc != O_WRONLY)
		p->readers++;
	if (acc != O_RDONLY)
		p->writers++;
	/* Linux: opening one end blocks until the other is open, unless
	 * O_NONBLOCK or O_RDWR. */
	if (acc != O_RDWR && !(flags & O_NONBLOCK)) {
		struct fifo_wait w = {p, acc == O_RDONLY};
		int r = wait_until(counterpart, &w, UINT64_MAX);
		if (r < 0) {
			file_put(f);
			return r;
		}
	}
	int fd = fd_alloc(f, 0, flags & O_CLOEXEC);
	if (fd < 0)
		file_put(f);
	return fd;
}
