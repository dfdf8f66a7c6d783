/* AF_UNIX sockets made by socketpair: SOCK_STREAM (a byte ring each way),
 * SOCK_DGRAM and SOCK_SEQPACKET (a queue of messages each way, boundaries
 * kept). Each end has Linux's shutdown bits: our SHUT_WR is the peer's
 * receive shutdown and the reverse; closing an end of a stream or seqpacket
 * pair shuts the other down both ways (reads then see EOF, writes EPIPE),
 * while a datagram end whose peer closed gets ECONNREFUSED on send and
 * waits on receive, as Linux does. No addresses (bind/connect on a path)
 * and no SCM_RIGHTS yet: a control message is EOPNOTSUPP, not dropped. */
#include "file.h"
#include "syscalls.h"
#include "virtio.h"

#define AF_UNIX 1
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_SEQPACKET 5
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000
#define MSG_PEEK 0x2
#define MSG_TRUNC 0x20
#define MSG_DONTWAIT 0x40
#define MSG_EOR 0x80
#define MSG_WAITALL 0x100
#define MSG_NOSIGNAL 0x4000
#define MSG_CMSG_CLOEXEC 0x40000000
#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2
#define ECONNREFUSED 111
#define UNIX_BUF 65536u /* bytes each way (Linux's is its socket buffer, 208 KiB) */
#define MSG_COST 64u    /* what a queued message costs beyond its bytes */

struct umsg {
	struct umsg *next;
	uint32_t len;
	uint8_t data[];
};

struct usock {
	int type;
	int shutdown;       /* RCV_SHUTDOWN | SEND_SHUTDOWN */
	struct usock *peer; /* NULL once the peer is closed */
	struct ring rx;     /* streams */
	struct umsg *q, **qtail;
	uint32_t qbytes;         /* messages: bytes queued, with MSG_COST each */
	uint64_t rd_seq, wr_seq; /* data or shutdown came; room appeared */
};

static struct vnode unix_vn = {.name = "socket", .mode = 0140000 | 0777, .refs = 1};

static bool is_stream(const struct usock *u) { return u->type == SOCK_STREAM; }
static uint32_t queued(const struct usock *u) { return is_stream(u) ? u->rx.len : u->qbytes; }

struct kiov {
	uint8_t *base;
	uint64_t len;
};

static bool can_send(struct usock *u, uint64_t need)
{
	struct usock *p = u->peer;
	if (!p || (u->shutdown & SEND_SHUTDOWN))
		return true; /* and fails */
	return is_stream(u) ? ring_room(&p->rx) > 0 : p->qbytes + need <= UNIX_BUF;
}

struct send_wait {
	struct usock *u;
	uint64_t need;
};
static bool send_ready(void *arg)
{
	struct send_wait *w = arg;
	return can_send(w->u, w->need);
}

static int64_t send_error(struct usock *u)
{
	if (!u->peer && u->type == SOCK_DGRAM && !(u->shutdown & SEND_SHUTDOWN))
		return -ECONNREFUSED;
	return -EPIPE;
}

