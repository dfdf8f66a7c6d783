/* virtio-vsock (device id 19) and AF_VSOCK stream sockets (virtio 1.x §5.10).
 *
 * Queues: 0 rx (the device's packets, into one-page buffers we keep posted),
 * 1 tx (one page per packet: 44-byte header + up to 4052 data bytes),
 * 2 event (a few buffers; the only event, transport reset, is logged).
 *
 * The socket operations are in vsock_sock.c. Each connected socket has a
 * receive ring of VS_RXBUF bytes; that is the buf_alloc we advertise, and
 * fwd_cnt counts bytes the program has read, so the device can never overrun
 * the ring (a packet that would is a protocol
 * error: RST). Sending respects the peer's credit,
 * peer_buf_alloc - (tx_cnt - peer_fwd_cnt). CREDIT_UPDATE goes out once the
 * program has read a quarter of the ring since the last header we sent, and
 * whenever the device asks.
 *
 * The rings are walked by vs_process() from the system calls and the wait
 * loops, never from the interrupt handler, so the kernel (interrupts off)
 * never sees the socket state change under it. Kernel code is emulated on
 * PVM hosts: per packet, one header check and one copy. */
#include "vsock_int.h"

#define NRX 32                             /* rx buffers kept posted */
#define NEV 4                              /* event buffers */
#define TX_WAIT_NS (10ull * 1000000000ull) /* for a free tx page */

static struct vdev *vs_dev;
static struct virtq rxq, txq, evq;
static uint64_t guest_cid;
static struct pkt {
	uint64_t pa;
	struct pkt *next;
} rx_pkts[NRX], tx_pkts[VIRTQ_MAX], ev_pkts[NEV], *tx_free;
static struct vsock_sock *socks; /* every socket the kernel still tracks */

bool vsock_present(void) { return vs_dev && !vs_dev->broken; }
uint64_t vs_guest_cid(void) { return guest_cid; }

int vsock_attach(struct vdev *d)
{
	if (vs_dev)
		return -EBUSY;
	int r;
	if ((r = virtq_setup(d, 0, &rxq)) < 0 || (r = virtq_setup(d, 1, &txq)) < 0 ||
	    (r = virtq_setup(d, 2, &evq)) < 0)
		return r;
	/* Config space: guest_cid, u64 little-endian, read as two halves;
	 * ConfigGeneration (0xfc) unchanged across them means one value. */
	uint32_t gen;
	int tries = 0;
	do {
		gen = vdev_read(d, 0xfc);
		guest_cid = vdev_read(d, 0x100) | (uint64_t)vdev_read(d, 0x104) << 32;
	} while (gen != vdev_read(d, 0xfc) && ++tries < 8);
	if (guest_cid < 3 || guest_cid > 0xffffffffull) {
		kprintf("carve: vsock device reports guest CID %lu; not usable\n", guest_cid);
		return -EINVAL;
	}
	for (int i = 0; i < txq.num; i++) {
		if (!(tx_pkts[i].pa = page_alloc()))
			return -ENOMEM;
		tx_pkts[i].next = tx_free;
		tx_free = &tx_pkts[i];
	}
	for (int i = 0; i < NRX && i < rxq.num; i++) {
		if (!(rx_pkts[i].pa = page_alloc()))
			return -ENOMEM;
		struct vbuf b = {rx_pkts[i].pa, PAGE_SIZE, true};
		virtq_add(&rxq, &b, 1, &rx_pkts[i]);
	}
	uint64_t ev = page_alloc();
	if (!ev)
		return -ENOMEM;
	for (int i = 0; i < NEV && i < evq.num; i++) {
		ev_pkts[i].pa = ev + 8 * (uint64_t)i;
		struct vbuf b = {ev_pkts[i].pa, 8, true};
		virtq_add(&evq, &b, 1, &ev_pkts[i]);
	}
	vs_dev = d;
	return 0;
}

void vsock_start(void)
{
	virtq_kick(&rxq);
	virtq_kick(&evq);
	kdebug("vsock: guest CID %lu\n", guest_cid);
}

struct vsock_sock *vs_alloc(void)
{
	struct vsock_sock *s = kmalloc(sizeof(*s));
	if (!s)
		return NULL;
	s->connect_ns = DEFAULT_CONNECT_NS;
	s->next = socks;
	socks = s;
	return s;
}

