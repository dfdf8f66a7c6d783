#define _GNU_SOURCE
/* AF_VSOCK from inside an enclave. Modes:
 *   client PORT MSG   connect to CID 3 PORT, send "MSG\n", print the reply line
 *   server PORT       listen on PORT, accept one connection (poll first), read
 *                     a line, answer "echo: <line>\n", close
 *   bulk PORT N       connect to CID 3 PORT and send N bytes (credit flow)
 *   sink PORT         listen on PORT, accept one connection, read to end of
 *                     stream slowly, print the byte count and a checksum
 *   fire PORT N       connect to CID 3 PORT, write N bytes and a line, and exit
 *                     at once without closing (exit must not lose them)
 *   many PORT N       N connections one after another: line out, line back, close
 *   intr PORT         connect to CID 3 PORT; a blocking read interrupted by a
 *                     signal: EINTR without SA_RESTART, restarted with it (a
 *                     child then writes the line whose answer ends the read)
 *   errors            the error cases that need no host program
 * The parent is CID 3, as on Nitro, or the CID in $VSOCKPROBE_PARENT_CID
 * (2 for an enclave on carve's kernel datapath).
 * Prints "ok ..." / "FAIL ..." lines; exit status: failures. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
struct vm_addr {
	uint16_t family, reserved1;
	uint32_t port, cid;
	uint8_t flags, zero[3];
};

static int failures;
static uint32_t parent = 3; /* the parent's CID */
static void check(int cond, const char *what)
{
	printf("%s %s\n", cond ? "ok" : "FAIL", what);
	failures += !cond;
	fflush(stdout);
}

static int connect_to(uint32_t cid, uint32_t port)
{
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct vm_addr a = {.family = AF_VSOCK, .port = port, .cid = cid};
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		if (s >= 0)
			close(s);
		errno = e;
		return -1;
	}
	return s;
}

static ssize_t read_line(int s, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(s, buf + n, 1);
		if (r <= 0)
			break;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = 0;
	return (ssize_t)n;
}

static int client(uint32_t port, const char *msg)
{
	int s = connect_to(parent, port);
	check(s >= 0, "connect to the parent's CID");
	if (s < 0)
		return 1;
	struct vm_addr me, peer;
	socklen_t l1 = sizeof(me), l2 = sizeof(peer);
	check(getsockname(s, (struct sockaddr *)&me, &l1) == 0 && l1 == sizeof(me) && me.port >= 1024 &&
		      me.cid > 3,
	      "getsockname: our CID and an ephemeral port");
	check(getpeername(s, (struct sockaddr *)&peer, &l2) == 0 && peer.cid == parent && peer.port == port,
	      "getpeername: the parent's CID and the port");
	/* The host answers only after our line: nothing to read yet. */
	char line[512];
	check(fcntl(s, F_SETFL, O_NONBLOCK) == 0 && read(s, line, 1) < 0 && errno == EAGAIN,
	      "O_NONBLOCK read: EAGAIN");
	check(recv(s, line, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "recv MSG_DONTWAIT: EAGAIN");
	struct pollfd p = {.fd = s, .events = POLLIN | POLLOUT};
	check(poll(&p, 1, 0) == 1 && p.revents == POLLOUT, "poll: writable, not readable");
	snprintf(line, sizeof(line), "%s\n", msg);
	check(write(s, line, strlen(line)) == (ssize_t)strlen(line), "write the line");
	/* An event loop's view: edge-triggered epoll over the connection. */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = 7}, got;
	check(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0, "epoll: add the vsock socket");
	check(epoll_wait(ep, &got, 1, 10000) == 1 && (got.events & EPOLLIN) && got.data.u32 == 7,
	      "epoll: the answer arrives");
	close(ep);
	p.events = POLLIN;
	check(poll(&p, 1, 10000) == 1 && (p.revents & POLLIN), "poll: the answer arrives");
	check(fcntl(s, F_SETFL, 0) == 0, "back to blocking");
	char peek[6] = {0};
	check(recv(s, peek, 5, MSG_PEEK | MSG_WAITALL) == 5 && !strcmp(peek, "pong:"),
	      "MSG_PEEK sees the answer");
	read_line(s, line, sizeof(line));
	printf("reply: %s", line);
	char c;
	check(read(s, &c, 1) == 0, "end of stream after the host closes");
	check(close(s) == 0, "close");
	return failures;
}

