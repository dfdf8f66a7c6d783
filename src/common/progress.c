/* Progress lines for long work (multi-GiB images): only on a TTY, only for work
 * that takes long enough to be worth watching, and rate-limited so drawing
 * never costs measurable time. */
#include "carve/util.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_MIN_BYTES (256ull << 20)
#define PROGRESS_INTERVAL_NS 100000000ull

uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void progress_begin(struct progress *p, const char *what, uint64_t total)
{
	p->what = what;
	p->total = total;
	p->last_ns = 0;
	p->active = total >= PROGRESS_MIN_BYTES && isatty(STDERR_FILENO);
}

void progress_update(struct progress *p, uint64_t done)
{
	if (!p->active)
		return;
	uint64_t now = monotonic_ns();
	if (now - p->last_ns < PROGRESS_INTERVAL_NS)
		return;
	p->last_ns = now;
	fprintf(stderr, "\r%s: %llu / %llu MiB (%u%%)", p->what, (unsigned long long)(done >> 20),
		(unsigned long long)(p->total >> 20), (unsigned)(p->total ? done * 100 / p->total : 100));
	fflush(stderr);
}

void progress_end(struct progress *p)
{
	if (p->active)
		fprintf(stderr, "\r\033[K");
	p->active = false;
}
