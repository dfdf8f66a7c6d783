/* virtio-vsock, device id 19 (reference/vmm-anchors.md §6.4, §2.10;
 * reference/nitro-enclaves.md §3.11; docs/vsock.md for the host side).
 *
 * Queues: 0 rx (device -> guest), 1 tx (guest -> device), 2 event (never
 * used: no transport resets). Stream sockets only. Every guest connection is
 * paired with one host Unix stream socket:
 *   - guest -> host: a REQUEST to CID 3 (or 2) port P connects to
 *     <vsock_dir>/port-<P>.sock; no listener there -> RST. CID 3 port 9000
 *     is the heartbeat, answered by the device itself.
 *   - host -> guest: a host program connects to uds_path and writes
 *     "CONNECT <P>\n"; the device sends REQUEST (from CID 3, a host port in
 *     [2^30, 2^31)) to the guest's port P and, when the guest answers
 *     RESPONSE, writes "OK <host port>\n" to the host socket. RST (or no
 *     answer within 2 s) closes the host socket.
 *
 * Flow control (stream credit): the device advertises buf_alloc = 64 KiB per
 * connection and its fwd_cnt (bytes of guest data written to the host
 * socket). Guest data that the host socket does not take at once waits in a
 * per-connection buffer of exactly buf_alloc bytes, which the guest can never
 * overrun while it respects credit (a guest that does not gets RST). In the
 * other direction, host data is read straight from the socket into the
 * guest's rx buffer, never more than the guest's credit; with no credit the
 * device stops reading the socket (and asks the guest for a credit update).
 * So there is no unbounded buffering anywhere.
 *
 * Fairness: connections with something to send to the guest wait in one FIFO;
 * each rx buffer goes to the head, which goes back to the tail if it has
 * more. Replies to packets for no connection (RST) wait in a bounded ring.
 *
 * Threading: everything runs on the device thread (worker.c). Connections
 * that die are unlinked at once and freed between epoll batches, so an
 * event already fetched for a dead connection is never dispatched to freed
 * memory.
 */
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "virtio/vsock_internal.h"
#include "virtio/worker.h"

#define TIMEOUT_MS 2000
#define ORPHANS 128
#define HB_BUF 64
#define HOST_PORT_FIRST (1u << 30)
#define HOST_PORT_END (1u << 31)
#define CONNECT_LINE_MAX 32

enum cstate {
	C_HOST_HDR,     /* host connected, reading "CONNECT <port>\n" */
	C_CONNECTING,   /* REQUEST sent to the guest, waiting for RESPONSE */
	C_ESTABLISHED,
};

enum pend {
	P_RST = 1,
	P_REQUEST = 2,
	P_RESPONSE = 4,
	P_SHUTDOWN = 8,
	P_CREDIT_UPDATE = 16,
	P_CREDIT_REQUEST = 32,
};

struct vconn {
	uint64_t peer_cid;     /* host side as the guest sees it: 2 or 3 */
	uint32_t peer_port;
	uint32_t guest_port;
	int fd;                /* host socket; -1 for the heartbeat */
	bool heartbeat;
	enum cstate state;
	unsigned pend;
	bool dying;            /* unlinked; freed once its last packet is out */
	bool in_rxq;
	struct vconn *rx_next;
	struct vconn *grave_next;
	uint32_t reg_events;   /* current epoll registration (0: none) */
	uint64_t deadline;     /* ms; 0 none */

	/* guest -> host */
	uint32_t buf_alloc;    /* what we advertise */
	uint8_t *tx;           /* ring of buf_alloc bytes, allocated on first use */
	uint32_t tx_head, tx_len;
	uint32_t rx_total;     /* payload bytes taken from the guest */
	uint32_t fwd_cnt;      /* of those, written to the host */
	uint32_t fwd_sent;     /* fwd_cnt as last told to the guest */
	bool guest_shut_send, guest_shut_rcv;
	bool host_wr_shut;

	/* host -> guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt;       /* payload bytes sent to the guest */
	bool want_read;        /* the host socket reported readable */
	bool host_eof;
	bool credit_asked;

	char line[CONNECT_LINE_MAX];
	uint32_t line_len;
	uint8_t hb[HB_BUF];
	uint32_t hb_len;
};

struct vsock_dev {
	struct vsock_config cfg;
	char *uds_path, *vsock_dir;
	int listen_fd;
	struct vworker w;
	struct virtio_run run;
	bool attached;
	struct virtq q[3];
	bool have_q[3];
	struct virtq_chain *chain;

