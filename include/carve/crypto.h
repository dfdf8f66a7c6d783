/* Thin wrappers over OpenSSL: SHA-384 and PCR arithmetic, ECDSA with raw r||s
 * signatures (the COSE form), X.509 certificates.
 *
 * Nothing here knows about EIFs, the NSM or KVM. Functions return 0 on success
 * and -1 with *err filled on failure.
 */
#ifndef CARVE_CRYPTO_H
#define CARVE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "carve/error.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;
typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;

#define SHA384_LEN 48
#define PCR_LEN SHA384_LEN

/* libcrypto is loaded on the first call into it (src/crypto/libcrypto_lazy.c);
 * this loads it now, for a process that is about to confine itself where
 * opening the library later would be refused. Ends the process (status
 * 127) if it cannot be loaded. */
void crypto_preload(void);

/* ---- SHA-384 ---------------------------------------------------------- */

struct sha384 {
	EVP_MD_CTX *ctx;
};

int sha384_init(struct sha384 *h);
void sha384_update(struct sha384 *h, const void *data, size_t len);
/* Finish into out; the context may be reused after sha384_reset. */
void sha384_final(struct sha384 *h, uint8_t out[SHA384_LEN]);
void sha384_reset(struct sha384 *h);
/* dst (initialised) takes src's state, so two digests can share a prefix. */
void sha384_copy(struct sha384 *dst, const struct sha384 *src);
void sha384_free(struct sha384 *h);
void sha384_oneshot(const void *data, size_t len, uint8_t out[SHA384_LEN]);

/* PCR arithmetic (aws-nitro-enclaves-image-format's EifHasher): extend is
 * PCR <- SHA384(PCR || data); a measurement of data is one extend of the
 * all-zero register with SHA384(data). */
void pcr_extend(uint8_t pcr[PCR_LEN], const void *data, size_t len);
void pcr_from_digest(const uint8_t digest[SHA384_LEN], uint8_t pcr[PCR_LEN]);

/* ---- keys and ECDSA --------------------------------------------------- */

/* COSE algorithm ids of the EC keys carve signs with. */
enum cose_alg {
	COSE_ALG_ES256 = -7,
	COSE_ALG_ES384 = -35,
	COSE_ALG_ES512 = -36,
};

/* E19 for a file it cannot open, E60 for one that is no PEM private key or
 * for an AWS KMS key ARN (arn:aws:kms:...), which only AWS can sign with. */
EVP_PKEY *key_load_private_pem(const char *path, struct carve_err *err);
EVP_PKEY *key_generate_p384(struct carve_err *err);
/* The COSE algorithm for an EC key (P-256/P-384/P-521), or 0 if unsupported. */
int key_cose_alg(EVP_PKEY *key);
/* Length of one coordinate (32, 48, 66) for a COSE algorithm, 0 if unknown. */
size_t cose_alg_coord_len(int alg);
/* Sign msg with ECDSA and the algorithm's hash; sig gets r||s, each coordinate
 * left-padded to the curve size. *sig_len is the capacity in, length out. */
int ecdsa_sign_raw(EVP_PKEY *key, int alg, const void *msg, size_t len, uint8_t *sig, size_t *sig_len,
		   struct carve_err *err);
/* 1 valid, 0 invalid signature, -1 error (err filled). */
int ecdsa_verify_raw(EVP_PKEY *key, int alg, const void *msg, size_t len, const uint8_t *sig, size_t sig_len,
		     struct carve_err *err);

/* ---- X.509 ------------------------------------------------------------ */

/* Reads the first certificate of a PEM file. pem and pem_len, when not NULL,
 * receive the file bytes exactly as read (malloc'ed; caller frees). */
X509 *cert_load_pem_file(const char *path, uint8_t **pem, size_t *pem_len, struct carve_err *err);
X509 *cert_from_pem(const uint8_t *pem, size_t len, struct carve_err *err);
X509 *cert_from_der(const uint8_t *der, size_t len, struct carve_err *err);
/* DER encoding, malloc'ed. */
int cert_to_der(X509 *cert, uint8_t **der, size_t *len, struct carve_err *err);
/* 0 when t is inside [notBefore, notAfter]; -1 with a message saying which
 * bound was crossed otherwise. */
int cert_check_validity(X509 *cert, time_t t, struct carve_err *err, int code);
/* Does the private key belong to the certificate? */
bool cert_matches_key(X509 *cert, EVP_PKEY *key);
/* notBefore / notAfter as "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, UTC). */
int cert_time_rfc3339(X509 *cert, bool not_after, char *out, size_t out_len);
int cert_time_epoch(X509 *cert, bool not_after, time_t *out);

#endif
