/* virtio-vsock, device id 19 (virtio 1.2, the vsock device;
 * aws-nitro-enclaves-cli, the heartbeat; docs/vsock.md for the host side).
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
 * Flow control (stream credit): the device advertises buf_alloc =
 * VSOCK_BUF_ALLOC (512 KiB: a guest may keep two 256 KiB writes in flight
 * without waiting for a credit update) per connection and its fwd_cnt
 * (bytes of guest data written to the host
 * socket). Guest data that the host socket does not take at once waits in a
 * per-connection buffer of exactly buf_alloc bytes, which the guest can never
 * overrun while it respects credit (a guest that does not gets RST). In the
 * other direction, host data is read straight from the socket into the
 * guest's rx buffer, never more than the guest's credit; with no credit the
 * device stops reading the socket (and asks the guest for a credit update).
 * So there is no unbounded buffering anywhere.
 *
 * Fairness: connections with something to send to the guest wait in one FIFO
 * (vsock_conn.c). Replies to packets for no connection (RST) wait in a
 * bounded ring here.
 *
 * Threading: everything runs on the device thread (worker.c).
 *
 * This file is the device: the queues, the tx and rx paths, the heartbeat,
 * timers and the device thread's events. The header, the connection table,
 * the tx buffer and the host side are beside it (vsock_internal.h).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio/vsock_internal.h"

static void orphan_rst(struct vsock_dev *v, const struct vsock_hdr *in)
{
	if (in->op == VSOCK_OP_RST || v->norphans >= VSOCK_ORPHANS)
		return; /* never answer RST with RST; drop when the ring is full */
	struct vsock_hdr *h = &v->orphans[(v->orphan_head + v->norphans) % VSOCK_ORPHANS];
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

/* Writes buffered guest data to the host socket. false: the socket failed
 * (the connection was reset) or the connection closed cleanly. */
static bool flush(struct vsock_dev *v, struct vconn *c)
{
	long n = vsock_txbuf_flush(&c->tx, c->fd);
	if (n < 0) {
		vsock_conn_kill(v, c, true);
		return false;
	}
	c->fwd_cnt += (uint32_t)n;
	vsock_maybe_credit_update(c);
	if (c->tx.len == 0 && c->guest_shut_send && !c->host_wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->host_wr_shut = true;
	}
	if (c->tx.len == 0 && c->guest_shut_send && c->guest_shut_rcv) {
		vsock_conn_kill(v, c, true); /* clean close: our RST ends it */
		return false;
	}
	return true;
}

static void heartbeat_data(struct vsock_dev *v, struct vconn *c, const struct virtq_chain *ch, uint32_t len)
{
	uint8_t buf[VSOCK_HB_BUF];
	uint32_t n = len < VSOCK_HB_BUF ? len : VSOCK_HB_BUF;
	virtq_chain_read(ch, VSOCK_HDR_SIZE, buf, n);
	bool beat = false;
	for (uint32_t i = 0; i < n; i++)
		beat |= buf[i] == VSOCK_HEARTBEAT_BYTE;
	uint32_t room = VSOCK_HB_BUF - c->hb_len;
	if (n > room)
		n = room;
	memcpy(c->hb + c->hb_len, buf, n);
	c->hb_len += n;
	if (beat)
		v->heartbeat_seen = true;
	if (beat && v->cfg.heartbeat)
		v->cfg.heartbeat(v->cfg.heartbeat_ctx);
}

static void guest_rw(struct vsock_dev *v, struct vconn *c, const struct virtq_chain *ch, uint32_t len)
{
	if (c->state != C_ESTABLISHED || c->guest_shut_send) {
		vsock_conn_kill(v, c, true);
		return;
	}
	if (len == 0)
		return;
	if (len > c->buf_alloc - c->tx.len) {
		vsock_conn_kill(v, c, true); /* the guest ignored our credit */
		return;
	}
	c->rx_total += len;
	if (c->heartbeat) {
		heartbeat_data(v, c, ch, len);
		c->fwd_cnt += len; /* consumed at once; the echo respects the guest's credit */
		vsock_maybe_credit_update(c);
		return;
	}
	uint32_t done = 0;
	if (c->tx.len == 0) {
		/* straight from guest memory to the socket */
		struct iovec iov[64];
		int n = vsock_chain_iov(ch, false, VSOCK_HDR_SIZE, len, iov, 64);
		ssize_t w = writev(c->fd, iov, n);
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			vsock_conn_kill(v, c, true);
			return;
		}
		if (w > 0) {
			done = (uint32_t)w;
			c->fwd_cnt += done;
		}
	}
	if (done < len && vsock_txbuf_append(&c->tx, ch, VSOCK_HDR_SIZE + done, len - done) < 0) {
		vsock_conn_kill(v, c, true);
		return;
	}
	vsock_maybe_credit_update(c);
}

