/* The virtio-mmio transport, version 2 (virtio 1.2 "Virtio Over MMIO"), as
 * the kernel's drivers use it: find a device among the command line's
 * virtio_mmio.device= words, negotiate VERSION_1 only, set up split queues,
 * post chains and poll for used ones (interrupts are not routed). */
#ifndef CARVE_VIRTIO_H
#define CARVE_VIRTIO_H

#include "kernel.h"

#define VDESC_NEXT 1
#define VDESC_WRITE 2

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct vq {
	uint16_t num, next_avail, last_used;
	volatile struct vdesc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[num] */
	volatile uint8_t *used;   /* flags, idx, ring[num] of {u32 id, u32 len} */
};

struct vdev {
	volatile uint8_t *regs;
	uint64_t base;
	uint32_t irq;
	int slot;                 /* index in boot_opts.virtio */
};

/* The first unclaimed device with this id; false if none. */
bool virtio_find(uint32_t device_id, struct vdev *out);
/* Resets the device, accepts VERSION_1, sets up nq queues (at most qmax
 * entries each), sets DRIVER_OK. False (device marked FAILED) on refusal. */
bool virtio_setup(struct vdev *d, struct vq *qs, int nq, uint16_t qmax);
uint32_t virtio_config32(struct vdev *d, uint32_t off);
/* Makes descriptor chain `head` available and notifies queue qi. */
void vq_post(struct vdev *d, struct vq *q, int qi, uint16_t head);
bool vq_has_used(const struct vq *q);
/* Takes the next used element: its chain head and written length. */
void vq_take(struct vq *q, uint32_t *id, uint32_t *len);
/* Polls (halting 200 us at a time) until q has a used element or the
 * deadline (monotonic ns) passes; false on timeout. */
bool vq_wait(struct vq *q, uint64_t deadline);

#endif
