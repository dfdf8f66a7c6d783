/* The carve kernel's VMA tree (guest/kernel/vma.c), built for the host:
 * AVL shape and subtree fields, merging and splitting against a page-by-page
 * model, the top-down free-range search against a scan, and the
 * max_map_count limit. Kernel heap and vnode references are stubbed and
 * counted, so leaks show. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../guest/kernel/vma.c"

static long live_nodes;
struct vnode {
	int refs;
};
static struct vnode file_a, file_b;

void *kmalloc(size_t n)
{
	void *p = calloc(1, n);
	if (p)
		live_nodes++;
	return p;
}

void kfree(void *p)
{
	if (p)
		live_nodes--;
	free(p);
}

void vn_ref(struct vnode *v) { v->refs++; }
void vn_unref(struct vnode *v)
{
	assert_true(v->refs > 0);
	v->refs--;
}

#define PG 4096ull
#define RW (PROT_READ_ | PROT_WRITE_)
#define PROT_READ_ 1
#define PROT_WRITE_ 2

/* Checks one subtree's links, order, balance and fields; returns its height. */
static int check_node(const struct vma *n, const struct vma *parent, uint64_t *last_end, int *count)
{
	if (!n)
		return 0;
	assert_ptr_equal(n->parent, parent);
	int hl = check_node(n->left, n, last_end, count);
	assert_true(n->start < n->end);
	assert_true(n->start % PG == 0 && n->end % PG == 0);
	assert_true(n->start >= *last_end);
	*last_end = n->end;
	(*count)++;
	int hr = check_node(n->right, n, last_end, count);
	assert_true(abs(hl - hr) <= 1);
	assert_int_equal(n->height, 1 + (hl > hr ? hl : hr));
	/* The subtree fields, recomputed by walking the subtree in order. */
	uint64_t lo = n->start, hi = n->end, gap = 0;
	const struct vma *w = n;
	while (w->left)
		w = w->left;
	lo = w->start;
	const struct vma *end = n;
	while (end->right)
		end = end->right;
	hi = end->end;
	for (const struct vma *p = w; p != end; p = vma_next(p)) {
		const struct vma *q = vma_next(p);
		if (q->start - p->end > gap)
			gap = q->start - p->end;
	}
	assert_int_equal(n->sub_lo, lo);
	assert_int_equal(n->sub_hi, hi);
	assert_int_equal(n->sub_gap, gap);
	return 1 + (hl > hr ? hl : hr);
}

/* The whole tree, and that no two neighbours could have been merged. */
static void check_space(const struct vm_space *s)
{
	uint64_t last_end = 0;
	int count = 0;
	check_node(s->root, NULL, &last_end, &count);
	assert_int_equal(count, s->count);
	for (const struct vma *v = vma_first(s); v && vma_next(v); v = vma_next(v))
		assert_false(mergeable(v, vma_next(v)));
}

static void unmap_all(struct vm_space *s)
{
	assert_int_equal(vma_unmap(s, 0, UINT64_MAX & ~(PG - 1)), 0);
	assert_null(s->root);
	assert_int_equal(s->count, 0);
	assert_int_equal(live_nodes, 0);
	assert_int_equal(file_a.refs, 0);
	assert_int_equal(file_b.refs, 0);
}

static int map(struct vm_space *s, uint64_t start, uint64_t npages, int prot)
{
	struct vma t = {.start = start, .end = start + npages * PG, .prot = prot};
	return vma_map(s, &t);
}

static int map_file(struct vm_space *s, uint64_t start, uint64_t npages, int prot, struct vnode *vn,
		    uint64_t off, uint64_t flen)
{
	struct vma t = {
		.start = start, .end = start + npages * PG, .prot = prot, .vn = vn, .off = off, .flen = flen};
	return vma_map(s, &t);
}

#define BASE 0x10000000ull

