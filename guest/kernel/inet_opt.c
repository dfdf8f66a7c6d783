/* Socket options of the loopback sockets. The options programs commonly set
 * (SO_REUSEADDR, SO_KEEPALIVE, TCP_NODELAY, buffer sizes, TTLs, timeouts...)
 * are a table: each is accepted with Linux's checks of its length and range
 * and reads back as Linux reports it (booleans as 0/1, buffer sizes
 * doubled). Those that change what happens here are SO_REUSEADDR,
 * SO_REUSEPORT and IPV6_V6ONLY (the port table); the rest are kept and
 * reported, since loopback bytes need no tuning, except SO_RCVTIMEO and
 * SO_SNDTIMEO, which bound the waits of unix_sock.c (EAGAIN, as Linux). */
#include "unix_int.h"

#define SOL_SOCKET 1
#define SO_TYPE 3
#define SO_ERROR 4
#define SO_PEERCRED 17
#define SO_ACCEPTCONN 30
#define SO_PROTOCOL 38
#define SO_DOMAIN 39
#define TCP_MAXSEG 2
#define EDOM 33
#define LOOPBACK_MSS 65483 /* Linux's on lo (MTU 65536) */
#define WMEM_MAX 212992    /* Linux's net.core.wmem_max and rmem_max */

enum kind {
	K_BOOL,    /* int, read back as 0 or 1 */
	K_INT,     /* int in [lo, hi]; lo -1: -1 sets the default */
	K_BUF,     /* SO_SNDBUF/SO_RCVBUF: capped, doubled, at least lo */
	K_LINGER,  /* struct linger; kept as -1 (off) or the seconds */
	K_TIMEVAL, /* struct timeval; kept in milliseconds */
	K_RO,      /* read only */
};
enum only { ANY, STREAM, DGRAM, V6 };

struct opt {
	uint16_t level, name;
	uint8_t kind, only;
	int def, lo, hi;
};

