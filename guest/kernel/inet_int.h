/* Inside the loopback AF_INET/AF_INET6 sockets, shared by inet_addr.c
 * (sockaddr_in/in6 in and out), inet_port.c (the port table), inet_opt.c
 * (socket options) and inet_sock.c (the calls). Such a socket is a usock
 * (unix_int.h) whose inet part is below. */
#ifndef CARVE_INET_INT_H
#define CARVE_INET_INT_H

#include "kernel.h"

#define AF_UNSPEC 0
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_IP 0
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_IPV6 41
#define ENETUNREACH 101
#define EDESTADDRREQ 89
#define EADDRNOTAVAIL 99
#define UDP_MAX_V4 65507u /* 65535 less the IPv4 and UDP headers */
#define UDP_MAX_V6 65527u /* 65535 less the UDP header (IPv6's is not counted) */
/* What a UDP socket queues before it drops: Linux's rmem_default. */
#define INET_UDP_BUF 212992u
/* A TCP receive ring's most: about what Linux keeps in flight on loopback
 * (a single-threaded program may write megabytes before it reads). */
#define INET_TCP_BUF (4u << 20)

/* An address: IPv6 bytes, an IPv4 address as ::ffff:a.b.c.d (so one
 * comparison serves both families and a dual-stack socket), and the port
 * in host order. */
struct inaddr {
	uint8_t ip[16];
	uint16_t port;
};

#define INET_NOPT 64 /* inet_opt.c's table of options */

struct usock;
struct inet_part {
	struct inaddr local;  /* bound (all zero: not yet) */
	struct inaddr remote; /* a connection's peer; a datagram socket's default destination */
	bool bound;           /* in the port table */
	bool dconnected;      /* a datagram socket has a default destination */
	int error;            /* pending for SO_ERROR: a datagram refused */
	int opt[INET_NOPT];   /* option values, inet_opt.c's order */
	struct usock *hnext;  /* the port table's chain */
};

/* ---- inet_addr.c ---- */
bool inaddr_is_v4(const struct inaddr *a);
bool inaddr_is_any(const struct inaddr *a);
bool inaddr_same_ip(const struct inaddr *a, const struct inaddr *b);
/* The loopback address of a's kind (127.0.0.1 or ::1). */
void inaddr_loopback(const struct inaddr *a, struct inaddr *out);
/* Reads a user sockaddr of len bytes for a socket of family fam; v4_too:
 * an AF_INET6 socket takes an AF_INET address as well (datagrams). 0; 1
 * for AF_UNSPEC (*a then holds what an AF_INET reading gives); -EINVAL,
 * -EFAULT or -EAFNOSUPPORT, as Linux. */
int inaddr_get(int fam, bool v4_too, uint64_t uaddr, uint64_t len, struct inaddr *a);
/* Writes a as fam's sockaddr and its full length, truncated to the
 * caller's room as Linux does. */
int inaddr_put(int fam, const struct inaddr *a, uint64_t uaddr, uint64_t ulen);
/* a as fam's sockaddr in the bytes of a struct uname (a datagram's source). */
struct uname;
void inaddr_to_uname(int fam, const struct inaddr *a, struct uname *n);

/* ---- inet_port.c ---- */
/* Binds u to a (port 0: an ephemeral one): 0 or -EADDRINUSE/-EAGAIN. */
int inet_port_bind(struct usock *u, const struct inaddr *a);
/* Whether u may listen where it is bound: 0 or -EADDRINUSE. */
int inet_port_listen_ok(struct usock *u);
/* A connection's server end shares its listener's port. */
void inet_port_add(struct usock *u);
void inet_port_drop(struct usock *u);
/* The listener (streams) or receiver (datagrams) for traffic to dst from src. */
struct usock *inet_port_find(int type, const struct inaddr *dst, const struct inaddr *src);

/* ---- inet_opt.c ---- */
void inet_opt_init(struct usock *u);
int inet_opt_get(struct usock *u, uint64_t level, uint64_t name, uint64_t uval, uint64_t ulen);
int inet_opt_set(struct usock *u, uint64_t level, uint64_t name, uint64_t uval, uint64_t len);
/* SO_ERROR: the pending error (positive), cleared. */
int inet_take_error(struct usock *u);
/* Values inet_port.c and inet_sock.c act on. */
bool inet_reuseaddr(const struct usock *u);
bool inet_reuseport(const struct usock *u);
bool inet_v6only(const struct usock *u);

#endif