static void test_merge_anon(void **state)
{
	(void)state;
	struct vm_space s = {0};
	assert_int_equal(map(&s, BASE, 4, RW), 0);
	assert_int_equal(map(&s, BASE + 4 * PG, 4, RW), 0); /* after: merges */
	assert_int_equal(map(&s, BASE - 2 * PG, 2, RW), 0); /* before: merges */
	check_space(&s);
	assert_int_equal(s.count, 1);
	assert_int_equal(vma_first(&s)->start, BASE - 2 * PG);
	assert_int_equal(vma_first(&s)->end, BASE + 8 * PG);
	assert_int_equal(map(&s, BASE + 8 * PG, 1, PROT_READ_), 0); /* other prot: its own */
	assert_int_equal(s.count, 2);
	struct vma heap = {.start = BASE + 9 * PG, .end = BASE + 10 * PG, .prot = PROT_READ_, .heap = true};
	assert_int_equal(vma_map(&s, &heap), 0); /* brk area: not joined to plain memory */
	assert_int_equal(s.count, 3);
	/* A hole filled with the same protection joins both sides. */
	assert_int_equal(map(&s, BASE + 20 * PG, 2, PROT_READ_), 0);
	assert_int_equal(map(&s, BASE + 24 * PG, 2, PROT_READ_), 0);
	assert_int_equal(map(&s, BASE + 22 * PG, 2, PROT_READ_), 0);
	check_space(&s);
	assert_int_equal(s.count, 4);
	assert_int_equal(vma_find(&s, BASE + 23 * PG)->start, BASE + 20 * PG);
	assert_int_equal(vma_find(&s, BASE + 23 * PG)->end, BASE + 26 * PG);
	unmap_all(&s);
}

static void test_split_protect_unmap(void **state)
{
	(void)state;
	struct vm_space s = {0};
	assert_int_equal(map(&s, BASE, 10, RW), 0);
	assert_int_equal(vma_protect(&s, BASE + 3 * PG, BASE + 5 * PG, PROT_READ_), 0);
	check_space(&s);
	assert_int_equal(s.count, 3);
	assert_int_equal(vma_find(&s, BASE + 2 * PG)->prot, RW);
	assert_int_equal(vma_find(&s, BASE + 3 * PG)->prot, PROT_READ_);
	assert_int_equal(vma_find(&s, BASE + 4 * PG)->end, BASE + 5 * PG);
	assert_int_equal(vma_find(&s, BASE + 5 * PG)->prot, RW);
	/* Back to RW: one mapping again. */
	assert_int_equal(vma_protect(&s, BASE + 3 * PG, BASE + 5 * PG, RW), 0);
	check_space(&s);
	assert_int_equal(s.count, 1);
	/* Same protection: no split. */
	assert_int_equal(vma_protect(&s, BASE + 3 * PG, BASE + 5 * PG, RW), 0);
	assert_int_equal(s.count, 1);
	/* A hole in the middle. */
	assert_int_equal(vma_unmap(&s, BASE + 4 * PG, BASE + 6 * PG), 0);
	check_space(&s);
	assert_int_equal(s.count, 2);
	assert_null(vma_find(&s, BASE + 5 * PG));
	/* mprotect over the hole: ENOMEM, nothing changed. */
	assert_int_equal(vma_protect(&s, BASE, BASE + 10 * PG, PROT_READ_), -ENOMEM);
	assert_int_equal(vma_find(&s, BASE)->prot, RW);
	assert_int_equal(s.count, 2);
	/* MAP_FIXED over part of two mappings and the hole. */
	assert_int_equal(map(&s, BASE + 3 * PG, 4, PROT_READ_), 0);
	check_space(&s);
	assert_int_equal(s.count, 3);
	assert_int_equal(vma_find(&s, BASE + 2 * PG)->end, BASE + 3 * PG);
	assert_int_equal(vma_find(&s, BASE + 6 * PG)->start, BASE + 3 * PG);
	assert_int_equal(vma_find(&s, BASE + 7 * PG)->start, BASE + 7 * PG);
	/* vma_set_end grows into the next compatible mapping and joins it. */
	assert_int_equal(vma_unmap(&s, BASE + 3 * PG, BASE + 7 * PG), 0);
	vma_set_end(&s, vma_find(&s, BASE), BASE + 7 * PG);
	check_space(&s);
	assert_int_equal(s.count, 1);
	assert_int_equal(vma_first(&s)->end, BASE + 10 * PG);
	unmap_all(&s);
}

