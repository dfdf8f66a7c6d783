/* A reusable COSE_Sign1 signer (carve/cose.h).
 *
 * OpenSSL 3 makes EVP_DigestSignInit expensive (provider lookups, context
 * allocation) next to a P-384 signature, so the key's EVP_PKEY_CTX is
 * initialised once and fed a digest we compute ourselves. The Sig_structure
 * (RFC 8152 §4.4)
 *     ["Signature1", protected: bstr, external_aad: h'', payload: bstr]
 * is hashed as a stream of its encoding, so the payload is never copied
 * into a second buffer just to be hashed.
 */
#include "carve/cose.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "carve/cbor.h"

#define PROT_MAX 16

struct cose_signer {
	EVP_PKEY_CTX *pctx; /* sign-initialised once */
	EVP_MD_CTX *mctx;   /* reused for every digest */
	EVP_MD *md;         /* fetched once */
	int alg;
	size_t coord;           /* bytes per signature coordinate */
	uint8_t prot[PROT_MAX]; /* encoded protected header {1: alg} */
	size_t prot_len;
};

static size_t head_len(uint64_t n)
{
	return n < 24 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : n <= 0xffffffffu ? 5 : 9;
}

size_t cose_signer_output_len(const struct cose_signer *s, size_t payload_len)
{
	return 1 + head_len(s->prot_len) + s->prot_len + 1 + head_len(payload_len) + payload_len +
		head_len(2 * s->coord) + 2 * s->coord;
}

void cose_signer_free(struct cose_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_CTX_free(s->pctx);
	EVP_MD_CTX_free(s->mctx);
	EVP_MD_free(s->md);
	free(s);
}

struct cose_signer *cose_signer_new(EVP_PKEY *key, struct carve_err *err)
{
	int alg = key_cose_alg(key);
	const char *md_name = alg == COSE_ALG_ES256 ? "SHA256"
		: alg == COSE_ALG_ES384             ? "SHA384"
		: alg == COSE_ALG_ES512             ? "SHA512"
						    : NULL;
	if (!md_name) {
		carve_fail(err, E60_EIF_SIGNING, "the key is not an EC key on P-256, P-384 or P-521");
		return NULL;
	}
	struct cose_signer *s = calloc(1, sizeof(*s));
	if (!s) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		return NULL;
	}
	s->alg = alg;
	s->coord = cose_alg_coord_len(alg);
	/* {1: alg}: map(1), uint 1, negint; at most 1 + 1 + 2 bytes. */
	s->prot[0] = 0xa1;
	s->prot[1] = 0x01;
	s->prot_len = 2 + cbor_encode_negint((uint64_t)(-(alg + 1)), s->prot + 2, PROT_MAX - 2);
	s->md = EVP_MD_fetch(NULL, md_name, NULL);
	s->mctx = EVP_MD_CTX_new();
	s->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (s->prot_len == 2 || !s->md || !s->mctx || !s->pctx || EVP_PKEY_sign_init(s->pctx) != 1) {
		cose_signer_free(s);
		carve_fail(err, E60_EIF_SIGNING, "could not set up ECDSA signing with the key");
		return NULL;
	}
	return s;
}

/* Appends a CBOR head to a fixed buffer; false if it does not fit. */
static bool put_head(uint8_t major, uint64_t n, uint8_t *out, size_t cap, size_t *pos)
{
	size_t w;
	if (*pos >= cap)
		return false;
	switch (major) {
	case 4: w = cbor_encode_array_start(n, out + *pos, cap - *pos); break;
	case 2: w = cbor_encode_bytestring_start(n, out + *pos, cap - *pos); break;
	default: w = cbor_encode_string_start(n, out + *pos, cap - *pos); break;
	}
	*pos += w;
	return w != 0;
}

static bool put_bytes(const void *data, size_t len, uint8_t *out, size_t cap, size_t *pos)
{
	if (len > cap - *pos)
		return false;
	memcpy(out + *pos, data, len);
	*pos += len;
	return true;
}

/* Digest of the Sig_structure for payload into md_out. */
static int tbs_digest(struct cose_signer *s, const uint8_t *payload, size_t payload_len, uint8_t *md_out,
		      unsigned *md_len)
{
	uint8_t pre[64];
	size_t n = 0;
	/* Everything before the payload bytes is small and bounded. */
	if (!put_head(4, 4, pre, sizeof(pre), &n) || !put_head(3, 10, pre, sizeof(pre), &n) ||
	    !put_bytes("Signature1", 10, pre, sizeof(pre), &n) ||
	    !put_head(2, s->prot_len, pre, sizeof(pre), &n) ||
	    !put_bytes(s->prot, s->prot_len, pre, sizeof(pre), &n) || !put_head(2, 0, pre, sizeof(pre), &n) ||
	    !put_head(2, payload_len, pre, sizeof(pre), &n))
		return -1;
	if (EVP_DigestInit_ex(s->mctx, s->md, NULL) != 1 || EVP_DigestUpdate(s->mctx, pre, n) != 1 ||
	    (payload_len && EVP_DigestUpdate(s->mctx, payload, payload_len) != 1) ||
	    EVP_DigestFinal_ex(s->mctx, md_out, md_len) != 1)
		return -1;
	return 0;
}

/* DER ECDSA-Sig-Value to r||s with each half padded to coord bytes. */
static int der_to_raw(const uint8_t *der, size_t der_len, size_t coord, uint8_t *raw)
{
	const uint8_t *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (!es)
		return -1;
	const BIGNUM *r, *s;
	ECDSA_SIG_get0(es, &r, &s);
	int ok = BN_bn2binpad(r, raw, (int)coord) == (int)coord &&
		BN_bn2binpad(s, raw + coord, (int)coord) == (int)coord;
	ECDSA_SIG_free(es);
	return ok ? 0 : -1;
}

int cose_signer_sign(struct cose_signer *s, const uint8_t *payload, size_t payload_len, uint8_t *out,
		     size_t cap, size_t *out_len, struct carve_err *err)
{
	uint8_t md[EVP_MAX_MD_SIZE], der[160], raw[COSE_MAX_SIG_LEN];
	unsigned md_len = 0;
	size_t der_len = sizeof(der);
	if (cose_signer_output_len(s, payload_len) > cap)
		return carve_fail(err, E00_UNSPECIFIED, "the COSE_Sign1 needs %zu bytes, %zu available",
				  cose_signer_output_len(s, payload_len), cap);
	if (tbs_digest(s, payload, payload_len, md, &md_len) < 0 ||
	    EVP_PKEY_sign(s->pctx, der, &der_len, md, md_len) != 1 ||
	    der_to_raw(der, der_len, s->coord, raw) < 0)
		return carve_fail(err, E60_EIF_SIGNING, "ECDSA signing failed");

	size_t n = 0;
	bool ok = put_head(4, 4, out, cap, &n) && put_head(2, s->prot_len, out, cap, &n) &&
		put_bytes(s->prot, s->prot_len, out, cap, &n) &&
		put_bytes("\xa0", 1, out, cap, &n) && /* empty unprotected map */
		put_head(2, payload_len, out, cap, &n) && put_bytes(payload, payload_len, out, cap, &n) &&
		put_head(2, 2 * s->coord, out, cap, &n) && put_bytes(raw, 2 * s->coord, out, cap, &n);
	if (!ok) /* cannot happen after the length check; kept as a guard */
		return carve_fail(err, E00_UNSPECIFIED, "the COSE_Sign1 does not fit");
	*out_len = n;
	return 0;
}
