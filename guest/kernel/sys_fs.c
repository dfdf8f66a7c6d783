/* File-system calls: open, read and write, stat, directories, links. Every
 * user pointer goes through copy_from_user/copy_to_user/user_ok first. */
#include "syscalls.h"
#include "virtio.h"

#define O_ACCMODE 3
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define O_TMPFILE_BIT 020000000
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR 0x200
#define AT_EMPTY_PATH 0x1000
#define PATH_MAX 4096

int at_dir(int64_t dirfd, const char *path, struct vnode **dir)
{
	if (path[0] == '/') {
		*dir = vfs_root();
		return 0;
	}
	if ((int)dirfd == AT_FDCWD) {
		*dir = proc.cwd;
		return 0;
	}
	struct file *f = fd_get((int)dirfd);
	if (!f || !f->vn)
		return -EBADF;
	if (!vn_is_dir(f->vn))
		return -ENOTDIR;
	*dir = f->vn;
	return 0;
}

/* Copies a user path; -EFAULT, -ENAMETOOLONG, or -ENOENT for "" unless allowed. */
static int get_path(uint64_t upath, char *buf, bool allow_empty)
{
	int64_t n = strncpy_from_user(buf, upath, PATH_MAX);
	if (n < 0)
		return (int)n;
	if (n == 0 && !allow_empty)
		return -ENOENT;
	return 0;
}

static int do_open(int64_t dirfd, uint64_t upath, int flags, uint32_t mode)
{
	char path[PATH_MAX];
	int r = get_path(upath, path, false);
	if (r < 0)
		return r;
	if (flags & O_TMPFILE_BIT)
		return -EOPNOTSUPP;
	struct vnode *dir, *v;
	if ((r = at_dir(dirfd, path, &dir)) < 0)
		return r;
	r = vfs_lookup(dir, path, (flags & O_NOFOLLOW) ? 0 : LOOKUP_FOLLOW, &v);
	if (r == -ENOENT && (flags & O_CREAT)) {
		struct vnode *parent;
		const char *name;
		size_t n;
		if ((r = vfs_lookup_parent(dir, path, &parent, &name, &n)) < 0)
			return r;
		if (name[n] == '/')
			return -EISDIR;
		if ((r = vfs_create(parent, name, n, S_IFREG | (mode & 07777 & ~proc.umask), &v)) < 0)
			return r;
	} else if (r < 0) {
		return r;
	} else if ((flags & O_CREAT) && (flags & O_EXCL)) {
		return -EEXIST;
	}
	if (vn_is_lnk(v) && !(flags & O_PATH))
		return -ELOOP;
	if ((flags & O_DIRECTORY) && !vn_is_dir(v))
		return -ENOTDIR;
	int acc = flags & O_ACCMODE;
	if (vn_is_dir(v) && (acc != 0 || (flags & O_TRUNC)))
		return -EISDIR;
	if (vn_is_reg(v) && (acc == O_WRONLY || acc == O_RDWR)) {
		if ((r = vfs_make_writable(v)) < 0)
			return r;
		if ((flags & O_TRUNC) && (r = vfs_truncate(v, 0)) < 0)
			return r;
	}
	struct file *f = file_new(v, flags);
	if (!f)
		return -ENOMEM;
	int fd = fd_alloc(f, 0, flags & O_CLOEXEC);
	if (fd < 0)
		file_put(f);
	return fd;
}

SYSCALL(open) { return do_open(AT_FDCWD, a0, (int)a1, (uint32_t)a2); }
SYSCALL(openat) { return do_open((int64_t)a0, a1, (int)a2, (uint32_t)a3); }
SYSCALL(creat) { return do_open(AT_FDCWD, a0, O_CREAT | O_WRONLY | O_TRUNC, (uint32_t)a1); }

SYSCALL(close)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	proc.fds[a0] = NULL;
	file_put(f);
	return 0;
}

static bool console_has_input(void) { return console_readable(); }

