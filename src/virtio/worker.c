/* The device thread of user-space backends (see worker.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/worker.h"

#define STOP_TAG UINT64_MAX

int vworker_init(struct vworker *w)
{
	w->running = false;
	w->stop_fd = -1;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		w->kick[i] = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->stop_fd < 0 || vworker_add(w, w->stop_fd, EPOLLIN, STOP_TAG) < 0) {
		int e = errno;
		if (w->stop_fd >= 0)
			close(w->stop_fd);
		close(w->epfd);
		w->epfd = w->stop_fd = -1;
		return -e;
	}
	return 0;
}

int vworker_add(struct vworker *w, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int vworker_mod(struct vworker *w, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};
	return epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void vworker_del(struct vworker *w, int fd)
{
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void *loop(void *arg)
{
	struct vworker *w = arg;
	struct epoll_event evs[64];
	for (;;) {
		int timeout = w->poll ? w->poll(w->ctx) : -1;
		int n = epoll_wait(w->epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == STOP_TAG)
				return NULL;
			if (tag < VIRTIO_MAX_QUEUES) {
				uint64_t v;
				ssize_t r = read(w->kick[tag], &v, sizeof(v));
				(void)r;
			}
			w->event(w->ctx, tag, evs[i].events);
		}
	}
	return NULL;
}

int vworker_start(struct vworker *w, const struct virtio_run *run)
{
	for (int i = 0; i < run->nqueues; i++) {
		if (!run->q[i].ready)
			continue;
		int r = vworker_add(w, run->q[i].kick_fd, EPOLLIN, (uint64_t)i);
		if (r < 0)
			return r;
		w->kick[i] = run->q[i].kick_fd;
	}
	uint64_t v;
	while (read(w->stop_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		;
	/* The device thread takes no signals: the VMM's threads handle those. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(&w->th, NULL, loop, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	w->running = true;
	return 0;
}

void vworker_stop(struct vworker *w)
{
	if (w->running) {
		uint64_t one = 1;
		ssize_t r = write(w->stop_fd, &one, sizeof(one));
		(void)r;
		pthread_join(w->th, NULL);
		w->running = false;
	}
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (w->kick[i] >= 0)
			vworker_del(w, w->kick[i]);
		w->kick[i] = -1;
	}
}

void vworker_destroy(struct vworker *w)
{
	vworker_stop(w);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	if (w->epfd >= 0)
		close(w->epfd);
	w->stop_fd = w->epfd = -1;
}
