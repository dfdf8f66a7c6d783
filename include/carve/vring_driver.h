/* The driver side of a split virtqueue in memory this process owns: what a
 * VMM needs when it is itself the driver of a kernel virtio backend (the
 * vhost-vsock bridge, src/virtio/vsock_bridge.c; a vhost-vdpa device,
 * tests/tools/vdpa_blk_check.c). A buffer is one descriptor (the bridge) or
 * a chain of them (a virtio-blk request: header, data, status byte).
 *
 * The device on the other side is the kernel, trusted as far as memory
 * goes, but its used entries are still checked (id and length) before they
 * are believed. */
#ifndef CARVE_VRING_DRIVER_H
#define CARVE_VRING_DRIVER_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vring_driver {
	uint16_t num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx; /* our copy of avail->idx */
	uint16_t last_used; /* the next used entry to read */
	uint16_t nfree;
	uint16_t free_head; /* free descriptors, linked through slot[].next */
	/* Per descriptor, our own record: the device may write desc[], so
	 * nothing read back from there is believed. */
	struct vring_driver_slot {
		uint64_t token; /* what the caller gave the buffer headed here */
		uint32_t len;   /* the length we gave the descriptor */
		uint16_t next;  /* the free list's link, or the chain's */
		uint16_t chain; /* descriptors in the chain headed here; 0: not an outstanding head */
	} * slot;
};

/* One piece of a buffer: its address as the device reads it (a guest
 * physical address, or an IOVA for vhost-vdpa) and which way it goes. */
struct vring_driver_buf {
	uint64_t addr;
	uint32_t len;
	bool device_writes;
};

/* Bytes of memory a ring of num entries takes (desc, avail, used, each
 * aligned as the split ring needs). */
size_t vring_driver_size(uint16_t num);
/* Lays the ring out in mem (zeroed by the caller, vring_driver_size bytes,
 * 4 KiB aligned). 0, or -1 (num not a power of two, no memory). */
int vring_driver_init(struct vring_driver *r, void *mem, uint16_t num);
void vring_driver_free(struct vring_driver *r);
/* Makes the buffer at gpa (len bytes, device-writable or not) available,
 * tagged with token. 0, or -1 when every descriptor is in use. */
int vring_driver_add(struct vring_driver *r, uint64_t gpa, uint32_t len, bool device_writes, uint64_t token);
/* Makes the n pieces one buffer (a descriptor chain, in that order), tagged
 * with token. 0, or -1 when fewer than n descriptors are free (or n is 0). */
int vring_driver_add_chain(struct vring_driver *r, const struct vring_driver_buf *bufs, unsigned n,
			   uint64_t token);
/* The next used buffer: 1 with its token and the bytes the device wrote, 0
 * when there is none, -1 when the device returned something it never had
 * or more bytes than the buffer holds (the ring is then not to be
 * trusted). */
int vring_driver_used(struct vring_driver *r, uint64_t *token, uint32_t *len);

#endif