/* Reads from f at *pos into the user buffer (already checked writable). */
static int64_t file_read(struct file *f, uint64_t buf, uint64_t len, uint64_t *pos)
{
	struct vnode *v = f->vn;
	if ((f->flags & O_ACCMODE) == O_WRONLY || (f->flags & O_PATH))
		return -EBADF;
	switch (v->dev) {
	case DEV_NULL: return 0;
	case DEV_ZERO: memset((void *)buf, 0, len); return (int64_t)len;
	case DEV_URANDOM: random_bytes((void *)buf, len); return (int64_t)len;
	case DEV_CONSOLE:
		if (!len)
			return 0;
		if (!console_readable()) {
			if (f->flags & O_NONBLOCK)
				return -EAGAIN;
			time_sleep_until(UINT64_MAX, console_has_input);
		}
		return (int64_t)console_read((char *)buf, len);
	case DEV_VSOCK: return vs_recv(f->sock, (void *)buf, len, f->flags & O_NONBLOCK, false);
	case DEV_NSM: return -EINVAL;
	default: break;
	}
	if (vn_is_dir(v))
		return -EISDIR;
	if (*pos >= v->size)
		return 0;
	uint64_t n = MIN(len, v->size - *pos);
	if (n >= HELPER_COPY_MIN && helper_ready())
		helper_copy_to_user(buf, vn_bytes(v) + *pos, n);
	else
		memcpy((void *)buf, vn_bytes(v) + *pos, n);
	*pos += n;
	return (int64_t)n;
}

static int64_t file_write(struct file *f, uint64_t buf, uint64_t len, uint64_t *pos)
{
	struct vnode *v = f->vn;
	int acc = f->flags & O_ACCMODE;
	if (acc != O_WRONLY && acc != O_RDWR)
		return -EBADF;
	switch (v->dev) {
	case DEV_NULL:
	case DEV_ZERO:
	case DEV_URANDOM: return (int64_t)len;
	case DEV_CONSOLE: console_write((const char *)buf, len); return (int64_t)len;
	case DEV_VSOCK: return vs_send(f->sock, (const void *)buf, len, f->flags & O_NONBLOCK);
	case DEV_NSM: return -EINVAL;
	default: break;
	}
	if (f->flags & O_APPEND)
		*pos = v->size;
	int64_t r = vfs_write(v, (const void *)buf, len, *pos);
	if (r > 0)
		*pos += (uint64_t)r;
	return r;
}

SYSCALL(read)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	if (user_ok(a1, a2, true) < 0)
		return -EFAULT;
	return file_read(f, a1, a2, &f->pos);
}

SYSCALL(write)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	if (user_ok(a1, a2, false) < 0)
		return -EFAULT;
	return file_write(f, a1, a2, &f->pos);
}

SYSCALL(pread64)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	if (!vn_is_reg(f->vn))
		return -ESPIPE;
	if ((int64_t)a3 < 0)
		return -EINVAL;
	if (user_ok(a1, a2, true) < 0)
		return -EFAULT;
	uint64_t pos = a3;
	return file_read(f, a1, a2, &pos);
}

SYSCALL(pwrite64)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	if (!vn_is_reg(f->vn))
		return -ESPIPE;
	if ((int64_t)a3 < 0)
		return -EINVAL;
	if (user_ok(a1, a2, false) < 0)
		return -EFAULT;
	uint64_t pos = a3;
	return file_write(f, a1, a2, &pos);
}

struct iovec {
	uint64_t base, len;
};

static int64_t do_iov(uint64_t fd, uint64_t uiov, uint64_t cnt, bool write)
{
	struct file *f = fd_get((int)fd);
	if (!f)
		return -EBADF;
	if (cnt > 1024)
		return -EINVAL;
	int64_t total = 0;
	for (uint64_t i = 0; i < cnt; i++) {
		struct iovec iv;
		if (copy_from_user(&iv, uiov + i * sizeof(iv), sizeof(iv)) < 0)
			return -EFAULT;
		if (!iv.len)
			continue;
		if (user_ok(iv.base, iv.len, !write) < 0)
			return total ? total : -EFAULT;
		int64_t r = write ? file_write(f, iv.base, iv.len, &f->pos)
				  : file_read(f, iv.base, iv.len, &f->pos);
		if (r < 0)
			return total ? total : r;
		total += r;
		if ((uint64_t)r < iv.len)
			break;
	}
	return total;
}

SYSCALL(readv) { return do_iov(a0, a1, a2, false); }
SYSCALL(writev) { return do_iov(a0, a1, a2, true); }

SYSCALL(lseek)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	if (f->vn->dev == DEV_CONSOLE || f->vn->dev == DEV_VSOCK)
		return -ESPIPE;
	int64_t base;
	switch (a2) {
	case 0: base = 0; break;
	case 1: base = (int64_t)f->pos; break;
	case 2: base = (int64_t)f->vn->size; break;
	default: return -EINVAL;
	}
	int64_t np = base + (int64_t)a1;
	if (np < 0)
		return -EINVAL;
	f->pos = (uint64_t)np;
	return np;
}

