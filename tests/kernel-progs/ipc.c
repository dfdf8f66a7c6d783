/* Sharing between processes in the carve kernel, checked from the inside:
 * /dev/shm and shm_open with MAP_SHARED mappings across fork (writes seen by
 * the other process, by read() and through a second mapping; MAP_PRIVATE
 * copy-on-write from the file; ftruncate growing and shrinking with SIGBUS
 * past the end; mremap; shm_unlink), shared anonymous memory touched after
 * fork, named and unnamed POSIX semaphores and a process-shared mutex
 * between processes (futexes on shared pages), SCM_RIGHTS passing a pipe
 * and a file over AF_UNIX stream and datagram sockets (MSG_CTRUNC, a
 * message never received), sockets that only each other's messages in
 * flight hold freed (a socket sent over itself, a pair sent over each
 * other), and not while an open socket can still receive them, and the
 * CPU-time clocks
 * (process, thread, another thread's, getrusage, times, wait4's rusage):
 * advancing while spinning, not while sleeping.
 * Prints "ok ..." or "FAIL ..." per check; exits 1 if anything failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int wait_ok(pid_t p)
{
	int st = 0;
	return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_seen;
static void on_bus(int sig)
{
	bus_seen = sig;
	siglongjmp(bus_jmp, 1);
}

/* 1 if reading *p raised SIGBUS. */
static int reads_sigbus(volatile char *p)
{
	bus_seen = 0;
	if (sigsetjmp(bus_jmp, 1) == 0)
		(void)*p;
	return bus_seen == SIGBUS;
}