static void test_file_merge(void **state)
{
	(void)state;
	struct vm_space s = {0};
	/* Contiguous offsets of one file join; flen adds up. */
	assert_int_equal(map_file(&s, BASE, 2, PROT_READ_, &file_a, 0, 2 * PG), 0);
	assert_int_equal(map_file(&s, BASE + 2 * PG, 2, PROT_READ_, &file_a, 2 * PG, 2 * PG), 0);
	assert_int_equal(s.count, 1);
	assert_int_equal(vma_first(&s)->flen, 4 * PG);
	assert_int_equal(file_a.refs, 1);
	/* A gap in the offsets, another file, or anonymous memory: apart. */
	assert_int_equal(map_file(&s, BASE + 4 * PG, 1, PROT_READ_, &file_a, 8 * PG, PG), 0);
	assert_int_equal(map_file(&s, BASE + 5 * PG, 1, PROT_READ_, &file_b, 9 * PG, PG), 0);
	assert_int_equal(map(&s, BASE + 6 * PG, 1, PROT_READ_), 0);
	assert_int_equal(s.count, 4);
	/* A file mapping whose tail is zero (ELF bss) takes no follower. */
	assert_int_equal(map_file(&s, BASE + 16 * PG, 2, PROT_READ_, &file_b, 0, PG + 100), 0);
	assert_int_equal(map_file(&s, BASE + 18 * PG, 1, PROT_READ_, &file_b, 2 * PG, PG), 0);
	assert_int_equal(s.count, 6);
	check_space(&s);
	/* Splitting keeps each part's offset and file length. */
	assert_int_equal(vma_protect(&s, BASE + 1 * PG, BASE + 2 * PG, RW), 0);
	struct vma *mid = vma_find(&s, BASE + PG), *hi = vma_find(&s, BASE + 2 * PG);
	assert_int_equal(mid->off, PG);
	assert_int_equal(mid->flen, PG);
	assert_int_equal(hi->off, 2 * PG);
	assert_int_equal(hi->flen, 2 * PG);
	assert_int_equal(file_a.refs, 4);
	assert_int_equal(vma_unmap(&s, BASE + 16 * PG + PG, BASE + 17 * PG + PG), 0);
	assert_int_equal(vma_find(&s, BASE + 16 * PG)->flen, PG);
	check_space(&s);
	unmap_all(&s);
}

/* The highest fitting hole by scanning all VMAs. */
static uint64_t scan_gap(const struct vm_space *s, uint64_t len, uint64_t lo, uint64_t hi)
{
	uint64_t best = 0, prev_end = 0;
	for (const struct vma *v = vma_first(s);; v = vma_next(v)) {
		uint64_t a = prev_end, b = v ? v->start : UINT64_MAX;
		uint64_t r = fit(a, b, len, lo, hi);
		if (r > best)
			best = r;
		if (!v)
			break;
		prev_end = v->end;
	}
	return best;
}

/* Random maps, unmaps and protects of a 512-page window, checked page by
 * page against a model, with the tree's shape and merging checked after
 * each, and the free-range search against a scan. */
struct page_model {
	bool mapped;
	int prot;
	struct vnode *vn;
	uint64_t off;   /* file offset of the page */
	uint64_t bytes; /* file bytes in it */
};
#define NPAGES 512

