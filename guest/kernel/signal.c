/* Signals: sending (kill, tgkill, a child's end, a fault, SIGPIPE),
 * delivery on the way back to user mode (default action, or a handler on
 * the user stack or the alternate stack, with Linux's x86-64 rt_sigframe),
 * rt_sigreturn, masks, and restarting interrupted system calls.
 *
 * The frame is Linux's, so libc's sigreturn trampolines (sa_restorer), the
 * ucontext a handler reads (uc_mcontext.gregs, fpregs, uc_sigmask) and
 * unwinders that recognise signal frames all work unchanged. */
#include "file.h"
#include "syscalls.h"

#define SIG_DFL 0
#define SIG_IGN 1
#define SA_NOCLDWAIT 0x2
#define SA_SIGINFO 0x4
#define SA_RESTORER 0x04000000
#define SA_ONSTACK 0x08000000
#define SA_RESTART 0x10000000
#define SA_NODEFER 0x40000000
#define SA_RESETHAND 0x80000000u
#define SS_ONSTACK 1
#define SS_DISABLE 2
#define MINSIGSTKSZ 2048
#define UNBLOCKABLE (SIG_BIT(SIGKILL) | SIG_BIT(SIGSTOP))

struct ksigaction {
	uint64_t handler, flags, restorer, mask;
};

static struct ksigaction action(const struct process *p, int sig)
{
	struct ksigaction a;
	memcpy(&a, p->sigact[sig], sizeof(a));
	return a;
}

/* Default action "ignore": SIGCHLD, SIGCONT, SIGURG, SIGWINCH. The stop
 * signals are ignored too: there is no job control and no terminal. */
static bool default_ignored(int sig)
{
	return sig == SIGCHLD || sig == 18 || sig == 23 || sig == 28 || sig == SIGSTOP || sig == 20 ||
		sig == 21 || sig == 22;
}

static bool ignored(const struct process *p, int sig)
{
	struct ksigaction a = action(p, sig);
	return a.handler == SIG_IGN || (a.handler == SIG_DFL && default_ignored(sig));
}

bool signal_child_ignored(const struct process *parent)
{
	struct ksigaction a = action(parent, SIGCHLD);
	return a.handler == SIG_IGN || (a.flags & SA_NOCLDWAIT);
}

static const char *const signames[32] = {
	"0",         "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
	"SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
	"SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
	"SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS",
};

const char *signal_name(int sig) { return sig > 0 && sig < 32 ? signames[sig] : "a real-time signal"; }

/* A thread in sigtimedwait has unblocked what it waits for only to wake
 * for it: what it blocked before counts (Linux's real_blocked), or an
 * ignored signal it waits for, SIGCHLD by default, would be dropped. */
static bool blocks(const struct task *t, int sig)
{
	return ((t->sigmask | t->real_blocked) & SIG_BIT(sig)) != 0;
}

static bool blocked_at(const struct process *p, const struct task *t, int sig)
{
	if (t)
		return blocks(t, sig);
	for (const struct task *u = p->threads; u; u = u->sibling)
		if (!blocks(u, sig))
			return false;
	return p->threads != NULL;
}

/* siginfo_t as int32 words: signo [0], errno [1], code [2], then the
 * code's fields from [4]: the sender's pid and uid; a timer's id, overrun
 * and value ([6], 8 bytes); a child's pid, uid, status [6] and CPU times
 * ([8], [10]: clock ticks). */
static void info_of(int32_t info[32], int sig, int code, int pid)
{
	memset(info, 0, 32 * sizeof(int32_t));
	info[0] = sig;
	info[2] = code;
	info[4] = pid;
}

bool signal_pending_in(const struct process *p, const struct task *t, int sig)
{
	return ((t ? t->sigpending : p->sigpending) & SIG_BIT(sig)) != 0;
}

static int deliver(struct process *p, struct task *t, int sig, const int32_t info[32], bool limited);

void signal_send_timer(struct process *p, struct task *t, int sig, int id, int overrun, uint64_t value)
{
	int32_t info[32];
	info_of(info, sig, SI_TIMER, id);
	info[5] = overrun;
	memcpy(&info[6], &value, 8);
	deliver(p, t, sig, info, false);
}

void signal_send_kernel(struct process *p, int sig)
{
	int32_t info[32];
	info_of(info, sig, SI_KERNEL, 0);
	deliver(p, NULL, sig, info, false);
}

