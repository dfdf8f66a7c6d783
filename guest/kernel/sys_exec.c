/* execve: replaces the program image, as the one process's own exec (a shell
 * running its last command, a wrapper starting the real program). Arguments
 * and environment are copied in before the old image goes; a file that is
 * not a runnable ELF program (or whose interpreter is not) fails with the
 * old image intact. */
#include "syscalls.h"

#define ARG_BYTES (128 * 1024)
#define ARG_MAX_COUNT 4096

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

static void drop_image(void)
{
	vm_unmap(0, USER_TOP);
	for (int fd = 0; fd < MAX_FDS; fd++) {
		if (proc.fds[fd] && (proc.fd_flags[fd] & FD_CLOEXEC)) {
			file_put(proc.fds[fd]);
			proc.fds[fd] = NULL;
		}
		proc.fd_flags[fd] = 0;
	}
	proc.fs_base = 0;
	wrmsr(0xc0000100, 0); /* MSR_FS_BASE */
	proc.tid_address = 0;
	signals_reset();
}

SYSCALL_DEFINE3(execve, uaddr_t, upath, uaddr_t, uargv, uaddr_t, uenvp)
{
	static char path[4096];
	int64_t pl = strncpy_from_user(path, upath, sizeof(path));
	if (pl < 0)
		return pl;
	if (pl == 0)
		return -ENOENT;
	if (!strcmp(path, "/proc/self/exe")) /* busybox re-runs itself this way */
		memcpy(path, proc.exe, strlen(proc.exe) + 1);
	struct vnode *vn;
	int r = exec_check(path, &vn, false);
	if (r < 0)
		return r;
	char *buf = kmalloc(ARG_BYTES);
	char **ptrs = kmalloc(2 * (ARG_MAX_COUNT + 1) * sizeof(char *));
	if (!buf || !ptrs) {
		kfree(buf);
		kfree(ptrs);
		return -ENOMEM;
	}
	size_t used = 0;
	int argc = copy_strings(uargv, buf, ARG_BYTES, &used, ptrs, ARG_MAX_COUNT);
	int envc = argc < 0 ? 0 : copy_strings(uenvp, buf, ARG_BYTES, &used, ptrs + argc + 1, ARG_MAX_COUNT);
	if (argc < 0 || envc < 0) {
		kfree(buf);
		kfree(ptrs);
		return argc < 0 ? argc : envc;
	}
	ptrs[argc] = NULL;
	ptrs[argc + 1 + envc] = NULL;
	kdebug("execve %s (%d arguments)\n", path, argc);
	/* The point of no return: the old image goes. */
	drop_image();
	uint64_t entry, sp;
	r = exec_load(path, ptrs, argc, ptrs + argc + 1, envc, &entry, &sp);
	kfree(buf);
	kfree(ptrs);
	if (r < 0) {
		kprintf("carve: execve of %s failed after the old image was gone\n", path);
		proc_exit(127);
	}
	enter_user(entry, sp);
}
