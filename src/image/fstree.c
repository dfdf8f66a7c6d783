/* The in-memory root filesystem the layers are applied to (see fstree.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/fstree.h"

int image_path_clean(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l == 0)
			break;
		if (l == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (!(l == 1 && p[0] == '.')) {
			if (o + (o ? 1 : 0) + l + 1 > cap)
				return -2;
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, l);
			o += l;
		}
		p += l;
	}
	if (cap == 0)
		return -2;
	out[o] = '\0';
	return 0;
}

enum whiteout_kind whiteout_kind(const char *base, const char **hidden)
{
	if (strncmp(base, ".wh.", 4) != 0)
		return WH_NONE;
	if (!strcmp(base, ".wh..wh..opq"))
		return WH_OPAQUE;
	if (!strncmp(base, ".wh..wh.", 8))
		return WH_OTHER;
	*hidden = base + 4;
	/* ".wh." alone, ".wh.." and ".wh..." would hide nothing that can exist. */
	if (!**hidden || !strcmp(*hidden, ".") || !strcmp(*hidden, ".."))
		return WH_OTHER;
	return WH_FILE;
}

static void node_free(struct fs_node *n);

static void node_clear(struct fs_node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	n->kids = NULL;
	n->nkids = n->cap = 0;
	if (n->data && --n->data->refs == 0)
		free(n->data);
	n->data = NULL;
	free(n->target);
	n->target = NULL;
}

static void node_free(struct fs_node *n)
{
	node_clear(n);
	free(n->name);
	free(n);
}

void fs_tree_init(struct fs_tree *t)
{
	memset(t, 0, sizeof(*t));
	t->root.mode = S_IFDIR | 0755;
}

void fs_tree_free(struct fs_tree *t) { node_clear(&t->root); }

/* Index of name in dir's sorted children, or where it would go (*found false). */
static size_t kid_index(const struct fs_node *dir, const char *name, size_t len, bool *found)
{
	size_t lo = 0, hi = dir->nkids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = dir->kids[mid]->name;
		int c = strncmp(k, name, len);
		if (c == 0)
			c = k[len] ? 1 : 0;
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct fs_node *kid_insert(struct fs_node *dir, size_t at, const char *name, size_t len)
{
	if (dir->nkids == dir->cap) {
		size_t cap = dir->cap ? dir->cap * 2 : 8;
		struct fs_node **k = realloc(dir->kids, cap * sizeof(*k));
		if (!k)
			return NULL;
		dir->kids = k;
		dir->cap = cap;
	}
	struct fs_node *n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strndup(name, len))) {
		free(n);
		return NULL;
	}
	memmove(dir->kids + at + 1, dir->kids + at, (dir->nkids - at) * sizeof(*dir->kids));
	dir->kids[at] = n;
	dir->nkids++;
	return n;
}

static void kid_remove(struct fs_node *dir, size_t at)
{
	node_free(dir->kids[at]);
	memmove(dir->kids + at, dir->kids + at + 1, (dir->nkids - at - 1) * sizeof(*dir->kids));
	dir->nkids--;
}

#define MAX_HOPS 40 /* symlinks followed in one path, as Linux's MAXSYMLINKS */
#define MAX_DEPTH 1024
#define PATH_CAP 8192

/* The directory a path names inside the tree, following symlinks in every
 * component with the tree as the root ("/" and ".." stop at it), as the
 * image's own programs will see it. Fills canon with its symlink-free path.
 * NULL when it is missing, not a directory, or the links loop. */
