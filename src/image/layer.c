/* Applying a layer: the blob is read once through two libarchive readers,
 * the first only decompressing (so the uncompressed bytes can be hashed for
 * the diff_id), the second reading the tar from its output. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "carve/util.h"
#include "image/digest.h"
#include "image/layer.h"

#define CHUNK (128 * 1024)
#define NAME_MAX_LEN 4096

struct pipe {
	struct source_stream st;
	struct archive *raw; /* decompressor */
	struct archive *tar;
	struct digester blob, diff;
	uint8_t *in, *mid, *data;
	int read_errno;
	struct progress progress; /* large layers, on a TTY */
	char label[32];
};

/* Feeds the decompressor from the archive member, hashing the blob. */
static la_ssize_t blob_read(struct archive *a, void *ctx, const void **buf)
{
	(void)a;
	struct pipe *p = ctx;
	ssize_t n = source_stream_read(&p->st, p->in, CHUNK);
	if (n < 0) {
		p->read_errno = errno;
		return -1;
	}
	digester_update(&p->blob, p->in, (size_t)n);
	progress_update(&p->progress, p->blob.bytes);
	*buf = p->in;
	return n;
}

/* Feeds the tar reader from the decompressor, hashing the tar stream. */
static la_ssize_t tar_read(struct archive *a, void *ctx, const void **buf)
{
	(void)a;
	struct pipe *p = ctx;
	la_ssize_t n = archive_read_data(p->raw, p->mid, CHUNK);
	if (n < 0)
		return -1;
	digester_update(&p->diff, p->mid, (size_t)n);
	*buf = p->mid;
	return n;
}

static void pipe_close(struct pipe *p)
{
	if (p->tar)
		archive_read_free(p->tar);
	if (p->raw)
		archive_read_free(p->raw);
	progress_end(&p->progress);
	source_stream_close(&p->st);
	digester_drop(&p->blob);
	digester_drop(&p->diff);
	free(p->in);
	free(p->mid);
	free(p->data);
}

static int pipe_open(struct pipe *p, const struct image_source *s, const struct layer_spec *ls,
		     struct carve_err *err)
{
	memset(p, 0, sizeof(*p));
	p->st.fd = -1;
	p->in = malloc(CHUNK);
	p->mid = malloc(CHUNK);
	p->data = malloc(CHUNK);
	if (!p->in || !p->mid || !p->data || digester_begin(&p->blob) < 0 || digester_begin(&p->diff) < 0)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	int rc = source_stream_open(s, ls->member, &p->st, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return carve_fail(err, E50_DOCKER_IMAGE_PULL, "layer %u ('%s') is missing from '%s'",
				  ls->index, ls->member, s->path);
	snprintf(p->label, sizeof(p->label), "Reading layer %u", ls->index);
	progress_begin(&p->progress, p->label, p->st.size);
	p->raw = archive_read_new();
	p->tar = archive_read_new();
	if (!p->raw || !p->tar)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	archive_read_support_format_raw(p->raw);
	archive_read_support_format_empty(p->raw);
	archive_read_support_filter_gzip(p->raw);
	archive_read_support_filter_zstd(p->raw);
	archive_read_support_format_tar(p->tar);
	archive_read_support_format_gnutar(p->tar);
	archive_read_support_format_empty(p->tar);
	return 0;
}

/* Reads what is left of both streams so the digests cover every byte. */
static void drain(struct pipe *p, bool raw_open)
{
	la_ssize_t r;
	while (raw_open && (r = archive_read_data(p->raw, p->mid, CHUNK)) > 0)
		digester_update(&p->diff, p->mid, (size_t)r);
	ssize_t n;
	while ((n = source_stream_read(&p->st, p->in, CHUNK)) > 0)
		digester_update(&p->blob, p->in, (size_t)n);
}

__attribute__((format(printf, 3, 4))) static int bad_layer(struct carve_err *err, const struct layer_spec *ls,
							   const char *fmt, ...)
{
	char what[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return carve_fail(err, E50_DOCKER_IMAGE_PULL, "layer %u ('%s'): %s", ls->index, ls->member, what);
}

/* A regular file's contents into the spill file. */
static int copy_data(struct pipe *p, struct spill *sp, uint64_t *size, const struct layer_spec *ls,
		     const char *name, struct carve_err *err)
{
	uint64_t n = 0;
	for (;;) {
		la_ssize_t r = archive_read_data(p->tar, p->data, CHUNK);
		if (r < 0)
			return bad_layer(err, ls, "cannot read '%s'; the layer is damaged", name);
		if (r == 0)
			break;
		int w = pwrite_full(sp->fd, p->data, (size_t)r, sp->end + n);
		if (w < 0)
			return carve_fail(err, E19_FILE_OPERATION,
					  "writing the image's files to a temporary "
					  "file in $TMPDIR: %s; free some space or set TMPDIR",
					  strerror(-w));
		n += (uint64_t)r;
	}
	*size = n;
	sp->end += n;
	return 0;
}

static int apply_entry(struct pipe *p, struct archive_entry *e, const struct layer_spec *ls,
		       struct fs_tree *t, struct spill *sp, struct carve_err *err)
{
	const char *raw_name = archive_entry_pathname(e);
	char path[NAME_MAX_LEN];
	int c = raw_name ? image_path_clean(raw_name, path, sizeof(path)) : -1;
	if (c == -1)
		return bad_layer(err, ls, "the entry '%.300s' leaves the root; the image is unsafe",
				 raw_name ? raw_name : "");
	if (c == -2)
		return bad_layer(err, ls, "the name '%.300s...' is too long", raw_name);

	/* Split into directory and base name for whiteouts. */
	char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path, *hidden = NULL;
	char dir[NAME_MAX_LEN];
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 0, path);
	switch (whiteout_kind(base, &hidden)) {
	case WH_FILE: return fs_whiteout(t, dir, hidden, ls->index);
	case WH_OPAQUE: return fs_opaque(t, dir, ls->index);
	case WH_OTHER: return 0;
	case WH_NONE: break;
	}

	int rc = 0;
	const char *hl = archive_entry_hardlink(e);
	if (hl) {
		char target[NAME_MAX_LEN];
		if (image_path_clean(hl, target, sizeof(target)) < 0)
			return bad_layer(err, ls,
					 "the hard link target '%.300s' leaves the root; the image is unsafe",
					 hl);
		rc = fs_link(t, path, target, ls->index);
		if (rc == -ENOENT)
			return bad_layer(err, ls,
					 "a hard link points to '%.300s', which is not a file the layers "
					 "made before it",
					 target);
		return rc < 0 ? carve_fail(err, E00_UNSPECIFIED, "out of memory") : 0;
	}
	struct fs_attrs a = {
		.mode = archive_entry_mode(e),
		.uid = (uid_t)archive_entry_uid(e),
		.gid = (gid_t)archive_entry_gid(e),
		.rdev = archive_entry_rdev(e),
	};
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		a.off = sp->end;
		if (copy_data(p, sp, &a.size, ls, path, err) < 0)
			return -1;
		break;
	case AE_IFLNK:
		a.target = archive_entry_symlink(e);
		if (!a.target)
			return bad_layer(err, ls, "the symlink '%.300s' has no target", path);
		break;
	case AE_IFDIR:
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO: break;
	default: return 0; /* sockets and unknown types cannot be in a ramdisk */
	}
	if (fs_put(t, path, &a, ls->index) < 0)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	return 0;
}

