/* Memory calls: brk, mmap, munmap, mprotect, mremap, madvise, msync. */
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
	if (!(flags & MAP_ANONYMOUS)) {
		struct file *f = fd_get(fd);
		if (!f)
			return -EBADF;
		if (f->vn->dev == DEV_ZERO)
			vn = NULL; /* /dev/zero: anonymous memory */
		else if (!vn_is_reg(f->vn))
			return -ENODEV;
		else
			vn = f->vn;
		if (vn && (prot & PROT_WRITE) && type != MAP_PRIVATE && (f->flags & 3) == 0)
			return -EACCES;
	}
	uint64_t start;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & ~PAGE_MASK || addr + len < addr || addr + len > USER_TOP || addr < MMAP_BOTTOM)
			return -EINVAL;
		if (flags & MAP_FIXED_NOREPLACE)
			for (uint64_t a = addr; a < addr + len; a += PAGE_SIZE)
				if (vm_find(a))
					return -EEXIST;
		start = addr;
	} else {
		start = 0;
		addr = ALIGN_DOWN(addr, PAGE_SIZE);
		if (addr >= MMAP_BOTTOM && addr + len > addr && addr + len <= USER_TOP) {
			start = addr;
			for (uint64_t a = addr; a < addr + len; a += PAGE_SIZE)
				if (vm_find(a)) {
					start = 0;
					break;
				}
		}
		if (!start && !(start = vm_find_free(len)))
			return -ENOMEM;
	}
	/* MAP_SHARED file mappings are served as private copies: one process
	 * sees no difference except that writes do not reach the file. */
	int r = vm_map(start, len, prot, vn, off, len);
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

struct move_ctx {
	uint64_t from, to;
	int err;
};

static void move_pte(uint64_t va, uint64_t *pte, void *ctx)
{
	struct move_ctx *c = ctx;
	uint64_t e = *pte;
	if (map_user_page(va - c->from + c->to, e & PTE_ADDR, e & ~(PTE_ADDR | PTE_P | PTE_U)) < 0) {
		c->err = -ENOMEM;
		return;
	}
	*pte = 0;
	invlpg(va);
}

#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2

SYSCALL_DEFINE4(mremap, uaddr_t, old, uint64_t, old_len, uint64_t, new_len, int, flags)
{
	uint64_t olen = ALIGN_UP(old_len, PAGE_SIZE), nlen = ALIGN_UP(new_len, PAGE_SIZE);
	if (old & ~PAGE_MASK || !nlen || (flags & MREMAP_FIXED) || !olen)
		return -EINVAL;
	struct vma *v = vm_find(old);
	if (!v || old + olen > v->end)
		return -EFAULT;
	if (nlen <= olen) {
		if (nlen < olen)
			vm_unmap(old + nlen, olen - nlen);
		return (int64_t)old;
	}
	/* Grow in place when the range after it is free. */
	bool free_after = old + nlen <= USER_TOP && old + nlen > old;
	for (uint64_t a = old + olen; free_after && a < old + nlen; a += PAGE_SIZE)
		if (vm_find(a))
			free_after = false;
	if (free_after && old + olen == v->end) {
		if (v->vn)
			v->flen += nlen - olen;
		v->end = old + nlen;
		return (int64_t)old;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	uint64_t to = vm_find_free(nlen);
	if (!to)
		return -ENOMEM;
	struct vma copy = *v;
	uint64_t delta = old - v->start;
	int r = vm_map(to, nlen, copy.prot, copy.vn, copy.off + delta,
		       copy.vn ? (copy.flen > delta ? copy.flen - delta : 0) + (nlen - olen) : 0);
	if (r < 0)
		return r;
	struct move_ctx c = {old, to, 0};
	user_range_walk(old, old + olen, move_pte, &c);
	if (c.err)
		return c.err;
	/* The pages have moved; drop the old VMA (no pages left to free). */
	vm_unmap(old, olen);
	return (int64_t)to;
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
					page_free(e & PTE_ADDR);
			}
		}
	}
	return 0;
}

SYSCALL_DEFINE3(msync, uaddr_t, addr, uint64_t, len, int, flags) { return 0; }
