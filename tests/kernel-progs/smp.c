/* SMP in the carve kernel, checked from the inside: what a program sees of
 * the CPUs (sysconf, sched_getaffinity, /sys, /proc/cpuinfo, getcpu), two
 * threads spinning on two CPUs at the same time, sched_setaffinity, a futex
 * ping-pong between threads pinned to two CPUs, fork/wait/signals to
 * children spinning on other CPUs, exact counts from many threads (an atomic
 * and a mutex), and a munmap/mprotect race (a thread touching pages that
 * another unmaps or write-protects faults exactly once the call returned:
 * that needs the TLB shootdown). Prints "ok ..." or "FAIL ..." per check
 * and exits 1 if anything failed.
 *
 *   smp N          N: the CPUs the enclave has (the count every interface must show)
 *   smp N signal   only this: a signal to a thread spinning in user mode on
 *                  CPU 1, sent from CPU 0 (pthread_kill, then kill to the
 *                  process), is taken at once (within 1 s). Run with a
 *                  time slice far longer than that (carve.slice_ms=30000):
 *                  without an IPI the spinner would only see it at its next
 *                  slice. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

#include "check.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int this_cpu(void)
{
	unsigned c = ~0u;
	if (syscall(SYS_getcpu, &c, NULL, NULL) != 0)
		return -1;
	return (int)c;
}

/* "0-3" or "0" from a /sys CPU list file: how many CPUs it names. */
static int list_count(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int a, b, n = 0;
	char sep;
	while (fscanf(f, "%d", &a) == 1) {
		b = a;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-' && fscanf(f, "%d", &b) == 1)
			(void)fscanf(f, "%c", &sep);
		n += b - a + 1;
	}
	fclose(f);
	return n;
}

static int cpuinfo_count(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return -1;
	char line[256];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		n += strncmp(line, "processor\t", 10) == 0;
	fclose(f);
	return n;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	sched_setaffinity(0, sizeof(s), &s);
}

/* ---- two spinning threads at once ---- */

static atomic_int token, arrived, apart;
static atomic_int spin_cpu[2];
#define ROUNDS 200

/* A and B meet (each counts itself in and spins until both have), then
 * note their CPUs while both spin until the two notes differ (at most 5 s:
 * both start where their creator ran, and the other CPU may take more than
 * a slice to pick one up, as in the bed's emulated SVM under load; a first
 * note each, as before, raced that), then hand a token back and forth by
 * spinning on it, no system call between: on one CPU the two would share
 * it, and every hand-over would wait for a 10 ms slice. */
static void *spinner(void *arg)
{
	int me = (int)(long)arg;
	atomic_fetch_add(&arrived, 1);
	while (atomic_load(&arrived) < 2)
		;
	double until = now_s() + 5;
	while (!atomic_load(&apart) && now_s() < until) {
		int mine = this_cpu(), other = atomic_load(&spin_cpu[!me]);
		atomic_store(&spin_cpu[me], mine);
		if (other >= 0 && other != mine)
			atomic_store(&apart, 1); /* the other noted its CPU while this one spun */
	}
	atomic_fetch_add(&arrived, 1);
	while (atomic_load(&arrived) < 4)
		;
	for (int i = 0; i < ROUNDS; i++) {
		while (atomic_load(&token) % 2 != me)
			;
		atomic_fetch_add(&token, 1);
	}
	return NULL;
}

/* ---- futex ping-pong between pinned threads ---- */

static atomic_int ftx;
static int pong_bad_cpu;
#define PINGS 300

static long futex(atomic_int *a, int op, int val)
{
	return syscall(SYS_futex, (int *)a, op, val, NULL, NULL, 0);
}

static void *ponger(void *arg)
{
	int cpu = (int)(long)arg;
	pin(cpu);
	for (int i = 0; i < PINGS; i++) {
		while (atomic_load(&ftx) != 1)
			futex(&ftx, FUTEX_WAIT_PRIVATE, 0);
		if (this_cpu() != cpu)
			pong_bad_cpu++;
		atomic_store(&ftx, 0);
		futex(&ftx, FUTEX_WAKE_PRIVATE, 1);
	}
	return NULL;
}

/* ---- many threads counting ---- */