/* struct stat of x86-64 Linux, 144 bytes. */
struct kstat {
	uint64_t dev, ino, nlink;
	uint32_t mode, uid, gid, pad0;
	uint64_t rdev;
	int64_t size, blksize, blocks;
	int64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
	int64_t reserved[3];
};

static uint64_t dev_rdev(const struct vnode *v)
{
	switch (v->dev) {
	case DEV_NULL: return 1 << 8 | 3;
	case DEV_ZERO: return 1 << 8 | 5;
	case DEV_URANDOM: return 1 << 8 | 9;
	case DEV_CONSOLE: return 5 << 8 | 1;
	default: return 0;
	}
}

static void fill_stat(const struct vnode *v, struct kstat *st)
{
	memset(st, 0, sizeof(*st));
	st->dev = 1;
	st->ino = v->ino;
	st->nlink = vn_is_dir(v) ? 2 : 1;
	st->mode = v->mode;
	st->uid = v->uid;
	st->gid = v->gid;
	st->rdev = dev_rdev(v);
	st->size = (int64_t)v->size;
	st->blksize = 4096;
	st->blocks = (int64_t)(ALIGN_UP(v->size, 512) / 512);
	st->atime = st->mtime = st->ctime = (int64_t)v->mtime;
}

static int stat_at(int64_t dirfd, uint64_t upath, int flags, struct vnode **out)
{
	char path[PATH_MAX];
	int r = get_path(upath, path, flags & AT_EMPTY_PATH);
	if (r < 0)
		return r;
	if (!path[0]) {
		if ((int)dirfd == AT_FDCWD) {
			*out = proc.cwd;
			return 0;
		}
		struct file *f = fd_get((int)dirfd);
		if (!f)
			return -EBADF;
		*out = f->vn;
		return 0;
	}
	struct vnode *dir;
	if ((r = at_dir(dirfd, path, &dir)) < 0)
		return r;
	return vfs_lookup(dir, path, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : LOOKUP_FOLLOW, out);
}

static int64_t put_stat(struct vnode *v, uint64_t ust)
{
	struct kstat st;
	fill_stat(v, &st);
	return copy_to_user(ust, &st, sizeof(st));
}

SYSCALL(stat)
{
	struct vnode *v;
	int r = stat_at(AT_FDCWD, a0, 0, &v);
	return r < 0 ? r : put_stat(v, a1);
}

SYSCALL(lstat)
{
	struct vnode *v;
	int r = stat_at(AT_FDCWD, a0, AT_SYMLINK_NOFOLLOW, &v);
	return r < 0 ? r : put_stat(v, a1);
}

SYSCALL(newfstatat)
{
	struct vnode *v;
	int r = stat_at((int64_t)a0, a1, (int)a3, &v);
	return r < 0 ? r : put_stat(v, a2);
}

SYSCALL(fstat)
{
	struct file *f = fd_get((int)a0);
	return f ? put_stat(f->vn, a1) : -EBADF;
}

struct statx_ts {
	int64_t sec;
	uint32_t nsec;
	int32_t pad;
};
struct statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, pad1;
	uint64_t ino, size, blocks, attributes_mask;
	struct statx_ts atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t spare[14];
};

SYSCALL(statx)
{
	struct vnode *v;
	int r = stat_at((int64_t)a0, a1, (int)a2, &v);
	if (r < 0)
		return r;
	struct kstat st;
	fill_stat(v, &st);
	struct statx sx;
	memset(&sx, 0, sizeof(sx));
	sx.mask = 0x7ff; /* STATX_BASIC_STATS */
	sx.blksize = 4096;
	sx.nlink = (uint32_t)st.nlink;
	sx.uid = st.uid;
	sx.gid = st.gid;
	sx.mode = (uint16_t)st.mode;
	sx.ino = st.ino;
	sx.size = (uint64_t)st.size;
	sx.blocks = (uint64_t)st.blocks;
	sx.atime.sec = sx.ctime.sec = sx.mtime.sec = st.mtime;
	sx.rdev_major = (uint32_t)(st.rdev >> 8);
	sx.rdev_minor = (uint32_t)(st.rdev & 0xff);
	sx.dev_major = 0;
	sx.dev_minor = 1;
	return copy_to_user(a4, &sx, sizeof(sx));
}

