/* Checks the event and IPC descriptors one call at a time: pipes, eventfd,
 * timerfd, epoll, poll/select over them, AF_UNIX socket pairs, and the small
 * file calls (memfd_create, flock, fallocate, utimensat, link, mkfifo, the
 * old getdents, membarrier, xattrs). Prints "ok NAME" or "FAIL NAME: why";
 * the exit status is the number of failures. It runs on the host too (the
 * expectations are Linux's); with the argument "carve" it also checks what
 * the carve kernel answers where Linux's depends on the file system (no
 * extended attributes). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/xattr.h>
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

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A call that fails with errno e. */
#define FAILS(call, e) ((call) < 0 && errno == (e))

static void pipes(void)
{
	int p[2];
	check("pipe2", pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2 failed");
	check("pipe2-cloexec", fcntl(p[0], F_GETFD) == FD_CLOEXEC && (fcntl(p[1], F_GETFL) & O_NONBLOCK),
	      "flags not set");
	char buf[8];
	check("pipe-empty-eagain", FAILS(read(p[0], buf, 8), EAGAIN), "expected EAGAIN");
	check("pipe-write-read",
	      write(p[1], "abc", 3) == 3 && read(p[0], buf, 8) == 3 && !memcmp(buf, "abc", 3),
	      "bytes differ");
	int avail = -1;
	check("pipe-fionread",
	      write(p[1], "wxyz", 4) == 4 && ioctl(p[0], FIONREAD, &avail) == 0 && avail == 4 &&
		      read(p[0], buf, 8) == 4,
	      "bytes waiting");
	struct stat st;
	check("pipe-fstat-fifo", fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode), "not S_IFIFO");
	check("pipe-lseek-espipe", FAILS(lseek(p[0], 0, SEEK_SET), ESPIPE), "expected ESPIPE");
	check("pipe-read-on-write-end", FAILS(read(p[1], buf, 1), EBADF), "expected EBADF");
	static char big[70000];
	ssize_t total = 0, n;
	while ((n = write(p[1], big, sizeof(big))) > 0)
		total += n;
	check("pipe-fills-at-64k", total == 65536 && errno == EAGAIN, "capacity differs");
	check("pipe-full-small-write-eagain", FAILS(write(p[1], "x", 1), EAGAIN), "expected EAGAIN");
	struct pollfd pf = {p[1], POLLOUT, 0};
	check("pipe-full-not-writable", poll(&pf, 1, 0) == 0, "POLLOUT on a full pipe");
	while (read(p[0], big, sizeof(big)) > 0)
		;
	close(p[1]);
	pf = (struct pollfd){p[0], POLLIN, 0};
	check("pipe-hup-after-writer-closes", poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP), "no POLLHUP");
	check("pipe-eof", read(p[0], buf, 8) == 0, "expected EOF");
	close(p[0]);
	check("pipe", pipe(p) == 0, "pipe failed");
	close(p[0]);
	check("pipe-epipe", FAILS(write(p[1], "x", 1), EPIPE), "expected EPIPE");
	pf = (struct pollfd){p[1], POLLOUT, 0};
	check("pipe-pollerr-no-reader", poll(&pf, 1, 0) == 1 && (pf.revents & POLLERR), "no POLLERR");
	close(p[1]);
	check("pipe2-bad-flags", FAILS(pipe2(p, 0x1234), EINVAL), "expected EINVAL");
}

static void eventfds(void)
{
	int e = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
	uint64_t v = 0;
	check("eventfd2", e >= 0 && fcntl(e, F_GETFD) == FD_CLOEXEC && (fcntl(e, F_GETFL) & O_NONBLOCK),
	      "flags");
	check("eventfd-read-initial", read(e, &v, 8) == 8 && v == 3, "expected 3");
	check("eventfd-empty-eagain", FAILS(read(e, &v, 8), EAGAIN), "expected EAGAIN");
	v = 5;
	write(e, &v, 8);
	v = 2;
	write(e, &v, 8);
	check("eventfd-sum", read(e, &v, 8) == 8 && v == 7, "expected 7");
	check("eventfd-short-read-einval", FAILS(read(e, &v, 4), EINVAL), "expected EINVAL");
	v = UINT64_MAX;
	check("eventfd-write-max-einval", FAILS(write(e, &v, 8), EINVAL), "expected EINVAL");
	v = UINT64_MAX - 1;
	check("eventfd-write-to-limit", write(e, &v, 8) == 8, "write failed");
	v = 1;
	check("eventfd-overflow-eagain", FAILS(write(e, &v, 8), EAGAIN), "expected EAGAIN");
	struct pollfd pf = {e, POLLIN | POLLOUT, 0};
	check("eventfd-poll-full", poll(&pf, 1, 0) == 1 && pf.revents == POLLIN, "expected POLLIN only");
	check("eventfd-lseek-noop", lseek(e, 0, SEEK_SET) == 0, "Linux's noop_llseek answers 0");
	close(e);
	e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	uint64_t a = 0, b = 0;
	check("eventfd-semaphore",
	      read(e, &a, 8) == 8 && read(e, &b, 8) == 8 && a == 1 && b == 1 && FAILS(read(e, &v, 8), EAGAIN),
	      "expected 1, 1, EAGAIN");
	close(e);
	check("eventfd2-bad-flags", FAILS(syscall(SYS_eventfd2, 0, 0x10), EINVAL), "expected EINVAL");
	e = eventfd(0, 0);
	pf = (struct pollfd){e, POLLIN, 0};
	long t0 = now_ms();
	int r = poll(&pf, 1, 60);
	long dt = now_ms() - t0;
	check("poll-timeout-sleeps", r == 0 && dt >= 55 && dt < 1000, "timeout not honoured");
	v = 1;
	write(e, &v, 8);
	check("eventfd-blocking-read", read(e, &v, 8) == 8 && v == 1, "blocking read");
	close(e);
}