	struct vconn **conns;
	int nconns;
	struct vconn *rx_head, *rx_tail;
	int rxq_len;
	struct vconn *grave;
	struct vsock_hdr orphans[ORPHANS];
	unsigned norphans, orphan_head;
	uint32_t next_host_port;
	bool rx_pushed;
	uint64_t bad_packets;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int vsock_nconns(const struct vsock_dev *v)
{
	return __atomic_load_n(&v->nconns, __ATOMIC_RELAXED); /* tests read it from another thread */
}

/* ---- connection bookkeeping ---- */

static struct vconn *find(struct vsock_dev *v, uint64_t peer_cid, uint32_t peer_port, uint32_t guest_port)
{
	for (int i = 0; i < v->nconns; i++) {
		struct vconn *c = v->conns[i];
		if (c->peer_port == peer_port && c->guest_port == guest_port && c->peer_cid == peer_cid)
			return c;
	}
	return NULL;
}

static struct vconn *conn_new(struct vsock_dev *v, int fd)
{
	if (v->nconns >= VSOCK_MAX_CONNS)
		return NULL;
	struct vconn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->buf_alloc = VSOCK_BUF_ALLOC;
	v->conns[v->nconns] = c;
	__atomic_store_n(&v->nconns, v->nconns + 1, __ATOMIC_RELAXED);
	return c;
}

static uint32_t peer_credit(const struct vconn *c)
{
	uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;
	return inflight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - inflight;
}

static bool data_ready(const struct vconn *c)
{
	if (c->state != C_ESTABLISHED || c->guest_shut_rcv || peer_credit(c) == 0)
		return false;
	if (c->heartbeat)
		return c->hb_len > 0;
	return c->want_read && !c->host_eof;
}

static bool has_rx(const struct vconn *c)
{
	return c->pend != 0 || (!c->dying && data_ready(c));
}

static void rxq_add(struct vsock_dev *v, struct vconn *c)
{
	if (c->in_rxq || !has_rx(c))
		return;
	c->in_rxq = true;
	c->rx_next = NULL;
	v->rxq_len++;
	if (v->rx_tail)
		v->rx_tail->rx_next = c;
	else
		v->rx_head = c;
	v->rx_tail = c;
}

static struct vconn *rxq_pop(struct vsock_dev *v)
{
	struct vconn *c = v->rx_head;
	if (!c)
		return NULL;
	v->rx_head = c->rx_next;
	if (!v->rx_head)
		v->rx_tail = NULL;
	c->in_rxq = false;
	v->rxq_len--;
	return c;
}

/* The epoll interest a connection needs now. */
static uint32_t wanted_events(const struct vconn *c)
{
	if (c->fd < 0 || c->dying)
		return 0;
	if (c->state == C_HOST_HDR)
		return EPOLLIN;
	if (c->state != C_ESTABLISHED)
		return 0;
	uint32_t ev = 0;
	if (!c->want_read && !c->host_eof && !c->guest_shut_rcv && peer_credit(c) > 0)
		ev |= EPOLLIN;
	if (c->tx_len > 0)
		ev |= EPOLLOUT;
	return ev;
}

/* Registers only what is wanted; with nothing wanted the fd leaves the set,
 * so a hung-up socket (EPOLLHUP cannot be masked) does not spin the loop. */
static void conn_update(struct vsock_dev *v, struct vconn *c)
{
	uint32_t ev = wanted_events(c);
	if (ev != c->reg_events && c->fd >= 0) {
		if (ev == 0)
			vworker_del(&v->w, c->fd);
		else if (c->reg_events == 0)
			vworker_add(&v->w, c->fd, ev, (uint64_t)(uintptr_t)c);
		else
			vworker_mod(&v->w, c->fd, ev, (uint64_t)(uintptr_t)c);
		c->reg_events = ev;
	}
	if (c->state == C_ESTABLISHED && c->want_read && peer_credit(c) == 0 && !c->credit_asked &&
	    !c->host_eof && !c->guest_shut_rcv) {
		c->pend |= P_CREDIT_REQUEST;
		c->credit_asked = true;
	}
	rxq_add(v, c);
}

/* Unlinks c; with rst, the guest is told (RST) before c is freed. */
static void conn_kill(struct vsock_dev *v, struct vconn *c, bool rst)
{
	if (c->dying)
		return;
	for (int i = 0; i < v->nconns; i++) {
		if (v->conns[i] == c) {
			v->conns[i] = v->conns[v->nconns - 1];
			__atomic_store_n(&v->nconns, v->nconns - 1, __ATOMIC_RELAXED);
			break;
		}
	}
	c->dying = true;
	if (c->fd >= 0) {
		close(c->fd); /* also leaves the epoll set */
		c->fd = -1;
	}
	c->reg_events = 0;
	c->pend = rst && c->state != C_HOST_HDR ? P_RST : 0;
	if (c->pend)
		rxq_add(v, c);
	else if (!c->in_rxq) {
		c->grave_next = v->grave;
		v->grave = c;
	}
}

static void bury(struct vsock_dev *v)
{
	while (v->grave) {
		struct vconn *c = v->grave;
		v->grave = c->grave_next;
		free(c->tx);
		free(c);
	}
}

static void orphan_rst(struct vsock_dev *v, const struct vsock_hdr *in)
{
	if (in->op == VSOCK_OP_RST || v->norphans >= ORPHANS)
		return; /* never answer RST with RST; drop when the ring is full */
	struct vsock_hdr *h = &v->orphans[(v->orphan_head + v->norphans) % ORPHANS];
	memset(h, 0, sizeof(*h));
	h->src_cid = in->dst_cid;
	h->dst_cid = v->cfg.guest_cid;
	h->src_port = in->dst_port;
	h->dst_port = in->src_port;
	h->type = VSOCK_TYPE_STREAM;
	h->op = VSOCK_OP_RST;
	v->norphans++;
}

/* ---- guest -> host data ---- */

static void maybe_credit_update(struct vconn *c)
{
	uint32_t view_used = c->rx_total - c->fwd_sent; /* what the guest thinks we hold */
	if (c->fwd_cnt != c->fwd_sent && view_used > c->buf_alloc / 2)
		c->pend |= P_CREDIT_UPDATE;
}

/* Writes buffered guest data to the host socket. false: the socket failed
 * (the connection was reset). */
static bool flush(struct vsock_dev *v, struct vconn *c)
{
	while (c->tx_len > 0) {
		struct iovec iov[2];
		uint32_t first = c->buf_alloc - c->tx_head;
		if (first > c->tx_len)
			first = c->tx_len;
		iov[0].iov_base = c->tx + c->tx_head;
		iov[0].iov_len = first;
		iov[1].iov_base = c->tx;
		iov[1].iov_len = c->tx_len - first;
		ssize_t n = writev(c->fd, iov, iov[1].iov_len ? 2 : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_kill(v, c, true);
			return false;
		}
		c->tx_head = (uint32_t)((c->tx_head + (uint32_t)n) % c->buf_alloc);
		c->tx_len -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (c->tx_len == 0)
		c->tx_head = 0;
	maybe_credit_update(c);
	if (c->tx_len == 0 && c->guest_shut_send && !c->host_wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->host_wr_shut = true;
	}
	if (c->tx_len == 0 && c->guest_shut_send && c->guest_shut_rcv) {
		conn_kill(v, c, true); /* clean close: our RST ends it */
		return false;
	}
	return true;
}

/* iovecs over [off, off+len) of the readable (write=false) or writable part. */
static int chain_iov(const struct virtq_chain *ch, bool writable, size_t off, size_t len, struct iovec *iov,
		     int max)
{
	int n = 0;
	unsigned from = writable ? ch->nr : 0, to = writable ? (unsigned)ch->nr + ch->nw : ch->nr;
	for (unsigned i = from; i < to && len > 0 && n < max; i++) {
		size_t sl = ch->seg[i].len;
		if (off >= sl) {
			off -= sl;
			continue;
		}
		size_t take = sl - off < len ? sl - off : len;
		iov[n].iov_base = ch->seg[i].p + off;
		iov[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return n;
}

static void heartbeat_data(struct vsock_dev *v, struct vconn *c, const struct virtq_chain *ch, uint32_t len)
{
	uint8_t buf[HB_BUF];
	uint32_t n = len < HB_BUF ? len : HB_BUF;
	virtq_chain_read(ch, VSOCK_HDR_SIZE, buf, n);
	bool beat = false;
	for (uint32_t i = 0; i < n; i++)
		beat |= buf[i] == VSOCK_HEARTBEAT_BYTE;
	uint32_t room = HB_BUF - c->hb_len;
	if (n > room)
		n = room;
	memcpy(c->hb + c->hb_len, buf, n);
	c->hb_len += n;
	if (beat && v->cfg.heartbeat)
		v->cfg.heartbeat(v->cfg.heartbeat_ctx);
}

static void guest_rw(struct vsock_dev *v, struct vconn *c, const struct virtq_chain *ch, uint32_t len)
{
	if (c->state != C_ESTABLISHED || c->guest_shut_send) {
		conn_kill(v, c, true);
		return;
	}
	if (len == 0)
		return;
	if (len > c->buf_alloc - c->tx_len) {
		conn_kill(v, c, true); /* the guest ignored our credit */
		return;
	}
	c->rx_total += len;
	if (c->heartbeat) {
		heartbeat_data(v, c, ch, len);
		c->fwd_cnt += len; /* consumed at once; the echo respects the guest's credit */
		maybe_credit_update(c);
		return;
	}
	uint32_t done = 0;
	if (c->tx_len == 0) {
		/* straight from guest memory to the socket */
		struct iovec iov[64];
		int n = chain_iov(ch, false, VSOCK_HDR_SIZE, len, iov, 64);
		ssize_t w = writev(c->fd, iov, n);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_kill(v, c, true);
			return;
		}
		if (w > 0) {
			done = (uint32_t)w;
			c->fwd_cnt += done;
		}
	}
	if (done < len) {
		if (!c->tx) {
			c->tx = malloc(c->buf_alloc);
			if (!c->tx) {
				conn_kill(v, c, true);
				return;
			}
		}
		/* copy the rest into the ring, in at most two pieces */
		uint32_t rest = len - done, tail = (c->tx_head + c->tx_len) % c->buf_alloc;
		uint32_t first = c->buf_alloc - tail < rest ? c->buf_alloc - tail : rest;
		virtq_chain_read(ch, VSOCK_HDR_SIZE + done, c->tx + tail, first);
		virtq_chain_read(ch, VSOCK_HDR_SIZE + done + first, c->tx, rest - first);
		c->tx_len += rest;
	}
	maybe_credit_update(c);
}

/* ---- connecting ---- */

/* A guest REQUEST to (cid, port): heartbeat, or connect to the parent's
 * listener. */
static void guest_request(struct vsock_dev *v, const struct vsock_hdr *h)
{
	struct vconn *c;
	if (h->dst_cid == VSOCK_CID_PARENT && h->dst_port == VSOCK_HEARTBEAT_PORT) {
		c = conn_new(v, -1);
		if (!c) {
			orphan_rst(v, h);
			return;
		}
		c->heartbeat = true;
		c->buf_alloc = HB_BUF;
	} else {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = -1;
		if (v->vsock_dir &&
		    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/port-%u.sock", v->vsock_dir, h->dst_port) <
			    (int)sizeof(sa.sun_path))
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fd); /* no listener, or its backlog is full */
			fd = -1;
		}
		c = fd >= 0 ? conn_new(v, fd) : NULL;
		if (!c) {
			if (fd >= 0)
				close(fd);
			orphan_rst(v, h);
			return;
		}
	}
	c->peer_cid = h->dst_cid;
	c->peer_port = h->dst_port;
	c->guest_port = h->src_port;
	c->state = C_ESTABLISHED;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pend |= P_RESPONSE;
	conn_update(v, c);
}

static uint32_t alloc_host_port(struct vsock_dev *v, uint32_t guest_port)
{
	for (;;) {
		uint32_t p = v->next_host_port++;
		if (v->next_host_port >= HOST_PORT_END)
			v->next_host_port = HOST_PORT_FIRST;
		if (!find(v, VSOCK_CID_PARENT, p, guest_port))
			return p;
	}
}

/* Reads the "CONNECT <port>\n" line one byte at a time, so no data after it
 * is consumed. */
static void host_header(struct vsock_dev *v, struct vconn *c)
{
	for (;;) {
		char ch;
		ssize_t n = read(c->fd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0 || c->line_len + 1 >= CONNECT_LINE_MAX) {
			conn_kill(v, c, false);
			return;
		}
		if (ch != '\n') {
			c->line[c->line_len++] = ch;
			continue;
		}
		c->line[c->line_len] = 0;
		char *s = c->line;
		if (c->line_len && s[c->line_len - 1] == '\r')
			s[c->line_len - 1] = 0;
		if (strncasecmp(s, "CONNECT ", 8) != 0 || !isdigit((unsigned char)s[8])) {
			conn_kill(v, c, false);
			return;
		}
		char *end;
		errno = 0;
		unsigned long port = strtoul(s + 8, &end, 10);
		if (errno || *end || port > UINT32_MAX) {
			conn_kill(v, c, false);
			return;
		}
		c->guest_port = (uint32_t)port;
		c->peer_cid = VSOCK_CID_PARENT;
		c->peer_port = alloc_host_port(v, c->guest_port);
		c->state = C_CONNECTING;
		c->pend |= P_REQUEST;
		c->deadline = now_ms() + TIMEOUT_MS;
		conn_update(v, c);
		return;
	}
}

static void guest_response(struct vsock_dev *v, struct vconn *c)
{
	if (c->state != C_CONNECTING) {
		conn_kill(v, c, true);
		return;
	}
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->peer_port);
	if (write(c->fd, ok, (size_t)n) != n) {
		conn_kill(v, c, true);
		return;
	}
	c->state = C_ESTABLISHED;
	c->deadline = 0;
	conn_update(v, c);
}

