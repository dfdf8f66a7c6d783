/* The device thread of a user-space virtio backend: one epoll loop that
 * waits for queue kicks (the kick eventfds, which KVM_IOEVENTFD signals),
 * for the backend's own descriptors (host sockets) and for a stop request.
 * Private to the virtio part. */
#ifndef CARVE_VIRTIO_WORKER_H
#define CARVE_VIRTIO_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "carve/virtio.h"

/* Tags below VWORKER_TAG_MIN name queue kicks (the queue index); others are
 * backend pointers. */
#define VWORKER_TAG_MIN 4096

struct vworker {
	pthread_t th;
	int epfd, stop_fd;
	bool running;
	int kick[VIRTIO_MAX_QUEUES];   /* registered kick fds, -1 if none */
	void *ctx;
	/* Called before each wait: do pending work; return the wait timeout in
	 * ms (-1: none). */
	int (*poll)(void *ctx);
	/* A kick (tag = queue index, already drained) or a backend fd event. */
	void (*event)(void *ctx, uint64_t tag, uint32_t events);
};

/* Registers the kick eventfds of the ready queues and starts the thread.
 * 0 or a negative errno. */
int vworker_start(struct vworker *w, const struct virtio_run *run);
/* Stops and joins the thread, closes the epoll fd. Safe if never started. */
void vworker_stop(struct vworker *w);
/* Adds / changes / removes a backend fd (tag >= VWORKER_TAG_MIN). May be
 * called before vworker_start from the owner and after it from the device
 * thread only. */
int vworker_add(struct vworker *w, int fd, uint32_t events, uint64_t tag);
int vworker_mod(struct vworker *w, int fd, uint32_t events, uint64_t tag);
void vworker_del(struct vworker *w, int fd);
/* Creates the epoll set (before any vworker_add); vworker_destroy closes it. */
int vworker_init(struct vworker *w);
void vworker_destroy(struct vworker *w);

#endif
