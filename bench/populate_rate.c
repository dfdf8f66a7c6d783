/* Populating guest memory as carve does before an enclave's first
 * instruction (gm_populate), with 1..N threads: milliseconds for SIZE MiB,
 * best of RUNS, a fresh anonymous mapping each time, as memory.c's (so each
 * run starts from nothing).
 *   populate_rate SIZE_MIB RUNS THREADS... */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <stdint.h>

#include "vmm/vmm_internal.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A fresh mapping as carve's (memory.c: anonymous, 2 MiB-aligned, THP
 * advised), populated; its address space left for the next run. */
static double one_run(uint64_t len, int threads)
{
	uint8_t *raw = mmap(NULL, len + VMM_MEM_ALIGN, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -1;
	uint8_t *p = raw + ((VMM_MEM_ALIGN - ((uintptr_t)raw & (VMM_MEM_ALIGN - 1))) & (VMM_MEM_ALIGN - 1));
	(void)madvise(p, len, MADV_HUGEPAGE);
	double t0 = now_ms();
	int e = gm_populate(p, len, threads, true);
	double ms = now_ms() - t0;
	munmap(raw, len + VMM_MEM_ALIGN);
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