/* ---- the tx path: one guest packet ---- */

void vsock_tx_packet(struct vsock_dev *v, const struct virtq_chain *ch)
{
	struct vsock_hdr h;
	if (ch->rlen < VSOCK_HDR_SIZE) {
		v->bad_packets++; /* not even a header: nothing to answer */
		return;
	}
	virtq_chain_read(ch, 0, &h, VSOCK_HDR_SIZE);
	h.src_cid = le64toh(h.src_cid);
	h.dst_cid = le64toh(h.dst_cid);
	h.src_port = le32toh(h.src_port);
	h.dst_port = le32toh(h.dst_port);
	h.len = le32toh(h.len);
	h.type = le16toh(h.type);
	h.op = le16toh(h.op);
	h.flags = le32toh(h.flags);
	h.buf_alloc = le32toh(h.buf_alloc);
	h.fwd_cnt = le32toh(h.fwd_cnt);

	if (h.src_cid != v->cfg.guest_cid) {
		v->bad_packets++; /* spoofed source: drop */
		return;
	}
	bool to_host = h.dst_cid == VSOCK_CID_HOST || h.dst_cid == VSOCK_CID_PARENT;
	struct vconn *c = to_host ? find(v, h.dst_cid, h.dst_port, h.src_port) : NULL;
	bool bad = h.type != VSOCK_TYPE_STREAM || h.len > VSOCK_MAX_PKT || h.len > ch->rlen - VSOCK_HDR_SIZE ||
		   (h.op != VSOCK_OP_RW && h.len != 0) || h.op == VSOCK_OP_INVALID || h.op > VSOCK_OP_CREDIT_REQUEST;
	if (bad || !to_host) {
		v->bad_packets += bad;
		if (c)
			conn_kill(v, c, true);
		else
			orphan_rst(v, &h);
		return;
	}
	if (!c) {
		if (h.op == VSOCK_OP_REQUEST)
			guest_request(v, &h);
		else
			orphan_rst(v, &h);
		return;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	if (peer_credit(c) > 0)
		c->credit_asked = false;
	switch (h.op) {
	case VSOCK_OP_REQUEST:
		conn_kill(v, c, true); /* a second REQUEST on a live connection */
		return;
	case VSOCK_OP_RESPONSE:
		guest_response(v, c);
		return;
	case VSOCK_OP_RST:
		conn_kill(v, c, false);
		return;
	case VSOCK_OP_SHUTDOWN:
		if (h.flags & VSOCK_SHUTDOWN_RCV)
			c->guest_shut_rcv = true;
		if (h.flags & VSOCK_SHUTDOWN_SEND)
			c->guest_shut_send = true;
		if (c->state != C_ESTABLISHED) {
			conn_kill(v, c, true);
			return;
		}
		if (c->heartbeat) {
			if (c->guest_shut_send && c->guest_shut_rcv)
				conn_kill(v, c, true);
			return;
		}
		if (c->guest_shut_send && c->guest_shut_rcv && c->tx_len > 0)
			c->deadline = now_ms() + TIMEOUT_MS; /* give the host 2 s to take the rest */
		if (!flush(v, c))
			return;
		break;
	case VSOCK_OP_RW:
		guest_rw(v, c, ch, h.len);
		if (c->dying)
			return;
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pend |= P_CREDIT_UPDATE;
		break;
	}
	conn_update(v, c);
}

/* ---- the rx path ---- */

static void put_hdr(struct vsock_dev *v, const struct virtq_chain *ch, struct vconn *c, uint16_t op,
		    uint32_t flags, uint32_t len)
{
	struct vsock_hdr h = {
		.src_cid = htole64(c->peer_cid),
		.dst_cid = htole64(v->cfg.guest_cid),
		.src_port = htole32(c->peer_port),
		.dst_port = htole32(c->guest_port),
		.len = htole32(len),
		.type = htole16(VSOCK_TYPE_STREAM),
		.op = htole16(op),
		.flags = htole32(flags),
		.buf_alloc = htole32(c->buf_alloc),
		.fwd_cnt = htole32(c->fwd_cnt),
	};
	virtq_chain_write(ch, 0, &h, VSOCK_HDR_SIZE);
	c->fwd_sent = c->fwd_cnt;
	c->pend &= ~(unsigned)P_CREDIT_UPDATE; /* every packet carries the credit */
}

/* Builds c's next packet into ch: the used length, or 0 for none. */
static uint32_t next_packet(struct vsock_dev *v, struct vconn *c, const struct virtq_chain *ch)
{
	if (c->pend & P_RST) {
		put_hdr(v, ch, c, VSOCK_OP_RST, 0, 0);
		c->pend = 0;
		return VSOCK_HDR_SIZE;
	}
	if (c->pend & P_REQUEST) {
		c->pend &= ~(unsigned)P_REQUEST;
		put_hdr(v, ch, c, VSOCK_OP_REQUEST, 0, 0);
		return VSOCK_HDR_SIZE;
	}
	if (c->pend & P_RESPONSE) {
		c->pend &= ~(unsigned)P_RESPONSE;
		put_hdr(v, ch, c, VSOCK_OP_RESPONSE, 0, 0);
		return VSOCK_HDR_SIZE;
	}
	if (data_ready(c) && ch->wlen > VSOCK_HDR_SIZE) {
		uint32_t room = ch->wlen - VSOCK_HDR_SIZE, credit = peer_credit(c);
		uint32_t max = room < credit ? room : credit;
		if (max > VSOCK_MAX_PKT)
			max = VSOCK_MAX_PKT;
		ssize_t n;
		if (c->heartbeat) {
			n = c->hb_len < max ? c->hb_len : max;
			virtq_chain_write(ch, VSOCK_HDR_SIZE, c->hb, (size_t)n);
			memmove(c->hb, c->hb + n, c->hb_len - (size_t)n);
			c->hb_len -= (uint32_t)n;
		} else {
			struct iovec iov[64];
			int niov = chain_iov(ch, true, VSOCK_HDR_SIZE, max, iov, 64);
			do
				n = readv(c->fd, iov, niov);
			while (n < 0 && errno == EINTR);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				c->want_read = false;
				conn_update(v, c);
				return 0;
			}
			if (n < 0) {
				conn_kill(v, c, true);
				return 0;
			}
			if (n == 0) {
				/* the host will send no more */
				c->host_eof = true;
				c->want_read = false;
				c->pend |= P_SHUTDOWN;
				conn_update(v, c);
				return 0;
			}
		}
		c->tx_cnt += (uint32_t)n;
		put_hdr(v, ch, c, VSOCK_OP_RW, 0, (uint32_t)n);
		return VSOCK_HDR_SIZE + (uint32_t)n;
	}
	if (c->pend & P_SHUTDOWN) {
		c->pend &= ~(unsigned)P_SHUTDOWN;
		put_hdr(v, ch, c, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, 0);
		return VSOCK_HDR_SIZE;
	}
	if (c->pend & P_CREDIT_REQUEST) {
		c->pend &= ~(unsigned)P_CREDIT_REQUEST;
		put_hdr(v, ch, c, VSOCK_OP_CREDIT_REQUEST, 0, 0);
		return VSOCK_HDR_SIZE;
	}
	if (c->pend & P_CREDIT_UPDATE) {
		put_hdr(v, ch, c, VSOCK_OP_CREDIT_UPDATE, 0, 0);
		return VSOCK_HDR_SIZE;
	}
	return 0;
}

