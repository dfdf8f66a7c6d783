/* virtio-vsock internals, shared by its files and with the fuzz target and
 * tests. Private to the virtio part. The device is split along its seams, as
 * Firecracker's devices/virtio/vsock/ is:
 *
 *   vsock_packet.c  the 44-byte header: decode, check, encode; payload iovecs
 *   vsock_conn.c    the connection table (hash lookup), credit, the rx line
 *   vsock_txbuf.c   guest -> host bytes the host socket did not take yet
 *   vsock_muxer.c   the host side behind struct vsock_host_ops: today Unix
 *                   sockets (docs/vsock.md)
 *   vsock_bridge.c  the host kernel's AF_VSOCK through /dev/vhost-vsock:
 *                   carve drives the kernel's rings; vsock.c relays
 *   vsock_datapath.c  the enclave's own rings handed to vhost-vsock after
 *                   the heartbeat (the kernel datapath)
 *   vsock.c         the device: queues, the tx and rx paths, the heartbeat,
 *                   timers, the device thread's events
 */
#ifndef CARVE_VIRTIO_VSOCK_INTERNAL_H
#define CARVE_VIRTIO_VSOCK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "carve/error.h"
#include "carve/vhost.h"
#include "carve/vring_driver.h"
#include "carve/vsock.h"
#include "virtio/worker.h"

#define VSOCK_RXQ 0 /* device -> guest */
#define VSOCK_TXQ 1 /* guest -> device */
#define VSOCK_EVQ 2 /* events: never used (no transport resets) */
#define VSOCK_NQUEUES 3

#define VSOCK_TIMEOUT_MS 2000
#define VSOCK_ORPHANS 128
#define VSOCK_HB_BUF 64
#define VSOCK_HOST_PORT_FIRST (1u << 30)
#define VSOCK_HOST_PORT_END (1u << 31)
#define VSOCK_CONNECT_LINE_MAX 32
#define VSOCK_HASH_BUCKETS 2048 /* a power of two, twice VSOCK_MAX_CONNS */

/* What an epoll tag above the queue kicks points at. */
enum vsock_cookie_kind {
	VSOCK_COOKIE_LISTENER,
	VSOCK_COOKIE_CONN,
	VSOCK_COOKIE_BRIDGE,
	VSOCK_COOKIE_DATAPATH
};
struct vsock_cookie {
	enum vsock_cookie_kind kind;
};

/* ---- packets (vsock_packet.c) ---- */

/* Between wire order (little-endian) and host order, in place. */
void vsock_hdr_swap(struct vsock_hdr *h);
/* Reads and converts the header at the start of a tx chain; false when the
 * readable part is shorter than a header. */
bool vsock_hdr_decode(const struct virtq_chain *ch, struct vsock_hdr *h);
/* A well-formed stream packet whose payload lies in the chain; counts what
 * the device can handle, nothing about connections. */
bool vsock_hdr_well_formed(const struct vsock_hdr *h, uint32_t readable);
/* Writes h (host order) as the little-endian header at the start of ch. */
void vsock_hdr_encode(const struct virtq_chain *ch, const struct vsock_hdr *h);
/* iovecs over [off, off+len) of the readable (writable=false) or writable
 * part of ch; returns how many. */
int vsock_chain_iov(const struct virtq_chain *ch, bool writable, size_t off, size_t len, struct iovec *iov,
		    int max);

/* ---- the guest -> host buffer (vsock_txbuf.c) ---- */

/* A ring of exactly `cap` bytes (the credit the device advertises), allocated
 * on first use: a guest that respects credit can never overrun it. */
struct vsock_txbuf {
	uint8_t *buf;
	uint32_t cap, head, len;
};
/* Appends [off, off+n) of the chain's readable part; -1 when out of memory
 * or over cap. */
int vsock_txbuf_append(struct vsock_txbuf *b, const struct virtq_chain *ch, uint32_t off, uint32_t n);
/* Writes what it can to fd: bytes written (0 on EAGAIN), or -1 when the
 * socket failed. */
