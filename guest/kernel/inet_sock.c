/* Loopback AF_INET and AF_INET6 sockets. The enclave has no network
 * device, only the loopback a local server behind a vsock proxy needs:
 * 127.0.0.0/8 and ::1 (INADDR_ANY and :: connect to this host, as on
 * Linux), every other destination is unreachable (ENETUNREACH) and every
 * other local address absent (EADDRNOTAVAIL).
 *
 * A TCP socket is an AF_UNIX stream underneath and a UDP socket an
 * AF_UNIX datagram socket (unix_sock.c keeps their bytes and queues, and
 * listen/connect/accept queue connections as there); what is inet is the
 * naming: sockaddr_in/in6 (inet_addr.c), ports (inet_port.c), options
 * (inet_opt.c). UDP as Linux: a datagram nobody is bound to receive, or
 * that finds its receiver full, is lost, and a connected socket learns of
 * the first (ECONNREFUSED on its next call, as the ICMP error would
 * tell it); sends never wait. TCP connects at once (no SYN to wait for),
 * so a nonblocking connect returns 0 rather than EINPROGRESS. */
#include "inet.h"
#include "unix_int.h"

#define MSG_DONTWAIT 0x40

static const struct file_ops inet_ops;

bool is_inet_sock(const struct file *f) { return f->ops == &inet_ops; }

static bool is_loopback(const struct inaddr *a)
{
	if (inaddr_is_v4(a))
		return a->ip[12] == 127;
	for (int i = 0; i < 15; i++)
		if (a->ip[i])
			return false;
	return a->ip[15] == 1;
}

/* Where traffic for a goes: loopback (the wildcard means this host), or
 * -ENETUNREACH: there is no route anywhere else. */
static int route(const struct usock *u, struct inaddr *a)
{
	if (inaddr_is_v4(a) && inet_v6only(u))
		return -ENETUNREACH;
	if (inaddr_is_any(a))
		inaddr_loopback(a, a);
	return is_loopback(a) ? 0 : -ENETUNREACH;
}

/* The source of u's traffic to dst: its bound address, or loopback. */
static void source(const struct usock *u, const struct inaddr *dst, struct inaddr *src)
{
	if (u->in.bound && !inaddr_is_any(&u->in.local)) {
		*src = u->in.local;
		return;
	}
	inaddr_loopback(dst, src);
	src->port = u->in.local.port;
}

/* An unbound socket: the wildcard of its family, port 0. */
static void unbound(struct usock *u)
{
	memset(&u->in.local, 0, sizeof(u->in.local));
	if (u->family == AF_INET)
		u->in.local.ip[10] = u->in.local.ip[11] = 0xff;
}

static int autobind(struct usock *u)
{
	struct inaddr any = u->in.local;
	any.port = 0;
	return inet_port_bind(u, &any);
}

static void unbind(struct usock *u)
{
	inet_port_drop(u);
	unbound(u);
}

/* Sends a datagram of iov's bytes to *to, or to the connected
 * destination when to is NULL. */
static int64_t dsend(struct file *f, const struct kiov *iov, int n, const struct inaddr *to)
{
	struct usock *u = f->priv;
	uint64_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].len;
	if (total > 0xffff)
		return -EMSGSIZE;
	int e = inet_take_error(u);
	if (e)
		return -e;
	if (u->shutdown & SEND_SHUTDOWN)
		return -EPIPE;
	struct inaddr dst;
	if (to) {
		dst = *to;
		int r = route(u, &dst);
		if (r < 0)
			return r;
		if (!dst.port)
			return -EINVAL;
	} else if (u->in.dconnected) {
		dst = u->in.remote;
	} else {
		return -EDESTADDRREQ;
	}
	if (total > (inaddr_is_v4(&dst) ? UDP_MAX_V4 : UDP_MAX_V6))
		return -EMSGSIZE;
	if (!u->in.bound) {
		int r = autobind(u);
		if (r < 0)
			return r;
	}
	struct inaddr src;
	source(u, &dst, &src);
	struct usock *p = inet_port_find(SOCK_DGRAM, &dst, &src);
	if (!p) {
		if (u->in.dconnected) {
			u->in.error = ECONNREFUSED;
			u->rd_seq++;
		}
		return (int64_t)total;
	}
	if (p->qbytes + total + MSG_COST > INET_UDP_BUF)
		return (int64_t)total; /* a full receiver drops it */
	struct uname from;
	inaddr_to_uname(p->family, &src, &from);
	int r = usock_put_msg(p, iov, n, total, &from);
	return r < 0 ? r : (int64_t)total;
}

static int64_t in_read(struct file *f, void *buf, uint64_t len, bool nonblock)
{
	struct usock *u = f->priv;
	int e = u->type == SOCK_DGRAM ? inet_take_error(u) : 0;
	return e ? -e : unix_ops.read(f, buf, len, nonblock);
}

static int64_t in_write(struct file *f, const void *buf, uint64_t len, bool nonblock)
{
	struct usock *u = f->priv;
	if (u->type == SOCK_STREAM)
		return unix_ops.write(f, buf, len, nonblock);
	struct kiov iov = {(uint8_t *)buf, len};
	return dsend(f, &iov, 1, NULL);
}

