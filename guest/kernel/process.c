/* Processes: the tree (parent, children, groups and sessions), the end of
 * one (its last thread gone: files closed, memory freed, the parent told),
 * and waiting for a child (wait4, waitid).
 *
 * The first program is pid 1, as Nitro's init runs its entrypoint: when it
 * ends the enclave ends, with its status, whatever else is running. Orphans
 * are adopted by it, as by Linux's init. */
#include "file.h"
#include "syscalls.h"

struct process *init_process;
static struct process *process_list;

struct process *process_alloc(struct process *parent)
{
	struct process *p = kmalloc(sizeof(*p));
	if (!p)
		return NULL;
	p->parent = parent;
	if (parent) {
		p->sibling = parent->children;
		parent->children = p;
		p->pgid = parent->pgid;
		p->sid = parent->sid;
		p->umask = parent->umask;
		p->cwd = parent->cwd; /* not counted: chdir does not count it either */
		memcpy(p->exe, parent->exe, sizeof(p->exe));
	}
	p->next = process_list;
	process_list = p;
	return p;
}

struct process *process_by_pid(int pid)
{
	for (struct process *p = process_list; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

void files_close_all(struct process *p)
{
	for (int fd = 0; fd < MAX_FDS; fd++) {
		if (p->fds[fd]) {
			struct file *f = p->fds[fd];
			p->fds[fd] = NULL;
			file_put(f);
		}
	}
}

void wake_threads(struct process *p)
{
	for (struct task *t = p->threads; t; t = t->sibling)
		wake_task(t);
}

void process_kill(struct process *p, int status)
{
	if (!p->exiting) {
		p->exiting = true;
		p->exit_status = status;
	}
	for (struct task *t = p->threads; t; t = t->sibling) {
		t->killed = true;
		sched_nudge(t); /* in user mode on another CPU: it leaves now */
	}
	wake_threads(p);
}

_Noreturn void process_exit_group(int status)
{
	process_kill(curproc, status);
	task_exit();
}

static void unlink_child(struct process *c)
{
	for (struct process **at = &c->parent->children; *at; at = &(*at)->sibling) {
		if (*at == c) {
			*at = c->sibling;
			break;
		}
	}
}

void process_reap(struct process *c)
{
	unlink_child(c);
	for (struct process **at = &process_list; *at; at = &(*at)->next) {
		if (*at == c) {
			*at = c->next;
			break;
		}
	}
	kfree(c);
}

/* The status the enclave ends with when pid 1 does: its exit code, or 128
 * plus the signal that ended it (a shell's way of saying it). */
static int enclave_status(int w) { return (w & 0x7f) ? 128 + (w & 0x7f) : (w >> 8) & 0xff; }

void process_end(struct process *p)
{
	if (p == init_process)
		proc_exit(enclave_status(p->exit_status));
	files_close_all(p);
	p->cwd = NULL;
	struct aspace *as = p->as;
	p->as = NULL;
	if (as)
		aspace_put(as);
	if (p->vfork_waiter) {
		wake_task(p->vfork_waiter);
		p->vfork_waiter = NULL;
	}
	/* Its children go to pid 1; zombies among them are pid 1's to reap. */
	while (p->children) {
		struct process *c = p->children;
		p->children = c->sibling;
		c->parent = init_process;
		c->sibling = init_process->children;
		init_process->children = c;
	}
	p->zombie = true;
	sigq_free_process(p); /* a zombie takes no signal */
	ptimers_process_gone(p);
	struct process *parent = p->parent;
	if (p->exit_signal == SIGCHLD && signal_child_ignored(parent)) {
		process_reap(p); /* SIGCHLD ignored or SA_NOCLDWAIT: nobody will wait */
	} else if (p->exit_signal) {
		signal_send_child(parent, p);
	}
	wake_threads(parent);
	if (!init_process->threads)
		panic("pid 1 has no thread left");
}

#define WNOHANG 1
#define WUNTRACED 2
#define WEXITED 4
#define WNOWAIT 0x01000000
#define P_ALL 0
#define P_PID 1
#define P_PGID 2

/* Is c one the caller asked for: pid > 0 that child, 0 its group, -1 any,
 * below -1 the group -pid. */
static bool wanted(const struct process *c, int pid)
{
	if (pid > 0)
		return c->pid == pid;
	if (pid == 0)
		return c->pgid == curproc->pgid;
	if (pid == -1)
		return true;
	return c->pgid == -pid;
}

/* A zombie child matching pid, or NULL; *any says whether any child
 * matched at all. */
static struct process *find_zombie(int pid, bool *any)
{
	*any = false;
	for (struct process *c = curproc->children; c; c = c->sibling) {
		if (!wanted(c, pid))
			continue;
		*any = true;
		if (c->zombie)
			return c;
	}
	return NULL;
}

static int64_t wait_child(int pid, int options, struct process **out)
{
	for (;;) {
		bool any;
		struct process *c = find_zombie(pid, &any);
		if (c) {
			*out = c;
			return c->pid;
		}
		if (!any)
			return -ECHILD;
		if (options & WNOHANG)
			return 0;
		if (task_interrupted())
			return -ERESTARTSYS;
		sched_sleep(WAIT_TIMER, UINT64_MAX); /* a child's end wakes us */
	}
}

SYSCALL_DEFINE4(wait4, int, upid, uaddr_t, stat_addr, int, options, uaddr_t, ru)
{
	if (options & ~(WNOHANG | WUNTRACED | 8 /* WCONTINUED */ | 0x40000000 /* __WALL */ | 0x80000000u))
		return -EINVAL;
	struct process *c = NULL;
	int64_t r = wait_child(upid, options, &c);
	if (r <= 0)
		return r;
	if (stat_addr && copy_to_user(stat_addr, &c->exit_status, 4) < 0)
		return -EFAULT;
	if (ru) { /* the child's own time and its reaped children's, as Linux */
		uint64_t u, s, cu, cs;
		cputime_process(c, &u, &s);
		cputime_children(c, &cu, &cs);
		if (put_rusage(ru, u + cu, s + cs) < 0)
			return -EFAULT;
	}
	cputime_reaped(c);
	process_reap(c);
	return r;
}

/* siginfo_t for waitid: signo SIGCHLD, code CLD_EXITED (1) or CLD_KILLED
 * (2), the child's pid and uid, and its status. */
SYSCALL_DEFINE5(waitid, int, which, int, upid, uaddr_t, infop, int, options, uaddr_t, ru)
{
	if (!(options & WEXITED) || (options & ~(WNOHANG | WEXITED | WNOWAIT | 2 | 8 | 0x40000000)))
		return -EINVAL;
	int pid = which == P_ALL ? -1 : which == P_PID ? upid : which == P_PGID ? -upid : 0;
	if (which > P_PGID || (which != P_ALL && upid <= 0))
		return -EINVAL;
	struct process *c = NULL;
	int64_t r = wait_child(pid, options, &c);
	if (r < 0)
		return r;
	if (infop) {
		int32_t si[32] = {0};
		if (c) {
			int w = c->exit_status;
			si[0] = SIGCHLD;
			si[2] = (w & 0x7f) ? 2 : 1;
			si[4] = c->pid;
			si[6] = (w & 0x7f) ? (w & 0x7f) : (w >> 8) & 0xff;
		}
		if (copy_to_user(infop, si, sizeof(si)) < 0)
			return -EFAULT;
	}
	if (ru && c) {
		uint64_t u, s, cu, cs;
		cputime_process(c, &u, &s);
		cputime_children(c, &cu, &cs);
		if (put_rusage(ru, u + cu, s + cs) < 0)
			return -EFAULT;
	}
	if (c && !(options & WNOWAIT)) {
		cputime_reaped(c);
		process_reap(c);
	}
	return 0;
}

SYSCALL_DEFINE0(getpid) { return curproc->pid; }
SYSCALL_DEFINE0(gettid) { return current->tid; }
SYSCALL_DEFINE0(getppid) { return curproc->parent ? curproc->parent->pid : 0; }
SYSCALL_DEFINE0(getpgrp) { return curproc->pgid; }

static struct process *pid_or_self(int pid) { return pid == 0 ? curproc : process_by_pid(pid); }

SYSCALL_DEFINE1(getpgid, int, pid)
{
	struct process *p = pid_or_self(pid);
	return p ? p->pgid : -ESRCH;
}

SYSCALL_DEFINE1(getsid, int, pid)
{
	struct process *p = pid_or_self(pid);
	return p ? p->sid : -ESRCH;
}

SYSCALL_DEFINE0(setsid)
{
	struct process *p = curproc;
	for (struct process *q = process_list; q; q = q->next)
		if (q->pgid == p->pid)
			return -EPERM; /* already a group leader */
	p->sid = p->pgid = p->pid;
	return p->sid;
}

SYSCALL_DEFINE2(setpgid, int, pid, int, pgid)
{
	struct process *p = pid_or_self(pid);
	if (!p || (p != curproc && p->parent != curproc))
		return -ESRCH;
	if (pgid < 0)
		return -EINVAL;
	if (!pgid)
		pgid = p->pid;
	if (p->sid != curproc->sid || p->sid == p->pid)
		return -EPERM;
	if (pgid != p->pid) {
		bool exists = false;
		for (struct process *q = process_list; q; q = q->next)
			exists = exists || (q->pgid == pgid && q->sid == p->sid);
		if (!exists)
			return -EPERM;
	}
	p->pgid = pgid;
	return 0;
}

/* Every process (for kill(-1) and groups). */
struct process *process_first(void) { return process_list; }
