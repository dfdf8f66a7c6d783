/* The kernel's memory map under load (tests/integration/kernel.sh and
 * bench/kernel_vma.sh). Prints "ok NAME" or "FAIL NAME: why" per check; the
 * exit status is the number of failures.
 *   vmatest malloc N   N malloc/free operations of mixed sizes, some large
 *                      enough for mmap; prints "malloc: N ops in T us"
 *   vmatest maps N     N one-page mmaps of alternating protection: ENOMEM
 *                      near vm.max_map_count (65530), then all unmapped
 *   vmatest split      mprotect of a mapping's middle, munmap holes,
 *                      MAP_FIXED over part of a mapping, mremap
 *   vmatest segv       writes to a read-only middle of a mapping (dies)
 * A range the program may not write is detected without a signal: read(2)
 * into it fails with EFAULT (the kernel checks user memory first), and one
 * it may not read by write(2) from it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(const char *name, int ok, const char *why)
{
	if (ok) {
		printf("ok %s\n", name);
	} else {
		printf("FAIL %s: %s (errno %d)\n", name, why, errno);
		failures++;
	}
}

static long long now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int scratch = -1; /* a file to read and write through */

static void open_scratch(void)
{
	char name[64];
	mkdir("/tmp", 01777); /* the enclave's rootfs may have none */
	snprintf(name, sizeof(name), "/tmp/vmatest.%d", (int)getpid());
	scratch = open(name, O_CREAT | O_RDWR | O_TRUNC, 0600);
	if (scratch < 0) {
		perror(name);
		exit(99);
	}
	unlink(name);
}

/* Whether the kernel lets the program write n bytes at p: a read(2) from a
 * file into it succeeds, or fails with EFAULT (-1 for anything else). */
static int writable(void *p, size_t n)
{
	char src[64];
	memset(src, 'w', sizeof(src));
	n = n < sizeof(src) ? n : sizeof(src);
	if (pwrite(scratch, src, n, 0) != (ssize_t)n)
		return -1;
	ssize_t r = pread(scratch, p, n, 0);
	if (r == (ssize_t)n)
		return 1;
	return r < 0 && errno == EFAULT ? 0 : -1;
}

/* Whether the kernel lets the program read n bytes at p: write(2) of it to
 * a file. */
static int readable(const void *p, size_t n)
{
	ssize_t r = pwrite(scratch, p, n, 0);
	if (r == (ssize_t)n)
		return 1;
	return r < 0 && errno == EFAULT ? 0 : -1;
}

#define SLOTS 4096

/* Random allocate/free of mixed sizes: mostly small, some medium, 1 in 64
 * from 128 KiB to 1 MiB (mmap-sized for glibc's first ones and for musl).
 * Each block is stamped at both ends and checked when freed. */
static int malloc_loop(long n)
{
	static unsigned char *slot[SLOTS];
	static size_t size[SLOTS];
	long long t0 = now_us();
	long bad = 0;
	for (long i = 0; i < n; i++) {
		uint64_t r = next_rand();
		unsigned k = (unsigned)(r % SLOTS);
		if (slot[k]) {
			unsigned char tag = (unsigned char)k;
			if (slot[k][0] != tag || slot[k][size[k] - 1] != tag)
				bad++;
			free(slot[k]);
			slot[k] = NULL;
			continue;
		}
		unsigned cls = (unsigned)(r >> 20) % 64;
		size_t sz = cls == 0 ? (128 << 10) + (size_t)(r >> 32) % (896 << 10)
			: cls < 8    ? 1024 + (size_t)(r >> 32) % 31744
				     : 8 + (size_t)(r >> 32) % 1016;
		slot[k] = malloc(sz);
		if (!slot[k]) {
			bad++;
			continue;
		}
		size[k] = sz;
		slot[k][0] = slot[k][sz - 1] = (unsigned char)k;
	}
	for (unsigned k = 0; k < SLOTS; k++)
		free(slot[k]);
	long long dt = now_us() - t0;
	printf("malloc: %ld ops in %lld us\n", n, dt);
	check("malloc loop: every block kept its contents", bad == 0, "a block changed or malloc failed");
	return failures;
}

