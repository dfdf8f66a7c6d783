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

SYSCALL_DEFINE1(exit, int, error_code) { proc_exit(error_code & 0xff); }
SYSCALL_DEFINE1(exit_group, int, error_code) { proc_exit(error_code & 0xff); }
/* One process, pid 1, in its own group and session, run as root. */
SYSCALL_DEFINE0(getpid) { return 1; }
SYSCALL_DEFINE0(gettid) { return 1; }
SYSCALL_DEFINE0(getpgrp) { return 1; }
SYSCALL_DEFINE1(getpgid, int, pid) { return 1; }
SYSCALL_DEFINE1(getsid, int, pid) { return 1; }
SYSCALL_DEFINE0(setsid) { return 1; }
SYSCALL_DEFINE0(getppid) { return 0; }
SYSCALL_DEFINE0(getuid) { return 0; }
SYSCALL_DEFINE0(geteuid) { return 0; }
SYSCALL_DEFINE0(getgid) { return 0; }
SYSCALL_DEFINE0(getegid) { return 0; }
SYSCALL_DEFINE1(setuid, uint64_t, uid) { return uid == 0 ? 0 : -EPERM; }
SYSCALL_DEFINE1(setgid, uint64_t, gid) { return gid == 0 ? 0 : -EPERM; }
SYSCALL_DEFINE2(setpgid, int, pid, int, pgid) { return 0; }
SYSCALL_DEFINE2(getgroups, int, gidsetsize, uaddr_t, grouplist) { return 0; }
SYSCALL_DEFINE0(sched_yield) { return 0; }

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

SYSCALL_DEFINE2(kill, int64_t, pid, uint64_t, sig)
{
	return (pid == 1 || pid == 0 || pid == -1) ? self_signal(sig) : -ESRCH;
}
SYSCALL_DEFINE2(tkill, int64_t, tid, uint64_t, sig) { return tid == 1 ? self_signal(sig) : -ESRCH; }
SYSCALL_DEFINE3(tgkill, int64_t, tgid, int64_t, tid, uint64_t, sig)
{
	return tgid == 1 && tid == 1 ? self_signal(sig) : -ESRCH;
}

SYSCALL_DEFINE4(rt_sigaction, uint64_t, sig, uaddr_t, act, uaddr_t, oact, uint64_t, sigsetsize)
{
	if (sig == 0 || sig > 64 || sigsetsize != 8)
		return -EINVAL;
	if (sig == 9 || sig == 19)
		return act ? -EINVAL : 0;
	if (oact && copy_to_user(oact, sigact[sig], 32) < 0)
		return -EFAULT;
	if (act && copy_from_user(sigact[sig], act, 32) < 0)
		return -EFAULT;
	return 0;
}

static uint64_t sigmask;

SYSCALL_DEFINE4(rt_sigprocmask, uint64_t, how, uaddr_t, nset, uaddr_t, oset, uint64_t, sigsetsize)
{
	if (sigsetsize != 8)
		return -EINVAL;
	uint64_t old = sigmask, set;
	if (nset) {
		if (copy_from_user(&set, nset, 8) < 0)
			return -EFAULT;
		if (how == 0)
			sigmask |= set;
		else if (how == 1)
			sigmask &= ~set;
		else if (how == 2)
			sigmask = set;
		else
			return -EINVAL;
	}
	if (oset && copy_to_user(oset, &old, 8) < 0)
		return -EFAULT;
	return 0;
}

SYSCALL_DEFINE2(sigaltstack, uaddr_t, uss, uaddr_t, uoss)
{
	if (uoss) {
		uint64_t ss[3] = {0, 2 /* SS_DISABLE */, 0};
		if (copy_to_user(uoss, ss, sizeof(ss)) < 0)
			return -EFAULT;
	}
	return 0;
}

/* addr is a plain value for the SET codes and a user address for the GET codes. */
SYSCALL_DEFINE2(arch_prctl, uint64_t, code, uint64_t, addr)
{
	switch (code) {
	case ARCH_SET_FS:
		if (addr >= USER_TOP)
			return -EPERM;
		proc.fs_base = addr;
		wrmsr(MSR_FS_BASE, addr);
		return 0;
	case ARCH_GET_FS: return copy_to_user(addr, &proc.fs_base, 8);
	case ARCH_SET_GS: return -EINVAL;
	case ARCH_GET_GS: {
		uint64_t z = 0;
		return copy_to_user(addr, &z, 8);
	}
	default: return -EINVAL;
	}
}

SYSCALL_DEFINE1(set_tid_address, uaddr_t, tidptr)
{
	proc.tid_address = tidptr;
	return 1;
}

SYSCALL_DEFINE2(set_robust_list, uaddr_t, head, uint64_t, len) { return len == 24 ? 0 : -EINVAL; }
SYSCALL_DEFINE5(prctl, int, option, uint64_t, arg2, uint64_t, arg3, uint64_t, arg4, uint64_t, arg5)
{
	return -EINVAL;
}

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10

/* One thread: nobody else can wake a waiter, so a wait whose value matches
 * would sleep until its timeout (or forever: a deadlock the program made). */
/* clang-format off */
SYSCALL_DEFINE6(futex, uaddr_t, uaddr, int, futex_op, uint32_t, val, uaddr_t, utime,
		uaddr_t, uaddr2, uint32_t, val3)
