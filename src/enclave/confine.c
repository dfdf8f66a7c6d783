/* See carve/confine.h. What an enclave process never does once its VM, its
 * devices and its control socket exist, refused to every one of its threads
 * (vCPU, device, control) by one seccomp filter synchronised across them:
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
 * This is a deny-list, not Firecracker's per-thread allow-lists: the same
 * binary runs with and without the sanitizers, whose runtimes make calls of
 * their own, and a deny-list stays right for both. no_new_privs is set too.
 * A forbidden call raises SIGSYS; the handler writes one line naming the
 * call to the event log and ends the process (status 159), which takes the
 * VM with it and releases everything the enclave held. */
#include "carve/confine.h"

#include <errno.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const forbidden[] = {
	"execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "bpf",
	"perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
	"keyctl", "add_key", "request_key", "open_by_handle_at", "name_to_handle_at", "mount",
	"umount2", "pivot_root", "chroot", "setns", "unshare", "reboot", "swapon", "swapoff",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "setuid", "setgid",
	"setreuid", "setregid", "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid",
	"personality", "acct", "syslog", "lookup_dcookie", "quotactl", "mknod", "mknodat",
};

#define MAX_RULES 64
struct rule_name {
	int nr;
	const char *name;
};
static struct rule_name rule_names[MAX_RULES]; /* read by the SIGSYS handler: filled before the filter loads */
static int nrules;
static int log_fd = -1;
static char who[160];

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
	for (int i = 0; i < nrules; i++)
		if (rule_names[i].nr == si->si_syscall)
			name = rule_names[i].name;
	char line[320];
	size_t n = 0;
	n = put(line, n, sizeof(line), who);
	n = put(line, n, sizeof(line), " seccomp: forbidden system call ");
	n = put(line, n, sizeof(line), name);
	n = put(line, n, sizeof(line), " (");
	n = put_num(line, n, sizeof(line), si->si_syscall);
	n = put(line, n, sizeof(line), ") in thread ");
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
	if (nrules < MAX_RULES)
		rule_names[nrules++] = (struct rule_name){nr, name};
	return ncmp ? seccomp_rule_add_array(ctx, action, nr, ncmp, cmp) : seccomp_rule_add(ctx, action, nr, 0);
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
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return carve_fail(err, E00_UNSPECIFIED, "confinement: seccomp_init failed");
	int rc = 0;
	nrules = 0;
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(*forbidden) && rc == 0; i++)
		rc = add(ctx, forbidden[i], SCMP_ACT_TRAP, 0, NULL);
	/* Threads yes, processes no. */
	struct scmp_arg_cmp no_thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0);
	if (rc == 0)
		rc = add(ctx, "clone", SCMP_ACT_TRAP, 1, &no_thread);
	if (rc == 0)
		rc = add(ctx, "clone3", SCMP_ACT_ERRNO(ENOSYS), 0, NULL);
	struct scmp_arg_cmp not_unix = SCMP_A0(SCMP_CMP_NE, AF_UNIX);
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
	return 0;
}
