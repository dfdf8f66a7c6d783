/* libFuzzer target for the attestation document parsers: the payload
 * decoder (nsm_doc_decode) on the raw input, then the full verifier on the
 * input as a COSE_Sign1. To reach the chain and expected-value checks, the
 * verifier trusts the document's own cabundle[0] and runs at the document's
 * own timestamp, so a mutated seed still gets past the trust anchor. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "carve/cose.h"
#include "carve/nsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct carve_err err = {0};
	struct nsm_doc doc;
	if (nsm_doc_decode(data, size, &doc, &err) == 0)
		nsm_doc_free(&doc);

	struct cose_sign1 s;
	if (cose_sign1_parse(data, size, &s, E17_SERDE, &err) < 0)
		return 0;
	X509 *root = NULL;
	time_t when = 0;
	if (nsm_doc_decode(s.payload, s.payload_len, &doc, &err) == 0) {
		root = cert_from_der(doc.cabundle[0].data, doc.cabundle[0].len, &err);
		when = (time_t)(doc.timestamp / 1000);
		nsm_doc_free(&doc);
	}
	cose_sign1_free(&s);
	if (!root)
		return 0;
	static const uint8_t nonce[] = {0x0a, 0x0b, 0x0c};
	struct nsm_expected_pcr pcr = {.index = 0};
	memset(pcr.value, 0xab, sizeof(pcr.value));
	struct nsm_verify_opts o = {.root = root,
				    .now = when,
				    .pcrs = &pcr,
				    .npcrs = 1,
				    .nonce = nonce,
				    .nonce_len = sizeof(nonce)};
	struct nsm_verified v;
	memset(&err, 0, sizeof(err));
	if (nsm_verify_document(data, size, &o, &v, &err) == 0)
		nsm_verified_free(&v);
	X509_free(root);
	return 0;
}
