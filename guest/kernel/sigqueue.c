/* Pending signals with their siginfo, as Linux keeps them: a queue per
 * thread (tkill, tgkill, a fault, a timer aimed at one thread) and one per
 * process (everything else). A standard signal (1-31) is pending at most
 * once and keeps the siginfo of its first sending; a real-time one
 * (SIGRTMIN 32 up to 64) queues every sending with its own siginfo and is
 * taken in order, so three sigqueue()s with three values give three
 * handler runs with those values. The pending masks (sigpending) say which
 * numbers have entries: the scheduler and the return to user mode look
 * only at those.
 *
 * Each entry is the siginfo_t image the program will see (its signo, code
 * and the code's fields), so nothing about a pending signal is shared
 * between processes or threads. */
#include "errno.h"
#include "proc.h"

struct sigq_entry {
	struct sigq_entry *next;
	int32_t info[32];
};

static struct sigq_entry **queue_of(struct process *p, struct task *t) { return t ? &t->sigq : &p->sigq; }
static uint64_t *mask_of(struct process *p, struct task *t) { return t ? &t->sigpending : &p->sigpending; }
static int *len_of(struct process *p, struct task *t) { return t ? &t->nsigq : &p->nsigq; }

int sigq_add(struct process *p, struct task *t, int sig, const int32_t info[32], bool limited)
{
	uint64_t *mask = mask_of(p, t);
	if (sig < SIGRTMIN && (*mask & SIG_BIT(sig)))
		return 0; /* pending already: the first sending's siginfo stays */
	int *len = len_of(p, t);
	struct sigq_entry *e = NULL;
	if (*len < SIGQUEUE_MAX)
		e = kmalloc(sizeof(*e));
	if (!e) {
		/* Linux's answer when it cannot queue: sigqueue's real-time
		 * signal is refused; anything else is still pending, once,
		 * with a plain siginfo (sigq_take). The limit holds for all,
		 * so no sender can fill the kernel's memory with entries. */
		if (limited && sig >= SIGRTMIN)
			return -EAGAIN;
		*mask |= SIG_BIT(sig);
		return 0;
	}
	memcpy(e->info, info, sizeof(e->info));
	e->info[0] = sig;
	struct sigq_entry **at = queue_of(p, t);
	while (*at)
		at = &(*at)->next;
	*at = e;
	(*len)++;
	*mask |= SIG_BIT(sig);
	return 0;
}

/* The first entry for sig in one queue, unlinked into info (a plain
 * siginfo when the queue had none: an entry that could not be made). The
 * number stays pending while more entries for it wait. */
static void take_from(struct process *p, struct task *t, int sig, int32_t info[32])
{
	struct sigq_entry **at = queue_of(p, t), *found = NULL;
	bool more = false;
	for (; *at; at = &(*at)->next) {
		if ((*at)->info[0] != sig)
			continue;
		found = *at;
		*at = found->next;
		break;
	}
	for (struct sigq_entry *e = *at; e && !more; e = e->next)
		more = e->info[0] == sig;
	if (!more)
		*mask_of(p, t) &= ~SIG_BIT(sig);
	memset(info, 0, 32 * sizeof(int32_t));
	info[0] = sig;
	if (found) {
		memcpy(info, found->info, 32 * sizeof(int32_t));
		(*len_of(p, t))--;
		kfree(found);
	}
}

int sigq_take(uint64_t mask, int32_t info[32])
{
	struct task *t = current;
	uint64_t own = t->sigpending & mask, shared = t->proc->sigpending & mask;
	if (!(own | shared))
		return 0;
	/* The lowest number first, the thread's own before the process's (as
	 * Linux's dequeue_signal). */
	int sig = __builtin_ctzll(own | shared) + 1;
	if (own & SIG_BIT(sig))
		take_from(t->proc, t, sig, info);
	else
		take_from(t->proc, NULL, sig, info);
	return sig;
}

static void drop_from(struct process *p, struct task *t, int sig)
{
	for (struct sigq_entry **at = queue_of(p, t); *at;) {
		struct sigq_entry *e = *at;
		if (sig && e->info[0] != sig) {
			at = &e->next;
			continue;
		}
		*at = e->next;
		(*len_of(p, t))--;
		kfree(e);
	}
	*mask_of(p, t) &= sig ? ~SIG_BIT(sig) : 0;
}

void sigq_drop(struct process *p, int sig)
{
	drop_from(p, NULL, sig);
	for (struct task *t = p->threads; t; t = t->sibling)
		drop_from(p, t, sig);
}

void sigq_free_task(struct task *t) { drop_from(t->proc, t, 0); }
void sigq_free_process(struct process *p) { drop_from(p, NULL, 0); }
