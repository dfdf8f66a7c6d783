/* The full check of an opened EIF in one streaming pass: CRC, PCR0/1/2,
 * metadata, signature and PCR8. Memory use is two 1 MiB buffers plus the
 * small sections, whatever the image size. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "eif/format.h"
#include "eif/signature.h"

int eif_verify(struct eif_image *img, time_t now, bool show_progress, struct eif_report *rep,
	       struct carve_err *err)
{
	memset(rep, 0, sizeof(*rep));
	struct eif_pump pump;
	if (eif_pump_init(&pump, "Checking image", img->file_size, show_progress) < 0)
		return carve_fail(err, E57_HASHER, "could not set up SHA-384");
	uint8_t *signature = NULL;
	size_t signature_len = 0;
	int rc = -1;

	/* The pump's CRC covers the sections only; the header's is joined at
	 * the end, so signing can rebuild the header around the same sections. */
	bool before_signature = true;
	for (int i = 0; i < img->nsections; i++) {
		const struct eif_section *s = &img->sections[i];
		if (i == img->signature) {
			rep->crc_unsigned_sections = eif_hasher_crc(&pump.hasher);
			before_signature = false;
		}
		uint8_t sh[EIF_SECTION_HEADER_SIZE];
		eif_section_header_encode(s->type, s->size, sh);
		eif_pump_bytes(&pump, sh, sizeof(sh), EIF_ROLE_CRC_ONLY);
		if (i == img->metadata || i == img->signature) {
			uint8_t *data;
			size_t len;
			if (eif_read_section(img, i,
					     i == img->metadata ? EIF_METADATA_MAX : EIF_SIGNATURE_MAX, &data,
					     &len, err) < 0)
				goto out;
			eif_pump_bytes(&pump, data, len, EIF_ROLE_CRC_ONLY);
			if (i == img->metadata) {
				rep->metadata = (char *)data;
				rep->metadata_len = len;
			} else {
				signature = data;
				signature_len = len;
			}
			continue;
		}
		int io = eif_pump_fd(&pump, img->fd, eif_section_payload(s), s->size,
				     eif_section_role(img, i), -1, 0);
		if (io < 0) {
			carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Read': %s",
				   img->path, strerror(-io));
			goto out;
		}
	}
	uint32_t crc_sections;
	eif_pump_finish(&pump, &crc_sections, &rep->m);
	if (before_signature)
		rep->crc_unsigned_sections = crc_sections;
	rep->crc_computed = eif_crc_join(img->header, crc_sections, img->file_size - EIF_HEADER_SIZE);
	rep->crc_ok = rep->crc_computed == img->crc_stored;

	if (signature) {
		struct eif_signature_result sig;
		if (eif_signature_check(signature, signature_len, rep->m.pcr0, now, &sig, err) < 0)
			goto out;
		rep->is_signed = true;
		rep->signature_ok = sig.signature_ok;
		rep->cert_valid_now = sig.cert_valid_now;
		memcpy(rep->signature_problem, sig.problem, sizeof(rep->signature_problem));
		rep->cert = sig.cert;
		rep->cert_pem = sig.cert_pem;
		rep->cert_pem_len = sig.cert_pem_len;
		if (eif_pcr8_of_cert(rep->cert, rep->m.pcr8, err) < 0)
			goto out;
		rep->m.has_pcr8 = true;
	}
	rc = 0;
out:
	free(signature);
	eif_pump_free(&pump);
	if (rc < 0)
		eif_report_free(rep);
	return rc;
}

void eif_report_free(struct eif_report *rep)
{
	struct eif_signature_result sig = {.cert = rep->cert, .cert_pem = rep->cert_pem};
	eif_signature_result_free(&sig);
	free(rep->metadata);
	rep->cert = NULL;
	rep->cert_pem = NULL;
	rep->metadata = NULL;
}
