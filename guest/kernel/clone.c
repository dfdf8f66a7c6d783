/* clone, clone3, fork and vfork.
 *
 * A thread (CLONE_THREAD, with CLONE_VM and CLONE_SIGHAND as Linux requires)
 * is a new task in the caller's process. Anything else is a new process:
 * its address space is the caller's (CLONE_VM: vfork, posix_spawn) or a
 * copy-on-write copy (fork), and it gets copies of the descriptor table and
 * the signal handlers (a process sharing those with another without being
 * its thread, CLONE_FILES or CLONE_SIGHAND alone, is refused: EINVAL). With
 * CLONE_VFORK the caller sleeps until the child execs or ends.
 *
 * The child starts from a copy of the caller's user registers with RAX 0,
 * on the stack it was given, with its TLS base when CLONE_SETTLS says so. */
#include "file.h"
#include "syscalls.h"

#define CSIGNAL 0xff
#define CLONE_VM 0x100
#define CLONE_FS 0x200
#define CLONE_FILES 0x400
#define CLONE_SIGHAND 0x800
#define CLONE_PIDFD 0x1000
#define CLONE_PTRACE 0x2000
#define CLONE_VFORK 0x4000
#define CLONE_PARENT 0x8000
#define CLONE_THREAD 0x10000
#define CLONE_SYSVSEM 0x40000
#define CLONE_SETTLS 0x80000
#define CLONE_PARENT_SETTID 0x100000
#define CLONE_CHILD_CLEARTID 0x200000
#define CLONE_DETACHED 0x400000
#define CLONE_UNTRACED 0x800000
#define CLONE_CHILD_SETTID 0x1000000
#define CLONE_IO 0x80000000ull
/* What carve's kernel does: no namespaces, cgroups or pidfds. */
#define CLONE_KNOWN                                                                                 \
	(CSIGNAL | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_PTRACE | CLONE_VFORK | \
	 CLONE_PARENT | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |         \
	 CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_UNTRACED | CLONE_CHILD_SETTID | CLONE_IO)

struct clone_req {
	uint64_t flags, stack, parent_tid, child_tid, tls;
	int exit_signal;
};

static struct process *new_process(const struct clone_req *c)
{
	struct process *parent = (c->flags & CLONE_PARENT) && curproc->parent ? curproc->parent : curproc;
	struct process *p = process_alloc(parent);
	if (!p)
		return NULL;
	if (c->flags & CLONE_VM) {
		p->as = curproc->as;
		p->as->users++;
	} else if (aspace_fork(curproc->as, &p->as) < 0) {
		return p; /* the caller sees no address space and undoes */
	}
	for (int fd = 0; fd < MAX_FDS; fd++) {
		if (curproc->fds[fd]) {
			p->fds[fd] = curproc->fds[fd];
			p->fds[fd]->refs++;
			p->fd_flags[fd] = curproc->fd_flags[fd];
		}
	}
	memcpy(p->sigact, curproc->sigact, sizeof(p->sigact));
	p->exit_signal = c->exit_signal;
	return p;
}

static void undo_process(struct process *p)
{
	files_close_all(p);
	if (p->as)
		aspace_put(p->as);
	p->as = NULL;
	p->zombie = true;
	process_reap(p);
}

static int64_t do_clone(const struct clone_req *c)
{
	uint64_t f = c->flags;
	if (f & ~CLONE_KNOWN)
		return -EINVAL;
	if (((f & CLONE_THREAD) && !(f & CLONE_SIGHAND)) || ((f & CLONE_SIGHAND) && !(f & CLONE_VM)))
		return -EINVAL;
	if (!(f & CLONE_THREAD) && (f & (CLONE_FILES | CLONE_SIGHAND)))
		return -EINVAL; /* shared tables between processes: not kept */
	if ((f & CLONE_SETTLS) && c->tls >= USER_TOP)
		return -EPERM;
	struct trap_frame tf = *current->tf;
	tf.rax = 0;
	if (c->stack)
		tf.rsp = c->stack;
	struct task *t;
	struct process *p = NULL;
	if (f & CLONE_THREAD) {
		t = task_create(curproc, &tf);
		if (!t)
			return -ENOMEM;
	} else {
		p = new_process(c);
		if (!p)
			return -ENOMEM;
		t = p->as ? task_create(p, &tf) : NULL;
		if (!t) {
			undo_process(p);
			return -ENOMEM;
		}
		p->pid = t->tid;
	}
	if (f & CLONE_SETTLS)
		t->fs_base = c->tls;
	if (f & CLONE_CHILD_CLEARTID)
		t->clear_child_tid = c->child_tid;
	if (f & CLONE_CHILD_SETTID)
		t->set_child_tid = c->child_tid; /* written in the child's memory as it starts */
	if ((f & CLONE_PARENT_SETTID) && copy_to_user(c->parent_tid, &t->tid, 4) < 0) {
		/* Linux writes it before the child runs and fails the call. */
		t->killed = true;
		return -EFAULT;
	}
	int tid = t->tid;
	if (f & CLONE_VFORK) {
		p->vfork_waiter = current;
		/* Until it execs or ends: process_end and execve wake us. */
		while (p->vfork_waiter == current && !current->killed)
			sched_sleep(WAIT_TIMER, UINT64_MAX);
	}
	return tid;
}

/* clang-format off */
SYSCALL_DEFINE5(clone, uint64_t, flags, uint64_t, newsp, uaddr_t, parent_tidptr,
		uaddr_t, child_tidptr, uint64_t, tls)
/* clang-format on */
{
	struct clone_req c = {flags & ~(uint64_t)CSIGNAL, newsp, parent_tidptr, child_tidptr, tls,
			      (int)(flags & CSIGNAL)};
	return do_clone(&c);
}

SYSCALL_DEFINE0(fork)
{
	struct clone_req c = {0, 0, 0, 0, 0, SIGCHLD};
	return do_clone(&c);
}

SYSCALL_DEFINE0(vfork)
{
	struct clone_req c = {CLONE_VM | CLONE_VFORK, 0, 0, 0, 0, SIGCHLD};
	return do_clone(&c);
}

/* struct clone_args, version 0 (64 bytes) and later (set_tid, cgroup: must
 * be zero here). */
SYSCALL_DEFINE2(clone3, uaddr_t, uargs, uint64_t, size)
{
	uint64_t a[11] = {0};
	if (size < 64 || size > 4096)
		return -EINVAL;
	if (copy_from_user(a, uargs, MIN(size, sizeof(a))) < 0)
		return -EFAULT;
	for (uint64_t off = sizeof(a); off < size; off += 8) { /* a newer caller's fields */
		uint64_t extra = 0;
		if (copy_from_user(&extra, uargs + off, MIN(8, size - off)) < 0)
			return -EFAULT;
		if (extra)
			return -E2BIG;
	}
	/* pidfd is only read with CLONE_PIDFD, which do_clone refuses. */
	if (a[8] || a[9] || a[10] || (a[0] & CSIGNAL) || a[4] > 64)
		return -EINVAL;         /* set_tid and cgroup: not here */
	if ((a[5] == 0) != (a[6] == 0)) /* a stack needs its size and the other way round */
		return -EINVAL;
	struct clone_req c = {a[0], a[5] ? a[5] + a[6] : 0, a[3], a[2], a[7], (int)a[4]};
	return do_clone(&c);
}
