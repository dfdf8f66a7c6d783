/* The vDSO, checked from the inside: the kernel names it (AT_SYSINFO_EHDR,
 * an ELF image there), and the C library's clock_gettime, gettimeofday,
 * time and clock_getres, which use it, agree with the system calls (within
 * 50 ms), the monotonic clock never goes back over 200,000 reads, and the
 * clocks it does not serve (CPU time) still work through it. With "loop N"
 * it only reads the clock N times (the test counts the system calls the
 * kernel saw: carve.strace). Prints "ok ..." or "FAIL ..." per check;
 * exits 1 if anything failed. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000ll

static int64_t ns_of(struct timespec t) { return (int64_t)t.tv_sec * 1000000000ll + t.tv_nsec; }

static int64_t libc_ns(clockid_t c)
{
	struct timespec t = {0, 0};
	clock_gettime(c, &t);
	return ns_of(t);
}

static int64_t sys_ns(clockid_t c)
{
	struct timespec t = {0, 0};
	syscall(SYS_clock_gettime, c, &t);
	return ns_of(t);
}

static int64_t diff(int64_t a, int64_t b) { return a > b ? a - b : b - a; }

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[1], "loop")) {
		long n = atol(argv[2]);
		int64_t sum = 0;
		for (long i = 0; i < n; i++)
			sum += libc_ns(CLOCK_MONOTONIC) & 1;
		printf("read the clock %ld times (%lld)\n", n, (long long)sum);
		return 0;
	}
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	check(base != 0 && !memcmp((const void *)base, "\177ELF", 4),
	      "AT_SYSINFO_EHDR names the vDSO, an ELF image");
	static const struct {
		clockid_t id;
		const char *name;
	} clocks[] = {{CLOCK_REALTIME, "CLOCK_REALTIME"},
		      {CLOCK_MONOTONIC, "CLOCK_MONOTONIC"},
		      {CLOCK_BOOTTIME, "CLOCK_BOOTTIME"},
		      {CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW"},
		      {CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE"},
		      {CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"}};
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		int64_t a = sys_ns(clocks[i].id), b = libc_ns(clocks[i].id), c = sys_ns(clocks[i].id);
		char what[128];
		snprintf(what, sizeof(what), "clock_gettime(%s) between two system calls' readings",
			 clocks[i].name);
		check(b >= a - 50 * MS && b <= c + 50 * MS && a > 0, what);
	}
	struct timeval tv;
	gettimeofday(&tv, NULL);
	int64_t tv_ns = (int64_t)tv.tv_sec * 1000000000ll + tv.tv_usec * 1000ll;
	check(diff(tv_ns, sys_ns(CLOCK_REALTIME)) < 50 * MS, "gettimeofday agrees with the system call");
	time_t t = time(NULL);
	long st = syscall(SYS_time, NULL);
	check(t > 0 && diff(t, st) <= 1, "time() agrees with the system call");
	struct timespec res = {1, 1};
	check(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec == 1,
	      "clock_getres(CLOCK_MONOTONIC): 1 ns");
	int64_t prev = libc_ns(CLOCK_MONOTONIC);
	int back = 0;
	for (int i = 0; i < 200000; i++) {
		int64_t now = libc_ns(CLOCK_MONOTONIC);
		back += now < prev;
		prev = now;
	}
	check(!back, "CLOCK_MONOTONIC never goes back over 200,000 reads");
	int64_t c0 = libc_ns(CLOCK_PROCESS_CPUTIME_ID);
	while (libc_ns(CLOCK_PROCESS_CPUTIME_ID) - c0 < 20 * MS)
		;
	check(c0 > 0 && diff(libc_ns(CLOCK_THREAD_CPUTIME_ID), sys_ns(CLOCK_THREAD_CPUTIME_ID)) < 50 * MS,
	      "the CPU-time clocks, which the vDSO leaves to the system call, still read and move");
	printf("%s\n", failures ? "some checks failed" : "all checks passed");
	return failures ? 1 : 0;
}
