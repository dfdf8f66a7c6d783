/* Tasks (threads) and processes, and the scheduler that runs them.
 *
 * A task is a thread: a kernel stack, the user registers saved at the top of
 * it (a struct trap_frame, on every entry from user mode), its FPU state, its
 * TLS base and its signal mask. A process is what its threads share: the
 * address space, the open files, the working directory, the signal handlers,
 * and the place in the process tree (parent, children, group, session).
 *
 * The kernel is not preemptible and runs on one CPU at a time (the big
 * kernel lock, cpu.h; programs' threads run in parallel on every CPU): a
 * task leaves its CPU only when it sleeps (sched_sleep, inside a system
 * call) or when the timer interrupts it in user mode. So kernel data needs
 * no other locks; a sleeper rechecks its condition when it runs again. */
#ifndef CARVE_TASK_H
#define CARVE_TASK_H

#include "cpu.h"

struct process;
struct file;
struct sigq_entry;

/* A system call that sleeps in files uses at most two (sendfile, splice);
 * poll and select look theirs up again after every sleep, so a call with
 * more than this holds only its first ones (fd.c). */
#define HELD_FILES 4

enum task_state {
	TASK_RUNNABLE,
	TASK_SLEEPING,
	TASK_DEAD, /* its kernel stack is freed by the next task to run */
};

/* What a sleeper waits for, besides its deadline, a wake_task() and a
 * signal. */
enum wait_kind {
	WAIT_TIMER, /* nothing else: sleeps, futexes, wait4 */
	WAIT_EVENT, /* anything that may have changed: a device interrupt, a
		     * system call of another task, the console (looked at every
		     * 10 ms: it raises no interrupt) */
	WAIT_COND,  /* cond(cond_arg) becomes true (asked by the scheduler) */
};

struct task {
	int tid;
	struct process *proc;
	struct task *next;    /* every task, a ring in creation order */
	struct task *sibling; /* the process's threads */
	enum task_state state;
	uint64_t ksp;       /* saved kernel RSP while switched out */
	uint64_t kstack_pa; /* its kernel stack pages (0: the boot stack) */
	uint64_t kstack_top;
	uint64_t rsp0;         /* RSP0 while switched out (helper_run moves it) */
	struct trap_frame *tf; /* the user registers, top of the kernel stack */
	bool in_helper;        /* running helper.c's stub at CPL3: not preempted */
	int on_cpu;            /* the CPU running it (its stack in use), or -1 */
	bool is_idle;          /* a CPU's idle context (sched.c): on no list, never picked */
	uint64_t affinity;     /* the CPUs it may run on (sched_setaffinity) */

	/* Sleeping (sched.c). */
	enum wait_kind wait;
	bool (*cond)(void *);
	void *cond_arg;
	uint64_t deadline, seen_seq, polled_at;
	bool woken;

	/* Thread state. */
	uint64_t fs_base;
	uint64_t gs_base;         /* the program's (arch_prctl ARCH_SET_GS) */
	uint64_t clear_child_tid; /* set_tid_address, CLONE_CHILD_CLEARTID */
	uint64_t set_child_tid;   /* CLONE_CHILD_SETTID: written as it starts */
	bool killed;              /* the process is exiting: leave at the next chance */
	uint64_t sigmask, sigpending;
	struct sigq_entry *sigq; /* the pending ones' siginfo (sigqueue.c) */
	int nsigq;
	uint64_t saved_sigmask; /* rt_sigsuspend, ppoll, pselect */
	uint64_t real_blocked;  /* in rt_sigtimedwait: its mask before the wait unblocked the awaited */
	bool restore_sigmask;
	struct {
		uint64_t sp, size;
		int flags;
	} altstack;
	uint64_t futex_key; /* the futex word it waits on (futex.c) */
	uint32_t futex_bitset;
	uint64_t cpu_mark, cpu_user, cpu_sys; /* CPU time in TSC ticks (cputime.c) */
	bool cpu_in_sys;

	/* The open files its current system call looked up (fd_get), each
	 * with a reference held until the call ends (fds_release_held), so a
	 * file another thread closes while this one sleeps in it lives on
	 * until this call is done, as Linux's fdget/fdput keep it. */
	struct file *held[HELD_FILES];
	int held_refs[HELD_FILES]; /* each one's count once held */
	int nheld;
	uint8_t fpu[512] __attribute__((aligned(16)));
};

/* The task on this CPU. */
#define current (this_cpu()->cur)
#define curproc (current->proc)

/* ---- task.c ---- */
/* The first task, on the boot stack, in the first process. */
void task_init_boot(struct process *p);
/* A new task in p whose user registers are tf's; it starts in user mode when
 * first scheduled. NULL if out of memory. */
struct task *task_create(struct process *p, const struct trap_frame *tf);
struct task *task_by_tid(int tid);
/* Ends the current task; the process ends with its last task. */
_Noreturn void task_exit(void);
/* Frees what a dead task kept (called by the scheduler, off its stack). */
void task_free(struct task *t);
int task_count(void);
/* The next free thread/process id. */
int tid_alloc(void);

/* ---- sched.c ---- */
/* Gives the CPU to the next task that can run (or idles until one can). */
void schedule(void);
/* Sleeps until the deadline, wake_task, a signal, or what kind says.
 * The caller rechecks its condition afterwards. */
void sched_sleep(enum wait_kind kind, uint64_t deadline);
void sched_sleep_cond(bool (*cond)(void *), void *arg, uint64_t deadline);
void wake_task(struct task *t);
/* Something other tasks may wait for changed (WAIT_EVENT sleepers look). */
void sched_event(void);
/* The timer interrupted user mode. */
void sched_tick(void);
/* The enclave is ending: sleeps halt the CPU from now on, no task switches. */
void sched_stop(void);
/* t runs in user mode on another CPU: an IPI brings it into the kernel
 * (to take a signal, to end, to move). */
void sched_nudge(struct task *t);
/* Sets the LAPIC timer again after a new deadline (an alarm). */
void sched_rearm(void);
/* The current task should stop waiting: killed, or a signal it will take. */
bool task_interrupted(void);
/* Runs first in the task switched to (frees a dead task's stack). */
void sched_tail(void);
/* A new task's first step, in its own address space (switch.S). */
void task_first_run(struct trap_frame *tf);
/* Called with the user frame before every return to user mode. */
void return_to_user(struct trap_frame *tf);

#endif
