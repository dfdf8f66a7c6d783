/* The device thread of user-space backends (see worker.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "carve/confine.h"
#include "carve/util.h"
#include "virtio/worker.h"

#define CTL_TAG UINT64_MAX

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

void vworker_del(struct vworker *w, int fd) { epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL); }

/* Parks while it should not serve; false when told to quit. */
static bool wait_until_serving(struct vworker *w)
{
	pthread_mutex_lock(&w->lock);
	if (!w->want_serving || w->quit) {
		w->serving = false;
		pthread_cond_broadcast(&w->changed);
		while (!w->want_serving && !w->quit)
			pthread_cond_wait(&w->changed, &w->lock);
	}
	bool go = !w->quit;
	if (go && !w->serving) {
		uint64_t v;
		while (read(w->ctl_fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
			; /* requests before this serving period are answered */
	}
	w->serving = go;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	return go;
}

static bool should_serve(struct vworker *w)
{
	pthread_mutex_lock(&w->lock);
	bool yes = w->want_serving && !w->quit;
	pthread_mutex_unlock(&w->lock);
	return yes;
}

static void *loop(void *arg)
{
	struct vworker *w = arg;
	struct epoll_event evs[64];
	while (wait_until_serving(w)) {
		/* Confined as a device thread from its first serving on (a no-op
		 * outside an enclave process). */
		confine_this_thread(CONFINE_DEVICE_THREAD);
		for (bool serve = true; serve;) {
			int timeout = w->poll ? w->poll(w->ctx) : -1;
			int n = epoll_wait(w->epfd, evs, 64, timeout);
			if (n < 0 && errno != EINTR)
				n = 0;
			for (int i = 0; i < n && serve; i++) {
				uint64_t tag = evs[i].data.u64;
				if (tag == CTL_TAG) {
					uint64_t v;
					ssize_t r = read(w->ctl_fd, &v, sizeof(v));
					(void)r;
					serve = should_serve(w);
					continue;
				}
				if (tag < VIRTIO_MAX_QUEUES) {
					uint64_t v;
					ssize_t r = read(w->kick[tag], &v, sizeof(v));
					(void)r;
				}
				w->event(w->ctx, tag, evs[i].events);
			}
		}
	}
	return NULL;
}

int vworker_init(struct vworker *w, const char *name, void *ctx, int (*poll)(void *ctx),
		 void (*event)(void *ctx, uint64_t tag, uint32_t events))
{
	memset(w, 0, sizeof(*w));
	w->made = true;
	w->ctx = ctx;
	w->poll = poll;
	w->event = event;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		w->kick[i] = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->changed, NULL);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int r = 0;
	if (w->epfd < 0 || w->ctl_fd < 0)
		r = -errno;
	if (r == 0)
		r = vworker_add(w, w->ctl_fd, EPOLLIN, CTL_TAG);
	if (r == 0) {
		/* The device thread takes no signals: the VMM's threads handle those. */
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		r = -thread_create_sized(&w->th, THREAD_STACK_VCPU, loop, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		w->have_thread = r == 0;
		if (w->have_thread)
			pthread_setname_np(w->th, name);
	}
	if (r < 0)
		vworker_destroy(w);
	return r;
}

static void wake(struct vworker *w)
{
	uint64_t one = 1;
	ssize_t r = write(w->ctl_fd, &one, sizeof(one));
	(void)r;
}

int vworker_start(struct vworker *w, const struct virtio_run *run)
{
	for (int i = 0; i < run->nqueues; i++) {
		if (!run->q[i].ready)
			continue;
		int r = vworker_watch_queue(w, i, run->q[i].kick_fd);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&w->lock);
	w->want_serving = true;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void vworker_stop(struct vworker *w)
{
	if (w->have_thread) {
		pthread_mutex_lock(&w->lock);
		w->want_serving = false;
		wake(w);
		while (w->serving)
			pthread_cond_wait(&w->changed, &w->lock);
		pthread_mutex_unlock(&w->lock);
	}
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (w->kick[i] >= 0)
			vworker_del(w, w->kick[i]);
		w->kick[i] = -1;
	}
}

int vworker_watch_queue(struct vworker *w, int q, int kick_fd)
{
	int r = vworker_add(w, kick_fd, EPOLLIN, (uint64_t)q);
	if (r == 0)
		w->kick[q] = kick_fd;
	return r;
}

void vworker_release_queue(struct vworker *w, int q)
{
	if (w->kick[q] >= 0)
		vworker_del(w, w->kick[q]);
	w->kick[q] = -1;
}

void vworker_destroy(struct vworker *w)
{
	if (!w->made)
		return;
	vworker_stop(w);
	if (w->have_thread) {
		pthread_mutex_lock(&w->lock);
		w->quit = true;
		pthread_cond_broadcast(&w->changed);
		wake(w);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->th, NULL);
		w->have_thread = false;
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->changed);
	if (w->ctl_fd >= 0)
		close(w->ctl_fd);
	if (w->epfd >= 0)
		close(w->epfd);
	w->ctl_fd = w->epfd = -1;
	w->made = false;
}
