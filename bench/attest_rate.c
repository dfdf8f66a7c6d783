/* Attestation documents per second from one NSM engine on one thread.
 *
 *   attest_rate [SECONDS]      default 3
 *
 * Each iteration is a full Attestation request through nsm_handle_request
 * (decode, payload assembly, SHA-384, ECDSA P-384, response encoding) with
 * a 32-byte nonce and 64 bytes of user data, as an enclave would send.
 * Prints one line: "attest_rate: N documents in S s: R docs/s". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carve/cbor.h"
#include "carve/nsm.h"
#include "carve/util.h"

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	if (seconds <= 0)
		seconds = 3.0;
	struct carve_err err = {0};
	struct pki pki;
	if (pki_create(&pki, time(NULL), &err) < 0) {
		fprintf(stderr, "attest_rate: %s\n", err.msg);
		return 1;
	}
	uint8_t pcr[PCR_LEN];
	memset(pcr, 0x5c, sizeof(pcr));
	struct nsm_config cfg = {
		.module_id = "i-bench-enc0", .pcr0 = pcr, .pcr1 = pcr, .pcr2 = pcr, .pki = &pki};
	struct nsm *n;
	if (nsm_create(&n, &cfg, &err) < 0) {
		fprintf(stderr, "attest_rate: %s\n", err.msg);
		return 1;
	}
	uint8_t nonce[32], user[64];
	memset(nonce, 1, sizeof(nonce));
	memset(user, 2, sizeof(user));
	struct cbor_writer w;
	cw_init(&w, 0);
	cw_map(&w, 1);
	cw_text(&w, "Attestation");
	cw_map(&w, 3);
	cw_text(&w, "user_data");
	cw_bytes(&w, user, sizeof(user));
	cw_text(&w, "nonce");
	cw_bytes(&w, nonce, sizeof(nonce));
	cw_text(&w, "public_key");
	cw_null(&w);
	size_t req_len;
	uint8_t *req = cw_take(&w, &req_len);
	static uint8_t resp[NSM_RESPONSE_MAX];
	size_t resp_len;
	/* Warm-up: the first request issues the leaf certificate. */
	if (!req || nsm_handle_request(n, req, req_len, resp, sizeof(resp), &resp_len) != NSM_SUCCESS) {
		fprintf(stderr, "attest_rate: the engine refused the request\n");
		return 1;
	}
	uint64_t start = monotonic_ns(), end = start + (uint64_t)(seconds * 1e9), now;
	unsigned long count = 0;
	do {
		if (nsm_handle_request(n, req, req_len, resp, sizeof(resp), &resp_len) != NSM_SUCCESS) {
			fprintf(stderr, "attest_rate: a request failed\n");
			return 1;
		}
		count++;
		now = monotonic_ns();
	} while (now < end);
	double secs = (double)(now - start) / 1e9;
	printf("attest_rate: %lu documents in %.2f s: %.1f docs/s (%zu bytes each)\n", count, secs,
	       (double)count / secs, resp_len);
	free(req);
	nsm_destroy(n);
	pki_free(&pki);
	return 0;
}
