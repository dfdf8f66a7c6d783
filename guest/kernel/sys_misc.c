/* Small file-system calls: fallocate, utimensat, link, mknod (named pipes),
 * the old getdents, membarrier, and the xattr calls, which answer as Linux
 * does on a file system without extended attributes. */
#include "file.h"
#include "syscalls.h"

#define PATH_MAX 4096
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_SYMLINK_FOLLOW 0x400
#define AT_EMPTY_PATH 0x1000
#define S_IFBLK 0060000
#define S_IFSOCK 0140000
#define ENODEV 19

/* The vnode path names (from dirfd), following a final symlink if follow. */
static int lookup_at(int dirfd, uaddr_t upath, bool follow, bool empty_ok, struct vnode **out)
{
	char path[PATH_MAX];
	int64_t n = strncpy_from_user(path, upath, sizeof(path));
	if (n < 0)
		return (int)n;
	if (n == 0) {
		if (!empty_ok)
			return -ENOENT;
		struct file *f = dirfd == AT_FDCWD ? NULL : fd_get(dirfd);
		if (dirfd != AT_FDCWD && !f)
			return -EBADF;
		*out = f ? f->vn : curproc->cwd;
		return 0;
	}
	struct vnode *dir;
	int r = at_dir(dirfd, path, &dir);
	return r < 0 ? r : vfs_lookup(dir, path, follow ? LOOKUP_FOLLOW : 0, out);
}

/* ---- fallocate ---- */
#define FALLOC_FL_KEEP_SIZE 1
#define FALLOC_FL_PUNCH_HOLE 2
#define FALLOC_FL_ZERO_RANGE 0x10

SYSCALL_DEFINE4(fallocate, int, fd, int, mode, int64_t, offset, int64_t, len)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	if (offset < 0 || len <= 0 || offset > INT64_MAX - len)
		return -EINVAL;
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && (!(mode & FALLOC_FL_KEEP_SIZE) || (mode & FALLOC_FL_ZERO_RANGE)))
		return -EINVAL;
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	struct vnode *v = f->vn;
	if (f->ops && (v->mode & S_IFMT) == S_IFIFO)
		return -ESPIPE;
	if (vn_is_dir(v))
		return -EISDIR;
	if (!vn_is_reg(v))
		return -ENODEV;
	int r = vfs_make_writable(v);
	if (r < 0)
		return r;
	uint64_t end = (uint64_t)offset + (uint64_t)len;
	if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) &&
	    (r = vfs_zero_range(v, (uint64_t)offset, (uint64_t)len)) < 0)
		return r;
	/* Memory is the storage: there is nothing to reserve beyond the size. */
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > v->size)
		return vfs_truncate(v, end);
	return 0;
}

/* ---- utimensat ---- */
#define UTIME_NOW ((1l << 30) - 1l)
#define UTIME_OMIT ((1l << 30) - 2l)

/* Only the modification time is kept (stat shows it as all three). */
static int64_t set_times(struct vnode *v, uaddr_t utimes)
{
	int64_t ts[4] = {0, UTIME_NOW, 0, UTIME_NOW};
	if (utimes && copy_from_user(ts, utimes, sizeof(ts)) < 0)
		return -EFAULT;
	for (int i = 0; i < 2; i++) {
		int64_t ns = ts[2 * i + 1];
		if (ns != UTIME_NOW && ns != UTIME_OMIT && (ns < 0 || ns >= 1000000000))
			return -EINVAL;
	}
	if (ts[3] == UTIME_NOW)
		v->mtime = time_realtime_ns() / 1000000000ull;
	else if (ts[3] != UTIME_OMIT)
		v->mtime = (uint64_t)ts[2];
	return 0;
}

SYSCALL_DEFINE4(utimensat, int, dfd, uaddr_t, filename, uaddr_t, utimes, int, flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct vnode *v;
	if (!filename) { /* futimens: the descriptor itself */
		struct file *f = fd_get(dfd);
		if (dfd == AT_FDCWD || !f)
			return -EBADF;
		return set_times(f->vn, utimes);
	}
	int r = lookup_at(dfd, filename, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH, &v);
	return r < 0 ? r : set_times(v, utimes);
}

