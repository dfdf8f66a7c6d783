/* Credentials on AF_UNIX sockets in the carve kernel, checked from the
 * inside against what Linux does (the same program passes on a Linux host
 * run as root): SO_PEERCRED after socketpair (of every kind, made in a
 * thread too: the process's pid), listen, connect and accept, and on a
 * socket with no peer; SO_PASSCRED (kept per socket, inherited by accepted
 * sockets); SCM_CREDENTIALS with every message to a socket that asks, the
 * sender's own (a child's, a thread's process) or what it claimed (root:
 * any pid that exists, any ids; ESRCH, EINVAL), none (pid 0, the overflow
 * ids) for data sent before anyone asked, except on a connection not yet
 * accepted; a stream read never joins data of different senders; a
 * control buffer too small for the credentials and SCM_RIGHTS together
 * (MSG_CTRUNC, what fits); an unbound sender that asks gets a name.
 * Prints "ok ..." or "FAIL ..." per check; exits 1 if anything failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define NO_CTL ((size_t)-1) /* recvmsg with msg_control NULL */

static char what[300];
#define CHECK(ok, ...)                                     \
	do {                                               \
		snprintf(what, sizeof(what), __VA_ARGS__); \
		check(ok, what);                           \
	} while (0)

static int wait_ok(pid_t p)
{
	int st = 0;
	return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* What one recvmsg gave. */
struct got {
	ssize_t n;
	int flags;
	size_t controllen;
	int ncred, nrights; /* control messages of each kind */
	size_t cred_len;    /* the SCM_CREDENTIALS message's cmsg_len */
	struct ucred cred;
	int fd; /* the first descriptor received, or -1 */
	char text[64];
};

static struct got rmsg(int s, size_t room, int rflags)
{
	struct got g;
	memset(&g, 0, sizeof(g));
	g.fd = -1;
	g.cred.pid = -1;
	union {
		char b[512];
		struct cmsghdr align;
	} cb;
	memset(cb.b, 0x55, sizeof(cb.b));
	struct iovec iov = {g.text, sizeof(g.text) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = room == NO_CTL ? NULL : cb.b,
			    .msg_controllen = room == NO_CTL ? 0 : room};
	g.n = recvmsg(s, &mh, rflags);
	if (g.n < 0)
		return g;
	g.text[g.n] = 0;
	g.flags = mh.msg_flags;
	g.controllen = mh.msg_controllen;
	/* Walk what the kernel wrote by hand: a cut message is shorter than
	 * CMSG_NXTHDR would accept. */
	size_t at = 0;
	while (mh.msg_control && at + sizeof(struct cmsghdr) <= mh.msg_controllen) {
		struct cmsghdr h;
		memcpy(&h, cb.b + at, sizeof(h));
		if (h.cmsg_len < sizeof(h) || at + h.cmsg_len > mh.msg_controllen)
			break;
		if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_CREDENTIALS) {
			g.ncred++;
			g.cred_len = h.cmsg_len;
			if (h.cmsg_len >= CMSG_LEN(sizeof(g.cred)))
				memcpy(&g.cred, cb.b + at + CMSG_LEN(0), sizeof(g.cred));
		} else if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_RIGHTS) {
			g.nrights++;
			if (h.cmsg_len >= CMSG_LEN(sizeof(int)) && g.fd < 0)
				memcpy(&g.fd, cb.b + at + CMSG_LEN(0), sizeof(int));
		}
		at += CMSG_SPACE(h.cmsg_len - CMSG_LEN(0));
	}
	return g;
}

/* sendmsg with what it claims (pid 0: nothing) and a descriptor (-1:
 * none): the count or -errno. */
static int smsg(int s, const char *text, pid_t pid, uid_t uid, gid_t gid, int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb;
	memset(cb.b, 0, sizeof(cb.b));
	struct iovec iov = {(void *)text, strlen(text)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b};
	struct cmsghdr *c = (struct cmsghdr *)cb.b;
	if (pid) {
		struct ucred u = {pid, uid, gid};
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(u));
		memcpy(CMSG_DATA(c), &u, sizeof(u));
		mh.msg_controllen += CMSG_SPACE(sizeof(u));
		c = (struct cmsghdr *)(cb.b + CMSG_SPACE(sizeof(u)));
	}
	if (fd >= 0) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(fd));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
		mh.msg_controllen += CMSG_SPACE(sizeof(fd));
	}
	if (!mh.msg_controllen)
		mh.msg_control = NULL;
	ssize_t r = sendmsg(s, &mh, 0);
	return r < 0 ? -errno : (int)r;
}

