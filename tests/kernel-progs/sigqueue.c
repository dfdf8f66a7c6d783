/* Pending signals and their siginfo, checked from the inside: real-time
 * signals queue (three sigqueue()s, three handler runs with their values,
 * in order; the lowest number first; a limit, then EAGAIN), a standard
 * signal is pending once and keeps its first siginfo, a pending signal's
 * si_pid is its own sender's even when the same signal number went to
 * another process meanwhile, a child's end carries CLD_EXITED or
 * CLD_KILLED with its status, rt_sigqueueinfo refuses to fake the
 * kernel's codes for another process, rt_tgsigqueueinfo reaches one
 * thread, and signalfd gives each queued value. Prints "ok ..." or
 * "FAIL ..." per check; exits 1 if anything failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MAX_SEEN 8
static volatile int seen_n, seen_value[MAX_SEEN], seen_code[MAX_SEEN], seen_sig[MAX_SEEN];

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (seen_n < MAX_SEEN) {
		seen_sig[seen_n] = sig;
		seen_value[seen_n] = si->si_value.sival_int;
		seen_code[seen_n] = si->si_code;
	}
	seen_n++;
}

static void handle(int sig)
{
	struct sigaction sa = {.sa_sigaction = on_info, .sa_flags = SA_SIGINFO};
	sigaction(sig, &sa, NULL);
}

static void block(int sig, int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(how, &s, NULL);
}

static int queue(pid_t pid, int sig, int value)
{
	union sigval v = {.sival_int = value};
	return sigqueue(pid, sig, v);
}

/* sigtimedwait with no wait: the signal's number, or -1. */
static int take(int sig, siginfo_t *si)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	struct timespec zero = {0, 0};
	return sigtimedwait(&s, si, &zero);
}

static void rt_queue_checks(void)
{
	int rt = SIGRTMIN;
	handle(rt);
	block(rt, SIG_BLOCK);
	seen_n = 0;
	int ok = queue(getpid(), rt, 1) == 0 && queue(getpid(), rt, 2) == 0 && queue(getpid(), rt, 3) == 0;
	block(rt, SIG_UNBLOCK);
	check(ok && seen_n == 3 && seen_value[0] == 1 && seen_value[1] == 2 && seen_value[2] == 3 &&
		      seen_code[0] == SI_QUEUE,
	      "three sigqueue()s of a blocked real-time signal: three handler runs, values 1 2 3 in order, SI_QUEUE");

	handle(SIGUSR1);
	block(SIGUSR1, SIG_BLOCK);
	seen_n = 0;
	queue(getpid(), SIGUSR1, 10);
	queue(getpid(), SIGUSR1, 20);
	queue(getpid(), SIGUSR1, 30);
	block(SIGUSR1, SIG_UNBLOCK);
	check(seen_n == 1 && seen_value[0] == 10,
	      "three sigqueue()s of a blocked standard signal: one handler run, with the first value");

	block(rt, SIG_BLOCK);
	block(rt + 1, SIG_BLOCK);
	seen_n = 0;
	queue(getpid(), rt + 1, 5);
	queue(getpid(), rt, 4);
	sigset_t both;
	sigemptyset(&both);
	sigaddset(&both, rt);
	sigaddset(&both, rt + 1);
	siginfo_t a, b;
	struct timespec zero = {0, 0};
	int first = sigtimedwait(&both, &a, &zero), second = sigtimedwait(&both, &b, &zero);
	check(first == rt && a.si_value.sival_int == 4 && second == rt + 1 && b.si_value.sival_int == 5,
	      "two real-time signals pending: the lower number is taken first, each with its value");
	block(rt + 1, SIG_UNBLOCK);

	/* The queue has a limit (carve's 1024, Linux's RLIMIT_SIGPENDING). */
	int n = 0, r = 0;
	while (n < 1000000 && (r = queue(getpid(), rt, n)) == 0)
		n++;
	int eagain = r < 0 && errno == EAGAIN;
	int drained = 0, in_order = 1;
	siginfo_t si;
	while (take(rt, &si) == rt) {
		in_order &= si.si_value.sival_int == drained;
		drained++;
	}
	printf("# %d queued before EAGAIN\n", n);
	check(eagain && n >= 64 && drained == n && in_order,
	      "a blocked real-time signal queued until EAGAIN: every one queued is taken, in order");
	block(rt, SIG_UNBLOCK);
}

/* A pending signal's sender is its own: the same number sent to another
 * process meanwhile changes nothing. */
static void sender_checks(void)
{
	block(SIGUSR2, SIG_BLOCK);
	pid_t a = fork();
	if (a == 0) {
		kill(getppid(), SIGUSR2);
		_exit(0);
	}
	waitpid(a, NULL, 0);
	int pipefd[2];
	if (pipe(pipefd) != 0)
		return;
	pid_t b = fork();
	if (b == 0) { /* waits for SIGUSR2 from the parent, blocked */
		close(pipefd[0]);
		siginfo_t si;
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGUSR2);
		(void)!write(pipefd[1], "r", 1);
		int got = sigwaitinfo(&s, &si);
		_exit(got == SIGUSR2 && si.si_pid == getppid() ? 0 : 1);
	}
	close(pipefd[1]);
	char c;
	(void)!read(pipefd[0], &c, 1);
	close(pipefd[0]);
	kill(b, SIGUSR2);
	int st = 0;
	waitpid(b, &st, 0);
	siginfo_t si;
	int got = take(SIGUSR2, &si);
	check(got == SIGUSR2 && si.si_pid == a && si.si_code == SI_USER && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0,
	      "a pending SIGUSR2 keeps its sender's pid after this process sent SIGUSR2 to another");
	block(SIGUSR2, SIG_UNBLOCK);
}

