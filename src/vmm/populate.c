/* Populating guest memory on every CPU the process may run on.
 *
 * carve builds all of an enclave's memory before its first vCPU runs (a vCPU
 * never waits on a host fault for RAM, memory.c). Done by one thread that
 * costs about 0.4 ms per MiB, on the path to the first guest instruction; the
 * kernel's populate work (zeroing, page-table entries) scales with the CPUs
 * doing it, and an enclave process is pinned to the CPUs it was given (its
 * pool CPUs), so those are the ones that populate: one thread per CPU in the
 * affinity mask, each pinned to its CPU, each taking a contiguous share in
 * 2 MiB-aligned pieces (whole huge pages, and first touch on the CPU whose
 * node will most likely use it). gm_populate_start leaves them running so
 * that the VMM builds the rest of the VM meanwhile (memory.c). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "carve/util.h"
#include "vmm/vmm_internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Below this much per thread, a thread costs more than it saves. */
#define POPULATE_MIN_SHARE (32ull << 20)
#define POPULATE_MAX_THREADS 64

struct populate_share {
	uint8_t *start;
	uint64_t len;
	int cpu; /* -1: not pinned */
	int error;
	pthread_t thread;
	bool started;
};

/* Touches every page when MADV_POPULATE_WRITE is unknown (kernels < 5.14). */
static void touch_pages(uint8_t *p, uint64_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	for (uint64_t off = 0; off < len; off += (uint64_t)pg)
		((volatile uint8_t *)p)[off] = 0;
}

/* One madvise covers this much at most. MADV_POPULATE_WRITE holds the
 * process's mmap lock for reading through its whole range, and the VMM
 * builds the VM meanwhile (gm_populate_start): creating a vCPU maps its
 * kvm_run page, which takes that lock for writing, and waited for the whole
 * population when it was one call (seen in carve vmm --verbose: vCPUs ready
 * only when memory was). Between pieces the writer gets its turn. */
#define POPULATE_PIECE (4ull << 20)

static int populate_range(uint8_t *p, uint64_t len, bool may_touch)
{
	for (uint64_t off = 0; off < len; off += POPULATE_PIECE) {
		uint64_t n = len - off < POPULATE_PIECE ? len - off : POPULATE_PIECE;
		if (madvise(p + off, n, MADV_POPULATE_WRITE) == 0)
			continue;
		if (errno == EINVAL && may_touch) {
			touch_pages(p + off, len - off);
			return 0;
		}
		return errno;
	}
	return 0;
}

struct populate_job {
	struct populate_share *share;
	bool may_touch;
};

static void *populate_thread(void *arg)
{
	struct populate_job *job = arg;
	struct populate_share *s = job->share;
	if (s->cpu >= 0) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(s->cpu, &one);
		(void)pthread_setaffinity_np(pthread_self(), sizeof(one), &one); /* best effort */
	}
	s->error = populate_range(s->start, s->len, job->may_touch);
	return NULL;
}

int gm_populate_threads(uint64_t len)
{
	cpu_set_t set;
	int cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
	uint64_t n = len / POPULATE_MIN_SHARE;
	if (n > (uint64_t)cpus)
		n = (uint64_t)cpus;
	if (n > POPULATE_MAX_THREADS)
		n = POPULATE_MAX_THREADS;
	return n < 1 ? 1 : (int)n;
}

/* The shares in flight between gm_populate_start and gm_populate_finish. */
struct gm_populate {
	int nthreads;
	struct populate_share shares[POPULATE_MAX_THREADS];
	struct populate_job jobs[POPULATE_MAX_THREADS];
};

struct gm_populate *gm_populate_start(uint8_t *map, uint64_t len, int nthreads, bool may_touch)
{
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > POPULATE_MAX_THREADS)
		nthreads = POPULATE_MAX_THREADS;
	struct gm_populate *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->nthreads = nthreads;
	cpu_set_t set;
	bool have_set = sched_getaffinity(0, sizeof(set), &set) == 0;
	int next_cpu = 0;
	/* Shares in whole 2 MiB pieces; the last takes the rest. */
	uint64_t pieces = len / VMM_MEM_ALIGN, per = pieces / (uint64_t)nthreads, off = 0;
	for (int i = 0; i < nthreads; i++) {
		uint64_t share_len = i == nthreads - 1 ? len - off : per * VMM_MEM_ALIGN;
		p->shares[i] = (struct populate_share){.start = map + off, .len = share_len, .cpu = -1};
		off += share_len;
		if (have_set) {
			while (next_cpu < CPU_SETSIZE && !CPU_ISSET(next_cpu, &set))
				next_cpu++;
			if (next_cpu < CPU_SETSIZE)
				p->shares[i].cpu = next_cpu++;
		}
	}
	/* Every share on a thread of its own: the caller goes on building the
	 * VM (KVM, devices, the image into guest memory) meanwhile. Writes it
	 * makes to memory being populated are safe: MADV_POPULATE_WRITE leaves
	 * a page that is already there as it is. */
	for (int i = 0; i < nthreads; i++) {
		p->jobs[i] = (struct populate_job){.share = &p->shares[i], .may_touch = may_touch};
		p->shares[i].started = thread_create_sized(&p->shares[i].thread, THREAD_STACK_SMALL,
							   populate_thread, &p->jobs[i]) == 0;
		if (!p->shares[i].started)
			p->shares[i].error = populate_range(p->shares[i].start, p->shares[i].len, may_touch);
	}
	return p;
}

int gm_populate_finish(struct gm_populate *p)
{
	int first_error = 0;
	for (int i = 0; i < p->nthreads; i++) {
		if (p->shares[i].started)
			pthread_join(p->shares[i].thread, NULL);
		if (!first_error)
			first_error = p->shares[i].error;
	}
	free(p);
	return first_error;
}

int gm_populate(uint8_t *map, uint64_t len, int nthreads, bool may_touch)
{
	if (nthreads <= 1)
		return populate_range(map, len, may_touch);
	struct gm_populate *p = gm_populate_start(map, len, nthreads, may_touch);
	return p ? gm_populate_finish(p) : ENOMEM;
}