static struct fs_node *resolve_dir(struct fs_tree *t, const char *path, char *canon, size_t cap)
{
	struct fs_node **stack = malloc(MAX_DEPTH * sizeof(*stack));
	char *work = malloc(PATH_CAP), *next = malloc(PATH_CAP);
	struct fs_node *res = NULL;
	if (!stack || !work || !next || snprintf(work, PATH_CAP, "%s", path) >= PATH_CAP)
		goto out;
	size_t depth = 0, clen = 0;
	stack[0] = &t->root;
	canon[0] = '\0';
	int hops = 0;
	const char *p = work;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p) {
			res = stack[depth];
			break;
		}
		size_t len = strcspn(p, "/");
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (depth) {
				depth--;
				char *slash = strrchr(canon, '/');
				clen = slash ? (size_t)(slash - canon) : 0;
				canon[clen] = '\0';
			}
			p += len;
			continue;
		}
		bool found;
		size_t at = kid_index(stack[depth], p, len, &found);
		if (!found)
			break;
		struct fs_node *n = stack[depth]->kids[at];
		if (S_ISLNK(n->mode)) {
			if (++hops > MAX_HOPS || !n->target)
				break;
			/* Start again from the root: the target, then the rest. */
			int w = n->target[0] == '/'
				? snprintf(next, PATH_CAP, "%s/%s", n->target, p + len)
				: snprintf(next, PATH_CAP, "%s/%s/%s", canon, n->target, p + len);
			if (w < 0 || w >= PATH_CAP)
				break;
			memcpy(work, next, (size_t)w + 1);
			p = work;
			depth = clen = 0;
			canon[0] = '\0';
			continue;
		}
		if (!S_ISDIR(n->mode) || depth + 1 >= MAX_DEPTH || clen + len + 2 > cap)
			break;
		stack[++depth] = n;
		clen += (size_t)snprintf(canon + clen, cap - clen, "%s%.*s", clen ? "/" : "", (int)len, p);
		p += len;
	}
out:
	free(stack);
	free(work);
	free(next);
	return res;
}

/* Walks to the parent directory of path; *base is the last component. A
 * symlink to a directory on the way is followed inside the tree, as
 * unpacking a layer over a root filesystem would (merged-/usr images have
 * bin -> usr/bin). When `make`, missing directories are created and other
 * things in the way replaced by directories. */
static struct fs_node *walk_parent(struct fs_tree *t, const char *path, bool make, unsigned layer,
				   const char **base)
{
	struct fs_node *dir = &t->root;
	char canon[4096] = "", link[PATH_CAP];
	const char *p = path;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash) {
			*base = p;
			return dir;
		}
		size_t len = (size_t)(slash - p);
		bool found;
		size_t at = kid_index(dir, p, len, &found);
		struct fs_node *n = found ? dir->kids[at] : NULL;
		if (n && S_ISLNK(n->mode) && n->target) {
			int w = n->target[0] == '/' ? snprintf(link, sizeof(link), "%s", n->target)
						    : snprintf(link, sizeof(link), "%s/%s", canon, n->target);
			char to[sizeof(canon)];
			struct fs_node *d =
				w > 0 && w < (int)sizeof(link) ? resolve_dir(t, link, to, sizeof(to)) : NULL;
			if (d) {
				memcpy(canon, to, sizeof(canon));
				dir = d;
				p = slash + 1;
				continue;
			}
		}
		if (!n || !S_ISDIR(n->mode)) {
			if (!make)
				return NULL;
			if (n) {
				/* A file (or a dangling link) where the layer needs a
				 * directory: as when a tar is unpacked over it, the
				 * directory wins. */
				node_clear(n);
			} else if (!(n = kid_insert(dir, at, p, len))) {
				return NULL;
			}
			n->mode = S_IFDIR | 0755;
			n->uid = n->gid = 0;
			n->layer = layer;
		}
		size_t cl = strlen(canon);
		if (cl + len + 2 > sizeof(canon))
			return NULL;
		snprintf(canon + cl, sizeof(canon) - cl, "%s%.*s", cl ? "/" : "", (int)len, p);
		dir = n;
		p = slash + 1;
	}
}

struct fs_node *fs_lookup(struct fs_tree *t, const char *path)
{
	if (!*path)
		return &t->root;
	const char *base;
	struct fs_node *dir = walk_parent(t, path, false, 0, &base);
	if (!dir)
		return NULL;
	bool found;
	size_t at = kid_index(dir, base, strlen(base), &found);
	return found ? dir->kids[at] : NULL;
}

/* The node for path, created empty or, for a non-directory or a type
 * change, cleared for its new contents. */
