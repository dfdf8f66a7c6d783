/* A directory's entries (dir.c): a list in creation order, which is the order
 * getdents returns them in, and a hash index of their names, so that a lookup
 * costs the same in a directory of 10,000 entries as in one of ten. */
#ifndef CARVE_DIR_H
#define CARVE_DIR_H

#include "kernel.h"

struct vnode;

struct dir_index {
	struct vnode **buckets; /* nbuckets heads (a power of two); NULL until the first entry */
	uint32_t nbuckets, count;
	struct vnode *last;   /* the list's tail: new entries go after it */
	uint64_t next_pos;    /* the position the next entry gets */
	struct vnode *cursor; /* where the last getdents stopped (a hint, never dangling) */
};

/* The child of dir named name[0..n), or NULL. Not "." or "..": the caller. */
struct vnode *dir_find(struct vnode *dir, const char *name, size_t n);
/* Appends v (its name set) to dir's entries and makes dir its parent. */
void dir_insert(struct vnode *dir, struct vnode *v);
/* Takes v out of its parent's entries. */
void dir_remove(struct vnode *v);
/* The first entry at position pos or later, or NULL; positions only grow
 * along the list, so a listing survives entries added or removed under it:
 * each entry present throughout is returned once. */
struct vnode *dir_from(struct vnode *dir, uint64_t pos);
/* Remembers the entry a listing of dir resumes at (dir_from's fast path). */
void dir_set_cursor(struct vnode *dir, struct vnode *next);
/* Frees the index of a directory being freed. */
void dir_free(struct vnode *dir);

#endif
