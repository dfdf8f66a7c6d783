/* The VMA tree: an AVL tree of non-overlapping ranges keyed by start, with
 * Linux's merging and splitting on top.
 *
 * Why AVL: lookups (every page fault, every user_ok) far outnumber changes,
 * and AVL's stricter balance gives shorter lookup paths than a red-black
 * tree (at most 1.44 log2 n, 23 levels at the 65530-mapping limit). Its
 * extra rotations on change cost little here because every change walks to
 * the root anyway to keep the subtree fields (lowest start, highest end,
 * largest hole) that let vm_find_free search top-down in O(log n). A B-tree
 * would pack more ranges per node but needs node splitting and merging that
 * are more code for the same asymptotics, and callers keep pointers to
 * VMAs, which a B-tree moves. Nodes come from the kernel heap (kmalloc) and
 * go back on unmap; a node is 96 bytes, a 128-byte heap block. */
#include "vma.h"

#define ENOMEM 12

static int height(const struct vma *n) { return n ? n->height : 0; }

/* Recomputes n's height and subtree fields from its children. */
static void pull(struct vma *n)
{
	struct vma *l = n->left, *r = n->right;
	n->height = (int8_t)(1 + MAX(height(l), height(r)));
	n->sub_lo = l ? l->sub_lo : n->start;
	n->sub_hi = r ? r->sub_hi : n->end;
	uint64_t g = 0;
	if (l)
		g = MAX(l->sub_gap, n->start - l->sub_hi);
	if (r)
		g = MAX(g, MAX(r->sub_gap, r->sub_lo - n->end));
	n->sub_gap = g;
}