static void timerfds(void)
{
	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	uint64_t n = 0;
	check("timerfd-create", t >= 0 && fcntl(t, F_GETFD) == FD_CLOEXEC, "create failed");
	check("timerfd-unarmed-eagain", FAILS(read(t, &n, 8), EAGAIN), "expected EAGAIN");
	struct itimerspec its = {{0, 0}, {0, 40 * 1000000}}, cur;
	check("timerfd-settime", timerfd_settime(t, 0, &its, NULL) == 0, "settime");
	check("timerfd-gettime",
	      timerfd_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
		      cur.it_value.tv_nsec <= 40 * 1000000 && cur.it_interval.tv_nsec == 0,
	      "remaining time");
	fcntl(t, F_SETFL, 0);
	long t0 = now_ms();
	ssize_t r = read(t, &n, 8);
	long dt = now_ms() - t0;
	check("timerfd-blocking-read-one-shot", r == 8 && n == 1 && dt >= 30 && dt < 1000, "expiry time");
	check("timerfd-disarmed-after-one-shot",
	      timerfd_gettime(t, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0,
	      "still armed");
	its = (struct itimerspec){{0, 10 * 1000000}, {0, 10 * 1000000}};
	long armed = now_ms();
	timerfd_settime(t, 0, &its, NULL);
	struct timespec nap = {0, 55 * 1000000};
	nanosleep(&nap, NULL);
	r = read(t, &n, 8);
	/* At least the 5 whole periods of the nap (one of slack), at most one
	 * per 10 ms that really passed: a host that oversleeps the nap (the
	 * bed under load) counts more, and that is right. */
	long passed = now_ms() - armed;
	check("timerfd-interval-counts", r == 8 && n >= 4 && n <= (uint64_t)(passed / 10 + 1),
	      "expirations not counted");
	its = (struct itimerspec){{0, 0}, {0, 0}};
	timerfd_settime(t, 0, &its, NULL);
	fcntl(t, F_SETFL, O_NONBLOCK);
	check("timerfd-disarm", FAILS(read(t, &n, 8), EAGAIN), "still fires");
	close(t);

	t = timerfd_create(CLOCK_REALTIME, 0);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec += 30 * 1000000;
	if (now.tv_nsec >= 1000000000) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000;
	}
	its = (struct itimerspec){{0, 0}, now};
	check("timerfd-abstime", timerfd_settime(t, TFD_TIMER_ABSTIME, &its, NULL) == 0, "settime");
	struct pollfd pf = {t, POLLIN, 0};
	t0 = now_ms();
	int pr = poll(&pf, 1, 2000);
	dt = now_ms() - t0;
	/* Not before the absolute time (measured on the same clock: a loaded
	 * host may delay us past it before poll even starts), not much after. */
	struct timespec woke;
	clock_gettime(CLOCK_REALTIME, &woke);
	bool not_early = woke.tv_sec > now.tv_sec ||
		(woke.tv_sec == now.tv_sec && woke.tv_nsec >= now.tv_nsec);
	check("timerfd-abstime-poll-wakes", pr == 1 && pf.revents == POLLIN && not_early && dt < 1000,
	      "wake time");
	check("timerfd-short-read-einval", FAILS(read(t, &n, 4), EINVAL), "expected EINVAL");
	check("timerfd-write-einval", FAILS(write(t, &n, 8), EINVAL), "expected EINVAL");
	its.it_value.tv_nsec = 1000000000;
	check("timerfd-bad-nsec", FAILS(timerfd_settime(t, 0, &its, NULL), EINVAL), "expected EINVAL");
	its.it_value.tv_nsec = 0;
	check("timerfd-bad-flags", FAILS(timerfd_settime(t, 0x100, &its, NULL), EINVAL), "expected EINVAL");
	close(t);
	check("timerfd-bad-clock", FAILS(timerfd_create(12345, 0), EINVAL), "expected EINVAL");
	check("timerfd-bad-create-flags", FAILS(timerfd_create(CLOCK_MONOTONIC, 0x1), EINVAL),
	      "expected EINVAL");
	int e = eventfd(0, 0);
	check("timerfd-settime-not-timer", FAILS(timerfd_settime(e, 0, &its, NULL), EINVAL),
	      "expected EINVAL");
	close(e);
	check("timerfd-gettime-ebadf", FAILS(timerfd_gettime(999, &cur), EBADF), "expected EBADF");
}

