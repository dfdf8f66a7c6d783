/* A local PKI shaped like AWS's attestation PKI (AWS's
 * attestation_process.md): a root CA, an intermediate CA, and short-lived per-enclave leaf
 * certificates that sign attestation documents. The root and intermediate
 * live in carve's state directory; leaves live only in memory.
 *
 *   root          CN=carve.nitro-enclaves         CA, pathLen 1, 30 years
 *   intermediate  CN=intermediate.carve.nitro-enclaves  CA, pathLen 0, 1 year
 *   leaf          CN=<module id>                  digitalSignature, 3 hours
 *
 * All keys are EC P-384 and every certificate is signed with ECDSA-SHA384,
 * like AWS's. Functions return 0, or -1 with *err filled.
 */
#ifndef CARVE_PKI_H
#define CARVE_PKI_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "carve/crypto.h"
#include "carve/error.h"

#define PKI_ROOT_CN "carve.nitro-enclaves"
#define PKI_INTERMEDIATE_CN "intermediate.carve.nitro-enclaves"
#define PKI_ROOT_LIFETIME ((time_t)30 * 365 * 24 * 3600)
#define PKI_INTERMEDIATE_LIFETIME ((time_t)365 * 24 * 3600)
/* The AWS blog says leaf certificates expire about 3 hours after issuance. */
#define PKI_LEAF_LIFETIME ((time_t)3 * 3600)
/* An intermediate closer than this to its end is replaced, so a leaf issued
 * from it is never cut short by much. */
#define PKI_INTERMEDIATE_RENEW_MARGIN ((time_t)24 * 3600)

#define PKI_DEFAULT_STATE_DIR "/var/lib/carve"
#define PKI_SUBDIR "pki"

/* A certificate with its DER and, for CAs we own, the private key. */
struct pki_cert {
	EVP_PKEY *key; /* NULL when only the certificate is known */
	X509 *cert;
	uint8_t *der;
	size_t der_len;
	time_t not_after;
};

/* A root and the intermediate it signed. */
struct pki {
	struct pki_cert root;
	struct pki_cert intermediate;
};

/* ---- issuing (pki.c) ---- */

/* A fresh in-memory root and intermediate valid from `now` (tests, benches,
 * throw-away enclaves). */
int pki_create(struct pki *p, time_t now, struct carve_err *err);
void pki_free(struct pki *p);

/* A leaf for one enclave, signed by issuer, valid [now, now + 3 h] but never
 * past the issuer's own end. A new P-384 key is generated. */
int pki_issue_leaf(const struct pki_cert *issuer, const char *common_name, time_t now, struct pki_cert *leaf,
		   struct carve_err *err);
void pki_cert_free(struct pki_cert *c);
/* Fills der, der_len and not_after from cert. */
int pki_cert_fill(struct pki_cert *c, struct carve_err *err);

/* ---- the state directory (pki_store.c) ---- */

/* $CARVE_STATE_DIR, or /var/lib/carve when unset or empty. */
const char *pki_state_dir(void);

/* Loads the root and intermediate from <state_dir>/pki, creating whichever is
 * missing (and replacing an intermediate that is expired or about to be).
 * Creation happens under an exclusive lock on <state_dir>/pki/lock, keys are
 * written mode 0600 to a temporary file and renamed into place, so two
 * processes starting at once end up with the same CA and a crash never
 * leaves a half-written key. E19 when the directory cannot be used. */
int pki_open(struct pki *p, const char *state_dir, time_t now, struct carve_err *err);

/* The root certificate alone (no key needed, nothing created): for verifiers.
 * E19 when there is none yet. */
int pki_load_root(const char *state_dir, struct pki_cert *root, struct carve_err *err);
/* Path of the root certificate's PEM file, into out. */
int pki_root_path(const char *state_dir, char *out, size_t out_len, struct carve_err *err);

#endif
