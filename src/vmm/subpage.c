/* See subpage.h. A sorted array of the protected pages: lookups are a binary
 * search under a read lock; a change builds the new array by one merge
 * (linear in the table plus the request), after checking the whole request,
 * so a refused change leaves the table as it was. */
#include "vmm/subpage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void subpage_init(struct subpage_table *t, size_t max_pages)
{
	memset(t, 0, sizeof(*t));
	pthread_rwlock_init(&t->lock, NULL);
	t->max_pages = max_pages;
}

void subpage_destroy(struct subpage_table *t)
{
	free(t->e);
	t->e = NULL;
	t->n = t->cap = 0;
	pthread_rwlock_destroy(&t->lock);
}

/* The first entry with gfn >= g (t->n if none). Caller holds the lock. */
static size_t lower_bound(const struct subpage_table *t, uint64_t g)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->e[mid].gfn < g)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct subpage_entry *find(const struct subpage_table *t, uint64_t g)
{
	size_t i = lower_bound(t, g);
	return i < t->n && t->e[i].gfn == g ? &t->e[i] : NULL;
}

/* What a request wants page `i` of its range to become, given its map now. */
typedef uint32_t (*want_fn)(const void *ctx, uint64_t i, uint32_t old);

/* The next page of the range to visit after page i: i + 1, or, when the
 * request leaves unprotected pages unprotected (gaps_stay), the next
 * protected one, so unprotecting a huge range costs what it holds. */
static uint64_t next_page(const struct subpage_table *t, size_t j, uint64_t gfn, uint64_t i, uint64_t npages,
			  bool gaps_stay)
{
	if (!gaps_stay)
		return i + 1;
	if (j < t->n && t->e[j].gfn - gfn < npages)
		return t->e[j].gfn - gfn;
	return npages;
}

/* Applies want() to pages [gfn, gfn + npages): checks everything first,
 * then swaps in the merged array. */
