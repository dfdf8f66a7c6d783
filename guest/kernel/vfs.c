/* The file tree (see vfs.h). A directory's entries are indexed by name
 * (dir.c): a lookup is one hash and a compare or two, however many files the
 * ramdisk puts in one directory. */
#include "vfs.h"

#define ENOENT 2
#define ENOMEM 12
#define EPERM 1
#define EFBIG 27
#define EFAULT 14
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

static void fpages_put(struct fpages *pg)
{
	if (--pg->links > 0)
		return;
	for (uint64_t i = 0; i < pg->n; i++)
		if (pg->pa[i])
			page_put(pg->pa[i]);
	kfree(pg->pa);
	kfree(pg);
}

static void vn_free(struct vnode *v)
{
	if (v->link_next) { /* leave the ring of links */
		struct vnode *p = v->link_next;
		while (p->link_next != v)
			p = p->link_next;
		p->link_next = v->link_next == p ? NULL : v->link_next;
	}
	if (v->pages)
		fpages_put(v->pages);
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

/* Symlinks (and nothing else written) keep contiguous bytes. */
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

#define MAX_FILE_PAGES (1ull << 20) /* 4 GiB, more than the RAM used */

static uint64_t pages_for(uint64_t size) { return ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE; }

/* Room for n entries in the page array. */
static int fpages_hold(struct fpages *pg, uint64_t n)
{
	if (n <= pg->n)
		return 0;
	if (n > MAX_FILE_PAGES)
		return -ENOMEM;
	uint64_t cap = MIN(MAX(n, MAX(pg->n * 2, 4ull)), MAX_FILE_PAGES);
	uint64_t *a = kmalloc(cap * sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (pg->n)
		memcpy(a, pg->pa, pg->n * sizeof(*a));
	kfree(pg->pa);
	pg->pa = a;
	pg->n = cap;
	return 0;
}

/* A regular file's contents become pages (from the ramdisk's bytes, or
 * none for an empty file). */
static int make_paged(struct vnode *v)
{
	if (v->pages)
		return 0;
	struct fpages *pg = kmalloc(sizeof(*pg));
	if (!pg)
		return -ENOMEM;
	pg->links = 1;
	const uint8_t *src = vn_bytes(v);
	uint64_t n = pages_for(v->size);
	int r = fpages_hold(pg, n);
	for (uint64_t i = 0; r == 0 && i < n; i++) {
		if (!(pg->pa[i] = page_alloc()))
			r = -ENOMEM;
		else
			memcpy(phys_to_virt(pg->pa[i]), src + i * PAGE_SIZE,
			       MIN(PAGE_SIZE, v->size - i * PAGE_SIZE));
	}
	if (r < 0) {
		fpages_put(pg);
		return r;
	}
	v->pages = pg;
	kfree(v->data);
	v->data = NULL;
	v->rodata = NULL;
	v->cap = 0;
	return 0;
}

uint64_t vfs_page(struct vnode *v, uint64_t idx, bool make)
{
	struct fpages *pg = v->pages;
	if (!pg)
		return 0;
	if (idx < pg->n && pg->pa[idx])
		return pg->pa[idx];
	if (!make || fpages_hold(pg, idx + 1) < 0)
		return 0;
	return pg->pa[idx] = page_alloc();
}

/* Every link sees the same size. */
static void set_size(struct vnode *v, uint64_t size)
{
	v->size = size;
	for (struct vnode *l = v->link_next; l && l != v; l = l->link_next)
		l->size = size;
}

int vfs_make_writable(struct vnode *v)
{
	if (vn_is_reg(v))
		return make_paged(v);
	return v->data ? 0 : reserve(v, v->size);
}

/* Copies src (NULL: zeros) into [off, off+len) of a page-backed file,
 * making the pages it needs. */
static int paged_fill(struct vnode *v, const uint8_t *src, uint64_t len, uint64_t off)
{
	while (len) {
		uint64_t in = off & ~PAGE_MASK, c = MIN(len, PAGE_SIZE - in);
		uint64_t pa = vfs_page(v, off / PAGE_SIZE, src != NULL);
		if (pa) {
			if (src)
				memcpy((uint8_t *)phys_to_virt(pa) + in, src, c);
			else
				memset((uint8_t *)phys_to_virt(pa) + in, 0, c);
		} else if (src) {
			return -ENOMEM;
		}
		if (src)
			src += c;
		off += c;
		len -= c;
	}
	return 0;
}

/* The bytes of the last page past the old end are zeroed when the file
 * grows over them: a shared mapping may have written there (Linux zeroes
 * them too). */
static void clear_tail(struct vnode *v, uint64_t upto)
{
	uint64_t end = MIN(upto, ALIGN_UP(v->size, PAGE_SIZE));
	if (end > v->size)
		paged_fill(v, NULL, end - v->size, v->size);
}

int vfs_truncate(struct vnode *v, uint64_t size)
{
	if (!vn_is_reg(v))
		return vn_is_dir(v) ? -EISDIR : -EINVAL;
	if (pages_for(size) > MAX_FILE_PAGES)
		return -EFBIG;
	int r = make_paged(v);
	if (r < 0)
		return r;
	if (size >= v->size) {
		clear_tail(v, size);
		set_size(v, size);
		return 0;
	}
	struct fpages *pg = v->pages;
	uint64_t keep = pages_for(size);
	vm_file_shrunk(pg, keep);
	for (uint64_t i = keep; i < pg->n; i++)
		if (pg->pa[i]) {
			page_put(pg->pa[i]);
			pg->pa[i] = 0;
		}
	/* The rest of the last page reads as zeros, through a mapping too. */
	if (size & ~PAGE_MASK)
		paged_fill(v, NULL, PAGE_SIZE - (size & ~PAGE_MASK), size);
	set_size(v, size);
	return 0;
}

int64_t vfs_write(struct vnode *v, const void *buf, uint64_t len, uint64_t off)
{
	if (off + len < off)
		return -EINVAL;
	if (!vn_is_reg(v)) {
		int r = reserve(v, off + len);
		if (r < 0)
			return r;
		if (off > v->size)
			memset(v->data + v->size, 0, off - v->size);
		memcpy(v->data + off, buf, len);
		if (off + len > v->size)
			v->size = off + len;
	} else {
		if (pages_for(off + len) > MAX_FILE_PAGES)
			return -EFBIG;
		int r = make_paged(v);
		if (r < 0 || (r = fpages_hold(v->pages, pages_for(off + len))) < 0)
			return r;
		if (off > v->size)
			clear_tail(v, off);
		if ((r = paged_fill(v, buf, len, off)) < 0)
			return r;
		if (off + len > v->size)
			set_size(v, off + len);
	}
	v->mtime = time_realtime_ns() / 1000000000ull;
	return (int64_t)len;
}

int vfs_zero_range(struct vnode *v, uint64_t off, uint64_t len)
{
	if (off >= v->size)
		return 0;
	len = MIN(len, v->size - off);
	int r = vfs_make_writable(v);
	if (r < 0)
		return r;
	if (v->pages)
		return paged_fill(v, NULL, len, off);
	memset(v->data + off, 0, len);
	return 0;
}

uint64_t vfs_read(const struct vnode *v, void *dst, uint64_t len, uint64_t off)
{
	if (off >= v->size)
		return 0;
	uint64_t n = MIN(len, v->size - off);
	if (!v->pages) {
		memcpy(dst, vn_bytes(v) + off, n);
		return n;
	}
	uint8_t *d = dst;
	for (uint64_t done = 0; done < n;) {
		uint64_t at = off + done, in = at & ~PAGE_MASK, c = MIN(n - done, PAGE_SIZE - in);
		uint64_t idx = at / PAGE_SIZE;
		uint64_t pa = idx < v->pages->n ? v->pages->pa[idx] : 0;
		if (pa)
			memcpy(d + done, (const uint8_t *)phys_to_virt(pa) + in, c);
		else
			memset(d + done, 0, c);
		done += c;
	}
	return n;
}

/* The source of a hole's bytes in a copy list: never written, never mapped. */
static uint64_t zero_page(void)
{
	static uint64_t pa;
	if (!pa)
		pa = page_alloc();
	return pa;
}

int64_t vfs_read_user(const struct vnode *v, uint64_t dst, uint64_t len, uint64_t off)
{
	if (off >= v->size)
		return 0;
	uint64_t n = MIN(len, v->size - off);
	if (n < HELPER_COPY_MIN || !helper_ready()) {
		vfs_read(v, (void *)dst, n, off);
		return (int64_t)n;
	}
	if (!v->pages) {
		helper_copy_to_user(dst, vn_bytes(v) + off, n);
		return (int64_t)n;
	}
	uint64_t zero = zero_page();
	if (!zero)
		return -ENOMEM;
	uint64_t done = 0;
	while (done < n) {
		struct hcopy list[HELPER_LIST_MAX];
		int k = 0;
		uint64_t want = 0;
		for (uint64_t at = off + done; k < HELPER_LIST_MAX && done + want < n; k++) {
			uint64_t in = at & ~PAGE_MASK, c = MIN(n - done - want, PAGE_SIZE - in);
			uint64_t idx = at / PAGE_SIZE;
			uint64_t pa = idx < v->pages->n ? v->pages->pa[idx] : 0;
			list[k] = (struct hcopy){.dst = dst + done + want,
						 .src = pa ? pa + in : zero,
						 .len = c,
						 .src_kernel = true};
			want += c;
			at += c;
		}
		uint64_t got = helper_copy_list(list, k);
		done += got;
		if (got < want)
			break;
	}
	return done ? (int64_t)done : -EFAULT;
}

int vfs_link(struct vnode *v, struct vnode *dir, const char *name, size_t n)
{
	if (!vn_is_reg(v))
		return -EPERM; /* links of other kinds are not kept */
	if (vfs_child(dir, name, n) || (n == 1 && name[0] == '.') ||
	    (n == 2 && name[0] == '.' && name[1] == '.'))
		return -EEXIST;
	int r = make_paged(v);
	if (r < 0)
		return r;
	struct vnode *l = vn_new(name, n, v->mode);
	if (!l)
		return -ENOMEM;
	l->uid = v->uid;
	l->gid = v->gid;
	l->ino = v->ino; /* one file: stat shows the same inode */
	l->mtime = v->mtime;
	l->size = v->size;
	l->pages = v->pages;
	l->pages->links++;
	l->link_next = v->link_next ? v->link_next : v;
	v->link_next = l;
	attach(dir, l);
	return 0;
}

uint32_t vfs_nlink(const struct vnode *v)
{
	if (vn_is_dir(v))
		return 2;
	uint32_t n = v->unlinked ? 0 : 1;
	for (const struct vnode *l = v->link_next; l && l != v; l = l->link_next)
		n += !l->unlinked;
	return n;
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