/* clang-format on */
{
	int op = futex_op & 0x7f;
	if (op == FUTEX_WAKE || op == FUTEX_WAKE_BITSET)
		return 0;
	if (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET) {
		uint32_t cur;
		if (copy_from_user(&cur, uaddr, 4) < 0)
			return -EFAULT;
		if (cur != val)
			return -EAGAIN;
		if (!utime) {
			kprintf("carve: %s waits on a futex no other thread can wake\n", proc.exe);
			proc_exit(128 + 9);
		}
		int64_t ts[2];
		if (copy_from_user(ts, utime, sizeof(ts)) < 0)
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

SYSCALL_DEFINE2(getrlimit, uint64_t, resource, uaddr_t, rlim)
{
	init_limits();
	if (resource >= 16)
		return -EINVAL;
	return copy_to_user(rlim, &limits[resource], sizeof(struct rlimit));
}

SYSCALL_DEFINE2(setrlimit, uint64_t, resource, uaddr_t, rlim)
{
	init_limits();
	if (resource >= 16)
		return -EINVAL;
	struct rlimit r;
	if (copy_from_user(&r, rlim, sizeof(r)) < 0)
		return -EFAULT;
	if (r.cur > r.max)
		return -EINVAL;
	limits[resource] = r;
	return 0;
}

SYSCALL_DEFINE4(prlimit64, int64_t, pid, uint64_t, resource, uaddr_t, new_rlim, uaddr_t, old_rlim)
{
	init_limits();
	if (pid != 0 && pid != 1)
		return -ESRCH;
	if (resource >= 16)
		return -EINVAL;
	struct rlimit old = limits[resource];
	if (new_rlim) {
		struct rlimit r;
		if (copy_from_user(&r, new_rlim, sizeof(r)) < 0)
			return -EFAULT;
		if (r.cur > r.max)
			return -EINVAL;
		limits[resource] = r;
	}
	if (old_rlim && copy_to_user(old_rlim, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

SYSCALL_DEFINE3(sched_getaffinity, int, pid, uint64_t, len, uaddr_t, user_mask_ptr)
{
	/* Every CPU of the VM, as /sys/devices/system/cpu/online says. */
	int n = vm_cpu_count();
	uint64_t mask[4] = {0}, bytes = ALIGN_UP((uint64_t)n, 64) / 8;
	if (len < bytes || (len & 7))
		return -EINVAL;
	for (int i = 0; i < n; i++)
		mask[i / 64] |= 1ull << (i % 64);
	if (copy_to_user(user_mask_ptr, mask, bytes) < 0)
		return -EFAULT;
	return (int64_t)bytes;
}

SYSCALL_DEFINE3(sched_setaffinity, int, pid, uint64_t, len, uaddr_t, user_mask_ptr) { return 0; }

SYSCALL_DEFINE1(uname, uaddr_t, name)
{
	char u[6][65];
	memset(u, 0, sizeof(u));
	memcpy(u[0], "Linux", 5);
	memcpy(u[1], "enclave", 7);
	memcpy(u[2], "6.12.0-carve", 12);
	memcpy(u[3], "#1 SMP carve enclave kernel", 27);
	memcpy(u[4], "x86_64", 6);
	memcpy(u[5], "(none)", 6);
	return copy_to_user(name, u, sizeof(u));
}

/* struct sysinfo (112 bytes on x86-64). */
SYSCALL_DEFINE1(sysinfo, uaddr_t, info)
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
	return copy_to_user(info, s, 112);
}

SYSCALL_DEFINE2(getrusage, int, who, uaddr_t, ru)
{
	uint64_t kru[18];
	memset(kru, 0, sizeof(kru));
	uint64_t us = time_ns() / 1000;
	kru[0] = us / 1000000;
	kru[1] = us % 1000000;
	return copy_to_user(ru, kru, sizeof(kru));
}

SYSCALL_DEFINE1(times, uaddr_t, tbuf)
{
	uint64_t ticks = time_ns() / 10000000ull; /* CLK_TCK 100 */
	if (tbuf) {
		uint64_t t[4] = {ticks, 0, 0, 0};
		if (copy_to_user(tbuf, t, sizeof(t)) < 0)
			return -EFAULT;
	}
	return (int64_t)ticks;
}

SYSCALL_DEFINE3(getrandom, uaddr_t, buf, uint64_t, count, uint64_t, flags)
{
	if (flags & ~7ull)
		return -EINVAL;
	uint64_t n = MIN(count, 33554431ull);
	if (user_ok(buf, n, true) < 0)
		return -EFAULT;
	random_bytes((void *)buf, n);
	return (int64_t)n;
}

/* rseq: glibc registers it when the kernel has it and carries on without. */
SYSCALL_DEFINE4(rseq, uaddr_t, rseq, uint32_t, rseq_len, int, flags, uint32_t, sig) { return -ENOSYS; }

/* One process: it has no children to wait for (wait4 and waitid). */
SYSCALL_DEFINE4(wait4, int, upid, uaddr_t, stat_addr, int, options, uaddr_t, ru) { return -ECHILD; }
SYSCALL_DEFINE5(waitid, int, which, int, upid, uaddr_t, infop, int, options, uaddr_t, ru) { return -ECHILD; }

/* mlock, munlock, mlockall, munlockall, mlock2: memory is never paged out. */
SYSCALL_DEFINE2(mlock, uaddr_t, start, uint64_t, len) { return 0; }
SYSCALL_DEFINE2(munlock, uaddr_t, start, uint64_t, len) { return 0; }
SYSCALL_DEFINE1(mlockall, int, flags) { return 0; }
SYSCALL_DEFINE0(munlockall) { return 0; }
SYSCALL_DEFINE3(mlock2, uaddr_t, start, uint64_t, len, int, flags) { return 0; }
SYSCALL_DEFINE2(getpriority, int, which, int, who)
{
	return 20; /* nice 0, in the raw form the system call returns */
}
SYSCALL_DEFINE3(setpriority, int, which, int, who, int, niceval) { return 0; }