static void replace_child(struct vm_space *s, struct vma *parent, struct vma *old, struct vma *new)
{
	if (!parent)
		s->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

static struct vma *rotate_left(struct vm_space *s, struct vma *x)
{
	struct vma *y = x->right;
	replace_child(s, x->parent, x, y);
	x->right = y->left;
	if (x->right)
		x->right->parent = x;
	y->left = x;
	x->parent = y;
	pull(x);
	pull(y);
	return y;
}

static struct vma *rotate_right(struct vm_space *s, struct vma *x)
{
	struct vma *y = x->left;
	replace_child(s, x->parent, x, y);
	x->left = y->right;
	if (x->left)
		x->left->parent = x;
	y->right = x;
	x->parent = y;
	pull(x);
	pull(y);
	return y;
}

/* Rebalances and refreshes the subtree fields from n up to the root: after
 * an insert or remove below n, or a change of n's start or end. */
static void fix_up(struct vm_space *s, struct vma *n)
{
	while (n) {
		pull(n);
		int bf = height(n->left) - height(n->right);
		if (bf > 1) {
			if (height(n->left->left) < height(n->left->right))
				rotate_left(s, n->left);
			n = rotate_right(s, n);
		} else if (bf < -1) {
			if (height(n->right->right) < height(n->right->left))
				rotate_right(s, n->right);
			n = rotate_left(s, n);
		}
		n = n->parent;
	}
}

static void tree_insert(struct vm_space *s, struct vma *v)
{
	struct vma **link = &s->root, *parent = NULL;
	while (*link) {
		parent = *link;
		link = v->start < parent->start ? &parent->left : &parent->right;
	}
	v->left = v->right = NULL;
	v->parent = parent;
	*link = v;
	s->count++;
	fix_up(s, v);
}

/* Unlinks z. Nodes are relinked, never copied: callers' pointers to other
 * VMAs stay valid. */
static void tree_remove(struct vm_space *s, struct vma *z)
{
	struct vma *fix;
	if (z->left && z->right) {
		struct vma *y = z->right; /* z's successor takes its place */
		while (y->left)
			y = y->left;
		if (y->parent == z) {
			fix = y;
		} else {
			fix = y->parent;
			replace_child(s, y->parent, y, y->right);
			y->right = z->right;
			y->right->parent = y;
		}
		replace_child(s, z->parent, z, y);
		y->left = z->left;
		y->left->parent = y;
	} else {
		fix = z->parent;
		replace_child(s, z->parent, z, z->left ? z->left : z->right);
	}
	s->count--;
	fix_up(s, fix);
}

struct vma *vma_find(const struct vm_space *s, uint64_t addr)
{
	struct vma *n = s->root;
	while (n) {
		if (addr < n->start)
			n = n->left;
		else if (addr >= n->end)
			n = n->right;
		else
			return n;
	}
	return NULL;
}

struct vma *vma_after(const struct vm_space *s, uint64_t addr)
{
	struct vma *n = s->root, *best = NULL;
	while (n) {
		if (n->end > addr) {
			best = n;
			n = n->left;
		} else {
			n = n->right;
		}
	}
	return best;
}

struct vma *vma_first(const struct vm_space *s)
{
	struct vma *n = s->root;
	while (n && n->left)
		n = n->left;
	return n;
}

struct vma *vma_next(const struct vma *v)
{
	if (v->right) {
		v = v->right;
		while (v->left)
			v = v->left;
		return (struct vma *)v;
	}
	while (v->parent && v->parent->right == v)
		v = v->parent;
	return v->parent;
}

struct vma *vma_prev(const struct vma *v)
{
	if (v->left) {
		v = v->left;
		while (v->right)
			v = v->right;
		return (struct vma *)v;
	}
	while (v->parent && v->parent->left == v)
		v = v->parent;
	return v->parent;
}

bool vma_range_free(const struct vm_space *s, uint64_t start, uint64_t end)
{
	struct vma *v = vma_after(s, start);
	return !v || v->start >= end;
}

/* The highest start of len bytes in the hole [a, b) clipped to [lo, hi). */
static uint64_t fit(uint64_t a, uint64_t b, uint64_t len, uint64_t lo, uint64_t hi)
{
	a = MAX(a, lo);
	b = MIN(b, hi);
	return b > a && b - a >= len ? b - len : 0;
}

/* Holes between n's subtree's VMAs, highest first. A subtree whose largest
 * hole is too small, or that lies outside [lo, hi), is skipped whole; only
 * the subtrees straddling lo or hi are entered without that guarantee. */
static uint64_t gap_search(const struct vma *n, uint64_t len, uint64_t lo, uint64_t hi)
{
	if (!n || n->sub_gap < len || n->sub_lo >= hi || n->sub_hi <= lo)
		return 0;
	uint64_t r;
	if (n->right) {
		if ((r = gap_search(n->right, len, lo, hi)) ||
		    (r = fit(n->end, n->right->sub_lo, len, lo, hi)))
			return r;
	}
	if (n->left) {
		if ((r = fit(n->left->sub_hi, n->start, len, lo, hi)))
			return r;
		return gap_search(n->left, len, lo, hi);
	}
	return 0;
}

uint64_t vma_gap_top(const struct vm_space *s, uint64_t len, uint64_t lo, uint64_t hi)
{
	const struct vma *r = s->root;
	if (!len || hi <= lo || hi - lo < len)
		return 0;
	if (!r)
		return hi - len;
	uint64_t a;
	if ((a = fit(r->sub_hi, hi, len, lo, hi)) || (a = gap_search(r, len, lo, hi)))
		return a;
	return fit(lo, r->sub_lo, len, lo, hi);
}

/* ---- merging and splitting ---- */

static void node_free(struct vma *v)
{
	if (v->vn)
		vn_unref(v->vn);
	kfree(v);
}

/* Whether b can join a (b right after it): same protection, flags, kind
 * and, for file mappings, the same file continuing where a's bytes end. */
static bool mergeable(const struct vma *a, const struct vma *b)
{
	if (a->end != b->start || a->prot != b->prot || a->flags != b->flags || a->heap != b->heap ||
	    a->vn != b->vn)
		return false;
	return !a->vn || (a->flen == a->end - a->start && b->off == a->off + a->flen);
}

/* Joins a's successor to a if they fit together. */
static void merge_next(struct vm_space *s, struct vma *a)
{
	struct vma *b = vma_next(a);
	if (!b || !mergeable(a, b))
		return;
	tree_remove(s, b);
	a->end = b->end;
	a->flen = a->vn ? a->flen + b->flen : 0;
	fix_up(s, a);
	node_free(b);
}

/* v's end moves to e (inside it): the file bytes it shows stop there too. */
static void trim_end(struct vm_space *s, struct vma *v, uint64_t e)
{
	v->end = e;
	v->flen = MIN(v->flen, e - v->start);
	fix_up(s, v);
}

/* v's start moves up to st (inside it). */
static void trim_start(struct vm_space *s, struct vma *v, uint64_t st)
{
	uint64_t delta = st - v->start;
	v->start = st;
	if (v->vn) {
		v->off += delta;
		v->flen = v->flen > delta ? v->flen - delta : 0;
	}
	fix_up(s, v);
}

/* Splits v at addr (strictly inside it); node n becomes the upper part. */
static void split(struct vm_space *s, struct vma *v, uint64_t addr, struct vma *n)
{
	*n = *v;
	n->left = n->right = n->parent = NULL; /* unlinked: fix_up(n) stops at n */
	if (n->vn)
		vn_ref(n->vn);
	trim_start(s, n, addr);
	trim_end(s, v, addr);
	tree_insert(s, n);
}

/* Whether [start, end) lies strictly inside one VMA (taking it out splits
 * that VMA in two). */
static bool inside_one(const struct vm_space *s, uint64_t start, uint64_t end)
{
	struct vma *v = vma_after(s, start);
	return v && v->start < start && v->end > end;
}

/* Removes [start, end); spare is the node for the upper part when the range
 * is inside one VMA (inside_one), unused otherwise. */
static void carve(struct vm_space *s, uint64_t start, uint64_t end, struct vma *spare)
{
	struct vma *v = vma_after(s, start);
	if (v && v->start < start && v->end > end)
		split(s, v, end, spare);
	if (v && v->start < start) {
		trim_end(s, v, start);
		v = vma_next(v);
	}
	while (v && v->start < end) {
		if (v->end > end) {
			trim_start(s, v, end);
			break;
		}
		struct vma *n = vma_next(v);
		tree_remove(s, v);
		node_free(v);
		v = n;
	}
}

int vma_unmap(struct vm_space *s, uint64_t start, uint64_t end)
{
	struct vma *spare = NULL;
	if (inside_one(s, start, end)) {
		/* Linux refuses the split that would pass the limit. */
		if (s->count >= MAX_MAP_COUNT || !(spare = kmalloc(sizeof(*spare))))
			return -ENOMEM;
	}
	carve(s, start, end, spare);
	return 0;
}

/* Whether t, over free space, would join the VMA before or after it. */
static bool joins_neighbour(const struct vm_space *s, const struct vma *t)
{
	struct vma *next = vma_after(s, t->start), *prev = NULL;
	if (next)
		prev = vma_prev(next);
	else
		for (prev = s->root; prev && prev->right;)
			prev = prev->right;
	return (prev && mergeable(prev, t)) || (next && mergeable(t, next));
}

int vma_map(struct vm_space *s, const struct vma *t)
{
	bool both = inside_one(s, t->start, t->end);
	int gone = 0; /* VMAs the new one replaces whole */
	bool overlap = both;
	for (struct vma *w = vma_after(s, t->start); !both && w && w->start < t->end; w = vma_next(w)) {
		overlap = true;
		if (w->start >= t->start && w->end <= t->end)
			gone++;
	}
	if (s->count - gone + (both ? 1 : 0) + 1 > MAX_MAP_COUNT && (overlap || !joins_neighbour(s, t)))
		return -ENOMEM;
	struct vma *n = kmalloc(sizeof(*n)), *spare = both ? kmalloc(sizeof(*spare)) : NULL;
	if (!n || (both && !spare)) {
		kfree(n);
		kfree(spare);
		return -ENOMEM;
	}
	carve(s, t->start, t->end, spare);
	*n = (struct vma){.start = t->start,
			  .end = t->end,
			  .vn = t->vn,
			  .off = t->vn ? t->off : 0,
			  .flen = t->vn ? MIN(t->flen, t->end - t->start) : 0,
			  .prot = t->prot,
			  .flags = t->flags,
			  .heap = t->heap};
	if (n->vn)
		vn_ref(n->vn);
	tree_insert(s, n);
	struct vma *p = vma_prev(n);
	merge_next(s, n);
	if (p)
		merge_next(s, p);
	return 0;
}

int vma_protect(struct vm_space *s, uint64_t start, uint64_t end, int prot)
{
	struct vma *v = vma_after(s, start), *last = v;
	if (!v || v->start > start)
		return -ENOMEM; /* Linux: part of the range is not mapped */
	while (last->end < end) {
		struct vma *n = vma_next(last);
		if (!n || n->start != last->end)
			return -ENOMEM;
		last = n;
	}
	bool split_lo = v->start < start && v->prot != prot;
	bool split_hi = last->end > end && last->prot != prot;
	int need = (split_lo ? 1 : 0) + (split_hi ? 1 : 0);
	if (need && s->count + need > MAX_MAP_COUNT)
		return -ENOMEM;
	struct vma *lo = split_lo ? kmalloc(sizeof(*lo)) : NULL, *hi = split_hi ? kmalloc(sizeof(*hi)) : NULL;
	if ((split_lo && !lo) || (split_hi && !hi)) {
		kfree(lo);
		kfree(hi);
		return -ENOMEM;
	}
	if (split_hi)
		split(s, last, end, hi);
	if (split_lo) {
		split(s, v, start, lo);
		v = lo;
	}
	for (struct vma *w = v; w && w->start < end; w = vma_next(w))
		w->prot = prot;
	/* Merge across the range and with the VMAs on either side. */
	struct vma *w = vma_prev(v);
	if (!w)
		w = v;
	while (w && w->start < end) {
		struct vma *n = vma_next(w);
		if (n && mergeable(w, n))
			merge_next(s, w);
		else
			w = n;
	}
	return 0;
}

void vma_set_end(struct vm_space *s, struct vma *v, uint64_t new_end)
{
	if (v->vn)
		v->flen = v->flen == v->end - v->start ? new_end - v->start
						       : MIN(v->flen, new_end - v->start);
	v->end = new_end;
	fix_up(s, v);
	merge_next(s, v);
}
