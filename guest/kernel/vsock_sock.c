/* AF_VSOCK stream sockets: the operations sys_net.c calls, on top of the
 * packets vsock.c sends and receives. Blocking calls wait in vs_wait (HLT
 * until a device interrupt, then the rings are walked again). */
#include "vsock_int.h"

static uint32_t next_ephemeral = EPHEMERAL_FIRST;

struct vsock_sock *vs_new(void) { return vsock_present() ? vs_alloc() : NULL; }

static uint32_t ephemeral(void)
{
	for (uint32_t i = 0; i < 0x7fffffffu; i++) {
		uint32_t p = next_ephemeral++;
		if (next_ephemeral == 0 || next_ephemeral >= 0x80000000u)
			next_ephemeral = EPHEMERAL_FIRST;
		if (!vs_port_used(p))
			return p;
	}
	return 0;
}

int vs_bind(struct vsock_sock *s, uint64_t cid, uint32_t port)
{
	if (s->bound || s->state != VS_NEW)
		return -EINVAL;
	if (cid != 0xffffffffull && cid != vs_guest_cid())
		return -EADDRNOTAVAIL;
	if (port == 0xffffffffu)
		port = ephemeral();
	else if (vs_port_used(port))
		return -EADDRINUSE;
	s->lport = port;
	s->bound = true;
	return 0;
}

int vs_listen(struct vsock_sock *s, int backlog)
{
	if (!s->bound || (s->state != VS_NEW && s->state != VS_LISTEN))
		return -EINVAL;
	s->backlog = backlog < 1 ? 1 : backlog > 64 ? 64 : backlog;
	s->state = VS_LISTEN;
	return 0;
}

static bool not_connecting(struct vsock_sock *s) { return s->state != VS_CONNECTING; }

int vs_connect(struct vsock_sock *s, uint64_t cid, uint32_t port, bool nonblock)
{
	if (s->state == VS_CONNECTING)
		return nonblock ? -EALREADY : -EINVAL;
	if (s->state == VS_CONNECTED)
		return -EISCONN;
	if (s->state != VS_NEW)
		return -EINVAL;
	if (!s->bound) {
		if (!(s->lport = ephemeral()))
			return -EADDRNOTAVAIL;
		s->bound = true;
	}
	if (!s->rx && vs_ring_alloc(s) < 0)
		return -ENOMEM;
	s->rcid = cid;
	s->rport = port;
	s->err = 0;
	s->state = VS_CONNECTING;
	if (vs_ctrl(s, OP_REQUEST, 0) < 0) {
		s->state = VS_NEW;
		return -EIO;
	}
	if (nonblock)
		return -EINPROGRESS;
	int r = vs_wait(s, not_connecting, time_ns() + s->connect_ns);
	if (r == -ETIMEDOUT || r == -ERESTARTSYS) {
		/* As Linux: the attempt is cancelled; a signal makes it EINTR
		 * (connect has a timeout, so it is not restarted). */
		vs_ctrl(s, OP_RST, 0);
		s->state = VS_CLOSED;
		return r == -ETIMEDOUT ? -ETIMEDOUT : -EINTR;
	}
	if (s->state == VS_CONNECTED)
		return 0;
	r = s->err ? -s->err : -ECONNRESET;
	s->err = 0;
	return r;
}

static bool has_pending(struct vsock_sock *s) { return s->nacc > 0 || s->state != VS_LISTEN; }

int vs_accept(struct vsock_sock *s, struct vsock_sock **out, bool nonblock)
{
	if (s->state != VS_LISTEN)
		return -EINVAL;
	vs_process();
	if (!s->nacc && nonblock)
		return -EAGAIN;
	int r = vs_wait(s, has_pending, UINT64_MAX);
	if (r < 0)
		return r;
	if (!s->nacc)
		return -EINVAL;
	*out = s->accq[0];
	memmove(s->accq, s->accq + 1, (size_t)(--s->nacc) * sizeof(s->accq[0]));
	return 0;
}

static uint32_t credit(struct vsock_sock *s)
{
	uint32_t inflight = s->tx_cnt - s->peer_fwd_cnt;
	return inflight >= s->peer_buf_alloc ? 0 : s->peer_buf_alloc - inflight;
}

static bool can_send(struct vsock_sock *s)
{
	return s->state != VS_CONNECTED || s->peer_no_rcv || credit(s) > 0;
}

/* No credit left: asks the peer for an update and waits for credit or a
 * change of state. 0: try again; -EAGAIN (nonblocking), -ERESTARTSYS (a
 * signal: the caller returns what it sent, or restarts) or -EIO (no device). */
static int wait_for_credit(struct vsock_sock *s, bool nonblock)
{
	if (nonblock)
		return -EAGAIN;
	vs_ctrl(s, OP_CREDIT_REQUEST, 0);
	return vs_wait(s, can_send, UINT64_MAX);
}

