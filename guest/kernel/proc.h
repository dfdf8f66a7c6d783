/* The one process: its address space (VMAs, brk), open files, working
 * directory and identity. */
#ifndef CARVE_PROC_H
#define CARVE_PROC_H

#include "kernel.h"
#include "vfs.h"
#include "vma.h"

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_GROWSDOWN 0x100
#define MAP_NORESERVE 0x4000
#define MAP_POPULATE 0x8000
#define MAP_FIXED_NOREPLACE 0x100000

#define STACK_TOP 0x7ffffffde000ull
#define STACK_SIZE (8ull << 20)
#define MMAP_TOP 0x7ff000000000ull
#define MMAP_BOTTOM 0x10000ull
#define PIE_BASE 0x555555554000ull

#define MAX_FDS 256
#define FD_CLOEXEC 1

struct file_ops;
struct file {
	struct vnode *vn; /* each kind's own vnode for file_ops kinds (file.h) */
	uint64_t pos;
	int flags; /* O_ACCMODE | O_APPEND | O_NONBLOCK ... */
	int refs;
	struct vsock_sock *sock;    /* AF_VSOCK sockets (sys_net.c) */
	const struct file_ops *ops; /* pipes, eventfd, timerfd, epoll, AF_UNIX (file.h) */
	void *priv;                 /* the kind's state */
};

struct process {
	struct vm_space mm; /* mappings and brk */
	struct file *fds[MAX_FDS];
	uint8_t fd_flags[MAX_FDS];
	struct vnode *cwd;
	char exe[256];
	uint64_t fs_base;
	uint64_t tid_address;
	uint32_t umask;
	bool nx; /* EFER.NXE is on */
};

extern struct process proc;

/* ---- vm.c ---- */
int vm_map(uint64_t start, uint64_t len, int prot, struct vnode *vn, uint64_t off, uint64_t flen);
/* Maps [t->start, t->end) as t says (prot, file, flags, heap). */
int vm_map_vma(const struct vma *t);
int vm_unmap(uint64_t start, uint64_t len);
int vm_protect(uint64_t start, uint64_t len, int prot);
struct vma *vm_find(uint64_t addr);
/* The mappings in address order (for /proc/self/maps): for (v = vm_first();
 * v; v = vm_next(v)). Valid until the next change to the mappings. */
struct vma *vm_first(void);
struct vma *vm_next(const struct vma *v);
/* True if nothing is mapped in [start, end). */
bool vm_range_free(uint64_t start, uint64_t end);
/* mremap (MREMAP_MAYMOVE, MREMAP_FIXED): the new address or -errno. */
int64_t vm_remap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr);
/* A free range of len bytes (top-down), 0 if none. */
uint64_t vm_find_free(uint64_t len);
/* Handles a user page fault; 0 if resolved, -1 if the access is invalid. */
int vm_fault(uint64_t addr, bool write, bool exec);
/* Checks [addr, addr+len) is user memory the program may access that way, and
 * makes it present so the kernel can touch it. 0 or -EFAULT. */
int user_ok(uint64_t addr, uint64_t len, bool write);
int copy_from_user(void *dst, uint64_t src, uint64_t len);
int copy_to_user(uint64_t dst, const void *src, uint64_t len);
/* A NUL-terminated user string into buf (cap bytes with the NUL). Returns its
 * length, -EFAULT, or -ENAMETOOLONG. */
int64_t strncpy_from_user(char *buf, uint64_t src, size_t cap);
uint64_t vm_brk(uint64_t want);

/* ---- exec.c ---- */
/* Loads path as an ELF program (with its interpreter) with argv/envp; returns the entry and
 * user stack pointer. Negative errno on failure, with a message printed. */
int exec_load(const char *path, char *const argv[], int argc, char *const envp[], int envc, uint64_t *entry,
	      uint64_t *sp);

/* Checks that path names a runnable ELF program (printing why not). */
int exec_check(const char *path, struct vnode **out, bool verbose);

/* ---- fd.c ---- */
int fd_alloc(struct file *f, int min, bool cloexec);
struct file *fd_get(int fd);
struct file *file_new(struct vnode *vn, int flags);
void file_put(struct file *f);
void fds_init_console(void);

/* ---- procfs.c ---- */
/* Makes the /proc and /sys nodes (after the ramdisk is in the tree). */
void procfs_init(void);
/* On open of v: a procfs node gets *out, a snapshot of its text generated
 * now (-EACCES unless accmode is O_RDONLY); other vnodes are left alone. */
int procfs_open(struct vnode *v, int accmode, struct vnode **out);
/* The VM's CPUs (what nproc and sysconf report). */
int vm_cpu_count(void);

_Noreturn void proc_exit(int status);

/* execve: signal dispositions back to their defaults. */
void signals_reset(void);

#endif
