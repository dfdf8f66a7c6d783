/* Private to the ramdisk part: a reproducible newc cpio writer. */
#ifndef CARVE_RAMDISK_CPIO_WRITER_H
#define CARVE_RAMDISK_CPIO_WRITER_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "carve/error.h"

struct archive;
struct archive_entry;

struct cpio_writer {
	struct archive *a;
	struct archive_entry *entry;
	const char *path;
	time_t mtime;
	uint64_t next_ino;
	uint8_t *buf;
};

typedef ssize_t (*cpio_read_fn)(void *ctx, void *buf, size_t len);

int cpio_open(struct cpio_writer *w, const char *path, struct carve_err *err);
int cpio_add_dir(struct cpio_writer *w, const char *name, mode_t perm, struct carve_err *err);
int cpio_add_data(struct cpio_writer *w, const char *name, mode_t perm, const void *data, size_t len,
		  struct carve_err *err);
int cpio_add_symlink(struct cpio_writer *w, const char *name, const char *target, struct carve_err *err);
int cpio_add_special(struct cpio_writer *w, const char *name, mode_t type, mode_t perm, dev_t rdev,
		     struct carve_err *err);
/* A regular file of `size` bytes pulled through read_fn. */
int cpio_add_stream(struct cpio_writer *w, const char *name, mode_t perm, uint64_t size, cpio_read_fn read_fn,
		    void *ctx, struct carve_err *err);
/* Any entry with the metadata spelled out: what image layers give (owners,
 * hard links). A regular file's `size` bytes are pulled through read_fn;
 * files with the same non-zero `ino` and nlink > 1 are hard links of one
 * file (each entry carries the data, which every newc reader accepts). */
struct cpio_item {
	const char *name;
	mode_t mode; /* type and permissions */
	uid_t uid;
	gid_t gid;
	uint64_t size;
	const char *target; /* symlinks */
	dev_t rdev;
	uint64_t ino;   /* 0: the next number */
	unsigned nlink; /* 0: the usual 1 (2 for directories) */
};
int cpio_add(struct cpio_writer *w, const struct cpio_item *it, cpio_read_fn read_fn, void *ctx,
	     struct carve_err *err);
/* A fresh inode number, for a group of hard links. */
uint64_t cpio_next_ino(struct cpio_writer *w);
int cpio_close(struct cpio_writer *w, struct carve_err *err);

#endif
