/* Split virtqueues, device side (the virtio 1.2 specification), and what
 * every carve virtio device shares: guest memory through a checked accessor,
 * the feature and status bits, the device ids.
 *
 * Independent of KVM. Guest memory is reached only through struct
 * virtio_mem (the VMM passes its gm_ptr accessor): every guest address the
 * device dereferences goes through ptr(), which returns NULL unless
 * [gpa, gpa+len) lies inside guest RAM.
 *
 * Guests are untrusted: every descriptor index, length, address, ring size
 * and index jump is checked. A malformed queue is marked broken and says
 * why; the transport then puts the device in DEVICE_NEEDS_RESET.
 */
#ifndef CARVE_VIRTQ_H
#define CARVE_VIRTQ_H

#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- guest memory ---- */

/* ptr(ctx, gpa, len): a host pointer to [gpa, gpa+len) if that range lies
 * inside one guest RAM region, else NULL. The VMM passes gm_ptr. */
struct virtio_mem {
	void *(*ptr)(void *ctx, uint64_t gpa, uint64_t len);
	/* optional: whether the device may write [gpa, gpa+len) (the VMM's
	 * sub-page write protection); NULL: all of guest memory. */
	bool (*writable)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};

/* ---- feature bits, status bits, ids: Linux's uapi headers where they exist ---- */

#define VIRTIO_F_INDIRECT_DESC VIRTIO_RING_F_INDIRECT_DESC /* 28 */
#define VIRTIO_F_EVENT_IDX VIRTIO_RING_F_EVENT_IDX         /* 29 */
/* VIRTIO_F_VERSION_1 (32): <linux/virtio_config.h> */

#define VIRTIO_STATUS_ACKNOWLEDGE VIRTIO_CONFIG_S_ACKNOWLEDGE
#define VIRTIO_STATUS_DRIVER VIRTIO_CONFIG_S_DRIVER
#define VIRTIO_STATUS_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK
#define VIRTIO_STATUS_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK
#define VIRTIO_STATUS_NEEDS_RESET VIRTIO_CONFIG_S_NEEDS_RESET
#define VIRTIO_STATUS_FAILED VIRTIO_CONFIG_S_FAILED

#define VIRTIO_INT_USED VIRTIO_MMIO_INT_VRING
#define VIRTIO_INT_CONFIG VIRTIO_MMIO_INT_CONFIG

/* VIRTIO_ID_VSOCK (19): <linux/virtio_ids.h> */
#define VIRTIO_ID_NSM VIRTIO_ID_NITRO_SEC_MOD /* 33 */

/* ---- split virtqueue (device side) ---- */

#define VIRTQ_MAX_SIZE 32768 /* the spec's limit on a queue size */
#define VIRTQ_MAX_CHAIN 1024 /* descriptors in one chain, indirect entries included */

#define VIRTQ_DESC_F_NEXT VRING_DESC_F_NEXT
#define VIRTQ_DESC_F_WRITE VRING_DESC_F_WRITE
#define VIRTQ_DESC_F_INDIRECT VRING_DESC_F_INDIRECT
#define VIRTQ_AVAIL_F_NO_INTERRUPT VRING_AVAIL_F_NO_INTERRUPT

struct virtq_seg {
	uint8_t *p; /* host pointer, checked by virtio_mem.ptr */
	uint32_t len;
};

/* One popped descriptor chain: the device-readable segments come first
 * (seg[0 .. nr-1]), then the device-writable ones (seg[nr .. nr+nw-1]). */
struct virtq_chain {
	uint16_t head;
	uint16_t nr, nw;
	uint32_t rlen, wlen; /* byte totals of each kind */
	struct virtq_seg seg[VIRTQ_MAX_CHAIN];
};

struct virtq {
	const struct virtio_mem *mem;
	uint16_t num;
	bool event_idx, indirect;
	uint8_t *desc, *avail, *used; /* validated once in virtq_init */
	uint16_t last_avail;          /* next avail slot to pop */
	uint16_t used_idx;            /* device's copy of used->idx */
	uint16_t signalled_used;      /* used idx at the last notification decision */
	bool broken;                  /* a malformed ring was seen: stop using it */
	const char *why;              /* what was malformed */
	/* Chains refused because a device-writable buffer lies in memory the
	 * device may not write (virtio_mem.writable): virtq_pop completes
	 * each with 0 bytes and goes on (virtq_take_refused). */
	uint64_t refused;
	bool refused_unsignalled;
	uint64_t refused_gpa; /* the last refused buffer */
};

/* 0, or -EINVAL when num is not a power of two in [1, 32768], an address is
 * misaligned, or a ring does not lie inside guest memory. features are the
 * negotiated ones (EVENT_IDX and INDIRECT_DESC are honoured). */
int virtq_init(struct virtq *q, const struct virtio_mem *mem, uint16_t num, uint64_t desc, uint64_t avail,
	       uint64_t used, uint64_t features);
/* 1 with a chain in *c, 0 when the ring is empty, -EINVAL when the guest
 * broke the ring (q->broken is set and q->why says how; every later call
 * returns -EINVAL). */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
/* Whether virtq_pop refused chains since the last call (a device-writable
 * buffer in write-protected memory; *gpa: the last such buffer); each was
 * completed with 0 bytes written, so the caller notifies the driver as
 * after a push. A used ring the device may not write fails virtq_init. */
bool virtq_take_refused(struct virtq *q, uint64_t *gpa);
/* Gives back the chain popped last, unused (so it is popped again). */
void virtq_unpop(struct virtq *q);
/* Completes a chain with len bytes written to its writable part. */
void virtq_push(struct virtq *q, const struct virtq_chain *c, uint32_t len);
/* After pushes: whether the driver wants a used-buffer notification
 * (event index, or the NO_INTERRUPT flag). Call once per batch. */
bool virtq_should_notify(struct virtq *q);
/* Before sleeping: publishes avail_event (with EVENT_IDX) and says whether
 * more chains arrived meanwhile (then do not sleep). */
bool virtq_idle(struct virtq *q);

/* Copies between a chain and flat memory; off counts from the start of the
 * readable (read) or writable (write) part. Return the bytes copied. */
size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len);
size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len);

#endif