static void child_checks(void)
{
	block(SIGCHLD, SIG_BLOCK);
	pid_t c = fork();
	if (c == 0)
		_exit(7);
	siginfo_t si;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	int got = sigwaitinfo(&s, &si);
	check(got == SIGCHLD && si.si_code == CLD_EXITED && si.si_pid == c && si.si_status == 7,
	      "SIGCHLD of a child that exited 7: CLD_EXITED, its pid, status 7");
	waitpid(c, NULL, 0);
	c = fork();
	if (c == 0)
		for (;;)
			pause();
	kill(c, SIGKILL);
	got = sigwaitinfo(&s, &si);
	check(got == SIGCHLD && si.si_code == CLD_KILLED && si.si_pid == c && si.si_status == SIGKILL,
	      "SIGCHLD of a child killed by SIGKILL: CLD_KILLED, its pid, status 9");
	waitpid(c, NULL, 0);
	/* kill(SIGCHLD) is a user's, not a child's end. */
	kill(getpid(), SIGCHLD);
	got = take(SIGCHLD, &si);
	check(got == SIGCHLD && si.si_code == SI_USER && si.si_pid == getpid(),
	      "kill(SIGCHLD): SI_USER, not CLD_EXITED");
	block(SIGCHLD, SIG_UNBLOCK);
}

static volatile pid_t waiter_tid;
static volatile int waiter_value = -1, waiter_code;

static void *waiter(void *arg)
{
	(void)arg;
	waiter_tid = (pid_t)syscall(SYS_gettid);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 2);
	siginfo_t si;
	if (sigwaitinfo(&s, &si) == SIGRTMIN + 2) {
		waiter_value = si.si_value.sival_int;
		waiter_code = si.si_code;
	}
	return NULL;
}

static void raw_checks(void)
{
	/* The kernel's codes are not a sender's to claim for another process. */
	pid_t c = fork();
	if (c == 0)
		for (;;)
			pause();
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_code = SI_USER;
	long r = syscall(SYS_rt_sigqueueinfo, c, SIGUSR1, &si);
	check(r == -1 && errno == EPERM, "rt_sigqueueinfo with SI_USER to another process: EPERM");
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);

	block(SIGRTMIN + 2, SIG_BLOCK); /* every thread made from here blocks it */
	pthread_t th;
	pthread_create(&th, NULL, waiter, NULL);
	while (!waiter_tid)
		sched_yield();
	memset(&si, 0, sizeof(si));
	si.si_code = SI_QUEUE;
	si.si_value.sival_int = 42;
	r = syscall(SYS_rt_tgsigqueueinfo, getpid(), waiter_tid, SIGRTMIN + 2, &si);
	pthread_join(th, NULL);
	check(r == 0 && waiter_value == 42 && waiter_code == SI_QUEUE,
	      "rt_tgsigqueueinfo to one thread: that thread takes the value 42 with SI_QUEUE");
	block(SIGRTMIN + 2, SIG_UNBLOCK);
}

static void signalfd_checks(void)
{
	int rt = SIGRTMIN + 3;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, rt);
	sigaddset(&s, SIGCHLD);
	sigprocmask(SIG_BLOCK, &s, NULL);
	int fd = signalfd(-1, &s, SFD_NONBLOCK);
	queue(getpid(), rt, 11);
	queue(getpid(), rt, 12);
	pid_t c = fork();
	if (c == 0)
		_exit(3);
	waitpid(c, NULL, 0);
	struct signalfd_siginfo rec[4];
	ssize_t n = read(fd, rec, sizeof(rec));
	int ok = n == 3 * (ssize_t)sizeof(rec[0]);
	/* The lowest number first: SIGCHLD (17) before the real-time ones. */
	check(ok && rec[0].ssi_signo == SIGCHLD && rec[0].ssi_code == CLD_EXITED &&
		      (pid_t)rec[0].ssi_pid == c && rec[0].ssi_status == 3,
	      "signalfd: a child's end with CLD_EXITED, its pid and status 3");
	check(ok && rec[1].ssi_signo == (uint32_t)rt && rec[1].ssi_int == 11 && rec[2].ssi_int == 12 &&
		      rec[1].ssi_code == SI_QUEUE && (pid_t)rec[1].ssi_pid == getpid(),
	      "signalfd: two queued real-time signals, values 11 and 12, SI_QUEUE, the sender's pid");
	close(fd);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	rt_queue_checks();
	sender_checks();
	child_checks();
	raw_checks();
	signalfd_checks();
	printf("%s\n", failures ? "some checks failed" : "all checks passed");
	return failures ? 1 : 0;
}
