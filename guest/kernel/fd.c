/* Open files and the descriptor table. stdin, stdout and stderr are the
 * console; /dev/null, /dev/zero, /dev/urandom, /dev/random and /dev/console
 * are character devices in the tree, beside the directory /dev/shm. */
#include "errno.h"
#include "file.h"
#include "proc.h"
#include "virtio.h"

struct file *file_new(struct vnode *vn, int flags)
{
	struct file *f = kmalloc(sizeof(*f));
	if (!f)
		return NULL;
	f->vn = vn;
	f->flags = flags;
	f->refs = 1;
	if (vn)
		vn_ref(vn);
	return f;
}

static void file_free(struct file *f)
{
	file_forget(f);
	if (f->sock)
		vs_close(f->sock);
	if (f->ops)
		f->ops->release(f);
	if (f->vn)
		vn_unref(f->vn);
	kfree(f);
}

void file_put(struct file *f)
{
	if (--f->refs > 0) {
		if (is_unix_sock(f))
			unix_file_dropped();
		return;
	}
	file_free(f);
}

int fd_alloc(struct file *f, int min, bool cloexec)
{
	for (int fd = min; fd < MAX_FDS; fd++) {
		if (!curproc->fds[fd]) {
			curproc->fds[fd] = f;
			curproc->fd_flags[fd] = cloexec ? FD_CLOEXEC : 0;
			return fd;
		}
	}
	return -EMFILE;
}

/* Kept for the rest of the system call (task.h, held). */
static void hold(struct file *f)
{
	struct task *t = current;
	for (int i = 0; i < t->nheld; i++)
		if (t->held[i] == f)
			return;
	if (t->nheld == HELD_FILES)
		return;
	f->refs++;
	t->held_refs[t->nheld] = f->refs;
	t->held[t->nheld++] = f;
}

struct file *fd_get(int fd)
{
	if (fd < 0 || fd >= MAX_FDS)
		return NULL;
	struct file *f = curproc->fds[fd];
	if (f)
		hold(f);
	return f;
}

/* Not file_put, which tells unix_gc of every AF_UNIX reference that goes:
 * a held one is news only when the others changed during the call (a
 * collection that ran then saw the hold and kept the socket), so a
 * server's every recv does not start a collection. */
void fds_release_held(void)
{
	struct task *t = current;
	while (t->nheld > 0) {
		int i = --t->nheld;
		struct file *f = t->held[i];
		bool changed = f->refs != t->held_refs[i];
		if (--f->refs == 0)
			file_free(f);
		else if (changed && is_unix_sock(f))
			unix_file_dropped();
	}
}

static struct vnode *make_dev(struct vnode *dev, const char *name, int kind)
{
	struct vnode *v = vfs_child(dev, name, strlen(name));
	if (!v && vfs_create(dev, name, strlen(name), S_IFCHR | 0666, &v) < 0)
		return NULL;
	if ((v->mode & S_IFMT) != S_IFCHR)
		return v;
	v->dev = kind;
	return v;
}

void fds_init_console(void)
{
	struct vnode *root = vfs_root(), *dev = vfs_child(root, "dev", 3);
	if (!dev && vfs_create(root, "dev", 3, S_IFDIR | 0755, &dev) < 0)
		panic("cannot create /dev");
	if (!vn_is_dir(dev))
		panic("/dev in the ramdisk is not a directory");
	make_dev(dev, "null", DEV_NULL);
	make_dev(dev, "zero", DEV_ZERO);
	make_dev(dev, "urandom", DEV_URANDOM);
	make_dev(dev, "random", DEV_URANDOM);
	make_dev(dev, "tty", DEV_CONSOLE);
	/* /dev/shm, where shm_open and sem_open make their files: mode 1777,
	 * as the tmpfs Linux mounts there (every file written here is
	 * page-backed, vfs.h), over whatever the ramdisk had. */
	struct vnode *shm = vfs_child(dev, "shm", 3);
	if (!shm && vfs_create(dev, "shm", 3, S_IFDIR | 01777, &shm) < 0)
		panic("cannot create /dev/shm");
	if (vn_is_dir(shm))
		shm->mode = S_IFDIR | 01777;
	struct vnode *con = make_dev(dev, "console", DEV_CONSOLE);
	if (!con || con->dev != DEV_CONSOLE)
		panic("cannot create /dev/console");
	for (int i = 0; i < 3; i++) {
		struct file *f = file_new(con, 2 /* O_RDWR */);
		if (!f || fd_alloc(f, i, false) != i)
			panic("cannot open the console");
	}
}
