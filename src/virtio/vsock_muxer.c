/* The host side of vsock over Unix sockets (docs/vsock.md), behind struct
 * vsock_host_ops:
 *   - guest -> host: a connection to the parent's port P connects to
 *     <vsock_dir>/port-<P>.sock; nobody listening there means RST;
 *   - host -> guest: a host program connects to the enclave's socket
 *     (uds_path, mode 0660) and writes "CONNECT <P>\n"; once the guest
 *     accepts, it reads "OK <host port>\n". */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtio/vsock_internal.h"

static int unix_listen(struct vsock_dev *v)
{
	if (!v->uds_path)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(v->uds_path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, v->uds_path);
	struct stat st;
	if (lstat(v->uds_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(v->uds_path); /* a stale socket of an earlier run */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Explicitly, whatever the umask: the enclave's owner and group (a
	 * parent service in that group) may connect; root always can. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(v->uds_path, 0660) < 0 ||
	    listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int unix_accept(struct vsock_dev *v)
{
	return accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* Reads the "CONNECT <port>\n" line one byte at a time, so no data after it
 * is consumed. */
static int unix_read_request(struct vsock_dev *v, struct vconn *c, uint32_t *port)
{
	(void)v;
	for (;;) {
		char ch;
		ssize_t n = read(c->fd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0 || c->line_len + 1 >= VSOCK_CONNECT_LINE_MAX)
			return -1;
		if (ch != '\n') {
			c->line[c->line_len++] = ch;
			continue;
		}
		c->line[c->line_len] = 0;
		char *s = c->line;
		if (c->line_len && s[c->line_len - 1] == '\r')
			s[c->line_len - 1] = 0;
		if (strncasecmp(s, "CONNECT ", 8) != 0 || !isdigit((unsigned char)s[8]))
			return -1;
		char *end;
		errno = 0;
		unsigned long p = strtoul(s + 8, &end, 10);
		if (errno || *end || p > UINT32_MAX)
			return -1;
		*port = (uint32_t)p;
		return 1;
	}
}

static int unix_accepted(struct vsock_dev *v, struct vconn *c)
{
	(void)v;
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->peer_port);
	return write(c->fd, ok, (size_t)n) == n ? 0 : -1;
}

static int unix_connect(struct vsock_dev *v, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!v->vsock_dir ||
	    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/port-%u.sock", v->vsock_dir, port) >=
		    (int)sizeof(sa.sun_path))
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd); /* no listener, or its backlog is full */
		fd = -1;
	}
	return fd;
}

static void unix_close(struct vsock_dev *v)
{
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		unlink(v->uds_path);
		v->listen_fd = -1;
	}
}

const struct vsock_host_ops vsock_unix_host = {
	.listen = unix_listen,
	.accept = unix_accept,
	.read_request = unix_read_request,
	.accepted = unix_accepted,
	.connect = unix_connect,
	.close = unix_close,
};