/* ---- connecting ---- */

/* ---- relaying through the vhost-vsock bridge ---- */

/* The bridge leaves the device thread's set and closes (the kernel frees
 * the CID with its fd). */
static void drop_bridge(struct vsock_dev *v)
{
	for (int i = 0; i < 2; i++)
		vworker_del(&v->w, v->bridge->call[i]);
	vsock_bridge_close(v->bridge);
	v->bridge = NULL;
}

/* The kernel's used ring made no sense: stop using the bridge, so the
 * device keeps serving carve's own connections. Cannot happen with a
 * correct kernel; said once. */
static void bridge_broken(struct vsock_dev *v)
{
	if (v->cfg.fault)
		v->cfg.fault(v->cfg.fault_ctx,
			     "the host kernel's vhost-vsock returned a buffer it never had; "
			     "AF_VSOCK to this enclave stops");
	for (int i = 0; i < v->nconns; i++)
		if (v->conns[i]->relay)
			vsock_conn_kill(v, v->conns[i--], true);
	drop_bridge(v);
	v->tx_stalled = false;
}

/* The guest's packet on relayed connection c, to the kernel, where a Nitro
 * enclave's parent (CID 3) is the host (CID 2). The caller checked that a
 * bridge buffer is free. */
static void relay_out(struct vsock_dev *v, const struct vsock_hdr *h, const struct virtq_chain *ch)
{
	struct vsock_hdr out = *h;
	out.dst_cid = VSOCK_CID_HOST;
	vsock_bridge_send(v->bridge, &out, ch);
}

/* A connection the bridge carries: only its address is used (no socket,
 * no credit of its own: the packets carry the ends' credit). NULL when the
 * table is full. */
static struct vconn *relay_conn_new(struct vsock_dev *v, uint64_t peer_cid, uint32_t peer_port,
				    uint32_t guest_port)
{
	struct vconn *c = vsock_conn_new(v, -1);
	if (!c)
		return NULL;
	c->relay = true;
	c->state = C_ESTABLISHED;
	vsock_conn_bind(v, c, peer_cid, peer_port, guest_port);
	return c;
}

/* A guest REQUEST that no Unix listener took: a new relayed connection.
 * false: no bridge buffer now. */
static bool relay_request(struct vsock_dev *v, const struct vsock_hdr *h, const struct virtq_chain *ch)
{
	if (!vsock_bridge_can_send(v->bridge))
		return false;
	if (!relay_conn_new(v, h->dst_cid, h->dst_port, h->src_port)) {
		orphan_rst(v, h);
		return true;
	}
	relay_out(v, h, ch);
	return true;
}

/* Which connection a packet from the kernel belongs to, a new one for a
 * REQUEST; NULL when it is for none (then the kernel gets RST unless it
 * sent one). */
static struct vconn *relay_route(struct vsock_dev *v, const struct vsock_hdr *h)
{
	if (h->dst_cid != v->cfg.guest_cid || h->src_cid != VSOCK_CID_HOST || h->type != VSOCK_TYPE_STREAM)
		return NULL; /* vhost-vsock delivers only these; a check, not a case */
	struct vconn *c = vsock_find(v, VSOCK_CID_PARENT, h->src_port, h->dst_port);
	if (!c)
		c = vsock_find(v, VSOCK_CID_HOST, h->src_port, h->dst_port);
	if (c && c->relay)
		return c;
	/* The guest sees every host program as its parent, CID 3. */
	if (!c && h->op == VSOCK_OP_REQUEST &&
	    (c = relay_conn_new(v, VSOCK_CID_PARENT, h->src_port, h->dst_port)))
		return c;
	/* No such connection, a full table, or the address of one of carve's
	 * own (a Unix-socket connection or the heartbeat). */
	if (h->op != VSOCK_OP_RST)
		vsock_bridge_rst(v->bridge, v->cfg.guest_cid, h->dst_port, h->src_port);
	return NULL;
}

