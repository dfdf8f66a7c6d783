/* The byte ring of pipes and AF_UNIX and TCP stream sockets. Its memory is
 * taken at the first write: most self-pipes carry a byte now and then, and
 * zeroing 64 KiB per pipe() would cost milliseconds under emulation. A ring
 * whose cap is larger (TCP's, as much as Linux keeps in flight on
 * loopback) starts at 64 KiB and doubles while its bytes need it, so an
 * idle connection does not hold megabytes. */
#include "file.h"

#define FIRST_SIZE 65536u

/* Makes room for up to n more bytes (doubling, up to cap); a failed
 * growth keeps the buffer there is. */
static int reserve(struct ring *r, uint64_t n)
{
	uint64_t want = r->len + MIN(n, (uint64_t)ring_room(r));
	if (r->buf && want <= r->size)
		return 0;
	uint32_t size = r->buf ? r->size : MIN(r->cap, FIRST_SIZE);
	while (size < want && size < r->cap)
		size = (uint32_t)MIN((uint64_t)size * 2, (uint64_t)r->cap);
	if (r->buf && size == r->size)
		return 0;
	uint8_t *nb = kmalloc(size);
	if (!nb)
		return r->buf ? 0 : -ENOMEM;
	if (r->buf) {
		uint32_t len = r->len;
		ring_get(r, nb, len, true); /* the bytes in order, from 0 */
		kfree(r->buf);
		r->head = 0;
	}
	r->buf = nb;
	r->size = size;
	return 0;
}

int64_t ring_put(struct ring *r, const void *src, uint64_t n)
{
	if (!n)
		return 0;
	if (reserve(r, n) < 0)
		return -ENOMEM;
	n = MIN(n, (uint64_t)(r->size - r->len));
	if (!n)
		return -ENOMEM; /* full below cap: the growth failed */
	uint32_t tail = (r->head + r->len) % r->size;
	uint64_t first = MIN(n, (uint64_t)(r->size - tail));
	memcpy(r->buf + tail, src, first);
	memcpy(r->buf, (const uint8_t *)src + first, n - first);
	r->len += (uint32_t)n;
	return (int64_t)n;
}

uint64_t ring_get(struct ring *r, void *dst, uint64_t n, bool peek)
{
	n = MIN(n, (uint64_t)r->len);
	if (!n)
		return 0;
	uint64_t first = MIN(n, (uint64_t)(r->size - r->head));
	memcpy(dst, r->buf + r->head, first);
	memcpy((uint8_t *)dst + first, r->buf, n - first);
	if (!peek) {
		r->head = (uint32_t)((r->head + n) % r->size);
		r->len -= (uint32_t)n;
	}
	return n;
}

uint64_t ring_get_user(struct ring *r, uint64_t dst, uint64_t n)
{
	n = MIN(n, (uint64_t)r->len);
	for (uint64_t done = 0, run; done < n; done += run) {
		run = MIN(n - done, (uint64_t)(r->size - r->head));
		if (run >= HELPER_COPY_MIN && helper_ready())
			helper_copy_to_user(dst + done, r->buf + r->head, run);
		else
			memcpy((void *)(dst + done), r->buf + r->head, run);
		r->head = (uint32_t)((r->head + run) % r->size);
		r->len -= (uint32_t)run;
	}
	return n;
}

uint64_t ring_peek(const struct ring *r, uint64_t off, void *dst, uint64_t n)
{
	if (off >= r->len)
		return 0;
	n = MIN(n, (uint64_t)r->len - off);
	uint32_t start = (uint32_t)((r->head + off) % r->size);
	uint64_t first = MIN(n, (uint64_t)(r->size - start));
	memcpy(dst, r->buf + start, first);
	memcpy((uint8_t *)dst + first, r->buf, n - first);
	return n;
}

void ring_free(struct ring *r)
{
	kfree(r->buf);
	r->buf = NULL;
	r->len = r->head = r->size = 0;
}
