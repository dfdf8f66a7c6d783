/* Private to the image part: the files of an image archive or layout by
 * name, whether it is a directory or a tar (read again from the start for
 * each member, so nothing is unpacked to disk; libarchive seeks over the
 * members in between when the tar is not compressed). */
#ifndef CARVE_IMAGE_SOURCE_H
#define CARVE_IMAGE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "carve/error.h"

struct archive;

struct image_source {
	char *path;
	int dirfd; /* a directory; -1 for a tar */
};

struct source_stream {
	int fd;            /* directory member */
	struct archive *a; /* tar member: positioned at its data */
	uint64_t size;     /* as the directory or the tar header says */
};

/* E19 when path cannot be opened; E50 when a file is not a tar archive. */
int source_open(struct image_source *s, const char *path, struct carve_err *err);
void source_close(struct image_source *s);
bool source_is_dir(const struct image_source *s);

/* `name` is a clean relative path (image_path_clean). Returns 1 when the
 * member is there (following symlinks and tar hard links inside the
 * archive), 0 when it is not, -1 on errors. */
int source_stream_open(const struct image_source *s, const char *name, struct source_stream *st,
		       struct carve_err *err);
/* Like read(2): bytes, 0 at the end, -1 with errno on errors. */
ssize_t source_stream_read(struct source_stream *st, void *buf, size_t len);
void source_stream_close(struct source_stream *st);

/* A whole member of at most max bytes, NUL-terminated: 1, 0 (absent) or -1. */
int source_read_small(const struct image_source *s, const char *name, size_t max, char **data, size_t *len,
		      struct carve_err *err);

#endif
