/* Private to the image part: sha256 digests as OCI writes them
 * ("sha256:" and 64 lowercase hex digits), computed while data streams by. */
#ifndef CARVE_IMAGE_DIGEST_H
#define CARVE_IMAGE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_PREFIX "sha256:"
#define DIGEST_LEN (7 + 64) /* without the NUL */

struct digester {
	void *ctx; /* EVP_MD_CTX */
	uint64_t bytes;
};

/* 0, or -1 when OpenSSL cannot give SHA-256. */
int digester_begin(struct digester *d);
void digester_update(struct digester *d, const void *data, size_t len);
/* Writes "sha256:<hex>" into out and releases the context. */
void digester_end(struct digester *d, char out[DIGEST_LEN + 1]);
/* Releases the context without a result (error paths); safe twice. */
void digester_drop(struct digester *d);

/* One-shot digest of a buffer; 0 or -1. */
int digest_of(const void *data, size_t len, char out[DIGEST_LEN + 1]);
/* "sha256:" and exactly 64 lowercase hex digits: the only algorithm carve
 * accepts, and a digest that is safe to use in a blob path. */
bool digest_is_sha256(const char *d);

#endif
