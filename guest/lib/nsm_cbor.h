/* The small CBOR subset NSM messages use (RFC 8949): unsigned integers,
 * byte and text strings, arrays, maps, booleans and null, definite lengths
 * only. Decoding never reads outside the buffer it is given. */
#ifndef CARVE_NSM_CBOR_H
#define CARVE_NSM_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cbw { /* writer */
	uint8_t *buf;
	size_t cap, len;
	bool overflow;
};
void cbw_uint(struct cbw *w, uint64_t v);
void cbw_text(struct cbw *w, const char *s);
void cbw_bytes(struct cbw *w, const uint8_t *p, size_t n);
void cbw_map(struct cbw *w, size_t pairs);
void cbw_null(struct cbw *w);
void cbw_bool(struct cbw *w, bool v);

enum cb_type { CB_UINT, CB_NINT, CB_BYTES, CB_TEXT, CB_ARRAY, CB_MAP, CB_TAG, CB_SIMPLE };

struct cbr { /* one decoded item */
	enum cb_type type;
	uint64_t val;        /* integer value, string length, item count, simple value */
	const uint8_t *data; /* strings: the bytes; arrays and maps: the first element */
	const uint8_t *end;  /* end of the buffer the item lives in */
	const uint8_t *next; /* the byte after the whole item */
};

/* Decodes the item at p (false if malformed or truncated). */
bool cbr_item(const uint8_t *p, const uint8_t *end, struct cbr *out);
/* In a map item, the value whose text key is key (false if none). */
bool cbr_map_get(const struct cbr *map, const char *key, struct cbr *val);
bool cbr_text_is(const struct cbr *it, const char *s);

#endif
