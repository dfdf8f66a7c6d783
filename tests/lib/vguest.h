/* A guest virtio driver for device tests and benches: guest memory in a heap
 * buffer, the virtio-mmio handshake through virtio_mmio_read/write, split
 * virtqueues laid out the way a driver lays them out, notification through
 * the kick eventfd, interrupts read from the interrupt eventfd and the
 * InterruptStatus/InterruptACK registers. Plus a small vsock driver on top.
 * Not thread-safe: one thread plays the guest. */
#ifndef CARVE_TESTS_VGUEST_H
#define CARVE_TESTS_VGUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carve/virtio_mmio.h"
#include "carve/virtio_nsm.h"
#include "carve/vsock.h"

#define VG_BASE 0x100000ull /* guest memory starts at 1 MiB: 0 is outside it */

struct vg_queue {
	uint16_t num;
	uint64_t desc, avail, used; /* gpas */
	uint16_t avail_idx, last_used, kicked_idx;
	uint16_t free_head, nfree;
	uint16_t chain_len[1024];
	uint64_t token[1024]; /* caller data per head */
};

struct vguest {
	uint8_t *buf;
	uint64_t size, next; /* bump allocator over [VG_BASE, VG_BASE+size) */
	struct virtio_mem mem;
	struct virtio_mmio *t;
	int nq;
	struct vg_queue q[VIRTIO_MAX_QUEUES];
	uint64_t features;
	unsigned irqs;         /* interrupts seen */
	unsigned irq_timeouts; /* waits that ended without one */
};

struct vg_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

int vg_init(struct vguest *g, uint64_t size);
void vg_free(struct vguest *g);
uint64_t vg_alloc(struct vguest *g, uint64_t size, uint64_t align);
void *vg_hva(struct vguest *g, uint64_t gpa);

uint32_t vg_rd(struct vguest *g, uint32_t off);
void vg_wr(struct vguest *g, uint32_t off, uint32_t v);

/* The driver's initialization sequence (reset, ACKNOWLEDGE, DRIVER, features
 * = device's & want, FEATURES_OK and its check, queues of qsize, DRIVER_OK).
 * 0, or -1 when a step failed. */
int vg_setup(struct vguest *g, struct virtio_mmio *t, uint64_t want, int nq, uint16_t qsize);

/* Adds a chain of direct descriptors; returns the head or -1 (no room). */
int vg_add(struct vguest *g, int q, const struct vg_buf *b, int n, uint64_t token);
/* Adds one indirect descriptor naming a table of n entries (in guest memory). */
int vg_add_indirect(struct vguest *g, int q, const struct vg_buf *b, int n, uint64_t token);
/* Publishes the added chains and notifies the device. */
void vg_kick(struct vguest *g, int q);
/* Takes one used entry: 1 with the token and length, 0 if none. Frees the chain. */
int vg_used(struct vguest *g, int q, uint64_t *token, uint32_t *len);
/* Waits up to timeout_ms for an interrupt; returns InterruptStatus (after
 * acknowledging it), 0 on timeout. */
uint32_t vg_wait_irq(struct vguest *g, int timeout_ms);
/* Waits until queue q has a used entry (or timeout): 1, 0 on timeout. */
int vg_wait_used(struct vguest *g, int q, uint64_t *token, uint32_t *len, int timeout_ms);

/* ---- a vsock guest driver ---- */

#define VGV_RXBUF (VSOCK_HDR_SIZE + 4096)
#define VGV_NRX 128
#define VGV_NTX 64
#define VGV_TXBUF (VSOCK_HDR_SIZE + VSOCK_MAX_PKT)

struct vg_vsock {
	struct vguest g;
	struct virtio_mmio *t;
	uint64_t cid;
	uint64_t rxbuf[VGV_NRX];
	uint64_t txbuf[VGV_NTX];
	int tx_free[VGV_NTX];
	int ntx_free;
};

/* Guest memory, the transport for dev, the handshake (want: extra
 * features), rx buffers. v must not move afterwards. */
int vgv_init(struct vg_vsock *v, struct vsock_dev *dev, uint64_t cid, uint64_t want, uint16_t qsize);
/* Handshake again (after a reset), with fresh rings and buffers. */
int vgv_restart(struct vg_vsock *v, uint64_t want, uint16_t qsize);
/* Destroys the transport, frees the memory. */
void vgv_free(struct vg_vsock *v);
/* Sends one packet (header fields from h; len set from plen). 0, or -1 when
 * the tx queue stays full for timeout. */
int vgv_send(struct vg_vsock *v, const struct vsock_hdr *h, const void *payload, uint32_t plen);
/* Receives one packet: 1 with header and payload (cut to cap; *plen = bytes
 * in the packet), 0 on timeout. The rx buffer goes back to the device. */
int vgv_recv(struct vg_vsock *v, struct vsock_hdr *h, void *payload, uint32_t cap, uint32_t *plen,
	     int timeout_ms);
/* A header from the guest (src = its cid) to (dst_cid, dst_port). */
struct vsock_hdr vgv_hdr(const struct vg_vsock *v, uint64_t dst_cid, uint32_t src_port, uint32_t dst_port,
			 uint16_t op);

uint64_t vg_now_ms(void);

#endif
