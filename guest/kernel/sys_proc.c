/* Process calls for the one process: identity, exit, signals (accepted, never
 * delivered: nothing here can raise one except the program itself, and a
 * signal it sends itself ends it as the default action would), limits,
 * arch_prctl, futex for a single thread. */
#include "syscalls.h"

#define MSR_FS_BASE 0xc0000100
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

SYSCALL(exit) { proc_exit((int)(a0 & 0xff)); }
SYSCALL(exit_group) { proc_exit((int)(a0 & 0xff)); }
/* One process, pid 1, in its own group and session, run as root. */
SYSCALL(getpid) { return 1; }
SYSCALL(gettid) { return 1; }
SYSCALL(getpgrp) { return 1; }
SYSCALL(getpgid) { return 1; }
SYSCALL(getsid) { return 1; }
SYSCALL(setsid) { return 1; }
SYSCALL(getppid) { return 0; }
SYSCALL(getuid) { return 0; }
SYSCALL(geteuid) { return 0; }
SYSCALL(getgid) { return 0; }
SYSCALL(getegid) { return 0; }
SYSCALL(setuid) { return a0 == 0 ? 0 : -EPERM; }
SYSCALL(setgid) { return a0 == 0 ? 0 : -EPERM; }
SYSCALL(setpgid) { return 0; }
SYSCALL(getgroups) { return 0; }
SYSCALL(sched_yield) { return 0; }

static const char *const signames[32] = {
	"0",         "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
	"SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
	"SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
	"SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS",
};

/* The handlers the program installed (reported by rt_sigaction, not run). */
static uint8_t sigact[65][32];

void signals_reset(void)
{
	/* Handlers go back to SIG_DFL; ignored signals stay ignored (POSIX exec). */
	for (int i = 0; i < 65; i++) {
		uint64_t h;
		memcpy(&h, sigact[i], 8);
		if (h != 1)
			memset(sigact[i], 0, sizeof(sigact[i]));
	}
}

static int64_t self_signal(uint64_t sig)
{
	if (sig == 0)
		return 0;
	if (sig > 64)
		return -EINVAL;
	uint64_t handler;
	memcpy(&handler, sigact[sig], 8);
	/* Default actions that do nothing, or SIG_IGN: the signal is dropped. */
	if (handler == 1 || (handler == 0 && (sig == 17 || sig == 18 || sig == 23 || sig == 28)))
		return 0;
	kprintf("carve: %s killed by %s (sent by itself)\n", proc.exe,
		sig < 32 ? signames[sig] : "a real-time signal");
	proc_exit(128 + (int)sig);
}

SYSCALL(kill) { return (a0 == 1 || a0 == 0 || (int64_t)a0 == -1) ? self_signal(a1) : -ESRCH; }
SYSCALL(tkill) { return a0 == 1 ? self_signal(a1) : -ESRCH; }
SYSCALL(tgkill) { return a0 == 1 && a1 == 1 ? self_signal(a2) : -ESRCH; }

SYSCALL(rt_sigaction)
{
	if (a0 == 0 || a0 > 64 || a3 != 8)
		return -EINVAL;
	if (a0 == 9 || a0 == 19)
		return a1 ? -EINVAL : 0;
	if (a2 && copy_to_user(a2, sigact[a0], 32) < 0)
		return -EFAULT;
	if (a1 && copy_from_user(sigact[a0], a1, 32) < 0)
		return -EFAULT;
	return 0;
}

static uint64_t sigmask;

SYSCALL(rt_sigprocmask)
{
	if (a3 != 8)
		return -EINVAL;
	uint64_t old = sigmask, set;
	if (a1) {
		if (copy_from_user(&set, a1, 8) < 0)
			return -EFAULT;
		if (a0 == 0)
			sigmask |= set;
		else if (a0 == 1)
			sigmask &= ~set;
		else if (a0 == 2)
			sigmask = set;
		else
			return -EINVAL;
	}
	if (a2 && copy_to_user(a2, &old, 8) < 0)
		return -EFAULT;
	return 0;
}

SYSCALL(sigaltstack)
{
	if (a1) {
		uint64_t ss[3] = {0, 2 /* SS_DISABLE */, 0};
		if (copy_to_user(a1, ss, sizeof(ss)) < 0)
			return -EFAULT;
	}
	return 0;
}

SYSCALL(arch_prctl)
{
	switch (a0) {
	case ARCH_SET_FS:
		if (a1 >= USER_TOP)
			return -EPERM;
		proc.fs_base = a1;
		wrmsr(MSR_FS_BASE, a1);
		return 0;
	case ARCH_GET_FS: return copy_to_user(a1, &proc.fs_base, 8);
	case ARCH_SET_GS: return -EINVAL;
	case ARCH_GET_GS: {
		uint64_t z = 0;
		return copy_to_user(a1, &z, 8);
	}
	default: return -EINVAL;
	}
}

SYSCALL(set_tid_address)
{
	proc.tid_address = a0;
	return 1;
}

SYSCALL(set_robust_list) { return a1 == 24 ? 0 : -EINVAL; }
SYSCALL(prctl) { return -EINVAL; }

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10

/* One thread: nobody else can wake a waiter, so a wait whose value matches
 * would sleep until its timeout (or forever: a deadlock the program made). */
