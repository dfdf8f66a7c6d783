/* CBOR helpers over libcbor.
 *
 * Writing: a growable buffer fed by libcbor's low-level encoders, which always
 * choose the shortest head, so output is deterministic and byte-identical to
 * serde_cbor's for the shapes AWS uses.
 * Reading: libcbor's decoder plus checked accessors that never trust a type or
 * length they did not look at.
 */
#ifndef CARVE_CBOR_H
#define CARVE_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cbor.h>

struct cbor_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max;  /* 0: no limit; else writing past it sets failed */
	bool failed; /* sticky: out of memory or over max */
};

void cw_init(struct cbor_writer *w, size_t max);
void cw_free(struct cbor_writer *w);
/* Hands the buffer to the caller (who frees it); NULL if writing failed. */
uint8_t *cw_take(struct cbor_writer *w, size_t *len);

void cw_uint(struct cbor_writer *w, uint64_t v);
void cw_int(struct cbor_writer *w, int64_t v);
void cw_bytes(struct cbor_writer *w, const void *data, size_t len);
void cw_text(struct cbor_writer *w, const char *text);
void cw_text_n(struct cbor_writer *w, const char *text, size_t len);
void cw_array(struct cbor_writer *w, size_t n);
void cw_map(struct cbor_writer *w, size_t n);
void cw_bool(struct cbor_writer *w, bool v);
void cw_null(struct cbor_writer *w);
void cw_tag(struct cbor_writer *w, uint64_t tag);
/* Raw, already-encoded CBOR. */
void cw_raw(struct cbor_writer *w, const void *data, size_t len);
/* serde_cbor's encoding of a Vec<u8> without serde_bytes: an array of uints. */
void cw_uint_array(struct cbor_writer *w, const uint8_t *data, size_t len);

/* One definite-length item spanning the whole buffer, nesting at most 16
 * deep, with every length within the buffer. */
bool cb_well_formed(const uint8_t *data, size_t len);
/* Decode exactly one item that spans the whole buffer (trailing bytes are an
 * error). NULL on malformed input. The caller cbor_decref()s the result. */
cbor_item_t *cb_decode_exact(const uint8_t *data, size_t len);

/* Map lookup by text key; NULL if m is not a map or the key is absent. A key
 * that appears twice makes the map ambiguous: *dup is set and NULL returned. */
cbor_item_t *cb_map_get(const cbor_item_t *m, const char *key, bool *dup);
/* Is item CBOR null? (libcbor's cbor_is_null asserts, and so aborts, when
 * handed a float: never call it on untrusted input.) */
bool cb_is_null(const cbor_item_t *item);
/* Is item the text string s? */
bool cb_text_is(const cbor_item_t *item, const char *s);
/* Unsigned integer value of a uint item (any width); false if not a uint. */
bool cb_uint(const cbor_item_t *item, uint64_t *out);
/* Signed value of a uint or negint that fits int64_t. */
bool cb_int(const cbor_item_t *item, int64_t *out);
/* Definite byte string: pointer into the item and its length. */
bool cb_bytes(const cbor_item_t *item, const uint8_t **data, size_t *len);
/* An array of uints each <= 255 (the serde Vec<u8> quirk), copied into a
 * malloc'ed buffer. */
bool cb_uint_array(const cbor_item_t *item, uint8_t **data, size_t *len);

#endif