#define USER_HZ 100 /* clock_t's unit in a child's siginfo */

void signal_send_child(struct process *parent, struct process *child)
{
	int w = child->exit_status, sig = child->exit_signal;
	int32_t info[32];
	info_of(info, sig, (w & 0x7f) ? CLD_KILLED : CLD_EXITED, child->pid);
	info[6] = (w & 0x7f) ? (w & 0x7f) : (w >> 8) & 0xff;
	uint64_t u, s;
	cputime_process(child, &u, &s);
	int64_t ticks[2] = {(int64_t)(u / (1000000000ull / USER_HZ)),
			    (int64_t)(s / (1000000000ull / USER_HZ))};
	memcpy(&info[8], ticks, sizeof(ticks));
	deliver(parent, NULL, sig, info, false);
}

int signal_dequeue(uint64_t mask, int32_t info[32])
{
	int sig = sigq_take(mask, info);
	if (sig && info[2] == SI_TIMER) /* the expiries since it was sent */
		info[5] = ptimer_taken(info[4], info[5]);
	return sig;
}

/* A signal just made pending must not wait for a time slice: a thread
 * that will take it and runs in user mode on another CPU is brought into
 * the kernel by an IPI (sched_nudge), and takes it on its way back. For
 * the process, one that does not block it: none if the caller's thread
 * will take it (on its own return) or one sleeps (it wakes for it). */
static void signal_kick(struct process *p, struct task *t, int sig)
{
	if (t) {
		if (!(t->sigmask & SIG_BIT(sig)))
			sched_nudge(t);
		return;
	}
	struct task *far = NULL;
	for (struct task *u = p->threads; u; u = u->sibling) {
		if ((u->sigmask & SIG_BIT(sig)) || u->state == TASK_DEAD)
			continue;
		if (u == current || u->state == TASK_SLEEPING)
			return;
		if (!far && u->on_cpu >= 0)
			far = u;
	}
	if (far)
		sched_nudge(far);
}

/* sig with its siginfo to p (t NULL) or its thread t. limited: sigqueue's,
 * refused with -EAGAIN past the queue's limit. */
static int deliver(struct process *p, struct task *t, int sig, const int32_t info[32], bool limited)
{
	if (sig <= 0 || sig > 64 || p->zombie || p->exiting)
		return 0;
	if (sig == SIGKILL) {
		process_kill(p, SIGKILL);
		return 0;
	}
	/* An ignored signal is dropped, unless blocked where it would go: then
	 * it waits, for sigtimedwait or a signalfd to take (as Linux). */
	if (ignored(p, sig) && !blocked_at(p, t, sig))
		return 0;
	int r = sigq_add(p, t, sig, info, limited);
	if (r < 0)
		return r;
	/* A sleeper that does not block it wakes (sched.c looks at pending). */
	signal_kick(p, t, sig);
	return 0;
}

void signal_send(struct process *p, struct task *t, int sig, int from_pid)
{
	int32_t info[32];
	info_of(info, sig, t ? SI_TKILL : SI_USER, from_pid);
	deliver(p, t, sig, info, false);
}

/* kill(pid, sig)'s targets; 0 if one was found. */
static int64_t kill_targets(int pid, int sig)
{
	bool found = false;
	for (struct process *p = process_first(); p; p = p->next) {
		if (p->zombie)
			continue;
		bool hit = pid > 0  ? p->pid == pid
			: pid == 0  ? p->pgid == curproc->pgid
			: pid == -1 ? p->pid != 1 || p == curproc
				    : p->pgid == -pid;
		if (!hit)
			continue;
		found = true;
		if (sig)
			signal_send(p, NULL, sig, curproc->pid);
	}
	return found ? 0 : -ESRCH;
}

SYSCALL_DEFINE2(kill, int, pid, int, sig)
{
	if (sig < 0 || sig > 64)
		return -EINVAL;
	return kill_targets(pid, sig);
}

static int64_t thread_kill(int tgid, int tid, int sig)
{
	if (sig < 0 || sig > 64 || tid <= 0)
		return -EINVAL;
	struct task *t = task_by_tid(tid);
	if (!t || (tgid > 0 && t->proc->pid != tgid))
		return -ESRCH;
	if (sig)
		signal_send(t->proc, t, sig, curproc->pid);
	return 0;
}