static void shm_checks(void)
{
	struct stat st;
	check(stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 01777,
	      "/dev/shm is a directory with mode 1777");
	shm_unlink("/carve-ipc");
	int fd = shm_open("/carve-ipc", O_CREAT | O_EXCL | O_RDWR, 0600);
	check(fd >= 0, "shm_open creates an object");
	if (fd < 0)
		return;
	check(ftruncate(fd, 8192) == 0, "ftruncate sizes it");
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(m != MAP_FAILED, "mmap MAP_SHARED of it");
	if (m == MAP_FAILED)
		return;
	check(m[0] == 0 && m[8191] == 0, "a new object reads as zeros");
	pid_t p = fork();
	if (p == 0) {
		strcpy(m, "written by the child");
		m[5000] = 'c';
		_exit(0);
	}
	check(wait_ok(p), "the child wrote through its copy of the mapping");
	check(!strcmp(m, "written by the child") && m[5000] == 'c', "the parent sees the child's writes");
	char buf[32] = {0};
	check(pread(fd, buf, 20, 0) == 20 && !memcmp(buf, "written by the child", 20),
	      "read() sees what the mapping wrote");
	check(pwrite(fd, "FILE", 4, 100) == 4 && !memcmp(m + 100, "FILE", 4),
	      "the mapping sees what write() wrote");
	char *m2 = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m2[200] = 'x';
	check(m2 != MAP_FAILED && m[200] == 'x', "a second mapping of the object is the same memory");

	/* MAP_PRIVATE: the file until it writes, then its own copy. */
	char *pv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	check(pv != MAP_FAILED && !strcmp(pv, "written by the child"), "MAP_PRIVATE shows the file's bytes");
	m[4096] = 'A';
	check(pv[4096] == 'A', "MAP_PRIVATE sees the file change before it writes that page");
	pv[0] = 'P';
	m[1] = 'Q';
	check(m[0] == 'w' && pv[0] == 'P' && pv[1] == 'r',
	      "a write to MAP_PRIVATE stays private (copy-on-write)");

	/* ftruncate: shrink, SIGBUS past the end; grow back: zeros. */
	struct sigaction sa = {0};
	sa.sa_handler = on_bus;
	sigaction(SIGBUS, &sa, NULL);
	check(ftruncate(fd, 4096) == 0, "ftruncate shrinks the object to one page");
	check(reads_sigbus(m + 4096), "a shared mapping past the new end gets SIGBUS");
	check(reads_sigbus(m2 + 5000), "so does the second mapping, already touched there");
	check(!reads_sigbus(m + 4095), "the page before the end still reads");
	check(ftruncate(fd, 8192) == 0 && !reads_sigbus(m + 5000) && m[5000] == 0,
	      "grown again, the page reads as zeros");
	signal(SIGBUS, SIG_DFL);

	/* mremap keeps the sharing. */
	char *big = mremap(m, 8192, 4 * 8192, MREMAP_MAYMOVE);
	check(big != MAP_FAILED, "mremap grows the shared mapping");
	if (big != MAP_FAILED) {
		check(ftruncate(fd, 4 * 8192) == 0, "ftruncate grows the object to match");
		big[20000] = 'z';
		char c = 0;
		check(pread(fd, &c, 1, 20000) == 1 && c == 'z' && m2[0] == 'w',
		      "the moved mapping is still the object's pages");
		munmap(big, 4 * 8192);
	}
	munmap(m2, 8192);
	munmap(pv, 8192);

	/* A shared mapping of a descriptor opened read-only stays read-only. */
	int rfd = shm_open("/carve-ipc", O_RDONLY, 0);
	char *ro = rfd >= 0 ? mmap(NULL, 4096, PROT_READ, MAP_SHARED, rfd, 0) : MAP_FAILED;
	check(ro != MAP_FAILED && ro[0] == 'w' && mprotect(ro, 4096, PROT_READ | PROT_WRITE) == -1 &&
		      errno == EACCES,
	      "mprotect cannot make a read-only descriptor's shared mapping writable (EACCES)");
	if (ro != MAP_FAILED)
		munmap(ro, 4096);
	close(rfd);

	/* After shm_unlink and close the mapping lives on. */
	char *keep = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check(shm_unlink("/carve-ipc") == 0 && shm_open("/carve-ipc", O_RDWR, 0) < 0 && errno == ENOENT,
	      "shm_unlink removes the name");
	close(fd);
	p = fork();
	if (p == 0) {
		keep[10] = 'K';
		_exit(0);
	}
	check(wait_ok(p) && keep[10] == 'K', "an unlinked, closed object stays shared while mapped");
	munmap(keep, 4096);

	/* Shared anonymous memory, first touched after fork. */
	char *anon = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	p = fork();
	if (p == 0) {
		anon[2 * 4096 + 7] = 'a';
		_exit(0);
	}
	check(wait_ok(p) && anon[2 * 4096 + 7] == 'a',
	      "shared anonymous pages first touched in the child are shared");
	munmap(anon, 3 * 4096);
}

/* In the enclave (pid 1, alone), free memory comes back after shared
 * objects are mapped, touched by two processes, unmapped and removed: no
 * page of theirs is left behind. (On a host other programs move it.) */
static void leak_check(void)
{
	if (getpid() != 1)
		return;
	struct sysinfo si;
	enum { SIZE = 64 * 1024, ROUNDS = 20 };
	for (int round = 0; round <= ROUNDS; round++) {
		if (round == 1) /* the first round's kernel allocations stay (tables, lists) */
			sysinfo(&si);
		int fd = shm_open("/carve-leak", O_CREAT | O_RDWR, 0600);
		if (fd < 0 || ftruncate(fd, SIZE) != 0)
			break;
		char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		char *pv = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		memset(m, round, SIZE);
		memset(pv, 1, SIZE / 2);
		pid_t p = fork();
		if (p == 0) {
			memset(m + SIZE / 2, 2, SIZE / 2);
			pv[0] = 3;
			_exit(0);
		}
		wait_ok(p);
		ftruncate(fd, SIZE / 4);
		munmap(m, SIZE);
		munmap(pv, SIZE);
		close(fd);
		shm_unlink("/carve-leak");
	}
	struct sysinfo after;
	sysinfo(&after);
	long lost = (long)(si.freeram - after.freeram) * (long)si.mem_unit;
	if (lost > 256 * 1024)
		printf("# %ld KiB less free memory after %d rounds\n", lost / 1024, ROUNDS);
	check(lost <= 256 * 1024, "shared objects mapped, forked, shrunk and removed leave no pages behind");
}