static int64_t us_send(struct file *f, const struct kiov *iov, int n, uint64_t flags)
{
	struct usock *u = f->priv;
	bool nb = (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	uint64_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].len;
	if (!is_stream(u)) {
		if (total + MSG_COST > UNIX_BUF)
			return -EMSGSIZE;
		struct send_wait w = {u, total + MSG_COST};
		if (!send_ready(&w)) {
			if (nb)
				return -EAGAIN;
			wait_until(send_ready, &w, UINT64_MAX);
		}
		if (!u->peer || (u->shutdown & SEND_SHUTDOWN))
			return send_error(u);
		struct umsg *m = kmalloc(sizeof(*m) + total);
		if (!m)
			return -ENOMEM;
		m->len = (uint32_t)total;
		uint64_t at = 0;
		for (int i = 0; i < n; i++, at += iov[i - 1].len)
			memcpy(m->data + at, iov[i].base, iov[i].len);
		struct usock *p = u->peer;
		*p->qtail = m;
		p->qtail = &m->next;
		p->qbytes += m->len + MSG_COST;
		p->rd_seq++;
		return (int64_t)total;
	}
	uint64_t done = 0;
	for (int i = 0; i < n; i++) {
		uint64_t off = 0;
		while (off < iov[i].len) {
			struct send_wait w = {u, 1};
			if (!send_ready(&w)) {
				if (nb)
					return done ? (int64_t)done : -EAGAIN;
				wait_until(send_ready, &w, UINT64_MAX);
			}
			if (!u->peer || (u->shutdown & SEND_SHUTDOWN))
				return done ? (int64_t)done : send_error(u);
			int64_t r = ring_put(&u->peer->rx, iov[i].base + off, iov[i].len - off);
			if (r < 0)
				return done ? (int64_t)done : r;
			off += (uint64_t)r;
			done += (uint64_t)r;
			u->peer->rd_seq++;
		}
	}
	return (int64_t)done;
}

static bool can_recv(void *arg)
{
	struct usock *u = arg;
	return queued(u) || (u->shutdown & RCV_SHUTDOWN);
}

