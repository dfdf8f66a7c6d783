/* The device thread of a user-space virtio backend: one epoll loop that
 * waits for queue kicks (the kick eventfds, which KVM_IOEVENTFD signals),
 * for the backend's own descriptors (host sockets) and for control requests.
 * Private to the virtio part.
 *
 * The thread lives as long as the device: vworker_init starts it parked,
 * vworker_start (DRIVER_OK, on a vCPU thread) lets it serve, vworker_stop
 * (reset) parks it again and returns only once it is parked. So no device
 * thread is ever created by a vCPU thread: each thread kind keeps only its
 * own confinement (enclave/confine.c). */
#ifndef CARVE_VIRTIO_WORKER_H
#define CARVE_VIRTIO_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "carve/virtio_mmio.h"

/* Tags below VWORKER_TAG_MIN name queue kicks (the queue index); others are
 * backend pointers. */
#define VWORKER_TAG_MIN 4096

struct vworker {
	bool made; /* vworker_init ran: there is something to destroy */
	pthread_t th;
	bool have_thread;
	int epfd, ctl_fd;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool want_serving; /* what start/stop asked for */
	bool serving;      /* what the thread does (it sets this) */
	bool quit;
	int kick[VIRTIO_MAX_QUEUES]; /* registered kick fds, -1 if none */
	void *ctx;
	/* Called before each wait: do pending work; return the wait timeout in
	 * ms (-1: none). */
	int (*poll)(void *ctx);
	/* A kick (tag = queue index, already drained) or a backend fd event. */
	void (*event)(void *ctx, uint64_t tag, uint32_t events);
};

/* Creates the epoll set and starts the thread, parked, named `name` (at
 * most 15 characters, for top and /proc). 0 or a negative errno. `ctx`,
 * `poll` and `event` are what it calls while serving. */
int vworker_init(struct vworker *w, const char *name, void *ctx, int (*poll)(void *ctx),
		 void (*event)(void *ctx, uint64_t tag, uint32_t events));
/* Registers the kick eventfds of the ready queues and lets the thread
 * serve. 0 or a negative errno. */
int vworker_start(struct vworker *w, const struct virtio_run *run);
/* Parks the thread (waiting until it is) and unregisters the kicks. On
 * return nothing runs the backend's callbacks. Safe if never started. */
void vworker_stop(struct vworker *w);
/* On the device thread: queue q's kicks stop coming here (a kernel
 * datapath serves that queue now); vworker_start takes them again. */
void vworker_release_queue(struct vworker *w, int q);
/* Queue q's kicks (kick_fd) come here (again). 0 or a negative errno. */
int vworker_watch_queue(struct vworker *w, int q, int kick_fd);
/* Adds / changes / removes a backend fd (tag >= VWORKER_TAG_MIN). */
int vworker_add(struct vworker *w, int fd, uint32_t events, uint64_t tag);
int vworker_mod(struct vworker *w, int fd, uint32_t events, uint64_t tag);
void vworker_del(struct vworker *w, int fd);
/* Ends and joins the thread, closes the epoll set. Safe after a failed
 * vworker_init, and on a zeroed struct (nothing to do). */
void vworker_destroy(struct vworker *w);

#endif