struct shared_counter {
	pthread_mutex_t lock;
	sem_t ready;
	long count;
};

static void sem_checks(void)
{
	sem_unlink("/carve-ping");
	sem_unlink("/carve-pong");
	sem_t *ping = sem_open("/carve-ping", O_CREAT | O_EXCL, 0600, 0);
	sem_t *pong = sem_open("/carve-pong", O_CREAT | O_EXCL, 0600, 0);
	check(ping != SEM_FAILED && pong != SEM_FAILED, "sem_open creates named semaphores");
	if (ping == SEM_FAILED || pong == SEM_FAILED)
		return;
	enum { ROUNDS = 50 };
	pid_t p = fork();
	if (p == 0) {
		sem_t *ping2 = sem_open("/carve-ping", 0);
		for (int i = 0; i < ROUNDS; i++) {
			if (sem_wait(ping2) != 0)
				_exit(1);
			sem_post(pong);
		}
		_exit(0);
	}
	int rounds = 0;
	for (int i = 0; i < ROUNDS; i++) {
		sem_post(ping);
		if (sem_wait(pong) != 0)
			break;
		rounds++;
	}
	check(wait_ok(p) && rounds == ROUNDS, "named semaphores ping-pong between two processes");
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += 50000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	check(sem_timedwait(pong, &dl) == -1 && errno == ETIMEDOUT,
	      "sem_timedwait times out with nothing posted");
	check(sem_unlink("/carve-ping") == 0 && sem_unlink("/carve-pong") == 0, "sem_unlink");
	sem_close(ping);
	sem_close(pong);

	/* Unnamed: a sem_t and a process-shared mutex in shared memory. */
	struct shared_counter *sc =
		mmap(NULL, sizeof(*sc), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&sc->lock, &ma);
	sem_init(&sc->ready, 1, 0);
	enum { KIDS = 3, ADDS = 2000 };
	pid_t kids[KIDS];
	for (int k = 0; k < KIDS; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			sem_wait(&sc->ready);
			for (int i = 0; i < ADDS; i++) {
				pthread_mutex_lock(&sc->lock);
				long v = sc->count;
				if (i % 97 == 0)
					sched_yield(); /* let another process find the lock taken */
				sc->count = v + 1;
				pthread_mutex_unlock(&sc->lock);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < KIDS; k++)
		sem_post(&sc->ready);
	int all = 1;
	for (int k = 0; k < KIDS; k++)
		all &= wait_ok(kids[k]);
	check(all && sc->count == KIDS * ADDS, "a process-shared mutex and semaphore in shared memory");
}

/* ---- SCM_RIGHTS ---- */
static int send_fds(int s, const int *fds, int n, const char *msg)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec iov = {(void *)msg, strlen(msg)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return (int)sendmsg(s, &mh, 0);
}

/* Receives a message; the fds it carried into fds (up to max); their count,
 * or -1. *flags gets msg_flags. */
static int recv_fds(int s, char *text, size_t cap, int *fds, int max, size_t ctl, int *flags)
{
	char cbuf[256];
	struct iovec iov = {text, cap - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = ctl};
	ssize_t n = recvmsg(s, &mh, 0);
	if (n < 0)
		return -1;
	text[n] = 0;
	*flags = mh.msg_flags;
	int got = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k && got < max; i++)
			memcpy(&fds[got++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	return got;
}

static void rights_checks(int type, const char *kind)
{
	char what[320];
	int sv[2];
	if (socketpair(AF_UNIX, type, 0, sv) != 0) {
		check(0, "socketpair");
		return;
	}
	pid_t p = fork();
	if (p == 0) {
		close(sv[0]);
		int pp[2];
		if (pipe(pp) != 0)
			_exit(2);
		int f = open("/dev/shm/ipc-file", O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (f < 0 || write(f, "file contents", 13) != 13 || lseek(f, 5, SEEK_SET) != 5)
			_exit(3);
		int both[2] = {pp[0], f};
		if (send_fds(sv[1], both, 2, "two fds") < 0)
			_exit(4);
		close(pp[0]);
		close(f);
		if (write(pp[1], "through the pipe", 16) != 16)
			_exit(5);
		close(pp[1]);
		_exit(0);
	}
	close(sv[1]);
	char text[64];
	int fds[4] = {-1, -1, -1, -1}, flags = 0;
	int got = recv_fds(sv[0], text, sizeof(text), fds, 4, 256, &flags);
	snprintf(what, sizeof(what), "%s: SCM_RIGHTS brings two descriptors with the message", kind);
	check(got == 2 && !strcmp(text, "two fds") && !(flags & MSG_CTRUNC), what);
	if (got == 2) {
		char b[32] = {0};
		ssize_t n = read(fds[0], b, sizeof(b) - 1);
		snprintf(what, sizeof(what), "%s: the received pipe end reads what the sender wrote", kind);
		check(n == 16 && !strcmp(b, "through the pipe"), what);
		memset(b, 0, sizeof(b));
		n = read(fds[1], b, sizeof(b) - 1);
		snprintf(what, sizeof(what),
			 "%s: the received file shares the sender's open file (its offset)", kind);
		check(n == 8 && !strcmp(b, "contents"), what);
		snprintf(what, sizeof(what), "%s: received descriptors are new numbers here", kind);
		check(fds[0] > 2 && fds[1] > 2 && fds[0] != fds[1] && fcntl(fds[0], F_GETFD) == 0, what);
		close(fds[0]);
		close(fds[1]);
	}
	check(wait_ok(p), "the sender exited cleanly");
	unlink("/dev/shm/ipc-file");
	close(sv[0]);

	/* Control buffer too small: MSG_CTRUNC, the fds not installed. */
	socketpair(AF_UNIX, type, 0, sv);
	int pp[2];
	pipe(pp);
	int three[3] = {pp[0], pp[0], pp[1]};
	send_fds(sv[1], three, 3, "x");
	int before = dup(0);
	close(before);
	flags = 0;
	got = recv_fds(sv[0], text, sizeof(text), fds, 4, CMSG_LEN(sizeof(int)), &flags); /* room for one */
	int after = dup(0);
	close(after);
	snprintf(what, sizeof(what), "%s: a control buffer too small gives MSG_CTRUNC and what fits", kind);
	check(got == 1 && (flags & MSG_CTRUNC) && after == before + 1, what);
	if (got == 1)
		close(fds[0]);

	/* A message with a pipe's read end never received: closing the
	 * sockets drops it, so the writer then gets EPIPE. */
	int only[1] = {pp[0]};
	send_fds(sv[1], only, 1, "never read");
	close(pp[0]);
	signal(SIGPIPE, SIG_IGN);
	close(sv[0]);
	close(sv[1]);
	errno = 0;
	ssize_t w = write(pp[1], "x", 1);
	snprintf(what, sizeof(what), "%s: fds in a message never received are closed with the socket", kind);
	check(w == -1 && errno == EPIPE, what);
	close(pp[1]);
	signal(SIGPIPE, SIG_DFL);
}

/* ---- sockets held only by each other's messages ---- */

/* Whether the pipe read end rd reaches end of file (its last writer gone)
 * within ms milliseconds. */
static int pipe_eof(int rd, int ms)
{
	struct pollfd p = {rd, POLLIN, 0};
	char c;
	return poll(&p, 1, ms) == 1 && read(rd, &c, 1) == 0;
}

/* Linux collects when a socket is released, and in the background: here
 * it collects as the last descriptor goes, so the release of a socket
 * made for it is only for Linux (this program also runs there). */
static void release_one(void)
{
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	close(s);
}

/* Each case puts a pipe's write end in the messages: it closes when (and
 * only when) the sockets holding it are freed. */
static void gc_checks(int type, const char *kind)
{
	char what[320];
	int sv[2], pp[2];
	if (socketpair(AF_UNIX, type, 0, sv) != 0 || pipe(pp) != 0) {
		check(0, "socketpair, pipe");
		return;
	}
	/* A socket sent over itself (the message waits on sv[1], holding
	 * sv[1]), then both ends closed. */
	int two[2] = {sv[1], pp[1]};
	send_fds(sv[0], two, 2, "self");
	close(pp[1]);
	close(sv[0]);
	close(sv[1]);
	release_one();
	snprintf(what, sizeof(what), "%s: a socket sent over itself, then closed, is freed with what it held",
		 kind);
	check(pipe_eof(pp[0], 2000), what);
	close(pp[0]);

	/* A pair sent over each other: nothing goes while one end is open
	 * (it can still read the other back), both go once both are closed. */
	if (socketpair(AF_UNIX, type, 0, sv) != 0 || pipe(pp) != 0)
		return;
	int one[1] = {sv[0]};
	send_fds(sv[0], one, 1, "a"); /* waits on sv[1], holding sv[0] */
	two[0] = sv[1];
	two[1] = pp[1];
	send_fds(sv[1], two, 2, "b"); /* waits on sv[0], holding sv[1] and the pipe */
	close(pp[1]);
	close(sv[0]);
	release_one();
	snprintf(what, sizeof(what), "%s: a pair sent over each other, one end closed: nothing is freed",
		 kind);
	check(!pipe_eof(pp[0], 200), what);
	close(sv[1]);
	release_one();
	snprintf(what, sizeof(what), "%s: a pair sent over each other, both ends closed: both are freed",
		 kind);
	check(pipe_eof(pp[0], 2000), what);
	close(pp[0]);

	/* A closed socket in a message that an open socket can still
	 * receive stays, and works once received. */
	int xy[2];
	if (socketpair(AF_UNIX, type, 0, sv) != 0 || socketpair(AF_UNIX, type, 0, xy) != 0 || pipe(pp) != 0)
		return;
	two[0] = xy[0];
	two[1] = pp[1];
	send_fds(sv[0], two, 2, "held");
	close(xy[0]);
	close(pp[1]);
	release_one();
	int stays = !pipe_eof(pp[0], 200);
	char text[64], b[8] = {0};
	int fds[2] = {-1, -1}, flags = 0;
	int got = recv_fds(sv[1], text, sizeof(text), fds, 2, 256, &flags);
	int works = got == 2 && write(xy[1], "ping", 4) == 4 && read(fds[0], b, sizeof(b) - 1) == 4 &&
		!strcmp(b, "ping");
	snprintf(what, sizeof(what),
		 "%s: a closed socket in flight to an open one stays, and works once received", kind);
	check(stays && works, what);
	for (int i = 0; i < 2; i++) {
		close(fds[i]);
		close(sv[i]);
	}
	close(xy[1]);
	close(pp[0]);
}

/* ---- CPU time ---- */
static double ts_s(const struct timespec *t) { return (double)t->tv_sec + (double)t->tv_nsec / 1e9; }
static double clock_s(clockid_t id)
{
	struct timespec t;
	return clock_gettime(id, &t) == 0 ? ts_s(&t) : -1;
}
/* Spins until this thread has run for secs of CPU time (at most 20 s of
 * wall time, on a loaded host); the wall time it took. */
static double spin_cpu(double secs)
{
	double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	while (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0 < secs && clock_s(CLOCK_MONOTONIC) - w0 < 20)
		for (volatile int i = 0; i < 10000; i++)
			;
	return clock_s(CLOCK_MONOTONIC) - w0;
}
static double tv_s(const struct timeval *t) { return (double)t->tv_sec + (double)t->tv_usec / 1e6; }

static volatile int spinner_go = 1;
static void *spinner(void *arg)
{
	(void)arg;
	while (spinner_go)
		;
	return NULL;
}

static void cpu_checks(void)
{
	double p0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	double wall = spin_cpu(0.2);
	double p1 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t1 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	check(p0 >= 0 && t0 >= 0 && t1 - t0 >= 0.2 && wall < 20,
	      "CLOCK_THREAD_CPUTIME_ID advances while spinning");
	if (!(p1 - p0 >= t1 - t0 - 0.02 && p1 - p0 <= wall + 0.05))
		printf("# process %.3f s, thread %.3f s, wall %.3f s\n", p1 - p0, t1 - t0, wall);
	check(p1 - p0 >= t1 - t0 - 0.02 && p1 - p0 <= wall + 0.05,
	      "CLOCK_PROCESS_CPUTIME_ID advances with it, no faster than the wall clock");
	struct timespec nap = {0, 300000000};
	nanosleep(&nap, NULL);
	double p2 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	check(p2 - p1 < 0.1, "the process CPU clock stands still while it sleeps");

	pthread_t th;
	pthread_create(&th, NULL, spinner, NULL);
	clockid_t cid;
	check(pthread_getcpuclockid(th, &cid) == 0, "pthread_getcpuclockid");
	double m0 = clock_s(CLOCK_THREAD_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC), other = 0;
	struct timespec tick = {0, 10000000};
	while ((other = clock_s(cid)) < 0.1 && clock_s(CLOCK_MONOTONIC) - w0 < 20)
		nanosleep(&tick, NULL);
	double mine = clock_s(CLOCK_THREAD_CPUTIME_ID) - m0;
	spinner_go = 0;
	pthread_join(th, NULL);
	check(other >= 0.1 && mine < other,
	      "another thread's CPU clock counts its spinning while this one sleeps");
	clockid_t self;
	check(clock_getcpuclockid(0, &self) == 0 && clock_s(self) >= p2,
	      "clock_getcpuclockid(0) is the process clock");

	struct rusage ru, tru;
	check(getrusage(RUSAGE_SELF, &ru) == 0 && tv_s(&ru.ru_utime) + tv_s(&ru.ru_stime) >= 0.3,
	      "getrusage(RUSAGE_SELF) counts the spinning of both threads");
	double all = tv_s(&ru.ru_utime) + tv_s(&ru.ru_stime);
	check(getrusage(RUSAGE_THREAD, &tru) == 0 && tv_s(&tru.ru_utime) + tv_s(&tru.ru_stime) >= 0.2 &&
		      all - (tv_s(&tru.ru_utime) + tv_s(&tru.ru_stime)) >= other - 0.02,
	      "getrusage(RUSAGE_THREAD) counts this thread only");
	struct rusage before;
	getrusage(RUSAGE_CHILDREN, &before);
	pid_t p = fork();
	if (p == 0) {
		spin_cpu(0.2);
		_exit(0);
	}
	int st;
	struct rusage cru;
	check(wait4(p, &st, 0, &cru) == p && tv_s(&cru.ru_utime) + tv_s(&cru.ru_stime) >= 0.19,
	      "wait4's rusage is the child's CPU time");
	getrusage(RUSAGE_CHILDREN, &ru);
	check(tv_s(&ru.ru_utime) + tv_s(&ru.ru_stime) - tv_s(&before.ru_utime) - tv_s(&before.ru_stime) >=
		      0.19,
	      "getrusage(RUSAGE_CHILDREN) adds the reaped child");
	struct tms tm;
	double hz = (double)sysconf(_SC_CLK_TCK);
	check(times(&tm) != (clock_t)-1 && (double)(tm.tms_utime + tm.tms_stime) / hz >= 0.28 &&
		      (double)(tm.tms_cutime + tm.tms_cstime) / hz >= 0.17,
	      "times() counts this process and its reaped children");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	shm_checks();
	leak_check();
	sem_checks();
	rights_checks(SOCK_STREAM, "stream");
	rights_checks(SOCK_DGRAM, "datagram");
	gc_checks(SOCK_STREAM, "stream");
	gc_checks(SOCK_DGRAM, "datagram");
	cpu_checks();
	printf("%s\n", failures ? "some checks failed" : "all checks passed");
	return failures ? 1 : 0;
}