long vsock_txbuf_flush(struct vsock_txbuf *b, int fd);
void vsock_txbuf_free(struct vsock_txbuf *b);

/* ---- connections (vsock_conn.c) ---- */

enum vsock_cstate {
	C_HOST_HDR,   /* host connected, reading "CONNECT <port>\n" */
	C_CONNECTING, /* REQUEST sent to the guest, waiting for RESPONSE */
	C_ESTABLISHED,
};

/* Packets a connection owes the guest. */
enum vsock_pend {
	P_RST = 1,
	P_REQUEST = 2,
	P_RESPONSE = 4,
	P_SHUTDOWN = 8,
	P_CREDIT_UPDATE = 16,
	P_CREDIT_REQUEST = 32,
};

struct vconn {
	struct vsock_cookie cookie; /* first: the epoll tag points here */
	uint64_t peer_cid;          /* host side as the guest sees it: 2 or 3 */
	uint32_t peer_port;
	uint32_t guest_port;
	int fd; /* host socket; -1 for the heartbeat and relayed ones */
	bool heartbeat;
	bool relay; /* carried by the vhost-vsock bridge; only the address is used */
	enum vsock_cstate state;
	unsigned pend;
	bool dying; /* unlinked; freed once its last packet is out */
	int index;  /* in the table's list; -1 once unlinked */
	struct vconn *hash_next;
	bool in_rxq;
	struct vconn *rx_next;
	struct vconn *grave_next;
	uint32_t reg_events; /* current epoll registration (0: none) */
	uint64_t deadline;   /* ms; 0 none */

	/* guest -> host */
	uint32_t buf_alloc; /* what we advertise */
	struct vsock_txbuf tx;
	uint32_t rx_total; /* payload bytes taken from the guest */
	uint32_t fwd_cnt;  /* of those, written to the host */
	uint32_t fwd_sent; /* fwd_cnt as last told to the guest */
	bool guest_shut_send, guest_shut_rcv;
	bool host_wr_shut;

	/* host -> guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt; /* payload bytes sent to the guest */
	bool want_read;  /* the host socket reported readable */
	bool host_eof;
	bool credit_asked;

	char line[VSOCK_CONNECT_LINE_MAX];
	uint32_t line_len;
	uint8_t hb[VSOCK_HB_BUF];
	uint32_t hb_len;
};

/* ---- the host side (vsock_muxer.c) ---- */

/* Where guest connections go and host connections come from. One
 * implementation today (Unix sockets, vsock_unix_host); the device calls only
 * these. */
struct vsock_host_ops {
	/* Starts taking host connections: a listening fd for the device thread
	 * to watch (-1: none), or -1 with errno. */
	int (*listen)(struct vsock_dev *v);
	/* A new host connection on the listener: its fd, or -1 when none. */
	int (*accept)(struct vsock_dev *v);
	/* A host connection's request, read without consuming what follows:
	 * 1 with *port (the guest port it wants), 0 for more to come, -1 to
	 * drop it. */
	int (*read_request)(struct vsock_dev *v, struct vconn *c, uint32_t *port);
	/* The guest accepted host connection c: tell the host program. */
	int (*accepted)(struct vsock_dev *v, struct vconn *c);
	/* A guest connecting to the parent's port: a connected, non-blocking
	 * fd, or -1 (nobody listens there: RST). */
	int (*connect)(struct vsock_dev *v, uint32_t port);
	void (*close)(struct vsock_dev *v);
};
extern const struct vsock_host_ops vsock_unix_host;

/* ---- the vhost-vsock bridge (vsock_bridge.c) ---- */

#define VSOCK_BRIDGE_RING 64
#define VSOCK_BRIDGE_RX_BUF (16 * 1024) /* header included */
#define VSOCK_BRIDGE_TX_BUF (VSOCK_HDR_SIZE + VSOCK_MAX_PKT)
#define VSOCK_BRIDGE_ALL UINT32_MAX

