/* COSE_Sign1 (RFC 8152 §4.2) in the form AWS uses for EIF signatures and NSM
 * attestation documents: protected header {1: alg}, empty unprotected map,
 * raw r||s signature over
 *   Sig_structure = ["Signature1", protected, h'', payload].
 */
#ifndef CARVE_COSE_H
#define CARVE_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carve/crypto.h"
#include "carve/error.h"

#define COSE_SIGN1_TAG 18
#define COSE_MAX_SIG_LEN 132 /* P-521: 2 x 66 */

struct cose_sign1 {
	int alg;                /* from the protected header */
	uint8_t *protected_hdr; /* the protected header's encoded bytes */
	size_t protected_len;
	uint8_t *payload;
	size_t payload_len;
	uint8_t sig[COSE_MAX_SIG_LEN];
	size_t sig_len;
};

/* Sign payload with key (ES256/384/512 by its curve). With tagged, the
 * output starts with tag 18; AWS writes untagged. *out is malloc'ed. */
int cose_sign1_create(EVP_PKEY *key, const uint8_t *payload, size_t payload_len, bool tagged, uint8_t **out,
		      size_t *out_len, struct carve_err *err);
/* Parse tagged or untagged; checks the structure and the protected header.
 * Fails with `code` and a message naming what is wrong. */
int cose_sign1_parse(const uint8_t *buf, size_t len, struct cose_sign1 *out, int code, struct carve_err *err);
void cose_sign1_free(struct cose_sign1 *s);
/* 1: signature valid under pub; 0: not valid; -1: error. */
int cose_sign1_verify(const struct cose_sign1 *s, EVP_PKEY *pub, struct carve_err *err);

/* A COSE_Sign1 signer for many payloads under one key (cose_signer.c): the
 * protected header is encoded and the key's signing context set up once, so
 * each signature costs one SHA-384 pass over the Sig_structure and one ECDSA
 * operation. The NSM signs one document per Attestation request with it.
 * Not thread-safe: one per thread, or use it under a lock. */
struct cose_signer;
struct cose_signer *cose_signer_new(EVP_PKEY *key, struct carve_err *err);
void cose_signer_free(struct cose_signer *s);
/* Writes the untagged COSE_Sign1 of payload into out (capacity cap), the same
 * bytes cose_sign1_create(key, payload, false, ...) would produce. Fails with
 * E00 when it does not fit. */
int cose_signer_sign(struct cose_signer *s, const uint8_t *payload, size_t payload_len, uint8_t *out,
		     size_t cap, size_t *out_len, struct carve_err *err);
/* Bytes the COSE_Sign1 of a payload_len-byte payload will take. */
size_t cose_signer_output_len(const struct cose_signer *s, size_t payload_len);

#endif
