/* Checks loopback AF_INET and AF_INET6 sockets one call at a time: TCP
 * (bind, ephemeral ports, listen, connect, accept4, the names, data both
 * ways through every send/receive call, shutdown, EPIPE, ECONNREFUSED,
 * SO_REUSEADDR and the port conflicts, a 1 MiB transfer through a poll
 * loop), UDP (datagrams and their sources, connected sockets and what they
 * receive, ECONNREFUSED through SO_ERROR, EMSGSIZE), IPv6 and dual stack,
 * socket options, poll and epoll readiness, and the address checks.
 * Prints "ok NAME" or "FAIL NAME: why"; the exit status is the number of
 * failures. It runs on the host too (the expectations are Linux's); with
 * the argument "carve" it also checks what only an enclave without a
 * network answers (no route beyond loopback: ENETUNREACH). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(const char *name, int ok, const char *why)
{
	if (ok)
		printf("ok %s\n", name);
	else {
		printf("FAIL %s: %s (errno %d)\n", name, why, errno);
		failures++;
	}
}

/* A call that fails with errno e. */
#define FAILS(call, e) ((call) < 0 && errno == (e))

static struct sockaddr_in v4(const char *ip, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static struct sockaddr_in6 v6(const char *ip, int port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	inet_pton(AF_INET6, ip, &a.sin6_addr);
	return a;
}

#define SA(a) ((struct sockaddr *)&(a))

/* The port a socket is bound to (0 if none or on error). */
static int port_of(int fd)
{
	struct sockaddr_in6 a;
	socklen_t l = sizeof(a);
	if (getsockname(fd, SA(a), &l) < 0)
		return 0;
	return ntohs(a.sin6_port); /* same offset in sockaddr_in */
}

/* "ip:port" of a sockaddr_in or sockaddr_in6. */
static const char *show(const void *sa, char *buf, size_t n)
{
	const struct sockaddr_in *a = sa;
	char ip[64] = "?";
	if (a->sin_family == AF_INET)
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	else if (a->sin_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
	snprintf(buf, n, "%s:%d", ip, ntohs(a->sin_port));
	return buf;
}

/* Whether getsockname/getpeername of fd gives "ip:port" (port -1: any). */
static int name_is(int fd, int peer, const char *ip, int port)
{
	struct sockaddr_in6 a;
	memset(&a, 0, sizeof(a));
	socklen_t l = sizeof(a);
	if ((peer ? getpeername(fd, SA(a), &l) : getsockname(fd, SA(a), &l)) < 0)
		return 0;
	char want[80], got[80];
	show(&a, got, sizeof(got));
	if (port < 0)
		snprintf(want, sizeof(want), "%s:%d", ip, ntohs(a.sin6_port));
	else
		snprintf(want, sizeof(want), "%s:%d", ip, port);
	if (strcmp(want, got))
		printf("# got %s, want %s\n", got, want);
	return !strcmp(want, got) && l == (a.sin6_family == AF_INET ? 16u : 28u);
}

static int getint(int fd, int level, int name)
{
	int v = -12345;
	socklen_t l = sizeof(v);
	if (getsockopt(fd, level, name, &v, &l) < 0 || l != sizeof(v))
		return -12345;
	return v;
}

static int setint(int fd, int level, int name, int v) { return setsockopt(fd, level, name, &v, sizeof(v)); }

/* A TCP listener on ip (AF_INET or AF_INET6 by the address), port 0. */
static int listener(int fam, const char *ip, int flags)
{
	int s = socket(fam, SOCK_STREAM | flags, 0);
	int r;
	if (fam == AF_INET) {
		struct sockaddr_in a = v4(ip, 0);
		r = bind(s, SA(a), sizeof(a));
	} else {
		struct sockaddr_in6 a = v6(ip, 0);
		r = bind(s, SA(a), sizeof(a));
	}
	if (r < 0 || listen(s, 8) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static int connect4(int fd, const char *ip, int port)
{
	struct sockaddr_in a = v4(ip, port);
	return connect(fd, SA(a), sizeof(a));
}

static int connect6(int fd, const char *ip, int port)
{
	struct sockaddr_in6 a = v6(ip, port);
	return connect(fd, SA(a), sizeof(a));
}

static void tcp_basics(void)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	struct stat st;
	check("tcp-socket", l >= 0 && fstat(l, &st) == 0 && S_ISSOCK(st.st_mode), "no socket");
	check("tcp-socket-flags", (fcntl(l, F_GETFL) & O_NONBLOCK) && fcntl(l, F_GETFD) == FD_CLOEXEC,
	      "flags not set");
	check("tcp-unbound-name", name_is(l, 0, "0.0.0.0", 0), "not 0.0.0.0:0");
	check("tcp-unbound-peer",
	      FAILS(getpeername(l, SA((struct sockaddr_in){0}), &(socklen_t){16}), ENOTCONN),
	      "expected ENOTCONN");
	struct sockaddr_in a = v4("127.0.0.1", 0);
	check("tcp-bind-ephemeral", bind(l, SA(a), sizeof(a)) == 0 && port_of(l) > 0, "bind to port 0");
	int port = port_of(l);
	check("tcp-bind-twice-einval", FAILS(bind(l, SA(a), sizeof(a)), EINVAL), "expected EINVAL");
	check("tcp-read-unconnected-enotconn", FAILS(read(l, &a, 1), ENOTCONN), "expected ENOTCONN");
	check("tcp-write-unconnected-epipe", FAILS(send(l, "x", 1, MSG_NOSIGNAL), EPIPE), "expected EPIPE");
	/* (On another socket: Linux's connections inherit a listener's shutdown.) */
	int u = socket(AF_INET, SOCK_STREAM, 0);
	check("tcp-shutdown-unconnected", FAILS(shutdown(u, SHUT_RDWR), ENOTCONN), "expected ENOTCONN");
	close(u);
	check("tcp-listen", listen(l, 8) == 0 && getint(l, SOL_SOCKET, SO_ACCEPTCONN) == 1, "not listening");
	check("tcp-sockopt-kind",
	      getint(l, SOL_SOCKET, SO_TYPE) == SOCK_STREAM && getint(l, SOL_SOCKET, SO_DOMAIN) == AF_INET &&
		      getint(l, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP &&
		      getint(l, SOL_SOCKET, SO_ERROR) == 0,
	      "type, domain, protocol, error");
	check("tcp-accept-empty-eagain", FAILS(accept(l, NULL, NULL), EAGAIN), "expected EAGAIN");
	struct pollfd p = {l, POLLIN, 0};
	check("tcp-listener-not-readable", poll(&p, 1, 0) == 0, "readable with nothing queued");

	int c = socket(AF_INET, SOCK_STREAM, 0);
	check("tcp-connect", connect4(c, "127.0.0.1", port) == 0, "connect failed");
	check("tcp-connect-again-eisconn", FAILS(connect4(c, "127.0.0.1", port), EISCONN),
	      "expected EISCONN");
	check("tcp-client-names",
	      name_is(c, 0, "127.0.0.1", -1) && port_of(c) != port && port_of(c) > 0 &&
		      name_is(c, 1, "127.0.0.1", port),
	      "client's names");
	check("tcp-listener-readable", poll(&p, 1, 0) == 1 && p.revents == POLLIN, "no POLLIN");
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	int s = accept4(l, SA(from), &fl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	char b2[80];
	check("tcp-accept4", s >= 0 && (fcntl(s, F_GETFL) & O_NONBLOCK) && fcntl(s, F_GETFD) == FD_CLOEXEC,
	      "accept4 flags");
	check("tcp-accept-address",
	      fl == sizeof(from) && from.sin_family == AF_INET && port_of(c) == ntohs(from.sin_port) &&
		      from.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	      show(&from, b2, sizeof(b2)));
	check("tcp-server-names",
	      name_is(s, 0, "127.0.0.1", port) && name_is(s, 1, "127.0.0.1", port_of(c)) &&
		      getint(s, SOL_SOCKET, SO_ACCEPTCONN) == 0,
	      "server end's names");

	/* Nagle would hold a second small write on Linux until an ACK. */
	setint(c, IPPROTO_TCP, TCP_NODELAY, 1);
	setint(s, IPPROTO_TCP, TCP_NODELAY, 1);
	char buf[64];
	check("tcp-write-read",
	      write(c, "hello", 5) == 5 && read(s, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5),
	      "bytes differ");
	check("tcp-empty-eagain",
	      FAILS(recv(s, buf, 1, 0), EAGAIN) && FAILS(recv(c, buf, 1, MSG_DONTWAIT), EAGAIN),
	      "expected EAGAIN");
	int avail = -1;
	check("tcp-send-peek-fionread",
	      send(s, "world!", 6, MSG_NOSIGNAL) == 6 && recv(c, buf, 3, MSG_PEEK) == 3 &&
		      !memcmp(buf, "wor", 3) && ioctl(c, FIONREAD, &avail) == 0 && avail == 6 &&
		      recv(c, buf, 64, 0) == 6 && !memcmp(buf, "world!", 6),
	      "peek then read");
	struct sockaddr_in src = {0};
	socklen_t sl = sizeof(src);
	check("tcp-sendto-recvfrom",
	      sendto(c, "abc", 3, 0, NULL, 0) == 3 && recvfrom(s, buf, 64, 0, SA(src), &sl) == 3 && sl == 0,
	      "recvfrom gives no address on TCP");
	struct iovec iv[2] = {{(void *)"12", 2}, {(void *)"345", 3}};
	struct msghdr m = {.msg_iov = iv, .msg_iovlen = 2};
	char r1[2], r2[8];
	struct iovec ri[2] = {{r1, 2}, {r2, 8}};
	struct msghdr rm = {.msg_name = &src, .msg_namelen = sizeof(src), .msg_iov = ri, .msg_iovlen = 2};
	check("tcp-sendmsg-recvmsg",
	      sendmsg(c, &m, 0) == 5 && recvmsg(s, &rm, 0) == 5 && !memcmp(r1, "12", 2) &&
		      !memcmp(r2, "345", 3) && rm.msg_namelen == 0,
	      "scatter/gather");
	check("tcp-waitall", send(s, "xy", 2, 0) == 2 && recv(c, buf, 2, MSG_WAITALL) == 2, "MSG_WAITALL");

	/* Half close: the server reads EOF and can still answer. */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = s}, out[4];
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	check("tcp-epoll-idle", epoll_wait(ep, out, 4, 0) == 0, "ready with nothing sent");
	check("tcp-shutdown-wr", shutdown(c, SHUT_WR) == 0, "shutdown failed");
	check("tcp-epoll-rdhup", epoll_wait(ep, out, 4, 0) == 1 && (out[0].events & EPOLLRDHUP),
	      "no EPOLLRDHUP");
	check("tcp-eof-after-shutdown", read(s, buf, 64) == 0, "expected EOF");
	check("tcp-write-after-shutdown-epipe", FAILS(send(c, "x", 1, MSG_NOSIGNAL), EPIPE),
	      "expected EPIPE");
	check("tcp-answer-after-half-close", write(s, "bye", 3) == 3 && read(c, buf, 64) == 3, "no answer");
	close(s);
	check("tcp-eof-after-peer-close", read(c, buf, 64) == 0, "expected EOF");
	close(c);
	close(ep);

	/* A closed peer: writes end in EPIPE (Linux may first take one and
	 * answer it with a reset). */
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect4(c, "127.0.0.1", port);
	s = accept(l, NULL, NULL);
	close(s);
	int e = 0;
	for (int i = 0; i < 3 && !e; i++)
		if (send(c, "data", 4, MSG_NOSIGNAL) < 0)
			e = errno;
	check("tcp-write-to-closed-peer", e == EPIPE || e == ECONNRESET, "expected EPIPE");
	close(c);

	/* Nobody listening: refused, and the port a failed connect took is let go. */
	close(l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	check("tcp-connect-refused", FAILS(connect4(c, "127.0.0.1", port), ECONNREFUSED),
	      "expected ECONNREFUSED");
	close(c);
}

static void tcp_ports(int carve)
{
	/* Two listeners on one port conflict, wildcard or not. */
	int a = listener(AF_INET, "127.0.0.1", 0);
	int port = port_of(a);
	int b = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = v4("127.0.0.1", port), any = v4("0.0.0.0", port);
	check("tcp-bind-in-use", FAILS(bind(b, SA(sa), sizeof(sa)), EADDRINUSE), "expected EADDRINUSE");
	check("tcp-bind-wildcard-in-use", FAILS(bind(b, SA(any), sizeof(any)), EADDRINUSE),
	      "expected EADDRINUSE");
	setint(b, SOL_SOCKET, SO_REUSEADDR, 1);
	check("tcp-reuseaddr-not-over-listener", FAILS(bind(b, SA(sa), sizeof(sa)), EADDRINUSE),
	      "expected EADDRINUSE");
	struct sockaddr_in other = v4("127.0.0.2", port);
	check("tcp-bind-other-loopback-address", bind(b, SA(other), sizeof(other)) == 0 && listen(b, 1) == 0,
	      "127.0.0.2 on the same port");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	check("tcp-connect-other-address",
	      connect4(c, "127.0.0.2", port) == 0 && name_is(c, 1, "127.0.0.2", port), "to 127.0.0.2");
	int s = accept(b, NULL, NULL);
	check("tcp-accepted-by-that-listener", s >= 0 && name_is(s, 0, "127.0.0.2", port), "wrong listener");
	close(s);
	close(c);
	close(b);
	close(a);

	/* SO_REUSEADDR: a restarted server binds while a connection of the
	 * old one lives; without it, EADDRINUSE. */
	a = socket(AF_INET, SOCK_STREAM, 0);
	setint(a, SOL_SOCKET, SO_REUSEADDR, 1);
	check("tcp-reuseaddr-get", getint(a, SOL_SOCKET, SO_REUSEADDR) == 1, "not 1");
	check("tcp-bind-wildcard", bind(a, SA(any), sizeof(any)) == 0 && listen(a, 4) == 0,
	      "0.0.0.0 listener");
	c = socket(AF_INET, SOCK_STREAM, 0);
	check("tcp-connect-via-wildcard", connect4(c, "127.0.0.1", port) == 0, "connect");
	s = accept(a, NULL, NULL);
	close(a);
	b = socket(AF_INET, SOCK_STREAM, 0);
	check("tcp-rebind-without-reuseaddr", FAILS(bind(b, SA(any), sizeof(any)), EADDRINUSE),
	      "expected EADDRINUSE");
	setint(b, SOL_SOCKET, SO_REUSEADDR, 1);
	check("tcp-rebind-with-reuseaddr", bind(b, SA(any), sizeof(any)) == 0 && listen(b, 4) == 0,
	      "restart refused");
	char z;
	check("tcp-old-connection-lives", write(s, "z", 1) == 1 && read(c, &z, 1) == 1 && z == 'z',
	      "old connection");
	close(s);
	close(c);

	/* connect to INADDR_ANY reaches this host. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	check("tcp-connect-inaddr-any", connect4(c, "0.0.0.0", port) == 0 && name_is(c, 1, "127.0.0.1", port),
	      "0.0.0.0 is not loopback");
	close(c);
	close(b);

	/* SO_REUSEPORT: two listeners share a port (another address: Linux
	 * keeps the closed connections' ends in TIME_WAIT). */
	sa = v4("127.0.0.3", port);
	a = socket(AF_INET, SOCK_STREAM, 0);
	b = socket(AF_INET, SOCK_STREAM, 0);
	setint(a, SOL_SOCKET, SO_REUSEPORT, 1);
	setint(b, SOL_SOCKET, SO_REUSEPORT, 1);
	check("tcp-reuseport",
	      bind(a, SA(sa), sizeof(sa)) == 0 && listen(a, 1) == 0 && bind(b, SA(sa), sizeof(sa)) == 0 &&
		      listen(b, 1) == 0,
	      "second listener refused");
	close(a);
	close(b);

	/* Two bound with SO_REUSEADDR: the second cannot listen too. */
	a = socket(AF_INET, SOCK_STREAM, 0);
	b = socket(AF_INET, SOCK_STREAM, 0);
	setint(a, SOL_SOCKET, SO_REUSEADDR, 1);
	setint(b, SOL_SOCKET, SO_REUSEADDR, 1);
	check("tcp-reuseaddr-two-binds", bind(a, SA(sa), sizeof(sa)) == 0 && bind(b, SA(sa), sizeof(sa)) == 0,
	      "both bind");
	check("tcp-reuseaddr-one-listener", listen(a, 1) == 0 && FAILS(listen(b, 1), EADDRINUSE),
	      "expected EADDRINUSE");
	close(a);
	close(b);

	/* listen without bind takes an ephemeral port on the wildcard. */
	a = socket(AF_INET, SOCK_STREAM, 0);
	check("tcp-listen-autobind", listen(a, 1) == 0 && name_is(a, 0, "0.0.0.0", -1) && port_of(a) > 0,
	      "no port");
	close(a);

	/* Addresses: lengths, families, where there is no route. */
	a = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in6 s6 = v6("::1", 0);
	check("inet-bind-short-einval", FAILS(bind(a, SA(sa), 8), EINVAL), "expected EINVAL");
	check("inet-bind-huge-len-einval", FAILS(bind(a, SA(s6), 200), EINVAL), "expected EINVAL");
	check("inet-bind-in6-on-inet", FAILS(bind(a, SA(s6), sizeof(s6)), EAFNOSUPPORT),
	      "expected EAFNOSUPPORT");
	check("inet-connect-efault", FAILS(connect(a, (struct sockaddr *)8, 16), EFAULT), "expected EFAULT");
	struct sockaddr_in far = v4("192.0.2.1", 80);
	check("inet-bind-foreign-eaddrnotavail", FAILS(bind(a, SA(far), sizeof(far)), EADDRNOTAVAIL),
	      "expected EADDRNOTAVAIL");
	if (carve) {
		check("inet-connect-foreign-enetunreach",
		      FAILS(connect(a, SA(far), sizeof(far)), ENETUNREACH), "expected ENETUNREACH");
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		check("inet-sendto-foreign-enetunreach",
		      FAILS(sendto(u, "x", 1, 0, SA(far), sizeof(far)), ENETUNREACH), "expected ENETUNREACH");
		close(u);
	}
	struct sockaddr_in tiny;
	socklen_t tl = 4;
	check("inet-getsockname-truncated", getsockname(a, SA(tiny), &tl) == 0 && tl == 16, "length not 16");
	close(a);

	check("inet-socket-tcp-udp-mismatch",
	      FAILS(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT), "expected EPROTONOSUPPORT");
	int sv[2];
	check("inet-socketpair-eopnotsupp", FAILS(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP),
	      "expected EOPNOTSUPP");
}

/* A nonblocking connect (0 or EINPROGRESS), then 1 MiB each way through a
 * poll loop in this one thread. */
static void tcp_bulk(void)
{
	int l = listener(AF_INET, "127.0.0.1", 0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int r = connect4(c, "127.0.0.1", port_of(l));
	check("tcp-nonblocking-connect", r == 0 || errno == EINPROGRESS, "connect failed");
	struct pollfd pc = {c, POLLOUT, 0};
	check("tcp-connect-completes",
	      poll(&pc, 1, 2000) == 1 && (pc.revents & POLLOUT) && getint(c, SOL_SOCKET, SO_ERROR) == 0,
	      "not writable");
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	static unsigned char out[1 << 20], in[1 << 20];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i * 7 + i / 4096);
	size_t sent = 0, got = 0;
	int rounds = 0;
	while (got < sizeof(in) && rounds++ < 100000) {
		struct pollfd p[2] = {{c, sent < sizeof(out) ? POLLOUT : 0, 0}, {s, POLLIN, 0}};
		if (poll(p, 2, 2000) <= 0)
			break;
		if (p[0].revents & POLLOUT) {
			ssize_t n = write(c, out + sent,
					  (sizeof(out) - sent < 100000 ? sizeof(out) - sent : 100000));
			if (n > 0)
				sent += (size_t)n;
		}
		if (p[1].revents & POLLIN) {
			ssize_t n = read(s, in + got, sizeof(in) - got);
			if (n > 0)
				got += (size_t)n;
		}
	}
	check("tcp-bulk-1mib", got == sizeof(in) && !memcmp(in, out, sizeof(in)), "bytes lost or changed");
	/* Linux keeps megabytes in flight on loopback: a blocking write of
	 * 1 MiB returns before anyone reads. */
	int fl = fcntl(c, F_GETFL);
	fcntl(c, F_SETFL, fl & ~O_NONBLOCK);
	got = 0;
	ssize_t w = write(c, out, sizeof(out));
	for (ssize_t n = 1; n > 0 && got<sizeof(in); got += n> 0 ? (size_t)n : 0)
		n = read(s, in + got, sizeof(in) - got);
	check("tcp-write-1mib-before-reading",
	      w == (ssize_t)sizeof(out) && got == sizeof(in) && !memcmp(in, out, sizeof(in)),
	      "write blocked or bytes lost");
	close(c);
	close(s);
	close(l);
}

static void tcp_options(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	check("opt-nodelay",
	      setint(s, IPPROTO_TCP, TCP_NODELAY, 5) == 0 && getint(s, IPPROTO_TCP, TCP_NODELAY) == 1,
	      "not 1");
	check("opt-keepalive",
	      getint(s, SOL_SOCKET, SO_KEEPALIVE) == 0 && setint(s, SOL_SOCKET, SO_KEEPALIVE, 1) == 0 &&
		      getint(s, SOL_SOCKET, SO_KEEPALIVE) == 1,
	      "not set");
	check("opt-keepidle",
	      setint(s, IPPROTO_TCP, TCP_KEEPIDLE, 30) == 0 && getint(s, IPPROTO_TCP, TCP_KEEPIDLE) == 30 &&
		      FAILS(setint(s, IPPROTO_TCP, TCP_KEEPIDLE, 0), EINVAL),
	      "range");
	check("opt-rcvbuf-doubled",
	      setint(s, SOL_SOCKET, SO_RCVBUF, 8192) == 0 && getint(s, SOL_SOCKET, SO_RCVBUF) == 16384,
	      "not doubled");
	check("opt-sndbuf-doubled",
	      setint(s, SOL_SOCKET, SO_SNDBUF, 65536) == 0 && getint(s, SOL_SOCKET, SO_SNDBUF) == 131072,
	      "not doubled");
	struct linger lg = {1, 5}, lg2 = {0, 0};
	socklen_t ll = sizeof(lg2);
	check("opt-linger",
	      setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0 &&
		      getsockopt(s, SOL_SOCKET, SO_LINGER, &lg2, &ll) == 0 && lg2.l_onoff == 1 &&
		      lg2.l_linger == 5,
	      "linger");
	struct timeval tv = {2, 500000}, tv2 = {0, 0};
	socklen_t tvl = sizeof(tv2);
	check("opt-rcvtimeo",
	      setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
		      getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv2, &tvl) == 0 && tv2.tv_sec == 2 &&
		      tv2.tv_usec == 500000,
	      "timeout");
	check("opt-ttl",
	      getint(s, IPPROTO_IP, IP_TTL) == 64 && setint(s, IPPROTO_IP, IP_TTL, 10) == 0 &&
		      getint(s, IPPROTO_IP, IP_TTL) == 10 && setint(s, IPPROTO_IP, IP_TTL, -1) == 0 &&
		      getint(s, IPPROTO_IP, IP_TTL) == 64,
	      "ttl");
	check("opt-short-len-einval", FAILS(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, "x", 1), EINVAL),
	      "expected EINVAL");
	check("opt-unknown-enoprotoopt", FAILS(setint(s, SOL_SOCKET, 9999, 1), ENOPROTOOPT),
	      "expected ENOPROTOOPT");
	check("opt-ipv6-level-on-inet", FAILS(setint(s, IPPROTO_IPV6, IPV6_V6ONLY, 1), ENOPROTOOPT),
	      "expected ENOPROTOOPT");
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	check("opt-tcp-level-on-udp", FAILS(setint(u, IPPROTO_TCP, TCP_NODELAY, 1), ENOPROTOOPT),
	      "expected ENOPROTOOPT");
	close(u);
	close(s);
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* SO_RCVTIMEO bounds a blocking recv and accept: EAGAIN after it. */
static void timeouts(void)
{
	int l = listener(AF_INET, "127.0.0.1", 0);
	struct timeval tv = {0, 60000};
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	long t0 = now_ms();
	check("timeo-accept-eagain", FAILS(accept(l, NULL, NULL), EAGAIN) && now_ms() - t0 >= 50,
	      "accept did not time out");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect4(c, "127.0.0.1", port_of(l));
	int s = accept(l, NULL, NULL);
	char b[4];
	t0 = now_ms();
	check("timeo-recv-inherited-eagain", FAILS(recv(s, b, 4, 0), EAGAIN) && now_ms() - t0 >= 50,
	      "recv did not time out");
	write(c, "ok", 2);
	check("timeo-recv-data", recv(s, b, 4, 0) == 2, "data after a timeout");
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = v4("127.0.0.1", 0);
	bind(u, SA(a), sizeof(a));
	setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = now_ms();
	check("timeo-udp-recv-eagain", FAILS(recv(u, b, 4, 0), EAGAIN) && now_ms() - t0 >= 50, "no timeout");
	close(u);
	close(s);
	close(c);
	close(l);
}

static void udp(void)
{
	int r = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = v4("127.0.0.1", 0);
	check("udp-bind", bind(r, SA(a), sizeof(a)) == 0 && port_of(r) > 0, "bind");
	check("udp-sockopt-kind",
	      getint(r, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM &&
		      getint(r, SOL_SOCKET, SO_PROTOCOL) == IPPROTO_UDP,
	      "type, protocol");
	int port = port_of(r);
	struct sockaddr_in to = v4("127.0.0.1", port);
	int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	char buf[64];
	check("udp-recv-empty-eagain", FAILS(recv(r, buf, 64, 0), EAGAIN), "expected EAGAIN");
	check("udp-send-unconnected-edestaddrreq", FAILS(send(s, "x", 1, 0), EDESTADDRREQ),
	      "expected EDESTADDRREQ");
	check("udp-sendto", sendto(s, "one", 3, 0, SA(to), sizeof(to)) == 3 && port_of(s) > 0,
	      "sendto (and autobind)");
	check("udp-sendto-second", sendto(s, "second", 6, 0, SA(to), sizeof(to)) == 6, "sendto");
	struct pollfd p = {r, POLLIN | POLLOUT, 0};
	check("udp-poll", poll(&p, 1, 0) == 1 && p.revents == (POLLIN | POLLOUT), "POLLIN|POLLOUT");
	int avail = -1;
	check("udp-fionread-next-datagram", ioctl(r, FIONREAD, &avail) == 0 && avail == 3, "not 3");
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	check("udp-recvfrom-source",
	      recvfrom(r, buf, 64, 0, SA(from), &fl) == 3 && !memcmp(buf, "one", 3) && fl == 16 &&
		      from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(from.sin_port) == port_of(s),
	      "data or source");
	char small[3];
	struct iovec iv = {small, 3};
	struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iv, .msg_iovlen = 1};
	check("udp-recvmsg-trunc",
	      recvmsg(r, &m, 0) == 3 && (m.msg_flags & MSG_TRUNC) && m.msg_namelen == 16 &&
		      !memcmp(small, "sec", 3),
	      "MSG_TRUNC");
	check("udp-boundaries-kept", FAILS(recv(r, buf, 64, 0), EAGAIN), "rest of the datagram left behind");

	/* Connected: send() goes there, only its datagrams come in. */
	check("udp-connect",
	      connect(s, SA(to), sizeof(to)) == 0 && name_is(s, 1, "127.0.0.1", port) &&
		      name_is(s, 0, "127.0.0.1", -1),
	      "connect, names");
	check("udp-send-connected", send(s, "c", 1, 0) == 1 && recv(r, buf, 64, 0) == 1 && buf[0] == 'c',
	      "send");
	struct sockaddr_in sname = v4("127.0.0.1", port_of(s));
	check("udp-reply",
	      sendto(r, "back", 4, 0, SA(sname), sizeof(sname)) == 4 && recv(s, buf, 64, MSG_DONTWAIT) == 4,
	      "reply to a connected socket");
	int o = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	check("udp-connected-filters-others",
	      sendto(o, "stranger", 8, 0, SA(sname), sizeof(sname)) == 8 &&
		      FAILS(recv(s, buf, 64, MSG_DONTWAIT), EAGAIN),
	      "a stranger's datagram got in");
	check("udp-write-read", write(s, "wr", 2) == 2 && read(r, buf, 64) == 2, "write/read");

	check("udp-sendto-port0-einval", FAILS(sendto(o, "x", 1, 0, SA(a), sizeof(a)), EINVAL),
	      "expected EINVAL");
	static char big[70000], back[70000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 13);
	check("udp-largest-datagram",
	      sendto(o, big, 65507, 0, SA(to), sizeof(to)) == 65507 &&
		      recv(r, back, sizeof(back), 0) == 65507 && !memcmp(big, back, 65507),
	      "65,507 bytes in one datagram");
	check("udp-too-big-emsgsize", FAILS(sendto(o, big, sizeof(big), 0, SA(to), sizeof(to)), EMSGSIZE),
	      "expected EMSGSIZE");
	check("udp-listen-eopnotsupp", FAILS(listen(o, 1), EOPNOTSUPP), "expected EOPNOTSUPP");
	check("udp-accept-eopnotsupp", FAILS(accept(o, NULL, NULL), EOPNOTSUPP), "expected EOPNOTSUPP");

	/* A connected socket hears that nobody is there: ECONNREFUSED once. */
	close(r);
	send(s, "lost", 4, 0);
	int e = getint(s, SOL_SOCKET, SO_ERROR);
	check("udp-refused-so-error", e == ECONNREFUSED && getint(s, SOL_SOCKET, SO_ERROR) == 0,
	      "expected ECONNREFUSED, then 0");
	send(s, "lost", 4, 0);
	check("udp-refused-on-next-call", FAILS(recv(s, buf, 64, MSG_DONTWAIT), ECONNREFUSED),
	      "expected ECONNREFUSED");
	struct sockaddr un = {.sa_family = AF_UNSPEC};
	check("udp-disconnect",
	      connect(s, &un, sizeof(un)) == 0 && FAILS(getpeername(s, SA(from), &(socklen_t){16}), ENOTCONN),
	      "still connected");
	close(s);

	/* Ports: UDP's own space; SO_REUSEADDR shares one. */
	int l = listener(AF_INET, "127.0.0.1", 0);
	struct sockaddr_in same = v4("127.0.0.1", port_of(l));
	int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
	check("udp-port-apart-from-tcp", bind(u1, SA(same), sizeof(same)) == 0, "TCP's port refused");
	check("udp-bind-in-use", FAILS(bind(u2, SA(same), sizeof(same)), EADDRINUSE), "expected EADDRINUSE");
	close(u2);
	u2 = socket(AF_INET, SOCK_DGRAM, 0);
	close(u1);
	u1 = socket(AF_INET, SOCK_DGRAM, 0);
	setint(u1, SOL_SOCKET, SO_REUSEADDR, 1);
	setint(u2, SOL_SOCKET, SO_REUSEADDR, 1);
	check("udp-reuseaddr-shares",
	      bind(u1, SA(same), sizeof(same)) == 0 && bind(u2, SA(same), sizeof(same)) == 0,
	      "second bind refused");
	close(u1);
	close(u2);
	close(o);
	close(l);
}

static void ipv6(void)
{
	int l = listener(AF_INET6, "::1", 0);
	check("ip6-listen", l >= 0 && getint(l, SOL_SOCKET, SO_DOMAIN) == AF_INET6, "listener on ::1");
	int port = port_of(l);
	int c = socket(AF_INET6, SOCK_STREAM, 0);
	check("ip6-connect",
	      connect6(c, "::1", port) == 0 && name_is(c, 1, "::1", port) && name_is(c, 0, "::1", -1),
	      "connect, names");
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	int s = accept(l, SA(from), &fl);
	char buf[16];
	check("ip6-accept",
	      s >= 0 && fl == 28 && from.sin6_family == AF_INET6 && ntohs(from.sin6_port) == port_of(c),
	      "peer address");
	check("ip6-data", write(c, "v6", 2) == 2 && read(s, buf, 16) == 2, "bytes");
	close(s);
	close(c);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	check("ip6-connect-any-is-loopback", connect6(c, "::", port) == 0 && name_is(c, 1, "::1", port),
	      "to ::");
	close(c);
	close(l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	check("ip6-v4-no-listener-on-v6-loopback", FAILS(connect4(c, "127.0.0.1", port), ECONNREFUSED),
	      "::1 took IPv4");
	close(c);

	/* Dual stack: [::] takes IPv4, seen as ::ffff:127.0.0.1. */
	l = listener(AF_INET6, "::", 0);
	port = port_of(l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	check("ip6-dual-stack-connect", connect4(c, "127.0.0.1", port) == 0, "IPv4 to [::]");
	fl = sizeof(from);
	s = accept(l, SA(from), &fl);
	char b[80];
	check("ip6-dual-stack-mapped-peer",
	      s >= 0 && fl == 28 && IN6_IS_ADDR_V4MAPPED(&from.sin6_addr) &&
		      name_is(s, 1, "::ffff:127.0.0.1", port_of(c)) &&
		      name_is(s, 0, "::ffff:127.0.0.1", port),
	      show(&from, b, sizeof(b)));
	close(s);
	close(c);
	int v4s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a4 = v4("0.0.0.0", port);
	check("ip6-dual-stack-holds-v4-port", FAILS(bind(v4s, SA(a4), sizeof(a4)), EADDRINUSE),
	      "expected EADDRINUSE");
	close(v4s);
	close(l);

	/* IPV6_V6ONLY: [::] alone; IPv4 may use the port. */
	l = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 any6 = v6("::", 0);
	check("ip6-v6only",
	      setint(l, IPPROTO_IPV6, IPV6_V6ONLY, 1) == 0 && getint(l, IPPROTO_IPV6, IPV6_V6ONLY) == 1 &&
		      bind(l, SA(any6), sizeof(any6)) == 0 && listen(l, 1) == 0 &&
		      FAILS(setint(l, IPPROTO_IPV6, IPV6_V6ONLY, 0), EINVAL),
	      "v6only listener");
	port = port_of(l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	check("ip6-v6only-refuses-v4", FAILS(connect4(c, "127.0.0.1", port), ECONNREFUSED),
	      "expected ECONNREFUSED");
	close(c);
	v4s = socket(AF_INET, SOCK_STREAM, 0);
	a4 = v4("127.0.0.1", port);
	check("ip6-v6only-leaves-v4-port", bind(v4s, SA(a4), sizeof(a4)) == 0, "IPv4 bind refused");
	close(v4s);
	close(l);
	struct sockaddr_in6 short6 = v6("::1", 0);
	l = socket(AF_INET6, SOCK_STREAM, 0);
	check("ip6-bind-short-einval", FAILS(bind(l, SA(short6), 20), EINVAL), "expected EINVAL");
	struct sockaddr_in a = v4("127.0.0.1", 0);
	check("ip6-bind-in-on-in6-short", FAILS(bind(l, SA(a), sizeof(a)), EINVAL), "expected EINVAL");
	struct sockaddr_in6 fake = v6("::1", 0);
	fake.sin6_family = AF_INET;
	check("ip6-bind-in-family-on-in6", FAILS(bind(l, SA(fake), sizeof(fake)), EAFNOSUPPORT),
	      "expected EAFNOSUPPORT");
	close(l);

	/* UDP over ::1, the source as a sockaddr_in6. */
	int r = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in6 lo = v6("::1", 0);
	bind(r, SA(lo), sizeof(lo));
	int u = socket(AF_INET6, SOCK_DGRAM, 0);
	lo.sin6_port = htons((uint16_t)port_of(r));
	fl = sizeof(from);
	check("ip6-udp",
	      sendto(u, "six", 3, 0, SA(lo), sizeof(lo)) == 3 &&
		      recvfrom(r, buf, 16, 0, SA(from), &fl) == 3 && fl == 28 &&
		      from.sin6_family == AF_INET6 && ntohs(from.sin6_port) == port_of(u) &&
		      IN6_IS_ADDR_LOOPBACK(&from.sin6_addr),
	      "datagram or source");
	close(u);
	close(r);
}

static void epolls(void)
{
	int l = listener(AF_INET, "127.0.0.1", SOCK_NONBLOCK);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l}, out[4];
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	check("epoll-idle", epoll_wait(ep, out, 4, 0) == 0, "ready");
	connect4(c, "127.0.0.1", port_of(l));
	check("epoll-listener-in", epoll_wait(ep, out, 4, 0) == 1 && out[0].data.fd == l, "no EPOLLIN");
	int s = accept(l, NULL, NULL);
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.fd = s;
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	check("epoll-accepted-out", epoll_wait(ep, out, 4, 0) == 1 && out[0].events == EPOLLOUT,
	      "EPOLLOUT only");
	check("epoll-et-quiet", epoll_wait(ep, out, 4, 0) == 0, "reported twice");
	write(c, "x", 1);
	check("epoll-et-data", epoll_wait(ep, out, 4, 0) == 1 && (out[0].events & EPOLLIN), "no EPOLLIN");
	close(c);
	check("epoll-peer-closed", epoll_wait(ep, out, 4, 0) == 1 && (out[0].events & EPOLLIN),
	      "close not seen");
	close(s);
	close(l);
	close(ep);
}

int main(int argc, char **argv)
{
	int carve = argc > 1 && !strcmp(argv[1], "carve");
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IONBF, 0);
	tcp_basics();
	tcp_ports(carve);
	tcp_bulk();
	tcp_options();
	udp();
	timeouts();
	ipv6();
	epolls();
	printf("inetprobe: %d failures\n", failures);
	return failures;
}