static void passcred(int s, int on) { setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)); }

static struct ucred peercred(int s)
{
	struct ucred u = {-2, 0, 0};
	socklen_t l = sizeof(u);
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &u, &l) != 0 || l != sizeof(u))
		u.pid = -2;
	return u;
}

static int is_me(struct ucred u, pid_t pid) { return u.pid == pid && u.uid == getuid() && u.gid == getgid(); }
static int is_none(struct ucred u) { return u.pid == 0 && u.uid == 65534 && u.gid == 65534; }

/* How many descriptors are open: the lowest free one, here where none
 * above it are taken. */
static int lowest_free(void)
{
	int d = dup(0);
	close(d);
	return d;
}

/* A pid that exists and is not this process's (in the enclave this
 * program is pid 1): a child that waits until *release is closed. */
static pid_t other_pid(int *release)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t c = fork();
	if (c == 0) {
		char ch;
		close(p[1]);
		_exit(read(p[0], &ch, 1) == 0 ? 0 : 1);
	}
	close(p[0]);
	*release = p[1];
	return c;
}

/* ---- SO_PEERCRED ---- */

static int thread_sv[2];
static void *make_pair(void *arg)
{
	(void)arg;
	socketpair(AF_UNIX, SOCK_STREAM, 0, thread_sv);
	return NULL;
}

static const struct sockaddr_un srv_addr = {AF_UNIX, "\0carve-creds"};
static const socklen_t srv_len = sizeof(sa_family_t) + 12;

static void peercred_checks(void)
{
	static const int kinds[3] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
	static const char *const names[3] = {"stream", "datagram", "seqpacket"};
	for (int k = 0; k < 3; k++) {
		int sv[2];
		socketpair(AF_UNIX, kinds[k], 0, sv);
		CHECK(is_me(peercred(sv[0]), getpid()) && is_me(peercred(sv[1]), getpid()),
		      "SO_PEERCRED of a %s socketpair: this process at both ends", names[k]);
		pid_t c = fork();
		if (c == 0)
			_exit(is_me(peercred(sv[0]), getppid()) ? 0 : 1);
		CHECK(wait_ok(c), "%s socketpair: a forked child still sees the pair's maker", names[k]);
		close(sv[0]);
		close(sv[1]);
	}
	pthread_t t;
	pthread_create(&t, NULL, make_pair, NULL);
	pthread_join(t, NULL);
	CHECK(is_me(peercred(thread_sv[0]), getpid()), "a socketpair made by a thread: the process's pid");
	close(thread_sv[0]);
	close(thread_sv[1]);

	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	struct ucred n = peercred(u);
	CHECK(n.pid == 0 && n.uid == (uid_t)-1 && n.gid == (gid_t)-1,
	      "SO_PEERCRED of a socket with no peer: pid 0, ids -1");
	close(u);

	/* Listen in one child, connect in another, accept here. */
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (const struct sockaddr *)&srv_addr, srv_len);
	int go[2];
	if (pipe(go) != 0)
		return;
	pid_t lk = fork();
	if (lk == 0) {
		listen(l, 4);
		_exit(write(go[1], "l", 1) == 1 ? 0 : 1);
	}
	char ch;
	if (read(go[0], &ch, 1) != 1 || !wait_ok(lk))
		check(0, "a child listened");
	CHECK(is_me(peercred(l), lk), "SO_PEERCRED of a listening socket: who listened (a child)");
	int cl = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t ck = fork();
	if (ck == 0) {
		if (connect(cl, (const struct sockaddr *)&srv_addr, srv_len) != 0)
			_exit(1);
		_exit(write(go[1], "c", 1) == 1 ? 0 : 1);
	}
	if (read(go[0], &ch, 1) != 1 || !wait_ok(ck))
		check(0, "a child connected");
	CHECK(is_me(peercred(cl), lk), "SO_PEERCRED of the connecting end: who listened");
	int a = accept(l, NULL, NULL);
	CHECK(is_me(peercred(a), ck), "SO_PEERCRED of the accepted end: who connected");
	close(a);
	close(cl);
	close(l);
	close(go[0]);
	close(go[1]);
}

