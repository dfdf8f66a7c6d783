/* Private to the image part: the root filesystem being assembled from the
 * layers, held in memory (names, modes, owners, link targets); file contents
 * sit in the image's spill file at fs_data.off. Paths given here are clean
 * (image_path_clean): relative, no "." or ".." components, no empty ones. */
#ifndef CARVE_IMAGE_FSTREE_H
#define CARVE_IMAGE_FSTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The contents of a regular file; shared by its hard links. */
struct fs_data {
	uint64_t off, size;
	unsigned refs; /* names in the tree */
	uint64_t id;
};

struct fs_node {
	char *name;
	mode_t mode; /* type and permissions */
	uid_t uid;
	gid_t gid;
	unsigned layer;        /* the layer that last wrote this node */
	struct fs_node **kids; /* directories: sorted by strcmp */
	size_t nkids, cap;
	struct fs_data *data; /* regular files */
	char *target;         /* symlinks */
	dev_t rdev;
};

struct fs_tree {
	struct fs_node root;
	uint64_t next_id;
};

/* What one layer entry says about a path. */
struct fs_attrs {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	const char *target; /* symlinks */
	dev_t rdev;
	uint64_t off, size; /* regular files: contents in the spill file */
};

/* Normalises a layer entry's name: leading "/" and "./" dropped, "." and
 * empty components removed, a trailing "/" dropped. "" is the root. Returns
 * 0, -1 for a ".." component (an entry that would leave the root), -2 when
 * the result does not fit in cap. */
int image_path_clean(const char *in, char *out, size_t cap);

enum whiteout_kind {
	WH_NONE,   /* an ordinary name */
	WH_FILE,   /* ".wh.<name>": delete <name> from the layers below */
	WH_OPAQUE, /* ".wh..wh..opq": hide what the layers below had in this directory */
	WH_OTHER,  /* ".wh..wh.<x>": aufs bookkeeping, never part of the result */
};
/* Classifies a base name; for WH_FILE *hidden is the deleted name. */
enum whiteout_kind whiteout_kind(const char *base, const char **hidden);

void fs_tree_init(struct fs_tree *t);
void fs_tree_free(struct fs_tree *t);
struct fs_node *fs_lookup(struct fs_tree *t, const char *path);

/* Writes the entry at path for `layer`. Missing parents become 0755
 * directories; a parent that is not a directory is replaced by one. A
 * directory over a directory keeps the contents and takes the new
 * attributes; anything else replaces what was there. 0, or -ENOMEM. */
int fs_put(struct fs_tree *t, const char *path, const struct fs_attrs *a, unsigned layer);
/* A hard link at path to the regular file at target (a copy when target is
 * a symlink). -ENOENT when target is missing or of another type. */
int fs_link(struct fs_tree *t, const char *path, const char *target, unsigned layer);
/* Deletes dir/name if a lower layer wrote it (whiteouts never delete what
 * their own layer writes, whatever the order inside the layer). */
int fs_whiteout(struct fs_tree *t, const char *dir, const char *name, unsigned layer);
/* Removes from dir everything lower layers wrote; what `layer` wrote stays. */
int fs_opaque(struct fs_tree *t, const char *dir, unsigned layer);

#endif
