/* An address space's mappings (VMAs): an ordered tree of page-aligned,
 * non-overlapping ranges that merges and splits them as Linux does. Only the
 * bookkeeping lives here (vma.c, also built for the host by
 * tests/unit/test_kernel_vma.c); page tables are vm.c's. */
#ifndef CARVE_VMA_H
#define CARVE_VMA_H

#include "kernel.h"

struct vnode;
void vn_ref(struct vnode *v); /* vfs.h */
void vn_unref(struct vnode *v);

/* Linux's vm.max_map_count default: more mappings than this is ENOMEM. */
#define MAX_MAP_COUNT 65530

#define VMA_SHARED 1   /* MAP_SHARED: the file's own pages, never copied */
#define VMA_READONLY 2 /* shared, of a file opened read-only: mprotect may not add PROT_WRITE */

struct vma {
	uint64_t start, end; /* page-aligned */
	/* File-backed: the byte at address a is file[off + (a - start)] while
	 * that is below flen, zero beyond (ELF bss, the tail of a file). */
	struct vnode *vn;
	uint64_t off, flen;
	int prot;
	uint8_t flags; /* VMA_* */
	bool heap;     /* the brk area */
	/* The tree's (vma.c): AVL links, height, and for the subtree rooted
	 * here its lowest start, highest end and largest hole between two of
	 * its VMAs, so a free range is found top-down in O(log n). */
	int8_t height;
	struct vma *left, *right, *parent;
	uint64_t sub_lo, sub_hi, sub_gap;
};

/* One address space: what threads would share and fork would copy. */
struct vm_space {
	struct vma *root;
	int count;
	uint64_t brk_start, brk;
};

/* The VMA holding addr, NULL if none. */
struct vma *vma_find(const struct vm_space *s, uint64_t addr);
/* The first VMA ending above addr (holding it or after it), NULL if none. */
struct vma *vma_after(const struct vm_space *s, uint64_t addr);
/* In address order. */
struct vma *vma_first(const struct vm_space *s);
struct vma *vma_next(const struct vma *v);
struct vma *vma_prev(const struct vma *v);
/* True if no VMA meets [start, end). */
bool vma_range_free(const struct vm_space *s, uint64_t start, uint64_t end);
/* The highest start of a free len bytes inside [lo, hi), 0 if none. */
uint64_t vma_gap_top(const struct vm_space *s, uint64_t len, uint64_t lo, uint64_t hi);

/* Maps [t->start, t->end) as t describes (prot, vn/off/flen, flags, heap),
 * replacing whatever was there, and merges it with compatible neighbours.
 * Takes a reference on t->vn. 0, or -ENOMEM (kernel heap, or more than
 * MAX_MAP_COUNT mappings) with nothing changed. */
int vma_map(struct vm_space *s, const struct vma *t);
/* Removes [start, end) from the mappings, splitting the VMAs at its ends.
 * 0 or -ENOMEM with nothing changed. */
int vma_unmap(struct vm_space *s, uint64_t start, uint64_t end);
/* Sets prot on [start, end), splitting and merging. -ENOMEM with nothing
 * changed if part of the range is unmapped or on the limits above. */
int vma_protect(struct vm_space *s, uint64_t start, uint64_t end, int prot);
/* Moves v's end to new_end over free space (or back), then merges it with
 * the next VMA if they fit together. */
void vma_set_end(struct vm_space *s, struct vma *v, uint64_t new_end);
#endif
