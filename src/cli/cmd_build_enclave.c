/* carve build-enclave, in three forms:
 *   from a container image: --docker-uri REF [--docker-dir DIR]: the image
 *     is read from a local archive or OCI layout (no daemon), laid out as
 *     nitro-cli does (cmd, env, rootfs/, and workdir); see docs/images.md;
 *   from a root filesystem: --rootfs DIR|TARBALL --cmd "prog args" [--env K=V]...;
 *   from parts:  --kernel K --cmdline C --ramdisk R [--ramdisk R]...
 * The first two choose a kernel with --kernel-kind (build.h) unless --kernel
 * is given, and a bootstrap ramdisk comes first unless --ramdisk gives the
 * bootstrap ramdisks. */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carve/paths.h"
#include "carve/ramdisk.h"
#include "carve/util.h"
#include "cli/build.h"
#include "cli/cli.h"

struct temp_file {
	char path[PATH_MAX];
	bool made;
};

static int temp_file_make(struct temp_file *t, const char *what, struct carve_err *err)
{
	const char *dir;
	if (carve_scratch_dir(&dir, err) < 0)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/carve-%s.XXXXXX", dir, what);
	int fd = mkstemp(t->path);
	if (fd < 0)
		return carve_fail(err, E19_FILE_OPERATION, "cannot create a temporary %s in %s", what, dir);
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

static int list_push(struct cli_list *l, const char *item, struct carve_err *err)
{
	const char **items = realloc(l->items, sizeof(*items) * (size_t)(l->count + 1));
	if (!items)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	l->items = items;
	items[l->count++] = item;
	return 0;
}

/* The application ramdisk of the --rootfs form. */
static int make_rootfs_ramdisk(const char *rootfs, const char *cmd, struct cli_list *env, const char *out,
			       struct carve_err *err)
{
	char **argv = NULL;
	int argc = shell_split(cmd, &argv, err);
	if (argc < 0)
		return -1;
	int rc;
	if (argc == 0) {
		rc = carve_fail(err, E03_INVALID_ARGUMENT, "--cmd is empty");
	} else {
		struct ramdisk_app app = {
			.rootfs = rootfs,
			.argv = (const char *const *)argv,
			.argc = argc,
			.env = env->items,
			.envc = env->count,
		};
		rc = ramdisk_write_app(&app, out, err);
	}
	free(argv);
	return rc;
}

struct build_args {
	struct eif_build_opts o;
	struct cli_list ramdisks, env;
	const char *rootfs, *cmd, *docker_uri, *docker_dir, *kernel_kind;
};

static int check_forms(const struct build_args *b, struct carve_err *err)
{
	if (!b->rootfs && !b->docker_uri && b->kernel_kind)
		return carve_fail(err, E02_CONFLICTING_ARGUMENT,
				  "--kernel-kind goes with --docker-uri or --rootfs");
	if (!b->rootfs && !b->docker_uri && (!b->o.kernel_path || !b->o.cmdline || b->ramdisks.count == 0))
		return carve_fail(
			err, E01_MISSING_ARGUMENT,
			"build-enclave needs --docker-uri, or --rootfs and "
			"--cmd, or --kernel, --cmdline and --ramdisk; see 'carve build-enclave --help'");
	return 0;
}

int cmd_build_enclave(int argc, char **argv, struct carve_err *err)
{
	struct build_args b = {.o = {.build_time = -1}};
	struct eif_build_opts *o = &b.o;
	struct temp_file tmp[2] = {0};
	struct build_kernel bk;
	struct build_image bi = {0};
	const struct cli_arg args[] = {
		/* nitro-cli's --docker-uri is required (src/lib.rs:743-793);
		 * carve's other forms (--rootfs, --kernel) excuse it. The image
		 * brings its files, command and environment. */
		{"docker-uri", ARG_STRING, true, &b.docker_uri,
		 "the container image: docker-archive:FILE[:name:tag], oci-archive:FILE[:ref], oci:DIR[:ref] or a path",
		 .unless = "rootfs kernel", .conflicts = "rootfs cmd env"},
		{"docker-dir", ARG_STRING, false, &b.docker_dir,
		 "build the Dockerfile in this directory first (with buildah), tagged --docker-uri",
		 .requires = "docker-uri"},
		{"kernel-kind", ARG_STRING, false, &b.kernel_kind,
		 "carve or linux: the kernel whose defaults to use (default: linux for images when its blobs exist, else carve)"},
		{"kernel", ARG_STRING, false, &o->kernel_path,
		 "kernel image (bzImage or ELF); with --rootfs the default is the carve enclave kernel"},
		{"cmdline", ARG_STRING, false, &o->cmdline, "kernel command line"},
		{"ramdisk", ARG_STRING_LIST, false, &b.ramdisks,
		 "ramdisk (cpio); repeat: the first is the bootstrap ramdisk (PCR1), the rest the application (PCR2)"},
		{"rootfs", ARG_STRING, false, &b.rootfs,
		 "root filesystem of the application: a directory or a tarball", .requires = "cmd"},
		{"cmd", ARG_STRING, false, &b.cmd,
		 "the program to run and its arguments, shell-quoted, not expanded", .requires = "rootfs"},
		{"env", ARG_STRING_LIST, false, &b.env, "KEY=VALUE for the program's environment; repeat",
		 .requires = "rootfs cmd"},
		{"output-file", ARG_STRING, true, &o->output_path, "where to write the EIF"},
		{"name", ARG_STRING, false, &o->image_name,
		 "image name (default: the image's name, else the output file name)",
		 .value_name = "image_name"},
		{"version", ARG_STRING, false, &o->image_version,
		 "image version (default: the image id, else 1.0)", .value_name = "image_version"},
		{"metadata", ARG_STRING, false, &o->metadata_path,
		 "JSON file (at most 4096 bytes) kept in the image"},
		{"signing-certificate", ARG_STRING, false, &o->cert_path, "PEM certificate to sign with",
		 .requires = "private-key"},
		{"private-key", ARG_STRING, false, &o->key_path, "PEM EC private key of the certificate",
		 .requires = "signing-certificate"},
		{0},
	};
	int rc = cli_parse("build-enclave", args, argc, argv, err);
	if (rc != CLI_PARSED) {
		rc = rc < 0 ? -1 : 0;
		goto out;
	}
	if ((rc = check_forms(&b, err)) < 0)
		goto out;
	bool app_form = b.rootfs || b.docker_uri;
	if (app_form &&
	    (rc = build_choose_kernel(b.kernel_kind, b.docker_uri != NULL, o, &b.ramdisks, &bk, err)) < 0)
		goto out;
	fprintf(stderr, "Start building the Enclave Image...\n");
	if (app_form) {
		/* The application ramdisk first: it checks the user's input. */
		if ((rc = temp_file_make(&tmp[1], "app", err)) < 0)
			goto out;
		if (b.docker_dir &&
		    (rc = build_image_from_dir(b.docker_dir, b.docker_uri, &b.docker_uri, &bi, err)) < 0)
			goto out;
		rc = b.docker_uri ? build_image_ramdisk(b.docker_uri, tmp[1].path, o, &bi, err)
				  : make_rootfs_ramdisk(b.rootfs, b.cmd, &b.env, tmp[1].path, err);
		if (rc < 0)
			goto out;
		if (bk.carve_bootstrap &&
		    ((rc = temp_file_make(&tmp[0], "bootstrap", err)) < 0 ||
		     (rc = ramdisk_write_bootstrap(tmp[0].path, err)) < 0 ||
		     (rc = list_push(&b.ramdisks, tmp[0].path, err)) < 0))
			goto out;
		if ((rc = list_push(&b.ramdisks, tmp[1].path, err)) < 0)
			goto out;
	}
	o->ramdisk_paths = b.ramdisks.items;
	o->nramdisks = b.ramdisks.count;
	o->show_progress = true;
	struct eif_measurements m;
	if ((rc = eif_build(o, &m, err)) == 0) {
		json_object *out = json_object_new_object();
		json_object_object_add(out, "Measurements", cli_measurements_json(&m));
		fprintf(stderr, "Enclave Image successfully created.\n");
		cli_print_json(out);
		json_object_put(out);
	}
out:
	temp_file_remove(&tmp[0]);
	temp_file_remove(&tmp[1]);
	build_image_cleanup(&bi);
	cli_list_free(&b.ramdisks);
	cli_list_free(&b.env);
	return rc;
}
