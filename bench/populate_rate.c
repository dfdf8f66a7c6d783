/* Populating guest memory as carve does before an enclave's first
 * instruction (gm_populate), with 1..N threads: milliseconds for SIZE MiB,
 * best of RUNS, a fresh memfd each time (so each run starts from nothing).
 *   populate_rate SIZE_MIB RUNS THREADS... */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vmm_internal.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double one_run(uint64_t len, int threads)
{
	int fd = memfd_create("populate-bench", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
		return -1;
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	(void)madvise(p, len, MADV_HUGEPAGE); /* as carve's memfd backing */
	double t0 = now_ms();
	int e = gm_populate(p, len, threads, true);
	double ms = now_ms() - t0;
	munmap(p, len);
	close(fd);
	return e ? -1 : ms;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: populate_rate SIZE_MIB RUNS THREADS...\n");
		return 2;
	}
	uint64_t len = strtoull(argv[1], NULL, 10) * VMM_MIB;
	int runs = atoi(argv[2]);
	for (int a = 3; a < argc; a++) {
		int threads = atoi(argv[a]);
		double best = -1;
		for (int r = 0; r < runs; r++) {
			double ms = one_run(len, threads);
			if (ms < 0) {
				fprintf(stderr, "populate_rate: %d thread(s) failed\n", threads);
				return 1;
			}
			if (best < 0 || ms < best)
				best = ms;
		}
		printf("threads %d: %.1f ms\n", threads, best);
	}
	return 0;
}
