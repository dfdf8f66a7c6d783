/* File-system calls: open, read and write, stat, directories, links. Every
 * user pointer goes through copy_from_user/copy_to_user/user_ok first. */
#include "file.h"
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
		*dir = curproc->cwd;
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
		if ((r = vfs_create(parent, name, n, S_IFREG | (mode & 07777 & ~curproc->umask), &v)) < 0)
			return r;
	} else if (r < 0) {
		return r;
	} else if ((flags & O_CREAT) && (flags & O_EXCL)) {
		return -EEXIST;
	}
	if (vn_is_lnk(v) && !(flags & O_PATH))
		return -ELOOP;
	if ((v->mode & S_IFMT) == S_IFIFO && !(flags & O_PATH))
		return fifo_open(v, flags);
	if ((flags & O_DIRECTORY) && !vn_is_dir(v))
		return -ENOTDIR;
	int acc = flags & O_ACCMODE;
	if (!(flags & O_PATH) && (r = procfs_open(v, acc, &v)) < 0)
		return r;
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

SYSCALL_DEFINE3(open, uaddr_t, upath, int, flags, uint32_t, mode)
{
	return do_open(AT_FDCWD, upath, flags, mode);
}
SYSCALL_DEFINE4(openat, int, dirfd, uaddr_t, upath, int, flags, uint32_t, mode)
{
	return do_open(dirfd, upath, flags, mode);
}
SYSCALL_DEFINE2(creat, uaddr_t, upath, uint32_t, mode)
{
	return do_open(AT_FDCWD, upath, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* fd stays the whole register: the slot cleared is indexed by it. */
/* fd is an unsigned int, as in Linux: the register's upper half is not
 * part of it (it once indexed the table whole, past its end). */
SYSCALL_DEFINE1(close, int, fd)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	curproc->fds[fd] = NULL;
	file_put(f);
	return 0;
}

static bool console_has_input(void) { return console_readable(); }

/* An AF_VSOCK socket: file_read/file_write hand it the unchecked buffer. */
static bool is_vsock_file(const struct file *f) { return !f->ops && f->vn->dev == DEV_VSOCK; }

/* Reads from f at *pos into the user buffer (already checked writable, or
 * vsock's, which checks it itself). */
static int64_t file_read(struct file *f, uint64_t buf, uint64_t len, uint64_t *pos)
{
	struct vnode *v = f->vn;
	if ((f->flags & O_ACCMODE) == O_WRONLY || (f->flags & O_PATH))
		return -EBADF;
	if (f->ops)
		return f->ops->read ? f->ops->read(f, (void *)buf, len, false) : -EINVAL;
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
			while (!console_readable())
				if (time_sleep_until(UINT64_MAX, console_has_input) < 0)
					return -ERESTARTSYS;
		}
		return (int64_t)console_read((char *)buf, len);
	case DEV_VSOCK: return vs_recv_user(f->sock, buf, len, f->flags & O_NONBLOCK, false);
	case DEV_NSM: return -EINVAL;
	default: break;
	}
	if (vn_is_dir(v))
		return -EISDIR;
	int64_t n = vfs_read_user(v, buf, len, *pos);
	if (n > 0)
		*pos += (uint64_t)n;
	return n;
}

static int64_t file_write(struct file *f, uint64_t buf, uint64_t len, uint64_t *pos)
{
	struct vnode *v = f->vn;
	int acc = f->flags & O_ACCMODE;
	if (acc != O_WRONLY && acc != O_RDWR)
		return -EBADF;
	if (f->ops)
		return f->ops->write ? f->ops->write(f, (const void *)buf, len, false) : -EINVAL;
	switch (v->dev) {
	case DEV_NULL:
	case DEV_ZERO:
	case DEV_URANDOM: return (int64_t)len;
	case DEV_CONSOLE: console_write((const char *)buf, len); return (int64_t)len;
	case DEV_VSOCK: return vs_send_user(f->sock, buf, len, f->flags & O_NONBLOCK);
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

SYSCALL_DEFINE3(read, int, fd, uaddr_t, buf, uint64_t, count)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	/* vsock checks its own buffers, large ones natively (vsock_sock.c). */
	if (!is_vsock_file(f) && user_ok(buf, count, true) < 0)
		return -EFAULT;
	return file_read(f, buf, count, &f->pos);
}

SYSCALL_DEFINE3(write, int, fd, uaddr_t, buf, uint64_t, count)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (!is_vsock_file(f) && user_ok(buf, count, false) < 0)
		return -EFAULT;
	return file_write(f, buf, count, &f->pos);
}

