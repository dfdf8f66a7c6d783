/* Threads in the carve kernel, checked from the inside: pthread_create and
 * join (clone/clone3, CLONE_CHILD_CLEARTID, set_tid_address), thread-local
 * storage (CLONE_SETTLS), mutexes and condition variables across threads
 * (futex wait/wake, requeue), timed waits (futex timeouts), preemption (a
 * thread spinning on a flag only another thread sets), many threads, and
 * identity (one pid, distinct tids). Prints "ok ..." or "FAIL ..." per check
 * and exits 1 if anything failed.
 *
 *   threads [N]   N threads in the many-threads check (default 64) */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static __thread int tls_value = 7;
static pid_t thread_pid, thread_tid;

static void *identity(void *arg)
{
	thread_pid = getpid();
	thread_tid = (pid_t)syscall(SYS_gettid);
	tls_value = (int)(long)arg;
	return (void *)(long)(tls_value * 2);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *add_many(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int stage;

static void *ping(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++) {
		pthread_mutex_lock(&lock);
		while (stage % 2 == 0)
			pthread_cond_wait(&cond, &lock);
		stage++;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static atomic_int flag;

static void *set_flag_later(void *arg)
{
	(void)arg;
	atomic_store(&flag, 1);
	return NULL;
}

static void *spin_until_flag(void *arg)
{
	(void)arg;
	while (!atomic_load(&flag))
		; /* only preemption lets the setter run on one CPU */
	return NULL;
}

static void *return_index(void *arg) { return arg; }

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int many = argc > 1 ? atoi(argv[1]) : 64;
	setvbuf(stdout, NULL, _IOLBF, 0);

	pthread_t t;
	void *ret = NULL;
	int err = pthread_create(&t, NULL, identity, (void *)21L);
	if (err)
		printf("pthread_create: %s\n", strerror(err));
	check(err == 0, "pthread_create");
	check(pthread_join(t, &ret) == 0 && (long)ret == 42, "pthread_join returns the thread's value");
	check(thread_pid == getpid(), "a thread has its process's pid");
	check(thread_tid != getpid() && thread_tid > 0, "a thread has its own tid");
	check(tls_value == 7, "thread-local storage: the main thread's copy is its own");

	pthread_t adders[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&adders[i], NULL, add_many, (void *)20000L);
	for (int i = 0; i < 4; i++)
		pthread_join(adders[i], NULL);
	check(counter == 80000, "a mutex shared by 4 threads: 80000 increments, none lost");

	pthread_t pinger;
	pthread_create(&pinger, NULL, ping, NULL);
	for (int i = 0; i < 100; i++) {
		pthread_mutex_lock(&lock);
		while (stage % 2 == 1)
			pthread_cond_wait(&cond, &lock);
		stage++;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	}
	pthread_join(pinger, NULL);
	check(stage == 200, "a condition variable ping-pong of 200 turns between two threads");

	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 50 * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	double t0 = seconds();
	pthread_mutex_lock(&lock);
	int r = pthread_cond_timedwait(&cond, &lock, &until);
	pthread_mutex_unlock(&lock);
	double waited = seconds() - t0;
	check(r == ETIMEDOUT && waited >= 0.045, "pthread_cond_timedwait times out, not before its time");

	pthread_t spinner, setter;
	pthread_create(&spinner, NULL, spin_until_flag, NULL);
	pthread_create(&setter, NULL, set_flag_later, NULL);
	pthread_join(spinner, NULL);
	pthread_join(setter, NULL);
	check(atomic_load(&flag) == 1, "preemption: a spinning thread does not starve the others");

	int ok = 1;
	for (int i = 0; i < many; i++) {
		if (pthread_create(&t, NULL, return_index, (void *)(long)i) != 0 ||
		    pthread_join(t, &ret) != 0 || (long)ret != i)
			ok = 0;
	}
	char what[80];
	snprintf(what, sizeof(what), "%d threads created and joined one after another", many);
	check(ok, what);

	pthread_t *all = calloc((size_t)many, sizeof(*all));
	ok = all != NULL;
	for (int i = 0; ok && i < many; i++)
		ok = pthread_create(&all[i], NULL, return_index, (void *)(long)i) == 0;
	for (int i = 0; ok && i < many; i++)
		ok = pthread_join(all[i], &ret) == 0 && (long)ret == i;
	snprintf(what, sizeof(what), "%d threads alive at once, each joined with its value", many);
	check(ok, what);

	printf("threads: %s\n", failures ? "FAILED" : "all passed");
	return failures ? 1 : 0;
}
