/* carve build-enclave, in two forms:
 *   from parts:  --kernel K --cmdline C --ramdisk R [--ramdisk R]...
 *   from a root filesystem: --rootfs DIR|TARBALL --cmd "prog args" [--env K=V]...
 *     [--kernel K] [--cmdline C]: the application ramdisk is laid out as
 *     nitro-cli does (cmd, env, rootfs/), the kernel defaults to the carve
 *     enclave kernel, and a bootstrap ramdisk comes first unless --ramdisk
 *     gives the bootstrap ramdisks. */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carve/ramdisk.h"
#include "carve/util.h"
#include "cli/cli.h"

#define CARVE_KERNEL_BLOB "carve-kernel.elf"
#define CARVE_KERNEL_CMDLINE "console=ttyS0"

struct temp_file {
	char path[PATH_MAX];
	bool made;
};

static int temp_file_make(struct temp_file *t, const char *what, struct carve_err *err)
{
	const char *dir = getenv("TMPDIR");
	snprintf(t->path, sizeof(t->path), "%s/carve-%s.XXXXXX", dir && *dir ? dir : "/tmp", what);
	int fd = mkstemp(t->path);
	if (fd < 0)
		return carve_fail(err, E19_FILE_OPERATION, "cannot create a temporary %s in %s",
				  what, dir && *dir ? dir : "/tmp");
	close(fd);
	t->made = true;
	return 0;
}

static void temp_file_remove(struct temp_file *t)
{
	if (t->made)
		unlink(t->path);
	t->made = false;
}

/* Makes the ramdisks of the --rootfs form; appends them to `ramdisks`. */
static int make_rootfs_ramdisks(const char *rootfs, const char *cmd, struct cli_list *env,
				struct cli_list *ramdisks, struct temp_file tmp[2], struct carve_err *err)
{
	char **argv = NULL;
	int argc = shell_split(cmd, &argv, err);
	if (argc < 0)
		return -1;
	int rc = -1;
	if (argc == 0) {
		carve_fail(err, E03_INVALID_ARGUMENT, "--cmd is empty");
		goto out;
	}
	struct ramdisk_app app = {
		.rootfs = rootfs, .argv = (const char *const *)argv, .argc = argc,
		.env = env->items, .envc = env->count,
	};
	/* The application ramdisk first: it checks the user's input. */
	if (temp_file_make(&tmp[1], "app", err) < 0 || ramdisk_write_app(&app, tmp[1].path, err) < 0)
		goto out;
	bool own_bootstrap = ramdisks->count == 0;
	if (own_bootstrap && (temp_file_make(&tmp[0], "bootstrap", err) < 0 ||
			      ramdisk_write_bootstrap(tmp[0].path, err) < 0))
		goto out;
	const char **items = realloc(ramdisks->items, sizeof(*items) * (size_t)(ramdisks->count + 2));
	if (!items) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		goto out;
	}
	ramdisks->items = items;
	if (own_bootstrap)
		items[ramdisks->count++] = tmp[0].path;
	items[ramdisks->count++] = tmp[1].path;
	rc = 0;
out:
	free(argv);
	return rc;
}

int cmd_build_enclave(int argc, char **argv, struct carve_err *err)
{
	struct eif_build_opts o = {.build_time = -1};
	struct cli_list ramdisks = {0}, env = {0};
	const char *rootfs = NULL, *cmd = NULL;
	char kernel[PATH_MAX];
	struct temp_file tmp[2] = {0};
	const struct cli_arg args[] = {
		{"kernel", ARG_STRING, false, &o.kernel_path,
		 "kernel image (bzImage or ELF); with --rootfs the default is the carve enclave kernel"},
		{"cmdline", ARG_STRING, false, &o.cmdline, "kernel command line"},
		{"ramdisk", ARG_STRING_LIST, false, &ramdisks,
		 "ramdisk (cpio); repeat: the first is the bootstrap ramdisk (PCR1), the rest the application (PCR2)"},
		{"rootfs", ARG_STRING, false, &rootfs, "root filesystem of the application: a directory or a tarball"},
		{"cmd", ARG_STRING, false, &cmd, "the program to run and its arguments, shell-quoted, not expanded"},
		{"env", ARG_STRING_LIST, false, &env, "KEY=VALUE for the program's environment; repeat"},
		{"output-file", ARG_STRING, true, &o.output_path, "where to write the EIF"},
		{"name", ARG_STRING, false, &o.image_name, "image name (default: output file name)"},
		{"version", ARG_STRING, false, &o.image_version, "image version (default: 1.0)"},
		{"metadata", ARG_STRING, false, &o.metadata_path, "JSON file (at most 4096 bytes) kept in the image"},
		{"signing-certificate", ARG_STRING, false, &o.cert_path, "PEM certificate to sign with"},
		{"private-key", ARG_STRING, false, &o.key_path, "PEM EC private key of the certificate"},
		{0},
	};
	int rc = cli_parse("build-enclave", args, argc, argv, err);
	if (rc != CLI_PARSED) {
		rc = rc < 0 ? -1 : 0;
		goto out;
	}
	if (!rootfs != !cmd) {
		rc = carve_fail(err, E01_MISSING_ARGUMENT, "--rootfs and --cmd go together");
		goto out;
	}
	if (!rootfs && env.count) {
		rc = carve_fail(err, E02_CONFLICTING_ARGUMENT, "--env needs --rootfs and --cmd");
		goto out;
	}
	if (rootfs) {
		if (!o.kernel_path) {
			if (carve_find_blob(CARVE_KERNEL_BLOB, kernel, sizeof(kernel)) < 0) {
				rc = carve_fail(err, E52_BLOBS_PATH_NOT_SET,
						"the carve enclave kernel (%s) was not found beside carve or in "
						"$CARVE_BLOBS; run 'make' or pass --kernel", CARVE_KERNEL_BLOB);
				goto out;
			}
			o.kernel_path = kernel;
			if (!o.cmdline)
				o.cmdline = CARVE_KERNEL_CMDLINE;
		}
		if (!o.cmdline) {
			rc = carve_fail(err, E01_MISSING_ARGUMENT, "--kernel needs --cmdline");
			goto out;
		}
		fprintf(stderr, "Start building the Enclave Image...\n");
		if ((rc = make_rootfs_ramdisks(rootfs, cmd, &env, &ramdisks, tmp, err)) < 0)
			goto out;
	} else {
		if (!o.kernel_path || !o.cmdline || ramdisks.count == 0) {
			rc = carve_fail(err, E01_MISSING_ARGUMENT, "build-enclave needs --kernel, --cmdline "
					"and --ramdisk, or --rootfs and --cmd; see 'carve build-enclave --help'");
			goto out;
		}
		fprintf(stderr, "Start building the Enclave Image...\n");
	}
	o.ramdisk_paths = ramdisks.items;
	o.nramdisks = ramdisks.count;
	o.show_progress = true;
	struct eif_measurements m;
	if ((rc = eif_build(&o, &m, err)) == 0) {
		json_object *out = json_object_new_object();
		json_object_object_add(out, "Measurements", cli_measurements_json(&m));
		fprintf(stderr, "Enclave Image successfully created.\n");
		cli_print_json(out);
		json_object_put(out);
	}
out:
	temp_file_remove(&tmp[0]);
	temp_file_remove(&tmp[1]);
	cli_list_free(&ramdisks);
	cli_list_free(&env);
	return rc;
}
