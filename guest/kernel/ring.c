/* The byte ring of pipes and AF_UNIX stream sockets. Its memory is taken at
 * the first write: most self-pipes carry a byte now and then, and zeroing
 * 64 KiB per pipe() would cost milliseconds under emulation. */
#include "file.h"

int64_t ring_put(struct ring *r, const void *src, uint64_t n)
{
	if (!r->buf && n && !(r->buf = kmalloc(r->cap)))
		return -ENOMEM;
	n = MIN(n, (uint64_t)ring_room(r));
	uint32_t tail = (r->head + r->len) % r->cap;
	uint64_t first = MIN(n, (uint64_t)(r->cap - tail));
	memcpy(r->buf + tail, src, first);
	memcpy(r->buf, (const uint8_t *)src + first, n - first);
	r->len += (uint32_t)n;
	return (int64_t)n;
}

uint64_t ring_get(struct ring *r, void *dst, uint64_t n, bool peek)
{
	n = MIN(n, (uint64_t)r->len);
	uint64_t first = MIN(n, (uint64_t)(r->cap - r->head));
	memcpy(dst, r->buf + r->head, first);
	memcpy((uint8_t *)dst + first, r->buf, n - first);
	if (!peek) {
		r->head = (uint32_t)((r->head + n) % r->cap);
		r->len -= (uint32_t)n;
	}
	return n;
}

uint64_t ring_peek(const struct ring *r, uint64_t off, void *dst, uint64_t n)
{
	if (off >= r->len)
		return 0;
	n = MIN(n, (uint64_t)r->len - off);
	uint32_t start = (uint32_t)((r->head + off) % r->cap);
	uint64_t first = MIN(n, (uint64_t)(r->cap - start));
	memcpy(dst, r->buf + start, first);
	memcpy((uint8_t *)dst + first, r->buf, n - first);
	return n;
}

void ring_free(struct ring *r)
{
	kfree(r->buf);
	r->buf = NULL;
	r->len = r->head = 0;
}