static struct fs_node *node_for(struct fs_tree *t, const char *path, mode_t mode, unsigned layer)
{
	if (!*path) {
		t->root.layer = layer;
		return &t->root;
	}
	const char *base;
	struct fs_node *dir = walk_parent(t, path, true, layer, &base);
	if (!dir)
		return NULL;
	bool found;
	size_t at = kid_index(dir, base, strlen(base), &found);
	if (!found)
		return kid_insert(dir, at, base, strlen(base));
	struct fs_node *n = dir->kids[at];
	if (!(S_ISDIR(n->mode) && S_ISDIR(mode)))
		node_clear(n);
	return n;
}

int fs_put(struct fs_tree *t, const char *path, const struct fs_attrs *a, unsigned layer)
{
	if (!*path && !S_ISDIR(a->mode))
		return 0; /* the root stays a directory */
	struct fs_node *n = node_for(t, path, a->mode, layer);
	if (!n)
		return -ENOMEM;
	n->mode = a->mode;
	n->uid = a->uid;
	n->gid = a->gid;
	n->layer = layer;
	n->rdev = a->rdev;
	if (S_ISLNK(a->mode) && !(n->target = strdup(a->target ? a->target : "")))
		return -ENOMEM;
	if (S_ISREG(a->mode)) {
		if (!(n->data = calloc(1, sizeof(*n->data))))
			return -ENOMEM;
		*n->data = (struct fs_data){.off = a->off, .size = a->size, .refs = 1, .id = ++t->next_id};
	}
	return 0;
}

int fs_link(struct fs_tree *t, const char *path, const char *target, unsigned layer)
{
	struct fs_node *src = fs_lookup(t, target);
	if (!src || !*path)
		return -ENOENT;
	if (!strcmp(path, target))
		return 0;
	if (S_ISLNK(src->mode)) {
		/* GNU tar hard-links symlinks too; a second symlink reads the same. */
		char *to = strdup(src->target ? src->target : "");
		struct fs_attrs a = {.mode = src->mode, .uid = src->uid, .gid = src->gid, .target = to};
		int rc = to ? fs_put(t, path, &a, layer) : -ENOMEM;
		free(to);
		return rc;
	}
	if (!S_ISREG(src->mode))
		return -ENOENT;
	/* node_for may clear the node that holds the data: keep it alive. */
	struct fs_data *data = src->data;
	data->refs++;
	mode_t mode = src->mode;
	uid_t uid = src->uid;
	gid_t gid = src->gid;
	struct fs_node *n = node_for(t, path, mode, layer);
	if (!n) {
		if (--data->refs == 0)
			free(data);
		return -ENOMEM;
	}
	n->mode = mode;
	n->uid = uid;
	n->gid = gid;
	n->layer = layer;
	n->data = data;
	return 0;
}

/* Drops from dir what lower layers wrote: a node written by `layer` stays,
 * and so does a lower directory that still holds something of `layer`. */
static void prune_lower(struct fs_node *dir, unsigned layer)
{
	for (size_t i = dir->nkids; i-- > 0;) {
		struct fs_node *k = dir->kids[i];
		if (S_ISDIR(k->mode))
			prune_lower(k, layer);
		if (k->layer < layer && !(S_ISDIR(k->mode) && k->nkids))
			kid_remove(dir, i);
	}
}

/* The directory a whiteout or opaque marker sits in, through symlinks. */
static struct fs_node *marker_dir(struct fs_tree *t, const char *dir)
{
	char canon[4096];
	return resolve_dir(t, dir, canon, sizeof(canon));
}

int fs_whiteout(struct fs_tree *t, const char *dir, const char *name, unsigned layer)
{
	struct fs_node *d = marker_dir(t, dir);
	if (!d || !S_ISDIR(d->mode))
		return 0;
	bool found;
	size_t at = kid_index(d, name, strlen(name), &found);
	if (!found)
		return 0;
	struct fs_node *n = d->kids[at];
	if (n->layer < layer)
		kid_remove(d, at);
	else if (S_ISDIR(n->mode))
		prune_lower(n, layer); /* re-made in this layer: only the old contents go */
	return 0;
}

int fs_opaque(struct fs_tree *t, const char *dir, unsigned layer)
{
	struct fs_node *d = marker_dir(t, dir);
	if (d && S_ISDIR(d->mode))
		prune_lower(d, layer);
	return 0;
}
