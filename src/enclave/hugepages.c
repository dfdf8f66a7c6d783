/* The hugepage plan: which pages back an enclave's memory.
 *
 * nitro-cli maps the largest pages first, so a 256 MiB enclave on a host with
 * 1 GiB pages takes a whole 1 GiB page (issue #602). carve picks the set that
 * covers the request with the least memory and, among those, the fewest
 * pages. With at most a handful of page sizes the search is tiny: for each
 * size R taken as the one that may overshoot, fill greedily with the sizes
 * from the largest down to R without overshooting, then round up with R;
 * keep the best of these. (Smaller sizes than R cannot help a plan that
 * overshoots with R.) */
#include <stdio.h>
#include <string.h>

#include "carve/enclave.h"

static void plan_add(struct hugepage_plan *p, uint64_t size, uint64_t count)
{
	if (!count)
		return;
	for (int i = 0; i < p->n; i++)
		if (p->use[i].size == size) {
			p->use[i].count += count;
			p->total += size * count;
			return;
		}
	p->use[p->n].size = size;
	p->use[p->n].count = count;
	p->n++;
	p->total += size * count;
}

/* Sizes sorted[0..round], largest first, without overshooting; then
 * sorted[round] pages cover the rest. */
static bool try_plan(uint64_t bytes, const struct hugepage_pool *sorted, int n, int round,
		     struct hugepage_plan *out)
{
	memset(out, 0, sizeof(*out));
	uint64_t free_left[8];
	for (int i = 0; i < n; i++)
		free_left[i] = sorted[i].free;
	uint64_t left = bytes;
	for (int i = 0; i <= round && left; i++) {
		uint64_t k = left / sorted[i].size;
		if (k > free_left[i])
			k = free_left[i];
		plan_add(out, sorted[i].size, k);
		free_left[i] -= k;
		left -= k * sorted[i].size;
	}
	if (left) {
		uint64_t k = (left + sorted[round].size - 1) / sorted[round].size;
		if (k > free_left[round])
			return false;
		plan_add(out, sorted[round].size, k);
	}
	return true;
}

static uint64_t plan_pages(const struct hugepage_plan *p)
{
	uint64_t n = 0;
	for (int i = 0; i < p->n; i++)
		n += p->use[i].count;
	return n;
}

int hugepage_plan(uint64_t bytes, const struct hugepage_pool *pools, int npools, struct hugepage_plan *plan,
		  struct carve_err *err)
{
	struct hugepage_pool sorted[8];
	int n = 0;
	for (int i = 0; i < npools && n < 8; i++)
		if (pools[i].size)
			sorted[n++] = pools[i];
	for (int i = 1; i < n; i++) /* largest first */
		for (int j = i; j > 0 && sorted[j].size > sorted[j - 1].size; j--) {
			struct hugepage_pool t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	bool found = false;
	for (int r = 0; r < n; r++) {
		struct hugepage_plan cand;
		if (!try_plan(bytes, sorted, n, r, &cand))
			continue;
		if (!found || cand.total < plan->total ||
		    (cand.total == plan->total && plan_pages(&cand) < plan_pages(plan))) {
			*plan = cand;
			found = true;
		}
	}
	if (!found) {
		/* Say what each pool holds, so that the user knows which to raise. */
		uint64_t avail = 0;
		char pools_text[160] = "";
		size_t used = 0;
		for (int i = 0; i < n && used < sizeof(pools_text); i++) {
			avail += sorted[i].size * sorted[i].free;
			uint64_t sz = sorted[i].size;
			bool gib = sz >= (1ull << 30) && sz % (1ull << 30) == 0;
			int w = snprintf(pools_text + used, sizeof(pools_text) - used, "%s%llu of %llu %s",
					 i ? ", " : "", (unsigned long long)sorted[i].free,
					 (unsigned long long)(gib ? sz >> 30 : sz >> 20),
					 gib ? "GiB" : "MiB");
			if (w < 0)
				break;
			used += (size_t)w;
		}
		return carve_fail(err, E27_INSUFFICIENT_MEMORY_AVAILABLE,
				  "%llu MiB were requested but the free hugepages hold %llu MiB (%s); raise "
				  "memory_mib in the allocator configuration and run 'carve allocator'",
				  (unsigned long long)(bytes >> 20), (unsigned long long)(avail >> 20),
				  n ? pools_text : "no hugepage pool");
	}
	return 0;
}
