/* virtio-vsock (device id 19) and AF_VSOCK stream sockets (virtio 1.x §5.10).
 *
 * Queues: 0 rx (the device's packets, into NRX buffers of a header and 64
 * KiB that we keep posted), 1 tx (control packets and small sends: one page
 * per packet, a 44-byte header + up to 4052 data bytes; large sends: TX_SLOTS
 * slots of a header and 64 KiB), 2 event (a few buffers; the only event,
 * transport reset, is logged).
 *
 * The socket operations are in vsock_sock.c. Each connected socket has a
 * physically contiguous receive ring (VS_RXBUF bytes, VS_RXBUF_BIG once the
 * connection has moved VS_GROW_AFTER bytes); its size is the buf_alloc we
 * advertise, and fwd_cnt counts bytes the program has read, so the device
 * can never overrun the ring (a packet that would is a protocol error: RST).
 * Sending respects the peer's credit, peer_buf_alloc - (tx_cnt -
 * peer_fwd_cnt). CREDIT_UPDATE goes out once the program has read a quarter
 * of the ring since the last header we sent, when the ring grows, and
 * whenever the device asks.
 *
 * Kernel code is emulated on PVM hosts (every memory access costs
 * microseconds), so bulk data never goes through a kernel loop: sends of
 * USER_COPY_MIN bytes or more are copied from the program's pages into the
 * tx slots natively (helper_copy_list, one run per batch), received data of
 * that size goes from the rx buffers into the rings in one native run per
 * vs_process (rx_flush), and reads copy from the ring to the program
 * natively. Smaller amounts are copied here.
 *
 * The rings are walked by vs_process() from the system calls and the wait
 * loops, never from the interrupt handler, so the kernel (interrupts off)
 * never sees the socket state change under it. */
#include "vsock_int.h"

#define NRX 16                             /* rx buffers kept posted, RX_BUF bytes each */
#define RX_BUF (TX_SLOT_PAGES * PAGE_SIZE) /* a header and 64 KiB: the device's largest packet */
#define NEV 4                              /* event buffers */

static struct vdev *vs_dev;
static struct virtq rxq, txq, evq;
static uint64_t guest_cid;
static struct pkt {
	uint64_t pa;
	bool slot; /* one of tx_slots */
	struct pkt *next;
} rx_pkts[NRX], tx_pkts[VIRTQ_MAX], ev_pkts[NEV], *tx_free;
/* Large sends: TX_SLOTS physically contiguous slots of a header and
 * TX_USER_MAX data bytes, one descriptor each, filled by one native copy
 * per batch (vs_xmit_user). */
static struct pkt tx_slots[TX_SLOTS], *slot_free;
/* Received data waiting to be copied natively into the sockets' rings, and
 * the rx buffers it is in (posted again once copied): see rx_data. */
