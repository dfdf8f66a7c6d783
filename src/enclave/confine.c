/* See carve/confine.h. Layer 1, what an enclave process never does once its
 * VM, its devices and its control socket exist, refused to every one of its
 * threads by one seccomp filter synchronised across them:
 *
 * - run other programs or make processes (execve, execveat; clone without
 *   CLONE_THREAD, i.e. fork; clone3, whose flags a filter cannot read, answers
 *   ENOSYS so glibc's pthread_create falls back to clone);
 * - reach other processes or the kernel's machinery (ptrace,
 *   process_vm_readv/writev, kernel modules, kexec, bpf, perf events,
 *   userfaultfd, io_uring, keyrings, open_by_handle_at);
 * - change the system or its own privileges (mount and namespaces, chroot,
 *   reboot, swap, clocks, set*id, personality, acct);
 * - open network sockets: it only ever needs Unix sockets (its control
 *   socket and the vsock device's host side).
 *
 * Layer 2, each thread kind's allow-list (Firecracker's model), added by the
 * thread itself when it starts its work:
 *
 * - every kind: memory (the allocator, and the sanitizers' runtimes, which
 *   the same lists must serve), futexes, clocks and sleeps, its own exit and
 *   signals, reads and writes on descriptors it holds;
 * - vCPU: ioctl with KVM's ioctl type (0xAE) only, epoll_ctl (a device
 *   started or reset from an MMIO write), closing a reset device's
 *   connections; no open, no socket;
 * - device: epoll, Unix sockets (connect, accept, shutdown, options), files
 *   opened read-only (the crypto library's lazy loads); ioctl with vhost's
 *   type (0xAF) only, on the vhost fd opened before confinement (handing the
 *   vsock rings to the kernel datapath); it cannot open another;
 * - control: its socket (poll, accept, peer credentials), the enclave's
 *   files (open, write, rename, unlink, fsync, flock, chmod, chown to the console group), KVM ioctls
 *   (Ctrl-Alt-Del is an interrupt), joining the threads it started; no
 *   connect, no new sockets.
 *
 * no_new_privs is set too. A forbidden call raises SIGSYS; the handler
 * writes one line naming the call and the thread's kind to the event log
 * and ends the process (status 159), which takes the VM with it and
 * releases everything the enclave held. */
#include "carve/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const forbidden[] = {
	"execve",
	"execveat",
	"fork",
	"vfork",
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"init_module",
	"finit_module",
	"delete_module",
	"kexec_load",
	"kexec_file_load",
	"bpf",
	"perf_event_open",
	"userfaultfd",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"keyctl",
	"add_key",
	"request_key",
	"open_by_handle_at",
	"name_to_handle_at",
	"mount",
	"umount2",
	"pivot_root",
	"chroot",
	"setns",
	"unshare",
	"reboot",
	"swapon",
	"swapoff",
	"settimeofday",
	"clock_settime",
	"clock_adjtime",
	"adjtimex",
	"setuid",
	"setgid",
	"setreuid",
	"setregid",
	"setresuid",
	"setresgid",
	"setgroups",
	"setfsuid",
	"setfsgid",
	"personality",
	"acct",
	"syslog",
	"lookup_dcookie",
	"quotactl",
	"mknod",
	"mknodat",
};

/* Every system call's name by number, for the SIGSYS handler (which may not
 * allocate): filled by enclave_confine before any filter loads. */
#define MAX_SYSCALL_NR 512
static const char *syscall_names[MAX_SYSCALL_NR];
static int log_fd = -1;
static char who[160];
static atomic_bool armed;
static _Thread_local const char *thread_kind;

static const char *const kind_names[] = {
	[CONFINE_VCPU_THREAD] = "vCPU",
	[CONFINE_DEVICE_THREAD] = "device",
	[CONFINE_CONTROL_THREAD] = "control",
};

static size_t put(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, long v)
{
	char digits[24];
	int n = 0;
	unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < (int)sizeof(digits));
	if (v < 0 && at + 1 < cap)
		buf[at++] = '-';
	while (n && at + 1 < cap)
		buf[at++] = digits[--n];
	return at;
}

