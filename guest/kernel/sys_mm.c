/* Memory calls: brk, mmap, munmap, mprotect, mremap, madvise, msync. The
 * address space itself is vm.c's (page tables) and vma.c's (mappings). */
#include "syscalls.h"

SYSCALL_DEFINE1(brk, uaddr_t, addr) { return (int64_t)vm_brk(addr); }

SYSCALL_DEFINE6(mmap, uaddr_t, addr, uint64_t, len, int, prot, int, flags, int, fd, uint64_t, off)
{
	if (!len || len > USER_TOP || (off & ~PAGE_MASK) || (prot & ~7))
		return -EINVAL;
	int type = flags & 3;
	if (type != MAP_PRIVATE && type != MAP_SHARED && type != 3 /* MAP_SHARED_VALIDATE */)
		return -EINVAL;
	len = ALIGN_UP(len, PAGE_SIZE);
	struct vnode *vn = NULL;
	bool anon = flags & MAP_ANONYMOUS, read_only = false;
	if (!anon) {
		struct file *f = fd_get(fd);
		if (!f)
			return -EBADF;
		if (f->vn->dev == DEV_ZERO)
			anon = true; /* /dev/zero: anonymous memory */
		else if (!vn_is_reg(f->vn))
			return -ENODEV;
		else
			vn = f->vn;
		read_only = (f->flags & 3) == 0;
		if (vn && (prot & PROT_WRITE) && type != MAP_PRIVATE && read_only)
			return -EACCES;
		/* A shared mapping of a file open for writing maps its pages,
		 * which a ramdisk file gets now (a copy in memory). */
		if (vn && type != MAP_PRIVATE && (f->flags & 3)) {
			int r = vfs_make_writable(vn);
			if (r < 0)
				return r;
		}
	}
	uint64_t start;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & ~PAGE_MASK || addr + len < addr || addr + len > USER_TOP || addr < MMAP_BOTTOM)
			return -EINVAL;
		if ((flags & MAP_FIXED_NOREPLACE) && !vm_range_free(addr, addr + len))
			return -EEXIST;
		start = addr;
	} else {
		start = 0;
		addr = ALIGN_DOWN(addr, PAGE_SIZE);
		if (addr >= MMAP_BOTTOM && addr + len > addr && addr + len <= USER_TOP &&
		    vm_range_free(addr, addr + len))
			start = addr;
		if (!start && !(start = vm_find_free(len)))
			return -ENOMEM;
	}
	/* Shared anonymous memory is an unlinked file of its own, as Linux's
	 * shmem: forked children map the same pages, touched before or after. */
	if (anon && type != MAP_PRIVATE && !(vn = shmem_vnode(len)))
		return -ENOMEM;
	struct vma t = {.start = start,
			.end = start + len,
			.prot = prot,
			.vn = vn,
			.off = off,
			.flen = len,
			.flags = type == MAP_PRIVATE ? 0 : VMA_SHARED | (read_only ? VMA_READONLY : 0)};
	int r = vm_map_vma(&t);
	if (r < 0 && anon && vn) { /* nothing holds it: let it go */
		vn_ref(vn);
		vn_unref(vn);
	}
	return r < 0 ? r : (int64_t)start;
}

SYSCALL_DEFINE2(munmap, uaddr_t, addr, uint64_t, len)
{
	if (!len)
		return -EINVAL;
	return vm_unmap(addr, len);
}

SYSCALL_DEFINE3(mprotect, uaddr_t, addr, uint64_t, len, int, prot)
{
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	return vm_protect(addr, len, prot & 7);
}

SYSCALL_DEFINE5(mremap, uaddr_t, old, uint64_t, old_len, uint64_t, new_len, int, flags, uaddr_t, new_addr)
{
	return vm_remap(old, old_len, new_len, flags, new_addr);
}

#define MADV_DONTNEED 4

SYSCALL_DEFINE3(madvise, uaddr_t, addr, uint64_t, len, uint64_t, advice)
{
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	/* DONTNEED on private anonymous memory must read back as zeros. */
	if (advice == MADV_DONTNEED) {
		struct vma *v = vm_find(addr);
		if (v && !v->vn) {
			uint64_t end = MIN(addr + ALIGN_UP(len, PAGE_SIZE), v->end);
			for (uint64_t a = addr; a < end; a += PAGE_SIZE) {
				uint64_t e = unmap_user_page(a);
				if (e && !(e & PTE_BORROWED))
					page_put(e & PTE_ADDR); /* another process may own it too (fork) */
			}
		}
	}
	return 0;
}

#define MS_ASYNC 1
#define MS_INVALIDATE 2
#define MS_SYNC 4

/* A shared mapping is the file's own pages, so there is nothing to write
 * back; the checks are Linux's. */
SYSCALL_DEFINE3(msync, uaddr_t, addr, uint64_t, len, int, flags)
{
	if (addr & ~PAGE_MASK || flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) ||
	    (flags & MS_ASYNC && flags & MS_SYNC))
		return -EINVAL;
	uint64_t end = addr + ALIGN_UP(len, PAGE_SIZE);
	if (end < addr || end > USER_TOP)
		return -ENOMEM;
	for (uint64_t a = addr; a < end;) {
		struct vma *v = vm_find(a);
		if (!v)
			return -ENOMEM;
		a = v->end;
	}
	return 0;
}