static int64_t do_access(int64_t dirfd, uint64_t upath, int mode, int flags)
{
	struct vnode *v;
	int r = stat_at(dirfd, upath, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), &v);
	if (r < 0)
		return r;
	/* We run as root: only execute needs a permission bit. */
	if ((mode & 1) && !vn_is_dir(v) && !(v->mode & 0111))
		return -EACCES;
	return 0;
}

SYSCALL(access) { return do_access(AT_FDCWD, a0, (int)a1, 0); }
SYSCALL(faccessat) { return do_access((int64_t)a0, a1, (int)a2, 0); }
SYSCALL(faccessat2) { return do_access((int64_t)a0, a1, (int)a2, (int)a3); }

/* struct linux_dirent64: ino, off, reclen, type, name; records 8-aligned. */
SYSCALL(getdents64)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	if (!vn_is_dir(f->vn))
		return -ENOTDIR;
	if (user_ok(a1, a2, true) < 0)
		return -EFAULT;
	uint8_t *out = (uint8_t *)a1;
	uint64_t used = 0, idx = 0;
	struct vnode *dir = f->vn, *c = dir->children;
	for (;; idx++) {
		const char *name;
		struct vnode *v;
		if (idx == 0) {
			name = ".";
			v = dir;
		} else if (idx == 1) {
			name = "..";
			v = dir->parent;
		} else {
			if (!c)
				break;
			v = c;
			name = c->name;
			c = c->next;
		}
		if (idx < f->pos)
			continue;
		size_t nl = strlen(name);
		uint64_t rec = ALIGN_UP(19 + nl + 1, 8);
		if (used + rec > a2) {
			if (!used)
				return -EINVAL;
			break;
		}
		uint8_t *d = out + used;
		uint64_t ino = v->ino;
		int64_t off = (int64_t)idx + 1;
		uint16_t rl = (uint16_t)rec;
		uint32_t t = v->mode & S_IFMT;
		uint8_t type = t == S_IFDIR ? 4 : t == S_IFREG ? 8 : t == S_IFLNK ? 10 : t == S_IFCHR ? 2 : 0;
		memcpy(d, &ino, 8);
		memcpy(d + 8, &off, 8);
		memcpy(d + 16, &rl, 2);
		d[18] = type;
		memcpy(d + 19, name, nl);
		memset(d + 19 + nl, 0, rec - 19 - nl);
		used += rec;
		f->pos = idx + 1;
	}
	return (int64_t)used;
}

static int64_t do_readlink(int64_t dirfd, uint64_t upath, uint64_t buf, uint64_t len)
{
	char path[PATH_MAX];
	int r = get_path(upath, path, false);
	if (r < 0)
		return r;
	if ((int64_t)len <= 0)
		return -EINVAL;
	const char *src;
	size_t n;
	if (!strcmp(path, "/proc/self/exe")) {
		src = proc.exe;
		n = strlen(proc.exe);
	} else {
		struct vnode *dir, *v;
		if ((r = at_dir(dirfd, path, &dir)) < 0 || (r = vfs_lookup(dir, path, 0, &v)) < 0)
			return r;
		if (!vn_is_lnk(v))
			return -EINVAL;
		src = (const char *)vn_bytes(v);
		n = v->size;
	}
	n = MIN(n, len);
	return copy_to_user(buf, src, n) < 0 ? -EFAULT : (int64_t)n;
}

SYSCALL(readlink) { return do_readlink(AT_FDCWD, a0, a1, a2); }
SYSCALL(readlinkat) { return do_readlink((int64_t)a0, a1, a2, a3); }

SYSCALL(getcwd)
{
	char buf[PATH_MAX];
	int n = vfs_path(proc.cwd, buf, sizeof(buf));
	if (n < 0)
		return n;
	if ((uint64_t)n + 1 > a1)
		return -ERANGE;
	return copy_to_user(a0, buf, (uint64_t)n + 1) < 0 ? -EFAULT : n + 1;
}

SYSCALL(chdir)
{
	char path[PATH_MAX];
	struct vnode *v;
	int r = get_path(a0, path, false);
	if (r < 0 || (r = vfs_lookup(proc.cwd, path, LOOKUP_FOLLOW, &v)) < 0)
		return r;
	if (!vn_is_dir(v))
		return -ENOTDIR;
	proc.cwd = v;
	return 0;
}