/* The first three are what inet_reuseaddr/reuseport/v6only read. */
static const struct opt opts[] = {
	{SOL_SOCKET, 2 /* SO_REUSEADDR */, K_BOOL, ANY, 0, 0, 0},
	{SOL_SOCKET, 15 /* SO_REUSEPORT */, K_BOOL, ANY, 0, 0, 0},
	{IPPROTO_IPV6, 26 /* IPV6_V6ONLY */, K_BOOL, V6, 0, 0, 0},
	{SOL_SOCKET, 1 /* SO_DEBUG */, K_BOOL, ANY, 0, 0, 0},
	{SOL_SOCKET, 5 /* SO_DONTROUTE */, K_BOOL, ANY, 0, 0, 0},
	{SOL_SOCKET, 6 /* SO_BROADCAST */, K_BOOL, ANY, 0, 0, 0},
	{SOL_SOCKET, 7 /* SO_SNDBUF */, K_BUF, ANY, 0, 4608, 0},
	{SOL_SOCKET, 8 /* SO_RCVBUF */, K_BUF, ANY, 0, 2304, 0},
	{SOL_SOCKET, 9 /* SO_KEEPALIVE */, K_BOOL, ANY, 0, 0, 0},
	{SOL_SOCKET, 10 /* SO_OOBINLINE */, K_BOOL, ANY, 0, 0, 0},
	{SOL_SOCKET, 11 /* SO_NO_CHECK */, K_BOOL, ANY, 0, 0, 0},
	{SOL_SOCKET, 12 /* SO_PRIORITY */, K_INT, ANY, 0, 0, 0x7fffffff},
	{SOL_SOCKET, 13 /* SO_LINGER */, K_LINGER, ANY, -1, 0, 0},
	{SOL_SOCKET, 18 /* SO_RCVLOWAT */, K_INT, ANY, 1, 0, 0x7fffffff},
	{SOL_SOCKET, 19 /* SO_SNDLOWAT */, K_RO, ANY, 1, 0, 0},
	{SOL_SOCKET, 20 /* SO_RCVTIMEO_OLD */, K_TIMEVAL, ANY, 0, 0, 0},
	{SOL_SOCKET, 21 /* SO_SNDTIMEO_OLD */, K_TIMEVAL, ANY, 0, 0, 0},
	{SOL_SOCKET, 29 /* SO_TIMESTAMP_OLD */, K_BOOL, ANY, 0, 0, 0},
	{SOL_SOCKET, 36 /* SO_MARK */, K_INT, ANY, 0, -0x7fffffff, 0x7fffffff},
	{SOL_SOCKET, 40 /* SO_RXQ_OVFL */, K_BOOL, ANY, 0, 0, 0},
	{SOL_SOCKET, 46 /* SO_BUSY_POLL */, K_INT, ANY, 0, 0, 0x7fffffff},
	{SOL_SOCKET, 49 /* SO_INCOMING_CPU */, K_INT, ANY, 0, -1, 0x7fffffff},
	{SOL_SOCKET, 60 /* SO_ZEROCOPY */, K_BOOL, ANY, 0, 0, 0},
	{IPPROTO_TCP, 1 /* TCP_NODELAY */, K_BOOL, STREAM, 0, 0, 0},
	{IPPROTO_TCP, TCP_MAXSEG, K_INT, STREAM, 536, 0, 32767},
	{IPPROTO_TCP, 3 /* TCP_CORK */, K_BOOL, STREAM, 0, 0, 0},
	{IPPROTO_TCP, 4 /* TCP_KEEPIDLE */, K_INT, STREAM, 7200, 1, 32767},
	{IPPROTO_TCP, 5 /* TCP_KEEPINTVL */, K_INT, STREAM, 75, 1, 32767},
	{IPPROTO_TCP, 6 /* TCP_KEEPCNT */, K_INT, STREAM, 9, 1, 127},
	{IPPROTO_TCP, 7 /* TCP_SYNCNT */, K_INT, STREAM, 6, 1, 127},
	{IPPROTO_TCP, 8 /* TCP_LINGER2 */, K_INT, STREAM, 60, -0x7fffffff, 0x7fffffff},
	{IPPROTO_TCP, 9 /* TCP_DEFER_ACCEPT */, K_INT, STREAM, 0, 0, 0x7fffffff},
	{IPPROTO_TCP, 10 /* TCP_WINDOW_CLAMP */, K_INT, STREAM, 0, 0, 0x7fffffff},
	{IPPROTO_TCP, 12 /* TCP_QUICKACK */, K_BOOL, STREAM, 1, 0, 0},
	{IPPROTO_TCP, 18 /* TCP_USER_TIMEOUT */, K_INT, STREAM, 0, 0, 0x7fffffff},
	{IPPROTO_TCP, 23 /* TCP_FASTOPEN */, K_INT, STREAM, 0, 0, 0x7fffffff},
	{IPPROTO_TCP, 25 /* TCP_NOTSENT_LOWAT */, K_INT, STREAM, 0, 0, 0x7fffffff},
	{IPPROTO_TCP, 30 /* TCP_FASTOPEN_CONNECT */, K_BOOL, STREAM, 0, 0, 0},
	{IPPROTO_IP, 1 /* IP_TOS */, K_INT, ANY, 0, 0, 255},
	{IPPROTO_IP, 2 /* IP_TTL */, K_INT, ANY, 64, -1, 255},
	{IPPROTO_IP, 8 /* IP_PKTINFO */, K_BOOL, ANY, 0, 0, 0},
	{IPPROTO_IP, 10 /* IP_MTU_DISCOVER */, K_INT, ANY, 1, 0, 5},
	{IPPROTO_IP, 11 /* IP_RECVERR */, K_BOOL, ANY, 0, 0, 0},
	{IPPROTO_IP, 13 /* IP_RECVTOS */, K_BOOL, ANY, 0, 0, 0},
	{IPPROTO_IP, 15 /* IP_FREEBIND */, K_BOOL, ANY, 0, 0, 0},
	{IPPROTO_IP, 24 /* IP_BIND_ADDRESS_NO_PORT */, K_BOOL, ANY, 0, 0, 0},
	{IPPROTO_IP, 33 /* IP_MULTICAST_TTL */, K_INT, ANY, 1, -1, 255},
	{IPPROTO_IP, 34 /* IP_MULTICAST_LOOP */, K_BOOL, ANY, 1, 0, 0},
	{IPPROTO_IPV6, 16 /* IPV6_UNICAST_HOPS */, K_INT, V6, 64, -1, 255},
	{IPPROTO_IPV6, 19 /* IPV6_MULTICAST_LOOP */, K_BOOL, V6, 1, 0, 0},
	{IPPROTO_IPV6, 49 /* IPV6_RECVPKTINFO */, K_BOOL, V6, 0, 0, 0},
	{IPPROTO_IPV6, 67 /* IPV6_TCLASS */, K_INT, V6, 0, -1, 255},
	{IPPROTO_UDP, 1 /* UDP_CORK */, K_BOOL, DGRAM, 0, 0, 0},
	{IPPROTO_UDP, 103 /* UDP_SEGMENT */, K_INT, DGRAM, 0, 0, 65535},
	{IPPROTO_UDP, 104 /* UDP_GRO */, K_BOOL, DGRAM, 0, 0, 0},
};
_Static_assert(sizeof(opts) / sizeof(opts[0]) <= INET_NOPT, "each option has its slot");
#define NOPTS ((int)(sizeof(opts) / sizeof(opts[0])))

