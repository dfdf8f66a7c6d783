/* carve build-enclave: nitro-cli's build-enclave for images made from a
 * kernel, a command line and ramdisks (eif_build's inputs). */
#include <json-c/json.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"

int cmd_build_enclave(int argc, char **argv, struct carve_err *err)
{
	struct eif_build_opts o = {.build_time = -1};
	struct cli_list ramdisks = {0};
	bool help;
	const struct cli_arg args[] = {
		{"kernel", ARG_STRING, true, &o.kernel_path, "kernel image (bzImage or ELF)"},
		{"cmdline", ARG_STRING, true, &o.cmdline, "kernel command line"},
		{"ramdisk", ARG_STRING_LIST, true, &ramdisks,
		 "ramdisk (cpio); repeat: the first is the bootstrap ramdisk (PCR1), the rest the application (PCR2)"},
		{"output-file", ARG_STRING, true, &o.output_path, "where to write the EIF"},
		{"name", ARG_STRING, false, &o.image_name, "image name (default: output file name)"},
		{"version", ARG_STRING, false, &o.image_version, "image version (default: 1.0)"},
		{"metadata", ARG_STRING, false, &o.metadata_path, "JSON file (at most 4096 bytes) kept in the image"},
		{"signing-certificate", ARG_STRING, false, &o.cert_path, "PEM certificate to sign with"},
		{"private-key", ARG_STRING, false, &o.key_path, "PEM EC private key of the certificate"},
		{0},
	};
	int rc = cli_parse("build-enclave", args, argc, argv, &help, err);
	if (rc == 0 && help) {
		cli_print_help(stdout, "build-enclave", "build an Enclave Image File (EIF)", args);
		cli_list_free(&ramdisks);
		return 0;
	}
	if (rc == 0) {
		o.ramdisk_paths = ramdisks.items;
		o.nramdisks = ramdisks.count;
		o.show_progress = true;
		struct eif_measurements m;
		fprintf(stderr, "Start building the Enclave Image...\n");
		rc = eif_build(&o, &m, err);
		if (rc == 0) {
			json_object *out = json_object_new_object();
			json_object_object_add(out, "Measurements", cli_measurements_json(&m));
			fprintf(stderr, "Enclave Image successfully created.\n");
			cli_print_json(out);
			json_object_put(out);
		}
	}
	cli_list_free(&ramdisks);
	return rc;
}