static short in_poll(struct file *f, short want, uint64_t *deadline)
{
	struct usock *u = f->priv;
	return (short)(unix_ops.poll(f, want, deadline) | (u->in.error ? POLLERR : 0));
}

static uint64_t in_seq(struct file *f, short want) { return unix_ops.seq(f, want); }
static int64_t in_ioctl(struct file *f, uint32_t cmd, uint64_t arg) { return unix_ops.ioctl(f, cmd, arg); }
static void in_release(struct file *f) { unix_ops.release(f); }

static const struct file_ops inet_ops = {.read = in_read,
					 .write = in_write,
					 .poll = in_poll,
					 .seq = in_seq,
					 .ioctl = in_ioctl,
					 .release = in_release};

int inet_socket(uint64_t family, uint64_t type, uint64_t protocol)
{
	int kind = (int)(type & 0xf);
	if (type & ~(uint64_t)(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (kind != SOCK_STREAM && kind != SOCK_DGRAM)
		return -ESOCKTNOSUPPORT;
	if (protocol != 0 && protocol != (kind == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
		return -EPROTONOSUPPORT;
	struct usock *u = usock_new(kind);
	if (!u)
		return -ENOMEM;
	u->family = (int)family;
	if (kind == SOCK_STREAM)
		u->rx.cap = INET_TCP_BUF;
	unbound(u);
	inet_opt_init(u);
	struct file *f = file_alloc(&inet_ops, &unix_vn, u, O_RDWR | (type & SOCK_NONBLOCK ? O_NONBLOCK : 0));
	if (!f) {
		usock_free(u);
		return -ENOMEM;
	}
	int fd = fd_alloc(f, 0, type & SOCK_CLOEXEC);
	if (fd < 0)
		file_put(f);
	return fd;
}

int inet_bind(struct file *f, uaddr_t uaddr, uint64_t len)
{
	struct usock *u = f->priv;
	struct inaddr a;
	int r = inaddr_get(u->family, false, uaddr, len, &a);
	if (r == 1) {
		/* AF_UNSPEC: Linux takes it for INADDR_ANY on AF_INET alone. */
		if (u->family == AF_INET6)
			return -EAFNOSUPPORT;
		if ((int)len < 16)
			return -EINVAL;
		if (!inaddr_is_any(&a))
			return -EAFNOSUPPORT;
		r = 0;
	}
	if (r < 0)
		return r;
	if (u->family == AF_INET6 && inaddr_is_v4(&a) && inet_v6only(u))
		return -EINVAL;
	if (!inaddr_is_any(&a) && !is_loopback(&a))
		return -EADDRNOTAVAIL;
	if (u->in.bound)
		return -EINVAL;
	return inet_port_bind(u, &a);
}

int inet_listen(struct file *f, int backlog)
{
	struct usock *u = f->priv;
	if (u->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	if (u->state == US_CONNECTED)
		return -EINVAL;
	int r = 0;
	if (!u->in.bound)
		r = autobind(u);
	else if (u->state != US_LISTEN)
		r = inet_port_listen_ok(u);
	return r < 0 ? r : usock_listen(u, backlog);
}

/* connect(AF_UNSPEC): a datagram socket forgets its destination; a TCP
 * connection is shut down both ways (Linux aborts it). */
static int disconnect(struct file *f)
{
	struct usock *u = f->priv;
	if (u->type == SOCK_DGRAM) {
		u->in.dconnected = false;
		memset(&u->in.remote, 0, sizeof(u->in.remote));
		u->state = US_NEW;
		return 0;
	}
	if (u->state == US_CONNECTED)
		unix_shutdown(f, 2);
	return 0;
}

int inet_connect(struct file *f, uaddr_t uaddr, uint64_t len)
{
	struct usock *u = f->priv;
	struct inaddr dst;
	int r = inaddr_get(u->family, u->type == SOCK_DGRAM, uaddr, len, &dst);
	if (r == 1)
		return disconnect(f);
	if (r < 0)
		return r;
	if (u->type == SOCK_STREAM && (u->state == US_CONNECTED || u->state == US_LISTEN))
		return -EISCONN;
	if ((r = route(u, &dst)) < 0)
		return r;
	bool autobound = !u->in.bound;
	if (autobound && (r = autobind(u)) < 0)
		return r;
	struct inaddr src;
	source(u, &dst, &src);
	if (u->type == SOCK_DGRAM) {
		u->in.local = src; /* Linux fixes the source address at connect */
		u->in.remote = dst;
		u->in.dconnected = true;
		u->state = US_CONNECTED;
		return 0;
	}
	struct usock *l = inet_port_find(SOCK_STREAM, &dst, &src), *s;
	if (!l)
		r = -ECONNREFUSED;
	else
		r = usock_join(u, l, f->flags & O_NONBLOCK, &s);
	if (r < 0) {
		if (autobound)
			unbind(u); /* Linux lets go of a port it chose */
		return r;
	}
	u->in.local = src;
	u->in.remote = dst;
	/* The server's end: at the address the client reached, on the
	 * listener's port, with the listener's options, as Linux clones it. */
	s->family = l->family;
	s->rx.cap = INET_TCP_BUF;
	memcpy(s->in.opt, l->in.opt, sizeof(s->in.opt));
	s->rcvtimeo = l->rcvtimeo;
	s->sndtimeo = l->sndtimeo;
	s->in.local = dst;
	s->in.remote = src;
	inet_port_add(s);
	return 0;
}

int inet_accept(struct file *f, uaddr_t uaddr, uaddr_t ulen, uint64_t flags)
{
	struct usock *s;
	int fd = usock_accept(f, flags, &s);
	if (fd < 0)
		return fd;
	if (uaddr && inaddr_put(s->family, &s->in.remote, uaddr, ulen) < 0)
		return -EFAULT; /* the connection stays open on fd, as on Linux */
	return fd;
}

static bool connected(const struct usock *u)
{
	return u->type == SOCK_STREAM ? u->state == US_CONNECTED : u->in.dconnected;
}

int inet_names(struct file *f, uaddr_t uaddr, uaddr_t ulen, bool peer)
{
	struct usock *u = f->priv;
	if (peer && !connected(u))
		return -ENOTCONN;
	return inaddr_put(u->family, peer ? &u->in.remote : &u->in.local, uaddr, ulen);
}

int inet_shutdown(struct file *f, int how)
{
	struct usock *u = f->priv;
	if (how < 0 || how > 2)
		return -EINVAL;
	/* Linux marks even an unconnected socket shut (waking its pollers)
	 * and says ENOTCONN. */
	bool conn = connected(u) || u->state == US_LISTEN;
	unix_shutdown(f, how);
	return conn ? 0 : -ENOTCONN;
}

/* A datagram's destination named on a send: 0 with *to, 1 for none
 * (AF_UNSPEC on AF_INET6: the connected one), or -errno. */
static int send_addr(struct usock *u, uaddr_t addr, uint64_t addrlen, struct inaddr *to)
{
	int r = inaddr_get(u->family, true, addr, addrlen, to);
	if (r == 1 && u->family == AF_INET) /* Linux's udp_sendmsg uses its address */
		return (int)addrlen < 16 ? -EINVAL : 0;
	return r;
}

int64_t inet_xfer(struct file *f, uaddr_t buf, uint64_t len, uint64_t flags, uaddr_t addr, uint64_t addrlen,
		  bool send)
{
	struct usock *u = f->priv;
	if (u->type == SOCK_STREAM) /* TCP ignores a destination, as Linux */
		return unix_xfer(f, buf, len, flags, send ? 0 : addr, send ? 0 : addrlen, send);
	if (!send) {
		int e = inet_take_error(u);
		return e ? -e : unix_xfer(f, buf, len, flags, addr, addrlen, false);
	}
	struct inaddr to;
	int r = addr ? send_addr(u, addr, addrlen, &to) : 1;
	if (r < 0)
		return r;
	if (len && user_ok(buf, len, false) < 0)
		return -EFAULT;
	struct kiov iov = {(uint8_t *)buf, len};
	return dsend(f, &iov, 1, r == 0 ? &to : NULL);
}

int64_t inet_msg(struct file *f, uaddr_t umsg, uint64_t flags, bool send)
{
	struct usock *u = f->priv;
	struct msghdr m;
	if (copy_from_user(&m, umsg, sizeof(m)) < 0)
		return -EFAULT;
	struct inaddr to;
	int r = send && u->type == SOCK_DGRAM && m.name ? send_addr(u, m.name, m.namelen, &to) : 1;
	if (r < 0)
		return r;
	struct kiov *iov;
	int n = usock_iov(m.iov, m.iovlen, !send, &iov);
	int64_t got = n;
	int mf = 0;
	struct uname from;
	/* Control messages (IP_PKTINFO, IP_TOS...) ask nothing loopback needs. */
	if (n >= 0 && send)
		got = u->type == SOCK_STREAM ? usock_send(f, iov, n, flags, NULL)
					     : dsend(f, iov, n, r == 0 ? &to : NULL);
	int e = n >= 0 && !send && u->type == SOCK_DGRAM ? inet_take_error(u) : 0;
	if (e)
		got = -e;
	else if (n >= 0 && !send)
		got = usock_recv(f, iov, n, flags, &mf, &from);
	kfree(iov);
	if (send || got < 0)
		return got;
	return usock_msg_reply(umsg, &m, &from, 0, mf) < 0 ? -EFAULT : got;
}

int inet_getsockopt(struct file *f, uint64_t level, uint64_t name, uaddr_t uval, uaddr_t ulen)
{
	return inet_opt_get(f->priv, level, name, uval, ulen);
}

int inet_setsockopt(struct file *f, uint64_t level, uint64_t name, uaddr_t uval, uint64_t len)
{
	return inet_opt_set(f->priv, level, name, uval, len);
}