/* ---- SO_PASSCRED and SCM_CREDENTIALS ---- */

static void passcred_option_checks(void)
{
	int s = socket(AF_UNIX, SOCK_DGRAM, 0), v = -1, one = 1;
	socklen_t l = sizeof(v);
	CHECK(getsockopt(s, SOL_SOCKET, SO_PASSCRED, &v, &l) == 0 && v == 0 && l == sizeof(v),
	      "SO_PASSCRED is off at first");
	v = 5;
	setsockopt(s, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v));
	l = sizeof(v);
	CHECK(getsockopt(s, SOL_SOCKET, SO_PASSCRED, &v, &l) == 0 && v == 1,
	      "SO_PASSCRED set (5 reads as 1)");
	CHECK(setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, 2) == -1 && errno == EINVAL,
	      "SO_PASSCRED with a short option: EINVAL");
	close(s);
}

/* A thread that says its id, then waits to be let go. */
static int thread_pipe[2], thread_tid_pipe[2];
static void *idle_thread(void *arg)
{
	(void)arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	char c;
	if (write(thread_tid_pipe[1], &tid, sizeof(tid)) != sizeof(tid) || read(thread_pipe[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

/* Messages (datagram and seqpacket). */
static void message_checks(int type, const char *kind)
{
	int sv[2];
	socketpair(AF_UNIX, type, 0, sv);
	send(sv[1], "before", 6, 0);
	passcred(sv[0], 1);
	struct got g = rmsg(sv[0], 256, 0);
	CHECK(g.n == 6 && g.ncred == 1 && is_none(g.cred) && g.cred_len == CMSG_LEN(sizeof(struct ucred)),
	      "%s: sent before anyone asked, received by a socket that asks: pid 0, ids 65534 (%d %d %d)",
	      kind, (int)g.cred.pid, (int)g.cred.uid, (int)g.cred.gid);

	send(sv[1], "mine", 4, 0);
	g = rmsg(sv[0], 256, 0);
	CHECK(g.n == 4 && g.ncred == 1 && is_me(g.cred, getpid()) && !(g.flags & MSG_CTRUNC),
	      "%s: send() to a socket with SO_PASSCRED: the sender's pid and ids", kind);
	pid_t c = fork();
	if (c == 0)
		_exit(write(sv[1], "child", 5) == 5 ? 0 : 1);
	g = rmsg(sv[0], 256, 0);
	CHECK(wait_ok(c) && g.n == 5 && g.ncred == 1 && is_me(g.cred, c),
	      "%s: write() from a child: the child's pid", kind);

	/* Only the sender asks: the message carries its credentials, which
	 * the receiver gets once it asks too. */
	passcred(sv[0], 0);
	passcred(sv[1], 1);
	send(sv[1], "sender asked", 12, 0);
	g = rmsg(sv[0], 256, 0);
	CHECK(g.n == 12 && g.ncred == 0 && g.controllen == 0, "%s: a receiver that does not ask gets none",
	      kind);
	send(sv[1], "sender asked", 12, 0);
	passcred(sv[1], 0);
	passcred(sv[0], 1);
	g = rmsg(sv[0], 256, 0);
	CHECK(g.n == 12 && is_me(g.cred, getpid()),
	      "%s: sent while the sender asked, read after the receiver asks: the sender's", kind);

	/* Claimed credentials: root may claim any ids and any pid there is. */
	CHECK(smsg(sv[1], "claim", 1, 1000, 7, -1) == 5 && (g = rmsg(sv[0], 256, 0)).n == 5 &&
		      g.cred.pid == 1 && g.cred.uid == 1000 && g.cred.gid == 7,
	      "%s: claimed pid 1, uid 1000, gid 7 arrive as claimed", kind);
	if (pipe(thread_pipe) != 0 || pipe(thread_tid_pipe) != 0)
		return;
	pthread_t t;
	pthread_create(&t, NULL, idle_thread, NULL);
	pid_t tid = 0;
	if (read(thread_tid_pipe[0], &tid, sizeof(tid)) != sizeof(tid))
		tid = 0;
	int r = tid ? smsg(sv[1], "thread", tid, 0, 0, -1) : -1;
	g = rmsg(sv[0], 256, MSG_DONTWAIT);
	CHECK(r == 6 && g.n == 6 && g.cred.pid == tid && tid != getpid(), "%s: a thread's id may be claimed",
	      kind);
	if (write(thread_pipe[1], "x", 1) != 1)
		check(0, "write");
	pthread_join(t, NULL);
	for (int i = 0; i < 2; i++) {
		close(thread_pipe[i]);
		close(thread_tid_pipe[i]);
	}
	pid_t z = fork();
	if (z == 0)
		_exit(0);
	usleep(20000);
	r = smsg(sv[1], "zombie", z, 0, 0, -1); /* exited, not yet waited for */
	waitpid(z, NULL, 0);
	g = rmsg(sv[0], 256, MSG_DONTWAIT);
	CHECK(r == 6 && g.n == 6 && g.cred.pid == z,
	      "%s: an exited child not yet waited for may be claimed; its pid stays in the message", kind);
	CHECK(smsg(sv[1], "gone", z, 0, 0, -1) == -ESRCH, "%s: claiming a pid that is gone: ESRCH", kind);
	CHECK(smsg(sv[1], "big", 0x7fffffff, 0, 0, -1) == -ESRCH &&
		      smsg(sv[1], "neg", -1, 0, 0, -1) == -ESRCH,
	      "%s: claiming pid 2^31-1 or -1: ESRCH", kind);
	CHECK(smsg(sv[1], "uid", getpid(), (uid_t)-1, 0, -1) == -EINVAL &&
		      smsg(sv[1], "gid", getpid(), 0, (gid_t)-1, -1) == -EINVAL,
	      "%s: claiming uid or gid -1: EINVAL", kind);
	CHECK(rmsg(sv[0], 256, MSG_DONTWAIT).n == -1 && errno == EAGAIN, "%s: refused claims send nothing",
	      kind);

	/* With SCM_RIGHTS, and control buffers of every size around them. */
	static const struct {
		size_t room;
		int cut, ncred, nrights;
		size_t cred_len, controllen;
	} rooms[] = {
		{NO_CTL, 1, 0, 0, 0, 0},
		{8, 1, 0, 0, 0, 0},
		{CMSG_LEN(0) + 4, 1, 1, 0, CMSG_LEN(0) + 4, CMSG_LEN(0) + 4},
		{CMSG_LEN(sizeof(struct ucred)), 1, 1, 0, CMSG_LEN(sizeof(struct ucred)),
		 CMSG_LEN(sizeof(struct ucred))},
		{CMSG_SPACE(sizeof(struct ucred)) + CMSG_LEN(0), 1, 1, 0, CMSG_LEN(sizeof(struct ucred)),
		 CMSG_SPACE(sizeof(struct ucred))},
		{CMSG_SPACE(sizeof(struct ucred)) + CMSG_LEN(sizeof(int)), 0, 1, 1,
		 CMSG_LEN(sizeof(struct ucred)), CMSG_SPACE(sizeof(struct ucred)) + CMSG_LEN(sizeof(int))},
		{256, 0, 1, 1, CMSG_LEN(sizeof(struct ucred)),
		 CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))},
	};
	for (size_t i = 0; i < sizeof(rooms) / sizeof(rooms[0]); i++) {
		int pp[2];
		if (pipe(pp) != 0)
			return;
		int before = lowest_free();
		smsg(sv[1], "both", getpid(), 0, 0, pp[0]);
		g = rmsg(sv[0], rooms[i].room, 0);
		int installed = lowest_free() != before;
		int want_fd = rooms[i].nrights;
		CHECK(g.n == 4 && !!(g.flags & MSG_CTRUNC) == rooms[i].cut && g.ncred == rooms[i].ncred &&
			      g.nrights == rooms[i].nrights && g.cred_len == rooms[i].cred_len &&
			      g.controllen == rooms[i].controllen && installed == want_fd &&
			      (!rooms[i].ncred || g.cred_len < CMSG_LEN(sizeof(struct ucred)) ||
			       is_me(g.cred, getpid())),
		      "%s: SCM_CREDENTIALS and SCM_RIGHTS, control room %d: %s, %d+%d messages, controllen %zu "
		      "(got %s, %d+%d, %zu, cmsg_len %zu)",
		      kind, rooms[i].room == NO_CTL ? -1 : (int)rooms[i].room,
		      rooms[i].cut ? "MSG_CTRUNC" : "whole", rooms[i].ncred, rooms[i].nrights,
		      rooms[i].controllen, g.flags & MSG_CTRUNC ? "MSG_CTRUNC" : "whole", g.ncred, g.nrights,
		      g.controllen, g.cred_len);
		if (g.fd >= 0 && installed)
			close(g.fd);
		close(pp[0]);
		close(pp[1]);
	}
	close(sv[0]);
	close(sv[1]);

	/* An unbound sender that asks for credentials gets a name, which
	 * the receiver sees. */
	if (type == SOCK_DGRAM) {
		int rcv = socket(AF_UNIX, SOCK_DGRAM, 0), snd = socket(AF_UNIX, SOCK_DGRAM, 0);
		bind(rcv, (const struct sockaddr *)&srv_addr, srv_len);
		passcred(snd, 1);
		sendto(snd, "hi", 2, 0, (const struct sockaddr *)&srv_addr, srv_len);
		struct sockaddr_un me, from;
		socklen_t ml = sizeof(me), fl = sizeof(from);
		getsockname(snd, (struct sockaddr *)&me, &ml);
		char b[8];
		ssize_t n = recvfrom(rcv, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
		CHECK(n == 2 && ml == sizeof(sa_family_t) + 6 && me.sun_path[0] == 0 && fl == ml &&
			      !memcmp(&me, &from, ml),
		      "datagram: an unbound sender with SO_PASSCRED is given a name (autobind), the receiver sees it");
		close(rcv);
		close(snd);
	}
}

/* Streams: credentials per byte, a read never joins different ones. */
static void stream_checks(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	send(sv[1], "aa", 2, 0);
	send(sv[1], "bb", 2, 0);
	pid_t c = fork();
	if (c == 0)
		_exit(send(sv[1], "cc", 2, 0) == 2 ? 0 : 1);
	wait_ok(c);
	send(sv[1], "dd", 2, 0);
	char b[16] = {0};
	ssize_t n = recv(sv[0], b, sizeof(b) - 1, 0);
	CHECK(n == 8 && !strcmp(b, "aabbccdd"),
	      "stream: a reader that does not ask reads every writer's bytes at once");

	passcred(sv[0], 1);
	send(sv[1], "aa", 2, 0);
	send(sv[1], "bb", 2, 0);
	c = fork();
	if (c == 0)
		_exit(send(sv[1], "cc", 2, 0) == 2 ? 0 : 1);
	wait_ok(c);
	send(sv[1], "dd", 2, 0);
	int release = -1;
	pid_t other = other_pid(&release);
	smsg(sv[1], "ee", other, 0, 0, -1);
	smsg(sv[1], "ff", other, 0, 0, -1);
	close(release);
	wait_ok(other);
	struct got p = rmsg(sv[0], 256, MSG_PEEK), g1 = rmsg(sv[0], 256, 0),
		   g2 = rmsg(sv[0], 256, MSG_WAITALL), g3 = rmsg(sv[0], 256, 0), g4 = rmsg(sv[0], 256, 0);
	CHECK(p.n == 4 && !strcmp(p.text, "aabb") && is_me(p.cred, getpid()),
	      "stream: a peek with SO_PASSCRED stops where the writer changes");
	CHECK(g1.n == 4 && !strcmp(g1.text, "aabb") && is_me(g1.cred, getpid()),
	      "stream: two writes of one sender are read together, with its pid");
	CHECK(g2.n == 2 && !strcmp(g2.text, "cc") && is_me(g2.cred, c),
	      "stream: the child's bytes alone (even with MSG_WAITALL), with its pid");
	CHECK(g3.n == 2 && !strcmp(g3.text, "dd") && is_me(g3.cred, getpid()),
	      "stream: then this process's again");
	CHECK(g4.n == 4 && !strcmp(g4.text, "eeff") && g4.cred.pid == other,
	      "stream: two writes claiming the same pid are read together");

	send(sv[1], "gg", 2, 0);
	passcred(sv[0], 0);
	send(sv[1], "hh", 2, 0); /* nobody asks: none */
	passcred(sv[0], 1);
	g1 = rmsg(sv[0], 256, 0);
	g2 = rmsg(sv[0], 256, 0);
	CHECK(g1.n == 2 && !strcmp(g1.text, "gg") && is_me(g1.cred, getpid()) && g2.n == 2 &&
		      !strcmp(g2.text, "hh") && is_none(g2.cred),
	      "stream: bytes sent while nobody asked come apart, with pid 0 and ids 65534");
	send(sv[1], "ii", 2, 0);
	c = fork();
	if (c == 0)
		_exit(send(sv[1], "jj", 2, 0) == 2 ? 0 : 1);
	wait_ok(c);
	memset(b, 0, sizeof(b));
	ssize_t r1 = read(sv[0], b, sizeof(b) - 1);
	CHECK(r1 == 2 && !strcmp(b, "ii"),
	      "stream: read() with SO_PASSCRED also stops where the writer changes");
	rmsg(sv[0], 256, 0);
	shutdown(sv[1], SHUT_WR);
	g1 = rmsg(sv[0], 256, 0);
	CHECK(g1.n == 0 && g1.ncred == 1 && g1.cred.pid == 0 && g1.cred.uid == 0 && g1.cred.gid == 0,
	      "stream: end of file with SO_PASSCRED: pid 0, ids 0 (as Linux)");
	close(sv[0]);
	close(sv[1]);

	/* A connection: SO_PASSCRED inherited from the listener; bytes sent
	 * before accept carry the sender's credentials even if nobody asked. */
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (const struct sockaddr *)&srv_addr, srv_len);
	listen(l, 4);
	int cl = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(cl, (const struct sockaddr *)&srv_addr, srv_len);
	c = fork();
	if (c == 0)
		_exit(send(cl, "early", 5, 0) == 5 ? 0 : 1);
	wait_ok(c);
	int a = accept(l, NULL, NULL);
	send(cl, "late", 4, 0);
	int v = -1;
	socklen_t vl = sizeof(v);
	getsockopt(a, SOL_SOCKET, SO_PASSCRED, &v, &vl);
	CHECK(v == 0, "accepted from a listener without SO_PASSCRED: off");
	passcred(a, 1);
	g1 = rmsg(a, 256, 0);
	g2 = rmsg(a, 256, 0);
	CHECK(g1.n == 5 && is_me(g1.cred, c) && g2.n == 4 && is_none(g2.cred),
	      "stream: sent before accept: the sender's credentials; after, with nobody asking: none");
	close(a);
	close(cl);
	passcred(l, 1);
	cl = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(cl, (const struct sockaddr *)&srv_addr, srv_len);
	a = accept(l, NULL, NULL);
	v = -1;
	getsockopt(a, SOL_SOCKET, SO_PASSCRED, &v, &vl);
	send(cl, "x", 1, 0);
	g1 = rmsg(a, 256, 0);
	CHECK(v == 1 && g1.n == 1 && is_me(g1.cred, getpid()),
	      "accepted from a listener with SO_PASSCRED: on, and credentials come");
	close(a);
	close(cl);
	close(l);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(120); /* a read that waits for ever ends the program (SIGALRM) */
	peercred_checks();
	passcred_option_checks();
	message_checks(SOCK_DGRAM, "datagram");
	message_checks(SOCK_SEQPACKET, "seqpacket");
	stream_checks();
	printf("%s\n", failures ? "some checks failed" : "all checks passed");
	return failures ? 1 : 0;
}