static int many_maps(long n)
{
	static void *map[80000];
	if (n > 80000)
		n = 80000;
	long got = 0;
	int err = 0;
	for (; got < n; got++) {
		int prot = got % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
		void *p = mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			err = errno;
			break;
		}
		map[got] = p;
	}
	printf("maps: %ld mapped, then %s\n", got, got < n ? strerror(err) : "no error");
	check("maps: ENOMEM near vm.max_map_count (65530)",
	      got < n && err == ENOMEM && got > 65530 - 64 && got <= 65530, "wrong count or error");
	/* Top-down: each new one right below the one before, so none merged. */
	int adjacent = got > 2 && (char *)map[1] == (char *)map[0] - 4096 &&
		(char *)map[got - 1] == (char *)map[got - 2] - 4096;
	check("maps: placed top-down next to each other", adjacent, "not adjacent");
	long bad = 0;
	for (long i = 0; i < got; i += 997) {
		if (i % 2 == 0)
			((volatile char *)map[i])[100] = 1;
		if (((volatile char *)map[i])[100] != (i % 2 == 0) || writable(map[i], 8) != (i % 2 == 0))
			bad++;
	}
	check("maps: each keeps its own protection", bad == 0, "wrong contents or protection");
	long unmapped = 0;
	for (long i = 0; i < got; i++)
		unmapped += munmap(map[i], 4096) == 0;
	check("maps: all unmapped", unmapped == got, "munmap failed");
	void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check("maps: mmap works again after",
	      p != MAP_FAILED && (((char *)p)[5] = 1, munmap(p, 1 << 20) == 0), "mmap failed");
	return failures;
}

#define PG 4096
static char *fresh(size_t pages)
{
	char *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(99);
	}
	for (size_t i = 0; i < pages; i++)
		memset(p + i * PG, 'a' + (int)i, PG);
	return p;
}

static int page_is(const char *p, size_t page, char c)
{
	for (size_t i = 0; i < PG; i += 512)
		if (p[page * PG + i] != c)
			return 0;
	return 1;
}

