/* Decoding an AttestationDocument payload with the field rules of
 * attestation_process.md (AWS's attestation_process.md step 1):
 *   module_id   non-empty text
 *   digest      "SHA384"
 *   timestamp   uint > 0 (ms)
 *   pcrs        map of 1..32 entries, keys 0..31, values bstr of the
 *               digest's size (48 for SHA384)
 *   certificate bstr 1..1024; cabundle non-empty array of bstr 1..1024
 *   public_key  null or bstr 1..1024; user_data, nonce null or bstr 0..1024
 * Null is read as absent: real documents write absent fields as null even
 * though the spec says "no field content can be null". Keys that are not
 * in the spec, and keys given twice, are refused.
 */
#include <stdlib.h>
#include <string.h>

#include "nsm/nsm_internal.h"

#define DOC_CERT_MAX 1024
#define MODULE_ID_LIMIT 256 /* no spec bound; AWS ids are about 40 bytes */

enum {
	K_MODULE_ID,
	K_DIGEST,
	K_TIMESTAMP,
	K_PCRS,
	K_CERTIFICATE,
	K_CABUNDLE,
	K_PUBLIC_KEY,
	K_USER_DATA,
	K_NONCE,
	K_COUNT
};
static const char *const key_names[K_COUNT] = {
	"module_id", "digest",     "timestamp", "pcrs",  "certificate",
	"cabundle",  "public_key", "user_data", "nonce",
};

void nsm_doc_free(struct nsm_doc *doc)
{
	free(doc->module_id);
	free(doc->certificate.data);
	for (size_t i = 0; i < doc->ncabundle; i++)
		free(doc->cabundle[i].data);
	free(doc->public_key.data);
	free(doc->user_data.data);
	free(doc->nonce.data);
	memset(doc, 0, sizeof(*doc));
}

/* A bstr of min..max bytes, copied. */
static int take_bytes(const cbor_item_t *v, size_t min, size_t max, struct nsm_bytes *out, const char *what,
		      struct carve_err *err)
{
	const uint8_t *p;
	size_t n;
	if (!cb_bytes(v, &p, &n))
		return carve_fail(err, E17_SERDE, "attestation document: '%s' is not a byte string", what);
	if (n < min || n > max)
		return carve_fail(err, E17_SERDE,
				  "attestation document: '%s' is %zu bytes; %zu to %zu are allowed", what, n,
				  min, max);
	out->data = malloc(n ? n : 1);
	if (!out->data)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	if (n)
		memcpy(out->data, p, n);
	out->len = n;
	out->present = true;
	return 0;
}

static int take_optional(const cbor_item_t *v, size_t min, struct nsm_bytes *out, const char *what,
			 struct carve_err *err)
{
	if (cb_is_null(v))
		return 0;
	return take_bytes(v, min, NSM_USER_FIELD_MAX, out, what, err);
}

static int take_module_id(const cbor_item_t *v, struct nsm_doc *doc, struct carve_err *err)
{
	if (!cbor_isa_string(v) || !cbor_string_is_definite(v) || cbor_string_length(v) == 0 ||
	    cbor_string_length(v) > MODULE_ID_LIMIT)
		return carve_fail(err, E17_SERDE,
				  "attestation document: 'module_id' is not a non-empty text string");
	size_t n = cbor_string_length(v);
	if (memchr(cbor_string_handle(v), 0, n))
		return carve_fail(err, E17_SERDE, "attestation document: 'module_id' contains NUL");
	doc->module_id = malloc(n + 1);
	if (!doc->module_id)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	memcpy(doc->module_id, cbor_string_handle(v), n);
	doc->module_id[n] = '\0';
	return 0;
}

static int take_pcrs(const cbor_item_t *v, struct nsm_doc *doc, struct carve_err *err)
{
	if (!cbor_isa_map(v) || !cbor_map_is_definite(v) || cbor_map_size(v) == 0 ||
	    cbor_map_size(v) > NSM_MAX_PCRS)
		return carve_fail(err, E17_SERDE,
				  "attestation document: 'pcrs' is not a map of 1 to 32 PCRs");
	struct cbor_pair *p = cbor_map_handle(v);
	uint32_t seen = 0;
	for (size_t i = 0; i < cbor_map_size(v); i++) {
		uint64_t index;
		const uint8_t *val;
		size_t len;
		if (!cb_uint(p[i].key, &index) || index >= NSM_MAX_PCRS || (seen >> index & 1))
			return carve_fail(err, E17_SERDE,
					  "attestation document: a PCR index is not "
					  "a distinct integer from 0 to 31");
		if (!cb_bytes(p[i].value, &val, &len) || len != PCR_LEN)
			return carve_fail(err, E17_SERDE,
					  "attestation document: PCR%u is not a "
					  "48-byte SHA-384 value",
					  (unsigned)index);
		seen |= 1u << index;
		doc->pcrs[i].index = (unsigned)index;
		memcpy(doc->pcrs[i].value, val, len);
		doc->pcrs[i].len = len;
	}
	doc->npcrs = (int)cbor_map_size(v);
	return 0;
}

