/* An event loop as servers and runtimes write one: epoll over an AF_UNIX
 * socket pair (the self-pipe), an eventfd (edge-triggered) and an interval
 * timerfd. Each timer expiry sends a line over the pair and every second one
 * bumps the eventfd; the loop reads what arrives until six ticks, then shuts
 * the pair down and reports what it saw. The output is a summary that does
 * not depend on scheduling (how expirations or bytes were batched), so the
 * same program run on the host and in the enclave must print the same. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { TAG_SOCK, TAG_EFD, TAG_TIMER };

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int by_tag(const void *a, const void *b)
{
	const struct epoll_event *x = a, *y = b;
	return (int)x->data.u64 - (int)y->data.u64;
}

int main(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		return 1;
	}
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (efd < 0 || tfd < 0 || ep < 0) {
		perror("eventfd/timerfd/epoll");
		return 1;
	}
	struct epoll_event ev = {EPOLLIN | EPOLLRDHUP, {.u64 = TAG_SOCK}};
	epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
	ev = (struct epoll_event){EPOLLIN | EPOLLET, {.u64 = TAG_EFD}};
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	ev = (struct epoll_event){EPOLLIN, {.u64 = TAG_TIMER}};
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	struct itimerspec its = {{0, 15 * 1000000}, {0, 15 * 1000000}};
	timerfd_settime(tfd, 0, &its, NULL);

	long start = now_ms();
	int ticks = 0, timeouts = 0, lines = 0;
	uint64_t efd_sum = 0;
	char msgs[256] = "", pending[256] = "";
	size_t plen = 0;
	int eof = 0;
	uint32_t hup_mask = 0;
	while (!eof) {
		struct epoll_event evs[8];
		int n = epoll_wait(ep, evs, 8, 1000);
		if (n < 0) {
			perror("epoll_wait");
			return 1;
		}
		if (n == 0) {
			timeouts++;
			if (timeouts > 3)
				break;
			continue;
		}
		qsort(evs, (size_t)n, sizeof(evs[0]), by_tag);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u64 == TAG_SOCK) {
				ssize_t r;
				while ((r = read(sv[1], pending + plen, sizeof(pending) - 1 - plen)) > 0)
					plen += (size_t)r;
				if (r == 0) {
					eof = 1;
					hup_mask = evs[i].events;
				}
				pending[plen] = 0;
				char *nl;
				while ((nl = strchr(pending, '\n'))) {
					*nl = 0;
					strcat(msgs, msgs[0] ? " " : "");
					strcat(msgs, pending);
					lines++;
					plen -= (size_t)(nl + 1 - pending);
					memmove(pending, nl + 1, plen + 1);
				}
			} else if (evs[i].data.u64 == TAG_EFD) {
				uint64_t v;
				while (read(efd, &v, 8) == 8)
					efd_sum += v;
			} else {
				uint64_t exp;
				if (read(tfd, &exp, 8) != 8)
					continue;
				for (uint64_t k = 0; k < exp && ticks < 6; k++) {
					char line[16];
					int len = snprintf(line, sizeof(line), "m%d\n", ++ticks);
					write(sv[0], line, (size_t)len);
					if (ticks % 2 == 0) {
						uint64_t v = (uint64_t)ticks;
						write(efd, &v, 8);
					}
				}
				if (ticks == 6) {
					its = (struct itimerspec){{0, 0}, {0, 0}};
					timerfd_settime(tfd, 0, &its, NULL);
					shutdown(sv[0], SHUT_WR);
				}
			}
		}
	}
	long elapsed = now_ms() - start;
	struct epoll_event out[4];
	int idle = epoll_wait(ep, out, 4, 0);
	printf("ticks %d\n", ticks);
	printf("lines %d: %s\n", lines, msgs);
	printf("eventfd sum %llu\n", (unsigned long long)efd_sum);
	printf("timeouts %d\n", timeouts);
	printf("eof %d, events 0x%x\n", eof, hup_mask);
	printf("elapsed at least 6 periods: %s\n", elapsed >= 6 * 15 - 5 ? "yes" : "no");
	/* After EOF the socket stays readable (level-triggered): reported again. */
	printf("after eof: %d ready\n", idle);
	close(sv[0]);
	idle = epoll_wait(ep, out, 4, 0);
	printf("peer closed: %d ready, events 0x%x\n", idle, idle > 0 ? out[0].events : 0);
	return 0;
}