#define COUNTERS 8
#define ADDS 200000
static atomic_long acount;
static long mcount;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void *adder(void *arg)
{
	(void)arg;
	for (int i = 0; i < ADDS; i++) {
		atomic_fetch_add(&acount, 1);
		if (i % 8 == 0) {
			pthread_mutex_lock(&count_lock);
			mcount++;
			pthread_mutex_unlock(&count_lock);
		}
	}
	return NULL;
}

/* ---- the munmap/mprotect race ---- */

static volatile char *page;
static atomic_int phase; /* 0 touching, 1 the call is under way, 2 it returned */
static atomic_int toucher_ready, stop_touch;
static int write_mode;
static sigjmp_buf touch_jmp;
static volatile int early_faults, late_ok, faults;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if ((char *)si->si_addr != page)
		_exit(99); /* a fault somewhere else: a real crash */
	if (atomic_load(&phase) == 0)
		early_faults++;
	faults++;
	siglongjmp(touch_jmp, 1);
}

/* Touches the page until told it is gone, then once more: that access must
 * fault (it may fault earlier, once the call began). */
static void *toucher(void *arg)
{
	(void)arg;
	volatile long sum = 0;
	for (;;) {
		if (sigsetjmp(touch_jmp, 1) == 0) {
			atomic_store(&toucher_ready, 1);
			while (atomic_load(&phase) != 2) {
				if (atomic_load(&stop_touch))
					return NULL;
				if (write_mode)
					page[0]++;
				else
					sum += page[0];
			}
			if (write_mode)
				page[0]++;
			else
				sum += page[0];
			late_ok++; /* reached: the stale translation was still used */
		}
		/* Wait for the next round. */
		while (atomic_load(&phase) != 0)
			if (atomic_load(&stop_touch))
				return NULL;
	}
}

static void race(int mprotect_mode, const char *what)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	page[0] = 1;
	write_mode = mprotect_mode;
	early_faults = late_ok = faults = 0;
	atomic_store(&phase, 0);
	atomic_store(&stop_touch, 0);
	atomic_store(&toucher_ready, 0);
	pthread_t t;
	pthread_create(&t, NULL, toucher, NULL);
	int rounds = 100, bad_remap = 0;
	for (int r = 0; r < rounds; r++) {
		while (!atomic_load(&toucher_ready))
			;
		/* Let it touch for a moment on its CPU. */
		for (volatile int i = 0; i < 20000; i++)
			;
		atomic_store(&phase, 1);
		if (mprotect_mode)
			mprotect((void *)page, 4096, PROT_READ);
		else
			munmap((void *)page, 4096);
		atomic_store(&phase, 2);
		/* Wait for its fault (or its wrongful success). */
		while (faults + late_ok <= r)
			;
		atomic_store(&toucher_ready, 0);
		/* The page again, with new contents the toucher must see. */
		if (mprotect_mode) {
			mprotect((void *)page, 4096, PROT_READ | PROT_WRITE);
		} else {
			void *p = mmap((void *)page, 4096, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			bad_remap += p != (void *)page || page[0] != 0;
		}
		atomic_store(&phase, 0);
	}
	while (!atomic_load(&toucher_ready))
		;
	atomic_store(&stop_touch, 1);
	pthread_join(t, NULL);
	char msg[200];
	snprintf(msg, sizeof(msg), "%s: %d rounds, each access after the call faults (%d faults, %d stale)",
		 what, rounds, faults, late_ok);
	check(faults == rounds && late_ok == 0 && early_faults == 0 && bad_remap == 0, msg);
	munmap((void *)page, 4096);
	signal(SIGSEGV, SIG_DFL);
}

/* ---- a signal to a thread spinning on another CPU ---- */

static atomic_int spin_ready, sig_taken;
static int sig_cpu[2] = {-1, -1};
#define SIG_WAIT_S 1.0

static void on_usr2(int sig)
{
	(void)sig;
	int n = atomic_load(&sig_taken);
	if (n < 2)
		sig_cpu[n] = this_cpu();
	atomic_fetch_add(&sig_taken, 1);
	futex(&sig_taken, FUTEX_WAKE_PRIVATE, 1);
}

