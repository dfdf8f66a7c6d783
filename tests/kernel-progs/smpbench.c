/* Workloads that show what SMP gives and costs (bench/kernel_smp.sh runs
 * each with one vCPU and with several): the wall time of
 *   smpbench spin T N       T threads, each N rounds of integer work in user
 *                           mode and nothing else: what more CPUs are for
 *   smpbench syscalls T N   T threads, each N getppid calls: kernel work,
 *                           which the big kernel lock serialises
 *   smpbench pingpong N     two threads handing a turn back and forth N
 *                           times through futexes: a wake-up per turn, across
 *                           CPUs when there are several (a GIL's pattern)
 *   smpbench forks N        N fork + exit + wait, one after the other
 * Prints "MODE: US us (CHECK)", CHECK a value computed from the work so the
 * compiler cannot drop it; exits 1 on a failed call. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static long long now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static long rounds;
static uint64_t results[MAX_THREADS];

static void *spin(void *arg)
{
	uintptr_t i = (uintptr_t)arg;
	uint64_t x = 0x9e3779b97f4a7c15ull ^ i;
	for (long r = 0; r < rounds; r++) { /* xorshift64: no memory traffic */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	results[i] = x;
	return NULL;
}

static void *syscalls(void *arg)
{
	uintptr_t i = (uintptr_t)arg;
	uint64_t sum = 0;
	for (long r = 0; r < rounds; r++)
		sum += (uint64_t)syscall(SYS_getppid);
	results[i] = sum;
	return NULL;
}

static int run_threads(void *(*fn)(void *), int n)
{
	pthread_t t[MAX_THREADS];
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i))
			return -1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}

static _Atomic int turn; /* whose turn: 0 or 1 */

static void futex_wait(_Atomic int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *addr) { syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void *pong(void *arg)
{
	int me = (int)(uintptr_t)arg;
	for (long r = 0; r < rounds; r++) {
		int t;
		while ((t = atomic_load(&turn)) != me)
			futex_wait(&turn, t);
		atomic_store(&turn, !me);
		futex_wake(&turn);
	}
	results[me] = (uint64_t)rounds;
	return NULL;
}

static int forks(void)
{
	for (long r = 0; r < rounds; r++) {
		pid_t p = fork();
		if (p < 0)
			return -1;
		if (p == 0)
			_exit(7);
		int st;
		if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			return -1;
		results[0]++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: smpbench spin|syscalls T N | pingpong N | forks N\n");
		return 2;
	}
	const char *mode = argv[1];
	bool threaded = !strcmp(mode, "spin") || !strcmp(mode, "syscalls");
	int threads = threaded ? atoi(argv[2]) : 2;
	rounds = atol(argv[threaded ? 3 : 2]);
	if (threads < 1 || threads > MAX_THREADS || rounds < 1 || (threaded && argc < 4))
		return 2;
	long long t0 = now_us();
	int r;
	if (!strcmp(mode, "spin"))
		r = run_threads(spin, threads);
	else if (!strcmp(mode, "syscalls"))
		r = run_threads(syscalls, threads);
	else if (!strcmp(mode, "pingpong"))
		r = run_threads(pong, 2);
	else if (!strcmp(mode, "forks"))
		r = forks();
	else
		return 2;
	long long dt = now_us() - t0;
	if (r < 0) {
		printf("%s: failed\n", mode);
		return 1;
	}
	uint64_t check = 0;
	for (int i = 0; i < threads; i++)
		check ^= results[i];
	printf("%s: %lld us (%llx)\n", mode, dt, (unsigned long long)check);
	return 0;
}
