/* A vsock proxy inside the enclave: accepts AF_VSOCK connections on PORT and
 * relays each, in a child process of its own, to TCP HOST:TCPPORT on
 * loopback (retrying the connect for 10 s while the server starts). Exits
 * 0 after COUNT connections have been relayed to the end (0: never).
 *
 *   vsockrelay PORT HOST TCPPORT [COUNT] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
/* struct sockaddr_vm, spelled out: musl's headers have no linux/vm_sockets.h. */
struct vm_addr {
	uint16_t family, reserved1;
	uint32_t port, cid;
	uint8_t flags, zero[3];
};

static int connect_tcp(const char *host, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -1;
	for (int tries = 0; tries < 1000; tries++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			return -1;
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			return s;
		close(s);
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* Copies both ways until both directions are closed. */
static void relay(int a, int b)
{
	char buf[16384];
	int open_ab = 1, open_ba = 1;
	while (open_ab || open_ba) {
		struct pollfd p[2] = {{a, open_ab ? POLLIN : 0, 0}, {b, open_ba ? POLLIN : 0, 0}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			int from = i ? b : a, to = i ? a : b;
			ssize_t n = read(from, buf, sizeof(buf));
			if (n <= 0) {
				shutdown(to, SHUT_WR);
				if (i)
					open_ba = 0;
				else
					open_ab = 0;
				continue;
			}
			for (ssize_t off = 0; off < n;) {
				ssize_t w = write(to, buf + off, (size_t)(n - off));
				if (w <= 0)
					return;
				off += w;
			}
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: vsockrelay PORT HOST TCPPORT [COUNT]\n");
		return 2;
	}
	int port = atoi(argv[1]), tcpport = atoi(argv[3]), count = argc > 4 ? atoi(argv[4]) : 0;
	int l = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct vm_addr va = {.family = AF_VSOCK, .port = (uint32_t)port, .cid = 0xffffffffu /* any */};
	if (l < 0 || bind(l, (struct sockaddr *)&va, sizeof(va)) < 0 || listen(l, 16) < 0) {
		perror("vsockrelay: listen");
		return 1;
	}
	printf("relay: listening on vsock port %d for %s:%d\n", port, argv[2], tcpport);
	fflush(stdout);
	/* Only its own children: a server started before it by the same shell
	 * (which then exec'd this) is a child too, and never ends. */
	pid_t kids[256];
	int nkids = 0;
	for (int done = 0; !count || done < count; done++) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			perror("vsockrelay: accept");
			return 1;
		}
		pid_t pid = fork();
		if (pid == 0) {
			int t = connect_tcp(argv[2], tcpport);
			if (t < 0) {
				perror("vsockrelay: connect");
				_exit(1);
			}
			relay(c, t);
			_exit(0);
		}
		if (pid > 0 && nkids < 256)
			kids[nkids++] = pid;
		close(c);
	}
	int st, failed = 0;
	for (int i = 0; i < nkids; i++)
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	printf("relay: %d connections relayed, %d failed\n", count, failed);
	return failed ? 1 : 0;
}
