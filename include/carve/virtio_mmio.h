/* The virtio-mmio (version 2) transport and the backend interface of
 * carve's devices (Firecracker's virtio-mmio device manager).
 *
 * The VMM supplies:
 *   - MMIO exits: virtio_mmio_read / virtio_mmio_write (vCPU threads);
 *   - one "kick" eventfd per queue (virtio_mmio_kick_fd), to bind with
 *     KVM_IOEVENTFD at base + 0x50 with datamatch = queue index, and one
 *     interrupt eventfd (virtio_mmio_irq_fd), to bind with KVM_IRQFD on the
 *     slot's GSI. A QueueNotify write that does reach virtio_mmio_write
 *     signals the kick eventfd itself, so both paths work.
 *
 * The vhost model: the transport owns the register file; the device work is
 * done by a backend (struct virtio_backend) that gets, at DRIVER_OK, exactly
 * what a kernel vhost device would get (negotiated features, memory, ring
 * addresses, kick and call eventfds) and is stopped on reset. The backends
 * here run in user space on one device thread each (never a vCPU thread).
 * A malformed queue puts the device in DEVICE_NEEDS_RESET (status bit 0x40)
 * with a configuration-change interrupt.
 */
#ifndef CARVE_VIRTIO_MMIO_H
#define CARVE_VIRTIO_MMIO_H

#include "carve/virtq.h"

/* ---- backends and the virtio-mmio transport ---- */

#define VIRTIO_MAX_QUEUES 8

struct virtio_mmio;

/* What a backend gets at DRIVER_OK: what VHOST_SET_FEATURES, SET_MEM_TABLE,
 * SET_VRING_NUM/ADDR/KICK/CALL would carry. */
struct virtio_run {
	struct virtio_mem mem;
	uint64_t features; /* negotiated */
	int nqueues;
	struct {
		bool ready;
		uint16_t num;
		uint64_t desc, avail, used;
		int kick_fd; /* eventfd written on QueueNotify */
	} q[VIRTIO_MAX_QUEUES];
	struct virtio_mmio *transport; /* for virtio_mmio_interrupt / _needs_reset */
};

struct virtio_backend {
	uint32_t device_id;
	uint16_t nqueues;
	uint16_t queue_max;   /* QueueNumMax of every queue */
	uint32_t config_size; /* bytes at 0x100 */
	uint64_t features;    /* device-specific bits (below 28); the
					   * transport adds VERSION_1, EVENT_IDX and
					   * INDIRECT_DESC */
	/* Reads config bytes [off, off+len), already range-checked. */
	void (*config_read)(void *ctx, uint32_t off, void *buf, uint32_t len);
	/* DRIVER_OK: start serving the queues. 0 or a negative errno. */
	int (*start)(void *ctx, const struct virtio_run *run);
	/* Reset: stop; on return no guest memory is touched any more. */
	void (*stop)(void *ctx);
};

/* Creates the transport of one device slot. The backend's ctx must outlive
 * the transport. NULL on failure (errno set). */
struct virtio_mmio *virtio_mmio_create(const struct virtio_mem *mem, const struct virtio_backend *be,
				       void *ctx);
/* Stops the backend (if running) and frees the transport. */
void virtio_mmio_destroy(struct virtio_mmio *t);

/* MMIO accesses at offset (0 .. 0xfff) inside the slot, len 1, 2, 4 or 8,
 * little-endian data. Registers below 0x100 take aligned 4-byte accesses
 * only (others read as 0 and are ignored); config space takes any width
 * inside config_size. Called from vCPU threads. */
void virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, void *data, uint32_t len);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, const void *data, uint32_t len);

int virtio_mmio_kick_fd(const struct virtio_mmio *t, int queue);
int virtio_mmio_irq_fd(const struct virtio_mmio *t);
/* The device status register, for logs and tests. */
uint32_t virtio_mmio_status(const struct virtio_mmio *t);
/* Why the device set DEVICE_NEEDS_RESET (a static string), or NULL: the VMM
 * logs it ("virtio-vsock needs reset: descriptor chain loops ..."). */
const char *virtio_mmio_reset_reason(const struct virtio_mmio *t);

/* For backends (any thread): raise InterruptStatus bits and signal the
 * interrupt eventfd; mark the device DEVICE_NEEDS_RESET (with a
 * configuration-change interrupt). */
void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t bits);
void virtio_mmio_needs_reset(struct virtio_mmio *t, const char *why);
/* Called (any thread) when the device enters DEVICE_NEEDS_RESET (mostly a
 * guest that broke a queue), with why; once each time. For the operator's
 * log. */
void virtio_mmio_on_fault(struct virtio_mmio *t, void (*fault)(void *ctx, const char *what), void *ctx);
/* A fault of the guest's that does not need a reset (a request the device
 * refused), to the same log; any thread. */
void virtio_mmio_report(struct virtio_mmio *t, const char *what);
/* After a backend's pop loop on q: reports the chains it refused (write-
 * protected buffers, virtq_take_refused) and says whether there were any,
 * so the caller notifies the driver. */
struct virtq;
bool virtio_mmio_refused(struct virtio_mmio *t, struct virtq *q);

#endif
