/* The signature section (aws-nitro-enclaves-image-format's signature section): a CBOR array of
 * PcrSignature maps {"signing_certificate": PEM, "signature": COSE_Sign1},
 * both byte fields written as arrays of small uints (serde_cbor's Vec<u8>),
 * the COSE payload being {"register_index": 0, "register_value": PCR0}. */
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "carve/cbor.h"
#include "carve/cose.h"
#include "eif/format.h"
#include "eif/signature.h"

/* serde_cbor of PcrInfo { register_index: 0, register_value: pcr0 }. */
static uint8_t *pcr_info_encode(const uint8_t pcr0[PCR_LEN], size_t *len)
{
	struct cbor_writer w;
	cw_init(&w, 0);
	cw_map(&w, 2);
	cw_text(&w, "register_index");
	cw_uint(&w, 0);
	cw_text(&w, "register_value");
	cw_uint_array(&w, pcr0, PCR_LEN);
	return cw_take(&w, len);
}

int eif_signature_encode(X509 *cert, const uint8_t *cert_pem, size_t cert_pem_len, EVP_PKEY *key,
			 const uint8_t pcr0[PCR_LEN], uint8_t **out, size_t *out_len, struct carve_err *err)
{
	if (!cert_matches_key(cert, key))
		return carve_fail(err, E60_EIF_SIGNING,
				  "the private key does not belong to the signing certificate");
	size_t info_len;
	uint8_t *info = pcr_info_encode(pcr0, &info_len);
	if (!info)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	uint8_t *cose;
	size_t cose_len;
	int rc = cose_sign1_create(key, info, info_len, false, &cose, &cose_len, err);
	free(info);
	if (rc < 0)
		return -1;

	struct cbor_writer w;
	cw_init(&w, EIF_SIGNATURE_MAX);
	cw_array(&w, 1);
	cw_map(&w, 2);
	cw_text(&w, "signing_certificate");
	cw_uint_array(&w, cert_pem, cert_pem_len);
	cw_text(&w, "signature");
	cw_uint_array(&w, cose, cose_len);
	free(cose);
	*out = cw_take(&w, out_len);
	if (!*out)
		return carve_fail(err, E60_EIF_SIGNING, "the signature section would exceed %d bytes",
				  EIF_SIGNATURE_MAX);
	return 0;
}

int eif_signature_check(const uint8_t *data, size_t len, const uint8_t pcr0[PCR_LEN], time_t now,
			struct eif_signature_result *res, struct carve_err *err)
{
	memset(res, 0, sizeof(*res));
#define BAD(...) carve_fail(err, E35_EIF_PARSING, "the signature section is malformed: " __VA_ARGS__)
	cbor_item_t *root = cb_decode_exact(data, len);
	if (!root)
		return BAD("not well-formed CBOR");
	int rc = -1;
	struct cose_sign1 cose = {0};
	uint8_t *info = NULL;
	if (!cbor_isa_array(root) || !cbor_array_is_definite(root) || cbor_array_size(root) < 1) {
		BAD("expected an array of PcrSignature entries");
		goto out;
	}
	/* The first entry signs PCR0; AWS writes exactly one. */
	cbor_item_t *entry = cbor_array_handle(root)[0];
	bool dup1, dup2;
	cbor_item_t *cert_item = cb_map_get(entry, "signing_certificate", &dup1);
	cbor_item_t *sig_item = cb_map_get(entry, "signature", &dup2);
	if (!cert_item || !sig_item || dup1 || dup2) {
		BAD("an entry needs exactly one signing_certificate and one signature");
		goto out;
	}
	uint8_t *cose_bytes;
	size_t cose_len;
	if (!cb_uint_array(cert_item, &res->cert_pem, &res->cert_pem_len) ||
	    !cb_uint_array(sig_item, &cose_bytes, &cose_len)) {
		BAD("signing_certificate and signature must be arrays of bytes");
		goto out;
	}
	struct carve_err inner = {0};
	rc = cose_sign1_parse(cose_bytes, cose_len, &cose, E35_EIF_PARSING, &inner);
	free(cose_bytes);
	if (rc < 0) {
		rc = BAD("%s", inner.msg);
		goto out;
	}
	res->cert = cert_from_pem(res->cert_pem, res->cert_pem_len, &inner);
	if (!res->cert) {
		rc = BAD("signing_certificate is not a PEM certificate");
		goto out;
	}
	rc = 0;

	/* From here on the section is well-formed; what fails now makes the
	 * signature invalid, which callers report rather than treat as a parse
	 * error. */
	int valid = cose_sign1_verify(&cose, X509_get0_pubkey(res->cert), &inner);
	size_t info_len;
	info = pcr_info_encode(pcr0, &info_len);
	if (valid != 1) {
		snprintf(res->problem, sizeof(res->problem),
			 "the COSE signature does not verify with the signing certificate's key");
	} else if (!info || info_len != cose.payload_len || memcmp(info, cose.payload, info_len)) {
		snprintf(res->problem, sizeof(res->problem),
			 "the signature is for a different PCR0 than this image's");
	} else {
		res->signature_ok = true;
	}
	struct carve_err verr = {0};
	res->cert_valid_now = cert_check_validity(res->cert, now, &verr, E59_EIF_SIGNATURE_CHECKER) == 0;
	if (!res->cert_valid_now && res->signature_ok)
		snprintf(res->problem, sizeof(res->problem), "%.255s", verr.msg);
out:
	free(info);
	cose_sign1_free(&cose);
	cbor_decref(&root);
	if (rc < 0)
		eif_signature_result_free(res);
	return rc;
#undef BAD
}

void eif_signature_result_free(struct eif_signature_result *res)
{
	X509_free(res->cert);
	free(res->cert_pem);
	res->cert = NULL;
	res->cert_pem = NULL;
}
