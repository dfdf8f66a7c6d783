/* Inside the AF_UNIX sockets, shared by unix_sock.c (data: send, receive,
 * poll, shutdown, socket pairs) and unix_name.c (names: socket, bind,
 * listen, connect, accept); no other file uses it. */
#ifndef CARVE_UNIX_INT_H
#define CARVE_UNIX_INT_H

#include "file.h"
#include "syscalls.h"
#include "virtio.h"

#define AF_UNIX 1
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_SEQPACKET 5
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000
#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2
#define ECONNREFUSED 111
#define EPROTOTYPE 91
#define UNIX_BUF 65536u /* bytes each way (Linux's is its socket buffer, 208 KiB) */
#define MSG_COST 64u    /* what a queued message costs beyond its bytes */
#define UNIX_MAX_BACKLOG 64

/* A struct sockaddr_un as bound: len bytes (family, then the path or, for
 * an abstract name, a NUL and the name's bytes); len 0: unnamed. */
struct uname {
	uint32_t len;
	uint8_t bytes[110];
};

struct umsg {
	struct umsg *next;
	struct uname from; /* the sender's name, for recvfrom */
	uint32_t len;
	uint8_t data[];
};

enum ustate { US_NEW, US_LISTEN, US_CONNECTED };

struct usock {
	int type;
	enum ustate state;
	int shutdown;       /* RCV_SHUTDOWN | SEND_SHUTDOWN */
	struct usock *peer; /* the other end; a datagram socket's destination. NULL once gone */
	struct uname name;
	struct vnode *vn; /* bound to a path: its S_IFSOCK node (a reference) */
	struct ring rx;   /* streams */
	struct umsg *q, **qtail;
	uint32_t qbytes;                      /* messages: bytes queued, with MSG_COST each */
	uint64_t rd_seq, wr_seq;              /* data, a connection or shutdown came; room appeared */
	struct usock *accq[UNIX_MAX_BACKLOG]; /* listening: connected, not accepted */
	int nacc, backlog;
	struct usock *next; /* every socket: peers are let go of when one goes */
};

extern const struct file_ops unix_ops;
extern struct vnode unix_vn; /* the vnode of sockets that have no path */
struct usock *usock_new(int type);
/* The socket kind of socket()/socketpair()'s type and protocol, as Linux
 * checks them (EINVAL, ESOCKTNOSUPPORT, EPROTONOSUPPORT): SOCK_STREAM,
 * SOCK_DGRAM or SOCK_SEQPACKET, or -errno. */
int unix_socket_kind(uint64_t type, uint64_t protocol);
/* Frees u, letting go of it everywhere (its peers see it closed). */
void usock_free(struct usock *u);
/* The bound socket of that name, NULL if none. */
struct usock *usock_find(const struct uname *n, struct vnode *vn);
/* Copies a user sockaddr_un; -EINVAL/-EFAULT. */
int uname_get(uaddr_t uaddr, uint64_t len, struct uname *n);
/* Resolves a name to its bound socket: -ENOENT, -ECONNREFUSED... */
int usock_lookup(const struct uname *n, struct usock **out);
/* Writes n (unnamed: the family alone) and its length, truncated as Linux. */
int uname_put(uaddr_t uaddr, uaddr_t ulen, const struct uname *n);
void usock_shut(struct usock *u, int how);

#endif
