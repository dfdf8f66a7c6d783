/* Private to the eif part: the signature section's codec and check. */
#ifndef CARVE_EIF_SIGNATURE_H
#define CARVE_EIF_SIGNATURE_H

#include "carve/eif.h"

struct eif_signature_result {
	X509 *cert;
	uint8_t *cert_pem;
	size_t cert_pem_len;
	bool signature_ok; /* COSE verifies and its payload is this PCR0 */
	bool cert_valid_now;
	char problem[256]; /* why not, when either is false */
};

/* -1 (E35) when the section is malformed; 0 otherwise, with res saying
 * whether the signature holds. */
int eif_signature_check(const uint8_t *data, size_t len, const uint8_t pcr0[PCR_LEN], time_t now,
			struct eif_signature_result *res, struct carve_err *err);
void eif_signature_result_free(struct eif_signature_result *res);

#endif
