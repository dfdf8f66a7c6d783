/* execve: replaces the calling process's image (its other threads end
 * first; a vfork child gets its own address space). Arguments
 * and environment are copied in before the old image goes; a file that is
 * not a runnable ELF program (or whose interpreter is not) fails with the
 * old image intact. */
#include "syscalls.h"

#define ARG_BYTES (128 * 1024)
#define ARG_MAX_COUNT 4096
#define PATH_BYTES 4096

/* Copies a NULL-terminated user array of strings into buf; pointers into
 * ptrs. Returns the count or -errno. */
static int copy_strings(uint64_t uarr, char *buf, size_t cap, size_t *used, char **ptrs, int max)
{
	int n = 0;
	if (!uarr)
		return 0;
	for (;;) {
		uint64_t up;
		if (copy_from_user(&up, uarr + (uint64_t)n * 8, 8) < 0)
			return -EFAULT;
		if (!up)
			return n;
		if (n >= max)
			return -E2BIG;
		int64_t len = strncpy_from_user(buf + *used, up, cap - *used);
		if (len == -ENAMETOOLONG)
			return -E2BIG;
		if (len < 0)
			return (int)len;
		ptrs[n++] = buf + *used;
		*used += (size_t)len + 1;
	}
}

/* The other threads of the process end before the image goes (Linux's
 * de_thread): they leave at their next return to user mode or wake-up. */
static int end_other_threads(void)
{
	struct process *p = curproc;
	for (struct task *t = p->threads; t; t = t->sibling)
		if (t != current)
			t->killed = true;
	wake_threads(p);
	while (p->nthreads > 1) {
		if (current->killed)
			return -EINTR;
		sched_sleep(WAIT_TIMER, UINT64_MAX); /* task_exit wakes us */
	}
	return 0;
}

/* A fresh address space; the old one goes with its last user (a vfork
 * parent keeps it), and a vfork parent waiting for us runs again. */
static int new_image_space(void)
{
	struct aspace *as = aspace_new(), *old = curproc->as;
	if (!as)
		return -ENOMEM;
	curproc->as = as;
	paging_switch(as->pml4);
	aspace_put(old);
	if (curproc->vfork_waiter) {
		wake_task(curproc->vfork_waiter);
		curproc->vfork_waiter = NULL;
	}
	return 0;
}

static void drop_image(void)
{
	for (int fd = 0; fd < MAX_FDS; fd++) {
		if (curproc->fds[fd] && (curproc->fd_flags[fd] & FD_CLOEXEC)) {
			file_put(curproc->fds[fd]);
			curproc->fds[fd] = NULL;
		}
		curproc->fd_flags[fd] = 0;
	}
	current->fs_base = 0;
	wrmsr(0xc0000100, 0); /* MSR_FS_BASE */
	current->clear_child_tid = 0;
	signals_reset();
}

/* The new image from path, argv and envp already in kernel memory. */
static int64_t exec_image(char *path, char **ptrs, int argc, int envc)
{
	kdebug("execve %s (%d arguments)\n", path, argc);
	if (end_other_threads() < 0 || new_image_space() < 0)
		return -ENOMEM;
	/* The point of no return: the old image is gone. */
	drop_image();
	uint64_t entry, sp;
	if (exec_load(path, ptrs, argc, ptrs + argc + 1, envc, &entry, &sp) < 0) {
		kprintf("carve: execve of %s failed after the old image was gone\n", path);
		process_exit_group(SIGSEGV);
	}
	kfree(ptrs);
	kfree(path - ARG_BYTES); /* one block: strings, then the path */
	cputime_user();
	enter_user(entry, sp);
}

SYSCALL_DEFINE3(execve, uaddr_t, upath, uaddr_t, uargv, uaddr_t, uenvp)
{
	/* Strings and path in one block (another task may exec meanwhile:
	 * nothing here is static). */
	char *buf = kmalloc(ARG_BYTES + PATH_BYTES);
	char **ptrs = kmalloc(2 * (ARG_MAX_COUNT + 1) * sizeof(char *));
	char *path = buf + ARG_BYTES;
	int64_t r = -ENOMEM;
	if (!buf || !ptrs)
		goto out;
	r = strncpy_from_user(path, upath, PATH_BYTES);
	if (r == 0)
		r = -ENOENT;
	if (r < 0)
		goto out;
	if (!strcmp(path, "/proc/self/exe")) /* busybox re-runs itself this way */
		memcpy(path, curproc->exe, strlen(curproc->exe) + 1);
	struct vnode *vn;
	if ((r = exec_check(path, &vn, false)) < 0)
		goto out;
	size_t used = 0;
	int argc = copy_strings(uargv, buf, ARG_BYTES, &used, ptrs, ARG_MAX_COUNT);
	int envc = argc < 0 ? 0 : copy_strings(uenvp, buf, ARG_BYTES, &used, ptrs + argc + 1, ARG_MAX_COUNT);
	if (argc < 0 || envc < 0) {
		r = argc < 0 ? argc : envc;
		goto out;
	}
	ptrs[argc] = NULL;
	ptrs[argc + 1 + envc] = NULL;
	r = exec_image(path, ptrs, argc, envc);
out:
	kfree(buf);
	kfree(ptrs);
	return r;
}