SYSCALL(fchdir)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	if (!vn_is_dir(f->vn))
		return -ENOTDIR;
	proc.cwd = f->vn;
	return 0;
}

/* The parent directory and last name of a user path relative to dirfd. */
static int parent_of(int64_t dirfd, uint64_t upath, char *path, struct vnode **parent, const char **name,
		     size_t *n)
{
	int r = get_path(upath, path, false);
	struct vnode *dir;
	if (r < 0 || (r = at_dir(dirfd, path, &dir)) < 0)
		return r;
	return vfs_lookup_parent(dir, path, parent, name, n);
}

static int64_t do_mkdir(int64_t dirfd, uint64_t upath, uint32_t mode)
{
	char path[PATH_MAX];
	struct vnode *parent, *v;
	const char *name;
	size_t n;
	int r = parent_of(dirfd, upath, path, &parent, &name, &n);
	if (r < 0)
		return r;
	return vfs_create(parent, name, n, S_IFDIR | (mode & 07777 & ~proc.umask), &v);
}

SYSCALL(mkdir) { return do_mkdir(AT_FDCWD, a0, (uint32_t)a1); }
SYSCALL(mkdirat) { return do_mkdir((int64_t)a0, a1, (uint32_t)a2); }

static int64_t do_unlink(int64_t dirfd, uint64_t upath, bool rmdir)
{
	char path[PATH_MAX];
	struct vnode *parent;
	const char *name;
	size_t n;
	int r = parent_of(dirfd, upath, path, &parent, &name, &n);
	if (r < 0)
		return r;
	struct vnode *v = vfs_child(parent, name, n);
	if (v && v == proc.cwd)
		return -EBUSY;
	return vfs_unlink(parent, name, n, rmdir);
}

SYSCALL(unlink) { return do_unlink(AT_FDCWD, a0, false); }
SYSCALL(rmdir) { return do_unlink(AT_FDCWD, a0, true); }
SYSCALL(unlinkat) { return do_unlink((int64_t)a0, a1, a2 & AT_REMOVEDIR); }

static int64_t do_rename(int64_t ofd, uint64_t op, int64_t nfd, uint64_t np)
{
	char p1[PATH_MAX], p2[PATH_MAX];
	struct vnode *d1, *d2;
	const char *n1, *n2;
	size_t l1, l2;
	int r = parent_of(ofd, op, p1, &d1, &n1, &l1);
	if (r < 0 || (r = parent_of(nfd, np, p2, &d2, &n2, &l2)) < 0)
		return r;
	return vfs_rename(d1, n1, l1, d2, n2, l2);
}

SYSCALL(rename) { return do_rename(AT_FDCWD, a0, AT_FDCWD, a1); }
SYSCALL(renameat) { return do_rename((int64_t)a0, a1, (int64_t)a2, a3); }
SYSCALL(renameat2) { return a4 ? -EINVAL : do_rename((int64_t)a0, a1, (int64_t)a2, a3); }

static int64_t do_symlink(uint64_t utarget, int64_t dirfd, uint64_t upath)
{
	char target[PATH_MAX], path[PATH_MAX];
	struct vnode *parent, *v;
	const char *name;
	size_t n;
	int r = get_path(utarget, target, false);
	if (r < 0 || (r = parent_of(dirfd, upath, path, &parent, &name, &n)) < 0)
		return r;
	if ((r = vfs_create(parent, name, n, S_IFLNK | 0777, &v)) < 0)
		return r;
	int64_t w = vfs_write(v, target, strlen(target), 0);
	return w < 0 ? w : 0;
}

SYSCALL(symlink) { return do_symlink(a0, AT_FDCWD, a1); }
SYSCALL(symlinkat) { return do_symlink(a0, (int64_t)a1, a2); }

static int64_t do_chmod(int64_t dirfd, uint64_t upath, uint32_t mode, int flags)
{
	struct vnode *v;
	int r = stat_at(dirfd, upath, flags, &v);
	if (r < 0)
		return r;
	v->mode = (v->mode & S_IFMT) | (mode & 07777);
	return 0;
}

SYSCALL(chmod) { return do_chmod(AT_FDCWD, a0, (uint32_t)a1, 0); }
SYSCALL(fchmodat) { return do_chmod((int64_t)a0, a1, (uint32_t)a2, 0); }
SYSCALL(fchmod)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	f->vn->mode = (f->vn->mode & S_IFMT) | ((uint32_t)a1 & 07777);
	return 0;
}