void vs_free(struct vsock_sock *s)
{
	for (struct vsock_sock **pp = &socks; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (s->rx)
		kfree(s->rx);
	kfree(s);
}

bool vs_port_used(uint32_t port)
{
	for (struct vsock_sock *s = socks; s; s = s->next)
		if (s->bound && s->lport == port)
			return true;
	return false;
}

/* ---- the device side ---- */

static bool vs_wake(void) { return vdev_event(); }

static void tx_reclaim(void)
{
	void *t;
	uint32_t len;
	while (virtq_get(&txq, &t, &len)) {
		struct pkt *p = t;
		p->next = tx_free;
		tx_free = p;
	}
}

/* A free tx page, waiting (bounded) for the device to return one. */
static struct pkt *tx_get(void)
{
	uint64_t deadline = time_ns() + TX_WAIT_NS;
	for (;;) {
		tx_reclaim();
		if (tx_free) {
			struct pkt *p = tx_free;
			tx_free = p->next;
			return p;
		}
		if (!vsock_present() || time_ns() >= deadline)
			return NULL;
		if (time_sleep_until(deadline, vs_wake) < 0)
			return NULL;
	}
}

int vs_xmit(uint64_t dcid, uint32_t sport, uint32_t dport, uint16_t op, uint32_t flags, struct vsock_sock *s,
	    const void *data, uint32_t len)
{
	struct pkt *p = tx_get();
	if (!p)
		return -EIO;
	struct vhdr *h = phys_to_virt(p->pa);
	*h = (struct vhdr){.src_cid = guest_cid,
			   .dst_cid = dcid,
			   .src_port = sport,
			   .dst_port = dport,
			   .len = len,
			   .type = TYPE_STREAM,
			   .op = op,
			   .flags = flags};
	if (s) {
		h->buf_alloc = VS_RXBUF;
		h->fwd_cnt = s->fwd_cnt;
		s->fwd_sent = s->fwd_cnt;
	}
	if (len)
		memcpy(h + 1, data, len);
	struct vbuf b = {p->pa, HDR + len, false};
	if (virtq_add(&txq, &b, 1, p) < 0) {
		p->next = tx_free;
		tx_free = p;
		return -EIO;
	}
	virtq_kick(&txq);
	return 0;
}

int vs_ctrl(struct vsock_sock *s, uint16_t op, uint32_t flags)
{
	return vs_xmit(s->rcid, s->lport, s->rport, op, flags, s, NULL, 0);
}

void vs_ended(struct vsock_sock *s)
{
	s->state = VS_CLOSED;
	s->reset = true;
	if (s->orphan)
		vs_free(s);
}

static struct vsock_sock *find_conn(uint32_t lport, uint64_t rcid, uint32_t rport)
{
	for (struct vsock_sock *s = socks; s; s = s->next)
		if ((s->state == VS_CONNECTED || s->state == VS_CONNECTING) && s->lport == lport &&
		    s->rport == rport && s->rcid == rcid)
			return s;
	return NULL;
}

static void incoming_request(const struct vhdr *h)
{
	struct vsock_sock *l = NULL;
	for (struct vsock_sock *s = socks; s; s = s->next)
		if (s->state == VS_LISTEN && s->lport == h->dst_port)
			l = s;
	struct vsock_sock *n = NULL;
	uint8_t *rx = NULL;
	if (l && l->nacc < l->backlog && (n = vs_alloc()) && (rx = kmalloc(VS_RXBUF))) {
		n->state = VS_CONNECTED;
		n->established = true;
		n->lport = h->dst_port;
		n->rcid = h->src_cid;
		n->rport = h->src_port;
		n->rx = rx;
		n->peer_buf_alloc = h->buf_alloc;
		n->peer_fwd_cnt = h->fwd_cnt;
		l->accq[l->nacc++] = n;
		vs_ctrl(n, OP_RESPONSE, 0);
		return;
	}
	if (n)
		vs_free(n);
	vs_xmit(h->src_cid, h->dst_port, h->src_port, OP_RST, 0, NULL, NULL, 0);
}

static void rx_data(struct vsock_sock *s, const uint8_t *data, uint32_t len)
{
	if (len > VS_RXBUF - s->rx_len || s->shut_rd) {
		/* Beyond the credit we gave, or after we said we read no more. */
		vs_ctrl(s, OP_RST, 0);
		vs_ended(s);
		return;
	}
	uint32_t tail = (s->rx_head + s->rx_len) % VS_RXBUF, first = MIN(len, VS_RXBUF - tail);
	memcpy(s->rx + tail, data, first);
	memcpy(s->rx, data + first, len - first);
	s->rx_len += len;
}

static void rx_packet(const uint8_t *buf, uint32_t len)
{
	struct vhdr h;
	if (len < HDR)
		return;
	memcpy(&h, buf, HDR);
	if (h.len > len - HDR || h.dst_cid != guest_cid)
		return; /* malformed or not for us: dropped, as Linux does */
	if (h.type != TYPE_STREAM) {
		if (h.op != OP_RST)
			vs_xmit(h.src_cid, h.dst_port, h.src_port, OP_RST, 0, NULL, NULL, 0);
		return;
	}
	struct vsock_sock *s = find_conn(h.dst_port, h.src_cid, h.src_port);
	if (!s) {
		if (h.op == OP_REQUEST)
			incoming_request(&h);
		else if (h.op != OP_RST)
			vs_xmit(h.src_cid, h.dst_port, h.src_port, OP_RST, 0, NULL, NULL, 0);
		return;
	}
	s->peer_buf_alloc = h.buf_alloc;
	s->peer_fwd_cnt = h.fwd_cnt;
	switch (h.op) {
	case OP_RESPONSE:
		if (s->state == VS_CONNECTING) {
			s->state = VS_CONNECTED;
			s->established = true;
		} else
			goto reset;
		break;
	case OP_RST:
		if (s->state == VS_CONNECTING)
			s->err = ECONNRESET;
		vs_ended(s);
		break;
	case OP_RW:
		if (s->state != VS_CONNECTED)
			goto reset;
		rx_data(s, buf + HDR, h.len);
		break;
	case OP_CREDIT_REQUEST:
		if (s->state == VS_CONNECTED)
			vs_ctrl(s, OP_CREDIT_UPDATE, 0);
		break;
	case OP_SHUTDOWN:
		s->peer_no_rcv |= (h.flags & SHUT_RCV_F) != 0;
		s->peer_no_send |= (h.flags & SHUT_SEND_F) != 0;
		if (s->orphan && s->peer_no_rcv && s->peer_no_send) {
			vs_ctrl(s, OP_RST, 0);
			vs_ended(s);
		}
		break;
	case OP_CREDIT_UPDATE: break;
	default: goto reset;
	}
	return;
reset:
	vs_ctrl(s, OP_RST, 0);
	vs_ended(s);
}

void vs_process(void)
{
	if (!vsock_present())
		return;
	void *t;
	uint32_t len;
	bool refill = false;
	tx_reclaim();
	while (virtq_get(&rxq, &t, &len)) {
		struct pkt *p = t;
		rx_packet(phys_to_virt(p->pa), len);
		struct vbuf b = {p->pa, PAGE_SIZE, true};
		virtq_add(&rxq, &b, 1, p);
		refill = true;
	}
	if (refill)
		virtq_kick(&rxq);
	refill = false;
	while (virtq_get(&evq, &t, &len)) {
		struct pkt *p = t;
		kprintf("carve: vsock transport event %u\n", *(uint32_t *)phys_to_virt(p->pa));
		struct vbuf b = {p->pa, 8, true};
		virtq_add(&evq, &b, 1, p);
		refill = true;
	}
	if (refill)
		virtq_kick(&evq);
}

int vs_wait(struct vsock_sock *s, bool (*cond)(struct vsock_sock *), uint64_t deadline)
{
	for (;;) {
		vs_process();
		if (cond(s))
			return 0;
		if (!vsock_present())
			return -EIO;
		if (time_ns() >= deadline)
			return -ETIMEDOUT;
		if (time_sleep_until(deadline, vs_wake) < 0)
			return -ERESTARTSYS;
	}
}

/* At exit, as Linux closes a dying process's sockets: every open connection
 * is shut down, and we wait (at most 2 s) until the device has taken every
 * packet and answered each shutdown with RST, so what the program wrote
 * before exiting reaches the host before the VM stops. */
static bool all_closed(struct vsock_sock *unused)
{
	(void)unused;
	if (txq.nfree != txq.num)
		return false;
	for (struct vsock_sock *s = socks; s; s = s->next)
		if (s->orphan)
			return false;
	return true;
}

void vsock_exit(void)
{
	if (!vsock_present())
		return;
	vs_process();
	for (struct vsock_sock *s = socks, *next; s; s = next) {
		next = s->next;
		if (s->state == VS_CONNECTED && !s->orphan)
			vs_close(s);
	}
	vs_wait(NULL, all_closed, time_ns() + 2000000000ull);
}

/* ---- the heartbeat (aws-nitro-enclaves-cli's heartbeat) ---- */

#define HEARTBEAT_PORT 9000
#define HEARTBEAT_BYTE 0xB7
#define HEARTBEAT_NS (10ull * 1000000000ull)

static bool hb_done(struct vsock_sock *s)
{
	return s->rx_len > 0 || s->state != VS_CONNECTED || s->peer_no_send;
}

int vsock_heartbeat(void)
{
	struct vsock_sock *s = vs_new();
	if (!s)
		return -ENOMEM;
	s->connect_ns = HEARTBEAT_NS;
	uint64_t deadline = time_ns() + HEARTBEAT_NS;
	int r = vs_connect(s, 3, HEARTBEAT_PORT, false);
	uint8_t b = HEARTBEAT_BYTE;
	if (r == 0 && vs_send(s, &b, 1, false) != 1)
		r = -EPIPE;
	if (r == 0 && (r = vs_wait(s, hb_done, deadline)) == 0) {
		b = 0;
		if (vs_recv(s, &b, 1, true, false) != 1 || b != HEARTBEAT_BYTE)
			r = -EPROTO;
	}
	vs_close(s);
	return r;
}