/* Async-signal-safe: no stdio, no allocation. */
static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	(void)sig;
	(void)uctx;
	const char *name = "?";
	if (si->si_syscall >= 0 && si->si_syscall < MAX_SYSCALL_NR && syscall_names[si->si_syscall])
		name = syscall_names[si->si_syscall];
	char line[320];
	size_t n = 0;
	n = put(line, n, sizeof(line), who);
	n = put(line, n, sizeof(line), " seccomp: forbidden system call ");
	n = put(line, n, sizeof(line), name);
	n = put(line, n, sizeof(line), " (");
	n = put_num(line, n, sizeof(line), si->si_syscall);
	n = put(line, n, sizeof(line), ") in ");
	n = put(line, n, sizeof(line), thread_kind ? thread_kind : "a");
	n = put(line, n, sizeof(line), " thread ");
	n = put_num(line, n, sizeof(line), (long)gettid());
	n = put(line, n, sizeof(line), ": the enclave process stops\n");
	if (log_fd >= 0)
		(void)!write(log_fd, line, n);
	(void)!write(STDERR_FILENO, line, n);
	_exit(128 + SIGSYS);
}

static int add(scmp_filter_ctx ctx, const char *name, uint32_t action, unsigned ncmp,
	       const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this architecture */
	return ncmp ? seccomp_rule_add_array(ctx, action, nr, ncmp, cmp)
		    : seccomp_rule_add(ctx, action, nr, 0);
}

int enclave_confine(int event_log_fd, const char *enclave_id, struct carve_err *err)
{
	log_fd = event_log_fd;
	snprintf(who, sizeof(who), "%s", enclave_id ? enclave_id : "carve");
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return carve_fail(err, E00_UNSPECIFIED, "confinement: SIGSYS handler: %s", strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return carve_fail(err, E00_UNSPECIFIED, "confinement: no_new_privs: %s", strerror(errno));
	for (int nr = 0; nr < MAX_SYSCALL_NR; nr++)
		if (!syscall_names[nr])
			syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr); /* kept */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return carve_fail(err, E00_UNSPECIFIED, "confinement: seccomp_init failed");
	int rc = 0;
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(*forbidden) && rc == 0; i++)
		rc = add(ctx, forbidden[i], SCMP_ACT_TRAP, 0, NULL);
	/* Threads yes, processes no. */
	struct scmp_arg_cmp no_thread = {
		.arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = CLONE_THREAD, .datum_b = 0};
	if (rc == 0)
		rc = add(ctx, "clone", SCMP_ACT_TRAP, 1, &no_thread);
	if (rc == 0)
		rc = add(ctx, "clone3", SCMP_ACT_ERRNO(ENOSYS), 0, NULL);
	struct scmp_arg_cmp not_unix = {.arg = 0, .op = SCMP_CMP_NE, .datum_a = AF_UNIX};
	if (rc == 0)
		rc = add(ctx, "socket", SCMP_ACT_TRAP, 1, &not_unix);
	if (rc == 0)
		rc = add(ctx, "socketpair", SCMP_ACT_TRAP, 1, &not_unix);
	/* Every thread that exists now, and every one made later inherits it. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0)
		return carve_fail(err, E00_UNSPECIFIED, "confinement: loading the seccomp filter: %s",
				  strerror(-rc));
	atomic_store(&armed, true);
	return 0;
}

/* ---- layer 2: each thread kind's allow-list ---- */

