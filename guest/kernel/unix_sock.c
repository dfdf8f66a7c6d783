/* AF_UNIX sockets, their data: SOCK_STREAM (a byte ring each way),
 * SOCK_DGRAM and SOCK_SEQPACKET (a queue of messages, boundaries kept),
 * socketpair, shutdown, poll. Names, listen/connect/accept are unix_name.c.
 * Each end has Linux's shutdown bits: our SHUT_WR is the peer's receive
 * shutdown and the reverse; closing an end of a stream or seqpacket
 * connection shuts the other down both ways (reads then see EOF, writes
 * EPIPE), while a datagram socket whose destination closed gets
 * ECONNREFUSED on send and waits on receive, as Linux does. Descriptors
 * travel with the data (SCM_RIGHTS, scm.c parses the control messages):
 * with a message, or with a stream's bytes, where a read stops before the
 * bytes that carry them and after them, as Linux's per-skb reads do. */
#include "scm.h"
#include "unix_int.h"

#define MSG_PEEK 0x2
#define MSG_TRUNC 0x20
#define MSG_DONTWAIT 0x40
#define MSG_WAITALL 0x100
#define MSG_CTRUNC 0x8
#define MSG_CMSG_CLOEXEC 0x40000000
#define ENOBUFS 105
#define SO_PASSCRED 16

/* Sets of descriptors in flight there are: unix_gc has work only then. */
static int inflight_sets;
static bool gc_wanted;

static struct scm_fds *scm_fds_new(int n)
{
	struct scm_fds *s = kmalloc(sizeof(*s) + (uint64_t)n * sizeof(s->f[0]));
	if (s)
		inflight_sets++;
	return s;
}

static void scm_fds_free(struct scm_fds *s)
{
	inflight_sets--;
	kfree(s);
}

void scm_fds_put(struct scm_fds *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		file_put(s->f[i]);
	scm_fds_free(s);
}

/* Another reference to each (MSG_PEEK leaves the message its own). */
static struct scm_fds *scm_fds_dup(const struct scm_fds *s)
{
	struct scm_fds *d = scm_fds_new(s->n);
	if (!d)
		return NULL;
	d->n = s->n;
	for (int i = 0; i < s->n; i++) {
		d->f[i] = s->f[i];
		d->f[i]->refs++;
	}
	return d;
}

static struct usock *all_socks;
struct vnode unix_vn = {.name = "socket", .mode = 0140000 | 0777, .refs = 1};

struct usock *usock_new(int type)
{
	struct usock *u = kmalloc(sizeof(*u));
	if (!u)
		return NULL;
	u->type = type;
	u->family = AF_UNIX;
	u->rx.cap = UNIX_BUF;
	u->qtail = &u->q;
	u->next = all_socks;
	all_socks = u;
	return u;
}

struct usock *usock_find(const struct uname *n, struct vnode *vn)
{
	for (struct usock *u = all_socks; u; u = u->next) {
		if (vn ? u->vn == vn
		       : (!u->vn && u->name.len == n->len && n->len &&
			  !memcmp(u->name.bytes, n->bytes, n->len)))
			return u;
	}
	return NULL;
}

static bool is_stream(const struct usock *u) { return u->type == SOCK_STREAM; }
static uint32_t queued(const struct usock *u) { return is_stream(u) ? u->rx.len : u->qbytes; }

/* to: where the bytes go (the peer, or a datagram's addressee). */
struct send_wait {
	struct usock *u, *to;
	uint64_t need;
};
/* Is s still a socket? A datagram's addressee can close while a sender
 * sleeps for room in its queue (another task did it): a sleeper's copy of
 * the pointer must not be followed then. */
bool usock_alive(const struct usock *s)
{
	for (const struct usock *o = all_socks; o; o = o->next)
		if (o == s)
			return true;
	return false;
}

static bool send_ready(void *arg)
{
	struct send_wait *w = arg;
	struct usock *u = w->u, *p = w->to;
	if (!p || !usock_alive(p) || (u->shutdown & SEND_SHUTDOWN) || (is_stream(u) && !u->peer))
		return true; /* and fails */
	return is_stream(u) ? ring_room(&p->rx) > 0 && p->nscq < UNIX_MAX_CRED_RUNS
			    : p->qbytes + w->need <= UNIX_BUF;
}

static int64_t send_error(struct usock *u)
{
	if (u->shutdown & SEND_SHUTDOWN)
		return -EPIPE;
	if (u->state != US_CONNECTED)
		return u->family == AF_UNIX ? -ENOTCONN : -EPIPE; /* TCP: EPIPE */
	return u->type == SOCK_DGRAM ? -ECONNREFUSED : -EPIPE;
}