int vsock_rx_pump(struct vsock_dev *v)
{
	if (!v->have_q[0])
		return 0;
	struct virtq *q = &v->q[0];
	int sent = 0, misses = 0;
	while (v->norphans > 0 || v->rx_head) {
		int r = virtq_pop(q, v->chain);
		if (r < 0) {
			virtio_mmio_needs_reset(v->run.transport, q->why);
			break;
		}
		if (r == 0) {
			if (virtq_idle(q))
				continue;
			break;
		}
		if (v->chain->nr != 0 || v->chain->wlen < VSOCK_HDR_SIZE) {
			q->broken = true;
			q->why = "vsock rx buffer not writable or shorter than a header";
			virtio_mmio_needs_reset(v->run.transport, q->why);
			break;
		}
		uint32_t len = 0;
		bool requeued = false;
		if (v->norphans > 0) {
			struct vsock_hdr h = v->orphans[v->orphan_head];
			v->orphan_head = (v->orphan_head + 1) % ORPHANS;
			v->norphans--;
			h.src_cid = htole64(h.src_cid);
			h.dst_cid = htole64(h.dst_cid);
			h.src_port = htole32(h.src_port);
			h.dst_port = htole32(h.dst_port);
			h.type = htole16(h.type);
			h.op = htole16(h.op);
			virtq_chain_write(v->chain, 0, &h, VSOCK_HDR_SIZE);
			len = VSOCK_HDR_SIZE;
		} else {
			struct vconn *c = rxq_pop(v);
			len = next_packet(v, c, v->chain);
			if (!c->dying)
				conn_update(v, c); /* epoll interest, credit request, back in line */
			else if (has_rx(c))
				rxq_add(v, c);
			else {
				c->grave_next = v->grave;
				v->grave = c;
			}
			requeued = c->in_rxq;
		}
		if (len == 0) {
			/* Nothing from that one. If it left the line (its socket said
			 * EAGAIN; it waits for EPOLLIN now), that is no miss: go on
			 * with the same buffer. It cannot come back during this pump,
			 * so this ends. Counting it was a lost wake-up: every such
			 * pop also shrinks rxq_len, so a line led by drained
			 * connections (equal streams ending together) stopped the
			 * pump halfway, with data queued behind them, buffers
			 * available and avail_event stale, so no guest kick came
			 * (hundred_connections timed out). One that stays in line
			 * (the buffer is too small for its data) is a real miss;
			 * after a whole round of those, stop. */
			virtq_unpop(q);
			if (requeued && ++misses > v->rxq_len + 1)
				break;
			continue;
		}
		misses = 0;
		virtq_push(q, v->chain, len);
		v->rx_pushed = true;
		sent++;
	}
	if (v->rx_pushed && virtq_should_notify(q)) {
		v->rx_pushed = false;
		virtio_mmio_interrupt(v->run.transport, VIRTIO_INT_USED);
	}
	return sent;
}