/* The kernel's next packet into ch, addressed as the guest knows its peer;
 * a data packet larger than ch goes in pieces. The used length, or 0 when
 * the packet was for no connection (dropped). */
static uint32_t relay_in(struct vsock_dev *v, const struct virtq_chain *ch)
{
	struct vsock_hdr h;
	const uint8_t *payload;
	uint32_t left;
	if (!vsock_bridge_peek(v->bridge, &h, &payload, &left))
		return 0;
	struct vconn *c = relay_route(v, &h);
	if (!c) {
		vsock_bridge_consume(v->bridge, VSOCK_BRIDGE_ALL);
		return 0;
	}
	uint32_t room = ch->wlen - VSOCK_HDR_SIZE, n = left < room ? left : room;
	struct vsock_hdr out = h;
	out.src_cid = c->peer_cid;
	out.len = n;
	vsock_hdr_encode(ch, &out);
	virtq_chain_write(ch, VSOCK_HDR_SIZE, payload, n);
	/* A buffer with no room past the header takes an empty piece: the
	 * data waits for the next buffer rather than being lost. */
	vsock_bridge_consume(v->bridge, n ? n : left ? 0 : VSOCK_BRIDGE_ALL);
	if (h.op == VSOCK_OP_RST)
		vsock_conn_kill(v, c, false);
	return VSOCK_HDR_SIZE + n;
}

/* Ends relayed connection c on the kernel's side too. */
static void relay_reset(struct vsock_dev *v, struct vconn *c)
{
	if (c->relay && v->bridge)
		vsock_bridge_rst(v->bridge, v->cfg.guest_cid, c->guest_port, c->peer_port);
}

/* A guest REQUEST to (cid, port): heartbeat, or a connection to the
 * parent's listener through the host side, else through the bridge.
 * false: it waits for a bridge buffer. */
static bool guest_request(struct vsock_dev *v, const struct vsock_hdr *h, const struct virtq_chain *ch)
{
	struct vconn *c;
	if (h->dst_cid == VSOCK_CID_PARENT && h->dst_port == VSOCK_HEARTBEAT_PORT) {
		c = vsock_conn_new(v, -1);
		if (!c) {
			orphan_rst(v, h);
			return true;
		}
		c->heartbeat = true;
		c->buf_alloc = VSOCK_HB_BUF;
	} else {
		int fd = v->host->connect(v, h->dst_port);
		if (fd < 0 && v->bridge)
			return relay_request(v, h, ch);
		c = fd >= 0 ? vsock_conn_new(v, fd) : NULL;
		if (!c) {
			if (fd >= 0)
				close(fd);
			orphan_rst(v, h);
			return true;
		}
	}
	vsock_conn_bind(v, c, h->dst_cid, h->dst_port, h->src_port);
	c->state = C_ESTABLISHED;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pend |= P_RESPONSE;
	vsock_conn_update(v, c);
	return true;
}

static uint32_t alloc_host_port(struct vsock_dev *v, uint32_t guest_port)
{
	for (;;) {
		uint32_t p = v->next_host_port++;
		if (v->next_host_port >= VSOCK_HOST_PORT_END)
			v->next_host_port = VSOCK_HOST_PORT_FIRST;
		if (!vsock_find(v, VSOCK_CID_PARENT, p, guest_port))
			return p;
	}
}

/* A host connection's request arrived (or part of it). */
static void host_request(struct vsock_dev *v, struct vconn *c)
{
	uint32_t port;
	int r = v->host->read_request(v, c, &port);
	if (r < 0) {
		vsock_conn_kill(v, c, false);
		return;
	}
	if (r == 0)
		return;
	vsock_conn_bind(v, c, VSOCK_CID_PARENT, alloc_host_port(v, port), port);
	c->state = C_CONNECTING;
	c->pend |= P_REQUEST;
	c->deadline = vsock_now_ms() + VSOCK_TIMEOUT_MS;
	vsock_conn_update(v, c);
}

static void guest_response(struct vsock_dev *v, struct vconn *c)
{
	if (c->state != C_CONNECTING || v->host->accepted(v, c) < 0) {
		vsock_conn_kill(v, c, true);
		return;
	}
	c->state = C_ESTABLISHED;
	c->deadline = 0;
	vsock_conn_update(v, c);
}

/* ---- the tx path: one guest packet ---- */

