/* The CBOR subset of nsm_cbor.h. */
#include <string.h>

#include "nsm_cbor.h"

#define MAX_DEPTH 16

static void put(struct cbw *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void head(struct cbw *w, unsigned major, uint64_t v)
{
	uint8_t b[9];
	size_t n;
	if (v < 24) {
		b[0] = (uint8_t)(major << 5 | v);
		n = 1;
	} else if (v <= 0xff) {
		b[0] = (uint8_t)(major << 5 | 24);
		b[1] = (uint8_t)v;
		n = 2;
	} else if (v <= 0xffff) {
		b[0] = (uint8_t)(major << 5 | 25);
		b[1] = (uint8_t)(v >> 8);
		b[2] = (uint8_t)v;
		n = 3;
	} else if (v <= 0xffffffffu) {
		b[0] = (uint8_t)(major << 5 | 26);
		for (int i = 0; i < 4; i++)
			b[1 + i] = (uint8_t)(v >> (24 - 8 * i));
		n = 5;
	} else {
		b[0] = (uint8_t)(major << 5 | 27);
		for (int i = 0; i < 8; i++)
			b[1 + i] = (uint8_t)(v >> (56 - 8 * i));
		n = 9;
	}
	put(w, b, n);
}

void cbw_uint(struct cbw *w, uint64_t v) { head(w, 0, v); }
void cbw_bytes(struct cbw *w, const uint8_t *p, size_t n)
{
	head(w, 2, n);
	put(w, p, n);
}
void cbw_text(struct cbw *w, const char *s)
{
	size_t n = strlen(s);
	head(w, 3, n);
	put(w, s, n);
}
void cbw_map(struct cbw *w, size_t pairs) { head(w, 5, pairs); }
void cbw_null(struct cbw *w)
{
	uint8_t b = 0xf6;
	put(w, &b, 1);
}

void cbw_bool(struct cbw *w, bool v)
{
	uint8_t b = v ? 0xf5 : 0xf4;
	put(w, &b, 1);
}

static bool item(const uint8_t *p, const uint8_t *end, struct cbr *out, int depth);

static bool skip_n(const uint8_t **p, const uint8_t *end, uint64_t n, int depth)
{
	for (uint64_t i = 0; i < n; i++) {
		struct cbr it;
		if (!item(*p, end, &it, depth + 1))
			return false;
		*p = it.next;
	}
	return true;
}

static bool item(const uint8_t *p, const uint8_t *end, struct cbr *out, int depth)
{
	if (depth > MAX_DEPTH || p >= end)
		return false;
	unsigned major = p[0] >> 5, info = p[0] & 31;
	p++;
	uint64_t v;
	if (info < 24) {
		v = info;
	} else if (info <= 27) {
		size_t n = (size_t)1 << (info - 24);
		if ((size_t)(end - p) < n)
			return false;
		v = 0;
		for (size_t i = 0; i < n; i++)
			v = v << 8 | p[i];
		p += n;
	} else {
		return false; /* indefinite lengths and reserved values */
	}
	out->type = (enum cb_type)major;
	out->val = v;
	out->end = end;
	out->data = p;
	switch (major) {
	case 2:
	case 3:
		if (v > (uint64_t)(end - p))
			return false;
		out->next = p + v;
		return true;
	case 4:
		if (v > (uint64_t)(end - p))
			return false;
		if (!skip_n(&p, end, v, depth))
			return false;
		out->next = p;
		return true;
	case 5:
		if (v > (uint64_t)(end - p) / 2)
			return false;
		if (!skip_n(&p, end, v * 2, depth))
			return false;
		out->next = p;
		return true;
	case 6:
		if (!skip_n(&p, end, 1, depth))
			return false;
		out->next = p;
		return true;
	default: out->next = p; return true;
	}
}

bool cbr_item(const uint8_t *p, const uint8_t *end, struct cbr *out) { return item(p, end, out, 0); }

bool cbr_text_is(const struct cbr *it, const char *s)
{
	size_t n = strlen(s);
	return it->type == CB_TEXT && it->val == n && memcmp(it->data, s, n) == 0;
}

bool cbr_map_get(const struct cbr *map, const char *key, struct cbr *val)
{
	if (map->type != CB_MAP)
		return false;
	const uint8_t *p = map->data;
	for (uint64_t i = 0; i < map->val; i++) {
		struct cbr k;
		if (!cbr_item(p, map->end, &k) || !cbr_item(k.next, map->end, val))
			return false;
		if (cbr_text_is(&k, key))
			return true;
		p = val->next;
	}
	return false;
}