static int take_cabundle(const cbor_item_t *v, struct nsm_doc *doc, struct carve_err *err)
{
	if (!cbor_isa_array(v) || !cbor_array_is_definite(v) || cbor_array_size(v) == 0 ||
	    cbor_array_size(v) > NSM_CABUNDLE_MAX)
		return carve_fail(err, E17_SERDE,
				  "attestation document: 'cabundle' is not an "
				  "array of 1 to %d certificates",
				  NSM_CABUNDLE_MAX);
	cbor_item_t **items = cbor_array_handle(v);
	for (size_t i = 0; i < cbor_array_size(v); i++) {
		if (take_bytes(items[i], 1, DOC_CERT_MAX, &doc->cabundle[i], "cabundle", err) < 0)
			return -1;
		doc->ncabundle = i + 1;
	}
	return 0;
}

static int take_field(int k, const cbor_item_t *v, struct nsm_doc *doc, struct carve_err *err)
{
	uint64_t ts;
	switch (k) {
	case K_MODULE_ID: return take_module_id(v, doc, err);
	case K_DIGEST:
		if (!cb_text_is(v, "SHA384"))
			return carve_fail(err, E17_SERDE, "attestation document: 'digest' is not \"SHA384\"");
		memcpy(doc->digest, "SHA384", 7);
		return 0;
	case K_TIMESTAMP:
		if (!cb_uint(v, &ts) || ts == 0)
			return carve_fail(err, E17_SERDE,
					  "attestation document: 'timestamp' is not a positive integer");
		doc->timestamp = ts;
		return 0;
	case K_PCRS: return take_pcrs(v, doc, err);
	case K_CERTIFICATE: return take_bytes(v, 1, DOC_CERT_MAX, &doc->certificate, "certificate", err);
	case K_CABUNDLE: return take_cabundle(v, doc, err);
	case K_PUBLIC_KEY: return take_optional(v, 1, &doc->public_key, "public_key", err);
	case K_USER_DATA: return take_optional(v, 0, &doc->user_data, "user_data", err);
	case K_NONCE: return take_optional(v, 0, &doc->nonce, "nonce", err);
	}
	return -1;
}

static int key_index(const cbor_item_t *key)
{
	for (int k = 0; k < K_COUNT; k++)
		if (cb_text_is(key, key_names[k]))
			return k;
	return -1;
}

int nsm_doc_decode(const uint8_t *payload, size_t len, struct nsm_doc *doc, struct carve_err *err)
{
	memset(doc, 0, sizeof(*doc));
	cbor_item_t *m = cb_decode_exact(payload, len);
	if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m)) {
		if (m)
			cbor_decref(&m);
		return carve_fail(err, E17_SERDE, "the attestation document's payload is not a CBOR map");
	}
	struct cbor_pair *p = cbor_map_handle(m);
	unsigned seen = 0;
	int rc = 0;
	for (size_t i = 0; i < cbor_map_size(m) && rc == 0; i++) {
		int k = key_index(p[i].key);
		if (k < 0)
			rc = carve_fail(err, E17_SERDE, "attestation document: unknown field");
		else if (seen >> k & 1)
			rc = carve_fail(err, E17_SERDE, "attestation document: '%s' appears twice",
					key_names[k]);
		else {
			seen |= 1u << k;
			rc = take_field(k, p[i].value, doc, err);
		}
	}
	for (int k = K_MODULE_ID; rc == 0 && k <= K_CABUNDLE; k++)
		if (!(seen >> k & 1))
			rc = carve_fail(err, E17_SERDE, "attestation document: '%s' is missing",
					key_names[k]);
	cbor_decref(&m);
	if (rc < 0)
		nsm_doc_free(doc);
	return rc;
}