static int server(uint32_t port)
{
	int l = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct vm_addr a = {.family = AF_VSOCK, .port = port, .cid = 0xffffffffu};
	check(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 4) == 0,
	      "bind and listen");
	int one = 1;
	check(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0, "setsockopt SO_REUSEADDR");
	printf("listening %u\n", port);
	fflush(stdout);
	struct pollfd p = {.fd = l, .events = POLLIN};
	check(poll(&p, 1, 60000) == 1 && (p.revents & POLLIN), "poll: a connection is waiting");
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 5}, got;
	check(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) == 0 && epoll_wait(ep, &got, 1, 0) == 1 &&
		      got.events == EPOLLIN && got.data.u32 == 5,
	      "epoll: the listening socket is ready");
	close(ep);
	struct vm_addr peer;
	socklen_t pl = sizeof(peer);
	int s = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
	check(s >= 0 && peer.cid == 3 && pl == sizeof(peer), "accept: the peer is CID 3");
	char line[512], out[600];
	read_line(s, line, sizeof(line));
	printf("got: %s", line);
	snprintf(out, sizeof(out), "echo: %s", line);
	check(send(s, out, strlen(out), 0) == (ssize_t)strlen(out), "send the answer");
	check(shutdown(s, SHUT_WR) == 0, "shutdown SHUT_WR");
	close(s);
	close(l);
	return failures;
}

static int bulk(uint32_t port, long total)
{
	int s = connect_to(parent, port);
	check(s >= 0, "bulk: connect");
	if (s < 0)
		return 1;
	static char buf[65536];
	long sent = 0;
	for (int i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);
	while (sent < total) {
		long chunk = total - sent < (long)sizeof(buf) ? total - sent : (long)sizeof(buf);
		ssize_t w = write(s, buf, (size_t)chunk);
		if (w <= 0)
			break;
		sent += w;
	}
	check(sent == total, "bulk: every byte written (the host reads slower than we write)");
	close(s);
	return failures;
}

static int sink(uint32_t port)
{
	int l = socket(AF_VSOCK, SOCK_STREAM, 0);
	struct vm_addr a = {.family = AF_VSOCK, .port = port, .cid = 0xffffffffu};
	check(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 1) == 0, "sink: listen");
	printf("listening %u\n", port);
	fflush(stdout);
	int s = accept(l, NULL, NULL);
	check(s >= 0, "sink: accept");
	static char buf[3000]; /* odd sizes: reads end mid-packet */
	long got = 0;
	uint32_t sum = 0;
	ssize_t r;
	while ((r = read(s, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++)
			sum = sum * 31 + (uint8_t)buf[i];
		got += r;
	}
	check(r == 0, "sink: end of stream");
	printf("sink got %ld sum %08x\n", got, sum);
	close(s);
	close(l);
	return failures;
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void alarm_handler(int flags)
{
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = flags};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}

static int interrupted(uint32_t port)
{
	int s = connect_to(parent, port);
	check(s >= 0, "intr: connect to the parent's CID");
	if (s < 0)
		return 1;
	/* The host answers only after our line: the read blocks until the alarm. */
	char line[128];
	alarm_handler(0);
	alarm(1);
	ssize_t r = read(s, line, sizeof(line));
	check(r < 0 && errno == EINTR && alarms == 1,
	      "a blocking read and a signal without SA_RESTART: EINTR");
	alarm_handler(SA_RESTART);
	pid_t child = fork();
	if (child == 0) {
		sleep(2); /* after the parent's alarm */
		_exit(write(s, "late\n", 5) == 5 ? 0 : 1);
	}
	alarm(1);
	r = read_line(s, line, sizeof(line));
	check(r > 0 && !strcmp(line, "pong: late\n") && alarms == 2,
	      "with SA_RESTART the read goes on after the handler and gets the answer");
	int st = 0;
	check(child > 0 && waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "the child wrote the line on the shared connection");
	close(s);
	return failures;
}