SYSCALL_DEFINE4(pread64, int, fd, uaddr_t, buf, uint64_t, count, int64_t, offset)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (!vn_is_reg(f->vn))
		return -ESPIPE;
	if (offset < 0)
		return -EINVAL;
	if (user_ok(buf, count, true) < 0)
		return -EFAULT;
	uint64_t pos = (uint64_t)offset;
	return file_read(f, buf, count, &pos);
}

SYSCALL_DEFINE4(pwrite64, int, fd, uaddr_t, buf, uint64_t, count, int64_t, offset)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (!vn_is_reg(f->vn))
		return -ESPIPE;
	if (offset < 0)
		return -EINVAL;
	if (user_ok(buf, count, false) < 0)
		return -EFAULT;
	uint64_t pos = (uint64_t)offset;
	return file_write(f, buf, count, &pos);
}

struct iovec {
	uint64_t base, len;
};

static int64_t do_iov(int fd, uaddr_t uiov, uint64_t cnt, bool write)
{
	struct file *f = fd_get(fd);
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

SYSCALL_DEFINE3(readv, int, fd, uaddr_t, uiov, uint64_t, iovcnt) { return do_iov(fd, uiov, iovcnt, false); }
SYSCALL_DEFINE3(writev, int, fd, uaddr_t, uiov, uint64_t, iovcnt) { return do_iov(fd, uiov, iovcnt, true); }

SYSCALL_DEFINE3(lseek, int, fd, int64_t, offset, uint64_t, whence)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (f->vn->dev == DEV_CONSOLE || f->vn->dev == DEV_VSOCK)
		return -ESPIPE;
	if (f->ops) /* Linux: pipes and sockets refuse, the anonymous kinds answer */
		return f->vn == &anon_vn ? (int64_t)f->pos : -ESPIPE;
	int64_t base;
	switch (whence) {
	case 0: base = 0; break;
	case 1: base = (int64_t)f->pos; break;
	case 2: base = (int64_t)f->vn->size; break;
	default: return -EINVAL;
	}
	int64_t np = base + offset;
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
	st->nlink = vfs_nlink(v);
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
			*out = curproc->cwd;
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

SYSCALL_DEFINE2(stat, uaddr_t, upath, uaddr_t, statbuf)
{
	struct vnode *v;
	int r = stat_at(AT_FDCWD, upath, 0, &v);
	return r < 0 ? r : put_stat(v, statbuf);
}

SYSCALL_DEFINE2(lstat, uaddr_t, upath, uaddr_t, statbuf)
{
	struct vnode *v;
	int r = stat_at(AT_FDCWD, upath, AT_SYMLINK_NOFOLLOW, &v);
	return r < 0 ? r : put_stat(v, statbuf);
}

SYSCALL_DEFINE4(newfstatat, int, dirfd, uaddr_t, upath, uaddr_t, statbuf, int, flags)
{
	struct vnode *v;
	int r = stat_at(dirfd, upath, flags, &v);
	return r < 0 ? r : put_stat(v, statbuf);
}

SYSCALL_DEFINE2(fstat, int, fd, uaddr_t, statbuf)
{
	struct file *f = fd_get(fd);
	return f ? put_stat(f->vn, statbuf) : -EBADF;
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

SYSCALL_DEFINE5(statx, int, dirfd, uaddr_t, upath, int, flags, uint32_t, mask, uaddr_t, buffer)
{
	struct vnode *v;
	int r = stat_at(dirfd, upath, flags, &v);
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
	return copy_to_user(buffer, &sx, sizeof(sx));
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

SYSCALL_DEFINE2(access, uaddr_t, upath, int, mode) { return do_access(AT_FDCWD, upath, mode, 0); }
SYSCALL_DEFINE3(faccessat, int, dirfd, uaddr_t, upath, int, mode) { return do_access(dirfd, upath, mode, 0); }
SYSCALL_DEFINE4(faccessat2, int, dirfd, uaddr_t, upath, int, mode, int, flags)
{
	return do_access(dirfd, upath, mode, flags);
}

/* struct linux_dirent64: ino, off, reclen, type, name; records 8-aligned. */
SYSCALL_DEFINE3(getdents64, int, fd, uaddr_t, dirent, uint64_t, count)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (!vn_is_dir(f->vn))
		return -ENOTDIR;
	if (user_ok(dirent, count, true) < 0)
		return -EFAULT;
	uint8_t *out = (uint8_t *)dirent;
	/* Offsets are positions (dir.h): 0 ".", 1 "..", then each entry's own,
	 * so a listing resumes where it stopped, in O(1), whatever changed. */
	uint64_t used = 0, idx = f->pos;
	struct vnode *dir = f->vn, *c = dir_from(dir, MAX(idx, 2ull));
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
			idx = c->dpos;
		}
		size_t nl = strlen(name);
		uint64_t rec = ALIGN_UP(19 + nl + 1, 8);
		if (used + rec > count) {
			if (!used)
				return -EINVAL;
			break;
		}
		uint8_t *d = out + used;
		uint64_t ino = v->ino;
		int64_t off = (int64_t)idx + 1;
		uint16_t rl = (uint16_t)rec;
		uint32_t t = v->mode & S_IFMT;
		uint8_t type = (uint8_t)(t >> 12); /* DT_* is the S_IFMT nibble, FIFOs and sockets too */
		memcpy(d, &ino, 8);
		memcpy(d + 8, &off, 8);
		memcpy(d + 16, &rl, 2);
		d[18] = type;
		memcpy(d + 19, name, nl);
		memset(d + 19 + nl, 0, rec - 19 - nl);
		used += rec;
		f->pos = idx + 1;
		if (idx >= 2)
			c = c->next;
	}
	dir_set_cursor(dir, c);
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
		src = curproc->exe;
		n = strlen(curproc->exe);
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

SYSCALL_DEFINE3(readlink, uaddr_t, upath, uaddr_t, buf, uint64_t, bufsiz)
{
	return do_readlink(AT_FDCWD, upath, buf, bufsiz);
}
SYSCALL_DEFINE4(readlinkat, int, dirfd, uaddr_t, upath, uaddr_t, buf, uint64_t, bufsiz)
{
	return do_readlink(dirfd, upath, buf, bufsiz);
}

SYSCALL_DEFINE2(getcwd, uaddr_t, buf, uint64_t, size)
{
	char kbuf[PATH_MAX];
	int n = vfs_path(curproc->cwd, kbuf, sizeof(kbuf));
	if (n < 0)
		return n;
	if ((uint64_t)n + 1 > size)
		return -ERANGE;
	return copy_to_user(buf, kbuf, (uint64_t)n + 1) < 0 ? -EFAULT : n + 1;
}

SYSCALL_DEFINE1(chdir, uaddr_t, upath)
{
	char path[PATH_MAX];
	struct vnode *v;
	int r = get_path(upath, path, false);
	if (r < 0 || (r = vfs_lookup(curproc->cwd, path, LOOKUP_FOLLOW, &v)) < 0)
		return r;
	if (!vn_is_dir(v))
		return -ENOTDIR;
	curproc->cwd = v;
	return 0;
}

SYSCALL_DEFINE1(fchdir, int, fd)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (!vn_is_dir(f->vn))
		return -ENOTDIR;
	curproc->cwd = f->vn;
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
	return vfs_create(parent, name, n, S_IFDIR | (mode & 07777 & ~curproc->umask), &v);
}