static const char *const every_kind[] = {
	"read",          "write",           "readv",        "writev",
	"pread64",       "pwrite64",        "close",        "futex",
	"exit",          "exit_group",      "rt_sigreturn", "rt_sigprocmask",
	"sigaltstack",   "restart_syscall", "mmap",         "munmap",
	"mremap",        "madvise",         "mprotect",     "brk",
	"clock_gettime", "clock_getres",    "gettimeofday", "time",
	"nanosleep",     "clock_nanosleep", "sched_yield",  "getpid",
	"gettid",        "tgkill",          "getrandom",    "fstat",
	"newfstatat",    "lseek",           "fcntl",        "sched_getaffinity",
	"getrlimit",     "prlimit64",       "membarrier",   "rseq",
};
static const char *const vcpu_only[] = {
	"epoll_ctl",
	"shutdown",
};
static const char *const device_only[] = {
	"epoll_wait", "epoll_pwait", "epoll_ctl",  "poll",       "ppoll",       "connect",
	"accept4",    "shutdown",    "getsockopt", "setsockopt", "getsockname", "getpeername",
	"sendto",     "recvfrom",    "sendmsg",    "recvmsg",    "socket",
};
static const char *const control_only[] = {
	"poll",     "ppoll",     "accept4",   "getsockopt", "setsockopt", "shutdown",   "sendto",
	"recvfrom", "openat",    "unlink",    "unlinkat",   "rename",     "renameat",   "renameat2",
	"fsync",    "fdatasync", "flock",     "fchmod",     "chmod",      "fchown",     "chown",
	"fchownat", "ftruncate", "statx",     "readlink",   "readlinkat", "getdents64", "dup",
	"dup2",     "dup3",      "getuid",    "geteuid",    "getgid",     "getegid",    "umask",
	"mkdir",    "mkdirat",   "epoll_ctl",
};

#define KVM_IOCTL_TYPE 0xAE
#define VHOST_IOCTL_TYPE 0xAF /* VHOST_VIRTIO, <linux/vhost.h> */

static int allow_all(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = add(ctx, names[i], SCMP_ACT_ALLOW, 0, NULL);
	return rc;
}

static int build_allow_list(scmp_filter_ctx ctx, enum confine_kind kind)
{
	int rc = allow_all(ctx, every_kind, sizeof(every_kind) / sizeof(*every_kind));
	/* ioctl: KVM's only (KVM_RUN, KVM_IRQ_LINE, ...): type in bits 8-15. */
	struct scmp_arg_cmp kvm_ioctl = {
		.arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xff00, .datum_b = KVM_IOCTL_TYPE << 8};
	/* Files opened read-only, nothing created. */
	struct scmp_arg_cmp read_only = {.arg = 2,
					 .op = SCMP_CMP_MASKED_EQ,
					 .datum_a = O_ACCMODE | O_CREAT | O_TRUNC,
					 .datum_b = O_RDONLY};
	struct scmp_arg_cmp vhost_ioctl = {
		.arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xff00, .datum_b = VHOST_IOCTL_TYPE << 8};
	switch (kind) {
	case CONFINE_VCPU_THREAD:
		if (rc == 0)
			rc = allow_all(ctx, vcpu_only, sizeof(vcpu_only) / sizeof(*vcpu_only));
		if (rc == 0)
			rc = add(ctx, "ioctl", SCMP_ACT_ALLOW, 1, &kvm_ioctl);
		break;
	case CONFINE_DEVICE_THREAD:
		if (rc == 0)
			rc = allow_all(ctx, device_only, sizeof(device_only) / sizeof(*device_only));
		if (rc == 0)
			rc = add(ctx, "openat", SCMP_ACT_ALLOW, 1, &read_only);
		if (rc == 0)
			rc = add(ctx, "ioctl", SCMP_ACT_ALLOW, 1, &vhost_ioctl);
		break;
	case CONFINE_CONTROL_THREAD:
		if (rc == 0)
			rc = allow_all(ctx, control_only, sizeof(control_only) / sizeof(*control_only));
		if (rc == 0)
			rc = add(ctx, "ioctl", SCMP_ACT_ALLOW, 1, &kvm_ioctl);
		break;
	}
	return rc;
}

void confine_this_thread(enum confine_kind kind)
{
	if (!atomic_load(&armed) || thread_kind)
		return;
	thread_kind = kind_names[kind];
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int rc = ctx ? build_allow_list(ctx, kind) : -ENOMEM;
	if (rc == 0)
		rc = seccomp_load(ctx); /* this thread only: no TSYNC */
	if (ctx)
		seccomp_release(ctx);
	if (rc < 0) {
		/* Fail closed: a thread that runs unconfined is worse than none. */
		char line[256];
		int n = snprintf(line, sizeof(line),
				 "%s seccomp: the %s thread cannot load its allow-list: "
				 "%s: the enclave process stops\n",
				 who, thread_kind, strerror(-rc));
		if (log_fd >= 0)
			(void)!write(log_fd, line, (size_t)n);
		_exit(128 + SIGSYS);
	}
}

const char *confine_thread_kind(void) { return thread_kind; }
