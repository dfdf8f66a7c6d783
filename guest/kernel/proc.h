/* The one process: its address space (VMAs, brk), open files, working
 * directory and identity. */
#ifndef CARVE_PROC_H
#define CARVE_PROC_H

#include "kernel.h"
#include "vfs.h"
#include "task.h"
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

/* An address space: the mappings and the page tables that hold them. Shared
 * by a process's threads, and by a vfork child until it execs. */
struct aspace {
	struct vm_space map; /* mappings and brk */
	uint64_t *pml4;      /* kernel half shared by all, user half its own */
	int users;
};

/* ITIMER_VIRTUAL or ITIMER_PROF (itimer.c): when the process's clock
 * reaches at (its user, or user and system, time in ns; 0: off), and the
 * interval. */
struct cpu_itimer {
	uint64_t at, every;
};

struct process {
	int pid, pgid, sid;
	struct process *parent, *children, *sibling;
	struct process *next; /* every process */
	struct aspace *as;
	struct task *threads;
	int nthreads;
	struct file *fds[MAX_FDS];
	uint8_t fd_flags[MAX_FDS];
	struct vnode *cwd;
	char exe[256];
	uint32_t umask;
	uint8_t sigact[65][32];         /* struct sigaction as the program gave it */
	uint64_t sigpending;            /* sent to the process, not one thread */
	struct sigq_entry *sigq;        /* their siginfo (sigqueue.c) */
	int nsigq;                      /* entries in sigq */
	bool exiting;                   /* exit_group or a fatal signal: threads leave */
	bool zombie;                    /* every thread gone; waits for wait4 */
	int exit_status;                /* wait4's status word */
	struct task *vfork_waiter;      /* the parent, until this vfork child execs or exits */
	int exit_signal;                /* sent to the parent at the end (SIGCHLD) */
	uint64_t alarm_at, alarm_every; /* ITIMER_REAL (itimer.c), monotonic ns; 0: off */
	struct ptimer *ptimers;         /* POSIX timers (ptimer.c), made on first use */
	struct cpu_itimer itimer_virt, itimer_prof;
	bool cputimers;                 /* may have a timer on CPU time armed (cputime.c looks) */
	uint64_t cpu_user, cpu_sys;     /* CPU time of its ended threads, TSC ticks (cputime.c) */
	uint64_t child_user, child_sys; /* of its reaped children and theirs */
};

/* EFER.NXE is on: non-executable mappings get the NX bit. */
extern bool cpu_nx;

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
/* Handles a user page fault; 0 if resolved, -1 if the access is invalid
 * (SIGSEGV), VM_FAULT_SIGBUS past the end of a mapped file. */
#define VM_FAULT_SIGBUS (-2)
int vm_fault(uint64_t addr, bool write, bool exec);
/* Checks [addr, addr+len) is user memory the program may access that way, and
 * makes it present so the kernel can touch it. 0 or -EFAULT. */
int user_ok(uint64_t addr, uint64_t len, bool write);
int copy_from_user(void *dst, uint64_t src, uint64_t len);
int copy_to_user(uint64_t dst, const void *src, uint64_t len);
/* getsockopt's copy-out: size bytes of v, cut to the caller's length at
 * ulen, which is updated. 0, -EFAULT or -EINVAL (sys_net.c). */
int put_sockopt(uint64_t uval, uint64_t ulen, const void *v, int size);
/* A NUL-terminated user string into buf (cap bytes with the NUL). Returns its
 * length, -EFAULT, or -ENAMETOOLONG. */
int64_t strncpy_from_user(char *buf, uint64_t src, size_t cap);
uint64_t vm_brk(uint64_t want);

/* Everything in s goes (its pages from the page tables in CR3). */
void vm_unmap_space(struct vm_space *s);

/* ---- cputime.c ---- */
/* Boundaries: a task switch (sched.c), a system call's entry and return. */
void cputime_switch(struct task *prev, struct task *next);
/* The CPU halts with no task to run (sched.c), or wakes. */
void cputime_idle(bool halting);
void cputime_kernel(void);
void cputime_user(void);
/* t ends: its time goes to its process (task.c). */
void cputime_thread_end(struct task *t);
/* c is reaped: its time and its children's go to its parent's children. */
void cputime_reaped(struct process *c);
/* User and system time in ns. */
void cputime_task(struct task *t, uint64_t *user_ns, uint64_t *sys_ns);
void cputime_process(struct process *p, uint64_t *user_ns, uint64_t *sys_ns);
void cputime_children(struct process *p, uint64_t *user_ns, uint64_t *sys_ns);
/* A CPU-time clock's reading (CLOCK_PROCESS/THREAD_CPUTIME_ID or a clock
 * id made by clock_getcpuclockid/pthread_getcpuclockid): 0 or -EINVAL. */