static int put_msg(struct usock *p, const struct kiov *iov, int n, uint64_t total, const struct uname *from,
		   struct scm_fds *fds, struct kucred cred)
{
	struct umsg *m = kmalloc(sizeof(*m) + total);
	if (!m)
		return -ENOMEM;
	m->len = (uint32_t)total;
	m->from = *from;
	m->fds = fds;
	m->cred = cred;
	uint64_t at = 0;
	for (int i = 0; i < n; i++, at += iov[i - 1].len)
		memcpy(m->data + at, iov[i].base, iov[i].len);
	*p->qtail = m;
	p->qtail = &m->next;
	p->qbytes += m->len + MSG_COST;
	p->rd_seq++;
	return 0;
}

int usock_put_msg(struct usock *p, const struct kiov *iov, int n, uint64_t total, const struct uname *from)
{
	return put_msg(p, iov, n, total, from, NULL, NO_CRED);
}

struct kucred usock_my_cred(void) { return (struct kucred){curproc->pid, 0, 0}; }

static bool cred_eq(struct kucred a, struct kucred b)
{
	return a.pid == b.pid && a.uid == b.uid && a.gid == b.gid;
}

/* What data from u to p comes with, as Linux decides it when it is sent:
 * the credentials the sender claimed; else its own when either end asks
 * for them (SO_PASSCRED) or p is a connection not accepted yet (Linux:
 * a socket nobody holds yet, which cannot say); else none. */
static struct kucred send_cred(const struct usock *u, const struct usock *p, const struct kucred *claimed)
{
	if (claimed)
		return *claimed;
	if (u->family == AF_UNIX && (u->passcred || p->passcred || p->unaccepted))
		return usock_my_cred();
	return NO_CRED;
}

/* The credentials of stream byte pos of u, and how many bytes from it
 * came with the same (*same). */
static struct kucred stream_cred_at(const struct usock *u, uint64_t pos, uint64_t *same)
{
	for (const struct stream_cred *sc = u->scq; sc; sc = sc->next) {
		if (sc->at + sc->len <= pos)
			continue;
		if (sc->at <= pos) {
			*same = sc->at + sc->len - pos;
			return sc->cred;
		}
		*same = sc->at - pos;
		return NO_CRED;
	}
	*same = UINT64_MAX;
	return NO_CRED;
}

/* A run for bytes about to be queued on p with c (NULL when the last run
 * grows, or c is none; *err -ENOMEM when none could be had). */
static struct stream_cred *stream_cred_new(struct usock *p, struct kucred c, int *err)
{
	struct stream_cred *l = p->scq_last;
	*err = 0;
	if (cred_eq(c, NO_CRED) || (l && l->at + l->len == p->rx_in && cred_eq(l->cred, c)))
		return NULL;
	struct stream_cred *sc = kmalloc(sizeof(*sc));
	if (!sc) {
		*err = -ENOMEM;
		return NULL;
	}
	sc->at = p->rx_in;
	sc->cred = c;
	return sc;
}

/* The r bytes just queued on p (from p->rx_in) came with c; sc is
 * stream_cred_new's. */
static void stream_cred_note(struct usock *p, struct stream_cred *sc, struct kucred c, uint64_t r)
{
	if (cred_eq(c, NO_CRED) || !r) {
		kfree(sc);
		return;
	}
	if (!sc) { /* the last run grows */
		p->scq_last->len += r;
		return;
	}
	sc->len = r;
	if (p->scq_last)
		p->scq_last->next = sc;
	else
		p->scq = sc;
	p->scq_last = sc;
	p->nscq++;
}

/* Lets go of the runs of bytes already read. */
static void stream_cred_drop(struct usock *u)
{
	while (u->scq && u->scq->at + u->scq->len <= u->rx_out) {
		struct stream_cred *sc = u->scq;
		u->scq = sc->next;
		u->nscq--;
		kfree(sc);
	}
	if (!u->scq)
		u->scq_last = NULL;
}

/* Queues the stream's descriptors on p for its next r bytes from now. */
static struct stream_fds *stream_fds_add(struct usock *p, struct scm_fds *fds)
{
	struct stream_fds *sf = kmalloc(sizeof(*sf));
	if (!sf)
		return NULL;
	sf->at = p->rx_in;
	sf->fds = fds;
	struct stream_fds **at = &p->sfq;
	while (*at)
		at = &(*at)->next;
	*at = sf;
	return sf;
}

int64_t usock_send(struct file *f, const struct kiov *iov, int n, uint64_t flags, struct usock *to)
{
	return usock_send_fds(f, iov, n, flags, to, NULL, NULL);
}

static int64_t send_fds(struct file *f, const struct kiov *iov, int n, uint64_t flags, struct usock *to,
			struct scm_fds **fds, const struct kucred *cred);

/* fds: what goes with the data, the caller's no more (sent or let go). */
int64_t usock_send_fds(struct file *f, const struct kiov *iov, int n, uint64_t flags, struct usock *to,
		       struct scm_fds *fds, const struct kucred *cred)
{
	int64_t r = send_fds(f, iov, n, flags, to, &fds, cred);
	scm_fds_put(fds); /* what was not sent (NULL if it was) */
	return r;
}

/* to: a datagram's addressee when one was named, else NULL (the peer).
 * *fds becomes NULL once the data carrying them is queued. cred: what the
 * sender claimed, or NULL. */