bool inet_reuseaddr(const struct usock *u) { return u->in.opt[0]; }
bool inet_reuseport(const struct usock *u) { return u->in.opt[1]; }
bool inet_v6only(const struct usock *u) { return u->family == AF_INET6 && u->in.opt[2]; }

void inet_opt_init(struct usock *u)
{
	for (int i = 0; i < NOPTS; i++)
		u->in.opt[i] = opts[i].def;
	/* Linux's first sizes: tcp_wmem/tcp_rmem's middle values for TCP,
	 * wmem_default/rmem_default for UDP. */
	bool tcp = u->type == SOCK_STREAM;
	for (int i = 0; i < NOPTS; i++) {
		if (opts[i].kind == K_BUF)
			u->in.opt[i] = tcp ? (opts[i].name == 7 ? 16384 : 131072) : WMEM_MAX;
	}
}

/* The option (level, name) for u: its index, or -ENOPROTOOPT. A level
 * of the other family or protocol is not there, as on Linux. */
static int find(const struct usock *u, uint64_t level, uint64_t name)
{
	for (int i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];
		if (o->level != level || o->name != name)
			continue;
		if ((o->only == STREAM && u->type != SOCK_STREAM) ||
		    (o->only == DGRAM && u->type != SOCK_DGRAM) || (o->only == V6 && u->family != AF_INET6))
			return -ENOPROTOOPT;
		return i;
	}
	return -ENOPROTOOPT;
}

int inet_take_error(struct usock *u)
{
	int e = u->in.error;
	u->in.error = 0;
	return e;
}

