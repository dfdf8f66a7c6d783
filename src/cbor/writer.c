/* A deterministic CBOR writer on libcbor's shortest-head encoders. */
#include "carve/cbor.h"

#include <stdlib.h>
#include <string.h>

void cw_init(struct cbor_writer *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void cw_free(struct cbor_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

uint8_t *cw_take(struct cbor_writer *w, size_t *len)
{
	if (w->failed) {
		cw_free(w);
		return NULL;
	}
	uint8_t *buf = w->buf;
	*len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return buf;
}

static uint8_t *reserve(struct cbor_writer *w, size_t n)
{
	if (w->failed)
		return NULL;
	if (n > SIZE_MAX - w->len || (w->max && w->len + n > w->max)) {
		w->failed = true;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *nb = realloc(w->buf, cap);
		if (!nb) {
			w->failed = true;
			return NULL;
		}
		w->buf = nb;
		w->cap = cap;
	}
	return w->buf + w->len;
}

/* Every head is at most 9 bytes. */
#define HEAD_MAX 9

#define PUT_HEAD(w, encoder, value)                                 \
	do {                                                        \
		uint8_t *p_ = reserve((w), HEAD_MAX);               \
		if (p_)                                             \
			(w)->len += encoder((value), p_, HEAD_MAX); \
	} while (0)

void cw_uint(struct cbor_writer *w, uint64_t v) { PUT_HEAD(w, cbor_encode_uint, v); }

void cw_int(struct cbor_writer *w, int64_t v)
{
	if (v >= 0)
		PUT_HEAD(w, cbor_encode_uint, (uint64_t)v);
	else
		PUT_HEAD(w, cbor_encode_negint, (uint64_t)(-(v + 1)));
}

void cw_raw(struct cbor_writer *w, const void *data, size_t len)
{
	uint8_t *p = reserve(w, len);
	if (p && len) {
		memcpy(p, data, len);
		w->len += len;
	}
}

void cw_bytes(struct cbor_writer *w, const void *data, size_t len)
{
	PUT_HEAD(w, cbor_encode_bytestring_start, len);
	cw_raw(w, data, len);
}

void cw_text_n(struct cbor_writer *w, const char *text, size_t len)
{
	PUT_HEAD(w, cbor_encode_string_start, len);
	cw_raw(w, text, len);
}

void cw_text(struct cbor_writer *w, const char *text) { cw_text_n(w, text, strlen(text)); }
void cw_array(struct cbor_writer *w, size_t n) { PUT_HEAD(w, cbor_encode_array_start, n); }
void cw_map(struct cbor_writer *w, size_t n) { PUT_HEAD(w, cbor_encode_map_start, n); }
void cw_tag(struct cbor_writer *w, uint64_t tag) { PUT_HEAD(w, cbor_encode_tag, tag); }

void cw_bool(struct cbor_writer *w, bool v)
{
	uint8_t *p = reserve(w, 1);
	if (p) {
		*p = v ? 0xf5 : 0xf4;
		w->len++;
	}
}

void cw_null(struct cbor_writer *w)
{
	uint8_t *p = reserve(w, 1);
	if (p) {
		*p = 0xf6;
		w->len++;
	}
}

void cw_uint_array(struct cbor_writer *w, const uint8_t *data, size_t len)
{
	cw_array(w, len);
	for (size_t i = 0; i < len; i++)
		cw_uint(w, data[i]);
}
