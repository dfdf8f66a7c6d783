/* The file tree: the application ramdisk's rootfs/ (read-only data that stays
 * in the initrd) plus files and directories the program creates (in memory).
 * A ramdisk file opened for writing is copied to memory first. */
#ifndef CARVE_VFS_H
#define CARVE_VFS_H

#include "dir.h"
#include "kernel.h"

#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFREG 0100000
#define S_IFLNK 0120000
#define S_IFCHR 0020000
#define S_IFIFO 0010000

struct vnode {
	char name[256];
	uint32_t mode; /* type and permission bits */
	uint32_t uid, gid;
	uint64_t ino;
	uint64_t mtime;         /* seconds since the epoch */
	struct vnode *parent;   /* a directory's parent; the root is its own */
	struct vnode *children; /* directories: first child (dir.c: creation order) */
	struct vnode *next;     /* next sibling */
	struct vnode *prev;     /* previous sibling */
	struct vnode *hnext;    /* next in its directory's hash bucket */
	uint32_t hash;          /* of name, for that bucket */
	uint64_t dpos;          /* position in its directory (getdents offsets) */
	struct dir_index index; /* directories: the entries by name */
	const uint8_t *rodata;  /* ramdisk contents (NULL once copied to memory) */
	uint8_t *data;          /* in-memory contents (kmalloc) */
	uint64_t size, cap;
	int refs; /* open files and mappings */
	bool unlinked;
	int dev; /* character devices: DEV_* */
};

enum { DEV_NONE, DEV_NULL, DEV_ZERO, DEV_CONSOLE, DEV_URANDOM, DEV_NSM, DEV_VSOCK };

static inline const uint8_t *vn_bytes(const struct vnode *v) { return v->data ? v->data : v->rodata; }
static inline bool vn_is_dir(const struct vnode *v) { return (v->mode & S_IFMT) == S_IFDIR; }
static inline bool vn_is_reg(const struct vnode *v) { return (v->mode & S_IFMT) == S_IFREG; }
static inline bool vn_is_lnk(const struct vnode *v) { return (v->mode & S_IFMT) == S_IFLNK; }

struct vnode *vfs_root(void);
void vfs_init(void);
/* Adds a ramdisk entry at path (relative to /, no leading slash), creating
 * missing parent directories. Later entries replace earlier ones. */
int vfs_add_ramdisk(const char *path, uint32_t mode, const uint8_t *data, uint64_t size, uint64_t mtime);

#define LOOKUP_FOLLOW 1 /* follow a symlink in the last component */
#define LOOKUP_PARENT 2 /* return the parent dir and the last name */
/* Resolves path from dir (absolute paths from /). Returns 0 or -errno. */
int vfs_lookup(struct vnode *dir, const char *path, int flags, struct vnode **out);
/* The parent directory and last component of path (name points into path). */
int vfs_lookup_parent(struct vnode *dir, const char *path, struct vnode **parent, const char **name,
		      size_t *nlen);
struct vnode *vfs_child(struct vnode *dir, const char *name, size_t n);
int vfs_create(struct vnode *dir, const char *name, size_t n, uint32_t mode, struct vnode **out);
int vfs_unlink(struct vnode *dir, const char *name, size_t n, bool rmdir);
int vfs_rename(struct vnode *od, const char *on, size_t onl, struct vnode *nd, const char *nn, size_t nnl);
/* Makes a ramdisk file's contents writable memory; grows or shrinks to size. */
int vfs_make_writable(struct vnode *v);
int vfs_truncate(struct vnode *v, uint64_t size);
int64_t vfs_write(struct vnode *v, const void *buf, uint64_t len, uint64_t off);
/* The absolute path of v into buf. */
int vfs_path(struct vnode *v, char *buf, size_t cap);
void vn_ref(struct vnode *v);
void vn_unref(struct vnode *v);

#endif