struct vsock_bridge_recv {
	uint16_t buf; /* which rx buffer */
	uint32_t len; /* bytes the kernel wrote: header + payload */
	uint32_t off; /* payload bytes already passed on */
};

struct vsock_bridge {
	int fd; /* /dev/vhost-vsock */
	uint8_t *mem;
	size_t mem_size;
	struct vring_driver rx, tx; /* from the kernel, to the kernel */
	int kick[2], call[2];
	bool kick_rx, kick_tx;
	uint16_t tx_free[VSOCK_BRIDGE_RING];
	int ntx_free;
	struct vsock_bridge_recv recv[VSOCK_BRIDGE_RING]; /* filled, in arrival order */
	unsigned recv_head, nrecv;
	struct vsock_cookie tx_cookie; /* the epoll tag of both call fds */
};

/* The memory, rings and eventfds, every rx buffer posted; no kernel yet
 * (device tests play the kernel on these rings). NULL with err set. */
struct vsock_bridge *vsock_bridge_new(struct carve_err *err);
/* Registers cid with the kernel (the vhost device at path) and starts its
 * rings. -1 with err set (no module, CID taken, ...). */
int vsock_bridge_connect_kernel(struct vsock_bridge *b, const char *path, uint64_t cid,
				struct carve_err *err);
void vsock_bridge_close(struct vsock_bridge *b);
/* Takes what the kernel used: free tx buffers, received packets. -1 when
 * the kernel's used ring made no sense. */
int vsock_bridge_collect(struct vsock_bridge *b);
bool vsock_bridge_can_send(const struct vsock_bridge *b);
/* h (host order, already addressed for the kernel) and h->len payload bytes
 * from ch after its header (ch may be NULL for len 0). false: no buffer free. */
bool vsock_bridge_send(struct vsock_bridge *b, const struct vsock_hdr *h, const struct virtq_chain *ch);
/* The oldest packet from the kernel: its header (len = the whole payload),
 * the payload not yet passed on and how much of it is left. */
bool vsock_bridge_peek(struct vsock_bridge *b, struct vsock_hdr *h, const uint8_t **payload, uint32_t *left);
/* n payload bytes of it passed on (VSOCK_BRIDGE_ALL: done with it); the
 * buffer goes back to the kernel once all of it is. */
void vsock_bridge_consume(struct vsock_bridge *b, uint32_t n);
/* Resets the kernel's side of a connection (best effort: dropped when no
 * buffer is free). */
void vsock_bridge_rst(struct vsock_bridge *b, uint64_t guest_cid, uint32_t guest_port, uint32_t host_port);
/* Signals the kernel for what was added since the last call. */
void vsock_bridge_kick(struct vsock_bridge *b);

/* ---- the kernel datapath (vsock_datapath.c) ---- */

struct vsock_datapath {
	int fd;      /* /dev/vhost-vsock, owned, the guest's memory table set */
	int call_fd; /* vhost signals used buffers here; the device thread interrupts */
	bool running;
	struct vsock_cookie cookie;
};

/* Opens the vhost device and gives it the guest's RAM (before confinement).
 * NULL with err set. */
struct vsock_datapath *vsock_datapath_new(const char *path, const struct vhost_region *regions, int n,
					  struct carve_err *err);
/* Hands the rx and tx rings, as the device left them, to the kernel, with
 * the guest's CID. -1 with err set. */
int vsock_datapath_start(struct vsock_datapath *d, const struct virtio_run *run, const struct virtq *rx,
			 const struct virtq *tx, uint64_t cid, struct carve_err *err);
/* Drains the call eventfd: true when the kernel used buffers. */
bool vsock_datapath_called(struct vsock_datapath *d);
void vsock_datapath_close(struct vsock_datapath *d);

/* ---- the device (vsock.c) ---- */

