/* Shared between pki.c (issuing) and pki_store.c (the state directory);
 * private to the crypto part. */
#ifndef CARVE_CRYPTO_PKI_INTERNAL_H
#define CARVE_CRYPTO_PKI_INTERNAL_H

#include "carve/pki.h"

/* A new self-signed root (pathLen 1), 30 years from now. */
int pki_issue_root(struct pki_cert *root, time_t now, struct carve_err *err);
/* A new intermediate (pathLen 0) signed by root, one year from now. */
int pki_issue_intermediate(const struct pki_cert *root, struct pki_cert *inter, time_t now,
			   struct carve_err *err);

#endif
