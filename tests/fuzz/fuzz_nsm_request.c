/* libFuzzer target for the NSM request path: decoder, dispatcher and
 * response writer. Each input is sent twice to a fresh engine (the second
 * time sees the state the first left, e.g. a locked PCR). Whatever the
 * input, the engine must answer with one well-formed CBOR item that fits
 * the buffer, and an error code must come with {"Error": name}. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carve/cbor.h"
#include "carve/nsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One CA for the whole run: issuing it per input would drown the fuzzer. */
static struct pki *shared_pki(void)
{
	static struct pki pki;
	static bool ready;
	if (!ready) {
		struct carve_err err = {0};
		if (pki_create(&pki, time(NULL), &err) < 0)
			abort();
		ready = true;
	}
	return &pki;
}

static void check_response(int rc, const uint8_t *resp, size_t len, size_t cap)
{
	if (rc < 0 || len == 0 || len > cap)
		abort();
	cbor_item_t *item = cb_decode_exact(resp, len);
	if (!item)
		abort();
	if (rc != NSM_SUCCESS) {
		bool dup;
		if (!cb_text_is(cb_map_get(item, "Error", &dup), nsm_error_name(rc)))
			abort();
	}
	cbor_decref(&item);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t pcr[PCR_LEN] = {1};
	struct nsm_config cfg = {
		.module_id = "i-fuzz-enc0",
		.pcr0 = pcr,
		.parent_id = "i-fuzz",
		.pki = shared_pki(),
	};
	struct nsm *n;
	struct carve_err err = {0};
	if (nsm_create(&n, &cfg, &err) < 0)
		abort();
	static uint8_t resp[NSM_RESPONSE_MAX];
	for (int i = 0; i < 2; i++) {
		size_t len = 0;
		int rc = nsm_handle_request(n, data, size, resp, sizeof(resp), &len);
		check_response(rc, resp, len, sizeof(resp));
	}
	nsm_destroy(n);
	return 0;
}
