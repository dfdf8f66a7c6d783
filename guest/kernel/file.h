/* Kinds of open file that are neither a vnode's bytes nor a device: pipes,
 * eventfd, timerfd, epoll, AF_UNIX sockets. Each kind is a struct file_ops
 * and keeps its state behind file->priv, so what one descriptor sees is the
 * open file's, never the process's, and a kernel with several tasks can
 * share the same objects.
 *
 * Waiting is "look, then halt until something may have changed": readiness
 * is always recomputed from the object (file_poll), never remembered by a
 * waiter, so any number of waiters see the same answer and a wake-up can
 * never be lost. The halt ends at a device interrupt, the 10 ms console
 * look, or the earliest deadline a poll op reported (timerfd). */
#ifndef CARVE_FILE_H
#define CARVE_FILE_H

#include "errno.h"
#include "proc.h"

#define POLLIN 0x001
#define POLLPRI 0x002
#define POLLOUT 0x004
#define POLLERR 0x008
#define POLLHUP 0x010
#define POLLNVAL 0x020
#define POLLRDNORM 0x040
#define POLLWRNORM 0x100
#define POLLRDHUP 0x2000

#define FIONREAD 0x541b /* SIOCINQ on sockets */

#define O_ACCMODE 3
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_NONBLOCK 04000
#define O_CLOEXEC 02000000

struct file_ops {
	/* buf is user memory already checked (user_ok). Blocking ops honour
	 * O_NONBLOCK in f->flags and nonblock (MSG_DONTWAIT). */
	int64_t (*read)(struct file *f, void *buf, uint64_t len, bool nonblock);
	int64_t (*write)(struct file *f, const void *buf, uint64_t len, bool nonblock);
	/* The events among want|POLLERR|POLLHUP that hold now. May lower
	 * *deadline (monotonic ns) to when time alone changes the answer. */
	short (*poll)(struct file *f, short want, uint64_t *deadline);
	/* Optional: a count of the events that would wake a waiter for want
	 * (data arriving for POLLIN, room for POLLOUT). epoll's EPOLLET reports
	 * an item again when it moves, as Linux's wake-ups do; kinds without
	 * it report on a rise of the ready mask. */
	uint64_t (*seq)(struct file *f, short want);
	/* Optional: the kind's ioctls (FIONREAD...); -ENOTTY for others. */
	int64_t (*ioctl)(struct file *f, uint32_t cmd, uint64_t arg);
	/* The last reference went away. */
	void (*release)(struct file *f);
};

/* A new open file of kind ops on the kind's shared vnode (which gives fstat
 * its type); installed at the lowest free descriptor. The fd or -errno; on
 * failure release has run. */
int file_install(const struct file_ops *ops, struct vnode *vn, void *priv, int flags, bool cloexec);
struct file *file_alloc(const struct file_ops *ops, struct vnode *vn, void *priv, int flags);

/* Ready events of any open file (vsock, console, regular files, ops). */
short file_poll(struct file *f, short want, uint64_t *deadline);
/* Sleeps until something may have changed (another task's system call, a
 * device interrupt, the console look) or deadline: 0, or -ERESTARTSYS when
 * a signal or the process's end interrupts it. */
int wait_a_while(uint64_t deadline);
/* Blocks until cond(arg) or the deadline: 0, -ETIMEDOUT or -ERESTARTSYS. */
int wait_until(bool (*cond)(void *), void *arg, uint64_t deadline);

/* The vnode of descriptors that are no file (eventfd, timerfd, epoll):
 * Linux's anonymous inode, mode 0600 with no type bits. */
extern struct vnode anon_vn;

/* f's last reference is going: epoll sets and flock locks let go of it. */
void file_forget(struct file *f);
void epoll_forget(struct file *f);
void flock_forget(struct file *f);

/* ---- ring.c: a byte ring, the buffer of pipes and AF_UNIX streams ---- */
struct ring {
	uint8_t *buf; /* allocated at the first put */
	uint32_t cap, head, len;
	uint32_t size; /* of buf: 64 KiB at most at first, doubled up to cap as the bytes need */
};
/* Copies in up to n bytes (as many as fit); the count or -ENOMEM. */
int64_t ring_put(struct ring *r, const void *src, uint64_t n);
/* Copies out up to n bytes, consuming them unless peek. */
uint64_t ring_get(struct ring *r, void *dst, uint64_t n, bool peek);
/* ring_get into user memory the caller checked: long runs are copied at
 * CPL3 (helper.c), which under PVM's emulator is several times faster. */
uint64_t ring_get_user(struct ring *r, uint64_t dst, uint64_t n);
/* Copies up to n bytes from off bytes in, consuming nothing. */
uint64_t ring_peek(const struct ring *r, uint64_t off, void *dst, uint64_t n);
static inline uint32_t ring_room(const struct ring *r) { return r->cap - r->len; }
void ring_free(struct ring *r);

/* ---- pipe.c (named pipes share it) ---- */
/* Opens the FIFO vnode v (S_IFIFO) with flags. fd or -errno. */
int fifo_open(struct vnode *v, int flags);

/* ---- unix_sock.c ---- */
/* sys_net.c hands AF_UNIX descriptors here; user pointers unchecked. */
bool is_unix_sock(const struct file *f);
/* An AF_UNIX socket's file lost a reference and keeps others: it may now
 * be held only by messages in flight (unix_gc). */
void unix_file_dropped(void);
/* Is a collection of sockets held only by each other's messages due? */
bool unix_gc_pending(void);
/* Frees AF_UNIX sockets that only unreachable messages in flight hold
 * (Linux's unix_gc); run where no kernel code holds a socket. */
void unix_gc(void);
int unix_socketpair(uint64_t type, uint64_t protocol, uint64_t usv);
int unix_socket(uint64_t type, uint64_t protocol);
int unix_bind(struct file *f, uint64_t uaddr, uint64_t len);
int unix_listen(struct file *f, int backlog);
int unix_connect(struct file *f, uint64_t uaddr, uint64_t len);
int unix_accept(struct file *f, uint64_t uaddr, uint64_t ulen, uint64_t flags);
int unix_names(struct file *f, uint64_t uaddr, uint64_t ulen, bool peer);
int64_t unix_xfer(struct file *f, uint64_t buf, uint64_t len, uint64_t flags, uint64_t addr, uint64_t addrlen,
		  bool send);
int64_t unix_msg(struct file *f, uint64_t umsg, uint64_t flags, bool send);
int unix_shutdown(struct file *f, int how);
/* SOL_SOCKET options: 0 with *val, or -ENOPROTOOPT. */
int unix_sockopt(struct file *f, uint64_t optname, int *val);
/* SO_PEERCRED: struct ucred (pid, uid, gid). */
void unix_peercred(struct file *f, int cred[3]);
/* setsockopt: SO_PASSCRED is kept, other SOL_SOCKET options accepted
 * without effect; other levels -ENOPROTOOPT. */
int unix_setsockopt(struct file *f, uint64_t level, uint64_t optname, uint64_t optval, uint64_t optlen);

#endif
