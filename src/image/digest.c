/* sha256 digests through OpenSSL's EVP interface. */
#include <openssl/evp.h>
#include <string.h>

#include "carve/util.h"
#include "image/digest.h"

int digester_begin(struct digester *d)
{
	d->bytes = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		d->ctx = NULL;
		return -1;
	}
	d->ctx = c;
	return 0;
}

void digester_update(struct digester *d, const void *data, size_t len)
{
	if (d->ctx && len)
		EVP_DigestUpdate(d->ctx, data, len);
	d->bytes += len;
}

void digester_end(struct digester *d, char out[DIGEST_LEN + 1])
{
	uint8_t md[32];
	unsigned n = 0;
	memcpy(out, DIGEST_PREFIX, 7);
	if (d->ctx && EVP_DigestFinal_ex(d->ctx, md, &n) == 1 && n == 32)
		hex_encode(md, 32, out + 7);
	else
		memset(out + 7, '?', 64), out[DIGEST_LEN] = '\0';
	digester_drop(d);
}

void digester_drop(struct digester *d)
{
	EVP_MD_CTX_free(d->ctx);
	d->ctx = NULL;
}

int digest_of(const void *data, size_t len, char out[DIGEST_LEN + 1])
{
	struct digester d;
	if (digester_begin(&d) < 0)
		return -1;
	digester_update(&d, data, len);
	digester_end(&d, out);
	return 0;
}

bool digest_is_sha256(const char *d)
{
	if (!d || strncmp(d, DIGEST_PREFIX, 7) != 0 || strlen(d) != DIGEST_LEN)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}
