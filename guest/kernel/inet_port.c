/* The port table of the loopback sockets: every bound AF_INET/AF_INET6
 * socket (listeners, connections' ends, datagram sockets), chained by
 * port, TCP and UDP each in their own port space. Binding follows Linux's
 * conflict rules: two sockets of one protocol on one port conflict when
 * their addresses overlap (equal, or either a wildcard of the other's
 * kind; an AF_INET6 socket on :: also takes IPv4 unless IPV6_V6ONLY),
 * unless both set SO_REUSEPORT, or both set SO_REUSEADDR and the other is
 * not a TCP listener. There is no TIME_WAIT: a closed socket's port is
 * free at once. */
#include "unix_int.h"

#define BUCKETS 64
#define EPHEMERAL_LO 32768 /* Linux's ip_local_port_range */
#define EPHEMERAL_HI 60999

static struct usock *table[BUCKETS];

static struct usock **bucket(uint16_t port) { return &table[port % BUCKETS]; }

/* Whether socket s, bound where it is, takes traffic for address a. */
static bool covers(const struct usock *s, const struct inaddr *a)
{
	const struct inaddr *b = &s->in.local;
	if (inaddr_is_any(b)) {
		if (inaddr_is_v4(b))
			return inaddr_is_v4(a);
		return !inaddr_is_v4(a) || !inet_v6only(s);
	}
	return inaddr_same_ip(a, b);
}

/* Whether u, to be bound at a, conflicts with o (bound on a's port). */
static bool conflicts(const struct usock *u, const struct inaddr *a, const struct usock *o)
{
	if (o == u || o->type != u->type || o->in.local.port != a->port)
		return false;
	bool overlap = covers(o, a);
	if (!overlap) {
		/* u at a, as covers() sees a bound socket. */
		const struct inaddr *b = &o->in.local;
		if (inaddr_is_any(a))
			overlap = inaddr_is_v4(a) ? inaddr_is_v4(b) : (!inaddr_is_v4(b) || !inet_v6only(u));
		else
			overlap = inaddr_same_ip(a, b);
	}
	if (!overlap)
		return false;
	if (inet_reuseport(u) && inet_reuseport(o))
		return false;
	return !(inet_reuseaddr(u) && inet_reuseaddr(o) && (u->type != SOCK_STREAM || o->state != US_LISTEN));
}

static bool port_free(const struct usock *u, const struct inaddr *a)
{
	for (struct usock *o = *bucket(a->port); o; o = o->in.hnext)
		if (conflicts(u, a, o))
			return false;
	return true;
}

/* A port no socket of u's protocol uses, from a random start as Linux. */
static int ephemeral(const struct usock *u, uint16_t *port)
{
	uint32_t n = EPHEMERAL_HI - EPHEMERAL_LO + 1, start;
	random_bytes(&start, sizeof(start));
	for (uint32_t i = 0; i < n; i++) {
		uint16_t p = (uint16_t)(EPHEMERAL_LO + (start + i) % n);
		bool used = false;
		for (struct usock *o = *bucket(p); o && !used; o = o->in.hnext)
			used = o->type == u->type && o->in.local.port == p;
		if (!used) {
			*port = p;
			return 0;
		}
	}
	return -EADDRNOTAVAIL; /* as Linux when the range is used up */
}

int inet_port_bind(struct usock *u, const struct inaddr *a)
{
	struct inaddr at = *a;
	if (!at.port) {
		int r = ephemeral(u, &at.port);
		if (r < 0)
			return r;
	} else if (!port_free(u, &at)) {
		return -EADDRINUSE;
	}
	u->in.local = at;
	inet_port_add(u);
	return 0;
}

int inet_port_listen_ok(struct usock *u) { return port_free(u, &u->in.local) ? 0 : -EADDRINUSE; }

void inet_port_add(struct usock *u)
{
	struct usock **b = bucket(u->in.local.port);
	u->in.hnext = *b;
	*b = u;
	u->in.bound = true;
}

void inet_port_drop(struct usock *u)
{
	for (struct usock **pp = bucket(u->in.local.port); *pp; pp = &(*pp)->in.hnext) {
		if (*pp == u) {
			*pp = u->in.hnext;
			break;
		}
	}
	u->in.bound = false;
	u->in.hnext = NULL;
}

/* Linux prefers the most specific socket: one bound to the address over
 * a wildcard, and a datagram socket connected to the sender over one that
 * is not. */
struct usock *inet_port_find(int type, const struct inaddr *dst, const struct inaddr *src)
{
	struct usock *best = NULL;
	int best_score = -1;
	for (struct usock *o = *bucket(dst->port); o; o = o->in.hnext) {
		if (o->type != type || o->in.local.port != dst->port || !covers(o, dst))
			continue;
		if (type == SOCK_STREAM && o->state != US_LISTEN)
			continue;
		int score = inaddr_is_any(&o->in.local) ? 0 : 2;
		if (type == SOCK_DGRAM && o->in.dconnected) {
			if (!inaddr_same_ip(&o->in.remote, src) || o->in.remote.port != src->port)
				continue;
			score += 4;
		}
		if (score > best_score) {
			best = o;
			best_score = score;
		}
	}
	return best;
}