static int64_t do_chown(int64_t dirfd, uint64_t upath, uint64_t uid, uint64_t gid, int flags)
{
	struct vnode *v;
	int r = stat_at(dirfd, upath, flags, &v);
	if (r < 0)
		return r;
	if ((uint32_t)uid != 0xffffffffu)
		v->uid = (uint32_t)uid;
	if ((uint32_t)gid != 0xffffffffu)
		v->gid = (uint32_t)gid;
	return 0;
}

SYSCALL(chown) { return do_chown(AT_FDCWD, a0, a1, a2, 0); }
SYSCALL(lchown) { return do_chown(AT_FDCWD, a0, a1, a2, AT_SYMLINK_NOFOLLOW); }
SYSCALL(fchownat) { return do_chown((int64_t)a0, a1, a2, a3, (int)a4); }
SYSCALL(fchown)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	if ((uint32_t)a1 != 0xffffffffu)
		f->vn->uid = (uint32_t)a1;
	if ((uint32_t)a2 != 0xffffffffu)
		f->vn->gid = (uint32_t)a2;
	return 0;
}

SYSCALL(umask)
{
	uint32_t old = proc.umask;
	proc.umask = (uint32_t)a0 & 0777;
	return old;
}

SYSCALL(truncate)
{
	char path[PATH_MAX];
	struct vnode *v;
	int r = get_path(a0, path, false);
	if (r < 0 || (r = vfs_lookup(proc.cwd, path, LOOKUP_FOLLOW, &v)) < 0)
		return r;
	if ((int64_t)a1 < 0)
		return -EINVAL;
	return vfs_truncate(v, a1);
}

SYSCALL(ftruncate)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	if ((int64_t)a1 < 0 || (f->flags & O_ACCMODE) == 0)
		return -EINVAL;
	return vfs_truncate(f->vn, a1);
}

SYSCALL(fsync) { return fd_get((int)a0) ? 0 : -EBADF; }
SYSCALL(fdatasync) { return fd_get((int)a0) ? 0 : -EBADF; }

/* struct statfs: a tmpfs-like answer. */
SYSCALL(statfs)
{
	uint64_t st[15];
	memset(st, 0, sizeof(st));
	st[0] = 0x01021994; /* TMPFS_MAGIC */
	st[1] = 4096;
	st[2] = mm_total_bytes() / 4096;
	st[3] = st[4] = mm_free_bytes() / 4096;
	st[8] = 255; /* namelen */
	st[9] = 4096;
	return copy_to_user(a1, st, 120);
}
SYSCALL(fstatfs) { return fd_get((int)a0) ? sys_statfs(0, a1, 0, 0, 0, 0) : -EBADF; }

static int64_t do_dup(int oldfd, int newfd, int flags)
{
	struct file *f = fd_get(oldfd);
	if (!f)
		return -EBADF;
	if (newfd < 0 || newfd >= MAX_FDS)
		return -EBADF;
	if (oldfd == newfd)
		return newfd;
	if (proc.fds[newfd])
		file_put(proc.fds[newfd]);
	f->refs++;
	proc.fds[newfd] = f;
	proc.fd_flags[newfd] = (flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	return newfd;
}

SYSCALL(dup)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	int fd = fd_alloc(f, 0, false);
	if (fd >= 0)
		f->refs++;
	return fd;
}
SYSCALL(dup2)
{
	if ((int)a0 == (int)a1)
		return fd_get((int)a0) ? (int64_t)a1 : -EBADF;
	return do_dup((int)a0, (int)a1, 0);
}
SYSCALL(dup3) { return (int)a0 == (int)a1 ? -EINVAL : do_dup((int)a0, (int)a1, (int)a2); }

SYSCALL(fcntl)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	switch (a1) {
	case 0: /* F_DUPFD */
	case 1030: /* F_DUPFD_CLOEXEC */ {
		if (a2 >= MAX_FDS)
			return -EINVAL;
		int fd = fd_alloc(f, (int)a2, a1 == 1030);
		if (fd >= 0)
			f->refs++;
		return fd;
	}
	case 1: /* F_GETFD */ return proc.fd_flags[a0];
	case 2: /* F_SETFD */ proc.fd_flags[a0] = a2 & FD_CLOEXEC; return 0;
	case 3: /* F_GETFL */ return f->flags & ~O_CLOEXEC;
	case 4: /* F_SETFL: only O_APPEND and O_NONBLOCK change */
		f->flags = (f->flags & ~(O_APPEND | O_NONBLOCK)) | ((int)a2 & (O_APPEND | O_NONBLOCK));
		return 0;
	case 5:
	case 6:
	case 7: /* F_GETLK, F_SETLK, F_SETLKW: one process, no contention */
	case 36:
	case 37:
	case 38: return 0;
	default: return -EINVAL;
	}
}