static struct hcopy rx_copies[2 * NRX];
static int n_rx_copies;
static struct pkt *rx_held[NRX];
static int n_rx_held;
/* Freed large rings, kept whole for the next bulk connection (vs_ring_grow). */
#define RING_CACHE 4
static uint64_t ring_cache[RING_CACHE];
static int n_ring_cache;
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
	uint64_t slots = pages_alloc(TX_SLOTS * TX_SLOT_PAGES);
	if (!slots)
		return -ENOMEM;
	for (int i = 0; i < TX_SLOTS; i++) {
		tx_slots[i] = (struct pkt){slots + (uint64_t)i * TX_SLOT_PAGES * PAGE_SIZE, true, slot_free};
		slot_free = &tx_slots[i];
	}
	uint64_t rxb = pages_alloc(NRX * TX_SLOT_PAGES);
	if (!rxb)
		return -ENOMEM;
	for (int i = 0; i < NRX && i < rxq.num; i++) {
		rx_pkts[i].pa = rxb + (uint64_t)i * RX_BUF;
		struct vbuf b = {rx_pkts[i].pa, RX_BUF, true};
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

/* Runs the pending copies into the rings (one native run) and posts their
 * rx buffers again. */
static void rx_flush(void)
{
	if (n_rx_copies)
		helper_copy_list(rx_copies, n_rx_copies); /* kernel to kernel: cannot fault */
	n_rx_copies = 0;
	for (int i = 0; i < n_rx_held; i++) {
		struct vbuf b = {rx_held[i]->pa, RX_BUF, true};
		virtq_add(&rxq, &b, 1, rx_held[i]);
	}
	if (n_rx_held)
		virtq_kick(&rxq);
	n_rx_held = 0;
}

int vs_ring_alloc(struct vsock_sock *s)
{
	/* kmalloc's blocks of more than a page are whole contiguous pages. */
	if (!(s->rx = kmalloc(VS_RXBUF)))
		return -ENOMEM;
	s->rx_cap = VS_RXBUF;
	return 0;
}

/* A connection that moves a lot gets a larger ring, and so a larger credit
 * window: fewer round trips of credit per byte. Large rings come from a
 * few kept whole (fresh ones are zeroed natively, reused ones need no
 * zeroing: nothing reads a ring before writing it). */
void vs_ring_grow(struct vsock_sock *s)
{
	if (s->rx_cap >= VS_RXBUF_BIG || s->rx_len)
		return;
	uint64_t pa = n_ring_cache ? ring_cache[--n_ring_cache] : pages_alloc(VS_RXBUF_BIG / PAGE_SIZE);
	if (!pa)
		return; /* stays small */
	kfree(s->rx);
	s->rx = phys_to_virt(pa);
	s->rx_cap = VS_RXBUF_BIG;
	s->rx_head = 0;
}

static void ring_free(struct vsock_sock *s)
{
	if (!s->rx)
		return;
	if (s->rx_cap == VS_RXBUF_BIG) {
		uint64_t pa = virt_to_phys(s->rx);
		if (n_ring_cache < RING_CACHE)
			ring_cache[n_ring_cache++] = pa;
		else
			pages_free(pa, VS_RXBUF_BIG / PAGE_SIZE);
	} else {
		kfree(s->rx);
	}
	s->rx = NULL;
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
	rx_flush(); /* no copy may still be on its way to s's ring */
	ring_free(s);
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
		if (p->slot) {
			p->next = slot_free;
			slot_free = p;
		} else {
			p->next = tx_free;
			tx_free = p;
		}
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

static void put_hdr(struct pkt *p, uint64_t dcid, uint32_t sport, uint32_t dport, uint16_t op, uint32_t flags,
		    struct vsock_sock *s, uint32_t len)
{
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
		h->buf_alloc = s->rx_cap;
		h->fwd_cnt = s->fwd_cnt;
		s->fwd_sent = s->fwd_cnt;
	}
}

int vs_xmit(uint64_t dcid, uint32_t sport, uint32_t dport, uint16_t op, uint32_t flags, struct vsock_sock *s,
	    const void *data, uint32_t len)
{
	struct pkt *p = tx_get();
	if (!p)
		return -EIO;
	put_hdr(p, dcid, sport, dport, op, flags, s, len);
	if (len)
		memcpy((uint8_t *)phys_to_virt(p->pa) + HDR, data, len);
	struct vbuf b = {p->pa, HDR + len, false};
	if (virtq_add(&txq, &b, 1, p) < 0) {
		p->next = tx_free;
		tx_free = p;
		return -EIO;
	}
	virtq_kick(&txq);
	return 0;
}

/* ---- large sends: the program's bytes copied natively into tx slots ---- */

bool vs_tx_user_room(void)
{
	tx_reclaim();
	return slot_free && txq.nfree > 0;
}

int64_t vs_xmit_user(struct vsock_sock *s, uint64_t ubuf, uint64_t len, bool *faulted)
{
	tx_reclaim();
	struct hcopy c[TX_SLOTS];
	struct pkt *p[TX_SLOTS];
	int n = 0;
	uint64_t off = 0;
	for (; slot_free && off < len && n < TX_SLOTS && n < txq.nfree; n++) {
		p[n] = slot_free;
		slot_free = p[n]->next;
		c[n] = (struct hcopy){p[n]->pa + HDR, ubuf + off, MIN(len - off, TX_USER_MAX), true, false};
		off += c[n].len;
	}
	uint64_t got = n ? helper_copy_list(c, n) : 0, queued = 0;
	for (int i = 0; i < n; i++) {
		uint32_t k = (uint32_t)MIN(c[i].len, got - queued);
		struct vbuf b = {p[i]->pa, HDR + k, false};
		if (k)
			put_hdr(p[i], s->rcid, s->lport, s->rport, OP_RW, 0, s, k);
		if (!k || virtq_add(&txq, &b, 1, p[i]) < 0) {
			p[i]->next = slot_free;
			slot_free = p[i];
			continue;
		}
		queued += k;
		s->tx_cnt += k; /* before the next header: it is not read from there, but keep them in step */
	}
	if (queued)
		virtq_kick(&txq);
	*faulted = got < off;
	return (int64_t)queued;
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
	if (l && l->nacc < l->backlog && (n = vs_alloc()) && vs_ring_alloc(n) == 0) {
		n->state = VS_CONNECTED;
		n->established = true;
		n->lport = h->dst_port;
		n->rcid = h->src_cid;
		n->rport = h->src_port;
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

/* len bytes of data at physical address pa (in rx buffer p) for s. Large
 * ones are copied natively, all of one vs_process in one run (rx_flush),
 * p held until then; true if p is held. */
static bool rx_data(struct vsock_sock *s, struct pkt *p, uint64_t pa, uint32_t len)
{
	if (len > s->rx_cap - s->rx_len || s->shut_rd) {
		/* Beyond the credit we gave, or after we said we read no more. */
		vs_ctrl(s, OP_RST, 0);
		vs_ended(s);
		return false;
	}
	uint32_t tail = (s->rx_head + s->rx_len) % s->rx_cap, first = MIN(len, s->rx_cap - tail);
	s->rx_len += len;
	if (len < USER_COPY_MIN || !helper_ready()) {
		const uint8_t *data = phys_to_virt(pa);
		memcpy(s->rx + tail, data, first);
		memcpy(s->rx, data + first, len - first);
		return false;
	}
	uint64_t ring = virt_to_phys(s->rx);
	rx_copies[n_rx_copies++] = (struct hcopy){ring + tail, pa, first, true, true};
	if (len > first)
		rx_copies[n_rx_copies++] = (struct hcopy){ring, pa + first, len - first, true, true};
	rx_held[n_rx_held++] = p;
	return true;
}

/* The packet the device wrote to p (len bytes); true if p is held for a
 * copy (rx_data), else it can be posted again at once. */
static bool rx_packet(struct pkt *p, uint32_t len)
{
	const uint8_t *buf = phys_to_virt(p->pa);
	struct vhdr h;
	if (len < HDR)
		return false;
	memcpy(&h, buf, HDR);
	if (h.len > len - HDR || h.dst_cid != guest_cid)
		return false; /* malformed or not for us: dropped, as Linux does */
	if (h.type != TYPE_STREAM) {
		if (h.op != OP_RST)
			vs_xmit(h.src_cid, h.dst_port, h.src_port, OP_RST, 0, NULL, NULL, 0);
		return false;
	}
	struct vsock_sock *s = find_conn(h.dst_port, h.src_cid, h.src_port);
	if (!s) {
		if (h.op == OP_REQUEST)
			incoming_request(&h);
		else if (h.op != OP_RST)
			vs_xmit(h.src_cid, h.dst_port, h.src_port, OP_RST, 0, NULL, NULL, 0);
		return false;
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
		return rx_data(s, p, p->pa + HDR, h.len);
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
	return false;
reset:
	vs_ctrl(s, OP_RST, 0);
	vs_ended(s);
	return false;
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
		if (rx_packet(p, len))
			continue;
		struct vbuf b = {p->pa, RX_BUF, true};
		virtq_add(&rxq, &b, 1, p);
		refill = true;
	}
	if (refill && !n_rx_held)
		virtq_kick(&rxq);
	rx_flush(); /* kicks too */
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