static void process_tx(struct vsock_dev *v)
{
	if (!v->have_q[1])
		return;
	struct virtq *q = &v->q[1];
	bool pushed = false;
	for (;;) {
		int r = virtq_pop(q, v->chain);
		if (r < 0) {
			virtio_mmio_needs_reset(v->run.transport, q->why);
			break;
		}
		if (r == 0) {
			if (virtq_idle(q))
				continue;
			break;
		}
		vsock_tx_packet(v, v->chain);
		virtq_push(q, v->chain, 0);
		pushed = true;
	}
	if (pushed && virtq_should_notify(q))
		virtio_mmio_interrupt(v->run.transport, VIRTIO_INT_USED);
}

int vsock_housekeeping(struct vsock_dev *v)
{
	bury(v);
	uint64_t now = now_ms(), next = 0;
	for (int i = 0; i < v->nconns; i++) {
		struct vconn *c = v->conns[i];
		if (!c->deadline)
			continue;
		if (c->deadline <= now) {
			conn_kill(v, c, true); /* no answer to REQUEST, or a close that did not drain */
			i--;
			continue;
		}
		if (!next || c->deadline < next)
			next = c->deadline;
	}
	vsock_rx_pump(v);
	return next ? (int)(next - now) + 1 : -1;
}

/* ---- the device thread ---- */

