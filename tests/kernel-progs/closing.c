/* A descriptor closed by one thread while another sleeps in a system call
 * on it, checked from the inside. Linux holds the open file for the
 * length of the call (fdget/fdput): the sleeper goes on with the file it
 * started with, and the file goes away when that call ends. Without that
 * hold the sleeper's file is freed under it and its memory handed to the
 * next file made, so the sleeper reads someone else's data, or worse.
 *
 * Each case: a reader thread sleeps in read/recv/epoll_wait on a
 * descriptor numbered 100 and up (dup2), main closes that descriptor,
 * makes four new files of the same kind with data waiting in each ("new"),
 * then gives the old file what the reader waits for ("old"). The reader
 * must get "old". A reader that had not reached its call when main closed
 * the descriptor gets EBADF: the attempt proves nothing and is tried again
 * with a longer wait (at most 6 times). Prints "ok ..." or "FAIL ..." per
 * check; exits 1 if anything failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define HIGH_FD 100
#define FRESH 4

enum kind { PIPE, STREAM, DGRAM, EVENTFD, EPOLL };
static const char *const names[] = {"pipe", "AF_UNIX stream", "AF_UNIX datagram", "eventfd", "epoll"};

struct reader {
	enum kind kind;
	int fd;
	volatile int started, done;
	char buf[16];
	ssize_t n;
	int err;
	uint64_t tag; /* epoll: the event's data */
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	r->started = 1;
	if (r->kind == EPOLL) {
		struct epoll_event ev = {0};
		r->n = epoll_wait(r->fd, &ev, 1, -1);
		r->tag = ev.data.u64;
	} else {
		r->n = read(r->fd, r->buf, sizeof(r->buf));
	}
	r->err = errno;
	r->done = 1;
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void on_usr1(int sig) { (void)sig; }

/* A pair of kind k: [0] what the reader waits on, [1] where "old" goes in
 * (for eventfd and epoll, [1] is a pipe's write end the data comes from). */
static int make(enum kind k, int fds[2], int watched[2])
{
	switch (k) {
	case PIPE: return pipe(fds);
	case STREAM: return socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	case DGRAM: return socketpair(AF_UNIX, SOCK_DGRAM, 0, fds);
	case EVENTFD:
		fds[0] = eventfd(0, 0);
		fds[1] = -1;
		return fds[0] < 0 ? -1 : 0;
	case EPOLL: {
		if (pipe(watched) != 0)
			return -1;
		fds[0] = epoll_create1(0);
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0xc0ffee};
		if (fds[0] < 0 || epoll_ctl(fds[0], EPOLL_CTL_ADD, watched[0], &ev) != 0)
			return -1;
		fds[1] = watched[1];
		return 0;
	}
	}
	return -1;
}

/* Fresh files of the kind, each with data waiting (eventfd: a count). */
static void make_fresh(enum kind k, int fresh[FRESH][2], int watched[FRESH][2])
{
	for (int i = 0; i < FRESH; i++) {
		fresh[i][0] = fresh[i][1] = watched[i][0] = watched[i][1] = -1;
		if (make(k, fresh[i], watched[i]) != 0)
			continue;
		if (k == EVENTFD) {
			uint64_t one = 7;
			(void)!write(fresh[i][0], &one, sizeof(one));
		} else {
			(void)!write(fresh[i][1], "new", 3);
		}
	}
}

static void close_fresh(int fresh[FRESH][2], int watched[FRESH][2])
{
	for (int i = 0; i < FRESH; i++)
		for (int j = 0; j < 2; j++) {
			if (fresh[i][j] >= 0)
				close(fresh[i][j]);
			if (watched[i][j] >= 0 && watched[i][j] != fresh[i][j])
				close(watched[i][j]);
		}
}

/* One attempt: 1 when it showed something (pass or fail), 0 when the
 * reader came too late (EBADF). */
static int attempt(enum kind k, int wait_ms, int *passed, char *what, size_t cap)
{
	int fds[2] = {-1, -1}, watched[2] = {-1, -1};
	if (make(k, fds, watched) != 0 || dup2(fds[0], HIGH_FD) != HIGH_FD) {
		snprintf(what, cap, "cannot make one: %s", strerror(errno));
		*passed = 0;
		return 1;
	}
	close(fds[0]);
	struct reader r = {.kind = k, .fd = HIGH_FD};
	pthread_t th;
	pthread_create(&th, NULL, reader_main, &r);
	while (!r.started)
		sched_yield();
	sleep_ms(wait_ms);
	close(HIGH_FD);
	int fresh[FRESH][2], fresh_watched[FRESH][2];
	make_fresh(k, fresh, fresh_watched);
	sleep_ms(20);
	if (k == EVENTFD)
		pthread_kill(th, SIGUSR1); /* its only way out: EINTR */
	else
		(void)!write(fds[1], "old", 3);
	/* A reader whose file was freed under it may never wake: 10 s, then
	 * a signal ends its call (EINTR) so the next case still runs. */
	for (int i = 0; i < 1000 && !r.done; i++)
		sleep_ms(10);
	int stuck = !r.done;
	if (stuck)
		pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	int done = !(r.n < 0 && r.err == EBADF);
	switch (k) {
	case EVENTFD:
		*passed = r.n < 0 && r.err == EINTR;
		snprintf(what, cap, "read returned %zd (%s)", r.n, r.n < 0 ? strerror(r.err) : "a count");
		break;
	case EPOLL:
		*passed = r.n == 1 && r.tag == 0xc0ffee;
		snprintf(what, cap, "epoll_wait returned %zd, data 0x%llx", r.n, (unsigned long long)r.tag);
		break;
	default:
		*passed = r.n == 3 && !memcmp(r.buf, "old", 3);
		snprintf(what, cap, "read returned %zd: \"%.*s\"", r.n, r.n > 0 ? (int)r.n : 0, r.buf);
	}
	if (stuck && k != EVENTFD) {
		*passed = 0;
		snprintf(what, cap,
			 "the sleeper never saw the old file's data (woken after 10 s by a signal)");
	}
	/* Its call over, the reader's file is gone: a pipe or stream with no
	 * reader left refuses the write. */
	if (done && *passed && (k == PIPE || k == STREAM)) {
		ssize_t w = write(fds[1], "x", 1);
		if (!(w < 0 && errno == EPIPE)) {
			*passed = 0;
			snprintf(what, cap,
				 "after the call ended, a write to the other end gave %zd, not EPIPE", w);
		}
	}
	close_fresh(fresh, fresh_watched);
	if (fds[1] >= 0)
		close(fds[1]);
	if (watched[0] >= 0)
		close(watched[0]);
	return done;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	static const char *const want[] = {
		"the reader gets the old pipe's data, then the pipe is gone",
		"the reader gets the old socket's data, then the socket is gone",
		"the reader gets the old socket's datagram",
		"the reader stays in the old eventfd until a signal",
		"the waiter gets the old epoll's event",
	};
	for (enum kind k = PIPE; k <= EPOLL; k++) {
		char what[160] = "";
		int passed = 0, wait_ms = 50, tries = 0;
		while (!attempt(k, wait_ms, &passed, what, sizeof(what)) && ++tries < 6)
			wait_ms *= 2;
		char line[400];
		snprintf(line, sizeof(line), "%s closed while another thread sleeps in it: %s%s%s", names[k],
			 want[k], passed ? "" : ": ", passed ? "" : what);
		check(passed, line);
	}
	printf("%s\n", failures ? "some checks failed" : "all checks passed");
	return failures ? 1 : 0;
}
