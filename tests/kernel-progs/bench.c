/* Micro-benchmarks run inside the guest (bench/kernel_boot.sh):
 *   bench                 exits at once (boot-to-exit time)
 *   bench getppid N       N getppid system calls: ns per round trip
 *   bench fault N         touches N fresh anonymous pages: ns per page fault
 *   bench read N          N 4 KiB reads of a ramdisk file: MB/s
 *   bench lines N         writes lines 00000000..N-1 ("%08ld\n", 9 bytes each
 *                         below 10^8) to stdout in 64 KiB writes: console
 *                         throughput (bench/kernel_scale.sh) and, checksummed
 *                         by the host, its completeness and order */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 0;
	long n = atol(argv[2]);
	if (n <= 0)
		return 2;
	long long t0 = now_ns();
	if (!strcmp(argv[1], "getppid")) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
	} else if (!strcmp(argv[1], "fault")) {
		char *p = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (p == MAP_FAILED)
			return 3;
		for (long i = 0; i < n; i++)
			p[i * 4096] = 1;
	} else if (!strcmp(argv[1], "read")) {
		static char buf[4096];
		int fd = open(argc > 3 ? argv[3] : "/proc/self/exe", O_RDONLY);
		if (fd < 0)
			return 4;
		for (long i = 0; i < n; i++)
			if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf))
				return 5;
	} else if (!strcmp(argv[1], "lines")) {
		static char buf[65536];
		size_t used = 0;
		for (long i = 0; i < n; i++) {
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%08ld\n", i);
			if (used > sizeof(buf) - 32 || i == n - 1) {
				for (size_t off = 0; off < used;) {
					ssize_t w = write(1, buf + off, used - off);
					if (w <= 0)
						return 6;
					off += (size_t)w;
				}
				used = 0;
			}
		}
	} else {
		return 2;
	}
	long long dt = now_ns() - t0;
	printf("%s: %ld in %lld us: %lld ns each\n", argv[1], n, dt / 1000, dt / n);
	return 0;
}
