/* What the small host programs under tests/tools share: a monotonic clock
 * in seconds for throughput, and the one-line error exit. */
#ifndef CARVE_TEST_TOOL_H
#define CARVE_TEST_TOOL_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static inline double tool_now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* "PROG: WHAT: strerror(errno)" on stderr; returns the exit status 1. */
static inline int tool_die(const char *prog, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	return 1;
}

#endif