SYSCALL_DEFINE2(tkill, int, tid, int, sig) { return thread_kill(0, tid, sig); }
SYSCALL_DEFINE3(tgkill, int, tgid, int, tid, int, sig) { return thread_kill(tgid, tid, sig); }

/* sigqueue() and pthread_sigqueue(): the sender's own siginfo (a value
 * with SI_QUEUE), queued for a real-time signal. As Linux, only a code
 * below 0 other than SI_TKILL may be claimed for another process: the
 * kernel's codes (SI_USER, SI_KERNEL, a child's) are not the sender's to
 * make up. */
static int64_t queue_info(int tgid, int tid, int sig, uaddr_t uinfo)
{
	if (sig < 0 || sig > 64)
		return -EINVAL;
	int32_t info[32];
	if (copy_from_user(info, uinfo, sizeof(info)) < 0)
		return -EFAULT;
	struct task *t = tid > 0 ? task_by_tid(tid) : NULL;
	struct process *p = t ? t->proc : NULL;
	if (tid <= 0) {
		for (p = process_first(); p && (p->zombie || p->pid != tgid); p = p->next)
			;
	}
	if (!p || p->zombie || (t && p->pid != tgid))
		return -ESRCH;
	if ((info[2] >= 0 || info[2] == SI_TKILL) && p != curproc)
		return -EPERM;
	if (!sig)
		return 0;
	info[0] = sig;
	return deliver(p, t, sig, info, true);
}

SYSCALL_DEFINE3(rt_sigqueueinfo, int, tgid, int, sig, uaddr_t, uinfo)
{
	return queue_info(tgid, 0, sig, uinfo);
}
/* clang-format off */
SYSCALL_DEFINE4(rt_tgsigqueueinfo, int, tgid, int, tid, int, sig, uaddr_t, uinfo)
/* clang-format on */
{
	if (tid <= 0)
		return -EINVAL;
	return queue_info(tgid, tid, sig, uinfo);
}

SYSCALL_DEFINE4(rt_sigaction, int, sig, uaddr_t, act, uaddr_t, oact, uint64_t, sigsetsize)
{
	if (sig <= 0 || sig > 64 || sigsetsize != 8)
		return -EINVAL;
	if ((sig == SIGKILL || sig == SIGSTOP) && act)
		return -EINVAL;
	struct ksigaction a;
	if (act && copy_from_user(&a, act, sizeof(a)) < 0)
		return -EFAULT;
	if (oact && copy_to_user(oact, curproc->sigact[sig], sizeof(a)) < 0)
		return -EFAULT;
	if (act) {
		a.mask &= ~UNBLOCKABLE;
		memcpy(curproc->sigact[sig], &a, sizeof(a));
		if (ignored(curproc, sig)) /* pending ones are dropped, as Linux does */
			sigq_drop(curproc, sig);
	}
	return 0;
}

void signals_reset(void)
{
	/* exec: handlers go back to SIG_DFL; ignored signals stay ignored. */
	for (int i = 1; i < 65; i++)
		if (action(curproc, i).handler != SIG_IGN)
			memset(curproc->sigact[i], 0, sizeof(curproc->sigact[i]));
	current->altstack.sp = current->altstack.size = 0;
	current->altstack.flags = SS_DISABLE;
	ptimers_clear(curproc);
}

static int set_mask(int how, uint64_t set)
{
	uint64_t m = current->sigmask;
	if (how == 0)
		m |= set;
	else if (how == 1)
		m &= ~set;
	else if (how == 2)
		m = set;
	else
		return -EINVAL;
	current->sigmask = m & ~UNBLOCKABLE;
	return 0;
}

SYSCALL_DEFINE4(rt_sigprocmask, int, how, uaddr_t, nset, uaddr_t, oset, uint64_t, sigsetsize)
{
	if (sigsetsize != 8)
		return -EINVAL;
	uint64_t old = current->sigmask, set;
	if (nset) {
		if (copy_from_user(&set, nset, 8) < 0)
			return -EFAULT;
		int r = set_mask(how, set);
		if (r < 0)
			return r;
	}
	if (oset && copy_to_user(oset, &old, 8) < 0)
		return -EFAULT;
	return 0;
}

