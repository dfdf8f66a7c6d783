/* The file tree (see vfs.h). A directory's entries are indexed by name
 * (dir.c): a lookup is one hash and a compare or two, however many files the
 * ramdisk puts in one directory. */
#include "vfs.h"

#define ENOENT 2
#define ENOMEM 12
#define EEXIST 17
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define ENAMETOOLONG 36
#define ENOTEMPTY 39
#define ELOOP 40
#define MAX_SYMLINKS 40

static struct vnode *root;
static uint64_t next_ino = 1;

struct vnode *vfs_root(void) { return root; }

static struct vnode *vn_new(const char *name, size_t n, uint32_t mode)
{
	if (n > 255)
		return NULL;
	struct vnode *v = kmalloc(sizeof(*v));
	if (!v)
		return NULL;
	memcpy(v->name, name, n);
	v->name[n] = 0;
	v->mode = mode;
	v->ino = next_ino++;
	return v;
}

void vfs_init(void)
{
	root = vn_new("", 0, S_IFDIR | 0755);
	if (!root)
		panic("out of memory for the root directory");
	root->parent = root;
}

struct vnode *vfs_child(struct vnode *dir, const char *name, size_t n)
{
	if (!vn_is_dir(dir))
		return NULL;
	if (n == 1 && name[0] == '.')
		return dir;
	if (n == 2 && name[0] == '.' && name[1] == '.')
		return dir->parent;
	return dir_find(dir, name, n);
}

static void attach(struct vnode *dir, struct vnode *v) { dir_insert(dir, v); }

static void detach(struct vnode *v) { dir_remove(v); }

void vn_ref(struct vnode *v) { v->refs++; }

static void vn_free(struct vnode *v)
{
	dir_free(v);
	kfree(v->data);
	kfree(v);
}

void vn_unref(struct vnode *v)
{
	if (--v->refs <= 0 && v->unlinked)
		vn_free(v);
}

int vfs_add_ramdisk(const char *path, uint32_t mode, const uint8_t *data, uint64_t size, uint64_t mtime)
{
	struct vnode *dir = root;
	while (*path) {
		while (*path == '/')
			path++;
		const char *end = path;
		while (*end && *end != '/')
			end++;
		size_t n = (size_t)(end - path);
		if (!n)
			break;
		const char *rest = end;
		while (*rest == '/')
			rest++;
		bool last = !*rest;
		if (n == 1 && path[0] == '.') {
			path = end; /* "." itself is the root, which exists */
			continue;
		}
		if ((n == 2 && path[0] == '.' && path[1] == '.'))
			return -EINVAL; /* an archive must not climb out of rootfs/ */
		struct vnode *c = vfs_child(dir, path, n);
		if (last) {
			if (c && vn_is_dir(c) && (mode & S_IFMT) == S_IFDIR) {
				c->mode = mode;
				c->mtime = mtime;
				return 0;
			}
			if (c) {
				if (vn_is_dir(c) && c->children)
					return -ENOTEMPTY;
				detach(c);
				c->unlinked = true;
				if (c->refs <= 0)
					vn_free(c);
			}
			struct vnode *v = vn_new(path, n, mode);
			if (!v)
				return -ENOMEM;
			v->rodata = data;
			v->size = size;
			v->mtime = mtime;
			attach(dir, v);
			return 0;
		}
		if (!c) {
			c = vn_new(path, n, S_IFDIR | 0755);
			if (!c)
				return -ENOMEM;
			attach(dir, c);
		} else if (!vn_is_dir(c)) {
			return -ENOTDIR;
		}
		dir = c;
		path = end;
	}
	return 0;
}

static int lookup(struct vnode *dir, const char *path, int flags, struct vnode **out, int *depth);

/* Follows the symlink v found in dir. The target is copied to the heap, not
 * the stack: a chain of links recurses, and the kernel stack is small. */
static int follow(struct vnode *dir, struct vnode *v, struct vnode **out, int *depth)
{
	if (++*depth > MAX_SYMLINKS)
		return -ELOOP;
	if (v->size == 0 || v->size >= 4096)
		return v->size ? -ENAMETOOLONG : -ENOENT;
	char *target = kmalloc(v->size + 1);
	if (!target)
		return -ENOMEM;
	memcpy(target, vn_bytes(v), v->size);
	target[v->size] = 0;
	int r = lookup(dir, target, LOOKUP_FOLLOW, out, depth);
	kfree(target);
	return r;
}

static int lookup(struct vnode *dir, const char *path, int flags, struct vnode **out, int *depth)
{
	if (!*path)
		return -ENOENT;
	struct vnode *cur = path[0] == '/' ? root : dir;
	const char *p = path;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = p;
		while (*end && *end != '/')
			end++;
		size_t n = (size_t)(end - p);
		if (n > 255)
			return -ENAMETOOLONG;
		if (!vn_is_dir(cur))
			return -ENOTDIR;
		struct vnode *next = vfs_child(cur, p, n);
		if (!next)
			return -ENOENT;
		const char *rest = end;
		while (*rest == '/')
			rest++;
		bool last = !*rest;
		if (vn_is_lnk(next) && (!last || (flags & LOOKUP_FOLLOW) || *end == '/')) {
			int r = follow(cur, next, &next, depth);
			if (r < 0)
				return r;
		}
		cur = next;
		p = end;
	}
	*out = cur;
	return 0;
}

int vfs_lookup(struct vnode *dir, const char *path, int flags, struct vnode **out)
{
	int depth = 0;
	return lookup(dir, path, flags, out, &depth);
}

