/* Inside the AF_UNIX sockets, shared by unix_sock.c (data: send, receive,
 * poll, shutdown, socket pairs) and unix_name.c (names: socket, bind,
 * listen, connect, accept). Loopback AF_INET/AF_INET6 sockets (inet_*.c)
 * are the same objects with an inet part: their bytes and messages move
 * as AF_UNIX ones do, only names differ. */
#ifndef CARVE_UNIX_INT_H
#define CARVE_UNIX_INT_H

#include "file.h"
#include "inet_int.h"
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
/* Runs of a stream's bytes with different credentials: a writer waits for
 * the reader beyond this many (Linux's socket buffer holds a few hundred
 * small writes). */
#define UNIX_MAX_CRED_RUNS 1024u

/* A struct sockaddr_un as bound: len bytes (family, then the path or, for
 * an abstract name, a NUL and the name's bytes); len 0: unnamed. */
struct uname {
	uint32_t len;
	uint8_t bytes[110];
};

/* Credentials (SCM_CREDENTIALS, SO_PEERCRED): a process (or thread) id
 * and user and group ids. Every process here is root (uid and gid 0), and
 * may claim any other existing pid and any ids. Data sent with none shows
 * them as Linux does: pid 0 and the overflow ids (NO_CRED). */
struct kucred {
	int32_t pid;
	uint32_t uid, gid;
};
#define OVERFLOW_ID 65534u /* Linux's overflowuid/overflowgid */
#define NO_CRED ((struct kucred){0, OVERFLOW_ID, OVERFLOW_ID})

/* Descriptors in flight (SCM_RIGHTS): open files a message holds (a
 * reference each) until the receiver installs them or the message is
 * dropped unreceived (its socket closed), which lets go of them. Sockets
 * that only messages of each other hold (a socket sent over itself, a
 * pair sent over each other, then closed) are collected (unix_gc). */
struct scm_fds {
	struct scm_fds *gc_next; /* unix_gc's list of what it lets go of */
	int n;
	struct file *f[];
};

struct umsg {
	struct umsg *next;
	struct uname from;   /* the sender's name, for recvfrom */
	struct scm_fds *fds; /* SCM_RIGHTS sent with it, or NULL */
	struct kucred cred;  /* what came with it, NO_CRED if nothing */
	uint32_t len;
	uint8_t data[];
};

/* A stream's descriptors: they come with the byte numbered at (counting
 * every byte ever queued on the stream) and the len bytes sent with them;
 * a read stops before them, and after them. */
struct stream_fds {
	struct stream_fds *next;
	uint64_t at, len;
	struct scm_fds *fds;
};

/* A stream's credentials: the len bytes from the one numbered at came
 * with cred (bytes in no run came with none: NO_CRED). Adjacent runs differ, so a
 * reader that asks for credentials stops where a run ends, as Linux never
 * joins data of different writers in one read then. */
struct stream_cred {
	struct stream_cred *next;
	uint64_t at, len;
	struct kucred cred;
};

enum ustate { US_NEW, US_LISTEN, US_CONNECTED };

struct usock {
	int type;
	int family; /* AF_UNIX, AF_INET or AF_INET6 */
	enum ustate state;
	int shutdown;       /* RCV_SHUTDOWN | SEND_SHUTDOWN */
	struct usock *peer; /* the other end; a datagram socket's destination. NULL once gone */
	struct uname name;
	struct vnode *vn;                   /* bound to a path: its S_IFSOCK node (a reference) */
	struct ring rx;                     /* streams */
	uint64_t rx_in, rx_out;             /* streams: bytes ever queued and taken, for the fds in sfq */
	struct stream_fds *sfq;             /* streams: descriptors in flight, in byte order */
	struct stream_cred *scq, *scq_last; /* streams: credentials of the bytes queued */
	uint32_t nscq;                      /* runs in scq (at most UNIX_MAX_CRED_RUNS) */
	struct umsg *q, **qtail;
	uint32_t qbytes;                      /* messages: bytes queued, with MSG_COST each */
	uint64_t rd_seq, wr_seq;              /* data, a connection or shutdown came; room appeared */
	struct usock *accq[UNIX_MAX_BACKLOG]; /* listening: connected, not accepted */
	int nacc, backlog;
	struct usock *next;          /* every socket: peers are let go of when one goes */
	uint64_t rcvtimeo, sndtimeo; /* SO_RCVTIMEO/SO_SNDTIMEO in ns; 0: wait for ever */
	bool passcred;               /* SO_PASSCRED: receive SCM_CREDENTIALS */
	bool unaccepted;             /* a server's end still in its listener's queue */
	struct kucred peercred;      /* SO_PEERCRED: set by socketpair, listen, connect */
	struct inet_part in;         /* AF_INET[6] only */
	/* unix_gc's marks, good during one run. */
	struct file *gc_file; /* its open file, when in flight */
	int gc_inflight;      /* references to it from messages */
	int gc_refs;          /* of those, from messages of sockets not in the cycle */
	bool gc_cand, gc_alive;
};

