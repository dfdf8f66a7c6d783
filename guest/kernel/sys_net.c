/* Socket system calls: AF_VSOCK stream sockets (vsock.c does the
 * protocol), AF_UNIX sockets (unix_sock.c, unix_name.c; UNIX_DO) and
 * loopback AF_INET/AF_INET6 sockets (inet_sock.c; INET_DO). A vsock socket
 * is a file on one shared socket vnode (so fstat says S_IFSOCK and lseek
 * says ESPIPE) whose sock field is the connection.
 * Addresses are struct sockaddr_vm (16 bytes: family, reserved, port, cid,
 * flags, zero[3]). */
#include "file.h"
#include "inet.h"
#include "syscalls.h"
#include "virtio.h"

#define AF_VSOCK 40
#define SOCK_STREAM 1
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000
#define O_RDWR 2
#define O_NONBLOCK 04000
#define MSG_PEEK 0x2
#define MSG_DONTWAIT 0x40
#define MSG_WAITALL 0x100
#define SOL_SOCKET 1
#define SO_TYPE 3
#define SO_ERROR 4
#define SO_SNDBUF 7
#define SO_RCVBUF 8
#define SO_ACCEPTCONN 30
#define SO_PROTOCOL 38
#define SO_DOMAIN 39
#define SO_VM_SOCKETS_BUFFER_SIZE 0
#define SO_VM_SOCKETS_BUFFER_MIN_SIZE 1
#define SO_VM_SOCKETS_BUFFER_MAX_SIZE 2
#define SO_VM_SOCKETS_PEER_HOST_VM_ID 3
#define SO_VM_SOCKETS_TRUSTED 5
#define SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD 6
#define SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW 8

struct sockaddr_vm {
	uint16_t family, reserved1;
	uint32_t port, cid;
	uint8_t flags, zero[3];
};

static struct vnode sock_vn = {.name = "vsock", .mode = 0140000 | 0777, .refs = 1, .dev = DEV_VSOCK};

static struct vsock_sock *sock_of(int fd, struct file **fp)
{
	struct file *f = fd_get(fd);
	if (fp)
		*fp = f;
	return f && f->vn->dev == DEV_VSOCK ? f->sock : NULL;
}
#define GET_SOCK(fd)                            \
	struct file *f;                         \
	struct vsock_sock *s = sock_of(fd, &f); \
	if (!s)                                 \
		return f ? -ENOTSOCK : -EBADF;

/* An AF_UNIX descriptor goes to unix_sock.c. */
#define UNIX_DO(fd, expr)                     \
	do {                                  \
		struct file *uf = fd_get(fd); \
		if (uf && is_unix_sock(uf))   \
			return (expr);        \
	} while (0)

/* An AF_INET/AF_INET6 descriptor goes to inet_sock.c. */
#define INET_DO(fd, expr)                      \
	do {                                   \
		struct file *inf = fd_get(fd); \
		if (inf && is_inet_sock(inf))  \
			return (expr);         \
	} while (0)

static int get_addr(uint64_t uaddr, uint64_t len, struct sockaddr_vm *a)
{
	if (len < sizeof(*a))
		return -EINVAL;
	if (copy_from_user(a, uaddr, sizeof(*a)) < 0)
		return -EFAULT;
	if (a->family != AF_VSOCK)
		return -EAFNOSUPPORT;
	return 0;
}