/* On CPU 1, spins in user mode (no system call) until each round's
 * signal has been handled. */
static void *sig_spinner(void *arg)
{
	(void)arg;
	pin(1);
	for (int r = 0; r < 2; r++) {
		atomic_store(&spin_ready, r + 1);
		while (atomic_load(&sig_taken) <= r)
			;
	}
	return NULL;
}

/* Waits (asleep, a futex with a timeout) up to SIG_WAIT_S for the
 * handler's count to pass round: the seconds it took, or -1. */
static double wait_taken(int round, double t0)
{
	for (;;) {
		int n = atomic_load(&sig_taken);
		double dt = now_s() - t0;
		if (n > round)
			return dt;
		if (dt >= SIG_WAIT_S)
			return -1;
		double left = SIG_WAIT_S - dt;
		struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
		syscall(SYS_futex, (int *)&sig_taken, FUTEX_WAIT_PRIVATE, n, &ts, NULL, 0);
	}
}

static void signal_to_spinner(void)
{
	char msg[300];
	pin(0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t t;
	pthread_create(&t, NULL, sig_spinner, NULL);
	/* Spin too while it gets going: a sleep here would set a deadline the
	 * other CPU's timer might be armed for. */
	while (atomic_load(&spin_ready) < 1)
		;
	double t0 = now_s();
	pthread_kill(t, SIGUSR2);
	double dt = wait_taken(0, t0);
	snprintf(
		msg, sizeof(msg),
		"pthread_kill to a thread spinning in user mode on CPU 1: its handler ran there within %.0f s "
		"(%.3f s), long before its next time slice",
		SIG_WAIT_S, dt);
	check(dt >= 0 && sig_cpu[0] == 1, msg);

	/* To the process, with this thread blocking it: only the spinner
	 * can take it. */
	while (atomic_load(&spin_ready) < 2)
		;
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	t0 = now_s();
	kill(getpid(), SIGUSR2);
	dt = wait_taken(1, t0);
	snprintf(
		msg, sizeof(msg),
		"kill to the process, blocked here: the thread spinning on CPU 1 took it within %.0f s (%.3f s)",
		SIG_WAIT_S, dt);
	check(dt >= 0 && sig_cpu[1] == 1, msg);
	if (dt >= 0)
		pthread_join(t, NULL);
}

/* ---- fork, wait and signals ---- */

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void children(int n)
{
	pid_t kids[8];
	int pipefd[2];
	if (pipe(pipefd) != 0) {
		check(0, "pipe");
		return;
	}
	signal(SIGUSR1, on_usr1);
	for (int i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(pipefd[0]);
			if (write(pipefd[1], "x", 1) != 1)
				_exit(50);
			/* Spin (no system call) until the handler runs, or be
			 * killed while spinning. */
			while (!got_usr1)
				;
			_exit(10 + i);
		}
	}
	close(pipefd[1]);
	char c;
	for (int i = 0; i < n; i++)
		if (read(pipefd[0], &c, 1) != 1)
			break;
	close(pipefd[0]);
	/* Let every child reach its spin. */
	usleep(50000);
	for (int i = 0; i < n; i++)
		kill(kids[i], i == 0 ? SIGKILL : SIGUSR1);
	int good = 0;
	for (int i = 0; i < n; i++) {
		int st = 0;
		pid_t w = waitpid(kids[i], &st, 0);
		if (w != kids[i])
			continue;
		if (i == 0 ? WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL
			   : WIFEXITED(st) && WEXITSTATUS(st) == 10 + i)
			good++;
	}
	char msg[160];
	snprintf(
		msg, sizeof(msg),
		"fork %d children spinning; SIGKILL to one, SIGUSR1 to the others' handlers; wait collects each",
		n);
	check(good == n, msg);
}