SYSCALL_DEFINE2(rt_sigpending, uaddr_t, uset, uint64_t, sigsetsize)
{
	if (sigsetsize != 8)
		return -EINVAL;
	uint64_t p = (current->sigpending | curproc->sigpending) & current->sigmask;
	return copy_to_user(uset, &p, 8);
}

/* Sets a temporary mask until the next handler has run (sigsuspend, ppoll,
 * pselect6, epoll_pwait). */
int signal_mask_for_wait(uaddr_t umask, uint64_t sigsetsize)
{
	if (!umask)
		return 0;
	uint64_t m;
	if (sigsetsize != 8)
		return -EINVAL;
	if (copy_from_user(&m, umask, 8) < 0)
		return -EFAULT;
	current->saved_sigmask = current->sigmask;
	current->restore_sigmask = true;
	current->sigmask = m & ~UNBLOCKABLE;
	return 0;
}

SYSCALL_DEFINE0(pause)
{
	while (!task_interrupted())
		sched_sleep(WAIT_TIMER, UINT64_MAX);
	return -EINTR; /* never restarted */
}

SYSCALL_DEFINE2(rt_sigsuspend, uaddr_t, unewset, uint64_t, sigsetsize)
{
	int r = signal_mask_for_wait(unewset, sigsetsize);
	if (r < 0)
		return r;
	while (!task_interrupted())
		sched_sleep(WAIT_TIMER, UINT64_MAX);
	return -EINTR; /* never restarted */
}

/* clang-format off */
SYSCALL_DEFINE4(rt_sigtimedwait, uaddr_t, uthese, uaddr_t, uinfo, uaddr_t, uts,
		uint64_t, sigsetsize)
/* clang-format on */
{
	uint64_t these, deadline = UINT64_MAX;
	if (sigsetsize != 8)
		return -EINVAL;
	if (copy_from_user(&these, uthese, 8) < 0)
		return -EFAULT;
	if (uts) {
		int64_t ts[2];
		if (copy_from_user(ts, uts, sizeof(ts)) < 0)
			return -EFAULT;
		if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
			return -EINVAL;
		deadline = time_ns() + (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
	}
	these &= ~UNBLOCKABLE;
	/* The signals waited for must not interrupt the wait as handlers:
	 * unblock nothing, only look at what is pending. */
	for (;;) {
		int32_t si[32];
		int sig = signal_dequeue(these, si);
		if (sig) {
			if (uinfo && copy_to_user(uinfo, si, sizeof(si)) < 0)
				return -EFAULT;
			return sig;
		}
		if (time_ns() >= deadline)
			return -EAGAIN;
		if (task_interrupted())
			return -EINTR;
		uint64_t saved = current->sigmask;
		current->real_blocked = saved;
		current->sigmask &= ~these; /* so a pending one wakes us */
		sched_sleep(WAIT_TIMER, deadline);
		current->sigmask = saved;
		current->real_blocked = 0;
	}
}

SYSCALL_DEFINE2(sigaltstack, uaddr_t, uss, uaddr_t, uoss)
{
	uint64_t sp = tf_user_sp();
	bool on = current->altstack.size && sp - current->altstack.sp < current->altstack.size;
	if (uoss) {
		struct {
			uint64_t sp;
			int32_t flags, pad;
			uint64_t size;
		} o = {current->altstack.sp, current->altstack.size ? (on ? SS_ONSTACK : 0) : SS_DISABLE, 0,
		       current->altstack.size};
		if (copy_to_user(uoss, &o, sizeof(o)) < 0)
			return -EFAULT;
	}
	if (uss) {
		struct {
			uint64_t sp;
			int32_t flags, pad;
			uint64_t size;
		} n;
		if (copy_from_user(&n, uss, sizeof(n)) < 0)
			return -EFAULT;
		if (on)
			return -EPERM;
		if (n.flags & ~(SS_DISABLE | 0x80000000 /* SS_AUTODISARM */))
			return -EINVAL;
		if (n.flags & SS_DISABLE) {
			current->altstack.sp = current->altstack.size = 0;
		} else {
			if (n.size < MINSIGSTKSZ)
				return -ENOMEM;
			current->altstack.sp = n.sp;
			current->altstack.size = n.size;
		}
	}
	return 0;
}

/* ---- delivery ---- */

struct sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, rflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate;
	uint64_t reserved[8];
};

