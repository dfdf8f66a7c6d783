/* A bound on how often something guest-controlled may write to a host log:
 * `burst` lines per window, then silence until the next window, whose first
 * line says how many were left out. Thread-safe (device and vCPU threads
 * report faults of the same VM). */
#include <pthread.h>

#include "carve/util.h"

void rate_limit_init(struct rate_limit *r, unsigned burst, uint64_t window_ms)
{
	pthread_mutex_init(&r->lock, NULL);
	r->burst = burst;
	r->window_ns = window_ms * 1000000ull;
	r->start_ns = 0;
	r->used = 0;
	r->dropped = 0;
}

void rate_limit_destroy(struct rate_limit *r) { pthread_mutex_destroy(&r->lock); }

bool rate_limit_allow(struct rate_limit *r, uint64_t now_ns, unsigned long *dropped_before)
{
	pthread_mutex_lock(&r->lock);
	if (r->start_ns == 0 || now_ns - r->start_ns >= r->window_ns) {
		r->start_ns = now_ns;
		r->used = 0;
	}
	bool allow = r->used < r->burst;
	if (allow) {
		r->used++;
		*dropped_before = r->dropped;
		r->dropped = 0;
	} else {
		r->dropped++;
	}
	pthread_mutex_unlock(&r->lock);
	return allow;
}
