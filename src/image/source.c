/* Image archive members by name, from a directory or a tar (source.h). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/fstree.h"
#include "image/source.h"

#define MAX_HOPS 8 /* symlinks and hard links followed inside an archive */
#define NAME_MAX_LEN 4096

int source_open(struct image_source *s, const char *path, struct carve_err *err)
{
	memset(s, 0, sizeof(*s));
	s->dirfd = -1;
	struct stat st;
	if (stat(path, &st) < 0)
		return carve_fail(err, E19_FILE_OPERATION,
				  "File: '%s', failing operation: 'Open': %s; "
				  "give the path of an image archive or OCI layout",
				  path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->dirfd < 0)
			return carve_fail(err, E19_FILE_OPERATION,
					  "File: '%s', failing operation: 'Open': %s", path, strerror(errno));
	} else if (access(path, R_OK) < 0) {
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Open': %s", path,
				  strerror(errno));
	}
	if (!(s->path = strdup(path))) {
		source_close(s);
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	}
	return 0;
}

void source_close(struct image_source *s)
{
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->path);
	s->dirfd = -1;
	s->path = NULL;
}

bool source_is_dir(const struct image_source *s) { return s->dirfd >= 0; }

static struct archive *tar_open(const char *path, struct carve_err *err)
{
	struct archive *a = archive_read_new();
	if (!a) {
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
		return NULL;
	}
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	/* A docker save piped through a compressor is still an image. */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_bzip2(a);
	if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
		carve_fail(err, E50_DOCKER_IMAGE_PULL,
			   "'%s' is not a tar archive (%s); give a docker save "
			   "tarball, an OCI archive or an OCI layout directory",
			   path, archive_error_string(a));
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* Where a symlink at `name` pointing to `target` leads, as a clean path. */
static int resolve_link(const char *name, const char *target, char *out, size_t cap)
{
	char joined[2 * NAME_MAX_LEN + 2];
	const char *slash = strrchr(name, '/');
	if (target[0] == '/')
		snprintf(joined, sizeof(joined), "%s", target);
	else
		snprintf(joined, sizeof(joined), "%.*s/%s", slash ? (int)(slash - name) : 0, name, target);
	/* Resolve ".." lexically against the directory, inside the archive. */
	char stack[2 * NAME_MAX_LEN + 2] = "";
	size_t o = 0;
	for (char *save = NULL, *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			if (o == 0)
				return -1;
			char *p = strrchr(stack, '/');
			o = p ? (size_t)(p - stack) : 0;
			stack[o] = '\0';
			continue;
		}
		o += (size_t)snprintf(stack + o, sizeof(stack) - o, "%s%s", o ? "/" : "", c);
		if (o >= sizeof(stack))
			return -1;
	}
	return image_path_clean(stack, out, cap);
}

/* Positions a new reader of the tar at member `name`. */
static int tar_find(const struct image_source *s, const char *want, struct source_stream *st,
		    struct carve_err *err)
{
	char name[NAME_MAX_LEN];
	snprintf(name, sizeof(name), "%s", want);
	for (int hop = 0; hop <= MAX_HOPS; hop++) {
		struct archive *a = tar_open(s->path, err);
		if (!a)
			return -1;
		struct archive_entry *e;
		int r;
		char next[NAME_MAX_LEN] = "";
		bool found = false;
		while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
			char clean[NAME_MAX_LEN];
			const char *p = archive_entry_pathname(e);
			if (!p || image_path_clean(p, clean, sizeof(clean)) < 0 || strcmp(clean, name))
				continue;
			found = true;
			const char *hl = archive_entry_hardlink(e);
			if (hl) {
				if (image_path_clean(hl, next, sizeof(next)) < 0)
					next[0] = '\0', found = false;
			} else if (archive_entry_filetype(e) == AE_IFLNK) {
				const char *t = archive_entry_symlink(e);
				if (!t || resolve_link(name, t, next, sizeof(next)) < 0)
					next[0] = '\0', found = false;
			} else if (archive_entry_filetype(e) != AE_IFREG) {
				found = false;
			}
			break;
		}
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN && r != ARCHIVE_EOF) {
			carve_fail(err, E50_DOCKER_IMAGE_PULL, "reading '%s': %s; the archive is damaged",
				   s->path, archive_error_string(a));
			archive_read_free(a);
			return -1;
		}
		if (found && !next[0]) {
			st->a = a;
			st->size = archive_entry_size(e) > 0 ? (uint64_t)archive_entry_size(e) : 0;
			return 1;
		}
		archive_read_free(a);
		if (!found)
			return 0;
		snprintf(name, sizeof(name), "%s", next);
	}
	return carve_fail(err, E50_DOCKER_IMAGE_PULL, "'%s' in '%s': too many links", want, s->path);
}

int source_stream_open(const struct image_source *s, const char *name, struct source_stream *st,
		       struct carve_err *err)
{
	st->fd = -1;
	st->a = NULL;
	st->size = 0;
	if (!*name)
		return 0;
	if (!source_is_dir(s))
		return tar_find(s, name, st, err);
	int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s/%s', failing operation: 'Open': %s",
				  s->path, name, strerror(errno));
	}
	struct stat stt;
	if (fstat(fd, &stt) < 0 || !S_ISREG(stt.st_mode)) {
		close(fd);
		return 0;
	}
	st->fd = fd;
	st->size = (uint64_t)stt.st_size;
	return 1;
}

ssize_t source_stream_read(struct source_stream *st, void *buf, size_t len)
{
	if (st->a) {
		la_ssize_t n = archive_read_data(st->a, buf, len);
		if (n < 0) {
			errno = EIO;
			return -1;
		}
		return n;
	}
	for (;;) {
		ssize_t n = read(st->fd, buf, len);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

void source_stream_close(struct source_stream *st)
{
	if (st->a)
		archive_read_free(st->a);
	if (st->fd >= 0)
		close(st->fd);
	st->a = NULL;
	st->fd = -1;
}

int source_read_small(const struct image_source *s, const char *name, size_t max, char **data, size_t *len,
		      struct carve_err *err)
{
	struct source_stream st;
	int rc = source_stream_open(s, name, &st, err);
	if (rc <= 0)
		return rc;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	for (;;) {
		if (!buf) {
			source_stream_close(&st);
			return carve_fail(err, E00_UNSPECIFIED, "out of memory");
		}
		if (n == cap) {
			if (cap > max) {
				free(buf);
				source_stream_close(&st);
				return carve_fail(err, E50_DOCKER_IMAGE_PULL,
						  "'%s' in '%s' is larger than %zu bytes", name, s->path,
						  max);
			}
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				free(buf);
			buf = nb;
			continue;
		}
		ssize_t r = source_stream_read(&st, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			source_stream_close(&st);
			return carve_fail(err, E50_DOCKER_IMAGE_PULL, "reading '%s' in '%s': %s", name,
					  s->path, strerror(errno));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	source_stream_close(&st);
	if (n > max) {
		free(buf);
		return carve_fail(err, E50_DOCKER_IMAGE_PULL, "'%s' in '%s' is larger than %zu bytes", name,
				  s->path, max);
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 1;
}
