/* The vhost control plane: what a VMM tells a kernel (or hardware) virtio
 * datapath through the vhost ioctls, so that the data never passes through
 * the VMM's threads (Linux Documentation/virt/kvm/vhost and
 * include/uapi/linux/vhost.h). One set of calls serves /dev/vhost-vsock and
 * /dev/vhost-vdpa-N: owner, features, the memory table, each ring's size,
 * addresses, start index and its kick and call eventfds; then the device
 * kind's own switch (vsock: the guest CID and running; vDPA: the status
 * byte and ring enables).
 *
 * Every call returns 0 or -1 with err set (E29 IoctlFailure naming the
 * ioctl and the errno, or a more precise code where one fits). */
#ifndef CARVE_VHOST_H
#define CARVE_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "carve/error.h"

#define VHOST_VSOCK_PATH "/dev/vhost-vsock"

/* One piece of memory the backend may reach: descriptor addresses in
 * [gpa, gpa+size) are at hva in the VMM's address space. */
struct vhost_region {
	uint64_t gpa;
	uint64_t size;
	void *hva;
};

/* One split virtqueue as the backend is to serve it. */
struct vhost_ring {
	unsigned index;            /* queue index in the device */
	uint16_t num;              /* entries, a power of two */
	uint16_t base;             /* the next avail index the backend reads (0 on a fresh ring) */
	void *desc, *avail, *used; /* where the parts are, in the VMM's address space */
	int kick_fd;               /* eventfd the driver signals after adding buffers */
	int call_fd;               /* eventfd the backend signals after using them */
};

/* Opens a vhost character device (read-write, close-on-exec) and takes
 * ownership of it for this process (VHOST_SET_OWNER). A missing
 * /dev/vhost-vsock says which module to load. The fd, or -1. */
int vhost_open(const char *path, struct carve_err *err);
/* Offers `want`, keeps what the backend also has; *got (may be NULL) is the
 * result. Fails when a bit of `need` is missing. */
int vhost_negotiate(int fd, uint64_t want, uint64_t need, uint64_t *got, struct carve_err *err);
int vhost_set_memory(int fd, const struct vhost_region *regions, int n, struct carve_err *err);
int vhost_set_ring(int fd, const struct vhost_ring *ring, struct carve_err *err);

/* vhost-vsock: the guest's CID (E03 for one that cannot be a guest's, a
 * clear message when another VM on this host has it) and the switch. */
int vhost_vsock_set_cid(int fd, uint64_t cid, struct carve_err *err);
int vhost_vsock_set_running(int fd, bool running, struct carve_err *err);

/* vhost-vdpa: the virtio device id behind it, the status byte, one ring's
 * enable. */
int vhost_vdpa_device_id(int fd, uint32_t *id, struct carve_err *err);
int vhost_vdpa_set_status(int fd, uint8_t status, struct carve_err *err);
int vhost_vdpa_enable_ring(int fd, unsigned index, bool enable, struct carve_err *err);

#endif
