/* Container images read from local archives, no daemon
 * (Docker's image spec v1.2 and the OCI image layout): docker-save tarballs, OCI archives and
 * OCI layout directories. Every blob is checked against its sha256 digest and
 * every layer against its diff_id; the layers are applied in order (whiteouts,
 * opaque directories, hard links) into an in-memory tree whose file contents
 * wait in an unlinked temporary file, so nothing on the host is written from
 * an image's paths.
 *
 * Errors: E03 for a malformed REF, E19 when the archive cannot be opened,
 * E50 (DockerImagePullError, nitro-cli's code for "the image could not be
 * obtained") when the image is missing from the archive, ambiguous, damaged
 * (digest mismatch) or unsafe (paths with ".."). */
#ifndef CARVE_IMAGE_H
#define CARVE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "carve/error.h"

enum image_transport {
	IMAGE_AUTO,           /* a plain path: detected from what is there */
	IMAGE_DOCKER_ARCHIVE, /* docker-archive:PATH[:name:tag] */
	IMAGE_OCI_ARCHIVE,    /* oci-archive:PATH[:ref] */
	IMAGE_OCI_DIR,        /* oci:DIR[:ref] */
};

struct image_ref {
	enum image_transport transport;
	char *path;
	char *selector; /* name:tag, tag, sha256:<hex> or @N; NULL: the only image */
};

/* Parses the forms above. A plain path may carry ":selector" when the path
 * without it exists. E03 when the form is not recognised. */
int image_ref_parse(const char *text, struct image_ref *ref, struct carve_err *err);
void image_ref_free(struct image_ref *ref);

/* The parts of the image config (OCI config.md) an enclave needs. Arrays
 * are NULL-terminated; NULL when the config has no such field. */
struct image_config {
	char *architecture;
	char *os;
	char *variant;
	char **env;
	char **cmd;
	char **entrypoint;
	char *workdir;
	char *user;
	char *created;
	char *author;
	char **diff_ids;
	size_t ndiff_ids;
	char *raw; /* the config JSON as stored, NUL-terminated */
	size_t raw_len;
};

struct image;

/* Opens, resolves and verifies the image and applies its layers. The
 * temporary file holding file contents lives in $TMPDIR (else /tmp) and is
 * unlinked from the start. */
int image_load(const struct image_ref *ref, struct image **out, struct carve_err *err);
void image_free(struct image *img);

const struct image_config *image_get_config(const struct image *img);
/* "sha256:<hex>" of the config: Docker's image id. */
const char *image_id(const struct image *img);
/* The tags the archive gives the chosen image (RepoTags, or the OCI ref
 * name), NULL-terminated, maybe empty. */
const char *const *image_tags(const struct image *img);

/* One entry of the final root filesystem, as image_walk hands it out. */
struct image_entry {
	const char *path; /* relative to the root, no leading '/' */
	mode_t mode;      /* file type and permissions */
	uid_t uid;
	gid_t gid;
	uint64_t size;      /* regular files */
	const char *target; /* symlinks */
	dev_t rdev;         /* devices */
	uint64_t link_id;   /* regular files: same id = hard links of one file */
	unsigned nlink;     /* regular files: names of this file in the tree */
	uint64_t data_off;  /* private: where the contents are */
};

typedef int (*image_walk_fn)(void *ctx, const struct image_entry *e, struct carve_err *err);
/* Calls fn for every entry below the root, depth first, each directory's
 * entries sorted by name (strcmp), a directory before its contents. Stops
 * at the first non-zero return and returns it. */
int image_walk(const struct image *img, image_walk_fn fn, void *ctx, struct carve_err *err);
/* Reads up to len bytes of a regular file's contents from offset off. */
ssize_t image_read(const struct image *img, const struct image_entry *e, uint64_t off, void *buf, size_t len);

/* The "docker inspect"-like JSON nitro-cli stores as DockerInfo in the EIF
 * metadata (aws-nitro-enclaves-image-format's metadata section), from what the archive holds.
 * malloc'ed; NULL when out of memory. */
char *image_docker_info(const struct image *img);

#endif