struct ucontext {
	uint64_t flags, link;
	struct {
		uint64_t sp;
		int32_t flags, pad;
		uint64_t size;
	} stack;
	struct sigcontext mc;
	uint64_t sigmask;
};

struct rt_sigframe {
	uint64_t pretcode; /* sa_restorer: the handler returns into it */
	struct ucontext uc;
	int32_t info[32]; /* siginfo_t */
};

_Static_assert(sizeof(struct sigcontext) == 256, "Linux's struct sigcontext");
_Static_assert(offsetof(struct rt_sigframe, info) == 8 + 40 + 256 + 8, "Linux's rt_sigframe");

/* The FPU image (fxsave), 16-byte aligned, as the frame carries it. */
static uint8_t fx_buf[512] __attribute__((aligned(16)));

/* A user flag bit a program may set through sigreturn: CF PF AF ZF SF TF
 * DF OF AC ID, not IF or IOPL. */
#define USER_FLAGS 0x254dd5ull

static int setup_frame(struct trap_frame *tf, const int32_t info[32], const struct ksigaction *a,
		       uint64_t addr)
{
	uint64_t sp = tf->rsp;
	bool on_alt = current->altstack.size && sp - current->altstack.sp < current->altstack.size;
	if ((a->flags & SA_ONSTACK) && current->altstack.size && !on_alt)
		sp = current->altstack.sp + current->altstack.size;
	else
		sp -= 128; /* the red zone below the interrupted code's stack pointer */
	uint64_t fp = ALIGN_DOWN(sp - sizeof(fx_buf), 64);
	uint64_t frame = ALIGN_DOWN(fp - sizeof(struct rt_sigframe), 16) - 8;
	struct rt_sigframe f;
	memset(&f, 0, sizeof(f));
	f.pretcode = a->restorer;
	f.uc.flags = 0;
	f.uc.stack.sp = current->altstack.sp;
	f.uc.stack.size = current->altstack.size;
	f.uc.stack.flags = current->altstack.size ? (on_alt ? SS_ONSTACK : 0) : SS_DISABLE;
	struct sigcontext *mc = &f.uc.mc;
	mc->r8 = tf->r8, mc->r9 = tf->r9, mc->r10 = tf->r10, mc->r11 = tf->r11;
	mc->r12 = tf->r12, mc->r13 = tf->r13, mc->r14 = tf->r14, mc->r15 = tf->r15;
	mc->rdi = tf->rdi, mc->rsi = tf->rsi, mc->rbp = tf->rbp, mc->rbx = tf->rbx;
	mc->rdx = tf->rdx, mc->rax = tf->rax, mc->rcx = tf->rcx, mc->rsp = tf->rsp;
	mc->rip = tf->rip, mc->rflags = tf->rflags;
	mc->cs = 0x33, mc->ss = 0x2b;
	mc->err = tf->vector == SYSCALL_VECTOR ? 0 : tf->error;
	mc->trapno = tf->vector == SYSCALL_VECTOR ? 0 : tf->vector;
	mc->cr2 = addr;
	mc->fpstate = fp;
	uint64_t old_mask = current->restore_sigmask ? current->saved_sigmask : current->sigmask;
	mc->oldmask = old_mask;
	f.uc.sigmask = old_mask;
	int sig = info[0];
	memcpy(f.info, info, sizeof(f.info));
	__asm__ volatile("fxsave64 (%0)" : : "r"(fx_buf) : "memory");
	if (copy_to_user(fp, fx_buf, sizeof(fx_buf)) < 0 || copy_to_user(frame, &f, sizeof(f)) < 0)
		return -EFAULT;
	tf->rdi = (uint64_t)sig;
	tf->rsi = frame + offsetof(struct rt_sigframe, info);
	tf->rdx = frame + offsetof(struct rt_sigframe, uc);
	tf->rax = 0;
	tf->rsp = frame;
	tf->rip = a->handler;
	tf->rflags &= ~(1ull << 10 | 1ull << 8); /* DF, TF */
	current->restore_sigmask = false;
	current->sigmask |= a->mask | ((a->flags & SA_NODEFER) ? 0 : SIG_BIT(sig));
	current->sigmask &= ~UNBLOCKABLE;
	return 0;
}

