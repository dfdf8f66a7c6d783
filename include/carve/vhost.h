/* The vhost control plane: what a VMM tells a kernel (or hardware) virtio
 * datapath through the vhost ioctls, so that the data never passes through
 * the VMM's threads (Linux Documentation/virt/kvm/vhost and
 * include/uapi/linux/vhost.h). One set of calls serves /dev/vhost-vsock and
 * /dev/vhost-vdpa-N: owner, features, each ring's size, addresses, start
 * index and its kick and call eventfds. What differs is how the backend
 * reaches memory and the device kind's own switch:
 *   - vhost-vsock: a memory table (VHOST_SET_MEM_TABLE) of guest physical
 *     ranges; ring addresses are this process's own; the guest CID and
 *     running;
 *   - vhost-vdpa: an IOTLB (struct vhost_msg_v2 written to the fd, after
 *     VHOST_BACKEND_F_IOTLB_MSG_V2 is agreed); ring addresses are IOVAs,
 *     which carve makes equal to guest physical addresses (as QEMU does);
 *     the virtio status byte and ring enables (src/vhost/vdpa.c,
 *     src/vhost/iotlb.c).
 *
 * Every call returns 0 or -1 with err set (E29 IoctlFailure naming the
 * ioctl and the errno, or a more precise code where one fits). */
#ifndef CARVE_VHOST_H
#define CARVE_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "carve/error.h"

#define VHOST_VSOCK_PATH "/dev/vhost-vsock"
#define VHOST_VDPA_PATH_PREFIX "/dev/vhost-vdpa-"

/* One piece of memory the backend may reach: descriptor addresses in
 * [gpa, gpa+size) are at hva in the VMM's address space. */
struct vhost_region {
	uint64_t gpa;
	uint64_t size;
	void *hva;
};

/* One split virtqueue as the backend is to serve it. */
struct vhost_ring {
	unsigned index; /* queue index in the device */
	uint16_t num;   /* entries, a power of two */
	uint16_t base;  /* the next avail index the backend reads (0 on a fresh ring) */
	/* Where the parts are, as the backend reads them: for vhost-vsock the
	 * VMM's own (user) addresses, since vhost reads the rings through this
	 * process's mm; for vhost-vdpa IOVAs, which the device reads through
	 * the IOTLB it was given (vhost_iotlb_map). */
	uint64_t desc, avail, used;
	int kick_fd; /* eventfd the driver signals after adding buffers */
	int call_fd; /* eventfd the backend signals after using them */
};

/* Opens a vhost character device (read-write, close-on-exec) and takes
 * ownership of it for this process (VHOST_SET_OWNER). A missing
 * /dev/vhost-vsock or /dev/vhost-vdpa-N says which module to load (or,
 * the module loaded, that no vDPA device is bound to it); a vhost-vdpa
 * device another process holds says so. The fd, or -1. */
int vhost_open(const char *path, struct carve_err *err);
/* Offers `want`, keeps what the backend also has; *got (may be NULL) is the
 * result. Fails when a bit of `need` is missing. */
int vhost_negotiate(int fd, uint64_t want, uint64_t need, uint64_t *got, struct carve_err *err);
/* vhost-vsock (and vhost-net): the memory table. */
int vhost_set_memory(int fd, const struct vhost_region *regions, int n, struct carve_err *err);
int vhost_set_ring(int fd, const struct vhost_ring *ring, struct carve_err *err);

/* vhost-vsock: the guest's CID (E03 for one that cannot be a guest's, a
 * clear message when another VM on this host has it) and the switch. */
int vhost_vsock_set_cid(int fd, uint64_t cid, struct carve_err *err);
int vhost_vsock_set_running(int fd, bool running, struct carve_err *err);

/* vhost-vdpa, one ioctl each (src/vhost/vdpa.c). The virtio device id
 * behind the fd (VIRTIO_ID_*); the status byte, read and written (0
 * resets the device; otherwise a bit once set may not be cleared); a part
 * of the device's configuration space; the largest ring the device takes;
 * one ring's enable; the IOVAs the device can reach. */