SYSCALL_DEFINE2(mkdir, uaddr_t, upath, uint32_t, mode) { return do_mkdir(AT_FDCWD, upath, mode); }
SYSCALL_DEFINE3(mkdirat, int, dirfd, uaddr_t, upath, uint32_t, mode) { return do_mkdir(dirfd, upath, mode); }

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
	if (v && v == curproc->cwd)
		return -EBUSY;
	return vfs_unlink(parent, name, n, rmdir);
}

SYSCALL_DEFINE1(unlink, uaddr_t, upath) { return do_unlink(AT_FDCWD, upath, false); }
SYSCALL_DEFINE1(rmdir, uaddr_t, upath) { return do_unlink(AT_FDCWD, upath, true); }
SYSCALL_DEFINE3(unlinkat, int, dirfd, uaddr_t, upath, int, flags)
{
	return do_unlink(dirfd, upath, flags & AT_REMOVEDIR);
}

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

SYSCALL_DEFINE2(rename, uaddr_t, oldpath, uaddr_t, newpath)
{
	return do_rename(AT_FDCWD, oldpath, AT_FDCWD, newpath);
}
SYSCALL_DEFINE4(renameat, int, olddirfd, uaddr_t, oldpath, int, newdirfd, uaddr_t, newpath)
{
	return do_rename(olddirfd, oldpath, newdirfd, newpath);
}
SYSCALL_DEFINE5(renameat2, int, olddirfd, uaddr_t, oldpath, int, newdirfd, uaddr_t, newpath, uint64_t, flags)
{
	return flags ? -EINVAL : do_rename(olddirfd, oldpath, newdirfd, newpath);
}

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