/* Counted, and told to the operator's log (rate-limited there). */
static void bad_packet(struct vsock_dev *v, const struct vsock_hdr *h, const char *what)
{
	v->bad_packets++;
	if (!v->cfg.fault)
		return;
	char line[200];
	if (h)
		snprintf(line, sizeof(line), "dropped %s: src %llu:%u dst %llu:%u type %u op %u len %u", what,
			 (unsigned long long)h->src_cid, h->src_port, (unsigned long long)h->dst_cid,
			 h->dst_port, h->type, h->op, h->len);
	else
		snprintf(line, sizeof(line), "dropped %s", what);
	v->cfg.fault(v->cfg.fault_ctx, line);
}

bool vsock_tx_packet(struct vsock_dev *v, const struct virtq_chain *ch)
{
	struct vsock_hdr h;
	if (!vsock_hdr_decode(ch, &h)) {
		bad_packet(v, NULL, "a packet shorter than its header"); /* nothing to answer */
		return true;
	}
	if (h.src_cid != v->cfg.guest_cid) {
		bad_packet(v, &h, "a packet from another CID (spoofed)");
		return true;
	}
	bool to_host = h.dst_cid == VSOCK_CID_HOST || h.dst_cid == VSOCK_CID_PARENT;
	struct vconn *c = to_host ? vsock_find(v, h.dst_cid, h.dst_port, h.src_port) : NULL;
	bool bad = !vsock_hdr_well_formed(&h, ch->rlen);
	if (bad || !to_host) {
		if (bad)
			bad_packet(v, &h, "a malformed packet");
		if (c) {
			relay_reset(v, c);
			vsock_conn_kill(v, c, true);
		} else {
			orphan_rst(v, &h);
		}
		return true;
	}
	if (!c) {
		if (h.op == VSOCK_OP_REQUEST)
			return guest_request(v, &h, ch);
		orphan_rst(v, &h);
		return true;
	}
	if (c->relay) {
		if (!vsock_bridge_can_send(v->bridge))
			return false;
		relay_out(v, &h, ch);
		if (h.op == VSOCK_OP_RST)
			vsock_conn_kill(v, c, false);
		return true;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	if (vsock_peer_credit(c) > 0)
		c->credit_asked = false;
	switch (h.op) {
	case VSOCK_OP_REQUEST:
		vsock_conn_kill(v, c, true); /* a second REQUEST on a live connection */
		return true;
	case VSOCK_OP_RESPONSE: guest_response(v, c); return true;
	case VSOCK_OP_RST: vsock_conn_kill(v, c, false); return true;
	case VSOCK_OP_SHUTDOWN:
		if (h.flags & VSOCK_SHUTDOWN_RCV)
			c->guest_shut_rcv = true;
		if (h.flags & VSOCK_SHUTDOWN_SEND)
			c->guest_shut_send = true;
		if (c->state != C_ESTABLISHED) {
			vsock_conn_kill(v, c, true);
			return true;
		}
		if (c->heartbeat) {
			if (c->guest_shut_send && c->guest_shut_rcv)
				vsock_conn_kill(v, c, true);
			return true;
		}
		if (c->guest_shut_send && c->guest_shut_rcv && c->tx.len > 0)
			c->deadline =
				vsock_now_ms() + VSOCK_TIMEOUT_MS; /* give the host 2 s to take the rest */
		if (!flush(v, c))
			return true;
		break;
	case VSOCK_OP_RW:
		guest_rw(v, c, ch, h.len);
		if (c->dying)
			return true;
		break;
	case VSOCK_OP_CREDIT_UPDATE: break;
	case VSOCK_OP_CREDIT_REQUEST: c->pend |= P_CREDIT_UPDATE; break;
	}
	vsock_conn_update(v, c);
	return true;
}

/* ---- the rx path ---- */

static void put_hdr(struct vsock_dev *v, const struct virtq_chain *ch, struct vconn *c, uint16_t op,
		    uint32_t flags, uint32_t len)
{
	struct vsock_hdr h = {
		.src_cid = c->peer_cid,
		.dst_cid = v->cfg.guest_cid,
		.src_port = c->peer_port,
		.dst_port = c->guest_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = c->buf_alloc,
		.fwd_cnt = c->fwd_cnt,
	};
	vsock_hdr_encode(ch, &h);
	c->fwd_sent = c->fwd_cnt;
	c->pend &= ~(unsigned)P_CREDIT_UPDATE; /* every packet carries the credit */
}

/* Host data (or the heartbeat's echo) into ch, at most the guest's credit:
 * the used length, or 0 for none (the socket had nothing, or ended). */
static uint32_t data_packet(struct vsock_dev *v, struct vconn *c, const struct virtq_chain *ch)
{
	uint32_t room = ch->wlen - VSOCK_HDR_SIZE, credit = vsock_peer_credit(c);
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
		int niov = vsock_chain_iov(ch, true, VSOCK_HDR_SIZE, max, iov, 64);
		do
			n = readv(c->fd, iov, niov);
		while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->want_read = false;
			vsock_conn_update(v, c);
			return 0;
		}
		if (n < 0) {
			vsock_conn_kill(v, c, true);
			return 0;
		}
		if (n == 0) {
			/* the host will send no more */
			c->host_eof = true;
			c->want_read = false;
			c->pend |= P_SHUTDOWN;
			vsock_conn_update(v, c);
			return 0;
		}
	}
	c->tx_cnt += (uint32_t)n;
	put_hdr(v, ch, c, VSOCK_OP_RW, 0, (uint32_t)n);
	return VSOCK_HDR_SIZE + (uint32_t)n;
}

