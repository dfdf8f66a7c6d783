/* SHA-384 through OpenSSL's EVP interface, and the PCR formulas built on it. */
#include "carve/crypto.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int sha384_init(struct sha384 *h)
{
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha384(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		h->ctx = NULL;
		return -1;
	}
	return 0;
}

void sha384_update(struct sha384 *h, const void *data, size_t len)
{
	/* EVP_DigestUpdate only fails on a context that was never initialised,
	 * which is a programming error, not a runtime condition. */
	if (len)
		EVP_DigestUpdate(h->ctx, data, len);
}

void sha384_final(struct sha384 *h, uint8_t out[SHA384_LEN])
{
	unsigned int n = SHA384_LEN;
	EVP_DigestFinal_ex(h->ctx, out, &n);
}

void sha384_reset(struct sha384 *h) { EVP_DigestInit_ex(h->ctx, EVP_sha384(), NULL); }

void sha384_copy(struct sha384 *dst, const struct sha384 *src) { EVP_MD_CTX_copy_ex(dst->ctx, src->ctx); }

void sha384_free(struct sha384 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void sha384_oneshot(const void *data, size_t len, uint8_t out[SHA384_LEN])
{
	unsigned int n = SHA384_LEN;
	EVP_Digest(data, len, out, &n, EVP_sha384(), NULL);
}

void pcr_extend(uint8_t pcr[PCR_LEN], const void *data, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = PCR_LEN;
	EVP_DigestInit_ex(ctx, EVP_sha384(), NULL);
	EVP_DigestUpdate(ctx, pcr, PCR_LEN);
	if (len)
		EVP_DigestUpdate(ctx, data, len);
	EVP_DigestFinal_ex(ctx, pcr, &n);
	EVP_MD_CTX_free(ctx);
}

void pcr_from_digest(const uint8_t digest[SHA384_LEN], uint8_t pcr[PCR_LEN])
{
	memset(pcr, 0, PCR_LEN);
	pcr_extend(pcr, digest, SHA384_LEN);
}