SYSCALL_DEFINE2(symlink, uaddr_t, target, uaddr_t, linkpath)
{
	return do_symlink(target, AT_FDCWD, linkpath);
}
SYSCALL_DEFINE3(symlinkat, uaddr_t, target, int, newdirfd, uaddr_t, linkpath)
{
	return do_symlink(target, newdirfd, linkpath);
}

static int64_t do_chmod(int64_t dirfd, uint64_t upath, uint32_t mode, int flags)
{
	struct vnode *v;
	int r = stat_at(dirfd, upath, flags, &v);
	if (r < 0)
		return r;
	v->mode = (v->mode & S_IFMT) | (mode & 07777);
	return 0;
}

SYSCALL_DEFINE2(chmod, uaddr_t, upath, uint32_t, mode) { return do_chmod(AT_FDCWD, upath, mode, 0); }
SYSCALL_DEFINE3(fchmodat, int, dirfd, uaddr_t, upath, uint32_t, mode)
{
	return do_chmod(dirfd, upath, mode, 0);
}
SYSCALL_DEFINE2(fchmod, int, fd, uint32_t, mode)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	f->vn->mode = (f->vn->mode & S_IFMT) | (mode & 07777);
	return 0;
}

static int64_t do_chown(int64_t dirfd, uint64_t upath, uint32_t uid, uint32_t gid, int flags)
{
	struct vnode *v;
	int r = stat_at(dirfd, upath, flags, &v);
	if (r < 0)
		return r;
	if (uid != 0xffffffffu)
		v->uid = uid;
	if (gid != 0xffffffffu)
		v->gid = gid;
	return 0;
}

SYSCALL_DEFINE3(chown, uaddr_t, upath, uint32_t, user, uint32_t, group)
{
	return do_chown(AT_FDCWD, upath, user, group, 0);
}
SYSCALL_DEFINE3(lchown, uaddr_t, upath, uint32_t, user, uint32_t, group)
{
	return do_chown(AT_FDCWD, upath, user, group, AT_SYMLINK_NOFOLLOW);
}
SYSCALL_DEFINE5(fchownat, int, dirfd, uaddr_t, upath, uint32_t, user, uint32_t, group, int, flags)
{
	return do_chown(dirfd, upath, user, group, flags);
}
SYSCALL_DEFINE3(fchown, int, fd, uint32_t, user, uint32_t, group)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (user != 0xffffffffu)
		f->vn->uid = user;
	if (group != 0xffffffffu)
		f->vn->gid = group;
	return 0;
}

SYSCALL_DEFINE1(umask, uint32_t, mask)
{
	uint32_t old = curproc->umask;
	curproc->umask = mask & 0777;
	return old;
}

SYSCALL_DEFINE2(truncate, uaddr_t, upath, int64_t, length)
{
	char path[PATH_MAX];
	struct vnode *v;
	int r = get_path(upath, path, false);
	if (r < 0 || (r = vfs_lookup(curproc->cwd, path, LOOKUP_FOLLOW, &v)) < 0)
		return r;
	if (length < 0)
		return -EINVAL;
	return vfs_truncate(v, (uint64_t)length);
}

SYSCALL_DEFINE2(ftruncate, int, fd, int64_t, length)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (length < 0 || (f->flags & O_ACCMODE) == 0)
		return -EINVAL;
	return vfs_truncate(f->vn, (uint64_t)length);
}

SYSCALL_DEFINE1(fsync, int, fd) { return fd_get(fd) ? 0 : -EBADF; }
SYSCALL_DEFINE1(fdatasync, int, fd) { return fd_get(fd) ? 0 : -EBADF; }

/* struct statfs: a tmpfs-like answer, whatever the file. */
static int64_t put_statfs(uaddr_t buf)
{
	uint64_t st[15];
	memset(st, 0, sizeof(st));
	st[0] = 0x01021994; /* TMPFS_MAGIC */
	st[1] = 4096;
	st[2] = mm_total_bytes() / 4096;
	st[3] = st[4] = mm_free_bytes() / 4096;
	st[8] = 255; /* namelen */
	st[9] = 4096;
	return copy_to_user(buf, st, 120);
}
SYSCALL_DEFINE2(statfs, uaddr_t, upath, uaddr_t, buf) { return put_statfs(buf); }
SYSCALL_DEFINE2(fstatfs, int, fd, uaddr_t, buf) { return fd_get(fd) ? put_statfs(buf) : -EBADF; }