/* *mflags gets MSG_TRUNC when a message was longer than the buffers. */
static int64_t us_recv(struct file *f, const struct kiov *iov, int n, uint64_t flags, int *mflags)
{
	struct usock *u = f->priv;
	bool nb = (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	uint64_t want = 0, done = 0;
	for (int i = 0; i < n; i++)
		want += iov[i].len;
	*mflags = 0;
	for (;;) {
		if (!can_recv(u)) {
			if (nb)
				return done ? (int64_t)done : -EAGAIN;
			wait_until(can_recv, u, UINT64_MAX);
		}
		if (!queued(u) || ((flags & MSG_PEEK) && queued(u) <= done))
			return (int64_t)done; /* shut down: EOF */
		if (!is_stream(u)) {
			struct umsg *m = u->q;
			uint64_t at = 0;
			for (int i = 0; i < n && at < m->len; i++) {
				uint64_t c = MIN(iov[i].len, m->len - at);
				memcpy(iov[i].base, m->data + at, c);
				at += c;
			}
			if (at < m->len)
				*mflags |= MSG_TRUNC;
			int64_t r = (flags & MSG_TRUNC) ? (int64_t)m->len : (int64_t)at;
			if (!(flags & MSG_PEEK)) {
				u->q = m->next;
				if (!u->q)
					u->qtail = &u->q;
				u->qbytes -= m->len + MSG_COST;
				kfree(m);
				if (u->peer)
					u->peer->wr_seq++;
			}
			return r;
		}
		/* A stream: fill the buffers in order from what is there (a
		 * peek reads on from what earlier buffers took). */
		uint64_t skip = done, got = 0;
		for (int i = 0; i < n && queued(u) > (flags & MSG_PEEK ? done + got : 0); i++) {
			if (skip >= iov[i].len) {
				skip -= iov[i].len;
				continue;
			}
			uint8_t *dst = iov[i].base + skip;
			uint64_t room = iov[i].len - skip;
			got += (flags & MSG_PEEK) ? ring_peek(&u->rx, done + got, dst, room)
						  : ring_get(&u->rx, dst, room, false);
			skip = 0;
		}
		done += got;
		if (got && !(flags & MSG_PEEK) && u->peer)
			u->peer->wr_seq++;
		if (!(flags & MSG_WAITALL) || (flags & MSG_PEEK) || nb || done >= want)
			return (int64_t)done;
	}
}

static int64_t us_read(struct file *f, void *buf, uint64_t len, bool nonblock)
{
	struct kiov iov = {buf, len};
	int mf;
	return us_recv(f, &iov, 1, nonblock ? MSG_DONTWAIT : 0, &mf);
}

static int64_t us_write(struct file *f, const void *buf, uint64_t len, bool nonblock)
{
	struct kiov iov = {(uint8_t *)buf, len};
	return us_send(f, &iov, 1, nonblock ? MSG_DONTWAIT : 0);
}

static short us_poll(struct file *f, short want, uint64_t *deadline)
{
	(void)want;
	(void)deadline;
	struct usock *u = f->priv;
	short r = 0;
	if (u->shutdown == (RCV_SHUTDOWN | SEND_SHUTDOWN))
		r |= POLLHUP;
	if (u->shutdown & RCV_SHUTDOWN)
		r |= POLLRDHUP | POLLIN | POLLRDNORM;
	if (queued(u))
		r |= POLLIN | POLLRDNORM;
	if (!u->peer && !is_stream(u) && u->type == SOCK_SEQPACKET)
		r |= POLLHUP;
	/* Linux: writable while at most a quarter of the buffer is in flight. */
	struct usock *p = u->peer;
	if (!p || queued(p) * 4 <= UNIX_BUF)
		r |= POLLOUT | POLLWRNORM;
	return r;
}

static uint64_t us_seq(struct file *f, short want)
{
	struct usock *u = f->priv;
	return (want & (POLLIN | POLLRDHUP) ? u->rd_seq : 0) + (want & POLLOUT ? u->wr_seq : 0);
}

static void shut(struct usock *u, int how)
{
	u->shutdown |= how;
	u->rd_seq++;
	u->wr_seq++;
}

static void us_release(struct file *f)
{
	struct usock *u = f->priv, *p = u->peer;
	if (p) {
		p->peer = NULL;
		if (p->type != SOCK_DGRAM)
			shut(p, RCV_SHUTDOWN | SEND_SHUTDOWN);
		else
			p->wr_seq++;
	}
	ring_free(&u->rx);
	while (u->q) {
		struct umsg *m = u->q;
		u->q = m->next;
		kfree(m);
	}
	kfree(u);
}

static const struct file_ops unix_ops = {
	.read = us_read, .write = us_write, .poll = us_poll, .seq = us_seq, .release = us_release};

bool is_unix_sock(const struct file *f) { return f->ops == &unix_ops; }

int unix_socketpair(uint64_t type, uint64_t protocol, uaddr_t usv)
{
	int kind = (int)(type & 0xf);
	if (type & ~(uint64_t)(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (kind != SOCK_STREAM && kind != SOCK_DGRAM && kind != SOCK_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	if (protocol != 0 && protocol != AF_UNIX)
		return -EPROTONOSUPPORT;
	if (user_ok(usv, 8, true) < 0)
		return -EFAULT;
	struct usock *u[2] = {kmalloc(sizeof(struct usock)), kmalloc(sizeof(struct usock))};
	struct file *f[2] = {NULL, NULL};
	int fl = O_RDWR | (type & SOCK_NONBLOCK ? O_NONBLOCK : 0);
	for (int i = 0; i < 2; i++) {
		if (u[i]) {
			u[i]->type = kind;
			u[i]->rx.cap = UNIX_BUF;
			u[i]->qtail = &u[i]->q;
			f[i] = file_alloc(&unix_ops, &unix_vn, u[i], fl);
		}
	}
	int fds[2] = {-1, -1};
	if (f[0] && f[1]) {
		u[0]->peer = u[1];
		u[1]->peer = u[0];
		if ((fds[0] = fd_alloc(f[0], 0, type & SOCK_CLOEXEC)) >= 0 &&
		    (fds[1] = fd_alloc(f[1], 0, type & SOCK_CLOEXEC)) >= 0)
			return copy_to_user(usv, fds, sizeof(fds));
		if (fds[0] >= 0)
			proc.fds[fds[0]] = NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (f[i])
			file_put(f[i]);
		else
			kfree(u[i]);
	}
	return fds[0] >= 0 ? -EMFILE : -ENOMEM;
}

/* The caller's iovecs, each checked. -errno, or how many. */
static int get_iov(uint64_t uiov, uint64_t n, struct kiov *iov, bool write)
{
	if (n > 1024)
		return -EMSGSIZE;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t iv[2];
		if (copy_from_user(iv, uiov + 16 * i, sizeof(iv)) < 0)
			return -EFAULT;
		if (iv[1] && user_ok(iv[0], iv[1], write) < 0)
			return -EFAULT;
		iov[i].base = (uint8_t *)iv[0];
		iov[i].len = iv[1];
	}
	return (int)n;
}

struct msghdr {
	uint64_t name;
	uint32_t namelen, pad0;
	uint64_t iov, iovlen, control, controllen;
	int32_t flags, pad1;
};

static int64_t addr_given(struct usock *u)
{
	return u->type == SOCK_DGRAM ? -ECONNREFUSED : -EISCONN; /* no names to reach */
}

int64_t unix_xfer(struct file *f, uaddr_t buf, uint64_t len, uint64_t flags, uaddr_t addr, uint64_t addrlen,
		  bool send)
{
	struct usock *u = f->priv;
	if (send && addr && addrlen)
		return addr_given(u);
	if (len && user_ok(buf, len, !send) < 0)
		return -EFAULT;
	struct kiov iov = {(uint8_t *)buf, len};
	int mf;
	int64_t r = send ? us_send(f, &iov, 1, flags) : us_recv(f, &iov, 1, flags, &mf);
	int zero = 0;
	if (!send && r >= 0 && addr && addrlen && copy_to_user(addrlen, &zero, sizeof(zero)) < 0)
		return -EFAULT;
	return r;
}

int64_t unix_msg(struct file *f, uaddr_t umsg, uint64_t flags, bool send)
{
	struct usock *u = f->priv;
	struct msghdr m;
	if (copy_from_user(&m, umsg, sizeof(m)) < 0)
		return -EFAULT;
	if (send && m.namelen)
		return addr_given(u);
	if (send && m.controllen)
		return -EOPNOTSUPP;
	static struct kiov iov[1024];
	int n = get_iov(m.iov, m.iovlen, iov, !send);
	if (n < 0)
		return n;
	int mf = 0;
	int64_t r = send ? us_send(f, iov, n, flags) : us_recv(f, iov, n, flags, &mf);
	if (!send && r >= 0) {
		m.namelen = 0;
		m.controllen = 0;
		m.flags = mf;
		if (copy_to_user(umsg, &m, sizeof(m)) < 0)
			return -EFAULT;
	}
	return r;
}

int unix_shutdown(struct file *f, int how)
{
	struct usock *u = f->priv;
	if (how < 0 || how > 2)
		return -EINVAL;
	int mine = how == 0 ? RCV_SHUTDOWN : how == 1 ? SEND_SHUTDOWN : RCV_SHUTDOWN | SEND_SHUTDOWN;
	shut(u, mine);
	if (u->peer && u->type != SOCK_DGRAM)
		shut(u->peer,
		     ((mine & RCV_SHUTDOWN) ? SEND_SHUTDOWN : 0) |
			     ((mine & SEND_SHUTDOWN) ? RCV_SHUTDOWN : 0));
	return 0;
}

int unix_sockopt(struct file *f, uint64_t optname, int *v)
{
	struct usock *u = f->priv;
	switch (optname) {
	case 3 /* SO_TYPE */: *v = u->type; return 0;
	case 4 /* SO_ERROR */: *v = 0; return 0;
	case 39 /* SO_DOMAIN */: *v = AF_UNIX; return 0;
	case 38 /* SO_PROTOCOL */: *v = 0; return 0;
	case 7 /* SO_SNDBUF */:
	case 8 /* SO_RCVBUF */: *v = (int)UNIX_BUF; return 0;
	case 30 /* SO_ACCEPTCONN */: *v = 0; return 0;
	default: return -ENOPROTOOPT;
	}
}
