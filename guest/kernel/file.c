/* Open files of the struct file_ops kinds (file.h): creating them, asking
 * any open file what it is ready for, and waiting. */
#include "file.h"
#include "virtio.h"

struct vnode anon_vn = {.name = "anon_inode", .mode = 0600, .refs = 1};

struct file *file_alloc(const struct file_ops *ops, struct vnode *vn, void *priv, int flags)
{
	struct file *f = file_new(vn, flags);
	if (!f)
		return NULL;
	f->ops = ops;
	f->priv = priv;
	return f;
}

int file_install(const struct file_ops *ops, struct vnode *vn, void *priv, int flags, bool cloexec)
{
	struct file *f = file_alloc(ops, vn, priv, flags);
	if (!f) {
		struct file tmp = {.ops = ops, .priv = priv};
		ops->release(&tmp);
		return -ENOMEM;
	}
	int fd = fd_alloc(f, 0, cloexec);
	if (fd < 0)
		file_put(f);
	return fd;
}

short file_poll(struct file *f, short want, uint64_t *deadline)
{
	if (f->ops)
		return (short)(f->ops->poll(f, want, deadline) & (want | POLLERR | POLLHUP));
	if (!f->vn)
		return 0;
	if (f->vn->dev == DEV_VSOCK)
		return vs_poll(f->sock, want);
	short r = 0;
	if (f->vn->dev == DEV_CONSOLE) {
		if ((want & POLLIN) && console_readable())
			r |= POLLIN;
	} else {
		r |= want & POLLIN; /* regular files, directories, devices: always */
	}
	return (short)(r | (want & POLLOUT));
}

/* The console raises no interrupt; devices do (virtio.c). */
static bool something_happened(void) { return vdev_event() || console_readable(); }

int wait_a_while(uint64_t deadline)
{
	return time_sleep_until(deadline, something_happened) < 0 ? -ERESTARTSYS : 0;
}

int wait_until(bool (*cond)(void *), void *arg, uint64_t deadline)
{
	while (!cond(arg)) {
		if (time_ns() >= deadline)
			return -ETIMEDOUT;
		if (task_interrupted())
			return -ERESTARTSYS;
		sched_sleep_cond(cond, arg, deadline);
	}
	return 0;
}

void file_forget(struct file *f)
{
	epoll_forget(f);
	flock_forget(f);
}