static void test_random_against_model(void **state)
{
	(void)state;
	static struct page_model m[NPAGES];
	memset(m, 0, sizeof(m));
	struct vm_space s = {0};
	srand(12345);
	for (int step = 0; step < 20000; step++) {
		uint64_t a = (uint64_t)(rand() % NPAGES), n = 1 + (uint64_t)(rand() % 40);
		if (a + n > NPAGES)
			n = NPAGES - a;
		uint64_t start = BASE + a * PG, end = start + n * PG;
		int prot = 1 + rand() % 2, op = rand() % 4;
		if (op == 0 || op == 1) {
			struct vnode *vn = op == 1 ? (rand() % 2 ? &file_a : &file_b) : NULL;
			/* File offsets follow the address often, so mappings can join. */
			uint64_t off = rand() % 2 ? a * PG : (uint64_t)(rand() % 64) * PG;
			uint64_t flen = rand() % 3 ? n * PG : (uint64_t)(rand() % (int)(n * PG));
			struct vma t = {
				.start = start, .end = end, .prot = prot, .vn = vn, .off = off, .flen = flen};
			assert_int_equal(vma_map(&s, &t), 0);
			for (uint64_t i = 0; i < n; i++) {
				uint64_t rel = i * PG;
				m[a + i] = (struct page_model){
					true, prot, vn, vn ? off + rel : 0,
					vn && flen > rel ? (flen - rel < PG ? flen - rel : PG) : 0};
			}
		} else if (op == 2) {
			assert_int_equal(vma_unmap(&s, start, end), 0);
			for (uint64_t i = 0; i < n; i++)
				m[a + i].mapped = false;
		} else {
			bool all = true;
			for (uint64_t i = 0; i < n; i++)
				all = all && m[a + i].mapped;
			assert_int_equal(vma_protect(&s, start, end, prot), all ? 0 : -ENOMEM);
			for (uint64_t i = 0; all && i < n; i++)
				m[a + i].prot = prot;
		}
		check_space(&s);
		for (uint64_t i = 0; i < NPAGES; i++) {
			uint64_t va = BASE + i * PG;
			struct vma *v = vma_find(&s, va + (uint64_t)(rand() % PG));
			assert_int_equal(v != NULL, m[i].mapped);
			if (!v)
				continue;
			assert_int_equal(v->prot, m[i].prot);
			assert_ptr_equal(v->vn, m[i].vn);
			if (!v->vn)
				continue;
			uint64_t rel = va - v->start;
			assert_int_equal(v->off + rel, m[i].off);
			uint64_t bytes = v->flen > rel ? (v->flen - rel < PG ? v->flen - rel : PG) : 0;
			assert_int_equal(bytes, m[i].bytes);
		}
		uint64_t len = (1 + (uint64_t)(rand() % 8)) * PG;
		uint64_t lo = BASE + (uint64_t)(rand() % 64) * PG,
			 hi = BASE + (uint64_t)(NPAGES - rand() % 64) * PG;
		assert_int_equal(vma_gap_top(&s, len, lo, hi), scan_gap(&s, len, lo, hi));
	}
	unmap_all(&s);
}

/* Linux's limit: 65530 mappings, the next one ENOMEM; splits past it too;
 * a mapping that joins a neighbour still fits. Top-down search stays fast
 * with that many (the loop would take minutes if it scanned). */
static void test_map_count_limit(void **state)
{
	(void)state;
	struct vm_space s = {0};
	uint64_t top = 0x7ff000000000ull, lo = 0x10000ull;
	int i = 0;
	for (;; i++) {
		uint64_t a = vma_gap_top(&s, PG, lo, top);
		assert_true(a != 0);
		assert_int_equal(a, top - (uint64_t)(i + 1) * PG);
		if (map(&s, a, 1, i % 2 ? PROT_READ_ : RW) < 0)
			break;
	}
	assert_int_equal(i, MAX_MAP_COUNT);
	assert_int_equal(s.count, MAX_MAP_COUNT);
	check_space(&s);
	uint64_t low = top - (uint64_t)MAX_MAP_COUNT * PG; /* the lowest, RW or R */
	int low_prot = vma_find(&s, low)->prot;
	/* Joins the lowest mapping: allowed. */
	assert_int_equal(map(&s, low - PG, 1, low_prot), 0);
	assert_int_equal(s.count, MAX_MAP_COUNT);
	/* One more apart from the others: refused, nothing changed. */
	assert_int_equal(map(&s, low - 8 * PG, 4, RW), -ENOMEM);
	assert_int_equal(s.count, MAX_MAP_COUNT);
	assert_null(vma_find(&s, low - 8 * PG));
	/* Cutting the end off a mapping is no split; removing one makes room. */
	assert_int_equal(vma_unmap(&s, low, low + PG), 0);
	assert_int_equal(s.count, MAX_MAP_COUNT);
	assert_int_equal(vma_unmap(&s, low - PG, low), 0);
	assert_int_equal(s.count, MAX_MAP_COUNT - 1);
	assert_int_equal(map(&s, low - 8 * PG, 4, RW), 0);
	assert_int_equal(s.count, MAX_MAP_COUNT);
	/* Splitting one in two: refused. */
	struct vma *big = vma_find(&s, low - 8 * PG);
	assert_int_equal(vma_unmap(&s, big->start + PG, big->start + 2 * PG), -ENOMEM);
	assert_int_equal(vma_protect(&s, big->start + PG, big->start + 2 * PG, PROT_READ_), -ENOMEM);
	check_space(&s);
	unmap_all(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_anon),      cmocka_unit_test(test_split_protect_unmap),
		cmocka_unit_test(test_file_merge),      cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_map_count_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
