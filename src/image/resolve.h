/* Private to the image part: from an archive and a selector to the blobs of
 * one image (config and layers), the manifests' digests checked on the way. */
#ifndef CARVE_IMAGE_RESOLVE_H
#define CARVE_IMAGE_RESOLVE_H

#include <stdint.h>

#include "carve/error.h"
#include "carve/image.h"
#include "image/source.h"

struct resolved_blob {
	char *member; /* clean path in the archive */
	char *digest; /* NULL when the archive names none (old docker save) */
	int64_t size; /* -1 when unknown */
};

struct resolved {
	struct resolved_blob config;
	struct resolved_blob *layers;
	size_t nlayers;
	char **tags; /* NULL-terminated */
};

/* Picks the layout by what the archive holds when transport is IMAGE_AUTO. */
int image_resolve(const struct image_source *s, enum image_transport transport, const char *selector,
		  struct resolved *out, struct carve_err *err);
void resolved_free(struct resolved *r);

/* Reads blobs/sha256/<hex> (at most max bytes), checking digest and size. */
int read_blob(const struct image_source *s, const char *digest, int64_t size, size_t max, char **data,
	      size_t *len, struct carve_err *err);

#endif
