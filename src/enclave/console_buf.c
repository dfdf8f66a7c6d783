/* See console_buf.h. */
#include "enclave/console_buf.h"

#include <stdlib.h>
#include <string.h>

int console_buf_init(struct console_buf *cb, size_t cap)
{
	cb->data = malloc(cap);
	cb->cap = cap;
	cb->written = 0;
	return cb->data ? 0 : -1;
}

void console_buf_free(struct console_buf *cb)
{
	free(cb->data);
	cb->data = NULL;
}

void console_buf_append(struct console_buf *cb, const void *data, size_t len)
{
	const uint8_t *p = data;
	if (len > cb->cap) { /* only the tail can be kept */
		cb->written += len - cb->cap;
		p += len - cb->cap;
		len = cb->cap;
	}
	size_t at = (size_t)(cb->written % cb->cap);
	size_t first = len < cb->cap - at ? len : cb->cap - at;
	memcpy(cb->data + at, p, first);
	memcpy(cb->data, p + first, len - first);
	cb->written += len;
}

uint64_t console_buf_start(const struct console_buf *cb)
{
	return cb->written > cb->cap ? cb->written - cb->cap : 0;
}

size_t console_buf_read(const struct console_buf *cb, uint64_t *pos, void *out, size_t max, uint64_t *dropped)
{
	*dropped = 0;
	uint64_t start = console_buf_start(cb);
	if (*pos < start) {
		*dropped = start - *pos;
		*pos = start;
	}
	if (*pos > cb->written)
		*pos = cb->written;
	uint64_t avail = cb->written - *pos;
	size_t n = avail < max ? (size_t)avail : max;
	size_t at = (size_t)(*pos % cb->cap);
	size_t first = n < cb->cap - at ? n : cb->cap - at;
	memcpy(out, cb->data + at, first);
	memcpy((uint8_t *)out + first, cb->data, n - first);
	*pos += n;
	return n;
}
