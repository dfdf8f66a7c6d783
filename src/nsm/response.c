/* Encoding NSM responses (aws-nitro-enclaves-nsm-api): serde_cbor's externally tagged
 * form, struct fields as text-keyed maps in declaration order, byte fields
 * as byte strings. */
#include <string.h>

#include "nsm/nsm_internal.h"

/* Written by hand into a fixed buffer so that an error can always be
 * answered, even when allocation is what failed: map(1), text(5) "Error",
 * text(n) name, with every name shorter than 24 bytes. */
size_t nsm_resp_error(int code, uint8_t out[NSM_RESPONSE_MIN])
{
	const char *name = nsm_error_name(code);
	if (!name || code == NSM_SUCCESS)
		name = "InternalError";
	size_t n = strlen(name);
	out[0] = 0xa1;
	out[1] = 0x65;
	memcpy(out + 2, "Error", 5);
	out[7] = (uint8_t)(0x60 + n);
	memcpy(out + 8, name, n);
	return 8 + n;
}

void nsm_resp_describe_pcr(struct cbor_writer *w, bool lock, const uint8_t pcr[PCR_LEN])
{
	cw_map(w, 1);
	cw_text(w, "DescribePCR");
	cw_map(w, 2);
	cw_text(w, "lock");
	cw_bool(w, lock);
	cw_text(w, "data");
	cw_bytes(w, pcr, PCR_LEN);
}

void nsm_resp_extend_pcr(struct cbor_writer *w, const uint8_t pcr[PCR_LEN])
{
	cw_map(w, 1);
	cw_text(w, "ExtendPCR");
	cw_map(w, 1);
	cw_text(w, "data");
	cw_bytes(w, pcr, PCR_LEN);
}

void nsm_resp_text(struct cbor_writer *w, const char *variant) { cw_text(w, variant); }

void nsm_resp_describe_nsm(struct cbor_writer *w, const char *module_id, const struct nsm_pcr_bank *b)
{
	size_t nlocked = 0;
	for (unsigned i = 0; i < NSM_MAX_PCRS; i++)
		nlocked += pcr_bank_is_locked(b, i);
	cw_map(w, 1);
	cw_text(w, "DescribeNSM");
	cw_map(w, 7);
	cw_text(w, "version_major");
	cw_uint(w, 1);
	cw_text(w, "version_minor");
	cw_uint(w, 0);
	cw_text(w, "version_patch");
	cw_uint(w, 0);
	cw_text(w, "module_id");
	cw_text(w, module_id);
	cw_text(w, "max_pcrs");
	cw_uint(w, NSM_MAX_PCRS);
	cw_text(w, "locked_pcrs"); /* a BTreeSet: ascending */
	cw_array(w, nlocked);
	for (unsigned i = 0; i < NSM_MAX_PCRS; i++)
		if (pcr_bank_is_locked(b, i))
			cw_uint(w, i);
	cw_text(w, "digest");
	cw_text(w, "SHA384");
}

void nsm_resp_attestation(struct cbor_writer *w, const uint8_t *doc, size_t len)
{
	cw_map(w, 1);
	cw_text(w, "Attestation");
	cw_map(w, 1);
	cw_text(w, "document");
	cw_bytes(w, doc, len);
}

void nsm_resp_random(struct cbor_writer *w, const uint8_t *random, size_t len)
{
	cw_map(w, 1);
	cw_text(w, "GetRandom");
	cw_map(w, 1);
	cw_text(w, "random");
	cw_bytes(w, random, len);
}
