/* Inside the vsock driver, shared by vsock.c (the device, the packets, the
 * heartbeat) and vsock_sock.c (the socket operations); no other file uses it. */
#ifndef CARVE_VSOCK_INT_H
#define CARVE_VSOCK_INT_H

#include <linux/virtio_vsock.h>

#include "errno.h"
#include "virtio.h"

/* The wire values: Linux's uapi header, the same the host's device uses. */
#define OP_REQUEST VIRTIO_VSOCK_OP_REQUEST
#define OP_RESPONSE VIRTIO_VSOCK_OP_RESPONSE
#define OP_RST VIRTIO_VSOCK_OP_RST
#define OP_SHUTDOWN VIRTIO_VSOCK_OP_SHUTDOWN
#define OP_RW VIRTIO_VSOCK_OP_RW
#define OP_CREDIT_UPDATE VIRTIO_VSOCK_OP_CREDIT_UPDATE
#define OP_CREDIT_REQUEST VIRTIO_VSOCK_OP_CREDIT_REQUEST
#define SHUT_RCV_F VIRTIO_VSOCK_SHUTDOWN_RCV
#define SHUT_SEND_F VIRTIO_VSOCK_SHUTDOWN_SEND
#define TYPE_STREAM VIRTIO_VSOCK_TYPE_STREAM
#define HDR 44
#define PKT_DATA (PAGE_SIZE - HDR)
#define VS_RXBUF 16384u      /* a connection's first receive ring */
#define VS_RXBUF_BIG 262144u /* its ring once it has moved VS_GROW_AFTER bytes */
#define VS_GROW_AFTER 65536u
#define EPHEMERAL_FIRST 1024u
/* Sends and receives of at least USER_COPY_MIN bytes of the program's
 * memory are copied natively (helper_copy_list: one round trip to CPL3 of
 * about 200 us on PVM hosts, where a kernel copy costs about 0.4 us per 8
 * bytes); smaller ones are copied by the kernel. Large sends go as packets
 * of up to TX_USER_MAX bytes (the device's limit, and Linux's) from
 * TX_SLOTS slots of a header and that much data each. */
#define USER_COPY_MIN 2048u
#define TX_USER_MAX 65536u
#define TX_SLOTS 8
#define TX_SLOT_PAGES ((HDR + TX_USER_MAX + PAGE_SIZE - 1) / PAGE_SIZE)
#define TX_WAIT_NS (10ull * 1000000000ull)        /* for a free tx page or slot */
#define DEFAULT_CONNECT_NS (2ull * 1000000000ull) /* Linux's VSOCK_DEFAULT_CONNECT_TIMEOUT */

struct __attribute__((packed)) vhdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};
_Static_assert(sizeof(struct vhdr) == HDR && sizeof(struct virtio_vsock_hdr) == HDR,
	       "virtio_vsock_hdr is 44 bytes");

enum vstate { VS_NEW, VS_LISTEN, VS_CONNECTING, VS_CONNECTED, VS_CLOSED };

struct vsock_sock {
	enum vstate state;
	bool bound, orphan;    /* orphan: the program closed it; waiting for the peer's RST */
	bool shut_rd, shut_wr; /* ours */
	bool peer_no_send, peer_no_rcv, reset;
	bool established; /* was connected (reads then end in EOF, not ENOTCONN) */
	int err;          /* for SO_ERROR and a pending connect */
	uint32_t lport, rport;
	uint64_t rcid;
	uint8_t *rx; /* rx_cap bytes, physically contiguous (vs_ring_alloc): connected sockets */
	uint32_t rx_cap, rx_head, rx_len, fwd_cnt, fwd_sent;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint64_t connect_ns;
	struct vsock_sock *accq[64]; /* listening: connected, not yet accepted */
	int nacc, backlog;
	struct vsock_sock *next;
};

uint64_t vs_guest_cid(void);
/* Gives s its receive ring (the buf_alloc it advertises): 0 or -ENOMEM. */
int vs_ring_alloc(struct vsock_sock *s);
/* Swaps an empty small ring for a large one when one can be had. */
void vs_ring_grow(struct vsock_sock *s);
struct vsock_sock *vs_alloc(void);
void vs_free(struct vsock_sock *s);
bool vs_port_used(uint32_t port);
/* Sends one packet; the credit fields come from s when given. 0 or -EIO. */
int vs_xmit(uint64_t dcid, uint32_t sport, uint32_t dport, uint16_t op, uint32_t flags, struct vsock_sock *s,
	    const void *data, uint32_t len);
int vs_ctrl(struct vsock_sock *s, uint16_t op, uint32_t flags);
/* Copies up to len bytes of the program's memory at ubuf (the caller
 * checked it with helper_user_range and credit allows len) into the free tx
 * slots in one native run and sends them as RW packets, kicked. The bytes
 * sent (0: no slot free now, see vs_tx_user_room); *faulted when a page of
 * the program's ended the copy before len or the slots' capacity. */
int64_t vs_xmit_user(struct vsock_sock *s, uint64_t ubuf, uint64_t len, bool *faulted);
bool vs_tx_user_room(void);
/* A connection that ended: reads see EOF, writes EPIPE (frees orphans). */
void vs_ended(struct vsock_sock *s);
/* Walks the used rings: returned tx pages, received packets, events. */
void vs_process(void);
/* Waits until cond(s) or the deadline (monotonic ns): 0, -ETIMEDOUT or -EIO. */
int vs_wait(struct vsock_sock *s, bool (*cond)(struct vsock_sock *), uint64_t deadline);

#endif
