/* Enclave ramdisks as nitro-cli lays them out (aws-nitro-enclaves-cli,
 * build-enclave): newc cpio archives, uncompressed.
 *   bootstrap: dev/ (0755)
 *   application: rootfs/... (the root filesystem), the empty directories
 *     rootfs/{dev,run,sys,var,proc,tmp} (0755), and at the top cmd and env
 *     (0644), one entry per line, each line ending in '\n'.
 * Archives are reproducible: entries sorted by name, owner 0:0, modification
 * times fixed (SOURCE_DATE_EPOCH when set, else 0), inode numbers in order,
 * so the same inputs always give the same PCRs. */
#ifndef CARVE_RAMDISK_H
#define CARVE_RAMDISK_H

#include <stddef.h>

#include "carve/error.h"

struct ramdisk_app {
	const char *rootfs;      /* a directory, or a tar archive (any compression libarchive reads) */
	const char *const *argv; /* the command, argv[0] first */
	int argc;
	const char *const *env; /* "KEY=VALUE" */
	int envc;
};

/* Writes the application ramdisk to `out_path`. E03 for bad input (a cmd or
 * env entry with a newline, an env entry without '=', a file over 4 GiB,
 * which newc cannot hold), E19 for I/O errors, E48 for archive errors. */
int ramdisk_write_app(const struct ramdisk_app *app, const char *out_path, struct carve_err *err);
/* Writes the bootstrap ramdisk of a carve-kernel enclave. */
int ramdisk_write_bootstrap(const char *out_path, struct carve_err *err);

struct image;
struct image_config;
/* The command an image's enclave runs, as nitro-cli picks it
 * (aws-nitro-enclaves-cli, build-enclave): Cmd when the config has one, else Entrypoint,
 * never the two combined. An empty list counts as none. NULL when neither. */
char *const *ramdisk_image_command(const struct image_config *c);
/* The application ramdisk of a container image (build-enclave --docker-uri):
 * cmd, env (the image's Env), rootfs/ with the image's files (owners kept,
 * hard links as newc link groups) and the mount-point directories, and
 * `workdir` (the WorkingDir and '\n') only when the image sets one. E48
 * when the image has neither Cmd nor Entrypoint (nitro-cli's
 * UnsupportedEntryPoint) or an entry holds a newline. */
int ramdisk_write_image_app(const struct image *img, const char *out_path, struct carve_err *err);

/* Splits a command line into words with POSIX shell quoting ('...', "...",
 * backslash) and no expansion of any kind. Returns the word count, or -1
 * with err (E03) for an unterminated quote or a trailing backslash. The
 * words and the array are one allocation: free(*argv). */
int shell_split(const char *line, char ***argv, struct carve_err *err);

#endif