static int apply(struct subpage_table *t, uint64_t gfn, uint64_t npages, want_fn want, const void *ctx,
		 bool gaps_stay, uint32_t flags)
{
	if (npages == 0 || gfn + npages < gfn || (flags & ~SUBPAGE_ONE_WAY))
		return -EINVAL;
	pthread_rwlock_wrlock(&t->lock);
	size_t first = lower_bound(t, gfn), last = first; /* old entries inside the range: [first, last) */
	size_t kept = 0;                                  /* protected pages the range will hold */
	int rc = 0;
	for (uint64_t i = next_page(t, first, gfn, (uint64_t)-1, npages, gaps_stay); i < npages;) {
		uint32_t old = SUBPAGE_ALL, locked = 0;
		if (last < t->n && t->e[last].gfn == gfn + i) {
			old = t->e[last].access;
			locked = t->e[last].locked;
			last++;
		}
		uint32_t nw = want(ctx, i, old);
		if (((flags & SUBPAGE_ONE_WAY) && (nw & ~old)) || (nw & locked)) {
			rc = -EPERM;
			break;
		}
		/* total >= kept: past the bound, stop counting (a huge range
		 * must not cost a walk of every page) */
		if (nw != SUBPAGE_ALL && ++kept > t->max_pages) {
			rc = -ENOSPC;
			break;
		}
		i = next_page(t, last, gfn, i, npages, gaps_stay);
	}
	size_t total = t->n - (last - first) + kept;
	if (rc == 0 && total > t->max_pages)
		rc = -ENOSPC;
	struct subpage_entry *ne = NULL;
	/* Ranges given in address order (the command line's, a kernel locking
	 * its sections) land after every entry: grow in place, so n of them
	 * cost O(n), not a merge each. */
	bool append = first == t->n;
	if (rc == 0 && append && total > t->cap) {
		size_t cap = t->cap * 2 > total ? t->cap * 2 : total;
		ne = realloc(t->e, cap * sizeof(*ne));
		if (ne) {
			t->e = ne;
			t->cap = cap;
		} else {
			rc = -ENOMEM;
		}
	}
	if (rc == 0 && append)
		ne = t->e;
	else if (rc == 0 && total) {
		ne = malloc(total * sizeof(*ne));
		if (!ne)
			rc = -ENOMEM;
	}
	if (rc < 0) {
		pthread_rwlock_unlock(&t->lock);
		return rc;
	}
	if (first && !append)
		memcpy(ne, t->e, first * sizeof(*ne));
	size_t k = first, j = first;
	for (uint64_t i = next_page(t, first, gfn, (uint64_t)-1, npages, gaps_stay); i < npages;) {
		uint32_t old = SUBPAGE_ALL, locked = 0;
		if (j < last && t->e[j].gfn == gfn + i) {
			old = t->e[j].access;
			locked = t->e[j].locked;
			j++;
		}
		uint32_t nw = want(ctx, i, old);
		if (flags & SUBPAGE_ONE_WAY)
			locked |= ~nw;
		if (nw != SUBPAGE_ALL)
			ne[k++] = (struct subpage_entry){.gfn = gfn + i, .access = nw, .locked = locked};
		i = next_page(t, j, gfn, i, npages, gaps_stay);
	}
	if (t->n > last)
		memcpy(ne + k, t->e + last, (t->n - last) * sizeof(*ne));
	if (!append) {
		free(t->e);
		t->e = ne;
		t->cap = total;
	}
	t->n = total;
	t->generation++;
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

static uint32_t want_array(const void *ctx, uint64_t i, uint32_t old)
{
	(void)old;
	return ((const uint32_t *)ctx)[i];
}

int subpage_set(struct subpage_table *t, uint64_t gfn, uint32_t npages, const uint32_t *access,
		uint32_t flags)
{
	if (npages > SUBPAGE_MAX_PAGES || !access)
		return -EINVAL;
	return apply(t, gfn, npages, want_array, access, false, flags);
}

int subpage_get(struct subpage_table *t, uint64_t gfn, uint32_t npages, uint32_t *access)
{
	if (npages == 0 || npages > SUBPAGE_MAX_PAGES || gfn + npages < gfn || !access)
		return -EINVAL;
	pthread_rwlock_rdlock(&t->lock);
	size_t j = lower_bound(t, gfn);
	for (uint32_t i = 0; i < npages; i++) {
		if (j < t->n && t->e[j].gfn == gfn + i)
			access[i] = t->e[j++].access;
		else
			access[i] = SUBPAGE_ALL;
	}
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

int subpage_get_locked(struct subpage_table *t, uint64_t gfn, uint32_t npages, uint32_t *locked)
{
	if (npages == 0 || npages > SUBPAGE_MAX_PAGES || gfn + npages < gfn || !locked)
		return -EINVAL;
	pthread_rwlock_rdlock(&t->lock);
	size_t j = lower_bound(t, gfn);
	for (uint32_t i = 0; i < npages; i++) {
		if (j < t->n && t->e[j].gfn == gfn + i)
			locked[i] = t->e[j++].locked;
		else
			locked[i] = 0;
	}
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

size_t subpage_locked_each(struct subpage_table *t, void (*fn)(void *ctx, uint64_t gfn, uint32_t locked),
			   void *ctx)
{
	size_t n = 0;
	pthread_rwlock_rdlock(&t->lock);
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].locked) {
			if (fn)
				fn(ctx, t->e[i].gfn, t->e[i].locked);
			n++;
		}
	pthread_rwlock_unlock(&t->lock);
	return n;
}

/* The sub-pages of one page that [gpa, gpa + len) covers, as a mask. */
static uint32_t bits_in_page(uint64_t page_start, uint64_t gpa, uint64_t end)
{
	uint64_t lo = gpa > page_start ? gpa - page_start : 0;
	uint64_t hi = end - page_start < SUBPAGE_PAGE_SIZE ? end - page_start : SUBPAGE_PAGE_SIZE;
	unsigned a = (unsigned)(lo >> SUBPAGE_SHIFT),
		 b = (unsigned)((hi + SUBPAGE_SIZE - 1) >> SUBPAGE_SHIFT);
	/* b - a in [1, 32]: a shift by 32 would be undefined */
	uint32_t m = b - a == 32 ? SUBPAGE_ALL : ((1u << (b - a)) - 1);
	return m << a;
}

struct range_req {
	uint64_t gpa, end, first_page;
	bool writable;
};

static uint32_t want_range(const void *ctx, uint64_t i, uint32_t old)
{
	const struct range_req *r = ctx;
	uint32_t m = bits_in_page(r->first_page + (i << SUBPAGE_PAGE_SHIFT), r->gpa, r->end);
	return r->writable ? old | m : old & ~m;
}

int subpage_set_range(struct subpage_table *t, uint64_t gpa, uint64_t len, bool writable, uint32_t flags)
{
	if (len == 0 || gpa % SUBPAGE_SIZE || len % SUBPAGE_SIZE || gpa + len < gpa)
		return -EINVAL;
	struct range_req r = {.gpa = gpa,
			      .end = gpa + len,
			      .first_page = gpa >> SUBPAGE_PAGE_SHIFT << SUBPAGE_PAGE_SHIFT,
			      .writable = writable};
	uint64_t npages = ((gpa + len - 1) >> SUBPAGE_PAGE_SHIFT) - (gpa >> SUBPAGE_PAGE_SHIFT) + 1;
	return apply(t, gpa >> SUBPAGE_PAGE_SHIFT, npages, want_range, &r, writable, flags);
}

uint32_t subpage_access(struct subpage_table *t, uint64_t gfn)
{
	pthread_rwlock_rdlock(&t->lock);
	const struct subpage_entry *e = find(t, gfn);
	uint32_t a = e ? e->access : SUBPAGE_ALL;
	pthread_rwlock_unlock(&t->lock);
	return a;
}

/* Caller holds the lock. */
static bool writable_locked(const struct subpage_table *t, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		return true;
	uint64_t end = gpa + len;
	if (end < gpa)
		return false;
	for (uint64_t page = gpa >> SUBPAGE_PAGE_SHIFT << SUBPAGE_PAGE_SHIFT; page < end;
	     page += SUBPAGE_PAGE_SIZE) {
		const struct subpage_entry *e = find(t, page >> SUBPAGE_PAGE_SHIFT);
		uint32_t need = bits_in_page(page, gpa, end);
		if (e && (e->access & need) != need)
			return false;
		if (page + SUBPAGE_PAGE_SIZE < page)
			break; /* the last page of the address space */
	}
	return true;
}

bool subpage_range_writable(struct subpage_table *t, uint64_t gpa, uint64_t len)
{
	pthread_rwlock_rdlock(&t->lock);
	bool ok = writable_locked(t, gpa, len);
	pthread_rwlock_unlock(&t->lock);
	return ok;
}

/* One store of an aligned access, so another vCPU reading the location sees
 * the old or the new value, never a mix (the guest's own store would be
 * single-copy atomic too). dst's alignment is gpa's: guest memory is mapped
 * page-aligned. */
static void store(uint64_t gpa, void *dst, const void *src, uint32_t len)
{
	if (gpa % len == 0) {
		switch (len) {
		case 1: __atomic_store_n((uint8_t *)dst, *(const uint8_t *)src, __ATOMIC_RELEASE); return;
		case 2: {
			uint16_t v;
			memcpy(&v, src, 2);
			__atomic_store_n((uint16_t *)dst, v, __ATOMIC_RELEASE);
			return;
		}
		case 4: {
			uint32_t v;
			memcpy(&v, src, 4);
			__atomic_store_n((uint32_t *)dst, v, __ATOMIC_RELEASE);
			return;
		}
		case 8: {
			uint64_t v;
			memcpy(&v, src, 8);
			__atomic_store_n((uint64_t *)dst, v, __ATOMIC_RELEASE);
			return;
		}
		default: break;
		}
	}
	memcpy(dst, src, len);
}

bool subpage_write(struct subpage_table *t, uint64_t gpa, void *dst, const void *src, uint32_t len)
{
	pthread_rwlock_rdlock(&t->lock);
	bool ok = writable_locked(t, gpa, len);
	if (ok)
		store(gpa, dst, src, len);
	pthread_rwlock_unlock(&t->lock);
	return ok;
}

bool subpage_write_pieces(struct subpage_table *t, const struct subpage_piece *p, size_t n)
{
	pthread_rwlock_rdlock(&t->lock);
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++)
		ok = p[i].len <= 8 && writable_locked(t, p[i].gpa, p[i].len);
	for (size_t i = 0; i < n && ok; i++)
		store(p[i].gpa, p[i].dst, p[i].src, p[i].len);
	pthread_rwlock_unlock(&t->lock);
	return ok;
}

size_t subpage_pages(struct subpage_table *t)
{
	pthread_rwlock_rdlock(&t->lock);
	size_t n = t->n;
	pthread_rwlock_unlock(&t->lock);
	return n;
}

size_t subpage_runs(struct subpage_table *t, struct subpage_run *out, size_t max)
{
	pthread_rwlock_rdlock(&t->lock);
	size_t runs = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (i > 0 && t->e[i].gfn == t->e[i - 1].gfn + 1) {
			if (runs <= max)
				out[runs - 1].npages++;
			continue;
		}
		if (runs < max)
			out[runs] = (struct subpage_run){.gfn = t->e[i].gfn, .npages = 1};
		runs++;
	}
	pthread_rwlock_unlock(&t->lock);
	return runs;
}