static int errors(void)
{
	check(socket(AF_PACKET, SOCK_RAW, 0) < 0 && errno == EAFNOSUPPORT,
	      "AF_PACKET (no such family here): EAFNOSUPPORT");
	check(socket(AF_VSOCK, SOCK_DGRAM, 0) < 0 && errno == ESOCKTNOSUPPORT, "SOCK_DGRAM: ESOCKTNOSUPPORT");
	int s = connect_to(3, 7);
	check(s < 0 && errno == ECONNRESET, "connect to a port nobody listens on: ECONNRESET");
	s = connect_to(99, 7);
	check(s < 0 && errno == ECONNRESET, "connect to an unknown CID: ECONNRESET");
	s = socket(AF_VSOCK, SOCK_STREAM, 0);
	char c;
	check(read(s, &c, 1) < 0 && errno == ENOTCONN, "read before connect: ENOTCONN");
	check(lseek(s, 0, SEEK_SET) < 0 && errno == ESPIPE, "lseek on a socket: ESPIPE");
	struct timeval tv = {1, 500000}, got;
	socklen_t gl = sizeof(got);
	check(setsockopt(s, AF_VSOCK, 6, &tv, sizeof(tv)) == 0 &&
		      getsockopt(s, AF_VSOCK, 6, &got, &gl) == 0 && got.tv_sec == 1 && got.tv_usec == 500000,
	      "SO_VM_SOCKETS_CONNECT_TIMEOUT round-trips");
	int err = -1;
	socklen_t el = sizeof(err);
	check(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0, "SO_ERROR is 0");
	struct vm_addr a = {.family = AF_VSOCK, .port = 5555, .cid = 0xffffffffu};
	check(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0, "bind port 5555");
	int s2 = socket(AF_VSOCK, SOCK_STREAM, 0);
	check(bind(s2, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == EADDRINUSE,
	      "bind it twice: EADDRINUSE");
	close(s2);
	/* Non-blocking connect: EINPROGRESS, then poll says how it ended. */
	s2 = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct vm_addr b = {.family = AF_VSOCK, .port = 7, .cid = 3};
	check(connect(s2, (struct sockaddr *)&b, sizeof(b)) < 0 && errno == EINPROGRESS,
	      "non-blocking connect: EINPROGRESS");
	struct pollfd p = {.fd = s2, .events = POLLOUT};
	check(poll(&p, 1, 5000) == 1 && (p.revents & (POLLERR | POLLHUP)),
	      "poll reports the refused connection");
	check(getsockopt(s2, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == ECONNRESET,
	      "SO_ERROR: ECONNRESET");
	close(s2);
	close(s);
	return failures;
}

int main(int argc, char **argv)
{
	const char *p = getenv("VSOCKPROBE_PARENT_CID");
	if (p && *p)
		parent = (uint32_t)strtoul(p, NULL, 10);
	if (argc >= 4 && !strcmp(argv[1], "client"))
		return client((uint32_t)atoi(argv[2]), argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "server"))
		return server((uint32_t)atoi(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "bulk"))
		return bulk((uint32_t)atoi(argv[2]), atol(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "sink"))
		return sink((uint32_t)atoi(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "fire")) {
		int s = connect_to(parent, (uint32_t)atoi(argv[2]));
		static char buf[200000];
		long n = atol(argv[3]);
		if (s < 0 || n < 0 || n >= (long)sizeof(buf))
			return 1;
		memset(buf, 'x', (size_t)n);
		buf[n] = '\n';
		return write(s, buf, (size_t)n + 1) == n + 1 ? 0 : 1;
	}
	if (argc >= 4 && !strcmp(argv[1], "many")) {
		int n = atoi(argv[3]), good = 0;
		for (int i = 0; i < n; i++) {
			int s = connect_to(parent, (uint32_t)atoi(argv[2]));
			char line[64], want[64];
			snprintf(line, sizeof(line), "conn %d\n", i);
			snprintf(want, sizeof(want), "pong: conn %d\n", i);
			if (s >= 0 && write(s, line, strlen(line)) == (ssize_t)strlen(line) &&
			    read_line(s, line, sizeof(line)) > 0 && !strcmp(line, want))
				good++;
			if (s >= 0)
				close(s);
		}
		printf("many: %d of %d round trips\n", good, n);
		return good == n ? 0 : 1;
	}
	if (argc >= 3 && !strcmp(argv[1], "intr"))
		return interrupted((uint32_t)atoi(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "errors"))
		return errors();
	fprintf(stderr,
		"usage: vsockprobe client PORT MSG | server PORT | bulk PORT N | sink PORT | intr PORT | errors\n");
	return 2;
}
