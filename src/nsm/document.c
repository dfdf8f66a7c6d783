/* Encoding the AttestationDocument payload (AWS's attestation_process.md).
 *
 * nsm-api's AttestationDoc serialised by serde_cbor: a map of nine text keys
 * in struct order (module_id, digest, timestamp, pcrs, certificate,
 * cabundle, public_key, user_data, nonce). Absent optional fields are
 * written as null, as real documents, QEMU and serde's Option all do.
 * The attester pre-encodes the parts that do not change between documents
 * (prefix, certificates) and appends the rest per document.
 */
#include <string.h>

#include "nsm/nsm_internal.h"

#define PAYLOAD_KEYS 9

int nsm_payload_prefix(struct cbor_writer *w, const char *module_id)
{
	cw_map(w, PAYLOAD_KEYS);
	cw_text(w, "module_id");
	cw_text(w, module_id);
	cw_text(w, "digest");
	cw_text(w, "SHA384");
	cw_text(w, "timestamp"); /* its value is per document */
	return w->failed ? -1 : 0;
}

/* pcrs: every one of the 32 registers, keys ascending (a BTreeMap). */
void nsm_payload_pcrs(struct cbor_writer *w, const uint8_t (*pcrs)[PCR_LEN], bool zero)
{
	static const uint8_t zeros[PCR_LEN];
	cw_text(w, "pcrs");
	cw_map(w, NSM_MAX_PCRS);
	for (unsigned i = 0; i < NSM_MAX_PCRS; i++) {
		cw_uint(w, i);
		cw_bytes(w, zero ? zeros : pcrs[i], PCR_LEN);
	}
}

int nsm_payload_certs(struct cbor_writer *w, const uint8_t *cert, size_t cert_len,
		      const uint8_t *const *bundle, const size_t *bundle_len, size_t nbundle)
{
	cw_text(w, "certificate");
	cw_bytes(w, cert, cert_len);
	cw_text(w, "cabundle");
	cw_array(w, nbundle);
	for (size_t i = 0; i < nbundle; i++)
		cw_bytes(w, bundle[i], bundle_len[i]);
	return w->failed ? -1 : 0;
}

static void optional(struct cbor_writer *w, const char *key, const struct nsm_req_bytes *b)
{
	cw_text(w, key);
	if (b->present)
		cw_bytes(w, b->data, b->len);
	else
		cw_null(w);
}

void nsm_payload_optional(struct cbor_writer *w, const struct nsm_req_bytes *public_key,
			  const struct nsm_req_bytes *user_data, const struct nsm_req_bytes *nonce)
{
	optional(w, "public_key", public_key);
	optional(w, "user_data", user_data);
	optional(w, "nonce", nonce);
}