static void on_event(void *ctx, uint64_t tag, uint32_t events)
{
	struct vsock_dev *v = ctx;
	if (tag == 1) {
		process_tx(v);
		return;
	}
	if (tag < VWORKER_TAG_MIN)
		return; /* rx kicks: the pump runs before the next wait; event queue: unused */
	if (tag == (uint64_t)(uintptr_t)&v->listen_fd) {
		for (;;) {
			int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			if (fd < 0)
				return;
			struct vconn *c = conn_new(v, fd);
			if (!c) {
				close(fd);
				continue;
			}
			c->state = C_HOST_HDR;
			c->deadline = now_ms() + TIMEOUT_MS;
			conn_update(v, c);
		}
	}
	struct vconn *c = (struct vconn *)(uintptr_t)tag;
	if (c->dying)
		return;
	if (c->state == C_HOST_HDR) {
		host_header(v, c);
		return;
	}
	if (c->state != C_ESTABLISHED)
		return;
	if ((events & (EPOLLOUT | EPOLLERR)) && c->tx_len > 0) {
		if (!flush(v, c))
			return;
		if (c->tx_len == 0 && c->guest_shut_send && c->guest_shut_rcv)
			return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->host_eof && !c->guest_shut_rcv)
		c->want_read = true;
	else if ((events & (EPOLLHUP | EPOLLERR)) && c->tx_len == 0)
		c->want_read = false; /* nothing to read and nothing to write: leave the set */
	conn_update(v, c);
}