/* Builds c's next packet into ch: the used length, or 0 for none. Control
 * packets that open a connection go first, then data, then the rest. */
static uint32_t next_packet(struct vsock_dev *v, struct vconn *c, const struct virtq_chain *ch)
{
	if (c->pend & P_RST) {
		put_hdr(v, ch, c, VSOCK_OP_RST, 0, 0);
		c->pend = 0;
		return VSOCK_HDR_SIZE;
	}
	static const struct {
		unsigned bit;
		uint16_t op;
		uint32_t flags;
	} first[] = {{P_REQUEST, VSOCK_OP_REQUEST, 0}, {P_RESPONSE, VSOCK_OP_RESPONSE, 0}},
	  then[] = {
		  {P_SHUTDOWN, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND},
		  {P_CREDIT_REQUEST, VSOCK_OP_CREDIT_REQUEST, 0},
		  {P_CREDIT_UPDATE, VSOCK_OP_CREDIT_UPDATE, 0}, /* put_hdr clears it */
	  };
	for (size_t i = 0; i < sizeof(first) / sizeof(*first); i++) {
		if (c->pend & first[i].bit) {
			c->pend &= ~first[i].bit;
			put_hdr(v, ch, c, first[i].op, first[i].flags, 0);
			return VSOCK_HDR_SIZE;
		}
	}
	if (vsock_data_ready(c) && ch->wlen > VSOCK_HDR_SIZE)
		return data_packet(v, c, ch);
	for (size_t i = 0; i < sizeof(then) / sizeof(*then); i++) {
		if (c->pend & then[i].bit) {
			c->pend &= ~then[i].bit;
			put_hdr(v, ch, c, then[i].op, then[i].flags, 0);
			return VSOCK_HDR_SIZE;
		}
	}
	return 0;
}

/* The next RST for a packet that had no connection, into ch. */
static uint32_t orphan_packet(struct vsock_dev *v, const struct virtq_chain *ch)
{
	struct vsock_hdr h = v->orphans[v->orphan_head];
	v->orphan_head = (v->orphan_head + 1) % VSOCK_ORPHANS;
	v->norphans--;
	vsock_hdr_encode(ch, &h);
	return VSOCK_HDR_SIZE;
}

