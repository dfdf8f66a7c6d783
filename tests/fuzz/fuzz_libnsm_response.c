/* libnsm's response decoding (guest/lib): any bytes the device returns must
 * give an error code or a decoded result, never a read outside the response
 * or a write past the caller's buffers. */
#include <stdlib.h>
#include <string.h>

#include "../../guest/lib/nsm.c"
#include "../../guest/lib/nsm_cbor.c"

static const uint8_t *fuzz_data;
static size_t fuzz_size;

static int fuzz_transport(int32_t fd, const uint8_t *req, uint32_t req_len, uint8_t *resp, uint32_t *resp_len)
{
	(void)fd;
	(void)req;
	(void)req_len;
	size_t n = fuzz_size < *resp_len ? fuzz_size : *resp_len;
	memcpy(resp, fuzz_data, n);
	*resp_len = (uint32_t)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_data = data;
	fuzz_size = size;
	nsm_lib_set_transport(fuzz_transport);
	uint8_t out[64];
	uint32_t len = sizeof(out);
	bool lock;
	nsm_extend_pcr(3, 16, (const uint8_t *)"x", 1, out, &len);
	len = sizeof(out);
	nsm_describe_pcr(3, 1, &lock, out, &len);
	nsm_lock_pcr(3, 1);
	nsm_lock_pcrs(3, 16);
	NsmDescription d;
	nsm_get_description(3, &d);
	len = sizeof(out);
	nsm_get_attestation_doc(3, NULL, 0, (const uint8_t *)"n", 1, NULL, 0, out, &len);
	uintptr_t rl = sizeof(out);
	nsm_get_random(3, out, &rl);
	return 0;
}
