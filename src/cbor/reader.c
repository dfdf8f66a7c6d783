/* Checked accessors for decoded libcbor items. Every function looks at the
 * item's type and size before touching its contents, so callers can feed them
 * whatever a guest or a file handed us. */
#include "carve/cbor.h"

#include <stdlib.h>
#include <string.h>

/* Nesting deeper than this is never a shape carve reads. */
#define CBOR_MAX_DEPTH 16

/* Reads the head at data[*pos]: major type and argument. */
static bool read_head(const uint8_t *data, size_t len, size_t *pos, int *major, uint64_t *arg,
		      bool *indefinite)
{
	if (*pos >= len)
		return false;
	uint8_t ib = data[(*pos)++];
	*major = ib >> 5;
	uint8_t info = ib & 31;
	*indefinite = false;
	if (info < 24) {
		*arg = info;
		return true;
	}
	if (info == 31) {
		*indefinite = true;
		*arg = 0;
		return true;
	}
	if (info > 27)
		return false;
	size_t n = (size_t)1 << (info - 24);
	if (len - *pos < n)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | data[(*pos)++];
	*arg = v;
	return true;
}

/* Walks the encoding without allocating, checking that every declared length
 * or element count fits in the bytes that remain. libcbor sizes its
 * allocations from those counts, so without this a 9-byte input could ask it
 * for gigabytes. Indefinite-length items are refused: none of the formats
 * carve reads (EIF signatures, NSM requests, attestation documents, control
 * messages) uses them. */
static bool prescan_item(const uint8_t *data, size_t len, size_t *pos, int depth)
{
	int major;
	uint64_t arg;
	bool indef;
	if (depth > CBOR_MAX_DEPTH || !read_head(data, len, pos, &major, &arg, &indef) || indef)
		return false;
	switch (major) {
	case 0:
	case 1:
	case 7: return true;
	case 2:
	case 3:
		if (arg > len - *pos)
			return false;
		*pos += (size_t)arg;
		return true;
	case 4:
	case 5: {
		uint64_t items = major == 5 ? arg * 2 : arg;
		if (arg > len - *pos || items > len - *pos)
			return false;
		for (uint64_t i = 0; i < items; i++)
			if (!prescan_item(data, len, pos, depth + 1))
				return false;
		return true;
	}
	case 6: return prescan_item(data, len, pos, depth + 1);
	}
	return false;
}

bool cb_well_formed(const uint8_t *data, size_t len)
{
	size_t pos = 0;
	return data && len && prescan_item(data, len, &pos, 0) && pos == len;
}

cbor_item_t *cb_decode_exact(const uint8_t *data, size_t len)
{
	if (!cb_well_formed(data, len))
		return NULL;
	struct cbor_load_result res;
	cbor_item_t *item = cbor_load(data, len, &res);
	if (!item)
		return NULL;
	if (res.error.code != CBOR_ERR_NONE || res.read != len) {
		cbor_decref(&item);
		return NULL;
	}
	return item;
}

bool cb_is_null(const cbor_item_t *item)
{
	return item && cbor_isa_float_ctrl(item) && cbor_float_get_width(item) == CBOR_FLOAT_0 &&
		cbor_ctrl_value(item) == CBOR_CTRL_NULL;
}

bool cb_text_is(const cbor_item_t *item, const char *s)
{
	if (!item || !cbor_isa_string(item) || !cbor_string_is_definite(item))
		return false;
	size_t n = strlen(s);
	return cbor_string_length(item) == n && memcmp(cbor_string_handle(item), s, n) == 0;
}

cbor_item_t *cb_map_get(const cbor_item_t *m, const char *key, bool *dup)
{
	if (dup)
		*dup = false;
	if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m))
		return NULL;
	struct cbor_pair *pairs = cbor_map_handle(m);
	size_t n = cbor_map_size(m);
	cbor_item_t *found = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!cb_text_is(pairs[i].key, key))
			continue;
		if (found) {
			if (dup)
				*dup = true;
			return NULL;
		}
		found = pairs[i].value;
	}
	return found;
}

bool cb_uint(const cbor_item_t *item, uint64_t *out)
{
	if (!item || !cbor_isa_uint(item))
		return false;
	*out = cbor_get_int(item);
	return true;
}

bool cb_int(const cbor_item_t *item, int64_t *out)
{
	if (!item)
		return false;
	uint64_t v;
	if (cbor_isa_uint(item)) {
		v = cbor_get_int(item);
		if (v > INT64_MAX)
			return false;
		*out = (int64_t)v;
		return true;
	}
	if (cbor_isa_negint(item)) {
		v = cbor_get_int(item); /* the value is -1 - v */
		if (v > INT64_MAX)
			return false;
		*out = -1 - (int64_t)v;
		return true;
	}
	return false;
}

bool cb_bytes(const cbor_item_t *item, const uint8_t **data, size_t *len)
{
	if (!item || !cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item))
		return false;
	*data = cbor_bytestring_handle(item);
	*len = cbor_bytestring_length(item);
	return true;
}

bool cb_uint_array(const cbor_item_t *item, uint8_t **data, size_t *len)
{
	if (!item || !cbor_isa_array(item) || !cbor_array_is_definite(item))
		return false;
	size_t n = cbor_array_size(item);
	cbor_item_t **elems = cbor_array_handle(item);
	uint8_t *out = malloc(n ? n : 1);
	if (!out)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		if (!cb_uint(elems[i], &v) || v > 255) {
			free(out);
			return false;
		}
		out[i] = (uint8_t)v;
	}
	*data = out;
	*len = n;
	return true;
}