static int split_checks(void)
{
	/* (c) mprotect of the middle. */
	char *p = fresh(8);
	check("mprotect middle", mprotect(p + 3 * PG, 2 * PG, PROT_READ) == 0, "mprotect failed");
	check("mprotect middle: below still writable", writable(p + 2 * PG, 8) == 1, "not writable");
	check("mprotect middle: middle read-only",
	      writable(p + 3 * PG, 8) == 0 && writable(p + 4 * PG, 8) == 0, "writable");
	check("mprotect middle: middle readable, contents kept",
	      readable(p + 3 * PG, 64) == 1 && page_is(p, 3, 'd') && page_is(p, 4, 'e'), "lost");
	check("mprotect middle: above still writable", writable(p + 5 * PG, 8) == 1 && page_is(p, 7, 'h'),
	      "not writable");
	check("mprotect middle: PROT_NONE unreadable",
	      mprotect(p + 3 * PG, PG, PROT_NONE) == 0 && readable(p + 3 * PG, 8) == 0 &&
		      readable(p + 4 * PG, 8) == 1,
	      "readable");
	check("mprotect back: whole mapping writable again",
	      mprotect(p, 8 * PG, PROT_READ | PROT_WRITE) == 0 && writable(p + 3 * PG, 8) == 1 &&
		      writable(p + 4 * PG, 8) == 1 && page_is(p, 6, 'g'),
	      "not writable");
	/* Linux changes the part before the hole, then says ENOMEM. */
	errno = 0;
	check("mprotect over a hole: ENOMEM",
	      munmap(p + 6 * PG, PG) == 0 && mprotect(p, 8 * PG, PROT_READ) == -1 && errno == ENOMEM,
	      "wrong");
	munmap(p, 8 * PG);

	/* (d) munmap holes. */
	p = fresh(16);
	check("munmap holes", munmap(p + 4 * PG, 2 * PG) == 0 && munmap(p + 10 * PG, PG) == 0,
	      "munmap failed");
	check("munmap holes: holes are gone",
	      readable(p + 4 * PG, 8) == 0 && readable(p + 5 * PG, 8) == 0 && readable(p + 10 * PG, 8) == 0,
	      "still mapped");
	check("munmap holes: the rest kept",
	      page_is(p, 3, 'd') && page_is(p, 6, 'g') && page_is(p, 9, 'j') && page_is(p, 11, 'l') &&
		      page_is(p, 15, 'p'),
	      "contents changed");
	errno = 0;
	check("munmap holes: MAP_FIXED_NOREPLACE over a mapped page: EEXIST",
	      mmap(p + 3 * PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) ==
			      MAP_FAILED &&
		      errno == EEXIST,
	      "mapped");
	char *q = mmap(p + 4 * PG, 2 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	check("munmap holes: a hole takes a new mapping, zeroed",
	      q == p + 4 * PG && page_is(p, 4, 0) && page_is(p, 3, 'd') && page_is(p, 6, 'g'), "wrong");
	q = mmap(p + 7 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	check("MAP_FIXED over part of a mapping: replaced, zeroed, read-only",
	      q == p + 7 * PG && page_is(p, 7, 0) && writable(q, 8) == 0 && page_is(p, 8, 'i') &&
		      writable(p + 8 * PG, 8) == 1 && page_is(p, 6, 'g'),
	      "wrong");
	check("munmap across holes", munmap(p, 16 * PG) == 0 && readable(p + 15 * PG, 8) == 0,
	      "still mapped");

	/* (e) mremap. */
	p = fresh(4);
	munmap(p + 2 * PG, 2 * PG); /* room after the first two pages */
	char *r = mremap(p, 2 * PG, 4 * PG, 0);
	check("mremap grow in place", r == p && page_is(p, 1, 'b') && writable(p + 3 * PG, 8) == 1, "wrong");
	r = mremap(p, 4 * PG, PG, 0);
	check("mremap shrink", r == p && readable(p + PG, 8) == 0 && page_is(p, 0, 'a'), "wrong");
	char *block = mmap(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	errno = 0;
	check("mremap blocked without MREMAP_MAYMOVE: ENOMEM",
	      block == p + PG && mremap(p, PG, 3 * PG, 0) == MAP_FAILED && errno == ENOMEM, "wrong");
	r = mremap(p, PG, 3 * PG, MREMAP_MAYMOVE);
	check("mremap MREMAP_MAYMOVE moves, contents kept",
	      r != MAP_FAILED && r != p && page_is(r, 0, 'a') && writable(r + 2 * PG, 8) == 1 &&
		      readable(p, 8) == 0,
	      "wrong");
	char *target = mmap(NULL, 8 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *f = mremap(r, 3 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target + 2 * PG);
	check("mremap MREMAP_FIXED: at the address, contents kept, old gone",
	      f == target + 2 * PG && page_is(f, 0, 'a') && writable(f, 8) == 1 && readable(r, 8) == 0 &&
		      readable(target, 8) == 1 && writable(target, 8) == 0 &&
		      readable(target + 4 * PG, 8) == 1,
	      "wrong");
	errno = 0;
	check("mremap MREMAP_FIXED without MREMAP_MAYMOVE: EINVAL",
	      mremap(f, PG, PG, MREMAP_FIXED, target) == MAP_FAILED && errno == EINVAL, "wrong");
	/* realloc of large blocks goes through mremap in glibc. */
	char *big = malloc(1 << 20);
	int ok = big != NULL;
	for (int i = 0; ok && i < (1 << 20); i += 4096)
		big[i] = (char)(i >> 12);
	for (size_t sz = 2 << 20; ok && sz <= (32 << 20); sz *= 2) {
		big = realloc(big, sz);
		ok = big && big[(1 << 20) - 4096] == (char)255 && big[4096] == 1;
		if (ok)
			big[sz - 1] = 1;
	}
	check("realloc 1 MiB to 32 MiB keeps the contents", ok, "lost");
	free(big);
	return failures;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	long n = argc > 2 ? atol(argv[2]) : 0;
	open_scratch();
	if (!strcmp(argv[1], "malloc"))
		return malloc_loop(n);
	if (!strcmp(argv[1], "maps"))
		return many_maps(n);
	if (!strcmp(argv[1], "split"))
		return split_checks();
	if (!strcmp(argv[1], "segv")) {
		char *p = fresh(4);
		mprotect(p + PG, 2 * PG, PROT_READ);
		p[0] = p[3 * PG] = 1; /* both sides still writable */
		printf("sides written\n");
		fflush(stdout);
		p[2 * PG] = 1;
		return 0;
	}
	return 2;
}
