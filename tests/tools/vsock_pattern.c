/* The host end of tests/kernel-progs/vsockbench, and its baseline:
 *
 *   vsock_pattern serve DIR PORT BYTES  listen on DIR/port-PORT.sock and
 *        DIR/port-(PORT+1).sock (carve's vsock Unix sockets, docs/vsock.md);
 *        on the first, read to end of stream and check every byte against
 *        the pattern; on the second, write BYTES bytes of it and close
 *   vsock_pattern pair BYTES  the same bytes through a Unix socket pair on
 *        this machine, a writer process and a checking reader (the baseline)
 *
 * The pattern (vsockbench's): the 64-bit word at stream offset 8k is
 * k * 0x9e3779b97f4a7c15 ^ 0x5a5a5a5a5a5a5a5a. Writes and reads are 256 KiB.
 * Prints "listening" once both sockets listen, then per direction
 * "<what> bytes N seconds S MiB/s R content ok|FAIL at byte X", timed from
 * the first byte to the last. Exit status 0 when every check passed. Ends
 * within 600 s (alarm). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define CHUNK (256u << 10)

static uint64_t word_at(uint64_t k) { return k * 0x9e3779b97f4a7c15ull ^ 0x5a5a5a5a5a5a5a5aull; }

static int die(const char *what) { return tool_die("vsock_pattern", what); }

/* Pattern bytes [off, off+n) into buf; off need not be word-aligned. */
static void fill(uint8_t *buf, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint64_t k = (off + i) / 8, w = word_at(k);
		size_t at = (size_t)((off + i) % 8), take = 8 - at < n - i ? 8 - at : n - i;
		memcpy(buf + i, (uint8_t *)&w + at, take);
		i += take;
	}
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int source(int fd, uint64_t total)
{
	static uint8_t buf[CHUNK];
	for (uint64_t off = 0; off < total;) {
		size_t n = total - off < CHUNK ? (size_t)(total - off) : CHUNK;
		fill(buf, off, n);
		if (write_all(fd, buf, n) < 0)
			return die("write");
		off += n;
	}
	return 0;
}

/* Reads fd to end of stream, checking; prints the line; 0 if all is right. */
static int sink(int fd, uint64_t want, const char *what)
{
	static uint8_t buf[CHUNK], ref[CHUNK];
	uint64_t total = 0, bad = UINT64_MAX;
	double t0 = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return die("read");
		if (n == 0)
			break;
		if (!total)
			t0 = tool_now_s();
		if (bad == UINT64_MAX) {
			fill(ref, total, (size_t)n);
			if (memcmp(buf, ref, (size_t)n)) {
				size_t i = 0;
				while (buf[i] == ref[i])
					i++;
				bad = total + i;
			}
		}
		total += (uint64_t)n;
	}
	double secs = tool_now_s() - t0;
	printf("%s bytes %llu seconds %.3f MiB/s %.1f ", what, (unsigned long long)total, secs,
	       secs > 0 ? (double)total / (1 << 20) / secs : 0.0);
	if (bad != UINT64_MAX)
		printf("content FAIL at byte %llu\n", (unsigned long long)bad);
	else if (total != want)
		printf("content FAIL: %llu bytes, not %llu\n", (unsigned long long)total,
		       (unsigned long long)want);
	else
		printf("content ok\n");
	fflush(stdout);
	return bad != UINT64_MAX || total != want;
}

static int listen_on(const char *dir, unsigned port)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s/port-%u.sock", dir, port) >=
	    sizeof(a.sun_path))
		return errno = ENAMETOOLONG, -1;
	unlink(a.sun_path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0)
		return -1;
	return l;
}

static int serve(const char *dir, unsigned port, uint64_t bytes)
{
	int l1 = listen_on(dir, port), l2 = listen_on(dir, port + 1);
	if (l1 < 0 || l2 < 0)
		return die("listen");
	printf("listening\n");
	fflush(stdout);
	int c = accept(l1, NULL, NULL);
	if (c < 0)
		return die("accept");
	int bad = sink(c, bytes, "guest->host");
	close(c);
	if ((c = accept(l2, NULL, NULL)) < 0)
		return die("accept");
	double t0 = tool_now_s();
	if (source(c, bytes))
		return 1;
	close(c);
	double secs = tool_now_s() - t0;
	printf("host->guest bytes %llu written in %.3f s\n", (unsigned long long)bytes, secs);
	return bad;
}

static int pair(uint64_t bytes)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return die("socketpair");
	pid_t pid = fork();
	if (pid < 0)
		return die("fork");
	if (pid == 0) {
		close(sv[0]);
		_exit(source(sv[1], bytes));
	}
	close(sv[1]);
	int bad = sink(sv[0], bytes, "unix-pair");
	int st;
	waitpid(pid, &st, 0);
	return bad || !WIFEXITED(st) || WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
	alarm(600);
	if (argc == 5 && !strcmp(argv[1], "serve"))
		return serve(argv[2], (unsigned)strtoul(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "pair"))
		return pair(strtoull(argv[2], NULL, 0));
	fprintf(stderr, "usage: vsock_pattern serve DIR PORT BYTES | pair BYTES\n");
	return 2;
}
