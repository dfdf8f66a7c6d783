/* The file tree: the application ramdisk's rootfs/ (read-only data that stays
 * in the initrd) plus files and directories the program creates (in memory).
 * A ramdisk file opened for writing is copied to memory first.
 *
 * A regular file's writable contents are pages (struct fpages), as tmpfs
 * keeps them: a MAP_SHARED mapping maps the file's own pages (vm.c), so what
 * one process writes through it every other mapping and read() sees, and
 * the pages outlive the file while mapped (page_get/page_put owners). Hard
 * links share one fpages; each link is a vnode of its own (the tree gives a
 * vnode one name), kept in a ring so a size change reaches them all. */
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

/* The pages of a regular file's contents, shared by its hard links. */
struct fpages {
	uint64_t *pa; /* physical page of each file page; 0: a hole (zeros) */
	uint64_t n;   /* entries in pa */
	int links;    /* vnodes sharing it */
};

struct vnode {
	char name[256];
	uint32_t mode; /* type and permission bits */
	uint32_t uid, gid;
	uint64_t ino;
	uint64_t mtime;          /* seconds since the epoch */
	struct vnode *parent;    /* a directory's parent; the root is its own */
	struct vnode *children;  /* directories: first child (dir.c: creation order) */
	struct vnode *next;      /* next sibling */
	struct vnode *prev;      /* previous sibling */
	struct vnode *hnext;     /* next in its directory's hash bucket */
	uint32_t hash;           /* of name, for that bucket */
	uint64_t dpos;           /* position in its directory (getdents offsets) */
	struct dir_index index;  /* directories: the entries by name */
	const uint8_t *rodata;   /* ramdisk contents (NULL once copied to memory) */
	uint8_t *data;           /* in-memory contents of symlinks and /proc snapshots (kmalloc) */
	struct fpages *pages;    /* in-memory contents of regular files (NULL: rodata or data) */
	struct vnode *link_next; /* the ring of its hard links (NULL: none) */
	uint64_t size, cap;
	int refs; /* open files and mappings */
	bool unlinked;
	int dev; /* character devices: DEV_* */
};

enum { DEV_NONE, DEV_NULL, DEV_ZERO, DEV_CONSOLE, DEV_URANDOM, DEV_NSM, DEV_VSOCK };

/* Contiguous contents: not for page-backed files (vfs_read reads any). */
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
/* buf may be user memory the caller checked (user_ok). */
int64_t vfs_write(struct vnode *v, const void *buf, uint64_t len, uint64_t off);
/* Copies up to len bytes from off into kernel memory (or checked user
 * memory); the count (0 at or past the end). */
uint64_t vfs_read(const struct vnode *v, void *dst, uint64_t len, uint64_t off);
/* The same into user memory the caller checked; long runs are copied at
 * CPL3 (helper.c). The count, or -EFAULT if nothing could be copied. */
int64_t vfs_read_user(const struct vnode *v, uint64_t dst, uint64_t len, uint64_t off);
/* Zeroes [off, off+len) of the file's contents (within its size). */
int vfs_zero_range(struct vnode *v, uint64_t off, uint64_t len);
/* The physical page holding file page idx of a page-backed file, made (zero)
 * if it is a hole and make; 0 if none (or out of memory). */
uint64_t vfs_page(struct vnode *v, uint64_t idx, bool make);
/* A second name for the regular file v in dir (hard link). */
int vfs_link(struct vnode *v, struct vnode *dir, const char *name, size_t n);
/* vm.c: every mapping of pg drops its pages from file page idx on (the
 * file shrank: an access there is SIGBUS), before the file lets them go. */
void vm_file_shrunk(const struct fpages *pg, uint64_t idx);
/* memfd.c: an unlinked page-backed file of size bytes (shared anonymous
 * memory), freed with its last reference; NULL if out of memory. */
struct vnode *shmem_vnode(uint64_t size);
/* Names the file has (st_nlink). */
uint32_t vfs_nlink(const struct vnode *v);
/* The absolute path of v into buf. */
int vfs_path(struct vnode *v, char *buf, size_t cap);
void vn_ref(struct vnode *v);
void vn_unref(struct vnode *v);

#endif