/* Writes the address and its length as Linux does: truncated to the caller's room. */
static int put_addr(uint64_t uaddr, uint64_t ulen, uint64_t cid, uint32_t port)
{
	if (!uaddr)
		return 0;
	int len;
	if (copy_from_user(&len, ulen, sizeof(len)) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	struct sockaddr_vm a = {.family = AF_VSOCK, .port = port, .cid = (uint32_t)cid};
	int n = (int)MIN((size_t)len, sizeof(a)), full = (int)sizeof(a);
	if ((n && copy_to_user(uaddr, &a, (uint64_t)n) < 0) || copy_to_user(ulen, &full, sizeof(full)) < 0)
		return -EFAULT;
	return 0;
}

static int install(struct vsock_sock *s, int flags)
{
	struct file *f = file_new(&sock_vn, O_RDWR | (flags & SOCK_NONBLOCK ? O_NONBLOCK : 0));
	if (!f) {
		vs_close(s);
		return -ENOMEM;
	}
	f->sock = s;
	int fd = fd_alloc(f, 0, flags & SOCK_CLOEXEC);
	if (fd < 0)
		file_put(f);
	return fd;
}

SYSCALL_DEFINE3(socket, uint64_t, family, uint64_t, type, uint64_t, protocol)
{
	if (family == 1 /* AF_UNIX */)
		return unix_socket(type, protocol);
	if (family == 2 /* AF_INET */ || family == 10 /* AF_INET6 */)
		return inet_socket(family, type, protocol);
	if (family != AF_VSOCK || !vsock_present())
		return -EAFNOSUPPORT;
	if ((type & 0xf) != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	if (type & ~(uint64_t)(0xf | SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (protocol != 0 && protocol != AF_VSOCK)
		return -EPROTONOSUPPORT;
	struct vsock_sock *s = vs_new();
	return s ? install(s, (int)type) : -ENOMEM;
}

/* Linux's vsock has no socketpair. */
SYSCALL_DEFINE4(socketpair, uint64_t, family, uint64_t, type, uint64_t, protocol, uaddr_t, usockvec)
{
	if (family == 1 /* AF_UNIX */)
		return unix_socketpair(type, protocol, usockvec);
	return family == AF_VSOCK || family == 2 || family == 10 ? -EOPNOTSUPP : -EAFNOSUPPORT;
}

SYSCALL_DEFINE3(bind, int, fd, uaddr_t, umyaddr, uint64_t, addrlen)
{
	INET_DO(fd, inet_bind(inf, umyaddr, addrlen));
	UNIX_DO(fd, unix_bind(uf, umyaddr, addrlen));
	GET_SOCK(fd);
	struct sockaddr_vm a;
	int r = get_addr(umyaddr, addrlen, &a);
	return r < 0 ? r : vs_bind(s, a.cid, a.port);
}

SYSCALL_DEFINE2(listen, int, fd, int, backlog)
{
	INET_DO(fd, inet_listen(inf, backlog));
	UNIX_DO(fd, unix_listen(uf, backlog));
	GET_SOCK(fd);
	return vs_listen(s, backlog);
}

SYSCALL_DEFINE3(connect, int, fd, uaddr_t, uservaddr, uint64_t, addrlen)
{
	INET_DO(fd, inet_connect(inf, uservaddr, addrlen));
	UNIX_DO(fd, unix_connect(uf, uservaddr, addrlen));
	GET_SOCK(fd);
	struct sockaddr_vm a;
	int r = get_addr(uservaddr, addrlen, &a);
	return r < 0 ? r : vs_connect(s, a.cid, a.port, f->flags & O_NONBLOCK);
}

static int64_t do_accept(int fd, uaddr_t uaddr, uaddr_t ulen, uint64_t flags)
{
	INET_DO(fd, inet_accept(inf, uaddr, ulen, flags));
	UNIX_DO(fd, unix_accept(uf, uaddr, ulen, flags));
	GET_SOCK(fd);
	if (flags & ~(uint64_t)(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	struct vsock_sock *n;
	int r = vs_accept(s, &n, f->flags & O_NONBLOCK);
	if (r < 0)
		return r;
	uint64_t cid;
	uint32_t port;
	vs_name(n, true, &cid, &port);
	int fdn = install(n, (int)flags);
	if (fdn >= 0 && (r = put_addr(uaddr, ulen, cid, port)) < 0)
		return r; /* the connection stays open on fdn, as on Linux */
	return fdn;
}
SYSCALL_DEFINE3(accept, int, fd, uaddr_t, upeer_sockaddr, uaddr_t, upeer_addrlen)
{
	return do_accept(fd, upeer_sockaddr, upeer_addrlen, 0);
}
SYSCALL_DEFINE4(accept4, int, fd, uaddr_t, upeer_sockaddr, uaddr_t, upeer_addrlen, uint64_t, flags)
{
	return do_accept(fd, upeer_sockaddr, upeer_addrlen, flags);
}

static int64_t names(int fd, uaddr_t uaddr, uaddr_t ulen, bool peer)
{
	INET_DO(fd, inet_names(inf, uaddr, ulen, peer));
	UNIX_DO(fd, unix_names(uf, uaddr, ulen, peer));
	GET_SOCK(fd);
	if (peer && !vs_connected(s))
		return -ENOTCONN;
	uint64_t cid;
	uint32_t port;
	vs_name(s, peer, &cid, &port);
	return put_addr(uaddr, ulen, cid, port);
}
SYSCALL_DEFINE3(getsockname, int, fd, uaddr_t, usockaddr, uaddr_t, usockaddr_len)
{
	return names(fd, usockaddr, usockaddr_len, false);
}
SYSCALL_DEFINE3(getpeername, int, fd, uaddr_t, usockaddr, uaddr_t, usockaddr_len)
{
	return names(fd, usockaddr, usockaddr_len, true);
}

SYSCALL_DEFINE2(shutdown, int, fd, int, how)
{
	INET_DO(fd, inet_shutdown(inf, how));
	UNIX_DO(fd, unix_shutdown(uf, how));
	GET_SOCK(fd);
	return vs_shutdown(s, how);
}

static int64_t xfer(struct file *f, struct vsock_sock *s, uint64_t buf, uint64_t len, uint64_t flags,
		    bool send)
{
	/* vs_send_user/vs_recv_user check buf themselves (large copies natively). */
	bool nb = (f->flags & O_NONBLOCK) || (flags & MSG_DONTWAIT);
	if (send)
		return vs_send_user(s, buf, len, nb);
	int64_t done = 0;
	do {
		int64_t r = vs_recv_user(s, buf + (uint64_t)done, len - (uint64_t)done, nb, flags & MSG_PEEK);
		if (r <= 0)
			return done ? done : r;
		done += r;
	} while ((flags & MSG_WAITALL) && !(flags & MSG_PEEK) && !nb && (uint64_t)done < len);
	return done;
}

/* clang-format off */
SYSCALL_DEFINE6(sendto, int, fd, uaddr_t, buff, uint64_t, len, uint64_t, flags,
		uaddr_t, addr, uint64_t, addr_len)
/* clang-format on */
{
	INET_DO(fd, inet_xfer(inf, buff, len, flags, addr, addr_len, true));
	UNIX_DO(fd, unix_xfer(uf, buff, len, flags, addr, addr_len, true));
	GET_SOCK(fd);
	if (addr || addr_len)
		return vs_connected(s) ? -EISCONN : -EOPNOTSUPP;
	return xfer(f, s, buff, len, flags, true);
}

/* clang-format off */
SYSCALL_DEFINE6(recvfrom, int, fd, uaddr_t, ubuf, uint64_t, size, uint64_t, flags,
		uaddr_t, addr, uaddr_t, addr_len)
/* clang-format on */
{
	INET_DO(fd, inet_xfer(inf, ubuf, size, flags, addr, addr_len, false));
	UNIX_DO(fd, unix_xfer(uf, ubuf, size, flags, addr, addr_len, false));
	GET_SOCK(fd);
	int64_t r = xfer(f, s, ubuf, size, flags, false);
	int zero = 0;
	if (r >= 0 && addr && addr_len && copy_to_user(addr_len, &zero, sizeof(zero)) < 0)
		return -EFAULT; /* streams carry no source address */
	return r;
}

struct msghdr {
	uint64_t name;
	uint32_t namelen, pad0;
	uint64_t iov, iovlen, control, controllen;
	int32_t flags, pad1;
};

static int64_t do_msg(int fd, uaddr_t umsg, uint64_t flags, bool send)
{
	INET_DO(fd, inet_msg(inf, umsg, flags, send));
	UNIX_DO(fd, unix_msg(uf, umsg, flags, send));
	GET_SOCK(fd);
	struct msghdr m;
	if (copy_from_user(&m, umsg, sizeof(m)) < 0)
		return -EFAULT;
	if (m.iovlen > 1024)
		return -EMSGSIZE;
	if (send && m.namelen)
		return vs_connected(s) ? -EISCONN : -EOPNOTSUPP;
	int64_t total = 0;
	for (uint64_t i = 0; i < m.iovlen; i++) {
		uint64_t iv[2];
		if (copy_from_user(iv, m.iov + 16 * i, sizeof(iv)) < 0)
			return total ? total : -EFAULT;
		if (!iv[1])
			continue;
		int64_t r = xfer(f, s, iv[0], iv[1], flags, send);
		if (r < 0)
			return total ? total : r;
		total += r;
		if ((uint64_t)r < iv[1])
			break;
	}
	if (!send) {
		m.namelen = 0;
		m.controllen = 0;
		m.flags = 0;
		if (copy_to_user(umsg, &m, sizeof(m)) < 0)
			return -EFAULT;
	}
	return total;
}
SYSCALL_DEFINE3(sendmsg, int, fd, uaddr_t, msg, uint64_t, flags) { return do_msg(fd, msg, flags, true); }
SYSCALL_DEFINE3(recvmsg, int, fd, uaddr_t, msg, uint64_t, flags) { return do_msg(fd, msg, flags, false); }

/* getsockopt's copy-out, for every socket family. */
int put_sockopt(uint64_t uval, uint64_t ulen, const void *v, int size)
{
	int len;
	if (copy_from_user(&len, ulen, sizeof(len)) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	int n = MIN(len, size);
	if (copy_to_user(uval, v, (uint64_t)n) < 0 || copy_to_user(ulen, &n, sizeof(n)) < 0)
		return -EFAULT;
	return 0;
}

static int64_t unix_getsockopt(struct file *f, uint64_t level, uint64_t optname, uaddr_t optval,
			       uaddr_t optlen)
{
	if (level == SOL_SOCKET && optname == 17 /* SO_PEERCRED */) {
		int cred[3];
		unix_peercred(f, cred);
		return put_sockopt(optval, optlen, cred, sizeof(cred));
	}
	int v;
	int r = level == SOL_SOCKET ? unix_sockopt(f, optname, &v) : -ENOPROTOOPT;
	return r < 0 ? r : put_sockopt(optval, optlen, &v, sizeof(v));
}

SYSCALL_DEFINE5(getsockopt, int, fd, uint64_t, level, uint64_t, optname, uaddr_t, optval, uaddr_t, optlen)
{
	INET_DO(fd, inet_getsockopt(inf, level, optname, optval, optlen));
	UNIX_DO(fd, unix_getsockopt(uf, level, optname, optval, optlen));
	GET_SOCK(fd);
	int v = 0;
	if (level == SOL_SOCKET) {
		switch (optname) {
		case SO_TYPE: v = SOCK_STREAM; break;
		case SO_ERROR: v = vs_take_error(s); break;
		case SO_DOMAIN: v = AF_VSOCK; break;
		case SO_PROTOCOL: v = 0; break;
		case SO_SNDBUF:
		case SO_RCVBUF: v = 16384; break;
		case SO_ACCEPTCONN: v = vs_listening(s); break;
		default: return -ENOPROTOOPT;
		}
		return put_sockopt(optval, optlen, &v, sizeof(v));
	}
	if (level != AF_VSOCK)
		return -ENOPROTOOPT;
	uint64_t q;
	switch (optname) {
	case SO_VM_SOCKETS_BUFFER_SIZE:
	case SO_VM_SOCKETS_BUFFER_MIN_SIZE:
	case SO_VM_SOCKETS_BUFFER_MAX_SIZE: q = 16384; return put_sockopt(optval, optlen, &q, sizeof(q));
	case SO_VM_SOCKETS_PEER_HOST_VM_ID: v = -1; return put_sockopt(optval, optlen, &v, sizeof(v));
	case SO_VM_SOCKETS_TRUSTED: v = 1; return put_sockopt(optval, optlen, &v, sizeof(v));
	case SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD:
	case SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW: {
		uint64_t ns = vs_connect_timeout(s), tv[2] = {ns / 1000000000u, ns % 1000000000u / 1000};
		return put_sockopt(optval, optlen, tv, sizeof(tv));
	}
	default: return -ENOPROTOOPT;
	}
}

/* Options a program commonly sets (SO_REUSEADDR, SO_KEEPALIVE, buffer
 * sizes, timeouts) are accepted and have no effect; the connect timeout is
 * kept. */
SYSCALL_DEFINE5(setsockopt, int, fd, uint64_t, level, uint64_t, optname, uaddr_t, optval, uint64_t, optlen)
{
	INET_DO(fd, inet_setsockopt(inf, level, optname, optval, optlen));
	UNIX_DO(fd, unix_setsockopt(uf, level, optname, optval, optlen));
	GET_SOCK(fd);
	if (level == SOL_SOCKET)
		return 0;
	if (level != AF_VSOCK)
		return -ENOPROTOOPT;
	if (optname == SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD || optname == SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW) {
		int64_t tv[2];
		if (optlen < sizeof(tv))
			return -EINVAL;
		if (copy_from_user(tv, optval, sizeof(tv)) < 0)
			return -EFAULT;
		if (tv[0] < 0 || tv[0] > 1000000 || tv[1] < 0 || tv[1] >= 1000000)
			return -ERANGE; /* as Linux */
		vs_set_connect_timeout(s, (uint64_t)tv[0] * 1000000000u + (uint64_t)tv[1] * 1000u);
		return 0;
	}
	return optname <= SO_VM_SOCKETS_BUFFER_MAX_SIZE ? 0 : -ENOPROTOOPT;
}
