/* The kernel datapath: the enclave's own virtio-vsock rx and tx rings handed
 * to the host kernel's vhost-vsock, so guest data never passes through
 * carve's threads. carve keeps the control plane: the memory table (the
 * guest's RAM regions), the rings' addresses and start indices, the kick
 * eventfds KVM already signals on QueueNotify, and one call eventfd that the
 * device thread turns into the transport's interrupt (virtio-mmio's
 * InterruptStatus must say "used buffer" before the guest looks, so vhost
 * cannot inject through an irqfd directly).
 *
 * vhost-vsock takes only packets addressed to the host CID 2, so the
 * enclave's programs must address the host as CID 2 once the kernel has its
 * rings; the device (vsock.c) hands them over only after the heartbeat,
 * which it answers itself as on EC2 at CID 3, when no connection is open.
 * docs/vsock.md, "The kernel datapath". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/vsock_internal.h"

/* What carve's transport may have negotiated and vhost serves the same way:
 * the rings' layout and notification suppression. */
#define DATAPATH_RING_FEATURES \
	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_F_INDIRECT_DESC))

struct vsock_datapath *vsock_datapath_new(const char *path, const struct vhost_region *regions, int n,
					  struct carve_err *err)
{
	struct vsock_datapath *d = calloc(1, sizeof(*d));
	if (!d) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		return NULL;
	}
	d->cookie.kind = VSOCK_COOKIE_DATAPATH;
	d->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->call_fd < 0) {
		carve_fail(err, E74_DEVICE_SETUP, "vsock kernel datapath: eventfd: %s", strerror(errno));
		free(d);
		return NULL;
	}
	/* Opened and given the guest's memory now, before the enclave process
	 * is confined: the device thread may only make vhost's own ioctls on
	 * this fd later, never open one. */
	d->fd = vhost_open(path, err);
	if (d->fd < 0 || vhost_set_memory(d->fd, regions, n, err) < 0) {
		vsock_datapath_close(d);
		return NULL;
	}
	return d;
}

void vsock_datapath_close(struct vsock_datapath *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd); /* the kernel stops the rings and forgets the CID */
	if (d->call_fd >= 0)
		close(d->call_fd);
	free(d);
}

static int ring(struct vsock_datapath *d, const struct virtio_run *run, unsigned index, const struct virtq *q,
		struct carve_err *err)
{
	/* Sizes as the split ring lays them out (virtio 1.2, 2.7). */
	uint64_t desc_len = 16ull * q->num, avail_len = 6 + 2ull * q->num, used_len = 6 + 8ull * q->num;
	void *desc = run->mem.ptr(run->mem.ctx, run->q[index].desc, desc_len);
	void *avail = run->mem.ptr(run->mem.ctx, run->q[index].avail, avail_len);
	void *used = run->mem.ptr(run->mem.ctx, run->q[index].used, used_len);
	if (!desc || !avail || !used)
		return carve_fail(err, E74_DEVICE_SETUP,
				  "vsock kernel datapath: queue %u is outside guest memory", index);
	/* vhost-vsock reads the rings at this process's own addresses. */
	struct vhost_ring r = {
		.index = index,
		.num = q->num,
		.base = q->last_avail,
		.desc = (uint64_t)(uintptr_t)desc,
		.avail = (uint64_t)(uintptr_t)avail,
		.used = (uint64_t)(uintptr_t)used,
		.kick_fd = run->q[index].kick_fd,
		.call_fd = d->call_fd,
	};
	return vhost_set_ring(d->fd, &r, err);
}

int vsock_datapath_start(struct vsock_datapath *d, const struct virtio_run *run, const struct virtq *rx,
			 const struct virtq *tx, uint64_t cid, struct carve_err *err)
{
	uint64_t ring_features = run->features & DATAPATH_RING_FEATURES;
	if (vhost_negotiate(d->fd, ring_features, ring_features, NULL, err) < 0 ||
	    ring(d, run, VSOCK_RXQ, rx, err) < 0 || ring(d, run, VSOCK_TXQ, tx, err) < 0 ||
	    vhost_vsock_set_cid(d->fd, cid, err) < 0 || vhost_vsock_set_running(d->fd, true, err) < 0)
		return -1;
	d->running = true;
	return 0;
}

bool vsock_datapath_called(struct vsock_datapath *d)
{
	uint64_t n;
	return read(d->call_fd, &n, sizeof(n)) == sizeof(n);
}
