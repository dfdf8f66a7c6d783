/* The per-VM sub-page write-permission table: the data model of Intel's
 * never-merged "EPT sub-page write protection" series (KVM_SUBPAGES_SET_ACCESS
 * / KVM_SUBPAGES_GET_ACCESS), kept by the VMM because no KVM offers it.
 *
 * Per 4 KiB guest page one 32-bit map: bit i set = bytes [128 i, 128 i + 128)
 * of the page may be written. A page not in the table is all ones (writable);
 * only pages with a protected sub-page take memory, so the table's size
 * follows what is protected, not the guest's RAM.
 *
 * A one-way change (SUBPAGE_ONE_WAY) may only remove write permission, and
 * what it removed is locked: no later change, one-way or not, can make those
 * sub-pages writable again (how an enclave's kernel protects itself).
 *
 * Thread-safe: vCPU and device threads look up and write through the table
 * while another thread may change it; a write checked by subpage_write is
 * done under the same read lock, so a change is never half seen. */
#ifndef CARVE_VMM_SUBPAGE_H
#define CARVE_VMM_SUBPAGE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SUBPAGE_SHIFT 7
#define SUBPAGE_SIZE (1u << SUBPAGE_SHIFT) /* 128 bytes */
#define SUBPAGE_PAGE_SHIFT 12
#define SUBPAGE_PAGE_SIZE (1u << SUBPAGE_PAGE_SHIFT)
#define SUBPAGES_PER_PAGE 32
#define SUBPAGE_ALL 0xffffffffu
/* Pages one set/get call may name: the SPP series' KVM_SUBPAGE_MAX_PAGES. */
#define SUBPAGE_MAX_PAGES 512

#define SUBPAGE_ONE_WAY 1u /* only remove permission, and lock what is removed */

struct subpage_entry {
	uint64_t gfn;
	uint32_t access; /* never SUBPAGE_ALL: such pages are not stored */
	uint32_t locked; /* sub-pages a one-way change removed: never writable again */
};

struct subpage_table {
	pthread_rwlock_t lock;
	struct subpage_entry *e; /* sorted by gfn, unique */
	size_t n, cap;
	size_t max_pages;    /* most pages with a protected sub-page */
	uint64_t generation; /* changes with every change of the protected pages */
};

/* A run of consecutive protected pages (the memslot layout maps each run
 * read-only). */
struct subpage_run {
	uint64_t gfn;
	uint64_t npages;
};

void subpage_init(struct subpage_table *t, size_t max_pages);
void subpage_destroy(struct subpage_table *t);

/* Sets the maps of pages [gfn, gfn + npages) to access[0..npages-1].
 * 0, or (nothing changed): -EINVAL (npages 0 or above SUBPAGE_MAX_PAGES,
 * the range wraps, unknown flags), -EPERM (a one-way change that adds
 * permission, or any change that re-grants a locked sub-page), -ENOSPC
 * (more than max_pages protected pages), -ENOMEM. */
int subpage_set(struct subpage_table *t, uint64_t gfn, uint32_t npages, const uint32_t *access,
		uint32_t flags);
/* Reads the maps of pages [gfn, gfn + npages) into access; 0 or -EINVAL
 * (as subpage_set). */
int subpage_get(struct subpage_table *t, uint64_t gfn, uint32_t npages, uint32_t *access);

/* Makes bytes [gpa, gpa + len) read-only (writable false) or writable, at
 * sub-page granularity: gpa and len must be multiples of 128, len > 0, no
 * wrap (-EINVAL); any number of pages. Errors as subpage_set; nothing
 * changes on error. */
int subpage_set_range(struct subpage_table *t, uint64_t gpa, uint64_t len, bool writable, uint32_t flags);

/* One page's map (SUBPAGE_ALL when not protected). */
uint32_t subpage_access(struct subpage_table *t, uint64_t gfn);
/* Whether every sub-page [gpa, gpa + len) touches is writable (len 0: true). */
bool subpage_range_writable(struct subpage_table *t, uint64_t gpa, uint64_t len);
/* The guarded write: copies len bytes of src to dst (the host address of
 * gpa) if every sub-page they touch is writable, under the table's read lock
 * so it cannot interleave with a change. An aligned 1, 2, 4 or 8-byte write
 * is one store (no other vCPU sees half of it). false when refused. */
bool subpage_write(struct subpage_table *t, uint64_t gpa, void *dst, const void *src, uint32_t len);

/* One piece of a guest write (KVM hands a write that crosses a page, or is
 * wider than 8 bytes, over in pieces). */
struct subpage_piece {
	uint64_t gpa;
	void *dst; /* the host address of gpa */
	const void *src;
	uint32_t len; /* 1 to 8 */
};
/* All pieces or none: each stored as subpage_write would, if every
 * sub-page any of them touches is writable, all under one read lock. */
bool subpage_write_pieces(struct subpage_table *t, const struct subpage_piece *p, size_t n);

/* The locked sub-pages (what one-way changes removed) of pages [gfn, gfn +
 * npages): 0 or -EINVAL as subpage_get. */
int subpage_get_locked(struct subpage_table *t, uint64_t gfn, uint32_t npages, uint32_t *locked);
/* Calls fn(ctx, gfn, locked mask) for each page with a locked sub-page, in
 * ascending frame order, under the read lock (fn must not change the
 * table); returns how many pages. */
size_t subpage_locked_each(struct subpage_table *t, void (*fn)(void *ctx, uint64_t gfn, uint32_t locked),
			   void *ctx);

/* Pages with a protected sub-page, and the runs they form; subpage_runs
 * fills at most max and returns how many runs there are. */
size_t subpage_pages(struct subpage_table *t);
size_t subpage_runs(struct subpage_table *t, struct subpage_run *out, size_t max);

#endif