/* ---- link ---- */
/* A regular file gets a second name (vfs_link: a vnode sharing its pages;
 * glibc's and musl's sem_open make a semaphore with link). Other kinds are
 * refused as a file system without hard links refuses them (EPERM), after
 * the checks Linux makes first. */
static int64_t do_link(int olddfd, uaddr_t oldname, int newdfd, uaddr_t newname, int flags)
{
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct vnode *old, *dir, *parent;
	int r = lookup_at(olddfd, oldname, flags & AT_SYMLINK_FOLLOW, flags & AT_EMPTY_PATH, &old);
	if (r < 0)
		return r;
	char path[PATH_MAX];
	int64_t n = strncpy_from_user(path, newname, sizeof(path));
	if (n < 0)
		return n;
	if (n == 0)
		return -ENOENT;
	const char *name;
	size_t nl;
	if ((r = at_dir(newdfd, path, &dir)) < 0 ||
	    (r = vfs_lookup_parent(dir, path, &parent, &name, &nl)) < 0)
		return r;
	if (vn_is_dir(old))
		return -EPERM;
	return vfs_link(old, parent, name, nl);
}

SYSCALL_DEFINE2(link, uaddr_t, oldname, uaddr_t, newname)
{
	return do_link(AT_FDCWD, oldname, AT_FDCWD, newname, 0);
}
/* clang-format off */
SYSCALL_DEFINE5(linkat, int, olddfd, uaddr_t, oldname, int, newdfd, uaddr_t, newname,
		int, flags)
/* clang-format on */ { return do_link(olddfd, oldname, newdfd, newname, flags); }

/* ---- mknod ---- */
/* Named pipes, regular files and socket names; no device nodes. */
static int64_t do_mknod(int dfd, uaddr_t filename, uint32_t mode)
{
	uint32_t type = mode & S_IFMT;
	if (type == 0)
		type = S_IFREG;
	if (type == S_IFCHR || type == S_IFBLK)
		return -EPERM;
	if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
		return -EINVAL;
	char path[PATH_MAX];
	int64_t n = strncpy_from_user(path, filename, sizeof(path));
	if (n < 0)
		return n;
	if (n == 0)
		return -ENOENT;
	struct vnode *dir, *parent, *v;
	const char *name;
	size_t nl;
	int r;
	if ((r = at_dir(dfd, path, &dir)) < 0 || (r = vfs_lookup_parent(dir, path, &parent, &name, &nl)) < 0)
		return r;
	if (!nl)
		return -EEXIST;
	return vfs_create(parent, name, nl, type | (mode & 07777 & ~curproc->umask), &v);
}

SYSCALL_DEFINE3(mknod, uaddr_t, filename, uint32_t, mode, uint32_t, dev)
{
	return do_mknod(AT_FDCWD, filename, mode);
}
SYSCALL_DEFINE4(mknodat, int, dfd, uaddr_t, filename, uint32_t, mode, uint32_t, dev)
{
	return do_mknod(dfd, filename, mode);
}

/* ---- getdents ---- */
/* struct linux_dirent is linux_dirent64 with the type moved from before the
 * name to the record's last byte; the records have the same lengths, so
 * getdents64's output is rewritten in place. */
SYSCALL_DEFINE3(getdents, int, fd, uaddr_t, dirent, uint64_t, count)
{
	int64_t n = sys_getdents64((uint64_t)(uint32_t)fd, dirent, count, 0, 0, 0);
	for (int64_t at = 0; at < n;) {
		uint8_t *d = (uint8_t *)dirent + at;
		uint16_t reclen;
		memcpy(&reclen, d + 16, 2);
		uint8_t type = d[18];
		size_t nl = strlen((const char *)d + 19);
		memmove(d + 18, d + 19, nl + 1);
		d[reclen - 1] = type;
		at += reclen;
	}
	return n;
}

/* ---- membarrier ---- */
/* One CPU: every barrier is satisfied once the kernel returns (IRETQ
 * serializes). The private commands still need registering first, as on
 * Linux; rseq is not offered (rseq itself is ENOSYS here). */