struct kiov {
	uint8_t *base;
	uint64_t len;
};

struct msghdr {
	uint64_t name;
	uint32_t namelen, pad0;
	uint64_t iov, iovlen, control, controllen;
	int32_t flags, pad1;
};

extern const struct file_ops unix_ops;
/* The deadline of a wait of timeo ns (0: none), for wait_until. */
static inline uint64_t usock_deadline(uint64_t timeo) { return timeo ? time_ns() + timeo : UINT64_MAX; }
extern struct vnode unix_vn; /* the vnode of sockets that have no path */
struct usock *usock_new(int type);
/* The socket kind of socket()/socketpair()'s type and protocol, as Linux
 * checks them (EINVAL, ESOCKTNOSUPPORT, EPROTONOSUPPORT): SOCK_STREAM,
 * SOCK_DGRAM or SOCK_SEQPACKET, or -errno. */
int unix_socket_kind(uint64_t type, uint64_t protocol);
/* Frees u, letting go of it everywhere (its peers see it closed). */
void usock_free(struct usock *u);
/* s is still a socket (not freed while another task slept on it). */
bool usock_alive(const struct usock *s);
/* The bound socket of that name, NULL if none. */
struct usock *usock_find(const struct uname *n, struct vnode *vn);
/* Linux's autobind: u gets an abstract name of five hex digits; 0 or -ENOSPC. */
int usock_autobind(struct usock *u);
/* Copies a user sockaddr_un; -EINVAL/-EFAULT. */
int uname_get(uaddr_t uaddr, uint64_t len, struct uname *n);
/* Resolves a name to its bound socket: -ENOENT, -ECONNREFUSED... */
int usock_lookup(const struct uname *n, struct usock **out);
/* Writes n (unnamed: the family alone) and its length, truncated as Linux. */
int uname_put(uaddr_t uaddr, uaddr_t ulen, const struct uname *n);
void usock_shut(struct usock *u, int how);
/* Sends iov to the connected peer (streams), or to the datagram socket to
 * (NULL: the peer); flags MSG_DONTWAIT. The count or -errno. */
int64_t usock_send(struct file *f, const struct kiov *iov, int n, uint64_t flags, struct usock *to);
/* The same with descriptors (SCM_RIGHTS), which it owns from then on, and
 * the credentials the sender claimed (SCM_CREDENTIALS; NULL: none). */
int64_t usock_send_fds(struct file *f, const struct kiov *iov, int n, uint64_t flags, struct usock *to,
		       struct scm_fds *fds, const struct kucred *cred);
/* Receives into iov; *mflags gets MSG_TRUNC, *from the sender's name. */
int64_t usock_recv(struct file *f, const struct kiov *iov, int n, uint64_t flags, int *mflags,
		   struct uname *from);
/* The same, handing over the descriptors the data came with (*fds, NULL if
 * none; usock_recv lets them go, a read() with no room for them) and, if
 * cred is not NULL, the credentials it came with. */
int64_t usock_recv_fds(struct file *f, const struct kiov *iov, int n, uint64_t flags, int *mflags,
		       struct uname *from, struct scm_fds **fds, struct kucred *cred);
/* The calling process's credentials. */
struct kucred usock_my_cred(void);
void scm_fds_put(struct scm_fds *s);
/* Queues a message of total bytes from iov on p, from the name from:
 * 0 or -ENOMEM. The caller checked the room. */
int usock_put_msg(struct usock *p, const struct kiov *iov, int n, uint64_t total, const struct uname *from);
/* The caller's n iovecs, each checked: n or -errno. iov holds 1024. */
int usock_iov(uint64_t uiov, uint64_t n, bool write, struct kiov **out);
int usock_msg_reply(uaddr_t umsg, struct msghdr *m, const struct uname *from, uint64_t controllen, int flags);
/* Listen, connect and accept, past the checks of the name kind: */
int usock_listen(struct usock *u, int backlog);
/* Connects stream u to listener l; *srv: the server's end, queued. */
int usock_join(struct usock *u, struct usock *l, bool nonblock, struct usock **srv);
/* Takes the first queued connection of f's listener into a new fd. */
int usock_accept(struct file *f, uint64_t flags, struct usock **sp);

#endif