int vfs_lookup_parent(struct vnode *dir, const char *path, struct vnode **parent, const char **name,
		      size_t *nlen)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (!len)
		return -ENOENT;
	size_t s = len;
	while (s > 0 && path[s - 1] != '/')
		s--;
	*name = path + s;
	*nlen = len - s;
	if (*nlen > 255)
		return -ENAMETOOLONG;
	if (s == 0) {
		*parent = dir;
	} else {
		char buf[4096];
		if (s >= sizeof(buf))
			return -ENAMETOOLONG;
		memcpy(buf, path, s);
		buf[s] = 0;
		int r = vfs_lookup(dir, buf, LOOKUP_FOLLOW, parent);
		if (r < 0)
			return r;
	}
	if (!vn_is_dir(*parent))
		return -ENOTDIR;
	if (*nlen == 0) { /* "/" */
		*name = ".";
		*nlen = 1;
	}
	return 0;
}

int vfs_create(struct vnode *dir, const char *name, size_t n, uint32_t mode, struct vnode **out)
{
	if (vfs_child(dir, name, n))
		return -EEXIST;
	if ((n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
		return -EEXIST;
	struct vnode *v = vn_new(name, n, mode);
	if (!v)
		return -ENOMEM;
	v->mtime = time_realtime_ns() / 1000000000ull;
	attach(dir, v);
	*out = v;
	return 0;
}

int vfs_unlink(struct vnode *dir, const char *name, size_t n, bool rmdir)
{
	struct vnode *v = vfs_child(dir, name, n);
	if (!v || v == dir || v == dir->parent)
		return v ? -EINVAL : -ENOENT;
	if (rmdir && !vn_is_dir(v))
		return -ENOTDIR;
	if (!rmdir && vn_is_dir(v))
		return -EISDIR;
	if (rmdir && v->children)
		return -ENOTEMPTY;
	detach(v);
	v->unlinked = true;
	if (v->refs <= 0)
		vn_free(v);
	return 0;
}

int vfs_rename(struct vnode *od, const char *on, size_t onl, struct vnode *nd, const char *nn, size_t nnl)
{
	struct vnode *v = vfs_child(od, on, onl);
	if (!v || v == od || v == od->parent)
		return v ? -EINVAL : -ENOENT;
	for (struct vnode *a = nd; a != root; a = a->parent)
		if (a == v)
			return -EINVAL; /* into its own subtree */
	if (nnl > 255)
		return -ENAMETOOLONG;
	struct vnode *old = vfs_child(nd, nn, nnl);
	if (old == v)
		return 0;
	if (old) {
		if (vn_is_dir(old) && (!vn_is_dir(v) || old->children))
			return vn_is_dir(v) ? -ENOTEMPTY : -EISDIR;
		if (!vn_is_dir(old) && vn_is_dir(v))
			return -ENOTDIR;
		detach(old);
		old->unlinked = true;
		if (old->refs <= 0)
			vn_free(old);
	}
	detach(v);
	memcpy(v->name, nn, nnl);
	v->name[nnl] = 0;
	attach(nd, v);
	return 0;
}

static int reserve(struct vnode *v, uint64_t want)
{
	if (want <= v->cap && v->data)
		return 0;
	if (want > (1ull << 32))
		return -ENOMEM;
	uint64_t cap = MAX(want, MAX(v->cap * 2, 256ull));
	uint8_t *d = kmalloc(cap);
	if (!d)
		return -ENOMEM;
	const uint8_t *old = vn_bytes(v);
	if (old && v->size)
		memcpy(d, old, v->size);
	kfree(v->data);
	v->data = d;
	v->rodata = NULL;
	v->cap = cap;
	return 0;
}

int vfs_make_writable(struct vnode *v) { return v->data ? 0 : reserve(v, v->size); }

int vfs_truncate(struct vnode *v, uint64_t size)
{
	if (!vn_is_reg(v))
		return vn_is_dir(v) ? -EISDIR : -EINVAL;
	if (size > v->size) {
		int r = reserve(v, size);
		if (r < 0)
			return r;
		memset(v->data + v->size, 0, size - v->size);
	} else if (!v->data && size < v->size) {
		int r = reserve(v, size);
		if (r < 0)
			return r;
	}
	v->size = size;
	return 0;
}

int64_t vfs_write(struct vnode *v, const void *buf, uint64_t len, uint64_t off)
{
	if (off + len < off)
		return -EINVAL;
	int r = reserve(v, off + len);
	if (r < 0)
		return r;
	if (off > v->size)
		memset(v->data + v->size, 0, off - v->size);
	memcpy(v->data + off, buf, len);
	if (off + len > v->size)
		v->size = off + len;
	v->mtime = time_realtime_ns() / 1000000000ull;
	return (int64_t)len;
}

int vfs_path(struct vnode *v, char *buf, size_t cap)
{
	if (v == root) {
		if (cap < 2)
			return -ENAMETOOLONG;
		buf[0] = '/';
		buf[1] = 0;
		return 1;
	}
	/* Build from the end, then move to the front. */
	size_t pos = cap;
	if (pos < 1)
		return -ENAMETOOLONG;
	buf[--pos] = 0;
	for (struct vnode *a = v; a != root; a = a->parent) {
		size_t n = strlen(a->name);
		if (pos < n + 1)
			return -ENAMETOOLONG;
		pos -= n;
		memcpy(buf + pos, a->name, n);
		buf[--pos] = '/';
		if (a->unlinked)
			break;
	}
	size_t len = cap - pos - 1;
	memmove(buf, buf + pos, len + 1);
	return (int)len;
}