#define TCGETS 0x5401
#define TCSETS 0x5402
#define TCSETSW 0x5403
#define TCSETSF 0x5404
#define TIOCGPGRP 0x540f
#define TIOCSPGRP 0x5410
#define TIOCGWINSZ 0x5413
#define TIOCSWINSZ 0x5414
#define FIONBIO 0x5421

SYSCALL(ioctl)
{
	struct file *f = fd_get((int)a0);
	if (!f)
		return -EBADF;
	a1 = (uint32_t)a1; /* the command is an unsigned int: musl passes it sign-extended */
	if (a1 == FIONBIO) {
		int on;
		if (copy_from_user(&on, a2, sizeof(on)) < 0)
			return -EFAULT;
		f->flags = on ? f->flags | O_NONBLOCK : f->flags & ~O_NONBLOCK;
		return 0;
	}
	if (f->vn->dev == DEV_NSM)
		return nsm_ioctl(a1, a2);
	if (f->vn->dev != DEV_CONSOLE)
		return -ENOTTY;
	switch (a1) {
	case TCGETS: {
		/* struct termios: iflag, oflag, cflag, lflag, line, cc[19] (36 bytes):
		 * a cooked 115200-baud serial line, as Linux's ttyS0 reports. */
		uint8_t t[36];
		memset(t, 0, sizeof(t));
		uint32_t iflag = 0x0500, oflag = 0x0005, cflag = 0x10bf | 0x0800, lflag = 0x8a3b;
		memcpy(t, &iflag, 4);
		memcpy(t + 4, &oflag, 4);
		memcpy(t + 8, &cflag, 4);
		memcpy(t + 12, &lflag, 4);
		static const uint8_t cc[17] = {3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0};
		memcpy(t + 17, cc, sizeof(cc));
		return copy_to_user(a2, t, sizeof(t));
	}
	case TCSETS:
	case TCSETSW:
	case TCSETSF:
	case TIOCSPGRP:
	case TIOCSWINSZ: return 0;
	case TIOCGPGRP: {
		int pg = 1;
		return copy_to_user(a2, &pg, sizeof(pg));
	}
	case TIOCGWINSZ: {
		uint16_t ws[4] = {24, 80, 0, 0};
		return copy_to_user(a2, ws, sizeof(ws));
	}
	default: return -ENOTTY;
	}
}

/* sendfile(out, in, *offset, count): a bounce through a kernel buffer. */
SYSCALL(sendfile)
{
	struct file *out = fd_get((int)a0), *in = fd_get((int)a1);
	if (!out || !in)
		return -EBADF;
	if (!vn_is_reg(in->vn))
		return -EINVAL;
	uint64_t pos = in->pos;
	if (a2 && copy_from_user(&pos, a2, 8) < 0)
		return -EFAULT;
	static uint8_t bounce[4096];
	int64_t total = 0;
	uint64_t left = a3;
	while (left) {
		uint64_t chunk = MIN(left, sizeof(bounce));
		if (pos >= in->vn->size)
			break;
		chunk = MIN(chunk, in->vn->size - pos);
		memcpy(bounce, vn_bytes(in->vn) + pos, chunk);
		int64_t w;
		if (out->vn->dev == DEV_CONSOLE) {
			console_write((const char *)bounce, chunk);
			w = (int64_t)chunk;
		} else if (vn_is_reg(out->vn) && (out->flags & O_ACCMODE)) {
			if (out->flags & O_APPEND)
				out->pos = out->vn->size;
			w = vfs_write(out->vn, bounce, chunk, out->pos);
			if (w > 0)
				out->pos += (uint64_t)w;
		} else {
			return total ? total : -EINVAL;
		}
		if (w < 0)
			return total ? total : w;
		pos += (uint64_t)w;
		total += w;
		left -= (uint64_t)w;
	}
	if (a2) {
		if (copy_to_user(a2, &pos, 8) < 0)
			return -EFAULT;
	} else {
		in->pos = pos;
	}
	return total;
}
