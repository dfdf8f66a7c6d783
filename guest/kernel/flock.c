/* flock: advisory whole-file locks held by open files (not descriptors,
 * not processes), as Linux keeps them: two open() of one file conflict
 * even in one process, a dup shares its lock, and the last close of the
 * open file drops it (flock_forget). A conflicting lock without LOCK_NB
 * waits for the holder to let go. */
#include "file.h"
#include "syscalls.h"

#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4
#define LOCK_UN 8
#define MAX_LOCKS 256
#define ENOLCK 37

struct flock_rec {
	struct file *f; /* NULL: free slot */
	struct vnode *vn;
	bool exclusive;
};

static struct flock_rec locks[MAX_LOCKS];

static struct flock_rec *held_by(struct file *f)
{
	for (int i = 0; i < MAX_LOCKS; i++)
		if (locks[i].f == f)
			return &locks[i];
	return NULL;
}

struct want_lock {
	struct file *f;
	bool exclusive;
};

static bool grantable(void *arg)
{
	struct want_lock *w = arg;
	for (int i = 0; i < MAX_LOCKS; i++) {
		struct flock_rec *l = &locks[i];
		if (l->f && l->f != w->f && l->vn == w->f->vn && (l->exclusive || w->exclusive))
			return false;
	}
	return true;
}

void flock_forget(struct file *f)
{
	struct flock_rec *l = held_by(f);
	if (l)
		l->f = NULL;
}

SYSCALL_DEFINE2(flock, int, fd, uint32_t, cmd)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	uint32_t op = cmd & ~(uint32_t)LOCK_NB;
	if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN)
		return -EINVAL;
	if (f->flags & 010000000 /* O_PATH */)
		return -EBADF;
	struct flock_rec *l = held_by(f);
	if (op == LOCK_UN) {
		if (l)
			l->f = NULL;
		return 0;
	}
	struct want_lock w = {f, op == LOCK_EX};
	if (!grantable(&w)) {
		if (cmd & LOCK_NB)
			return -EAGAIN; /* EWOULDBLOCK */
		/* Linux drops a held lock before waiting to convert it. */
		if (l)
			l->f = NULL;
		l = NULL;
		int r = wait_until(grantable, &w, UINT64_MAX);
		if (r < 0)
			return r;
	}
	if (!l) {
		for (int i = 0; i < MAX_LOCKS && !l; i++)
			if (!locks[i].f)
				l = &locks[i];
		if (!l)
			return -ENOLCK;
		l->f = f;
		l->vn = f->vn;
	}
	l->exclusive = w.exclusive;
	return 0;
}
