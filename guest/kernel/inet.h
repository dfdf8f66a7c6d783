/* Loopback AF_INET and AF_INET6 sockets (inet_sock.c), as sys_net.c
 * calls them: descriptors already known to be such sockets, user pointers
 * unchecked. */
#ifndef CARVE_INET_H
#define CARVE_INET_H

#include "file.h"

bool is_inet_sock(const struct file *f);
int inet_socket(uint64_t family, uint64_t type, uint64_t protocol);
int inet_bind(struct file *f, uint64_t uaddr, uint64_t len);
int inet_listen(struct file *f, int backlog);
int inet_connect(struct file *f, uint64_t uaddr, uint64_t len);
int inet_accept(struct file *f, uint64_t uaddr, uint64_t ulen, uint64_t flags);
int inet_names(struct file *f, uint64_t uaddr, uint64_t ulen, bool peer);
int64_t inet_xfer(struct file *f, uint64_t buf, uint64_t len, uint64_t flags, uint64_t addr, uint64_t addrlen,
		  bool send);
int64_t inet_msg(struct file *f, uint64_t umsg, uint64_t flags, bool send);
int inet_shutdown(struct file *f, int how);
int inet_getsockopt(struct file *f, uint64_t level, uint64_t name, uint64_t uval, uint64_t ulen);
int inet_setsockopt(struct file *f, uint64_t level, uint64_t name, uint64_t uval, uint64_t len);

#endif
