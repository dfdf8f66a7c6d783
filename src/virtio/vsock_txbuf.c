/* Guest data the host socket did not take at once, per connection: a ring of
 * exactly the credit the device advertises (buf_alloc), so a guest that
 * respects credit can never overrun it and nothing is buffered without
 * bound. */
#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "virtio/vsock_internal.h"

int vsock_txbuf_append(struct vsock_txbuf *b, const struct virtq_chain *ch, uint32_t off, uint32_t n)
{
	if (n > b->cap - b->len)
		return -1;
	if (!b->buf) {
		b->buf = malloc(b->cap);
		if (!b->buf)
			return -1;
	}
	/* in at most two pieces */
	uint32_t tail = (b->head + b->len) % b->cap;
	uint32_t first = b->cap - tail < n ? b->cap - tail : n;
	virtq_chain_read(ch, off, b->buf + tail, first);
	virtq_chain_read(ch, off + first, b->buf, n - first);
	b->len += n;
	return 0;
}

long vsock_txbuf_flush(struct vsock_txbuf *b, int fd)
{
	long total = 0;
	while (b->len > 0) {
		struct iovec iov[2];
		uint32_t first = b->cap - b->head;
		if (first > b->len)
			first = b->len;
		iov[0].iov_base = b->buf + b->head;
		iov[0].iov_len = first;
		iov[1].iov_base = b->buf;
		iov[1].iov_len = b->len - first;
		ssize_t n = writev(fd, iov, iov[1].iov_len ? 2 : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		b->head = (uint32_t)((b->head + (uint32_t)n) % b->cap);
		b->len -= (uint32_t)n;
		total += n;
	}
	if (b->len == 0)
		b->head = 0;
	return total;
}

void vsock_txbuf_free(struct vsock_txbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->head = b->len = 0;
}