static int on_poll(void *ctx)
{
	return vsock_housekeeping(ctx);
}

int vsock_attach(struct vsock_dev *v, const struct virtio_run *run)
{
	v->run = *run;
	for (int i = 0; i < 3; i++) {
		v->have_q[i] = false;
		if (run->q[i].ready) {
			if (virtq_init(&v->q[i], &v->run.mem, run->q[i].num, run->q[i].desc, run->q[i].avail,
				       run->q[i].used, run->features) < 0)
				return -EINVAL;
			v->have_q[i] = true;
		}
	}
	v->attached = true;
	return 0;
}

void vsock_detach(struct vsock_dev *v)
{
	while (v->nconns > 0)
		conn_kill(v, v->conns[0], false);
	while (v->rx_head) {
		struct vconn *c = rxq_pop(v);
		if (c->dying) {
			c->grave_next = v->grave;
			v->grave = c;
		}
	}
	bury(v);
	v->norphans = 0;
	v->orphan_head = 0;
	v->rx_pushed = false;
	for (int i = 0; i < 3; i++)
		v->have_q[i] = false;
	v->attached = false;
}

static int vs_start(void *ctx, const struct virtio_run *run)
{
	struct vsock_dev *v = ctx;
	int r = vsock_attach(v, run);
	if (r == 0 && v->listen_fd >= 0)
		r = vworker_add(&v->w, v->listen_fd, EPOLLIN, (uint64_t)(uintptr_t)&v->listen_fd);
	if (r == 0)
		r = vworker_start(&v->w, &v->run);
	if (r < 0) {
		if (v->listen_fd >= 0)
			vworker_del(&v->w, v->listen_fd);
		vworker_stop(&v->w);
		vsock_detach(v);
	}
	return r;
}

