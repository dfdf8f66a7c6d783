/* Issuing X.509 certificates for the local attestation PKI (carve/pki.h).
 *
 * The profile follows what attestation verifiers check (AWS's attestation_process.md step
 * 3): CA certificates carry a critical basicConstraints CA:TRUE with a path
 * length and keyUsage keyCertSign|cRLSign; the leaf carries CA:FALSE and
 * keyUsage digitalSignature. Every certificate has key identifiers so chain
 * building never has to guess by name alone.
 */
#include "carve/pki.h"
#include "crypto/pki_internal.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pki_cert_free(struct pki_cert *c)
{
	EVP_PKEY_free(c->key);
	X509_free(c->cert);
	free(c->der);
	memset(c, 0, sizeof(*c));
}

void pki_free(struct pki *p)
{
	pki_cert_free(&p->root);
	pki_cert_free(&p->intermediate);
}

int pki_cert_fill(struct pki_cert *c, struct carve_err *err)
{
	free(c->der);
	c->der = NULL;
	if (cert_to_der(c->cert, &c->der, &c->der_len, err) < 0)
		return -1;
	if (cert_time_epoch(c->cert, true, &c->not_after) < 0)
		return carve_fail(err, E00_UNSPECIFIED, "the certificate's notAfter cannot be read");
	return 0;
}

static X509_NAME *make_name(const char *common_name)
{
	X509_NAME *n = X509_NAME_new();
	if (!n)
		return NULL;
	/* Same attribute set as AWS's names (CN, O, OU), with carve as the
	 * organisation so nobody mistakes these for AWS certificates. */
	if (X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)common_name, -1, -1,
				       0) != 1 ||
	    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, (const unsigned char *)"carve", -1, -1, 0) !=
		    1 ||
	    X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)"nitro-enclaves", -1,
				       -1, 0) != 1) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	if (!ex)
		return -1;
	int ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok == 1 ? 0 : -1;
}

/* A positive random 127-bit serial: RFC 5280 allows up to 20 octets and
 * wants serials unique per issuer; randomness gives that without state. */
static int set_random_serial(X509 *cert)
{
	BIGNUM *bn = BN_new();
	int ok = bn && BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
		BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

/* Issues a certificate for subject_key. issuer NULL means self-signed.
 * ca_pathlen < 0 makes an end-entity certificate. */
static X509 *issue(const char *common_name, EVP_PKEY *subject_key, const struct pki_cert *issuer, time_t now,
		   time_t lifetime, int ca_pathlen)
{
	X509 *cert = X509_new();
	X509_NAME *name = make_name(common_name);
	if (!cert || !name)
		goto fail;
	time_t not_after = now + lifetime;
	if (issuer && issuer->not_after && not_after > issuer->not_after)
		not_after = issuer->not_after; /* a child never outlives its issuer */
	if (X509_set_version(cert, 2) != 1 || set_random_serial(cert) < 0 ||
	    X509_set_subject_name(cert, name) != 1 ||
	    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->cert) : name) != 1 ||
	    !ASN1_TIME_set(X509_getm_notBefore(cert), now) ||
	    !ASN1_TIME_set(X509_getm_notAfter(cert), not_after) || X509_set_pubkey(cert, subject_key) != 1)
		goto fail;

	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer ? issuer->cert : cert, cert, NULL, NULL, 0);
	char bc[64];
	if (ca_pathlen >= 0)
		snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", ca_pathlen);
	else
		snprintf(bc, sizeof(bc), "critical,CA:FALSE");
	const char *ku = ca_pathlen >= 0 ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature";
	/* The subject key id must exist before the authority key id of a
	 * self-signed certificate can refer to it. */
	if (add_ext(cert, &ctx, NID_basic_constraints, bc) < 0 ||
	    add_ext(cert, &ctx, NID_key_usage, ku) < 0 ||
	    add_ext(cert, &ctx, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always") < 0)
		goto fail;
	if (X509_sign(cert, issuer ? issuer->key : subject_key, EVP_sha384()) <= 0)
		goto fail;
	X509_NAME_free(name);
	return cert;
fail:
	X509_NAME_free(name);
	X509_free(cert);
	return NULL;
}

/* New key and certificate into *out. */
static int issue_into(struct pki_cert *out, const char *common_name, const struct pki_cert *issuer,
		      time_t now, time_t lifetime, int ca_pathlen, struct carve_err *err)
{
	memset(out, 0, sizeof(*out));
	out->key = key_generate_p384(err);
	if (!out->key)
		return -1;
	out->cert = issue(common_name, out->key, issuer, now, lifetime, ca_pathlen);
	if (!out->cert) {
		pki_cert_free(out);
		return carve_fail(err, E00_UNSPECIFIED, "could not issue the certificate for '%s'",
				  common_name);
	}
	if (pki_cert_fill(out, err) < 0) {
		pki_cert_free(out);
		return -1;
	}
	return 0;
}

int pki_issue_root(struct pki_cert *root, time_t now, struct carve_err *err)
{
	/* pathLen 1: the root may sign one level of CA below it. */
	return issue_into(root, PKI_ROOT_CN, NULL, now, PKI_ROOT_LIFETIME, 1, err);
}

int pki_issue_intermediate(const struct pki_cert *root, struct pki_cert *inter, time_t now,
			   struct carve_err *err)
{
	return issue_into(inter, PKI_INTERMEDIATE_CN, root, now, PKI_INTERMEDIATE_LIFETIME, 0, err);
}

int pki_create(struct pki *p, time_t now, struct carve_err *err)
{
	memset(p, 0, sizeof(*p));
	if (pki_issue_root(&p->root, now, err) < 0 ||
	    pki_issue_intermediate(&p->root, &p->intermediate, now, err) < 0) {
		pki_free(p);
		return -1;
	}
	return 0;
}

int pki_issue_leaf(const struct pki_cert *issuer, const char *common_name, time_t now, struct pki_cert *leaf,
		   struct carve_err *err)
{
	if (!issuer->key)
		return carve_fail(err, E00_UNSPECIFIED, "the issuing CA's private key is not loaded");
	if (!common_name || !*common_name)
		return carve_fail(err, E03_INVALID_ARGUMENT, "a leaf certificate needs a name");
	return issue_into(leaf, common_name, issuer, now, PKI_LEAF_LIFETIME, -1, err);
}