static int wait1(int ep, int timeout, struct epoll_event *ev) { return epoll_wait(ep, ev, 1, timeout); }

static void epolls(void)
{
	check("epoll-create1-bad-flags", FAILS(epoll_create1(0x1234), EINVAL), "expected EINVAL");
	check("epoll-create-size-0", FAILS(syscall(SYS_epoll_create, 0), EINVAL), "expected EINVAL");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	check("epoll-create1", ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC, "create");
	int p[2];
	pipe(p);
	int e = eventfd(0, EFD_NONBLOCK);
	struct epoll_event ev = {EPOLLIN, {.u64 = 11}}, out[4];
	check("epoll-ctl-add", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0, "add");
	check("epoll-ctl-add-twice-eexist", FAILS(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST), "EEXIST");
	check("epoll-ctl-mod-missing-enoent", FAILS(epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev), ENOENT), "ENOENT");
	check("epoll-ctl-del-missing-enoent", FAILS(epoll_ctl(ep, EPOLL_CTL_DEL, e, &ev), ENOENT), "ENOENT");
	check("epoll-ctl-self-einval", FAILS(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL), "EINVAL");
	check("epoll-ctl-bad-fd", FAILS(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF), "EBADF");
	check("epoll-ctl-not-epoll", FAILS(epoll_ctl(e, EPOLL_CTL_ADD, p[0], &ev), EINVAL), "EINVAL");
	check("epoll-ctl-bad-op", FAILS(epoll_ctl(ep, 99, e, &ev), EINVAL), "EINVAL");
	int reg = open("/tmp/evprobe-reg", O_CREAT | O_RDWR | O_TRUNC, 0644);
	check("epoll-ctl-regular-file-eperm", FAILS(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev), EPERM), "EPERM");
	check("epoll-wait-maxevents-0", FAILS(epoll_wait(ep, out, 0, 0), EINVAL), "EINVAL");
	check("epoll-wait-not-epoll", FAILS(epoll_wait(e, out, 1, 0), EINVAL), "EINVAL");
	long t0 = now_ms();
	int n = epoll_wait(ep, out, 4, 50);
	long dt = now_ms() - t0;
	check("epoll-wait-timeout", n == 0 && dt >= 45 && dt < 1000, "timeout not honoured");
	write(p[1], "x", 1);
	n = epoll_wait(ep, out, 4, 1000);
	check("epoll-wait-pipe", n == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 11, "pipe event");
	check("epoll-level-triggered-again", wait1(ep, 0, out) == 1, "LT item not reported again");
	char c;
	read(p[0], &c, 1);
	check("epoll-drained-quiet", wait1(ep, 0, out) == 0, "reported after drain");

	ev = (struct epoll_event){EPOLLIN | EPOLLET, {.u64 = 22}};
	epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
	uint64_t one = 1;
	write(e, &one, 8);
	n = wait1(ep, 0, out);
	check("epoll-et-reports-edge", n == 1 && out[0].data.u64 == 22, "ET not reported");
	check("epoll-et-once-per-edge", wait1(ep, 0, out) == 0, "ET reported twice");
	write(e, &one, 8);
	check("epoll-et-new-edge-while-ready", wait1(ep, 0, out) == 1 && out[0].data.u64 == 22,
	      "a new write is a new edge");
	uint64_t v;
	read(e, &v, 8);

	ev = (struct epoll_event){EPOLLIN | EPOLLONESHOT, {.u64 = 33}};
	check("epoll-ctl-mod", epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev) == 0, "mod");
	write(e, &one, 8);
	check("epoll-oneshot-first", wait1(ep, 0, out) == 1 && out[0].data.u64 == 33, "oneshot not reported");
	check("epoll-oneshot-silent", wait1(ep, 0, out) == 0, "oneshot reported twice");
	epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev);
	check("epoll-oneshot-rearmed-by-mod", wait1(ep, 0, out) == 1, "not rearmed");
	check("epoll-ctl-del", epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL) == 0 && wait1(ep, 0, out) == 0, "del");

	int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = {{0, 0}, {0, 30 * 1000000}};
	timerfd_settime(t, 0, &its, NULL);
	ev = (struct epoll_event){EPOLLIN, {.u64 = 44}};
	epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
	t0 = now_ms();
	n = epoll_wait(ep, out, 4, 2000);
	dt = now_ms() - t0;
	check("epoll-wait-timerfd", n == 1 && out[0].data.u64 == 44 && dt >= 20 && dt < 1000, "timer wake");
	read(t, &v, 8);
	sigset_t ss;
	sigemptyset(&ss);
	check("epoll-pwait", epoll_pwait(ep, out, 4, 10, &ss) == 0, "pwait");

	int ep2 = epoll_create1(0);
	ev = (struct epoll_event){EPOLLIN, {.u64 = 55}};
	check("epoll-nested-add", epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &ev) == 0, "nested add");
	check("epoll-nested-loop-eloop", FAILS(epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev), ELOOP),
	      "expected ELOOP");
	check("epoll-nested-quiet", wait1(ep2, 0, out) == 0, "inner set not ready");
	write(p[1], "y", 1);
	check("epoll-nested-ready", wait1(ep2, 0, out) == 1 && out[0].data.u64 == 55, "inner set ready");
	read(p[0], &c, 1);

	int d = dup(p[0]);
	close(p[0]);
	write(p[1], "z", 1);
	check("epoll-item-lives-while-file-open", wait1(ep, 0, out) == 1 && out[0].data.u64 == 11,
	      "item gone with one descriptor");
	close(d);
	check("epoll-item-gone-with-file", wait1(ep, 0, out) == 0, "closed file still reported");
	close(p[1]);
	close(t);
	close(e);
	close(reg);
	close(ep2);
	close(ep);
}

