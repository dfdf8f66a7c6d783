/* Stream throughput at the host end of a vsock path (bench/af_vsock.sh):
 *
 *   vsock_sink vsock PORT          accept one AF_VSOCK connection on PORT
 *   vsock_sink unix PATH           accept one connection on a Unix socket
 *                                  (carve's port-P.sock host side)
 *   vsock_sink send CID PORT MIB   connect with AF_VSOCK and send MIB MiB
 *                                  (the loopback baseline: CID 1)
 *
 * A receiver reads to end of stream and prints "bytes N seconds S MiB/s R",
 * timed from the first byte to the end, so connection set-up and the
 * enclave's boot are not counted. It prints "listening" once it listens. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "tool.h"

static int die(const char *what) { return tool_die("vsock_sink", what); }

static int receive(int l)
{
	printf("listening\n");
	fflush(stdout);
	int c = accept(l, NULL, NULL);
	if (c < 0)
		return die("accept");
	static char buf[1 << 18];
	uint64_t total = 0;
	double t0 = 0;
	for (;;) {
		ssize_t n = read(c, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return die("read");
		if (n == 0)
			break;
		if (!total)
			t0 = tool_now_s();
		total += (uint64_t)n;
	}
	double secs = tool_now_s() - t0;
	printf("bytes %llu seconds %.3f MiB/s %.1f\n", (unsigned long long)total, secs,
	       secs > 0 ? (double)total / (1 << 20) / secs : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "vsock")) {
		int l = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_vm a = {.svm_family = AF_VSOCK,
					.svm_port = (unsigned)atoi(argv[2]),
					.svm_cid = VMADDR_CID_ANY};
		if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0)
			return die("listen on AF_VSOCK");
		return receive(l);
	}
	if (argc == 3 && !strcmp(argv[1], "unix")) {
		int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[2]);
		unlink(argv[2]);
		if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0)
			return die("listen on the Unix socket");
		return receive(l);
	}
	if (argc == 5 && !strcmp(argv[1], "send")) {
		int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_vm a = {.svm_family = AF_VSOCK,
					.svm_port = (unsigned)atoi(argv[3]),
					.svm_cid = (unsigned)atoi(argv[2])};
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
			return die("connect");
		static char buf[1 << 16];
		memset(buf, 'x', sizeof(buf));
		uint64_t left = (uint64_t)atoll(argv[4]) << 20;
		while (left) {
			size_t chunk = left < sizeof(buf) ? (size_t)left : sizeof(buf);
			ssize_t n = write(s, buf, chunk);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return die("write");
			left -= (uint64_t)n;
		}
		close(s);
		return 0;
	}
	fprintf(stderr, "usage: vsock_sink vsock PORT | unix PATH | send CID PORT MIB\n");
	return 2;
}