struct vsock_dev {
	struct vsock_config cfg;
	char *uds_path, *vsock_dir;
	const struct vsock_host_ops *host;
	int listen_fd;
	struct vsock_cookie listener; /* the epoll tag of listen_fd */
	struct vworker w;
	struct virtio_run run;
	bool attached;
	struct virtq q[VSOCK_NQUEUES];
	bool have_q[VSOCK_NQUEUES];
	struct virtq_chain *chain;

	/* the connection table */
	struct vconn **conns; /* every live one, for timers and reset */
	int nconns;
	struct vconn **buckets; /* VSOCK_HASH_BUCKETS chains by address */
	struct vconn *rx_head, *rx_tail;
	int rxq_len;
	struct vconn *grave;
	struct vsock_hdr orphans[VSOCK_ORPHANS];
	unsigned norphans, orphan_head;
	uint32_t next_host_port;
	bool rx_pushed;
	struct vsock_bridge *bridge;     /* NULL: Unix sockets only */
	struct vsock_datapath *datapath; /* NULL: the rings stay carve's */
	bool heartbeat_seen;             /* the guest sent the heartbeat byte */
	bool tx_stalled;                 /* a relayed packet waits for a bridge buffer */
	uint64_t bad_packets;
};

uint64_t vsock_now_ms(void);

int vsock_table_init(struct vsock_dev *v);
void vsock_table_free(struct vsock_dev *v);
struct vconn *vsock_find(struct vsock_dev *v, uint64_t peer_cid, uint32_t peer_port, uint32_t guest_port);
/* A new connection on host fd (-1: none), not yet in the hash (its address
 * is unknown until vsock_conn_bind); NULL when the table is full. */
struct vconn *vsock_conn_new(struct vsock_dev *v, int fd);
/* Gives c its address and puts it in the hash. */
void vsock_conn_bind(struct vsock_dev *v, struct vconn *c, uint64_t peer_cid, uint32_t peer_port,
		     uint32_t guest_port);
/* Unlinks c; with rst, the guest is told (RST) before c is freed. */
void vsock_conn_kill(struct vsock_dev *v, struct vconn *c, bool rst);
/* Frees the connections that died since the last call. */
void vsock_bury(struct vsock_dev *v);
void vsock_grave_add(struct vsock_dev *v, struct vconn *c);
uint32_t vsock_peer_credit(const struct vconn *c);
bool vsock_data_ready(const struct vconn *c);
bool vsock_has_rx(const struct vconn *c);
void vsock_rxq_add(struct vsock_dev *v, struct vconn *c);
struct vconn *vsock_rxq_pop(struct vsock_dev *v);
/* Epoll interest, a credit request if it needs one, its place in the rx
 * line: everything that follows from c's state. */
void vsock_conn_update(struct vsock_dev *v, struct vconn *c);
void vsock_maybe_credit_update(struct vconn *c);

/* Takes the queues of run (no thread). 0 or -EINVAL. */
int vsock_attach(struct vsock_dev *v, const struct virtio_run *run);
/* Drops every connection and the queues. */
void vsock_detach(struct vsock_dev *v);
/* Handles one guest packet: the readable part of c (header + payload).
 * false: it is for the vhost-vsock bridge, which has no buffer free now;
 * give it back and try again when the kernel returns one. */
bool vsock_tx_packet(struct vsock_dev *v, const struct virtq_chain *c);
/* Fills rx buffers with pending packets (round-robin over connections);
 * returns the number of packets delivered. */
int vsock_rx_pump(struct vsock_dev *v);
/* One pass of the device loop's housekeeping: frees dead connections,
 * expires timers, pumps rx. Returns the next timeout in ms (-1: none). */
int vsock_housekeeping(struct vsock_dev *v);
/* Gives v the bridge b (before the guest starts the device); v owns it. */
void vsock_use_bridge(struct vsock_dev *v, struct vsock_bridge *b);
/* Live connections (for tests). */
int vsock_nconns(const struct vsock_dev *v);

#endif
