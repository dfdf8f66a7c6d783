/* signalfd: signals read as data. A descriptor holds a mask; it is readable
 * while a signal in the mask is pending for the reading thread or its
 * process, and a read takes such signals (lowest first) as struct
 * signalfd_siginfo records, 128 bytes each, as Linux's. The signals are
 * meant to be blocked (else a handler or the default action takes them
 * first, as on Linux). */
#include "file.h"
#include "syscalls.h"

#define SFD_RECORD 128
#define UNBLOCKABLE (SIG_BIT(SIGKILL) | SIG_BIT(SIGSTOP))

struct signalfd {
	uint64_t mask;
};

struct sfd_wait {
	struct task *t;
	uint64_t mask;
};

/* Asked by the scheduler for the sleeping reader: its pending, not the
 * current task's. */
static bool has_signal(void *arg)
{
	struct sfd_wait *w = arg;
	return ((w->t->sigpending | w->t->proc->sigpending) & w->mask) != 0;
}

/* One struct signalfd_siginfo from the siginfo words (signal.c's layout),
 * the fields by the siginfo's kind as Linux's signalfd_copyinfo: a timer's
 * id, overrun and value; a child's pid, uid, status and CPU times; any
 * other sender's pid and uid, and the value sigqueue gave. */
static void record(uint8_t out[SFD_RECORD], const int32_t info[32])
{
	memset(out, 0, SFD_RECORD);
	int32_t signo = info[0], code = info[2];
	memcpy(out + 0, &signo, 4); /* ssi_signo */
	memcpy(out + 8, &code, 4);  /* ssi_code */
	if (code == SI_KERNEL)
		return;
	if (code == SI_TIMER) {
		memcpy(out + 24, &info[4], 4); /* ssi_tid */
		memcpy(out + 32, &info[5], 4); /* ssi_overrun */
	} else {
		memcpy(out + 12, &info[4], 8); /* ssi_pid, ssi_uid */
	}
	if (signo == SIGCHLD && code >= CLD_EXITED && code <= CLD_DUMPED) {
		memcpy(out + 40, &info[6], 4);  /* ssi_status */
		memcpy(out + 56, &info[8], 16); /* ssi_utime, ssi_stime */
	} else {
		memcpy(out + 44, &info[6], 4); /* ssi_int */
		memcpy(out + 48, &info[6], 8); /* ssi_ptr */
	}
}

static int64_t sfd_read(struct file *f, void *buf, uint64_t len, bool nonblock)
{
	struct signalfd *s = f->priv;
	if (len < SFD_RECORD)
		return -EINVAL;
	uint64_t done = 0;
	for (;;) {
		int32_t info[32];
		while (done + SFD_RECORD <= len && signal_dequeue(s->mask, info)) {
			record((uint8_t *)buf + done, info);
			done += SFD_RECORD;
		}
		if (done)
			return (int64_t)done;
		if (nonblock || (f->flags & O_NONBLOCK))
			return -EAGAIN;
		struct sfd_wait w = {current, s->mask};
		int r = wait_until(has_signal, &w, UINT64_MAX);
		if (r < 0)
			return r;
	}
}

static short sfd_poll(struct file *f, short want, uint64_t *deadline)
{
	(void)want;
	(void)deadline;
	struct signalfd *s = f->priv;
	struct sfd_wait w = {current, s->mask};
	return has_signal(&w) ? POLLIN | POLLRDNORM : 0;
}

static void sfd_release(struct file *f) { kfree(f->priv); }

static const struct file_ops signalfd_ops = {.read = sfd_read, .poll = sfd_poll, .release = sfd_release};

SYSCALL_DEFINE4(signalfd4, int, ufd, uaddr_t, user_mask, uint64_t, sizemask, int, flags)
{
	uint64_t mask;
	if (sizemask != 8 || (flags & ~(O_NONBLOCK | O_CLOEXEC)))
		return -EINVAL;
	if (copy_from_user(&mask, user_mask, 8) < 0)
		return -EFAULT;
	mask &= ~UNBLOCKABLE;
	if (ufd != -1) {
		struct file *f = fd_get(ufd);
		if (!f)
			return -EBADF;
		if (f->ops != &signalfd_ops)
			return -EINVAL;
		((struct signalfd *)f->priv)->mask = mask;
		return ufd;
	}
	struct signalfd *s = kmalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->mask = mask;
	return file_install(&signalfd_ops, &anon_vn, s, O_RDONLY | (flags & O_NONBLOCK), flags & O_CLOEXEC);
}

SYSCALL_DEFINE3(signalfd, int, ufd, uaddr_t, user_mask, uint64_t, sizemask)
{
	return sys_signalfd4((uint64_t)(int64_t)ufd, user_mask, sizemask, 0, 0, 0);
}
