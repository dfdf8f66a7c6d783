/* Threads with stacks sized to what they run (include/carve/util.h). glibc
 * gives every thread RLIMIT_STACK (8 MiB) of address space; the VMM's threads
 * touch a few KiB of it, so the size bounds address space and a runaway
 * recursion (a guard page past the end), not resident memory. */
#include <limits.h>
#include <pthread.h>
#include <unistd.h>

#include "carve/util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STACK_FACTOR 4
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define STACK_FACTOR 4
#endif
#endif
#ifndef STACK_FACTOR
#define STACK_FACTOR 1
#endif

int thread_create_sized(pthread_t *th, size_t stack, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int r = pthread_attr_init(&attr);
	if (r)
		return r;
	size_t size = stack * STACK_FACTOR;
	long page = sysconf(_SC_PAGESIZE);
	if (page > 0)
		size = (size + (size_t)page - 1) & ~((size_t)page - 1);
	if (size < (size_t)PTHREAD_STACK_MIN)
		size = (size_t)PTHREAD_STACK_MIN;
	/* A size the system refuses leaves the default: a thread, not a failure. */
	(void)pthread_attr_setstacksize(&attr, size);
	r = pthread_create(th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return r;
}
