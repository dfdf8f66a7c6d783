/* A pool of guest memory zeroed ahead of time (docs/vmm.md § Memory pool).
 *
 * A pool is a directory on hugetlbfs (or tmpfs) holding slabs: files whose
 * every page is already allocated and zeroed. A VM of the same size takes a
 * slab (rename, then an exclusive flock while it runs) and maps it: building
 * its memory is then page-table work only, no zeroing on the way to the
 * first instruction. When the VM ends, its memory is zeroed and the slab goes
 * back, so the next start of that size finds it; a VM that found none makes
 * its memory as a new slab in the pool, so the pool fills by use. A slab is
 * only ever handed out zeroed: one left busy by a process that died (no lock
 * held) is deleted, never reused. */
#ifndef CARVE_MEMPOOL_H
#define CARVE_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carve/error.h"

/* dir exists and is on hugetlbfs or tmpfs (a file on disk would be written
 * back); *page_bytes: its page size (2 MiB or 1 GiB on hugetlbfs, 4 KiB on
 * tmpfs). 0 or -1 (E03). */
int mempool_check(const char *dir, uint64_t *page_bytes, struct carve_err *err);

/* count new zeroed slabs of bytes each (fallocate: the kernel zeroes).
 * 0, or -1 with E27 when the filesystem has no room (the slabs made before
 * stay). */
int mempool_fill(const char *dir, uint64_t bytes, int count, struct carve_err *err);

struct mempool_census {
	int free, busy, stale; /* stale: busy files deleted by this call (their process died) */
	uint64_t free_bytes, busy_bytes;
};
/* Counts the slabs (all sizes, or only those of bytes when not 0), deleting
 * stale ones. */
int mempool_census(const char *dir, uint64_t bytes, struct mempool_census *out, struct carve_err *err);
/* Deletes every free slab (their pages go back to the filesystem's pool). */
int mempool_drain(const char *dir, int *deleted, struct carve_err *err);

/* One slab a VM holds. */
struct mempool_slab;
/* A free slab of exactly bytes, now this process's (NULL: none). */
struct mempool_slab *mempool_take(const char *dir, uint64_t bytes);
/* A new slab of bytes, this process's, its pages not yet allocated (the
 * caller populates them; NULL and errno when it cannot be made). */
struct mempool_slab *mempool_create(const char *dir, uint64_t bytes);
int mempool_slab_fd(const struct mempool_slab *s);
/* Whether the slab came zeroed from the pool (mempool_take) or was made
 * (mempool_create). */
bool mempool_slab_reused(const struct mempool_slab *s);
/* The VM is done with it: map (the slab's bytes, mapped; NULL when unmapped
 * already) is zeroed, the slab becomes free again and is closed. Where it
 * cannot be zeroed it is deleted. */
void mempool_give_back(struct mempool_slab *s, void *map);

/* A pool file's name, "<state>.<bytes>.<id>" (state: free, busy, fill),
 * split: state and id NUL-terminated within slen and idlen, bytes decimal
 * digits only, more than 0. false for any other name (the directory may hold
 * anything: it is never trusted to be the pool's own). */
bool mempool_parse_name(const char *name, char *state, size_t slen, uint64_t *bytes, char *id, size_t idlen);

#endif
