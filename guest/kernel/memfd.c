/* memfd_create: a regular in-memory file in no directory (as if already
 * unlinked), so it lives while a descriptor or mapping holds it; read,
 * write, ftruncate, fallocate and mmap treat it as any in-memory file.
 * Seals are not kept: MFD_ALLOW_SEALING is accepted and F_ADD_SEALS is
 * refused by fcntl, which a program asking for seals will see.
 *
 * Shared anonymous mappings are such files too (shmem_vnode), as Linux's. */
#include "file.h"
#include "syscalls.h"

#define MFD_CLOEXEC 1u
#define MFD_ALLOW_SEALING 2u
#define MFD_HUGETLB 4u
#define MFD_NOEXEC_SEAL 8u
#define MFD_EXEC 0x10u
#define MFD_NAME_MAX 249 /* NAME_MAX less "memfd:" */
#define O_LARGEFILE 0100000

/* Apart from the tree's numbers (vfs.c counts up from 1). */
static uint64_t next_ino = 1ull << 40;

struct vnode *shmem_vnode(uint64_t size)
{
	struct vnode *v = kmalloc(sizeof(*v));
	if (!v)
		return NULL;
	ksnprintf(v->name, sizeof(v->name), "dev/zero");
	v->mode = S_IFREG | 0600;
	v->ino = next_ino++;
	v->unlinked = true; /* freed with the last mapping (vn_unref) */
	v->parent = vfs_root();
	if (vfs_truncate(v, size) < 0) {
		vn_ref(v);
		vn_unref(v); /* frees it and what it holds */
		return NULL;
	}
	return v;
}

SYSCALL_DEFINE2(memfd_create, uaddr_t, uname, uint32_t, flags)
{
	if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC))
		return -EINVAL;
	if ((flags & MFD_NOEXEC_SEAL) && (flags & MFD_EXEC))
		return -EINVAL;
	if (flags & MFD_HUGETLB)
		return -EINVAL; /* no huge pages here */
	char name[MFD_NAME_MAX + 1];
	int64_t n = strncpy_from_user(name, uname, sizeof(name));
	if (n == -ENAMETOOLONG)
		return -EINVAL; /* Linux: a name too long is EINVAL */
	if (n < 0)
		return n;
	struct vnode *v = kmalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	ksnprintf(v->name, sizeof(v->name), "memfd:%s", name);
	v->mode = S_IFREG | ((flags & MFD_NOEXEC_SEAL) ? 0666 : 0777);
	v->ino = next_ino++;
	v->mtime = time_realtime_ns() / 1000000000ull;
	v->unlinked = true; /* freed with its last reference (vn_unref) */
	v->parent = vfs_root();
	struct file *f = file_new(v, O_RDWR | O_LARGEFILE);
	if (!f) {
		kfree(v);
		return -ENOMEM;
	}
	int fd = fd_alloc(f, 0, flags & MFD_CLOEXEC);
	if (fd < 0)
		file_put(f);
	return fd;
}