int vhost_vdpa_device_id(int fd, uint32_t *id, struct carve_err *err);
int vhost_vdpa_get_status(int fd, uint8_t *status, struct carve_err *err);
int vhost_vdpa_set_status(int fd, uint8_t status, struct carve_err *err);
int vhost_vdpa_get_config(int fd, uint32_t off, void *buf, uint32_t len, struct carve_err *err);
int vhost_vdpa_vring_num_max(int fd, uint16_t *num, struct carve_err *err);
int vhost_vdpa_enable_ring(int fd, unsigned index, bool enable, struct carve_err *err);
int vhost_vdpa_iova_range(int fd, uint64_t *first, uint64_t *last, struct carve_err *err);
/* Agrees the backend features the IOTLB needs: VHOST_BACKEND_F_IOTLB_MSG_V2
 * (required) and VHOST_BACKEND_F_IOTLB_BATCH (when offered); *got is what
 * was agreed, to pass to vhost_iotlb_map. */
int vhost_vdpa_backend_setup(int fd, uint64_t *got, struct carve_err *err);

/* The vhost IOTLB (src/vhost/iotlb.c): each region mapped read-write at
 * IOVA = its gpa, or unmapped, as VHOST_IOTLB_UPDATE / INVALIDATE messages
 * written to the fd, in one batch when backend_features has
 * VHOST_BACKEND_F_IOTLB_BATCH (the device then updates its mapping once).
 * A device that reaches memory through a file (VDUSE: use_va) maps only
 * shared file-backed memory (a memfd, MAP_SHARED); the kernel silently
 * skips anything else, so callers give it such memory. */
int vhost_iotlb_map(int fd, const struct vhost_region *regions, int n, uint64_t backend_features,
		    struct carve_err *err);
int vhost_iotlb_unmap(int fd, const struct vhost_region *regions, int n, uint64_t backend_features,
		      struct carve_err *err);

/* A vhost-vdpa device brought up as a virtio driver would (virtio 1.2,
 * 3.1.1), in the order the kernel accepts (drivers/vhost/vdpa.c):
 *   vhost_vdpa_open     owner, backend features, device id (checked),
 *                       reset, ACKNOWLEDGE|DRIVER, the IOVA range and the
 *                       largest ring;
 *   vhost_vdpa_negotiate  features, then FEATURES_OK (read back: a device
 *                       that refuses the set clears it);
 *   vhost_vdpa_map      memory into the IOTLB (remembered, for close);
 *   vhost_vdpa_add_ring each ring (size checked), enabled;
 *   vhost_vdpa_driver_ok DRIVER_OK;
 *   vhost_vdpa_reset    status 0: the device stops and forgets its rings;
 *   vhost_vdpa_close    reset, every mapping invalidated, the fd closed. */
#define VHOST_VDPA_MAX_REGIONS 8
struct vhost_vdpa {
	int fd;
	const char *path; /* the caller's string, kept for messages */
	uint32_t device_id;
	uint64_t backend_features;
	uint64_t features;
	uint64_t iova_first, iova_last;
	uint16_t vring_num_max;
	struct vhost_region regions[VHOST_VDPA_MAX_REGIONS];
	int nregions;
};
/* device_id: the VIRTIO_ID_* the caller drives; anything else is refused
 * with E03 naming both. */
int vhost_vdpa_open(struct vhost_vdpa *v, const char *path, uint32_t device_id, struct carve_err *err);
int vhost_vdpa_negotiate(struct vhost_vdpa *v, uint64_t want, uint64_t need, struct carve_err *err);
int vhost_vdpa_map(struct vhost_vdpa *v, const struct vhost_region *region, struct carve_err *err);
int vhost_vdpa_add_ring(struct vhost_vdpa *v, const struct vhost_ring *ring, struct carve_err *err);
int vhost_vdpa_driver_ok(struct vhost_vdpa *v, struct carve_err *err);
int vhost_vdpa_reset(struct vhost_vdpa *v, struct carve_err *err);
/* 0, or -1 with err when a step of the teardown was refused (the fd is
 * closed either way, which makes the kernel drop whatever is left). */
int vhost_vdpa_close(struct vhost_vdpa *v, struct carve_err *err);
/* "block", "network", "vsock"... for messages. */
const char *vhost_virtio_id_name(uint32_t id);

#endif