int inet_opt_get(struct usock *u, uint64_t level, uint64_t name, uint64_t uval, uint64_t ulen)
{
	int v = 0;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TYPE: v = u->type; return put_sockopt(uval, ulen, &v, sizeof(v));
		case SO_ERROR: v = inet_take_error(u); return put_sockopt(uval, ulen, &v, sizeof(v));
		case SO_DOMAIN: v = u->family; return put_sockopt(uval, ulen, &v, sizeof(v));
		case SO_PROTOCOL:
			v = u->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
			return put_sockopt(uval, ulen, &v, sizeof(v));
		case SO_ACCEPTCONN: v = u->state == US_LISTEN; return put_sockopt(uval, ulen, &v, sizeof(v));
		case SO_PEERCRED: {
			/* No process stands behind an inet peer: Linux's pid 0 and overflow ids. */
			int cred[3] = {0, 65534, 65534};
			return put_sockopt(uval, ulen, cred, sizeof(cred));
		}
		}
	}
	int i = find(u, level, name);
	if (i < 0)
		return i;
	v = u->in.opt[i];
	switch (opts[i].kind) {
	case K_LINGER: {
		int l[2] = {v >= 0, v >= 0 ? v : 0};
		return put_sockopt(uval, ulen, l, sizeof(l));
	}
	case K_TIMEVAL: {
		int64_t tv[2] = {v / 1000, v % 1000 * 1000};
		return put_sockopt(uval, ulen, tv, sizeof(tv));
	}
	default:
		if (level == IPPROTO_TCP && name == TCP_MAXSEG && u->state == US_CONNECTED)
			v = v == opts[i].def ? LOOPBACK_MSS : MIN(v, LOOPBACK_MSS);
		return put_sockopt(uval, ulen, &v, sizeof(v));
	}
}

int inet_opt_set(struct usock *u, uint64_t level, uint64_t name, uint64_t uval, uint64_t len)
{
	int i = find(u, level, name);
	if (i < 0)
		return i;
	const struct opt *o = &opts[i];
	int l = (int)len; /* Linux's optlen is an int */
	if (l < 0)
		return -EINVAL;
	if (o->kind == K_RO)
		return -ENOPROTOOPT; /* as Linux for SO_SNDLOWAT */
	if (o->kind == K_LINGER) {
		int lg[2];
		if (l < (int)sizeof(lg))
			return -EINVAL;
		if (copy_from_user(lg, uval, sizeof(lg)) < 0)
			return -EFAULT;
		u->in.opt[i] = lg[0] ? MAX(lg[1], 0) : -1;
		return 0;
	}
	if (o->kind == K_TIMEVAL) {
		int64_t tv[2];
		if (l < (int)sizeof(tv))
			return -EINVAL;
		if (copy_from_user(tv, uval, sizeof(tv)) < 0)
			return -EFAULT;
		if (tv[1] < 0 || tv[1] >= 1000000)
			return -EDOM;
		/* Negative seconds read back as 0, as on Linux; beyond 24 days: capped. */
		int64_t ms = tv[0] < 0 ? 0 : MIN(tv[0], (int64_t)0x7fffffff / 1000) * 1000 + tv[1] / 1000;
		u->in.opt[i] = (int)MIN(ms, (int64_t)0x7fffffff);
		if (!u->in.opt[i] && (tv[0] > 0 || tv[1]))
			u->in.opt[i] = 1; /* under a millisecond: at least one, as Linux's jiffy */
		uint64_t ns = (uint64_t)u->in.opt[i] * 1000000u;
		if (o->name == 20 /* SO_RCVTIMEO_OLD */)
			u->rcvtimeo = ns;
		else
			u->sndtimeo = ns;
		return 0;
	}
	int v;
	if (l < (int)sizeof(v))
		return -EINVAL;
	if (copy_from_user(&v, uval, sizeof(v)) < 0)
		return -EFAULT;
	switch (o->kind) {
	case K_BOOL:
		if (i == 2 && u->in.bound)
			return -EINVAL; /* IPV6_V6ONLY: only before bind */
		u->in.opt[i] = v != 0;
		return 0;
	case K_BUF: u->in.opt[i] = MAX(MIN(v < 0 ? 0 : v, WMEM_MAX) * 2, o->lo); return 0;
	default:
		if (o->lo == -1 && v == -1) {
			u->in.opt[i] = o->def;
			return 0;
		}
		if (v < o->lo || v > o->hi || (o->lo == -1 && v < 0))
			return -EINVAL;
		u->in.opt[i] = v;
		return 0;
	}
}
