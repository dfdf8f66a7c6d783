/* Private to the image part: one layer applied to the tree. */
#ifndef CARVE_IMAGE_LAYER_H
#define CARVE_IMAGE_LAYER_H

#include <stdint.h>

#include "carve/error.h"
#include "image/fstree.h"
#include "image/source.h"

struct layer_spec {
	unsigned index;      /* 1 for the base layer */
	const char *member;  /* path in the archive */
	const char *digest;  /* of the blob as stored; NULL when the archive names none */
	int64_t size;        /* of the blob; -1 when unknown */
	const char *diff_id; /* of the uncompressed tar, from the config */
};

/* Where file contents go: an unlinked temporary file, appended to. */
struct spill {
	int fd;
	uint64_t end;
};

/* Streams the layer (gzip, zstd or plain tar), applies its entries to t and
 * checks both digests at the end. E50 for a damaged or unsafe layer, E19
 * when the spill file cannot be written. */
int layer_apply(const struct image_source *s, const struct layer_spec *ls, struct fs_tree *t,
		struct spill *sp, struct carve_err *err);

#endif
