/* Private to build-enclave (cmd_build_enclave.c): choosing the kernel and
 * making the application ramdisk from a container image. */
#ifndef CARVE_CLI_BUILD_H
#define CARVE_CLI_BUILD_H

#include <limits.h>
#include <stdbool.h>

#include "carve/eif.h"
#include "cli/cli.h"

#define CARVE_KERNEL_BLOB "carve-kernel.elf"
#define CARVE_KERNEL_CMDLINE "console=ttyS0"
#define LINUX_KERNEL_BLOB "bzImage"
#define LINUX_CMDLINE_BLOB "cmdline"
#define LINUX_BOOTSTRAP_BLOB "bootstrap-initrd.img"
/* nitro-cli's x86-64 blobs/cmdline (aws-nitro-enclaves-sdk-bootstrap)
 * without i8042.nopnp: on carve's hardware-reduced ACPI machine the
 * keyboard's interrupt is only found through its ACPI device (PNP0303), and
 * the keyboard is how terminate asks a Linux enclave to stop (Ctrl-Alt-Del,
 * src/vmm/i8042.c). Same as scripts/linux-blobs.sh. */
#define LINUX_DEFAULT_CMDLINE                                                        \
	"reboot=k panic=30 pci=off nomodules console=ttyS0 i8042.noaux i8042.nomux " \
	"i8042.dumbkbd random.trust_cpu=on"

/* What the kernel choice found; o->kernel_path and o->cmdline point here. */
struct build_kernel {
	char kernel[PATH_MAX];
	char cmdline[4096];
	char bootstrap[PATH_MAX];
	bool carve_bootstrap; /* the caller writes carve's own bootstrap ramdisk */
};

/* --kernel-kind carve|linux, or NULL: the carve enclave kernel, except that
 * an image (--docker-uri) gets Linux, as on Nitro, when the Linux blobs are
 * there. Fills o->kernel_path/cmdline where the user gave none, and appends
 * the Linux bootstrap ramdisk to `ramdisks` when it comes from the blobs.
 * E52 naming what is missing, E03 for an unknown kind, E01 for --kernel
 * without --cmdline and no kind. */
int build_choose_kernel(const char *kind, bool from_image, struct eif_build_opts *o,
			struct cli_list *ramdisks, struct build_kernel *bk, struct carve_err *err);

/* What an image build leaves for the EIF: strings o points into. */
struct build_image {
	char *docker_info;
	char name[256];
	char version[80];
	char built_archive[PATH_MAX]; /* --docker-dir: the OCI archive buildah wrote */
	char built_uri[PATH_MAX + 16];
};

/* --docker-dir: builds DIR's Dockerfile with buildah (no daemon) into a
 * temporary OCI archive and rewrites *uri to it. E49 when buildah is not
 * installed or the build fails. */
int build_image_from_dir(const char *dir, const char *tag, const char **uri, struct build_image *bi,
			 struct carve_err *err);
/* Loads the image at uri, writes its application ramdisk to out_path and
 * fills o: arm64 from the architecture (E48 for anything but amd64/arm64),
 * DockerInfo, and the image name/version nitro-cli would give when the user
 * gave none. */
int build_image_ramdisk(const char *uri, const char *out_path, struct eif_build_opts *o,
			struct build_image *bi, struct carve_err *err);
void build_image_cleanup(struct build_image *bi);

#endif
