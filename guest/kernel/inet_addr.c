/* sockaddr_in and sockaddr_in6 in and out of user memory, and what kind of
 * address one is. Every length is the caller's: it is checked against the
 * structure before a byte is read, and output is cut to the caller's room
 * with the full length reported, as Linux does. */
#include "unix_int.h"

struct sockaddr_in {
	uint16_t family;
	uint16_t port; /* network order */
	uint8_t addr[4];
	uint8_t zero[8];
};

struct sockaddr_in6 {
	uint16_t family;
	uint16_t port; /* network order */
	uint32_t flowinfo;
	uint8_t addr[16];
	uint32_t scope_id;
};

#define SIN6_LEN_RFC2133 24  /* without scope_id: Linux takes it */
#define SOCKADDR_STORAGE 128 /* the most any socket call copies in */

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static uint16_t swap16(uint16_t v) { return (uint16_t)(v << 8 | v >> 8); }

bool inaddr_is_v4(const struct inaddr *a) { return !memcmp(a->ip, v4_prefix, 12); }

bool inaddr_is_any(const struct inaddr *a)
{
	for (int i = inaddr_is_v4(a) ? 12 : 0; i < 16; i++)
		if (a->ip[i])
			return false;
	return true;
}

bool inaddr_same_ip(const struct inaddr *a, const struct inaddr *b) { return !memcmp(a->ip, b->ip, 16); }

void inaddr_loopback(const struct inaddr *a, struct inaddr *out)
{
	bool v4 = inaddr_is_v4(a);
	memset(out->ip, 0, 16);
	if (v4) {
		memcpy(out->ip, v4_prefix, 12);
		out->ip[12] = 127;
		out->ip[15] = 1;
	} else {
		out->ip[15] = 1;
	}
	out->port = a->port;
}

static void from_v4(const struct sockaddr_in *s, struct inaddr *a)
{
	memcpy(a->ip, v4_prefix, 12);
	memcpy(a->ip + 12, s->addr, 4);
	a->port = swap16(s->port);
}

int inaddr_get(int fam, bool v4_too, uint64_t uaddr, uint64_t len, struct inaddr *a)
{
	/* Linux takes the length as an int and refuses more than a
	 * sockaddr_storage before looking at the bytes. */
	int l = (int)len;
	if (l < 2 || l > SOCKADDR_STORAGE)
		return -EINVAL;
	union {
		uint16_t family;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	memset(&u, 0, sizeof(u));
	if (copy_from_user(&u, uaddr, MIN((size_t)l, sizeof(u))) < 0)
		return -EFAULT;
	memset(a, 0, sizeof(*a));
	/* Linux's order: AF_UNSPEC (connect's disconnect), an AF_INET address
	 * a dual-stack datagram socket takes, then the length of the
	 * socket's own kind, then its family. */
	if (u.family == AF_UNSPEC) {
		if (fam == AF_INET && (size_t)l >= sizeof(u.in))
			from_v4(&u.in, a);
		return 1;
	}
	if (fam == AF_INET6 && v4_too && u.family == AF_INET) {
		if ((size_t)l < sizeof(u.in))
			return -EINVAL;
		from_v4(&u.in, a);
		return 0;
	}
	if (l < (fam == AF_INET ? (int)sizeof(u.in) : SIN6_LEN_RFC2133))
		return -EINVAL;
	if (u.family != fam)
		return -EAFNOSUPPORT;
	if (fam == AF_INET) {
		from_v4(&u.in, a);
		return 0;
	}
	memcpy(a->ip, u.in6.addr, 16);
	a->port = swap16(u.in6.port);
	return 0;
}

/* a in fam's form: its bytes into out, the length returned. */
static int format(int fam, const struct inaddr *a, void *out)
{
	if (fam == AF_INET) {
		struct sockaddr_in s = {.family = AF_INET, .port = swap16(a->port)};
		memcpy(s.addr, a->ip + 12, 4);
		memcpy(out, &s, sizeof(s));
		return (int)sizeof(s);
	}
	struct sockaddr_in6 s = {.family = AF_INET6, .port = swap16(a->port)};
	memcpy(s.addr, a->ip, 16);
	memcpy(out, &s, sizeof(s));
	return (int)sizeof(s);
}

int inaddr_put(int fam, const struct inaddr *a, uint64_t uaddr, uint64_t ulen)
{
	int len;
	if (copy_from_user(&len, ulen, sizeof(len)) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	uint8_t buf[sizeof(struct sockaddr_in6)];
	int full = format(fam, a, buf);
	if ((len && copy_to_user(uaddr, buf, (uint64_t)MIN(len, full)) < 0) ||
	    copy_to_user(ulen, &full, sizeof(full)) < 0)
		return -EFAULT;
	return 0;
}

void inaddr_to_uname(int fam, const struct inaddr *a, struct uname *n)
{
	_Static_assert(sizeof(n->bytes) >= sizeof(struct sockaddr_in6), "a sockaddr_in6 fits a uname");
	memset(n, 0, sizeof(*n));
	n->len = (uint32_t)format(fam, a, n->bytes);
}
