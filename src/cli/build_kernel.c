/* build-enclave's kernel choice (see build.h): which kernel, command line
 * and bootstrap ramdisk an EIF gets when the user names only some of them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/util.h"
#include "cli/build.h"

/* The first line of the cmdline blob, as nitro-cli reads blobs/cmdline. */
static bool read_cmdline_blob(char *out, size_t len)
{
	char path[PATH_MAX];
	if (carve_find_blob(LINUX_CMDLINE_BLOB, path, sizeof(path)) < 0)
		return false;
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(out, (int)len, f) != NULL;
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return ok && *out;
}

static bool linux_blobs_present(void)
{
	char path[PATH_MAX];
	return carve_find_blob(LINUX_KERNEL_BLOB, path, sizeof(path)) == 0 &&
		carve_find_blob(LINUX_BOOTSTRAP_BLOB, path, sizeof(path)) == 0;
}

static int choose_linux(struct eif_build_opts *o, struct cli_list *ramdisks, struct build_kernel *bk,
			struct carve_err *err)
{
	if (!o->kernel_path) {
		if (carve_find_blob(LINUX_KERNEL_BLOB, bk->kernel, sizeof(bk->kernel)) < 0)
			return carve_fail(
				err, E52_BLOBS_PATH_NOT_SET,
				"--kernel-kind linux needs a Linux kernel and "
				"none was given: pass --kernel PATH (a bzImage) or put one named '%s' in "
				"$CARVE_BLOBS (scripts/fetch-debian-kernel.sh fetches Debian's)",
				LINUX_KERNEL_BLOB);
		o->kernel_path = bk->kernel;
	}
	if (!o->cmdline) {
		if (!read_cmdline_blob(bk->cmdline, sizeof(bk->cmdline)))
			snprintf(bk->cmdline, sizeof(bk->cmdline), "%s", LINUX_DEFAULT_CMDLINE);
		o->cmdline = bk->cmdline;
	}
	if (ramdisks->count == 0) {
		/* Linux needs carve's init for enclaves in its bootstrap ramdisk. */
		if (carve_find_blob(LINUX_BOOTSTRAP_BLOB, bk->bootstrap, sizeof(bk->bootstrap)) < 0)
			return carve_fail(
				err, E52_BLOBS_PATH_NOT_SET,
				"--kernel-kind linux needs a bootstrap ramdisk "
				"holding the enclave init: pass --ramdisk PATH or put one named '%s' in "
				"$CARVE_BLOBS",
				LINUX_BOOTSTRAP_BLOB);
		const char **items = realloc(ramdisks->items, sizeof(*items) * (size_t)(ramdisks->count + 1));
		if (!items)
			return carve_fail(err, E00_UNSPECIFIED, "out of memory");
		ramdisks->items = items;
		items[ramdisks->count++] = bk->bootstrap;
	}
	return 0;
}

static int choose_carve(struct eif_build_opts *o, struct cli_list *ramdisks, struct build_kernel *bk,
			struct carve_err *err)
{
	if (!o->kernel_path) {
		if (carve_find_blob(CARVE_KERNEL_BLOB, bk->kernel, sizeof(bk->kernel)) < 0)
			return carve_fail(err, E52_BLOBS_PATH_NOT_SET,
					  "the carve enclave kernel (%s) was not found "
					  "beside carve or in $CARVE_BLOBS; run 'make' or pass --kernel",
					  CARVE_KERNEL_BLOB);
		o->kernel_path = bk->kernel;
	}
	if (!o->cmdline)
		o->cmdline = CARVE_KERNEL_CMDLINE;
	bk->carve_bootstrap = ramdisks->count == 0;
	return 0;
}

int build_choose_kernel(const char *kind, bool from_image, struct eif_build_opts *o,
			struct cli_list *ramdisks, struct build_kernel *bk, struct carve_err *err)
{
	memset(bk, 0, sizeof(*bk));
	if (!kind) {
		if (o->kernel_path) {
			if (!o->cmdline)
				return carve_fail(err, E01_MISSING_ARGUMENT,
						  "--kernel needs --cmdline (or --kernel-kind "
						  "carve|linux for that kernel's default)");
			bk->carve_bootstrap = ramdisks->count == 0;
			return 0;
		}
		kind = from_image && linux_blobs_present() ? "linux" : "carve";
	}
	if (!strcmp(kind, "linux"))
		return choose_linux(o, ramdisks, bk, err);
	if (!strcmp(kind, "carve"))
		return choose_carve(o, ramdisks, bk, err);
	return carve_fail(err, E03_INVALID_ARGUMENT, "--kernel-kind '%s': say carve or linux", kind);
}