int cputime_clock(int64_t clk, uint64_t *ns);
/* A struct rusage with these times (the rest zero) to user memory. */
int put_rusage(uint64_t uru, uint64_t user_ns, uint64_t sys_ns);
/* A CPU-time clock id (as cputime_clock takes it) decoded: the process it
 * counts, and the thread for a thread's clock (else NULL); which time:
 * CPUCLOCK_PROF (user and system), _VIRT (user) or _SCHED (as PROF).
 * 0 or -EINVAL. */
#define CPUCLOCK_PROF 0
#define CPUCLOCK_VIRT 1
#define CPUCLOCK_SCHED 2
int cputime_decode(int64_t clk, struct process **p, struct task **t, int *which);
/* That clock's reading now, in ns. */
uint64_t cputime_read(struct process *p, struct task *t, int which);
/* Timers on CPU time (ITIMER_VIRTUAL/ITIMER_PROF, POSIX timers on CPU-time
 * clocks). p armed one: from now on it is looked at. */
void cputimers_armed(struct process *p);
/* Fires the due ones: every process's (NULL) or only's. At each pick of
 * the scheduler (alarms_fire), and at each system call's return. */
void cputimers_fire(struct process *only);
/* When this CPU, about to run t, must look again: the wall-clock time by
 * which t's CPU time could make one of them due (UINT64_MAX: none). */
uint64_t cputimers_next(struct task *t, uint64_t now);
/* The threads of p that run now, t counted as one of them if it is p's:
 * p's CPU time goes at most this many times as fast as the wall clock. */
int cputime_runners(const struct process *p, const struct task *t);
/* A timer's signal to p (or its thread t) was sent: a thread that will take
 * it and runs on another CPU is brought into the kernel. */

/* ---- aspace.c ---- */
struct aspace *aspace_new(void);
/* A copy-on-write copy of src (the current address space). 0 or -ENOMEM. */
int aspace_fork(struct aspace *src, struct aspace **out);
void aspace_put(struct aspace *as);

/* ---- process.c ---- */
extern struct process *init_process;
struct process *process_by_pid(int pid);
/* A new process, child of parent, sharing nothing yet. */
struct process *process_alloc(struct process *parent);
/* The last thread of p is gone: files closed, address space dropped, the
 * parent told (SIGCHLD, wait4). The first program's end ends the VM. */
void process_end(struct process *p);
/* Ends every thread of the current process with status (a wait4 word). */
_Noreturn void process_exit_group(int status);
void files_close_all(struct process *p);
/* Frees a zombie (wait4, or nobody will wait). */
void process_reap(struct process *p);

/* ---- exec.c ---- */
/* Loads path as an ELF program (with its interpreter) with argv/envp; returns the entry and
 * user stack pointer. Negative errno on failure, with a message printed. */
int exec_load(const char *path, char *const argv[], int argc, char *const envp[], int envc, uint64_t *entry,
	      uint64_t *sp);

/* Checks that path names a runnable ELF program (printing why not). */
int exec_check(const char *path, struct vnode **out, bool verbose);

/* ---- fd.c ---- */
int fd_alloc(struct file *f, int min, bool cloexec);
/* The open file at fd, or NULL; it stays valid until the current system
 * call ends, whatever another thread closes meanwhile (task.h, held). */
struct file *fd_get(int fd);
/* Drops the references fd_get took for the current system call (the
 * system call's end, and a task's). */
void fds_release_held(void);
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

/* Ends the enclave with the first program's status. */
_Noreturn void proc_exit(int status);
void wake_threads(struct process *p);
/* Makes every thread of p leave (status: a wait4 word). */
void process_kill(struct process *p, int status);
struct process *process_first(void);

/* ---- signal.c ---- */
#define SIGILL 4
#define SIGTRAP 5
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGSEGV 11
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17
#define SIGSTOP 19
#define SIGRTMIN 32                      /* the kernel's: the first real-time signal */
#define SIG_BIT(sig) (1ull << ((sig)-1)) /* its bit in a mask or pending set */
/* siginfo's si_code values the kernel writes (signal.c) and reads
 * (signalfd.c); the layout of the words is signal.c's info_of. */