static void sockets(void)
{
	int sv[2];
	char buf[64];
	check("socketpair-stream", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	struct stat st;
	check("socket-fstat", fstat(sv[0], &st) == 0 && S_ISSOCK(st.st_mode), "not S_IFSOCK");
	check("stream-write-read", write(sv[0], "hello", 5) == 5 && read(sv[1], buf, 64) == 5, "bytes");
	check("stream-other-way", send(sv[1], "abc", 3, 0) == 3 && recv(sv[0], buf, 64, 0) == 3, "bytes");
	send(sv[0], "12345", 5, 0);
	int avail = -1;
	check("stream-fionread", ioctl(sv[1], FIONREAD, &avail) == 0 && avail == 5, "bytes waiting");
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	check("so-peercred",
	      getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cl == sizeof(cred) &&
		      cred.pid == getpid() && cred.uid == getuid() && cred.gid == getgid(),
	      "credentials");
	check("stream-peek",
	      recv(sv[1], buf, 64, MSG_PEEK) == 5 && recv(sv[1], buf, 2, 0) == 2 &&
		      recv(sv[1], buf, 64, 0) == 3 && !memcmp(buf, "345", 3),
	      "peek then read");
	check("stream-dontwait-eagain", FAILS(recv(sv[1], buf, 64, MSG_DONTWAIT), EAGAIN), "expected EAGAIN");
	struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	check("stream-sendmsg", sendmsg(sv[0], &mh, 0) == 5, "sendmsg");
	char x[2], y[8];
	struct iovec riov[2] = {{x, 2}, {y, 8}};
	struct msghdr rh = {.msg_iov = riov, .msg_iovlen = 2};
	check("stream-recvmsg", recvmsg(sv[1], &rh, 0) == 5 && !memcmp(x, "ab", 2) && !memcmp(y, "cde", 3),
	      "recvmsg scatter");
	int type = 0;
	socklen_t tl = sizeof(type);
	check("getsockopt-so-type",
	      getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM, "SO_TYPE");
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	check("getsockname-unnamed",
	      getsockname(sv[0], (struct sockaddr *)&sa, &sl) == 0 && sl == 2 && sa.ss_family == AF_UNIX,
	      "name");
	check("stream-shutdown-wr", shutdown(sv[0], SHUT_WR) == 0 && read(sv[1], buf, 64) == 0,
	      "EOF after SHUT_WR");
	check("stream-send-after-shutdown-epipe", FAILS(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE), "EPIPE");
	struct pollfd pf = {sv[1], POLLIN | POLLRDHUP, 0};
	check("stream-poll-rdhup", poll(&pf, 1, 0) == 1 && (pf.revents & POLLRDHUP), "no POLLRDHUP");
	close(sv[0]);
	pf = (struct pollfd){sv[1], POLLIN, 0};
	check("stream-peer-closed-hup", poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP), "no POLLHUP");
	check("stream-write-peer-closed-epipe", FAILS(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE), "EPIPE");
	close(sv[1]);

	check("socketpair-dgram", socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) == 0, "socketpair");
	send(sv[0], "ab", 2, 0);
	send(sv[0], "cde", 3, 0);
	check("dgram-fionread-next-length", ioctl(sv[1], FIONREAD, &avail) == 0 && avail == 2,
	      "next datagram");
	check("dgram-boundaries", recv(sv[1], buf, 64, 0) == 2 && recv(sv[1], buf, 64, 0) == 3, "boundaries");
	send(sv[0], "long message", 12, 0);
	char small[4];
	struct iovec siov = {small, 4};
	rh = (struct msghdr){.msg_iov = &siov, .msg_iovlen = 1};
	check("dgram-truncated", recvmsg(sv[1], &rh, 0) == 4 && (rh.msg_flags & MSG_TRUNC), "MSG_TRUNC");
	check("dgram-rest-discarded", FAILS(recv(sv[1], buf, 64, 0), EAGAIN), "rest of message kept");
	send(sv[0], "xyz", 3, 0);
	check("dgram-msg-trunc-flag-real-length", recv(sv[1], small, 1, MSG_TRUNC) == 3, "real length");
	close(sv[1]);
	check("dgram-peer-closed-econnrefused", FAILS(send(sv[0], "x", 1, 0), ECONNREFUSED), "ECONNREFUSED");
	close(sv[0]);

	check("socketpair-seqpacket", socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair");
	send(sv[0], "one", 3, 0);
	send(sv[0], "three", 5, 0);
	check("seqpacket-boundaries", recv(sv[1], buf, 64, 0) == 3 && recv(sv[1], buf, 64, 0) == 5,
	      "boundaries");
	close(sv[0]);
	check("seqpacket-eof-after-close", recv(sv[1], buf, 64, 0) == 0, "expected EOF");
	close(sv[1]);
	check("socketpair-bad-type",
	      FAILS(socketpair(AF_UNIX, 7, 0, sv), EPROTONOSUPPORT) || errno == ESOCKTNOSUPPORT,
	      "bad type accepted");
}