static bool tx_room(struct vsock_sock *unused)
{
	(void)unused;
	return vs_tx_user_room();
}

/* A large send from the program's memory: native copies into the tx slots
 * (vs_xmit_user), as much a batch as credit and free slots allow. The
 * program may reuse its buffer at once: nothing points into it. */
static int64_t send_user(struct vsock_sock *s, uint64_t ubuf, uint64_t len, bool nonblock)
{
	uint64_t done = 0;
	while (done < len) {
		if (s->state != VS_CONNECTED || s->shut_wr || s->peer_no_rcv)
			return done ? (int64_t)done : -EPIPE;
		uint32_t c = credit(s);
		if (!c) {
			int r = wait_for_credit(s, nonblock);
			if (r < 0)
				return done ? (int64_t)done : r;
			continue;
		}
		bool faulted = false;
		int64_t n = vs_xmit_user(s, ubuf + done, MIN(len - done, (uint64_t)c), &faulted);
		done += (uint64_t)n;
		if (faulted)
			return done ? (int64_t)done : -EFAULT;
		if (n == 0) {
			if (nonblock)
				return done ? (int64_t)done : -EAGAIN;
			/* The device not taking packets for TX_WAIT_NS is an I/O error. */
			int r = vs_wait(s, tx_room, time_ns() + TX_WAIT_NS);
			if (r < 0)
				return done ? (int64_t)done : (r == -ETIMEDOUT ? -EIO : r);
		}
	}
	return (int64_t)done;
}

int64_t vs_send_user(struct vsock_sock *s, uint64_t ubuf, uint64_t len, bool nonblock)
{
	if (!helper_user_range(ubuf, len))
		return -EFAULT;
	if (len < USER_COPY_MIN || !helper_ready()) {
		if (user_ok(ubuf, len, false) < 0)
			return -EFAULT;
		return vs_send(s, (const void *)ubuf, len, nonblock);
	}
	vs_process();
	if (!s->established)
		return -ENOTCONN;
	return send_user(s, ubuf, len, nonblock);
}

int64_t vs_send(struct vsock_sock *s, const void *buf, uint64_t len, bool nonblock)
{
	const uint8_t *p = buf;
	uint64_t done = 0;
	vs_process();
	if (!s->established)
		return -ENOTCONN;
	while (done < len) {
		if (s->state != VS_CONNECTED || s->shut_wr || s->peer_no_rcv)
			return done ? (int64_t)done : -EPIPE;
		uint32_t c = credit(s);
		if (!c) {
			int r = wait_for_credit(s, nonblock);
			if (r < 0)
				return done ? (int64_t)done : r;
			continue;
		}
		uint32_t n = (uint32_t)MIN(MIN(len - done, (uint64_t)c), PKT_DATA);
		if (vs_xmit(s->rcid, s->lport, s->rport, OP_RW, 0, s, p + done, n) < 0)
			return done ? (int64_t)done : -EIO;
		s->tx_cnt += n;
		done += n;
	}
	return (int64_t)done;
}

static bool can_recv(struct vsock_sock *s)
{
	return s->rx_len > 0 || s->state != VS_CONNECTED || s->peer_no_send || s->shut_rd;
}

/* Waits (unless nonblock) for something to read: 1 when there are bytes, 0
 * for end of stream, or -errno. */
static int64_t recv_ready(struct vsock_sock *s, uint64_t len, bool nonblock)
{
	vs_process();
	if (!s->established)
		return -ENOTCONN;
	if (!len)
		return 0;
	if (!can_recv(s)) {
		if (nonblock)
			return -EAGAIN;
		int r = vs_wait(s, can_recv, UINT64_MAX);
		if (r < 0)
			return r;
	}
	return s->rx_len > 0;
}

/* n bytes have gone to the program (not peeked): they leave the ring, and
 * the device hears of the room once a quarter of the ring is free again. */
static void consumed(struct vsock_sock *s, uint32_t n)
{
	s->rx_head = (s->rx_head + n) % s->rx_cap;
	s->rx_len -= n;
	s->fwd_cnt += n;
	uint32_t cap = s->rx_cap;
	if (!s->rx_len && s->fwd_cnt >= VS_GROW_AFTER)
		vs_ring_grow(s);
	if (s->state == VS_CONNECTED && !s->peer_no_send &&
	    (s->fwd_cnt - s->fwd_sent >= s->rx_cap / 4 || s->rx_cap != cap))
		vs_ctrl(s, OP_CREDIT_UPDATE, 0);
}