int main(int argc, char **argv)
{
	int want = argc > 1 ? atoi(argv[1]) : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[2], "signal")) {
		signal_to_spinner();
		printf("smp: %s\n", failures ? "FAILED" : "all passed");
		return failures ? 1 : 0;
	}

	/* What programs size themselves by. */
	cpu_set_t set;
	CPU_ZERO(&set);
	int aff = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
	long onln = sysconf(_SC_NPROCESSORS_ONLN), conf = sysconf(_SC_NPROCESSORS_CONF);
	int online = list_count("/sys/devices/system/cpu/online");
	int possible = list_count("/sys/devices/system/cpu/possible");
	int cpuinfo = cpuinfo_count();
	char msg[300];
	snprintf(msg, sizeof(msg),
		 "%d CPUs everywhere: affinity %d, sysconf online %ld conf %ld, /sys online %d possible %d, "
		 "cpuinfo %d",
		 want, aff, onln, conf, online, possible, cpuinfo);
	check(aff == want && onln == want && conf == want && online == want && possible == want &&
		      cpuinfo == want,
	      msg);
	int c0 = this_cpu(), c1 = sched_getcpu();
	check(c0 >= 0 && c0 < want && c1 >= 0 && c1 < want,
	      "getcpu and sched_getcpu name a CPU that is online");

	/* sched_setaffinity is honoured: pinned to each CPU in turn. */
	int pinned_ok = 1;
	for (int c = 0; c < want; c++) {
		pin(c);
		for (int k = 0; k < 3; k++)
			pinned_ok &= this_cpu() == c && sched_getcpu() == c;
	}
	CPU_ZERO(&set);
	for (int c = 0; c < want; c++)
		CPU_SET(c, &set);
	sched_setaffinity(0, sizeof(set), &set);
	check(pinned_ok, "sched_setaffinity moves the thread to each CPU in turn");
	CPU_ZERO(&set);
	CPU_SET(want, &set); /* a CPU that is not online */
	check(sched_setaffinity(0, sizeof(set), &set) == -1 && errno == EINVAL,
	      "sched_setaffinity to no online CPU: EINVAL");

	if (want >= 2) {
		/* Two threads at once. */
		pthread_t a, b;
		double t0 = now_s();
		atomic_store(&spin_cpu[0], -1);
		atomic_store(&spin_cpu[1], -1);
		pthread_create(&a, NULL, spinner, (void *)0L);
		pthread_create(&b, NULL, spinner, (void *)1L);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		double dt = now_s() - t0;
		snprintf(msg, sizeof(msg),
			 "two threads spin at the same time on CPUs %d and %d: %d hand-overs in %.2f s",
			 spin_cpu[0], spin_cpu[1], 2 * ROUNDS, dt);
		check(spin_cpu[0] != spin_cpu[1] && spin_cpu[0] >= 0 && spin_cpu[1] >= 0, msg);

		/* Futex ping-pong, the two sides pinned to CPUs 0 and 1. */
		pthread_t p;
		pin(0);
		pthread_create(&p, NULL, ponger, (void *)1L);
		int ping_bad = 0;
		for (int i = 0; i < PINGS; i++) {
			atomic_store(&ftx, 1);
			futex(&ftx, FUTEX_WAKE_PRIVATE, 1);
			while (atomic_load(&ftx) != 0)
				futex(&ftx, FUTEX_WAIT_PRIVATE, 1);
			ping_bad += this_cpu() != 0;
		}
		pthread_join(p, NULL);
		CPU_ZERO(&set);
		for (int c = 0; c < want; c++)
			CPU_SET(c, &set);
		sched_setaffinity(0, sizeof(set), &set);
		snprintf(msg, sizeof(msg), "futex ping-pong between CPU 0 and CPU 1: %d round trips", PINGS);
		check(ping_bad == 0 && pong_bad_cpu == 0, msg);
	}

	children(want + 1);

	pthread_t t[COUNTERS];
	for (int i = 0; i < COUNTERS; i++)
		pthread_create(&t[i], NULL, adder, NULL);
	for (int i = 0; i < COUNTERS; i++)
		pthread_join(t[i], NULL);
	snprintf(msg, sizeof(msg), "%d threads: atomic count %ld of %d, mutex count %ld of %d", COUNTERS,
		 (long)atomic_load(&acount), COUNTERS * ADDS, mcount, COUNTERS * ADDS / 8);
	check(acount == (long)COUNTERS * ADDS && mcount == (long)COUNTERS * ADDS / 8, msg);

	race(0, "munmap while another thread reads the page");
	race(1, "mprotect read-only while another thread writes the page");

	printf("smp: %s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