static int64_t do_dup(int oldfd, int newfd, int flags)
{
	struct file *f = fd_get(oldfd);
	if (!f)
		return -EBADF;
	if (newfd < 0 || newfd >= MAX_FDS)
		return -EBADF;
	if (oldfd == newfd)
		return newfd;
	if (curproc->fds[newfd])
		file_put(curproc->fds[newfd]);
	f->refs++;
	curproc->fds[newfd] = f;
	curproc->fd_flags[newfd] = (flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	return newfd;
}

SYSCALL_DEFINE1(dup, int, oldfd)
{
	struct file *f = fd_get(oldfd);
	if (!f)
		return -EBADF;
	int fd = fd_alloc(f, 0, false);
	if (fd >= 0)
		f->refs++;
	return fd;
}
SYSCALL_DEFINE2(dup2, int, oldfd, int, newfd)
{
	if (oldfd == newfd)
		return fd_get(oldfd) ? newfd : -EBADF;
	return do_dup(oldfd, newfd, 0);
}
SYSCALL_DEFINE3(dup3, int, oldfd, int, newfd, int, flags)
{
	return oldfd == newfd ? -EINVAL : do_dup(oldfd, newfd, flags);
}

/* fd and cmd are unsigned ints, as in Linux; arg is compared whole. */
SYSCALL_DEFINE3(fcntl, int, fd, uint32_t, cmd, uint64_t, arg)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	switch (cmd) {
	case 0: /* F_DUPFD */
	case 1030: /* F_DUPFD_CLOEXEC */ {
		if (arg >= MAX_FDS)
			return -EINVAL;
		int nfd = fd_alloc(f, (int)arg, cmd == 1030);
		if (nfd >= 0)
			f->refs++;
		return nfd;
	}
	case 1: /* F_GETFD */ return curproc->fd_flags[fd];
	case 2: /* F_SETFD */ curproc->fd_flags[fd] = arg & FD_CLOEXEC; return 0;
	case 3: /* F_GETFL */ return f->flags & ~O_CLOEXEC;
	case 4: /* F_SETFL: only O_APPEND and O_NONBLOCK change */
		f->flags = (f->flags & ~(O_APPEND | O_NONBLOCK)) | ((int)arg & (O_APPEND | O_NONBLOCK));
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

/* cmd is an unsigned int: musl passes it sign-extended. */
SYSCALL_DEFINE3(ioctl, int, fd, uint32_t, cmd, uaddr_t, arg)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (cmd == FIONBIO) {
		int on;
		if (copy_from_user(&on, arg, sizeof(on)) < 0)
			return -EFAULT;
		f->flags = on ? f->flags | O_NONBLOCK : f->flags & ~O_NONBLOCK;
		return 0;
	}
	if (f->ops)
		return f->ops->ioctl ? f->ops->ioctl(f, cmd, arg) : -ENOTTY;
	if (f->vn->dev == DEV_NSM)
		return nsm_ioctl(cmd, arg);
	if (f->vn->dev != DEV_CONSOLE)
		return -ENOTTY;
	switch (cmd) {
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
		return copy_to_user(arg, t, sizeof(t));
	}
	case TCSETS:
	case TCSETSW:
	case TCSETSF:
	case TIOCSPGRP:
	case TIOCSWINSZ: return 0;
	case TIOCGPGRP: {
		int pg = 1;
		return copy_to_user(arg, &pg, sizeof(pg));
	}
	case TIOCGWINSZ: {
		uint16_t ws[4] = {24, 80, 0, 0};
		return copy_to_user(arg, ws, sizeof(ws));
	}
	default: return -ENOTTY;
	}
}

/* sendfile(out, in, *offset, count): a bounce through a kernel buffer. */
SYSCALL_DEFINE4(sendfile, int, out_fd, int, in_fd, uaddr_t, offset, uint64_t, count)
{
	struct file *out = fd_get(out_fd), *in = fd_get(in_fd);
	if (!out || !in)
		return -EBADF;
	if (!vn_is_reg(in->vn))
		return -EINVAL;
	uint64_t pos = in->pos;
	if (offset && copy_from_user(&pos, offset, 8) < 0)
		return -EFAULT;
	static uint8_t bounce[4096];
	int64_t total = 0;
	uint64_t left = count;
	while (left) {
		uint64_t chunk = MIN(left, sizeof(bounce));
		if (pos >= in->vn->size)
			break;
		chunk = MIN(chunk, in->vn->size - pos);
		vfs_read(in->vn, bounce, chunk, pos);
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
	if (offset) {
		if (copy_to_user(offset, &pos, 8) < 0)
			return -EFAULT;
	} else {
		in->pos = pos;
	}
	return total;
}
