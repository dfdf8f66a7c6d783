/* Process calls: exit, identity, limits, arch_prctl, scheduling, system
 * information. (Processes and waiting: process.c; threads: clone.c;
 * signals: signal.c; futexes: futex.c.) */
#include "syscalls.h"

#define MSR_FS_BASE 0xc0000100
#define MSR_KERNEL_GS_BASE 0xc0000102 /* the program's GS base while in the kernel (SWAPGS) */
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

SYSCALL_DEFINE1(exit, int, error_code)
{
	if (curproc->nthreads == 1 && !curproc->exiting)
		curproc->exit_status = (error_code & 0xff) << 8;
	task_exit();
}
SYSCALL_DEFINE1(exit_group, int, error_code) { process_exit_group((error_code & 0xff) << 8); }
SYSCALL_DEFINE0(getuid) { return 0; }
SYSCALL_DEFINE0(geteuid) { return 0; }
SYSCALL_DEFINE0(getgid) { return 0; }
SYSCALL_DEFINE0(getegid) { return 0; }
SYSCALL_DEFINE1(setuid, uint64_t, uid) { return uid == 0 ? 0 : -EPERM; }
SYSCALL_DEFINE1(setgid, uint64_t, gid) { return gid == 0 ? 0 : -EPERM; }
SYSCALL_DEFINE2(getgroups, int, gidsetsize, uaddr_t, grouplist) { return 0; }
SYSCALL_DEFINE0(sched_yield)
{
	schedule();
	return 0;
}

/* addr is a plain value for the SET codes and a user address for the GET codes. */
SYSCALL_DEFINE2(arch_prctl, uint64_t, code, uint64_t, addr)
{
	switch (code) {
	case ARCH_SET_FS:
		if (addr >= USER_TOP)
			return -EPERM;
		current->fs_base = addr;
		wrmsr(MSR_FS_BASE, addr);
		return 0;
	case ARCH_GET_FS: return copy_to_user(addr, &current->fs_base, 8);
	case ARCH_SET_GS:
		if (addr >= USER_TOP)
			return -EPERM;
		current->gs_base = addr;
		wrmsr(MSR_KERNEL_GS_BASE, addr);
		return 0;
	case ARCH_GET_GS: return copy_to_user(addr, &current->gs_base, 8);
	default: return -EINVAL;
	}
}

SYSCALL_DEFINE1(set_tid_address, uaddr_t, tidptr)
{
	current->clear_child_tid = tidptr;
	return current->tid;
}

SYSCALL_DEFINE2(set_robust_list, uaddr_t, head, uint64_t, len) { return len == 24 ? 0 : -EINVAL; }
SYSCALL_DEFINE5(prctl, int, option, uint64_t, arg2, uint64_t, arg3, uint64_t, arg4, uint64_t, arg5)
{
	return -EINVAL;
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
	if (pid != 0 && pid != curproc->pid)
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

/* pid 0 is the caller; else a thread id (Linux's affinity is per thread). */
static struct task *affinity_task(int pid)
{
	if (pid < 0)
		return NULL;
	return pid == 0 ? current : task_by_tid(pid);
}

/* The CPUs the thread may run on, within those online (what nproc,
 * Go's runtime.NumCPU and glibc's sched_getaffinity count). The kernel's
 * mask is 64 bits (MAX_CPUS), as Linux's nr_cpu_ids-sized copy it
 * returns 8 bytes. */
SYSCALL_DEFINE3(sched_getaffinity, int, pid, uint64_t, len, uaddr_t, user_mask_ptr)
{
	struct task *t = affinity_task(pid);
	if (!t)
		return -ESRCH;
	if (len < 8 || (len & 7))
		return -EINVAL;
	uint64_t mask = t->affinity & cpus_online_mask();
	if (copy_to_user(user_mask_ptr, &mask, 8) < 0)
		return -EFAULT;
	return 8;
}

/* Honoured: the thread runs only on the CPUs of the mask that are online
 * (EINVAL if none is), moving now if its CPU is not among them. Bits past
 * the kernel's 64 CPUs are ignored, as Linux ignores those past
 * nr_cpu_ids. */
SYSCALL_DEFINE3(sched_setaffinity, int, pid, uint64_t, len, uaddr_t, user_mask_ptr)
{
	struct task *t = affinity_task(pid);
	if (!t)
		return -ESRCH;
	uint64_t mask = 0;
	if (copy_from_user(&mask, user_mask_ptr, MIN(len, 8)) < 0)
		return -EFAULT;
	mask &= cpus_online_mask();
	if (!mask)
		return -EINVAL;
	t->affinity = mask;
	if (t == current) {
		if (!(mask & (1ull << this_cpu()->id)))
			schedule(); /* off this CPU: one of the mask's takes it (sched_kick) */
	} else if (t->on_cpu >= 0 && !(mask & (1ull << t->on_cpu))) {
		sched_nudge(t);
	}
	return 0;
}

/* The CPU the caller runs on (glibc's and musl's sched_getcpu without a
 * vDSO); node 0. */
SYSCALL_DEFINE3(getcpu, uaddr_t, cpu, uaddr_t, node, uaddr_t, unused)
{
	uint32_t c = (uint32_t)this_cpu()->id, zero = 0;
	if (cpu && copy_to_user(cpu, &c, 4) < 0)
		return -EFAULT;
	if (node && copy_to_user(node, &zero, 4) < 0)
		return -EFAULT;
	return 0;
}

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
	uint16_t procs = (uint16_t)task_count();
	memcpy((uint8_t *)s + 80, &procs, 2);
	uint32_t unit = 1;
	memcpy((uint8_t *)s + 104, &unit, 4);
	return copy_to_user(info, s, 112);
}

#define RUSAGE_SELF 0
#define RUSAGE_CHILDREN (-1)
#define RUSAGE_THREAD 1

/* CPU time from cputime.c; the other fields (max RSS, faults, switches)
 * are not counted and read 0. */
SYSCALL_DEFINE2(getrusage, int, who, uaddr_t, ru)
{
	uint64_t u, s;
	switch (who) {
	case RUSAGE_SELF: cputime_process(curproc, &u, &s); break;
	case RUSAGE_CHILDREN: cputime_children(curproc, &u, &s); break;
	case RUSAGE_THREAD: cputime_task(current, &u, &s); break;
	default: return -EINVAL;
	}
	return put_rusage(ru, u, s) < 0 ? -EFAULT : 0;
}

#define NS_PER_TICK 10000000ull /* CLK_TCK 100 */

SYSCALL_DEFINE1(times, uaddr_t, tbuf)
{
	uint64_t ticks = time_ns() / NS_PER_TICK;
	if (tbuf) {
		uint64_t u, s, cu, cs;
		cputime_process(curproc, &u, &s);
		cputime_children(curproc, &cu, &cs);
		uint64_t t[4] = {u / NS_PER_TICK, s / NS_PER_TICK, cu / NS_PER_TICK, cs / NS_PER_TICK};
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
