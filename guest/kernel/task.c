/* Tasks: making one (the first on the boot stack, the others with a kernel
 * stack of their own and a copy of their creator's user registers), finding
 * one by id, and ending one. */
#include "proc.h"

#define KSTACK_PAGES 8  /* 32 KiB */
#define MAX_TID 4194304 /* Linux's pid_max limit */

extern struct task *task_list;
extern char kstack_top[];
void task_start(void);

static int last_tid;

int tid_alloc(void)
{
	for (int tries = 0; tries < MAX_TID; tries++) {
		last_tid = last_tid >= MAX_TID - 1 ? 2 : last_tid + 1;
		if (!task_by_tid(last_tid) && !process_by_pid(last_tid))
			return last_tid;
	}
	return -11; /* EAGAIN */
}

static void link_task(struct task *t, struct process *p)
{
	t->proc = p;
	t->sibling = p->threads;
	p->threads = t;
	p->nthreads++;
	struct task **at = &task_list;
	while (*at)
		at = &(*at)->next;
	*at = t;
}

void task_init_boot(struct process *p)
{
	struct task *t = kmalloc(sizeof(*t));
	if (!t)
		panic("out of memory for the first task");
	t->tid = p->pid = p->pgid = p->sid = last_tid = 1;
	t->kstack_top = t->rsp0 = (uint64_t)kstack_top;
	t->tf = (struct trap_frame *)(t->kstack_top - sizeof(struct trap_frame));
	__asm__ volatile("fxsave64 (%0)" : : "r"(t->fpu) : "memory"); /* fpu_init's state */
	t->on_cpu = 0;
	t->affinity = ~0ull;
	link_task(t, p);
	current = t;
}

struct task *task_create(struct process *p, const struct trap_frame *tf)
{
	int tid = tid_alloc();
	if (tid < 0)
		return NULL;
	struct task *t = kmalloc(sizeof(*t));
	uint64_t stack = pages_alloc(KSTACK_PAGES);
	if (!t || !stack) {
		kfree(t);
		if (stack)
			pages_free(stack, KSTACK_PAGES);
		return NULL;
	}
	t->tid = tid;
	t->kstack_pa = stack;
	t->kstack_top = t->rsp0 = (uint64_t)phys_to_virt(stack) + KSTACK_PAGES * PAGE_SIZE;
	t->tf = (struct trap_frame *)(t->kstack_top - sizeof(struct trap_frame));
	*t->tf = *tf;
	/* switch_to pops r15, r14, r13, r12, rbx, rbp, then returns. */
	uint64_t *sp = (uint64_t *)t->tf;
	*--sp = (uint64_t)task_start;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	t->ksp = (uint64_t)sp;
	/* The creator's FPU state and signal mask carry over, as Linux's do. */
	__asm__ volatile("fxsave64 (%0)" : : "r"(t->fpu) : "memory");
	t->sigmask = current->sigmask;
	t->fs_base = current->fs_base;
	t->gs_base = current->gs_base;
	t->affinity = current->affinity;
	t->on_cpu = -1;
	link_task(t, p);
	/* A second task: the slice starts now. Without it a creator that goes
	 * on spinning in user mode (no sleep, so no pick to arm the timer)
	 * would never let the new task run on this CPU. */
	sched_rearm();
	return t;
}

/* A new task's first moment, in its own address space (switch.S). */
void task_first_run(struct trap_frame *tf)
{
	if (current->set_child_tid)
		copy_to_user(current->set_child_tid, &current->tid, 4);
	current->tf = tf;
	return_to_user(tf);
}

struct task *task_by_tid(int tid)
{
	for (struct task *t = task_list; t; t = t->next)
		if (t->tid == tid)
			return t;
	return NULL;
}

int task_count(void)
{
	int n = 0;
	for (struct task *t = task_list; t; t = t->next)
		n++;
	return n;
}

void task_free(struct task *t)
{
	if (t->kstack_pa)
		pages_free(t->kstack_pa, KSTACK_PAGES);
	kfree(t);
}

/* CLONE_CHILD_CLEARTID: zero the word and wake one futex waiter on it (how
 * pthread_join learns the thread ended). */
static void clear_child_tid(struct task *t)
{
	if (!t->clear_child_tid || t->proc->as->users == 0)
		return;
	uint32_t zero = 0;
	if (copy_to_user(t->clear_child_tid, &zero, 4) == 0)
		futex_wake_addr(t->clear_child_tid, 1);
}

_Noreturn void task_exit(void)
{
	struct task *t = current;
	struct process *p = t->proc;
	fds_release_held(); /* (it may end inside a system call) */
	clear_child_tid(t);
	for (struct task **at = &task_list; *at; at = &(*at)->next) {
		if (*at == t) {
			*at = t->next;
			break;
		}
	}
	for (struct task **at = &p->threads; *at; at = &(*at)->sibling) {
		if (*at == t) {
			*at = t->sibling;
			break;
		}
	}
	t->state = TASK_DEAD;
	sigq_free_task(t); /* its own pending signals go with it, as Linux's */
	cputime_thread_end(t);
	if (--p->nthreads == 0)
		process_end(p); /* may not return: the first program's end */
	else
		wake_threads(p); /* an exec may wait for the others to go */
	schedule();
	panic("a dead task ran");
}