#define MB_GLOBAL 1
#define MB_GLOBAL_EXPEDITED 2
#define MB_REGISTER_GLOBAL_EXPEDITED 4
#define MB_PRIVATE_EXPEDITED 8
#define MB_REGISTER_PRIVATE_EXPEDITED 16
#define MB_PRIVATE_EXPEDITED_SYNC_CORE 32
#define MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE 64
#define MB_GET_REGISTRATIONS 512
#define MB_SUPPORTED 127

static uint32_t mb_registered; /* of the one process; per address space later */

SYSCALL_DEFINE3(membarrier, int, cmd, uint32_t, flags, int, cpu_id)
{
	if (flags)
		return -EINVAL;
	switch (cmd) {
	case 0: return MB_SUPPORTED;
	case MB_GET_REGISTRATIONS: return mb_registered;
	case MB_GLOBAL: return 0;
	case MB_REGISTER_GLOBAL_EXPEDITED:
	case MB_REGISTER_PRIVATE_EXPEDITED:
	case MB_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: mb_registered |= (uint32_t)cmd; return 0;
	case MB_GLOBAL_EXPEDITED: return 0; /* no other process to wait for */
	case MB_PRIVATE_EXPEDITED:
	case MB_PRIVATE_EXPEDITED_SYNC_CORE:
		__asm__ volatile("mfence" ::: "memory");
		return (mb_registered & ((uint32_t)cmd << 1)) ? 0 : -EPERM;
	default: return -EINVAL;
	}
}

/* ---- xattrs ---- */
/* Reading or listing resolves the file first (ENOENT, EBADF...), then:
 * no attribute can be read or set (EOPNOTSUPP), and the list is empty. */
static int64_t xattr_path(uaddr_t path, bool follow, bool list)
{
	struct vnode *v;
	int r = lookup_at(AT_FDCWD, path, follow, false, &v);
	return r < 0 ? r : list ? 0 : -EOPNOTSUPP;
}
static int64_t xattr_fd(int fd, bool list)
{
	struct file *f = fd_get(fd);
	return !f ? -EBADF : list ? 0 : -EOPNOTSUPP;
}

/* clang-format off */
SYSCALL_DEFINE5(setxattr, uaddr_t, path, uaddr_t, name, uaddr_t, value, uint64_t, size,
		int, flags)
{
	return xattr_path(path, true, false);
}
SYSCALL_DEFINE5(lsetxattr, uaddr_t, path, uaddr_t, name, uaddr_t, value, uint64_t, size,
		int, flags)
{
	return xattr_path(path, false, false);
}
SYSCALL_DEFINE5(fsetxattr, int, fd, uaddr_t, name, uaddr_t, value, uint64_t, size,
		int, flags)
{
	return xattr_fd(fd, false);
}
/* clang-format on */
SYSCALL_DEFINE4(getxattr, uaddr_t, path, uaddr_t, name, uaddr_t, value, uint64_t, size)
{
	return xattr_path(path, true, false);
}
SYSCALL_DEFINE4(lgetxattr, uaddr_t, path, uaddr_t, name, uaddr_t, value, uint64_t, size)
{
	return xattr_path(path, false, false);
}
SYSCALL_DEFINE4(fgetxattr, int, fd, uaddr_t, name, uaddr_t, value, uint64_t, size)
{
	return xattr_fd(fd, false);
}
SYSCALL_DEFINE3(listxattr, uaddr_t, path, uaddr_t, list, uint64_t, size)
{
	return xattr_path(path, true, true);
}
SYSCALL_DEFINE3(llistxattr, uaddr_t, path, uaddr_t, list, uint64_t, size)
{
	return xattr_path(path, false, true);
}
SYSCALL_DEFINE3(flistxattr, int, fd, uaddr_t, list, uint64_t, size) { return xattr_fd(fd, true); }
SYSCALL_DEFINE2(removexattr, uaddr_t, path, uaddr_t, name) { return xattr_path(path, true, false); }
SYSCALL_DEFINE2(lremovexattr, uaddr_t, path, uaddr_t, name) { return xattr_path(path, false, false); }
SYSCALL_DEFINE2(fremovexattr, int, fd, uaddr_t, name) { return xattr_fd(fd, false); }
