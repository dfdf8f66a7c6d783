/* virtio devices: split virtqueues, the virtio-mmio (version 2) transport,
 * and the virtio-vsock and virtio-nsm devices (reference/vmm-anchors.md §6,
 * §2.9, §2.10; reference/nitro-enclaves.md §3.11, §4.6).
 *
 * Independent of KVM. The VMM supplies:
 *   - guest memory, only through struct virtio_mem (its gm_ptr accessor):
 *     every guest address the device dereferences goes through ptr(), which
 *     returns NULL unless [gpa, gpa+len) lies inside guest RAM;
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
 *
 * Guests are untrusted: every descriptor index, length, address, ring size
 * and index jump is checked. A malformed queue puts the device in
 * DEVICE_NEEDS_RESET (status bit 0x40) with a configuration-change
 * interrupt; a malformed vsock packet is dropped (and answered with RST).
 */
#ifndef CARVE_VIRTIO_H
#define CARVE_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- guest memory ---- */

/* ptr(ctx, gpa, len): a host pointer to [gpa, gpa+len) if that range lies
 * inside one guest RAM region, else NULL. The VMM passes gm_ptr. */
struct virtio_mem {
	void *(*ptr)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};

/* ---- feature bits, status bits, ids ---- */

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

#define VIRTIO_INT_USED 1u
#define VIRTIO_INT_CONFIG 2u

#define VIRTIO_ID_VSOCK 19
#define VIRTIO_ID_NSM 33

/* ---- split virtqueue (device side) ---- */

#define VIRTQ_MAX_SIZE 32768    /* the spec's limit on a queue size */
#define VIRTQ_MAX_CHAIN 1024    /* descriptors in one chain, indirect entries included */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq_seg {
	uint8_t *p;      /* host pointer, checked by virtio_mem.ptr */
	uint32_t len;
};

/* One popped descriptor chain: the device-readable segments come first
 * (seg[0 .. nr-1]), then the device-writable ones (seg[nr .. nr+nw-1]). */
struct virtq_chain {
	uint16_t head;
	uint16_t nr, nw;
	uint32_t rlen, wlen;   /* byte totals of each kind */
	struct virtq_seg seg[VIRTQ_MAX_CHAIN];
};

struct virtq {
	const struct virtio_mem *mem;
	uint16_t num;
	bool event_idx, indirect;
	uint8_t *desc, *avail, *used;   /* validated once in virtq_init */
	uint16_t last_avail;            /* next avail slot to pop */
	uint16_t used_idx;              /* device's copy of used->idx */
	uint16_t signalled_used;        /* used idx at the last notification decision */
	bool broken;                    /* a malformed ring was seen: stop using it */
	const char *why;                /* what was malformed */
};

/* 0, or -EINVAL when num is not a power of two in [1, 32768], an address is
 * misaligned, or a ring does not lie inside guest memory. features are the
 * negotiated ones (EVENT_IDX and INDIRECT_DESC are honoured). */
int virtq_init(struct virtq *q, const struct virtio_mem *mem, uint16_t num, uint64_t desc,
	       uint64_t avail, uint64_t used, uint64_t features);
/* 1 with a chain in *c, 0 when the ring is empty, -EINVAL when the guest
 * broke the ring (q->broken is set and q->why says how; every later call
 * returns -EINVAL). */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
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

/* ---- backends and the virtio-mmio transport ---- */

#define VIRTIO_MAX_QUEUES 8

struct virtio_mmio;

/* What a backend gets at DRIVER_OK: what VHOST_SET_FEATURES, SET_MEM_TABLE,
 * SET_VRING_NUM/ADDR/KICK/CALL would carry. */
struct virtio_run {
	struct virtio_mem mem;
	uint64_t features;                /* negotiated */
	int nqueues;
	struct {
		bool ready;
		uint16_t num;
		uint64_t desc, avail, used;
		int kick_fd;              /* eventfd written on QueueNotify */
	} q[VIRTIO_MAX_QUEUES];
	struct virtio_mmio *transport;    /* for virtio_mmio_interrupt / _needs_reset */
};

struct virtio_backend {
	uint32_t device_id;
	uint16_t nqueues;
	uint16_t queue_max;               /* QueueNumMax of every queue */
	uint32_t config_size;             /* bytes at 0x100 */
	uint64_t features;                /* device-specific bits (below 28); the
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

/* ---- virtio-vsock (device id 19) ---- */

#define VSOCK_CID_HOST 2
#define VSOCK_CID_PARENT 3
#define VSOCK_HEARTBEAT_PORT 9000
#define VSOCK_HEARTBEAT_BYTE 0xB7
#define VSOCK_QUEUE_SIZE 256
#define VSOCK_BUF_ALLOC (64 * 1024)   /* per-connection guest->host buffer */
#define VSOCK_MAX_CONNS 1024

/* The packet header, 44 bytes, little-endian (reference §6.4). */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));
#define VSOCK_HDR_SIZE 44

#define VSOCK_TYPE_STREAM 1
enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};
#define VSOCK_SHUTDOWN_RCV 1u   /* the sender will receive no more */
#define VSOCK_SHUTDOWN_SEND 2u  /* the sender will send no more */
#define VSOCK_MAX_PKT (64 * 1024) /* largest payload taken from the guest */

struct vsock_config {
	uint64_t guest_cid;
	/* The enclave's listening Unix socket: host programs connect here and
	 * write "CONNECT <port>\n" (docs/vsock.md). NULL: none. */
	const char *uds_path;
	/* Where the parent's listeners are: a guest connection to CID 3 (or 2)
	 * port P goes to <vsock_dir>/port-<P>.sock. NULL: none. */
	const char *vsock_dir;
	/* Called on the device thread when the guest sent the heartbeat byte to
	 * CID 3 port 9000 (the device echoes it itself). May be NULL. */
	void (*heartbeat)(void *ctx);
	void *heartbeat_ctx;
};

struct vsock_dev;

/* Binds uds_path (an existing socket file there is replaced). NULL with
 * errno on failure. */
struct vsock_dev *vsock_create(const struct vsock_config *cfg);
/* Call after virtio_mmio_destroy. Removes uds_path. */
void vsock_destroy(struct vsock_dev *v);
const struct virtio_backend *vsock_backend(void);

/* ---- virtio-nsm (device id 33) ---- */

#define VIRTIO_NSM_REQUEST_MAX 0x1000
#define VIRTIO_NSM_RESPONSE_MAX 0x3000
#define VIRTIO_NSM_QUEUE_SIZE 64

/* Handles one request on the device thread: writes at most resp_cap bytes
 * to resp and their count to *resp_len. A negative return completes the
 * request with no response bytes. nsm_handle_request fits (through a
 * wrapper that passes the engine). */
struct virtio_nsm_handler {
	int (*handle)(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap,
		      size_t *resp_len);
	void *ctx;
};

struct virtio_nsm;

struct virtio_nsm *virtio_nsm_create(const struct virtio_nsm_handler *h);
void virtio_nsm_destroy(struct virtio_nsm *n);
const struct virtio_backend *virtio_nsm_backend(void);

#endif