int vsock_rx_pump(struct vsock_dev *v)
{
	if (!v->have_q[VSOCK_RXQ])
		return 0;
	struct virtq *q = &v->q[VSOCK_RXQ];
	int sent = 0, misses = 0;
	bool kernel_turn = false; /* the kernel's packets and carve's own take turns */
	if (v->bridge && vsock_bridge_collect(v->bridge) < 0)
		bridge_broken(v);
	while (v->norphans > 0 || v->rx_head || (v->bridge && v->bridge->nrecv)) {
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
		kernel_turn = !kernel_turn;
		if (v->norphans > 0) {
			len = orphan_packet(v, v->chain);
		} else if (v->bridge && v->bridge->nrecv && (kernel_turn || !v->rx_head)) {
			len = relay_in(v, v->chain);
			if (len == 0) {
				virtq_unpop(q); /* dropped: the same buffer for the next one */
				continue;
			}
		} else {
			struct vconn *c = vsock_rxq_pop(v);
			len = next_packet(v, c, v->chain);
			if (!c->dying)
				vsock_conn_update(v, c); /* epoll interest, credit request, back in line */
			else if (vsock_has_rx(c))
				vsock_rxq_add(v, c);
			else
				vsock_grave_add(v, c);
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
	if (virtio_mmio_refused(v->run.transport, q))
		v->rx_pushed = true;
	if (v->rx_pushed && virtq_should_notify(q)) {
		v->rx_pushed = false;
		virtio_mmio_interrupt(v->run.transport, VIRTIO_INT_USED);
	}
	if (v->bridge)
		vsock_bridge_kick(v->bridge);
	return sent;
}

static void process_tx(struct vsock_dev *v)
{
	if (!v->have_q[VSOCK_TXQ])
		return;
	struct virtq *q = &v->q[VSOCK_TXQ];
	bool pushed = false;
	v->tx_stalled = false;
	if (v->bridge && vsock_bridge_collect(v->bridge) < 0)
		bridge_broken(v);
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
		if (!vsock_tx_packet(v, v->chain)) {
			virtq_unpop(q); /* again when the kernel frees a bridge buffer */
			v->tx_stalled = true;
			break;
		}
		virtq_push(q, v->chain, 0);
		pushed = true;
	}
	if (pushed && virtq_should_notify(q))
		virtio_mmio_interrupt(v->run.transport, VIRTIO_INT_USED);
	if (v->bridge)
		vsock_bridge_kick(v->bridge);
}

/* ---- the kernel datapath: the rings handed over after the heartbeat ---- */

static void datapath_failed(struct vsock_dev *v, const char *what)
{
	if (v->cfg.fault) {
		char line[CARVE_ERR_MSG_MAX + 64];
		snprintf(line, sizeof(line), "kernel datapath not started, carve serves the queues: %s",
			 what);
		v->cfg.fault(v->cfg.fault_ctx, line);
	}
	vsock_datapath_close(v->datapath);
	v->datapath = NULL;
}

/* Once the heartbeat is done and nothing is in flight (no connection, no
 * packet owed, nothing stalled), the rx and tx rings go to the kernel as
 * they are: vhost starts at the device's next avail index and reads the used
 * index from the ring. The bridge served the boot; the CID moves with the
 * rings. */
static void maybe_hand_over(struct vsock_dev *v)
{
	if (!v->datapath || v->datapath->running || !v->heartbeat_seen || v->nconns || v->norphans ||
	    v->rx_head || v->tx_stalled || !v->have_q[VSOCK_RXQ] || !v->have_q[VSOCK_TXQ] ||
	    (v->bridge && v->bridge->nrecv))
		return;
	if (v->bridge)
		drop_bridge(v);
	vworker_release_queue(&v->w, VSOCK_RXQ);
	vworker_release_queue(&v->w, VSOCK_TXQ);
	v->have_q[VSOCK_RXQ] = v->have_q[VSOCK_TXQ] = false;
	struct carve_err err = {0};
	uint64_t tag = (uint64_t)(uintptr_t)&v->datapath->cookie;
	int r = vsock_datapath_start(v->datapath, &v->run, &v->q[VSOCK_RXQ], &v->q[VSOCK_TXQ],
				     v->cfg.guest_cid, &err);
	if (r == 0 && vworker_add(&v->w, v->datapath->call_fd, EPOLLIN, tag) < 0)
		r = carve_fail(&err, E74_DEVICE_SETUP, "cannot watch its call eventfd");
	if (r == 0 && v->cfg.note)
		v->cfg.note(v->cfg.note_ctx,
			    "the heartbeat is done: rx and tx rings handed to the host kernel "
			    "(vhost-vsock); the host is CID 2 from now on");
	if (r < 0) {
		datapath_failed(v, err.msg);
		/* The rings were never the kernel's (it refused a step): carve
		 * takes the queues back where it left them. */
		for (int q = VSOCK_RXQ; q <= VSOCK_TXQ; q++)
			if (vworker_watch_queue(&v->w, q, v->run.q[q].kick_fd) == 0)
				v->have_q[q] = true;
	}
}

int vsock_housekeeping(struct vsock_dev *v)
{
	vsock_bury(v);
	uint64_t now = vsock_now_ms(), next = 0;
	for (int i = 0; i < v->nconns; i++) {
		struct vconn *c = v->conns[i];
		if (!c->deadline)
			continue;
		if (c->deadline <= now) {
			vsock_conn_kill(v, c, true); /* no answer to REQUEST, or a close that did not drain */
			i--;
			continue;
		}
		if (!next || c->deadline < next)
			next = c->deadline;
	}
	vsock_rx_pump(v);
	maybe_hand_over(v);
	return next ? (int)(next - now) + 1 : -1;
}

/* ---- the device thread ---- */

static void host_connections(struct vsock_dev *v)
{
	for (;;) {
		int fd = v->host->accept(v);
		if (fd < 0)
			return;
		struct vconn *c = vsock_conn_new(v, fd);
		if (!c) {
			close(fd);
			continue;
		}
		c->state = C_HOST_HDR;
		c->deadline = vsock_now_ms() + VSOCK_TIMEOUT_MS;
		vsock_conn_update(v, c);
	}
}

static void conn_event(struct vsock_dev *v, struct vconn *c, uint32_t events)
{
	if (c->dying)
		return;
	if (c->state == C_HOST_HDR) {
		host_request(v, c);
		return;
	}
	if (c->state != C_ESTABLISHED)
		return;
	if ((events & (EPOLLOUT | EPOLLERR)) && c->tx.len > 0) {
		if (!flush(v, c))
			return;
		if (c->tx.len == 0 && c->guest_shut_send && c->guest_shut_rcv)
			return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->host_eof && !c->guest_shut_rcv)
		c->want_read = true;
	else if ((events & (EPOLLHUP | EPOLLERR)) && c->tx.len == 0)
		c->want_read = false; /* nothing to read and nothing to write: leave the set */
	vsock_conn_update(v, c);
}

static void on_event(void *ctx, uint64_t tag, uint32_t events)
{
	struct vsock_dev *v = ctx;
	if (tag == VSOCK_TXQ) {
		process_tx(v);
		return;
	}
	if (tag < VWORKER_TAG_MIN)
		return; /* rx kicks: the pump runs before the next wait; event queue: unused */
	struct vsock_cookie *cookie = (struct vsock_cookie *)(uintptr_t)tag;
	switch (cookie->kind) {
	case VSOCK_COOKIE_LISTENER: host_connections(v); return;
	case VSOCK_COOKIE_CONN: conn_event(v, (struct vconn *)cookie, events); return;
	case VSOCK_COOKIE_DATAPATH:
		if (v->datapath && vsock_datapath_called(v->datapath))
			virtio_mmio_interrupt(v->run.transport, VIRTIO_INT_USED);
		return;
	case VSOCK_COOKIE_BRIDGE:
		/* The kernel used buffers: a stalled tx goes on; received
		 * packets go out in the rx pump before the next wait. */
		if (vsock_bridge_collect(v->bridge) < 0)
			bridge_broken(v);
		if (v->tx_stalled)
			process_tx(v);
		return;
	}
}

static int on_poll(void *ctx) { return vsock_housekeeping(ctx); }

int vsock_attach(struct vsock_dev *v, const struct virtio_run *run)
{
	v->run = *run;
	for (int i = 0; i < VSOCK_NQUEUES; i++) {
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
	while (v->nconns > 0) {
		relay_reset(v, v->conns[0]); /* the host program learns the guest is gone */
		vsock_conn_kill(v, v->conns[0], false);
	}
	if (v->bridge)
		vsock_bridge_kick(v->bridge);
	v->tx_stalled = false;
	if (v->datapath && v->datapath->running) {
		/* A reset ends the kernel's part for good (a confined process
		 * cannot open vhost again): carve serves the queues from now on. */
		vsock_datapath_close(v->datapath);
		v->datapath = NULL;
		if (v->cfg.note)
			v->cfg.note(v->cfg.note_ctx,
				    "the guest reset the device: the kernel datapath ends, "
				    "carve serves the queues (Unix sockets)");
	}
	while (v->rx_head) {
		struct vconn *c = vsock_rxq_pop(v);
		if (c->dying)
			vsock_grave_add(v, c);
	}
	vsock_bury(v);
	v->norphans = 0;
	v->orphan_head = 0;
	v->rx_pushed = false;
	for (int i = 0; i < VSOCK_NQUEUES; i++)
		v->have_q[i] = false;
	v->attached = false;
}

/* The host side's fds leave the device thread's set. */
static void unwatch_host(struct vsock_dev *v)
{
	if (v->listen_fd >= 0)
		vworker_del(&v->w, v->listen_fd);
	if (v->bridge)
		for (int i = 0; i < 2; i++)
			vworker_del(&v->w, v->bridge->call[i]);
	if (v->datapath && v->datapath->running)
		vworker_del(&v->w, v->datapath->call_fd);
}

static int vs_start(void *ctx, const struct virtio_run *run)
{
	struct vsock_dev *v = ctx;
	uint64_t listener = (uint64_t)(uintptr_t)&v->listener;
	int r = vsock_attach(v, run);
	if (r == 0 && v->listen_fd >= 0)
		r = vworker_add(&v->w, v->listen_fd, EPOLLIN, listener);
	if (r == 0 && v->bridge) {
		uint64_t tag = (uint64_t)(uintptr_t)&v->bridge->tx_cookie;
		for (int i = 0; i < 2 && r == 0; i++)
			r = vworker_add(&v->w, v->bridge->call[i], EPOLLIN, tag);
	}
	if (r == 0)
		r = vworker_start(&v->w, &v->run);
	if (r < 0) {
		vworker_stop(&v->w);
		unwatch_host(v);
		vsock_detach(v);
	}
	return r;
}

static void vs_stop(void *ctx)
{
	struct vsock_dev *v = ctx;
	vworker_stop(&v->w);
	unwatch_host(v);
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
	.nqueues = VSOCK_NQUEUES,
	.queue_max = VSOCK_QUEUE_SIZE,
	.config_size = 8,
	.features = 1ull << 0, /* VIRTIO_VSOCK_F_STREAM */
	.config_read = vs_config,
	.start = vs_start,
	.stop = vs_stop,
};

const struct virtio_backend *vsock_backend(void) { return &vsock_be; }

static void free_dev(struct vsock_dev *v)
{
	vsock_table_free(v);
	free(v->chain);
	free(v->uds_path);
	free(v->vsock_dir);
	free(v);
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
	v->host = &vsock_unix_host;
	v->listen_fd = -1;
	v->listener.kind = VSOCK_COOKIE_LISTENER;
	v->next_host_port = VSOCK_HOST_PORT_FIRST;
	v->chain = malloc(sizeof(*v->chain));
	v->uds_path = cfg->uds_path ? strdup(cfg->uds_path) : NULL;
	v->vsock_dir = cfg->vsock_dir ? strdup(cfg->vsock_dir) : NULL;
	if (vsock_table_init(v) < 0 || !v->chain || (cfg->uds_path && !v->uds_path) ||
	    (cfg->vsock_dir && !v->vsock_dir)) {
		free_dev(v);
		errno = ENOMEM;
		return NULL;
	}
	v->cfg.uds_path = v->uds_path;
	v->cfg.vsock_dir = v->vsock_dir;
	int r = vworker_init(&v->w, "virtio-vsock", v, on_poll, on_event);
	if (r < 0) {
		free_dev(v);
		errno = -r;
		return NULL;
	}
	if (v->uds_path) {
		v->listen_fd = v->host->listen(v);
		if (v->listen_fd < 0) {
			int e = errno;
			vworker_destroy(&v->w);
			free_dev(v);
			errno = e;
			return NULL;
		}
	}
	return v;
}

void vsock_destroy(struct vsock_dev *v)
{
	if (!v)
		return;
	vworker_destroy(&v->w);
	vsock_detach(v);
	v->host->close(v);
	vsock_bridge_close(v->bridge);
	vsock_datapath_close(v->datapath);
	free_dev(v);
}

int vsock_use_kernel_datapath(struct vsock_dev *v, const char *vhost_path, const struct vhost_region *regions,
			      int n, struct carve_err *err)
{
	if (v->datapath)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "the vsock device already has a kernel datapath");
	v->datapath = vsock_datapath_new(vhost_path, regions, n, err);
	return v->datapath ? 0 : -1;
}

int vsock_use_host_kernel(struct vsock_dev *v, const char *vhost_path, struct carve_err *err)
{
	if (v->bridge)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "the vsock device already has its host kernel bridge");
	struct vsock_bridge *b = vsock_bridge_new(err);
	if (!b)
		return -1;
	if (vsock_bridge_connect_kernel(b, vhost_path, v->cfg.guest_cid, err) < 0) {
		vsock_bridge_close(b);
		return -1;
	}
	vsock_use_bridge(v, b);
	return 0;
}

void vsock_use_bridge(struct vsock_dev *v, struct vsock_bridge *b) { v->bridge = b; }
