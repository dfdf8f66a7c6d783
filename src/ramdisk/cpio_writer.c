/* Reproducible newc archives through libarchive: the helpers every ramdisk
 * uses (directories, small files from memory, files streamed from disk). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ramdisk/cpio_writer.h"

#define COPY_CHUNK (256 * 1024)
#define NEWC_MAX_FILE 0xffffffffull

int cpio_open(struct cpio_writer *w, const char *path, struct carve_err *err)
{
	memset(w, 0, sizeof(*w));
	w->path = path;
	w->mtime = 0;
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	if (sde && *sde) {
		char *end;
		long long v = strtoll(sde, &end, 10);
		if (*end == '\0' && v >= 0)
			w->mtime = (time_t)v;
	}
	w->a = archive_write_new();
	if (!w->a || archive_write_set_format_cpio_newc(w->a) != ARCHIVE_OK ||
	    archive_write_add_filter_none(w->a) != ARCHIVE_OK)
		return carve_fail(err, E48_EIF_BUILDING, "libarchive cannot write newc cpio");
	/* Default blocking would pad to 10 KiB; the kernel reads any length. */
	archive_write_set_bytes_per_block(w->a, 0);
	if (archive_write_open_filename(w->a, path) != ARCHIVE_OK)
		return carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Create': %s",
				  path, archive_error_string(w->a));
	w->entry = archive_entry_new();
	w->buf = malloc(COPY_CHUNK);
	if (!w->entry || !w->buf)
		return carve_fail(err, E00_UNSPECIFIED, "out of memory");
	return 0;
}

static void entry_reset(struct cpio_writer *w, const char *name, mode_t type, mode_t perm)
{
	struct archive_entry *e = w->entry;
	archive_entry_clear(e);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm & 07777);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, w->mtime, 0);
	archive_entry_set_nlink(e, type == AE_IFDIR ? 2 : 1);
	archive_entry_set_ino(e, (la_int64_t)++w->next_ino);
	archive_entry_set_dev(e, 0);
	archive_entry_set_size(e, 0);
}

static int header(struct cpio_writer *w, struct carve_err *err)
{
	if (archive_write_header(w->a, w->entry) < ARCHIVE_WARN)
		return carve_fail(err, E48_EIF_BUILDING, "writing '%s' into %s: %s",
				  archive_entry_pathname(w->entry), w->path, archive_error_string(w->a));
	return 0;
}

int cpio_add_dir(struct cpio_writer *w, const char *name, mode_t perm, struct carve_err *err)
{
	entry_reset(w, name, AE_IFDIR, perm);
	return header(w, err);
}

int cpio_add_data(struct cpio_writer *w, const char *name, mode_t perm, const void *data, size_t len,
		  struct carve_err *err)
{
	entry_reset(w, name, AE_IFREG, perm);
	archive_entry_set_size(w->entry, (la_int64_t)len);
	if (header(w, err) < 0)
		return -1;
	if (len && archive_write_data(w->a, data, len) != (la_ssize_t)len)
		return carve_fail(err, E48_EIF_BUILDING, "writing '%s': %s", name,
				  archive_error_string(w->a));
	return 0;
}

int cpio_add_symlink(struct cpio_writer *w, const char *name, const char *target, struct carve_err *err)
{
	entry_reset(w, name, AE_IFLNK, 0777);
	archive_entry_set_symlink(w->entry, target);
	return header(w, err);
}

int cpio_add_special(struct cpio_writer *w, const char *name, mode_t type, mode_t perm, dev_t rdev,
		     struct carve_err *err)
{
	entry_reset(w, name, type, perm);
	archive_entry_set_rdev(w->entry, rdev);
	return header(w, err);
}

static int add_data(struct cpio_writer *w, const char *name, uint64_t size, cpio_read_fn read_fn, void *ctx,
		    struct carve_err *err)
{
	uint64_t left = size;
	while (left) {
		size_t want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
		ssize_t n = read_fn(ctx, w->buf, want);
		if (n < 0)
			return carve_fail(err, E19_FILE_OPERATION, "reading '%s': %s", name, strerror(errno));
		if (n == 0)
			return carve_fail(err, E48_EIF_BUILDING, "'%s' shrank while it was being read", name);
		if (archive_write_data(w->a, w->buf, (size_t)n) != n)
			return carve_fail(err, E48_EIF_BUILDING, "writing '%s': %s", name,
					  archive_error_string(w->a));
		left -= (uint64_t)n;
	}
	return 0;
}

int cpio_add_stream(struct cpio_writer *w, const char *name, mode_t perm, uint64_t size, cpio_read_fn read_fn,
		    void *ctx, struct carve_err *err)
{
	if (size > NEWC_MAX_FILE)
		return carve_fail(err, E03_INVALID_ARGUMENT,
				  "'%s' is %llu bytes; a newc cpio ramdisk holds files up to 4 GiB", name,
				  (unsigned long long)size);
	entry_reset(w, name, AE_IFREG, perm);
	archive_entry_set_size(w->entry, (la_int64_t)size);
	if (header(w, err) < 0)
		return -1;
	return add_data(w, name, size, read_fn, ctx, err);
}

uint64_t cpio_next_ino(struct cpio_writer *w) { return ++w->next_ino; }

int cpio_add(struct cpio_writer *w, const struct cpio_item *it, cpio_read_fn read_fn, void *ctx,
	     struct carve_err *err)
{
	mode_t type = it->mode & S_IFMT;
	if (type == S_IFREG && it->size > NEWC_MAX_FILE)
		return carve_fail(err, E48_EIF_BUILDING,
				  "'%s' is %llu bytes; a newc cpio ramdisk holds files up to 4 GiB", it->name,
				  (unsigned long long)it->size);
	entry_reset(w, it->name, type, it->mode);
	struct archive_entry *e = w->entry;
	archive_entry_set_uid(e, it->uid);
	archive_entry_set_gid(e, it->gid);
	if (it->ino)
		archive_entry_set_ino(e, (la_int64_t)it->ino);
	if (it->nlink)
		archive_entry_set_nlink(e, it->nlink);
	if (type == S_IFLNK)
		archive_entry_set_symlink(e, it->target ? it->target : "");
	if (type == S_IFCHR || type == S_IFBLK)
		archive_entry_set_rdev(e, it->rdev);
	if (type == S_IFREG)
		archive_entry_set_size(e, (la_int64_t)it->size);
	if (header(w, err) < 0)
		return -1;
	return type == S_IFREG ? add_data(w, it->name, it->size, read_fn, ctx, err) : 0;
}

int cpio_close(struct cpio_writer *w, struct carve_err *err)
{
	int rc = 0;
	if (w->a) {
		if (archive_write_close(w->a) != ARCHIVE_OK)
			rc = carve_fail(err, E19_FILE_OPERATION, "File: '%s', failing operation: 'Write': %s",
					w->path, archive_error_string(w->a));
		archive_write_free(w->a);
	}
	archive_entry_free(w->entry);
	free(w->buf);
	memset(w, 0, sizeof(*w));
	return rc;
}