SYSCALL_DEFINE0(rt_sigreturn)
{
	struct trap_frame *tf = current->tf;
	uint64_t frame = tf->rsp - 8; /* the handler's RET took pretcode */
	struct rt_sigframe f;
	if (copy_from_user(&f, frame, sizeof(f)) < 0)
		process_exit_group(SIGSEGV);
	struct sigcontext *mc = &f.uc.mc;
	tf->r8 = mc->r8, tf->r9 = mc->r9, tf->r10 = mc->r10, tf->r11 = mc->r11;
	tf->r12 = mc->r12, tf->r13 = mc->r13, tf->r14 = mc->r14, tf->r15 = mc->r15;
	tf->rdi = mc->rdi, tf->rsi = mc->rsi, tf->rbp = mc->rbp, tf->rbx = mc->rbx;
	tf->rdx = mc->rdx, tf->rcx = mc->rcx, tf->rsp = mc->rsp, tf->rip = mc->rip;
	tf->rflags = (tf->rflags & ~USER_FLAGS) | (mc->rflags & USER_FLAGS);
	tf->vector = 0; /* not a system call any more: nothing to restart */
	current->sigmask = f.uc.sigmask & ~UNBLOCKABLE;
	if (mc->fpstate) {
		if (copy_from_user(fx_buf, mc->fpstate, sizeof(fx_buf)) < 0)
			process_exit_group(SIGSEGV);
		/* MXCSR's reserved bits would make FXRSTOR fault in the kernel. */
		uint32_t mxcsr;
		memcpy(&mxcsr, fx_buf + 24, 4);
		mxcsr &= 0xffff;
		memcpy(fx_buf + 24, &mxcsr, 4);
		__asm__ volatile("fxrstor64 (%0)" : : "r"(fx_buf) : "memory");
	}
	return (int64_t)mc->rax;
}

/* The default action of sig on this process: ends it (as killed by sig). */
static _Noreturn void die(int sig)
{
	if (curproc == init_process)
		kprintf("carve: %s killed by %s\n", curproc->exe, signal_name(sig));
	process_exit_group(sig);
}

/* A system call that was interrupted: restart it, or say EINTR. */
static void fix_restart(struct trap_frame *tf, bool restart)
{
	if (tf->vector != SYSCALL_VECTOR || (int64_t)tf->rax != -ERESTARTSYS)
		return;
	if (restart) {
		tf->rax = tf->error; /* the number, kept there by syscall_handler */
		tf->rip -= 2;        /* SYSCALL again */
	} else {
		tf->rax = (uint64_t)-EINTR;
	}
}

void return_to_user(struct trap_frame *tf)
{
	if (unix_gc_pending())
		unix_gc(); /* no kernel code holds a socket here */
	for (;;) {
		if (current->killed)
			task_exit();
		int32_t info[32];
		int sig = signal_dequeue(~current->sigmask, info);
		if (!sig)
			break;
		struct ksigaction a = action(curproc, sig);
		if (a.handler == SIG_IGN || (a.handler == SIG_DFL && default_ignored(sig)))
			continue;
		if (a.handler == SIG_DFL)
			die(sig);
		fix_restart(tf, a.flags & SA_RESTART);
		if (a.flags & SA_RESETHAND)
			memset(curproc->sigact[sig], 0, sizeof(curproc->sigact[sig]));
		if (setup_frame(tf, info, &a, 0) < 0)
			die(SIGSEGV);
		return; /* one handler at a time; the rest after it returns */
	}
	fix_restart(tf, true);
	if (current->restore_sigmask) {
		current->restore_sigmask = false;
		current->sigmask = current->saved_sigmask;
	}
}

/* A fault in user mode: to the handler if there is one it does not block,
 * else the process ends. */
bool signal_fault(struct trap_frame *tf, int sig, uint64_t addr)
{
	struct ksigaction a = action(curproc, sig);
	if (a.handler == SIG_DFL || a.handler == SIG_IGN || (current->sigmask & SIG_BIT(sig)))
		return false;
	int32_t info[32];
	info_of(info, sig, SI_KERNEL, 0);
	memcpy(&info[4], &addr, 8); /* si_addr */
	if (a.flags & SA_RESETHAND)
		memset(curproc->sigact[sig], 0, sizeof(curproc->sigact[sig]));
	return setup_frame(tf, info, &a, addr) == 0;
}

uint64_t tf_user_sp(void) { return current->tf->rsp; }