static int64_t send_fds(struct file *f, const struct kiov *iov, int n, uint64_t flags, struct usock *to,
			struct scm_fds **fds, const struct kucred *cred)
{
	struct usock *u = f->priv;
	bool nb = (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	uint64_t total = 0;
	for (int i = 0; i < n; i++)
		total += iov[i].len;
	if (!is_stream(u)) {
		if (total + MSG_COST > UNIX_BUF)
			return -EMSGSIZE;
		struct send_wait w = {u, to ? to : u->peer, total + MSG_COST};
		if (!send_ready(&w)) {
			if (nb)
				return -EAGAIN;
			int r = wait_until(send_ready, &w, usock_deadline(u->sndtimeo));
			if (r < 0)
				return r == -ETIMEDOUT ? -EAGAIN : r; /* SO_SNDTIMEO, or a signal */
		}
		if (to && !usock_alive(to))
			return -ECONNREFUSED; /* the addressee closed while we waited */
		struct usock *p = to ? to : u->peer;
		if (!p || (u->shutdown & SEND_SHUTDOWN) || (!to && u->state != US_CONNECTED))
			return send_error(u);
		/* Linux: a sender that asks for credentials gets a name, so
		 * the receiver can answer it. */
		if (u->family == AF_UNIX && u->passcred && !u->name.len) {
			int r = usock_autobind(u);
			if (r < 0)
				return r;
		}
		int r = put_msg(p, iov, n, total, &u->name, *fds, send_cred(u, p, cred));
		if (r == 0)
			*fds = NULL;
		return r < 0 ? r : (int64_t)total;
	}
	uint64_t done = 0, dl = usock_deadline(u->sndtimeo);
	struct stream_fds *sf = NULL; /* valid while u->peer is (it is the peer's) */
	for (int i = 0; i < n; i++) {
		uint64_t off = 0;
		while (off < iov[i].len) {
			struct send_wait w = {u, u->peer, 1};
			if (!send_ready(&w)) {
				if (nb)
					return done ? (int64_t)done : -EAGAIN;
				int r = wait_until(send_ready, &w, dl);
				if (r < 0)
					return done ? (int64_t)done : r == -ETIMEDOUT ? -EAGAIN : r;
			}
			if (!u->peer || (u->shutdown & SEND_SHUTDOWN))
				return done ? (int64_t)done : send_error(u);
			struct kucred c = send_cred(u, u->peer, cred);
			int err;
			struct stream_cred *sc = stream_cred_new(u->peer, c, &err);
			int64_t r = err ? err : ring_put(&u->peer->rx, iov[i].base + off, iov[i].len - off);
			if (r < 0) {
				kfree(sc);
				return done ? (int64_t)done : r;
			}
			stream_cred_note(u->peer, sc, c, (uint64_t)r);
			/* The descriptors go with the first bytes queued. */
			if (r > 0 && *fds && !sf && (sf = stream_fds_add(u->peer, *fds)))
				*fds = NULL; /* the peer's now */
			if (sf)
				sf->len += (uint64_t)r;
			off += (uint64_t)r;
			done += (uint64_t)r;
			u->peer->rx_in += (uint64_t)r;
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

/* *mflags gets MSG_TRUNC when a message was longer than the buffers; *from
 * the sender's name (streams: unnamed). */
int64_t usock_recv(struct file *f, const struct kiov *iov, int n, uint64_t flags, int *mflags,
		   struct uname *from)
{
	struct scm_fds *fds = NULL;
	int64_t r = usock_recv_fds(f, iov, n, flags, mflags, from, &fds, NULL);
	if (fds) { /* nowhere to put them: Linux closes them too */
		scm_fds_put(fds);
		*mflags |= MSG_CTRUNC;
	}
	return r;
}

/* Hands over the descriptors that came with what was read: a message's, or
 * a stream's whose first byte was; a peek gets references of its own. */
static void take_fds(struct scm_fds **slot, bool peek, struct scm_fds **out)
{
	if (!*slot)
		return;
	if (peek) {
		*out = scm_fds_dup(*slot);
		return;
	}
	*out = *slot;
	*slot = NULL;
}

int64_t usock_recv_fds(struct file *f, const struct kiov *iov, int n, uint64_t flags, int *mflags,
		       struct uname *from, struct scm_fds **fds, struct kucred *cred)
{
	struct usock *u = f->priv;
	struct kucred ignored;
	if (!cred)
		cred = &ignored;
	/* What a read that found nothing (end of file) reports, as Linux. */
	*cred = (struct kucred){0, 0, 0};
	*fds = NULL;
	bool nb = (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	uint64_t want = 0, done = 0;
	for (int i = 0; i < n; i++)
		want += iov[i].len;
	*mflags = 0;
	from->len = 0;
	if (u->type != SOCK_DGRAM && u->state != US_CONNECTED)
		return is_stream(u) && u->family == AF_UNIX ? -EINVAL : -ENOTCONN;
	uint64_t dl = usock_deadline(u->rcvtimeo);
	for (;;) {
		if (!can_recv(u)) {
			if (nb)
				return done ? (int64_t)done : -EAGAIN;
			int r = wait_until(can_recv, u, dl);
			if (r < 0)
				return done ? (int64_t)done : r == -ETIMEDOUT ? -EAGAIN : r;
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
			*from = m->from;
			*cred = m->cred;
			int64_t r = (flags & MSG_TRUNC) ? (int64_t)m->len : (int64_t)at;
			take_fds(&m->fds, flags & MSG_PEEK, fds);
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
		 * peek reads on from what earlier buffers took), at most to the
		 * end of the next bytes that carry descriptors: a read that
		 * takes any of them gets the descriptors and ends there, as
		 * Linux's reads end after an skb with descriptors. A socket
		 * that asks for credentials (SO_PASSCRED) reads only bytes
		 * that came with the same ones (Linux never joins writers). */
		uint64_t pos = u->rx_out + ((flags & MSG_PEEK) ? done : 0), limit = UINT64_MAX;
		struct stream_fds *sf = u->sfq;
		if (sf && sf->at + sf->len > pos)
			limit = sf->at + sf->len - pos;
		else
			sf = NULL;
		uint64_t same;
		struct kucred c = stream_cred_at(u, pos, &same);
		if (u->passcred) {
			if (done && !cred_eq(c, *cred))
				return (int64_t)done;
			limit = MIN(limit, same);
		}
		if (!done)
			*cred = c;
		uint64_t skip = done, got = 0;
		for (int i = 0; i < n && got < limit && queued(u) > (flags & MSG_PEEK ? done + got : 0);
		     i++) {
			if (skip >= iov[i].len) {
				skip -= iov[i].len;
				continue;
			}
			uint8_t *dst = iov[i].base + skip;
			uint64_t room = MIN(iov[i].len - skip, limit - got);
			got += (flags & MSG_PEEK) ? ring_peek(&u->rx, done + got, dst, room)
						  : ring_get_user(&u->rx, (uint64_t)dst, room);
			skip = 0;
		}
		done += got;
		if (!(flags & MSG_PEEK)) {
			u->rx_out += got;
			stream_cred_drop(u);
		}
		bool with_fds = sf && pos + got > sf->at;
		if (with_fds) {
			take_fds(&sf->fds, flags & MSG_PEEK, fds);
			if (!(flags & MSG_PEEK)) {
				u->sfq = sf->next;
				kfree(sf);
			}
		}
		if (got && !(flags & MSG_PEEK) && u->peer)
			u->peer->wr_seq++;
		if (with_fds || !(flags & MSG_WAITALL) || (flags & MSG_PEEK) || nb || done >= want)
			return (int64_t)done;
	}
}

static int64_t us_read(struct file *f, void *buf, uint64_t len, bool nonblock)
{
	struct kiov iov = {buf, len};
	int mf;
	struct uname from;
	return usock_recv(f, &iov, 1, nonblock ? MSG_DONTWAIT : 0, &mf, &from);
}

static int64_t us_write(struct file *f, const void *buf, uint64_t len, bool nonblock)
{
	struct kiov iov = {(uint8_t *)buf, len};
	return usock_send(f, &iov, 1, nonblock ? MSG_DONTWAIT : 0, NULL);
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
	if (queued(u) || (u->state == US_LISTEN && u->nacc))
		r |= POLLIN | POLLRDNORM;
	if (u->type != SOCK_DGRAM && u->state == US_NEW)
		r |= POLLHUP; /* Linux: a connection socket never connected */
	/* Linux: writable while at most a quarter of the buffer is in flight. */
	struct usock *p = u->peer;
	if (u->state != US_LISTEN &&
	    (!p || (queued(p) * 4 <= (is_stream(p) ? p->rx.cap : UNIX_BUF) && p->nscq < UNIX_MAX_CRED_RUNS)))
		r |= POLLOUT | POLLWRNORM;
	return r;
}

static uint64_t us_seq(struct file *f, short want)
{
	struct usock *u = f->priv;
	return (want & (POLLIN | POLLRDHUP) ? u->rd_seq : 0) + (want & POLLOUT ? u->wr_seq : 0);
}

void usock_shut(struct usock *u, int how)
{
	u->shutdown |= how;
	u->rd_seq++;
	u->wr_seq++;
}

void usock_free(struct usock *u)
{
	for (struct usock **pp = &all_socks; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	}
	/* Whoever sends here or is connected to u sees it closed. */
	for (struct usock *o = all_socks; o; o = o->next) {
		if (o->peer != u)
			continue;
		o->peer = NULL;
		if (o->type != SOCK_DGRAM)
			usock_shut(o, RCV_SHUTDOWN | SEND_SHUTDOWN);
		else
			o->wr_seq++;
	}
	if (u->in.bound)
		inet_port_drop(u); /* its port is free again */
	/* Connections not yet accepted go with their listener. */
	for (int i = 0; i < u->nacc; i++)
		usock_free(u->accq[i]);
	if (u->vn)
		vn_unref(u->vn); /* the socket file stays in the tree, as on Linux */
	ring_free(&u->rx);
	/* Descriptors never received go with the socket. The queues are
	 * taken off u first: a descriptor may be a socket whose release
	 * comes back here. */
	struct umsg *q = u->q;
	struct stream_fds *sfq = u->sfq;
	u->q = NULL;
	u->sfq = NULL;
	while (q) {
		struct umsg *m = q;
		q = m->next;
		scm_fds_put(m->fds);
		kfree(m);
	}
	while (sfq) {
		struct stream_fds *sf = sfq;
		sfq = sf->next;
		scm_fds_put(sf->fds);
		kfree(sf);
	}
	while (u->scq) {
		struct stream_cred *sc = u->scq;
		u->scq = sc->next;
		kfree(sc);
	}
	kfree(u);
}

/* FIONREAD (SIOCINQ): bytes waiting, or the next datagram's length. */
static int64_t us_ioctl(struct file *f, uint32_t cmd, uint64_t arg)
{
	struct usock *u = f->priv;
	if (cmd != FIONREAD)
		return -ENOTTY;
	if (u->state == US_LISTEN)
		return -EINVAL;
	uint32_t n = is_stream(u) ? u->rx.len : 0;
	for (struct umsg *m = u->q; m; m = m->next) {
		n += m->len;
		if (u->type == SOCK_DGRAM)
			break; /* a datagram socket answers the next one's length */
	}
	return copy_to_user(arg, &n, sizeof(n));
}

static void us_release(struct file *f) { usock_free(f->priv); }

const struct file_ops unix_ops = {.read = us_read,
				  .write = us_write,
				  .poll = us_poll,
				  .seq = us_seq,
				  .ioctl = us_ioctl,
				  .release = us_release};

bool is_unix_sock(const struct file *f) { return f->ops == &unix_ops; }

int unix_socket_kind(uint64_t type, uint64_t protocol)
{
	int kind = (int)(type & 0xf);
	if (type & ~(uint64_t)(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (kind != SOCK_STREAM && kind != SOCK_DGRAM && kind != SOCK_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	if (protocol != 0 && protocol != AF_UNIX)
		return -EPROTONOSUPPORT;
	return kind;
}

int unix_socketpair(uint64_t type, uint64_t protocol, uaddr_t usv)
{
	int kind = unix_socket_kind(type, protocol);
	if (kind < 0)
		return kind;
	if (user_ok(usv, 8, true) < 0)
		return -EFAULT;
	struct usock *u[2] = {usock_new(kind), usock_new(kind)};
	struct file *f[2] = {NULL, NULL};
	int fl = O_RDWR | (type & SOCK_NONBLOCK ? O_NONBLOCK : 0);
	for (int i = 0; i < 2; i++)
		if (u[i])
			f[i] = file_alloc(&unix_ops, &unix_vn, u[i], fl);
	int fds[2] = {-1, -1};
	if (f[0] && f[1]) {
		u[0]->peer = u[1];
		u[1]->peer = u[0];
		u[0]->state = u[1]->state = US_CONNECTED;
		u[0]->peercred = u[1]->peercred = usock_my_cred(); /* every kind, as Linux */
		if ((fds[0] = fd_alloc(f[0], 0, type & SOCK_CLOEXEC)) >= 0 &&
		    (fds[1] = fd_alloc(f[1], 0, type & SOCK_CLOEXEC)) >= 0)
			return copy_to_user(usv, fds, sizeof(fds));
		if (fds[0] >= 0)
			curproc->fds[fds[0]] = NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (f[i])
			file_put(f[i]);
		else if (u[i])
			usock_free(u[i]);
	}
	return fds[0] >= 0 ? -EMFILE : -ENOMEM;
}

/* The caller's iovecs, each checked, in a list of the call's own (a task
 * asleep in a send or receive keeps it while others make calls of their
 * own; the caller kfrees *out, also on an error): how many, or -errno. */
int usock_iov(uint64_t uiov, uint64_t n, bool write, struct kiov **out)
{
	*out = NULL;
	if (n > 1024)
		return -EMSGSIZE;
	struct kiov *iov = *out = kmalloc(MAX(n, 1ull) * sizeof(*iov));
	if (!iov)
		return -ENOMEM;
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

/* recvmsg's answer: the sender's name cut to the caller's room (msg_namelen
 * its whole length, as Linux), the control bytes used and the flags. */
int usock_msg_reply(uaddr_t umsg, struct msghdr *m, const struct uname *from, uint64_t controllen, int flags)
{
	uint32_t room = m->namelen;
	m->namelen = from->len;
	if (from->len && m->name && copy_to_user(m->name, from->bytes, MIN(room, from->len)) < 0)
		return -EFAULT;
	m->controllen = controllen;
	m->flags = flags;
	return copy_to_user(umsg, m, sizeof(*m)) < 0 ? -EFAULT : 0;
}

/* A destination named on a send: connection sockets refuse it (EISCONN,
 * or EOPNOTSUPP before connecting), a datagram goes to the socket bound
 * there. */
static int send_to(struct usock *u, uaddr_t addr, uint64_t addrlen, struct usock **to)
{
	*to = NULL;
	if (!addr || !addrlen)
		return 0;
	if (u->type != SOCK_DGRAM)
		return u->state == US_CONNECTED ? -EISCONN : -EOPNOTSUPP;
	struct uname n;
	int r = uname_get(addr, addrlen, &n);
	if (r < 0 || (r = usock_lookup(&n, to)) < 0)
		return r;
	return (*to)->type == SOCK_DGRAM ? 0 : -EPROTOTYPE;
}

int64_t unix_xfer(struct file *f, uaddr_t buf, uint64_t len, uint64_t flags, uaddr_t addr, uint64_t addrlen,
		  bool send)
{
	struct usock *u = f->priv, *to = NULL;
	int r0 = send ? send_to(u, addr, addrlen, &to) : 0;
	if (r0 < 0)
		return r0;
	if (len && user_ok(buf, len, !send) < 0)
		return -EFAULT;
	struct kiov iov = {(uint8_t *)buf, len};
	int mf;
	struct uname from;
	int64_t r = send ? usock_send(f, &iov, 1, flags, to) : usock_recv(f, &iov, 1, flags, &mf, &from);
	if (!send && r >= 0 && addr && addrlen && from.len == 0) {
		int zero = 0;
		if (copy_to_user(addrlen, &zero, sizeof(zero)) < 0)
			return -EFAULT;
	} else if (!send && r >= 0 && addr && addrlen && uname_put(addr, addrlen, &from) < 0) {
		return -EFAULT;
	}
	return r;
}

/* Is there a task or process (a zombie too) of that id? */
static bool pid_exists(int32_t pid) { return pid > 0 && (task_by_tid(pid) || process_by_pid(pid)); }

/* A sendmsg's control messages: the descriptors of its SCM_RIGHTS (a
 * reference to each open file), NULL if none, and the credentials of its
 * SCM_CREDENTIALS (*has_cred). Every process here is root, which may claim
 * any ids (scm.c refuses -1) and any pid of a thread or process that
 * exists (else ESRCH, as Linux). 0 or -errno. */
static int control_in(uaddr_t ctl, uint64_t len, struct scm_fds **out, struct kucred *cred, bool *has_cred)
{
	*out = NULL;
	*has_cred = false;
	if (!len)
		return 0;
	if (len > SCM_CTL_MAX)
		return -ENOBUFS;
	uint8_t *buf = kmalloc(len);
	struct scm_req *req = kmalloc(sizeof(*req));
	int r = !buf || !req                        ? -ENOMEM
		: copy_from_user(buf, ctl, len) < 0 ? -EFAULT
						    : scm_parse(buf, len, req);
	if (r == 0 && req->creds) {
		if (!pid_exists(req->cred[0]))
			r = -ESRCH;
		*cred = (struct kucred){req->cred[0], (uint32_t)req->cred[1], (uint32_t)req->cred[2]};
		*has_cred = r == 0;
	}
	if (r == 0 && req->nfds) {
		struct scm_fds *s = scm_fds_new(req->nfds);
		if (!s)
			r = -ENOMEM;
		for (int i = 0; s && i < req->nfds; i++) {
			struct file *fl = fd_get(req->fds[i]);
			if (!fl) {
				r = -EBADF;
				break;
			}
			fl->refs++;
			s->f[s->n++] = fl;
		}
		if (r == 0)
			*out = s;
		else
			scm_fds_put(s);
	}
	kfree(buf);
	kfree(req);
	return r;
}

/* The SCM_CREDENTIALS message of a socket that asks for them, first in
 * the caller's control buffer [*ctl, *ctl+*room), as Linux's put_cmsg
 * writes it: cut to the room there is (MSG_CTRUNC; nothing under a
 * header's room); *ctl, *room and *used move past it. */
static int cred_out(uaddr_t *ctl, uint64_t *room, const struct kucred *c, uint64_t *used, int *mflags)
{
	if (!*ctl || *room < CMSG_HDR_LEN) {
		*mflags |= MSG_CTRUNC;
		return 0;
	}
	struct {
		uint64_t len;
		int32_t level, type;
		struct kucred c;
	} m = {CMSG_HDR_LEN + sizeof(*c), SOL_SOCKET, SCM_CREDENTIALS, *c};
	if (*room < m.len) {
		*mflags |= MSG_CTRUNC;
		m.len = *room;
	}
	if (copy_to_user(*ctl, &m, m.len) < 0)
		return -EFAULT;
	uint64_t step = MIN(CMSG_ALIGN8(CMSG_HDR_LEN + sizeof(*c)), *room);
	*ctl += step;
	*room -= step;
	*used += step;
	return 0;
}

/* Installs received descriptors as an SCM_RIGHTS message in the caller's
 * control buffer [ctl, ctl+room): as many as fit (Linux's count), the rest
 * let go with MSG_CTRUNC. *used grows by the bytes of the buffer it took. */
static int control_out(uaddr_t ctl, uint64_t room, struct scm_fds *s, bool cloexec, uint64_t *used,
		       int *mflags)
{
	int fit = room > CMSG_HDR_LEN && ctl ? (int)MIN((room - CMSG_HDR_LEN) / 4, (uint64_t)SCM_MAX_FD) : 0;
	int k = 0;
	int fds[SCM_MAX_FD];
	int r = fit && user_ok(ctl, room, true) < 0 ? -EFAULT : 0;
	for (; r == 0 && k < s->n && k < fit; k++) {
		int fd = fd_alloc(s->f[k], 0, cloexec);
		if (fd < 0)
			break;
		fds[k] = fd;
		s->f[k] = NULL; /* the table's reference now */
	}
	if (k < s->n)
		*mflags |= MSG_CTRUNC;
	for (int i = k; i < s->n; i++)
		file_put(s->f[i]);
	scm_fds_free(s);
	if (k) {
		struct {
			uint64_t len;
			int32_t level, type;
		} h = {CMSG_HDR_LEN + 4ull * (uint64_t)k, SOL_SOCKET, SCM_RIGHTS};
		memcpy((void *)ctl, &h, sizeof(h));
		memcpy((void *)(ctl + CMSG_HDR_LEN), fds, 4ull * (uint64_t)k);
		*used += MIN(room, CMSG_ALIGN8(h.len));
	}
	return r;
}

int64_t unix_msg(struct file *f, uaddr_t umsg, uint64_t flags, bool send)
{
	struct usock *u = f->priv, *to = NULL;
	struct msghdr m;
	if (copy_from_user(&m, umsg, sizeof(m)) < 0)
		return -EFAULT;
	int r0 = send ? send_to(u, m.name, m.namelen, &to) : 0;
	if (r0 < 0)
		return r0;
	struct kiov *iov;
	int n = usock_iov(m.iov, m.iovlen, !send, &iov);
	struct scm_fds *fds = NULL;
	struct kucred cred;
	bool has_cred;
	int64_t r = n;
	if (n >= 0 && send && (r = control_in(m.control, m.controllen, &fds, &cred, &has_cred)) == 0)
		r = usock_send_fds(f, iov, n, flags, to, fds, has_cred ? &cred : NULL);
	int mf = 0;
	struct uname from;
	if (n >= 0 && !send)
		r = usock_recv_fds(f, iov, n, flags & ~(uint64_t)MSG_CMSG_CLOEXEC, &mf, &from, &fds, &cred);
	kfree(iov);
	if (send || r < 0)
		return r;
	/* As Linux's scm_recv: the credentials first, if asked for. */
	uint64_t used = 0, room = m.controllen;
	uaddr_t ctl = m.control;
	if (u->passcred && cred_out(&ctl, &room, &cred, &used, &mf) < 0) {
		scm_fds_put(fds);
		return -EFAULT;
	}
	if (fds && control_out(ctl, room, fds, flags & MSG_CMSG_CLOEXEC, &used, &mf) < 0)
		return -EFAULT;
	return usock_msg_reply(umsg, &m, &from, used, mf) < 0 ? -EFAULT : r;
}

int unix_shutdown(struct file *f, int how)
{
	struct usock *u = f->priv;
	if (how < 0 || how > 2)
		return -EINVAL;
	int mine = how == 0 ? RCV_SHUTDOWN : how == 1 ? SEND_SHUTDOWN : RCV_SHUTDOWN | SEND_SHUTDOWN;
	usock_shut(u, mine);
	if (u->peer && u->type != SOCK_DGRAM)
		usock_shut(u->peer,
			   ((mine & RCV_SHUTDOWN) ? SEND_SHUTDOWN : 0) |
				   ((mine & SEND_SHUTDOWN) ? RCV_SHUTDOWN : 0));
	return 0;
}

void unix_peercred(struct file *f, int cred[3])
{
	/* Who made the pair, listened, or connected (Linux's sk_peer_pid and
	 * sk_peer_cred); none: pid 0 and ids -1, as Linux. */
	struct usock *u = f->priv;
	bool set = u->peercred.pid != 0;
	cred[0] = u->peercred.pid;
	cred[1] = set ? (int)u->peercred.uid : -1;
	cred[2] = set ? (int)u->peercred.gid : -1;
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
	case 30 /* SO_ACCEPTCONN */: *v = u->state == US_LISTEN; return 0;
	case SO_PASSCRED: *v = u->passcred; return 0;
	default: return -ENOPROTOOPT;
	}
}

int unix_setsockopt(struct file *f, uint64_t level, uint64_t optname, uaddr_t optval, uint64_t optlen)
{
	struct usock *u = f->priv;
	if (level != SOL_SOCKET)
		return -ENOPROTOOPT;
	if (optname != SO_PASSCRED)
		return 0; /* accepted, no effect (sys_net.c) */
	int v;
	if (optlen < sizeof(v))
		return -EINVAL;
	if (copy_from_user(&v, optval, sizeof(v)) < 0)
		return -EFAULT;
	u->passcred = v != 0;
	return 0;
}

/* ---- garbage collection of sockets in flight (Linux's unix_gc) ----
 *
 * A socket's open file held only by messages queued on sockets that are
 * themselves held only that way (a socket sent over itself, a pair sent
 * over each other, then closed) can never be read again, and would never
 * be freed: each message keeps the next socket open. When a socket loses
 * a reference but keeps others (unix_file_dropped) while descriptors are
 * in flight, the collector runs before the return to user mode
 * (unix_gc_pending), where no kernel code holds a socket:
 *   - candidates: sockets whose every reference is from a message;
 *   - those referenced by a message of a socket that is not a candidate
 *     (its count of references from candidates is less than all of them),
 *     and every candidate their messages reach, stay;
 *   - the others' messages let go of their descriptors, which frees those
 *     sockets, and what else the messages held.
 * A listener's connections not yet accepted (which have no file) count as
 * its own messages, and are walked only through it. */

typedef void (*gc_fn)(struct file *f);

/* Each descriptor in flight in u's messages (and its queued
 * connections'). */
static void gc_each(struct usock *u, gc_fn fn)
{
	for (struct umsg *m = u->q; m; m = m->next)
		for (int i = 0; m->fds && i < m->fds->n; i++)
			fn(m->fds->f[i]);
	for (struct stream_fds *sf = u->sfq; sf; sf = sf->next)
		for (int i = 0; sf->fds && i < sf->fds->n; i++)
			fn(sf->fds->f[i]);
	if (u->state == US_LISTEN)
		for (int i = 0; i < u->nacc; i++)
			gc_each(u->accq[i], fn);
}

static struct usock *gc_sock(struct file *f) { return is_unix_sock(f) ? f->priv : NULL; }

static void gc_count(struct file *f)
{
	struct usock *v = gc_sock(f);
	if (v) {
		v->gc_file = f;
		v->gc_inflight++;
	}
}

static void gc_unref(struct file *f)
{
	struct usock *v = gc_sock(f);
	if (v && v->gc_cand)
		v->gc_refs--;
}

static void gc_reach(struct file *f)
{
	struct usock *v = gc_sock(f);
	if (v && v->gc_cand && !v->gc_alive)
		v->gc_refs++; /* looked at (and kept) in the next pass */
}

/* Takes the descriptor sets off a dead socket's messages onto *list. */
static void gc_take(struct usock *u, struct scm_fds **list)
{
	for (struct umsg *m = u->q; m; m = m->next) {
		if (m->fds) {
			m->fds->gc_next = *list;
			*list = m->fds;
			m->fds = NULL;
		}
	}
	for (struct stream_fds *sf = u->sfq; sf; sf = sf->next) {
		if (sf->fds) {
			sf->fds->gc_next = *list;
			*list = sf->fds;
			sf->fds = NULL;
		}
	}
	if (u->state == US_LISTEN)
		for (int i = 0; i < u->nacc; i++)
			gc_take(u->accq[i], list);
}

void unix_gc(void)
{
	gc_wanted = false;
	if (!inflight_sets)
		return;
	for (struct usock *u = all_socks; u; u = u->next) {
		u->gc_file = NULL;
		u->gc_inflight = u->gc_refs = 0;
		u->gc_cand = u->gc_alive = false;
	}
	for (struct usock *u = all_socks; u; u = u->next)
		if (!u->unaccepted)
			gc_each(u, gc_count);
	for (struct usock *u = all_socks; u; u = u->next) {
		if (u->gc_file && u->gc_inflight == u->gc_file->refs) {
			u->gc_cand = true;
			u->gc_refs = u->gc_inflight;
		}
	}
	for (struct usock *u = all_socks; u; u = u->next)
		if (u->gc_cand)
			gc_each(u, gc_unref);
	/* Referenced from outside the candidates: alive, and so is what
	 * their messages reach. */
	for (bool more = true; more;) {
		more = false;
		for (struct usock *u = all_socks; u; u = u->next) {
			if (u->gc_cand && !u->gc_alive && u->gc_refs > 0) {
				u->gc_alive = true;
				gc_each(u, gc_reach);
				more = true;
			}
		}
	}
	struct scm_fds *dead = NULL;
	for (struct usock *u = all_socks; u; u = u->next)
		if (u->gc_cand && !u->gc_alive)
			gc_take(u, &dead);
	/* Now let go: the dead sockets' last references go with these, and
	 * freeing one changes the list of sockets walked above. */
	while (dead) {
		struct scm_fds *s = dead;
		dead = s->gc_next;
		scm_fds_put(s);
	}
}

void unix_file_dropped(void)
{
	if (inflight_sets)
		gc_wanted = true;
}

bool unix_gc_pending(void) { return gc_wanted; }
