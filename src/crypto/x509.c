/* X.509 certificates: loading, DER, validity windows, key matching. */
#include "carve/crypto.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "carve/util.h"

/* A PEM certificate file is small; anything larger is not one. */
#define CERT_PEM_MAX (64 * 1024)

X509 *cert_from_pem(const uint8_t *pem, size_t len, struct carve_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!cert)
		carve_fail(err, E03_INVALID_ARGUMENT, "no PEM X.509 certificate found");
	return cert;
}

X509 *cert_from_der(const uint8_t *der, size_t len, struct carve_err *err)
{
	const uint8_t *p = der;
	X509 *cert = d2i_X509(NULL, &p, (long)len);
	if (!cert || p != der + len) {
		X509_free(cert);
		carve_fail(err, E03_INVALID_ARGUMENT, "not a DER X.509 certificate");
		return NULL;
	}
	return cert;
}

X509 *cert_load_pem_file(const char *path, uint8_t **pem, size_t *pem_len, struct carve_err *err)
{
	uint8_t *data;
	size_t len;
	if (file_read_all(path, CERT_PEM_MAX, &data, &len, E03_INVALID_ARGUMENT, err) < 0)
		return NULL;
	struct carve_err inner = {0};
	X509 *cert = cert_from_pem(data, len, &inner);
	if (!cert) {
		free(data);
		carve_fail(err, E03_INVALID_ARGUMENT, "'%s' holds no PEM X.509 certificate", path);
		return NULL;
	}
	if (pem) {
		*pem = data;
		*pem_len = len;
	} else {
		free(data);
	}
	return cert;
}

int cert_to_der(X509 *cert, uint8_t **der, size_t *len, struct carve_err *err)
{
	uint8_t *buf = NULL;
	int n = i2d_X509(cert, &buf);
	if (n <= 0)
		return carve_fail(err, E03_INVALID_ARGUMENT, "could not DER-encode the certificate");
	*der = malloc((size_t)n);
	if (!*der) {
		OPENSSL_free(buf);
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	}
	memcpy(*der, buf, (size_t)n);
	OPENSSL_free(buf);
	*len = (size_t)n;
	return 0;
}

int cert_time_epoch(X509 *cert, bool not_after, time_t *out)
{
	const ASN1_TIME *t = not_after ? X509_get0_notAfter(cert) : X509_get0_notBefore(cert);
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

int cert_time_rfc3339(X509 *cert, bool not_after, char *out, size_t out_len)
{
	time_t t;
	struct tm tm;
	if (cert_time_epoch(cert, not_after, &t) < 0 || !gmtime_r(&t, &tm))
		return -1;
	return strftime(out, out_len, "%Y-%m-%dT%H:%M:%SZ", &tm) ? 0 : -1;
}

int cert_check_validity(X509 *cert, time_t t, struct carve_err *err, int code)
{
	time_t nb, na;
	char buf[32];
	if (cert_time_epoch(cert, false, &nb) < 0 || cert_time_epoch(cert, true, &na) < 0)
		return carve_fail(err, code, "the certificate's validity dates cannot be read");
	if (t < nb) {
		cert_time_rfc3339(cert, false, buf, sizeof(buf));
		return carve_fail(err, code, "the certificate is not valid yet (notBefore %s)", buf);
	}
	if (t > na) {
		cert_time_rfc3339(cert, true, buf, sizeof(buf));
		return carve_fail(err, code, "the certificate has expired (notAfter %s)", buf);
	}
	return 0;
}

bool cert_matches_key(X509 *cert, EVP_PKEY *key)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	return pub && EVP_PKEY_eq(pub, key) == 1;
}