SYSCALL(futex)
{
	int op = (int)a1 & 0x7f;
	if (op == FUTEX_WAKE || op == FUTEX_WAKE_BITSET)
		return 0;
	if (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET) {
		uint32_t cur;
		if (copy_from_user(&cur, a0, 4) < 0)
			return -EFAULT;
		if (cur != (uint32_t)a2)
			return -EAGAIN;
		if (!a3) {
			kprintf("carve: %s waits on a futex no other thread can wake\n", proc.exe);
			proc_exit(128 + 9);
		}
		int64_t ts[2];
		if (copy_from_user(ts, a3, sizeof(ts)) < 0)
			return -EFAULT;
		uint64_t ns = (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
		uint64_t deadline = op == FUTEX_WAIT ? time_ns() + ns : ns; /* BITSET: absolute */
		time_sleep_until(deadline, NULL);
		return -ETIMEDOUT;
	}
	return -ENOSYS;
}

struct rlimit {
	uint64_t cur, max;
};

static struct rlimit limits[16] = {
	[3] = {8ull << 20, ~0ull}, /* RLIMIT_STACK */
	[7] = {MAX_FDS, MAX_FDS},  /* RLIMIT_NOFILE */
};

static void init_limits(void)
{
	static bool done;
	if (done)
		return;
	for (int i = 0; i < 16; i++)
		if (i != 3 && i != 7)
			limits[i] = (struct rlimit){~0ull, ~0ull};
	done = true;
}

SYSCALL(getrlimit)
{
	init_limits();
	if (a0 >= 16)
		return -EINVAL;
	return copy_to_user(a1, &limits[a0], sizeof(struct rlimit));
}

SYSCALL(setrlimit)
{
	init_limits();
	if (a0 >= 16)
		return -EINVAL;
	struct rlimit r;
	if (copy_from_user(&r, a1, sizeof(r)) < 0)
		return -EFAULT;
	if (r.cur > r.max)
		return -EINVAL;
	limits[a0] = r;
	return 0;
}

SYSCALL(prlimit64)
{
	init_limits();
	if (a0 != 0 && a0 != 1)
		return -ESRCH;
	if (a1 >= 16)
		return -EINVAL;
	struct rlimit old = limits[a1];
	if (a2) {
		struct rlimit r;
		if (copy_from_user(&r, a2, sizeof(r)) < 0)
			return -EFAULT;
		if (r.cur > r.max)
			return -EINVAL;
		limits[a1] = r;
	}
	if (a3 && copy_to_user(a3, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

SYSCALL(sched_getaffinity)
{
	if (a1 < 8 || (a1 & 7))
		return -EINVAL;
	uint64_t mask = 1;
	if (copy_to_user(a2, &mask, 8) < 0)
		return -EFAULT;
	return 8;
}

SYSCALL(sched_setaffinity) { return 0; }

SYSCALL(uname)
{
	char u[6][65];
	memset(u, 0, sizeof(u));
	memcpy(u[0], "Linux", 5);
	memcpy(u[1], "enclave", 7);
	memcpy(u[2], "6.12.0-carve", 12);
	memcpy(u[3], "#1 SMP carve enclave kernel", 27);
	memcpy(u[4], "x86_64", 6);
	memcpy(u[5], "(none)", 6);
	return copy_to_user(a0, u, sizeof(u));
}

/* struct sysinfo (112 bytes on x86-64). */
SYSCALL(sysinfo)
{
	uint64_t s[14];
	memset(s, 0, sizeof(s));
	s[0] = time_ns() / 1000000000ull;
	s[4] = mm_total_bytes();
	s[5] = mm_free_bytes();
	uint16_t procs = 1;
	memcpy((uint8_t *)s + 80, &procs, 2);
	uint32_t unit = 1;
	memcpy((uint8_t *)s + 104, &unit, 4);
	return copy_to_user(a0, s, 112);
}

SYSCALL(getrusage)
{
	uint64_t ru[18];
	memset(ru, 0, sizeof(ru));
	uint64_t us = time_ns() / 1000;
	ru[0] = us / 1000000;
	ru[1] = us % 1000000;
	return copy_to_user(a1, ru, sizeof(ru));
}

SYSCALL(times)
{
	uint64_t ticks = time_ns() / 10000000ull; /* CLK_TCK 100 */
	if (a0) {
		uint64_t t[4] = {ticks, 0, 0, 0};
		if (copy_to_user(a0, t, sizeof(t)) < 0)
			return -EFAULT;
	}
	return (int64_t)ticks;
}

SYSCALL(getrandom)
{
	if (a2 & ~7ull)
		return -EINVAL;
	uint64_t n = MIN(a1, 33554431ull);
	if (user_ok(a0, n, true) < 0)
		return -EFAULT;
	random_bytes((void *)a0, n);
	return (int64_t)n;
}

/* rseq: glibc registers it when the kernel has it and carries on without. */
SYSCALL(rseq) { return -ENOSYS; }

/* One process: it has no children to wait for (wait4 and waitid). */
SYSCALL(wait4) { return -ECHILD; }
SYSCALL(waitid) { return -ECHILD; }

/* mlock, munlock, mlockall, munlockall, mlock2: memory is never paged out. */
SYSCALL(mlock) { return 0; }
SYSCALL(munlock) { return 0; }
SYSCALL(mlockall) { return 0; }
SYSCALL(munlockall) { return 0; }
SYSCALL(mlock2) { return 0; }
SYSCALL(getpriority) { return 20; /* nice 0, in the raw form the system call returns */ }
SYSCALL(setpriority) { return 0; }