static int check_digest(const char *what, const char *got, const char *want, const struct layer_spec *ls,
			struct carve_err *err)
{
	if (!want || !strcmp(got, want))
		return 0;
	return carve_fail(err, E50_DOCKER_IMAGE_PULL,
			  "layer %u ('%s') is damaged: the %s is %s, the image "
			  "says %s; save or copy the image again",
			  ls->index, ls->member, what, got, want);
}

int layer_apply(const struct image_source *s, const struct layer_spec *ls, struct fs_tree *t,
		struct spill *sp, struct carve_err *err)
{
	struct pipe p;
	int rc = pipe_open(&p, s, ls, err);
	if (rc < 0)
		goto out;
	struct archive_entry *e;
	bool raw_open = false;
	char why[512] = "";
	if (archive_read_open(p.raw, &p, NULL, blob_read, NULL) != ARCHIVE_OK) {
		snprintf(why, sizeof(why), "cannot decompress it: %s", archive_error_string(p.raw));
	} else {
		int r = archive_read_next_header(p.raw, &e);
		if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
			raw_open = true;
			if (archive_read_open(p.tar, &p, NULL, tar_read, NULL) != ARCHIVE_OK)
				snprintf(why, sizeof(why), "not a tar: %s", archive_error_string(p.tar));
		} else if (r != ARCHIVE_EOF) {
			snprintf(why, sizeof(why), "cannot decompress it: %s", archive_error_string(p.raw));
		}
	}
	struct carve_err entry_err = {0};
	if (!why[0] && raw_open) {
		int r;
		while ((r = archive_read_next_header(p.tar, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
			if (apply_entry(&p, e, ls, t, sp, &entry_err) < 0)
				break;
		if (!entry_err.msg[0] && r != ARCHIVE_EOF && r != ARCHIVE_OK && r != ARCHIVE_WARN)
			snprintf(why, sizeof(why), "the tar is damaged: %s", archive_error_string(p.tar));
	}
	/* A digest mismatch explains a damaged stream best: check it first. */
	drain(&p, raw_open);
	char blob[DIGEST_LEN + 1], diff[DIGEST_LEN + 1];
	uint64_t blob_bytes = p.blob.bytes;
	digester_end(&p.blob, blob);
	digester_end(&p.diff, diff);
	rc = check_digest("blob's sha256", blob, ls->digest, ls, err);
	if (rc == 0 && ls->size >= 0 && (uint64_t)ls->size != blob_bytes)
		rc = carve_fail(err, E50_DOCKER_IMAGE_PULL,
				"layer %u ('%s') is %llu bytes, the manifest says %lld; "
				"the image is damaged",
				ls->index, ls->member, (unsigned long long)blob_bytes, (long long)ls->size);
	if (rc == 0)
		rc = check_digest("uncompressed tar's sha256 (diff_id)", diff, ls->diff_id, ls, err);
	if (rc == 0 && why[0])
		rc = bad_layer(err, ls, "%s", why);
	if (rc == 0 && entry_err.msg[0])
		rc = carve_fail(err, entry_err.code, "%s", entry_err.msg);
out:
	pipe_close(&p);
	return rc;
}