#define SI_USER 0
#define SI_KERNEL 0x80
#define SI_TIMER (-2)
#define SI_TKILL (-6)
#define CLD_EXITED 1
#define CLD_KILLED 2
#define CLD_DUMPED 3
/* Sends sig to process p (t NULL) or to its thread t. */
void signal_send(struct process *p, struct task *t, int sig, int from_pid);
/* The parent's signal at a child's end (exit_signal), with the child's
 * pid, status and CPU times in its siginfo (CLD_EXITED or CLD_KILLED). */
void signal_send_child(struct process *parent, struct process *child);
bool signal_child_ignored(const struct process *parent);
/* A fault in user mode: true if a handler will run. */
bool signal_fault(struct trap_frame *tf, int sig, uint64_t addr);
const char *signal_name(int sig);
/* Takes the lowest pending signal in mask (the thread's, then the
 * process's): its number with a siginfo_t in info, or 0 if none. */
int signal_dequeue(uint64_t mask, int32_t info[32]);
/* execve: signal dispositions back to their defaults. */
void signals_reset(void);
int signal_mask_for_wait(uint64_t umask, uint64_t sigsetsize);
uint64_t tf_user_sp(void);

/* ---- itimer.c ---- */
/* SIGALRM to each process whose alarm is due; the earliest alarm. */
void alarms_fire(uint64_t now);
uint64_t alarms_next(void);
/* For cputime.c: fires p's due ITIMER_VIRTUAL/ITIMER_PROF given its clock
 * (user and system ns); true if one is still armed. The CPU time left
 * until the next (UINT64_MAX: none). */
bool itimers_cpu_fire(struct process *p, uint64_t user, uint64_t sys);
uint64_t itimers_cpu_left(const struct process *p, uint64_t user, uint64_t sys);

/* ---- ptimer.c ---- */
void ptimers_fire(uint64_t now);
uint64_t ptimers_next(void);
void ptimers_clear(struct process *p);
/* For cputime.c: fires p's due timers on CPU-time clocks; true if one is
 * still armed. The wall-clock time by which t, running, could make one
 * due (UINT64_MAX: none). */
bool ptimers_cpu_fire(struct process *p);
uint64_t ptimers_cpu_left(struct process *p, struct task *t);
/* Thread t or process p ended: timers on its clock never fire again. */
void ptimers_thread_gone(struct task *t);
void ptimers_process_gone(struct process *p);
/* signal.c, as a timer's signal is taken: its overrun count (the expiries
 * since the one that sent it), fallback if the caller has no timer id. */
int ptimer_taken(int id, int fallback);
/* signal.c, for them: is sig pending there; send one with a timer's info. */
bool signal_pending_in(const struct process *p, const struct task *t, int sig);
void signal_send_timer(struct process *p, struct task *t, int sig, int id, int overrun, uint64_t value);
/* One the kernel raises itself (ITIMER_VIRTUAL, ITIMER_PROF): si_code SI_KERNEL. */
void signal_send_kernel(struct process *p, int sig);

/* ---- sigqueue.c: pending signals and their siginfo ---- */
/* Signals queued for one thread or process, at most (Linux's limit is
 * per user, RLIMIT_SIGPENDING); past it sigqueue gets EAGAIN. */
#define SIGQUEUE_MAX 1024
/* Makes sig pending for p (t NULL) or thread t with the siginfo info. A
 * standard signal pending already keeps its first siginfo; a real-time one
 * queues each. Past SIGQUEUE_MAX: with limited (sigqueue) a real-time
 * signal is refused, -EAGAIN; else it is pending without its siginfo.
 * 0 or -EAGAIN. */
int sigq_add(struct process *p, struct task *t, int sig, const int32_t info[32], bool limited);
/* Takes the lowest pending signal in mask, the current thread's before
 * its process's: its number, its siginfo in info; 0 if none. */
int sigq_take(uint64_t mask, int32_t info[32]);
/* Drops every pending sig of p and its threads (0: every signal). */
void sigq_drop(struct process *p, int sig);
void sigq_free_task(struct task *t);
void sigq_free_process(struct process *p);

/* ---- futex.c ---- */
/* Wakes up to n waiters on the current address space's futex word uaddr. */
int futex_wake_addr(uint64_t uaddr, int n);

#endif