static socklen_t un_addr(struct sockaddr_un *a, const char *path, int abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path + (abstract ? 1 : 0), path);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (abstract ? 1 : 0) + strlen(path) +
			   (abstract ? 0 : 1));
}

static void named_sockets(void)
{
	struct sockaddr_un a, got;
	socklen_t al = un_addr(&a, "/tmp/evprobe.sock", 0), gl;
	char buf[64];
	unlink(a.sun_path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	check("unix-socket", l >= 0, "socket");
	check("unix-listen-unbound-einval", FAILS(listen(l, 4), EINVAL), "EINVAL");
	struct stat st;
	check("unix-bind-path",
	      bind(l, (struct sockaddr *)&a, al) == 0 && stat(a.sun_path, &st) == 0 && S_ISSOCK(st.st_mode),
	      "no socket file");
	int other = socket(AF_UNIX, SOCK_STREAM, 0);
	check("unix-bind-in-use", FAILS(bind(other, (struct sockaddr *)&a, al), EADDRINUSE), "EADDRINUSE");
	check("unix-connect-not-listening", FAILS(connect(other, (struct sockaddr *)&a, al), ECONNREFUSED),
	      "ECONNREFUSED");
	check("unix-listen", listen(l, 4) == 0, "listen");
	gl = sizeof(got);
	check("unix-getsockname-path",
	      getsockname(l, (struct sockaddr *)&got, &gl) == 0 && gl == al &&
		      !strcmp(got.sun_path, "/tmp/evprobe.sock"),
	      "name");
	fcntl(l, F_SETFL, O_NONBLOCK);
	check("unix-accept-empty-eagain", FAILS(accept(l, NULL, NULL), EAGAIN), "EAGAIN");
	struct pollfd pf = {l, POLLIN, 0};
	check("unix-listener-quiet", poll(&pf, 1, 0) == 0, "readable with no connection");
	check("unix-connect", connect(other, (struct sockaddr *)&a, al) == 0, "connect");
	check("unix-listener-readable", poll(&pf, 1, 0) == 1 && pf.revents == POLLIN, "no POLLIN");
	check("unix-connect-twice-eisconn", FAILS(connect(other, (struct sockaddr *)&a, al), EISCONN),
	      "EISCONN");
	gl = sizeof(got);
	int s = accept4(l, (struct sockaddr *)&got, &gl, SOCK_CLOEXEC);
	check("unix-accept", s >= 0 && gl == sizeof(sa_family_t) && fcntl(s, F_GETFD) == FD_CLOEXEC,
	      "accept or peer address");
	check("unix-accepted-talks",
	      write(other, "ping", 4) == 4 && read(s, buf, 64) == 4 && write(s, "pong", 4) == 4 &&
		      read(other, buf, 64) == 4 && !memcmp(buf, "pong", 4),
	      "bytes");
	gl = sizeof(got);
	check("unix-getpeername-of-client",
	      getpeername(other, (struct sockaddr *)&got, &gl) == 0 && gl == al &&
		      !strcmp(got.sun_path, "/tmp/evprobe.sock"),
	      "peer name");
	check("unix-sendto-connected-eisconn",
	      FAILS(sendto(other, "x", 1, 0, (struct sockaddr *)&a, al), EISCONN), "EISCONN");
	close(s);
	close(other);
	int fresh = socket(AF_UNIX, SOCK_STREAM, 0);
	check("unix-send-unconnected-enotconn", FAILS(send(fresh, "x", 1, MSG_NOSIGNAL), ENOTCONN),
	      "ENOTCONN");
	check("unix-read-unconnected-einval", FAILS(read(fresh, buf, 1), EINVAL), "EINVAL");
	struct sockaddr_un m;
	socklen_t ml = un_addr(&m, "/tmp/evprobe-missing", 0);
	check("unix-connect-missing-enoent", FAILS(connect(fresh, (struct sockaddr *)&m, ml), ENOENT),
	      "ENOENT");
	int reg = open("/tmp/evprobe-notsock", O_CREAT | O_RDWR, 0644);
	close(reg);
	ml = un_addr(&m, "/tmp/evprobe-notsock", 0);
	check("unix-connect-not-socket", FAILS(connect(fresh, (struct sockaddr *)&m, ml), ECONNREFUSED),
	      "ECONNREFUSED");
	unlink("/tmp/evprobe-notsock");
	int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
	check("unix-connect-wrong-type", FAILS(connect(dg, (struct sockaddr *)&a, al), EPROTOTYPE),
	      "EPROTOTYPE");
	close(dg);
	close(fresh);
	close(l);
	unlink(a.sun_path);

	struct sockaddr_un ab;
	socklen_t abl = un_addr(&ab, "evprobe-abstract", 1);
	l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	check("unix-abstract-bind-listen", bind(l, (struct sockaddr *)&ab, abl) == 0 && listen(l, 1) == 0,
	      "bind");
	check("unix-abstract-connect", connect(c, (struct sockaddr *)&ab, abl) == 0, "connect");
	s = accept(l, NULL, NULL);
	check("unix-seqpacket-accepted",
	      s >= 0 && send(c, "one", 3, 0) == 3 && send(c, "two!", 4, 0) == 4 && recv(s, buf, 64, 0) == 3 &&
		      recv(s, buf, 64, 0) == 4,
	      "boundaries");
	close(s);
	close(c);
	close(l);

	int au = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un fam = {.sun_family = AF_UNIX};
	gl = sizeof(got);
	check("unix-autobind",
	      bind(au, (struct sockaddr *)&fam, sizeof(sa_family_t)) == 0 &&
		      getsockname(au, (struct sockaddr *)&got, &gl) == 0 && gl == 8 && got.sun_path[0] == 0,
	      "abstract five-digit name");

	struct sockaddr_un sa2, ca;
	socklen_t sl2 = un_addr(&sa2, "/tmp/evprobe.dgram", 0), cl = un_addr(&ca, "/tmp/evprobe.dgram2", 0);
	unlink(sa2.sun_path);
	unlink(ca.sun_path);
	int srv = socket(AF_UNIX, SOCK_DGRAM, 0), cli = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(srv, (struct sockaddr *)&sa2, sl2);
	check("unix-dgram-send-unconnected-enotconn", FAILS(send(cli, "x", 1, 0), ENOTCONN), "ENOTCONN");
	check("unix-dgram-sendto-path", sendto(cli, "hi", 2, 0, (struct sockaddr *)&sa2, sl2) == 2, "sendto");
	gl = sizeof(got);
	check("unix-dgram-recvfrom-unnamed",
	      recvfrom(srv, buf, 64, 0, (struct sockaddr *)&got, &gl) == 2 && gl == 0, "sender address");
	bind(cli, (struct sockaddr *)&ca, cl);
	connect(cli, (struct sockaddr *)&sa2, sl2);
	gl = sizeof(got);
	check("unix-dgram-connected-named-sender",
	      send(cli, "abc", 3, 0) == 3 && recvfrom(srv, buf, 64, 0, (struct sockaddr *)&got, &gl) == 3 &&
		      gl == cl && !strcmp(got.sun_path, "/tmp/evprobe.dgram2"),
	      "sender address");
	close(srv);
	check("unix-dgram-destination-closed", FAILS(send(cli, "x", 1, 0), ECONNREFUSED), "ECONNREFUSED");
	close(cli);
	close(au);
	unlink(sa2.sun_path);
	unlink(ca.sun_path);
}

static void selects(void)
{
	int p[2], e = eventfd(0, 0);
	pipe(p);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	FD_SET(e, &rs);
	struct timeval tv = {0, 50000};
	long t0 = now_ms();
	int n = select((p[0] > e ? p[0] : e) + 1, &rs, NULL, NULL, &tv);
	long dt = now_ms() - t0;
	check("select-timeout", n == 0 && dt >= 45 && dt < 1000, "timeout");
	uint64_t one = 1;
	write(e, &one, 8);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	FD_SET(e, &rs);
	n = select((p[0] > e ? p[0] : e) + 1, &rs, NULL, NULL, NULL);
	check("select-eventfd", n == 1 && FD_ISSET(e, &rs) && !FD_ISSET(p[0], &rs), "readiness");
	fd_set ws;
	FD_ZERO(&ws);
	FD_SET(p[1], &ws);
	check("select-pipe-writable", select(p[1] + 1, NULL, &ws, NULL, NULL) == 1 && FD_ISSET(p[1], &ws),
	      "writable");
	struct pollfd pf[2] = {{p[0], POLLIN, 0}, {e, POLLIN, 0}};
	struct timespec ts = {0, 20 * 1000000};
	check("ppoll-eventfd", ppoll(pf, 2, &ts, NULL) == 1 && pf[1].revents == POLLIN && !pf[0].revents,
	      "readiness");
	close(p[0]);
	close(p[1]);
	close(e);
}

static void small_calls(int carve)
{
	char buf[4096];
	int m = memfd_create("probe", MFD_CLOEXEC);
	check("memfd-create", m >= 0 && fcntl(m, F_GETFD) == FD_CLOEXEC, "create");
	struct stat st;
	check("memfd-write-fstat",
	      write(m, "memfd!", 6) == 6 && fstat(m, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 6,
	      "size");
	check("memfd-ftruncate", ftruncate(m, 8192) == 0 && fstat(m, &st) == 0 && st.st_size == 8192,
	      "truncate");
	char *map = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, m, 0);
	check("memfd-mmap", map != MAP_FAILED && !memcmp(map, "memfd!", 6) && map[8191] == 0, "mapping");
	check("fallocate-grows", fallocate(m, 0, 0, 16384) == 0 && fstat(m, &st) == 0 && st.st_size == 16384,
	      "size");
	check("fallocate-keep-size",
	      fallocate(m, FALLOC_FL_KEEP_SIZE, 0, 65536) == 0 && fstat(m, &st) == 0 && st.st_size == 16384,
	      "size changed");
	check("fallocate-punch-hole",
	      fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 3) == 0 &&
		      pread(m, buf, 6, 0) == 6 && !memcmp(buf, "\0\0\0fd!", 6),
	      "hole not zero");
	check("fallocate-len-0-einval", FAILS(fallocate(m, 0, 0, 0), EINVAL), "EINVAL");
	close(m);
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	check("memfd-long-name-einval", FAILS(memfd_create(longname, 0), EINVAL), "EINVAL");
	check("memfd-bad-flags-einval", FAILS(memfd_create("x", 0x100), EINVAL), "EINVAL");
	int p[2];
	pipe(p);
	check("fallocate-pipe-espipe", FAILS(fallocate(p[1], 0, 0, 10), ESPIPE), "ESPIPE");
	close(p[0]);
	close(p[1]);

	int f1 = open("/tmp/evprobe-lock", O_CREAT | O_RDWR, 0644), f2 = open("/tmp/evprobe-lock", O_RDONLY);
	check("fallocate-read-only-ebadf", FAILS(fallocate(f2, 0, 0, 10), EBADF), "EBADF");
	check("flock-ex", flock(f1, LOCK_EX) == 0, "LOCK_EX");
	check("flock-conflict-ewouldblock", FAILS(flock(f2, LOCK_SH | LOCK_NB), EWOULDBLOCK), "EWOULDBLOCK");
	int d = dup(f1);
	check("flock-dup-shares", flock(d, LOCK_EX | LOCK_NB) == 0, "dup conflicts with itself");
	check("flock-unlock-then-shared",
	      flock(f1, LOCK_UN) == 0 && flock(f2, LOCK_SH | LOCK_NB) == 0 &&
		      flock(f1, LOCK_SH | LOCK_NB) == 0,
	      "shared locks");
	check("flock-ex-vs-shared", FAILS(flock(f1, LOCK_EX | LOCK_NB), EWOULDBLOCK), "EWOULDBLOCK");
	close(f2);
	check("flock-released-on-close", flock(f1, LOCK_EX | LOCK_NB) == 0, "lock kept after close");
	check("flock-bad-op-einval", FAILS(flock(f1, 0), EINVAL), "EINVAL");
	check("flock-ebadf", FAILS(flock(999, LOCK_SH), EBADF), "EBADF");
	close(d);

	struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
	check("utimensat",
	      utimensat(AT_FDCWD, "/tmp/evprobe-lock", times, 0) == 0 &&
		      stat("/tmp/evprobe-lock", &st) == 0 && st.st_mtime == 1000000000,
	      "mtime");
	times[1].tv_sec = 1200000000;
	check("futimens", futimens(f1, times) == 0 && fstat(f1, &st) == 0 && st.st_mtime == 1200000000,
	      "mtime");
	times[1].tv_nsec = 1000000000;
	check("utimensat-bad-nsec", FAILS(futimens(f1, times), EINVAL), "EINVAL");
	check("utimensat-missing", FAILS(utimensat(AT_FDCWD, "/tmp/nope", NULL, 0), ENOENT), "ENOENT");
	close(f1);

	check("link-missing-enoent", FAILS(link("/tmp/nope", "/tmp/nope2"), ENOENT), "ENOENT");
	check("link-exists-eexist", FAILS(link("/tmp/evprobe-lock", "/tmp/evprobe-reg"), EEXIST), "EEXIST");
	int lr = link("/tmp/evprobe-lock", "/tmp/evprobe-link");
	struct stat st2;
	check("link",
	      lr == 0 && stat("/tmp/evprobe-link", &st) == 0 && st.st_nlink == 2 &&
		      stat("/tmp/evprobe-lock", &st2) == 0 && st2.st_ino == st.st_ino,
	      "link");
	int lw = open("/tmp/evprobe-link", O_WRONLY | O_APPEND);
	check("link-shares-contents",
	      lw >= 0 && write(lw, "L", 1) == 1 && stat("/tmp/evprobe-lock", &st2) == 0 &&
		      st2.st_size == st.st_size + 1,
	      "a write through one name not seen through the other");
	close(lw);
	unlink("/tmp/evprobe-link");
	check("unlink-link-nlink", stat("/tmp/evprobe-lock", &st2) == 0 && st2.st_nlink == 1, "nlink");

	unlink("/tmp/evprobe-fifo");
	check("mkfifo",
	      mkfifo("/tmp/evprobe-fifo", 0600) == 0 && stat("/tmp/evprobe-fifo", &st) == 0 &&
		      S_ISFIFO(st.st_mode),
	      "not a FIFO");
	check("fifo-writer-no-reader-enxio", FAILS(open("/tmp/evprobe-fifo", O_WRONLY | O_NONBLOCK), ENXIO),
	      "ENXIO");
	int r = open("/tmp/evprobe-fifo", O_RDONLY | O_NONBLOCK);
	int w = open("/tmp/evprobe-fifo", O_WRONLY | O_NONBLOCK);
	check("fifo-through",
	      r >= 0 && w >= 0 && write(w, "fifo", 4) == 4 && read(r, buf, 16) == 4 &&
		      !memcmp(buf, "fifo", 4),
	      "bytes");
	close(w);
	check("fifo-eof", read(r, buf, 16) == 0, "EOF");
	close(r);
	unlink("/tmp/evprobe-fifo2");
	check("mknodat-fifo",
	      mknodat(AT_FDCWD, "/tmp/evprobe-fifo2", S_IFIFO | 0600, 0) == 0 &&
		      stat("/tmp/evprobe-fifo2", &st) == 0 && S_ISFIFO(st.st_mode),
	      "mknodat");
	check("mknod-exists-eexist", FAILS(mkfifo("/tmp/evprobe-fifo2", 0600), EEXIST), "EEXIST");

	int dfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	long n, calls = 0;
	int found = 0;
	while ((n = syscall(SYS_getdents, dfd, buf, sizeof(buf))) > 0) {
		calls++;
		for (long at = 0; at < n;) {
			unsigned short reclen;
			memcpy(&reclen, buf + at + 16, 2);
			if (!strcmp(buf + at + 18, "evprobe-fifo2") && buf[at + reclen - 1] == DT_FIFO)
				found = 1;
			at += reclen;
		}
	}
	check("getdents-old", n == 0 && calls > 0 && found, "entry or its type missing");
	check("getdents-not-dir", FAILS(syscall(SYS_getdents, 1, buf, sizeof(buf)), ENOTDIR), "ENOTDIR");
	close(dfd);
	unlink("/tmp/evprobe-fifo");
	unlink("/tmp/evprobe-fifo2");

	long q = syscall(SYS_membarrier, 0, 0, 0);
	check("membarrier-query", q > 0 && (q & 1) && (q & 8) && (q & 16), "commands missing");
	check("membarrier-private-unregistered-eperm", FAILS(syscall(SYS_membarrier, 8, 0, 0), EPERM),
	      "EPERM");
	check("membarrier-register-then-private",
	      syscall(SYS_membarrier, 16, 0, 0) == 0 && syscall(SYS_membarrier, 8, 0, 0) == 0, "private");
	check("membarrier-global", syscall(SYS_membarrier, 1, 0, 0) == 0, "global");
	check("membarrier-bad-flags", FAILS(syscall(SYS_membarrier, 0, 1, 0), EINVAL), "EINVAL");
	check("membarrier-bad-cmd", FAILS(syscall(SYS_membarrier, 12345, 0, 0), EINVAL), "EINVAL");

	check("lgetxattr-missing-enoent", FAILS(lgetxattr("/tmp/nope", "user.x", buf, 16), ENOENT), "ENOENT");
	ssize_t g = lgetxattr("/tmp/evprobe-lock", "user.x", buf, 16);
	check("lgetxattr-none", g < 0 && (errno == ENOTSUP || errno == ENODATA), "an attribute read");
	ssize_t l = listxattr("/tmp/evprobe-lock", buf, sizeof(buf));
	if (carve) {
		check("getxattr-enotsup", FAILS(getxattr("/tmp/evprobe-lock", "user.x", buf, 16), ENOTSUP),
		      "expected ENOTSUP");
		check("listxattr-empty", l == 0, "not empty");
		check("setxattr-enotsup", FAILS(setxattr("/tmp/evprobe-lock", "user.x", "v", 1, 0), ENOTSUP),
		      "expected ENOTSUP");
	} else {
		check("listxattr", l >= 0, "listxattr failed");
	}
	unlink("/tmp/evprobe-lock");
	unlink("/tmp/evprobe-reg");
}

int main(int argc, char **argv)
{
	int carve = argc > 1 && !strcmp(argv[1], "carve");
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IONBF, 0);
	pipes();
	eventfds();
	timerfds();
	epolls();
	sockets();
	named_sockets();
	selects();
	small_calls(carve);
	printf("evprobe: %d failures\n", failures);
	return failures;
}
