#define _GNU_SOURCE
/* vsock throughput from inside an enclave, with every byte checked:
 *   vsockbench PORT BYTES [CHUNK]
 * connects to the parent (CID 3) on PORT and writes BYTES bytes of the
 * pattern below in CHUNK-byte writes (default 256 KiB), closes, then
 * connects on PORT+1 and reads BYTES bytes in CHUNK-byte reads, checking
 * each against the same pattern. The host end is tests/tools/vsock_pattern
 * (sink on PORT, source on PORT+1), which checks what it receives the same
 * way. Before each direction's timed part it checks that bad buffers give
 * EFAULT (or a short count up to the bad page) and lose no byte.
 *
 * The pattern: the 64-bit little-endian word at stream offset 8k is
 * k * 0x9e3779b97f4a7c15 ^ 0x5a5a5a5a5a5a5a5a, so a lost, doubled or moved
 * byte (or page) shows at once.
 *
 * Prints "send BYTES bytes in US us" and "recv BYTES bytes in US us" (the
 * program's own clock, from the connection being up to the last byte),
 * "ok ..."/"FAIL ..." lines; exit status 0 when everything arrived. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
struct vm_addr {
	uint16_t family, reserved1;
	uint32_t port, cid;
	uint8_t flags, zero[3];
};

static uint64_t word_at(uint64_t k) { return k * 0x9e3779b97f4a7c15ull ^ 0x5a5a5a5a5a5a5a5aull; }

static uint64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static int connect_parent(uint32_t port)
{
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct vm_addr a = {.family = AF_VSOCK, .port = port, .cid = 3};
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("FAIL connect to port %u: %s\n", port, strerror(errno));
		exit(1);
	}
	return s;
}

static int failures;
static void check(int cond, const char *what)
{
	printf("%s %s\n", cond ? "ok" : "FAIL", what);
	failures += !cond;
	fflush(stdout);
}

/* Pattern bytes [off, off+n) into buf, whole words where aligned. */
static void fill(void *dst, uint64_t off, size_t n)
{
	uint8_t *buf = dst;
	size_t i = 0;
	while (i < n && (off + i) % 8) {
		uint64_t w = word_at((off + i) / 8);
		buf[i] = ((uint8_t *)&w)[(off + i) % 8];
		i++;
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t w = word_at((off + i) / 8);
		memcpy(buf + i, &w, 8);
	}
	for (; i < n; i++) {
		uint64_t w = word_at((off + i) / 8);
		buf[i] = ((uint8_t *)&w)[(off + i) % 8];
	}
}

/* Addresses the compiler must not reason about. */
static void *volatile unmapped = (void *)8, *volatile kernel_addr = (void *)-4096l;

/* A write of the pattern from stream offset off, from at + lead of a 3-page
 * mapping whose last page is unmapped. Linux fails the whole packet
 * (EFAULT); carve's kernel sends the bytes before the bad page (all but the
 * at most 7 of them that share a quadword with it, when the buffer is not
 * 8-byte aligned: its copies move quadwords). Either way no byte is lost or
 * invented: the host checks the stream. Returns the bytes sent. */
static uint64_t write_to_hole(int s, uint64_t off, size_t lead, const char *what)
{
	uint8_t *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	size_t before = 2 * 4096 - lead;
	fill(p + lead, off, before);
	munmap(p + 2 * 4096, 4096);
	errno = 0;
	ssize_t w = write(s, p + lead, 3 * 4096 - lead);
	check((w > 0 && (size_t)w <= before && (size_t)w + 8 > before) || (w < 0 && errno == EFAULT), what);
	munmap(p, 2 * 4096);
	return w > 0 ? (uint64_t)w : 0;
}

static uint64_t bad_writes(int s)
{
	errno = 0;
	check(write(s, unmapped, 65536) < 0 && errno == EFAULT,
	      "a 64 KiB write from an unmapped address: EFAULT");
	errno = 0;
	check(write(s, kernel_addr, 8192) < 0 && errno == EFAULT, "a write from a kernel address: EFAULT");
	uint64_t sent = write_to_hole(
		s, 0, 0, "a 12 KiB write whose last page is unmapped: EFAULT or the 8 KiB before it");
	return sent +
		write_to_hole(
			s, sent, 5,
			"the same from 5 bytes in: EFAULT or the bytes before the bad page (up to 7 fewer)");
}

/* Reads that fault consume nothing. */
static void bad_reads(int s)
{
	uint8_t *p = mmap(NULL, 65536, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	errno = 0;
	check(read(s, p, 65536) < 0 && errno == EFAULT, "a 64 KiB read into a read-only mapping: EFAULT");
	errno = 0;
	check(recv(s, unmapped, 65536, MSG_WAITALL) < 0 && errno == EFAULT,
	      "a 64 KiB recv into an unmapped address: EFAULT");
	munmap(p, 65536);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	uint32_t port = (uint32_t)strtoul(argv[1], NULL, 0);
	uint64_t total = strtoull(argv[2], NULL, 0);
	size_t chunk = argc > 3 ? (size_t)strtoul(argv[3], NULL, 0) : 256u << 10;
	if (!chunk)
		return 2;
	uint8_t *buf = malloc(chunk), *want = malloc(chunk);
	if (!buf || !want)
		return 3;

	int s = connect_parent(port);
	uint64_t sent = bad_writes(s), t0 = now_us();
	while (sent < total) {
		size_t n = total - sent < chunk ? (size_t)(total - sent) : chunk;
		fill(buf, sent, n);
		size_t done = 0;
		while (done < n) {
			ssize_t w = write(s, buf + done, n - done);
			if (w <= 0) {
				printf("FAIL write at %llu: %s\n", (unsigned long long)(sent + done),
				       w < 0 ? strerror(errno) : "0");
				return 1;
			}
			done += (size_t)w;
		}
		sent += n;
	}
	printf("send %llu bytes in %llu us\n", (unsigned long long)sent, (unsigned long long)(now_us() - t0));
	fflush(stdout);
	close(s);

	s = connect_parent(port + 1);
	bad_reads(s);
	uint64_t got = 0, bad = UINT64_MAX;
	t0 = now_us();
	while (got < total) {
		size_t n = total - got < chunk ? (size_t)(total - got) : chunk;
		size_t have = 0;
		while (have < n) {
			ssize_t r = read(s, buf + have, n - have);
			if (r <= 0) {
				printf("FAIL read at %llu: %s\n", (unsigned long long)(got + have),
				       r < 0 ? strerror(errno) : "end of stream");
				return 1;
			}
			have += (size_t)r;
		}
		fill(want, got, n);
		if (bad == UINT64_MAX && memcmp(buf, want, n)) {
			size_t i = 0;
			while (buf[i] == want[i])
				i++;
			bad = got + i;
		}
		got += n;
	}
	uint64_t us = now_us() - t0;
	char extra;
	ssize_t end = read(s, &extra, 1);
	printf("recv %llu bytes in %llu us\n", (unsigned long long)got, (unsigned long long)us);
	if (bad != UINT64_MAX)
		printf("FAIL recv content differs at byte %llu\n", (unsigned long long)bad);
	else if (end != 0)
		printf("FAIL recv: more than %llu bytes, or no end of stream\n", (unsigned long long)total);
	else
		printf("recv content ok\n");
	close(s);
	return failures || bad != UINT64_MAX || end != 0;
}
