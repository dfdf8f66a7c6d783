/* carve describe-eif --eif-path P: nitro-cli's JSON for an image, after a
 * full check. A CRC mismatch or a signature that does not hold still prints
 * the JSON (CheckCRC / SignatureCheck false, as nitro-cli does) and then
 * fails with E35 / E59, so scripts cannot mistake a damaged image for a good
 * one. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carve/util.h"
#include "cli/cli.h"
#include "eif/cert_describe.h"
#include "eif/metadata.h"

int cmd_describe_eif(int argc, char **argv, struct carve_err *err)
{
	const char *path = NULL;
	const struct cli_arg args[] = {
		{"eif-path", ARG_STRING, true, &path, "the image to describe"},
		{0},
	};
	int parsed = cli_parse("describe-eif", args, argc, argv, err);
	if (parsed != CLI_PARSED)
		return parsed < 0 ? -1 : 0;
	struct eif_image img;
	struct eif_report rep;
	if (eif_open(&img, path, err) < 0) {
		/* nitro-cli answers any failure to open the image with
		 * EifParsingError, "Failed to initialize EIF reader" (v1.5.0
		 * src/lib.rs:224-229); scripts test for its code. */
		err->code = E35_EIF_PARSING;
		return carve_err_context(err, "Failed to initialize EIF reader: ");
	}
	if (eif_verify(&img, time(NULL), true, &rep, err) < 0) {
		eif_close(&img);
		return -1;
	}

	json_object *out = json_object_new_object();
	json_object_object_add(out, "EifVersion", json_object_new_int(img.version));
	json_object_object_add(out, "Measurements", cli_measurements_json(&rep.m));
	json_object_object_add(out, "IsSigned", json_object_new_boolean(rep.is_signed));
	if (rep.is_signed)
		json_object_object_add(out, "SigningCertificate", eif_cert_describe(rep.cert));
	json_object_object_add(out, "CheckCRC", json_object_new_boolean(rep.crc_ok));
	if (rep.is_signed)
		json_object_object_add(out, "SignatureCheck", json_object_new_boolean(rep.signature_ok));
	/* nitro-cli reads the metadata before it prints anything: a section it
	 * cannot read fails the command with nothing on stdout. */
	if (rep.metadata && eif_metadata_describe(rep.metadata, rep.metadata_len, out, err) < 0) {
		json_object_put(out);
		eif_report_free(&rep);
		eif_close(&img);
		return -1;
	}
	cli_print_json(out);
	json_object_put(out);

	int rc = 0;
	if (img.flags & EIF_FLAG_ARCH_ARM64)
		cli_warn("'%s' is an aarch64 image; carve runs x86-64 enclaves only", path);
	if (!rep.crc_ok)
		rc = carve_fail(err, E35_EIF_PARSING,
				"'%s' fails its CRC check: the header says %08x, "
				"the contents give %08x; the image is damaged",
				path, img.crc_stored, rep.crc_computed);
	else if (rep.is_signed && !rep.signature_ok)
		rc = carve_fail(err, E59_EIF_SIGNATURE_CHECKER, "'%s': %s", path, rep.signature_problem);
	else if (rep.is_signed && !rep.cert_valid_now)
		cli_warn("'%s': %s; run-enclave will refuse this image until it is signed again", path,
			 rep.signature_problem);
	eif_report_free(&rep);
	eif_close(&img);
	return rc;
}