int64_t vs_recv(struct vsock_sock *s, void *buf, uint64_t len, bool nonblock, bool peek)
{
	int64_t r = recv_ready(s, len, nonblock);
	if (r <= 0)
		return r;
	uint32_t n = (uint32_t)MIN(len, (uint64_t)s->rx_len), first = MIN(n, s->rx_cap - s->rx_head);
	memcpy(buf, s->rx + s->rx_head, first);
	memcpy((uint8_t *)buf + first, s->rx, n - first);
	if (!peek)
		consumed(s, n);
	return n;
}

int64_t vs_recv_user(struct vsock_sock *s, uint64_t ubuf, uint64_t len, bool nonblock, bool peek)
{
	if (!helper_user_range(ubuf, len))
		return -EFAULT;
	int64_t r = recv_ready(s, len, nonblock);
	if (r <= 0)
		return r;
	uint32_t n = (uint32_t)MIN(len, (uint64_t)s->rx_len);
	if (n < USER_COPY_MIN || !helper_ready()) {
		if (user_ok(ubuf, n, true) < 0)
			return -EFAULT;
		return vs_recv(s, (void *)ubuf, n, nonblock, peek);
	}
	/* The ring is physically contiguous (vs_ring_alloc): at most two
	 * pieces, one native run. */
	uint64_t ring = virt_to_phys(s->rx);
	uint32_t first = MIN(n, s->rx_cap - s->rx_head);
	struct hcopy c[2] = {{ubuf, ring + s->rx_head, first, false, true},
			     {ubuf + first, ring, n - first, false, true}};
	uint64_t got = helper_copy_list(c, n > first ? 2 : 1);
	if (!got)
		return -EFAULT;
	if (!peek)
		consumed(s, (uint32_t)got);
	return (int64_t)got;
}

int vs_shutdown(struct vsock_sock *s, int how)
{
	if (how < 0 || how > 2)
		return -EINVAL;
	if (s->state != VS_CONNECTED)
		return -ENOTCONN;
	bool rd = how != 1, wr = how != 0;
	uint32_t flags = (rd && !s->shut_rd ? SHUT_RCV_F : 0) | (wr && !s->shut_wr ? SHUT_SEND_F : 0);
	s->shut_rd |= rd;
	s->shut_wr |= wr;
	return flags ? vs_ctrl(s, OP_SHUTDOWN, flags) : 0;
}

void vs_close(struct vsock_sock *s)
{
	for (int i = 0; i < s->nacc; i++)
		vs_close(s->accq[i]);
	s->nacc = 0;
	if (s->state == VS_CONNECTED && vsock_present()) {
		/* Let the peer take what we sent; its RST ends the connection. */
		s->orphan = true;
		if (s->peer_no_rcv && s->peer_no_send) {
			vs_ctrl(s, OP_RST, 0);
			vs_ended(s);
		} else {
			vs_ctrl(s, OP_SHUTDOWN, SHUT_RCV_F | SHUT_SEND_F);
		}
		return;
	}
	if (s->state == VS_CONNECTING)
		vs_ctrl(s, OP_RST, 0);
	vs_free(s);
}

#define POLLIN 0x001
#define POLLOUT 0x004
#define POLLERR 0x008
#define POLLHUP 0x010
#define POLLRDHUP 0x2000

short vs_poll(struct vsock_sock *s, short want)
{
	vs_process();
	short r = 0;
	switch (s->state) {
	case VS_LISTEN:
		if (s->nacc)
			r |= POLLIN;
		break;
	case VS_CONNECTING: break;
	case VS_CONNECTED:
		if (s->rx_len || s->peer_no_send || s->shut_rd)
			r |= POLLIN;
		if (s->peer_no_send)
			r |= POLLRDHUP;
		if (credit(s) > 0 && !s->shut_wr && !s->peer_no_rcv)
			r |= POLLOUT;
		if (s->peer_no_send && s->peer_no_rcv)
			r |= POLLHUP;
		break;
	case VS_CLOSED: r |= POLLIN | POLLHUP | (s->err ? POLLERR : 0); break;
	case VS_NEW: break;
	}
	return (short)(r & (want | POLLERR | POLLHUP));
}

void vs_name(struct vsock_sock *s, bool peer, uint64_t *cid, uint32_t *port)
{
	*cid = peer ? s->rcid : vs_guest_cid();
	*port = peer ? s->rport : s->bound ? s->lport : 0xffffffffu;
}

bool vs_listening(struct vsock_sock *s) { return s->state == VS_LISTEN; }
bool vs_connected(struct vsock_sock *s) { return s->established; }

int vs_take_error(struct vsock_sock *s)
{
	int e = s->err;
	s->err = 0;
	return e;
}

void vs_set_connect_timeout(struct vsock_sock *s, uint64_t ns)
{
	s->connect_ns = ns ? ns : DEFAULT_CONNECT_NS;
}
uint64_t vs_connect_timeout(struct vsock_sock *s) { return s->connect_ns; }
