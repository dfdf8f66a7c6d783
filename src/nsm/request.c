/* Decoding NSM requests (aws-nitro-enclaves-nsm-api).
 *
 * nsm-api's Request is an externally tagged serde enum written by
 * serde_cbor: unit variants are bare text strings ("DescribeNSM",
 * "GetRandom"), the others a one-entry map {"Variant": {field: value}}.
 * What this accepts, beyond the exact AWS shapes:
 *   - byte fields as text strings too (serde_bytes' ByteBuf takes both, and
 *     QEMU's device does the same);
 *   - an Attestation field that is missing or null is absent (serde's
 *     Option), and unknown keys in the inner map are skipped (serde's
 *     default without deny_unknown_fields).
 * Anything else that is not a known request is InvalidOperation.
 */
#include <string.h>

#include "nsm/nsm_internal.h"

/* A byte string or a text string; false for any other type. */
static bool get_bytes(const cbor_item_t *item, struct nsm_req_bytes *out)
{
	if (cb_bytes(item, &out->data, &out->len)) {
		out->present = true;
		return true;
	}
	if (item && cbor_isa_string(item) && cbor_string_is_definite(item)) {
		out->data = cbor_string_handle(item);
		out->len = cbor_string_length(item);
		out->present = true;
		return true;
	}
	return false;
}

/* A required uint field. */
static int get_uint_field(const cbor_item_t *body, const char *key, uint64_t *out)
{
	bool dup;
	cbor_item_t *v = cb_map_get(body, key, &dup);
	if (!v || !cb_uint(v, out))
		return NSM_INVALID_OPERATION;
	return NSM_SUCCESS;
}

/* An Option<ByteBuf> field of Attestation, at most NSM_USER_FIELD_MAX. */
static int get_optional(const cbor_item_t *body, const char *key, struct nsm_req_bytes *out)
{
	bool dup;
	cbor_item_t *v = cb_map_get(body, key, &dup);
	memset(out, 0, sizeof(*out));
	if (dup)
		return NSM_INVALID_OPERATION;
	if (!v || cb_is_null(v))
		return NSM_SUCCESS;
	if (!get_bytes(v, out))
		return NSM_INVALID_OPERATION;
	return out->len > NSM_USER_FIELD_MAX ? NSM_INPUT_TOO_LARGE : NSM_SUCCESS;
}

static int decode_body(const char *variant, size_t vlen, const cbor_item_t *body, struct nsm_request *r)
{
#define IS(name) (vlen == sizeof(name) - 1 && !memcmp(variant, name, vlen))
	if (!cbor_isa_map(body) || !cbor_map_is_definite(body))
		return NSM_INVALID_OPERATION;
	if (IS("DescribePCR")) {
		r->kind = NSM_REQ_DESCRIBE_PCR;
		return get_uint_field(body, "index", &r->index);
	}
	if (IS("ExtendPCR")) {
		r->kind = NSM_REQ_EXTEND_PCR;
		int rc = get_uint_field(body, "index", &r->index);
		if (rc != NSM_SUCCESS)
			return rc;
		bool dup;
		cbor_item_t *d = cb_map_get(body, "data", &dup);
		return d && get_bytes(d, &r->data) ? NSM_SUCCESS : NSM_INVALID_OPERATION;
	}
	if (IS("LockPCR")) {
		r->kind = NSM_REQ_LOCK_PCR;
		return get_uint_field(body, "index", &r->index);
	}
	if (IS("LockPCRs")) {
		r->kind = NSM_REQ_LOCK_PCRS;
		return get_uint_field(body, "range", &r->index);
	}
	if (IS("Attestation")) {
		r->kind = NSM_REQ_ATTESTATION;
		int rc;
		/* Checked in field order so the answer does not depend on map order. */
		if ((rc = get_optional(body, "user_data", &r->user_data)) != NSM_SUCCESS ||
		    (rc = get_optional(body, "nonce", &r->nonce)) != NSM_SUCCESS ||
		    (rc = get_optional(body, "public_key", &r->public_key)) != NSM_SUCCESS)
			return rc;
		/* attestation_process.md: public_key is 1..1024 bytes when present. */
		if (r->public_key.present && r->public_key.len == 0)
			return NSM_INVALID_ARGUMENT;
		return NSM_SUCCESS;
	}
	return NSM_INVALID_OPERATION;
#undef IS
}

int nsm_request_decode(const uint8_t *buf, size_t len, struct nsm_request *r)
{
	memset(r, 0, sizeof(*r));
	if (!buf || len == 0)
		return NSM_INVALID_OPERATION;
	if (len > NSM_REQUEST_MAX)
		return NSM_INPUT_TOO_LARGE;
	r->item = cb_decode_exact(buf, len);
	if (!r->item)
		return NSM_INVALID_OPERATION;

	if (cb_text_is(r->item, "DescribeNSM")) {
		r->kind = NSM_REQ_DESCRIBE_NSM;
		return NSM_SUCCESS;
	}
	if (cb_text_is(r->item, "GetRandom")) {
		r->kind = NSM_REQ_GET_RANDOM;
		return NSM_SUCCESS;
	}
	if (!cbor_isa_map(r->item) || !cbor_map_is_definite(r->item) || cbor_map_size(r->item) != 1)
		return NSM_INVALID_OPERATION;
	struct cbor_pair *p = cbor_map_handle(r->item);
	if (!cbor_isa_string(p->key) || !cbor_string_is_definite(p->key))
		return NSM_INVALID_OPERATION;
	return decode_body((const char *)cbor_string_handle(p->key), cbor_string_length(p->key), p->value, r);
}

void nsm_request_release(struct nsm_request *r)
{
	if (r->item)
		cbor_decref(&r->item);
	memset(r, 0, sizeof(*r));
}