static void vs_stop(void *ctx)
{
	struct vsock_dev *v = ctx;
	vworker_stop(&v->w);
	if (v->listen_fd >= 0)
		vworker_del(&v->w, v->listen_fd);
	vsock_detach(v);
}

static void vs_config(void *ctx, uint32_t off, void *buf, uint32_t len)
{
	struct vsock_dev *v = ctx;
	uint8_t cfg[8];
	uint64_t cid = htole64(v->cfg.guest_cid);
	memcpy(cfg, &cid, 8);
	memcpy(buf, cfg + off, len);
}

static const struct virtio_backend vsock_be = {
	.device_id = VIRTIO_ID_VSOCK,
	.nqueues = 3,
	.queue_max = VSOCK_QUEUE_SIZE,
	.config_size = 8,
	.features = 1ull << 0, /* VIRTIO_VSOCK_F_STREAM */
	.config_read = vs_config,
	.start = vs_start,
	.stop = vs_stop,
};

const struct virtio_backend *vsock_backend(void)
{
	return &vsock_be;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path); /* a stale socket of an earlier run */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Explicitly, whatever the umask: the enclave's owner and group (a
	 * parent service in that group) may connect; root always can. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

struct vsock_dev *vsock_create(const struct vsock_config *cfg)
{
	if (!cfg || cfg->guest_cid <= VSOCK_CID_HOST || cfg->guest_cid >= 0xffffffffull) {
		errno = EINVAL;
		return NULL;
	}
	struct vsock_dev *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->cfg = *cfg;
	v->listen_fd = -1;
	v->next_host_port = HOST_PORT_FIRST;
	v->conns = calloc(VSOCK_MAX_CONNS, sizeof(*v->conns));
	v->chain = malloc(sizeof(*v->chain));
	v->uds_path = cfg->uds_path ? strdup(cfg->uds_path) : NULL;
	v->vsock_dir = cfg->vsock_dir ? strdup(cfg->vsock_dir) : NULL;
	if (!v->conns || !v->chain || (cfg->uds_path && !v->uds_path) || (cfg->vsock_dir && !v->vsock_dir)) {
		errno = ENOMEM;
		goto fail;
	}
	v->cfg.uds_path = v->uds_path;
	v->cfg.vsock_dir = v->vsock_dir;
	int r = vworker_init(&v->w, "virtio-vsock", v, on_poll, on_event);
	if (r < 0) {
		errno = -r;
		goto fail;
	}
	if (v->uds_path) {
		v->listen_fd = listen_on(v->uds_path);
		if (v->listen_fd < 0)
			goto fail;
	}
	return v;
fail:;
	int e = errno;
	vworker_destroy(&v->w);
	free(v->conns);
	free(v->chain);
	free(v->uds_path);
	free(v->vsock_dir);
	free(v);
	errno = e;
	return NULL;
}

void vsock_destroy(struct vsock_dev *v)
{
	if (!v)
		return;
	vworker_destroy(&v->w);
	vsock_detach(v);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->uds_path);
	}
	free(v->conns);
	free(v->chain);
	free(v->uds_path);
	free(v->vsock_dir);
	free(v);
}
