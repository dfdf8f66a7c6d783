/* EC keys and ECDSA with raw r||s signatures, the encoding COSE uses
 * (RFC 8152 §8.1): OpenSSL speaks DER ECDSA-Sig-Value, so we convert. */
#include "carve/crypto.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const EVP_MD *alg_md(int alg)
{
	switch (alg) {
	case COSE_ALG_ES256: return EVP_sha256();
	case COSE_ALG_ES384: return EVP_sha384();
	case COSE_ALG_ES512: return EVP_sha512();
	}
	return NULL;
}

size_t cose_alg_coord_len(int alg)
{
	switch (alg) {
	case COSE_ALG_ES256: return 32;
	case COSE_ALG_ES384: return 48;
	case COSE_ALG_ES512: return 66;
	}
	return 0;
}

/* "arn:<partition>:kms:<region>:<account>:key/<id>" or an alias ARN: what
 * nitro-cli's --private-key takes to sign with AWS KMS. */
static bool is_kms_key_arn(const char *text)
{
	if (strncmp(text, "arn:", 4) != 0)
		return false;
	const char *service = strchr(text + 4, ':');
	return service && !strncmp(service, ":kms:", 5);
}

EVP_PKEY *key_load_private_pem(const char *path, struct carve_err *err)
{
	/* Not a missing file: a key carve cannot use. nitro-cli signs with it
	 * through AWS KMS (its SignKeyData), which needs AWS credentials and
	 * the KMS service; carve signs with local keys only. */
	if (is_kms_key_arn(path)) {
		carve_fail(err, E60_EIF_SIGNING,
			   "'%s' is an AWS KMS key ARN: signing with a KMS key needs AWS (KMS and its "
			   "credentials), which carve does not use; give a local PEM EC private key "
			   "(P-256, P-384 or P-521) instead",
			   path);
		return NULL;
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Open': %s", path,
			   strerror(errno));
		return NULL;
	}
	EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key)
		carve_fail(err, E60_EIF_SIGNING, "'%s' holds no PEM private key that carve can read", path);
	return key;
}

EVP_PKEY *key_generate_p384(struct carve_err *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-384");
	if (!key)
		carve_fail(err, E00_UNSPECIFIED, "could not generate an EC P-384 key");
	return key;
}

int key_cose_alg(EVP_PKEY *key)
{
	if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return 0;
	char group[64];
	size_t glen = 0;
	if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) != 1)
		return 0;
	if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))
		return COSE_ALG_ES256;
	if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))
		return COSE_ALG_ES384;
	if (!strcmp(group, "secp521r1") || !strcmp(group, "P-521"))
		return COSE_ALG_ES512;
	return 0;
}

int ecdsa_sign_raw(EVP_PKEY *key, int alg, const void *msg, size_t len, uint8_t *sig, size_t *sig_len,
		   struct carve_err *err)
{
	const EVP_MD *md = alg_md(alg);
	size_t coord = cose_alg_coord_len(alg);
	if (!md || key_cose_alg(key) != alg)
		return carve_fail(err, E60_EIF_SIGNING, "the key does not fit COSE algorithm %d", alg);
	if (*sig_len < 2 * coord)
		return carve_fail(err, E60_EIF_SIGNING, "signature buffer too small");

	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[160];
	size_t der_len = sizeof(der);
	int ok = ctx && EVP_DigestSignInit(ctx, NULL, md, NULL, key) == 1 &&
		EVP_DigestSign(ctx, der, &der_len, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return carve_fail(err, E60_EIF_SIGNING, "ECDSA signing failed");

	const uint8_t *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (!es)
		return carve_fail(err, E60_EIF_SIGNING, "OpenSSL returned a malformed signature");
	const BIGNUM *r, *s;
	ECDSA_SIG_get0(es, &r, &s);
	ok = BN_bn2binpad(r, sig, (int)coord) == (int)coord &&
		BN_bn2binpad(s, sig + coord, (int)coord) == (int)coord;
	ECDSA_SIG_free(es);
	if (!ok)
		return carve_fail(err, E60_EIF_SIGNING, "signature does not fit the curve size");
	*sig_len = 2 * coord;
	return 0;
}

int ecdsa_verify_raw(EVP_PKEY *key, int alg, const void *msg, size_t len, const uint8_t *sig, size_t sig_len,
		     struct carve_err *err)
{
	const EVP_MD *md = alg_md(alg);
	size_t coord = cose_alg_coord_len(alg);
	if (!md)
		return carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "unsupported COSE algorithm %d", alg);
	if (key_cose_alg(key) != alg || sig_len != 2 * coord)
		return 0;

	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)coord, NULL);
	BIGNUM *s = BN_bin2bn(sig + coord, (int)coord, NULL);
	if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
		ECDSA_SIG_free(es);
		BN_free(r);
		BN_free(s);
		return carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "out of memory");
	}
	uint8_t *der = NULL;
	int der_len = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	if (der_len <= 0)
		return carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "could not encode the signature");

	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;
	if (ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1)
		rc = EVP_DigestVerify(ctx, der, (size_t)der_len, msg, len);
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return rc == 1 ? 1 : 0;
}
