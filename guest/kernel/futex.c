/* futex: wait, wake, requeue, wake-op and the bitset forms, with relative
 * (FUTEX_WAIT) and absolute (FUTEX_WAIT_BITSET, either clock) timeouts.
 *
 * A waiter is a sleeping task whose futex_key names the word: the address
 * space and address for private futexes (FUTEX_PRIVATE_FLAG, what threads
 * use) and for shared ones on private memory, as Linux keys them (a
 * copy-on-write page changes its physical address at the first write, so
 * a key by page would lose the wake-up); the physical address for shared
 * ones in a MAP_SHARED mapping (a word several processes see: the file's
 * own page, vm.c). A wake clears the key and wakes the task; a waiter that
 * finds its key still set when it runs again timed out or was interrupted.
 * The check of the word and the sleep are one step: the kernel is not
 * preempted in between. */
#include "syscalls.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define BITSET_ANY 0xffffffffu

extern struct task *task_list;

/* The key of the word at uaddr (aligned, mapped: checked by the caller). */
static uint64_t key_of(uint64_t uaddr, bool private)
{
	struct vma *v = private ? NULL : vm_find(uaddr);
	if (private || !v || !(v->flags & VMA_SHARED))
		return (uint64_t)curproc->as ^ (uaddr << 1 | 1);
	uint64_t pte = user_pte(uaddr & PAGE_MASK);
	return (pte & PTE_ADDR) | (uaddr & ~PAGE_MASK);
}

static int get_word(uint64_t uaddr, uint32_t *val)
{
	if (uaddr & 3)
		return -EINVAL;
	return copy_from_user(val, uaddr, 4);
}

static int wake_key(uint64_t key, int n, uint32_t bitset)
{
	int woken = 0;
	for (struct task *t = task_list; t && woken < n; t = t->next) {
		if (t->futex_key != key || !(t->futex_bitset & bitset))
			continue;
		t->futex_key = 0;
		wake_task(t);
		woken++;
	}
	return woken;
}

int futex_wake_addr(uint64_t uaddr, int n)
{
	if (user_ok(uaddr, 4, false) < 0)
		return 0;
	/* pthread_join's word is private; a shared waiter is woken too. */
	uint64_t mine = key_of(uaddr, true), shared = key_of(uaddr, false);
	int woken = wake_key(mine, n, BITSET_ANY);
	return shared == mine ? woken : woken + wake_key(shared, n - woken, BITSET_ANY);
}

static int64_t do_wait(uint64_t uaddr, bool private, uint32_t val, uint64_t deadline, uint32_t bitset)
{
	uint32_t cur;
	int r = get_word(uaddr, &cur);
	if (r < 0)
		return r;
	if (cur != val)
		return -EAGAIN;
	struct task *t = current;
	t->futex_key = key_of(uaddr, private);
	t->futex_bitset = bitset;
	while (t->futex_key) {
		if (time_ns() >= deadline) {
			t->futex_key = 0;
			return -ETIMEDOUT;
		}
		if (task_interrupted()) {
			t->futex_key = 0;
			return deadline == UINT64_MAX ? -ERESTARTSYS : -EINTR;
		}
		sched_sleep(WAIT_TIMER, deadline);
	}
	return 0;
}

/* op on the word at uaddr2, as FUTEX_WAKE_OP encodes it; *old gets the
 * value before. */
static int wake_op_update(uint64_t uaddr2, uint32_t encoded, uint32_t *old)
{
	int op = (encoded >> 28) & 7, shift = (encoded >> 28) & 8;
	int32_t oparg = (int32_t)(encoded << 8) >> 20;
	if (shift)
		oparg = (int32_t)(1u << (oparg & 31));
	int r = get_word(uaddr2, old);
	if (r < 0)
		return r;
	uint32_t v = *old, a = (uint32_t)oparg;
	switch (op) {
	case 0: v = a; break;
	case 1: v += a; break;
	case 2: v |= a; break;
	case 3: v &= ~a; break;
	case 4: v ^= a; break;
	default: return -ENOSYS;
	}
	return copy_to_user(uaddr2, &v, 4);
}

static bool wake_op_cmp(uint32_t encoded, uint32_t old)
{
	int cmp = (encoded >> 24) & 15;
	int32_t arg = (int32_t)(encoded << 20) >> 20, o = (int32_t)old;
	switch (cmp) {
	case 0: return o == arg;
	case 1: return o != arg;
	case 2: return o < arg;
	case 3: return o <= arg;
	case 4: return o > arg;
	case 5: return o >= arg;
	default: return false;
	}
}

static int64_t timeout_deadline(uint64_t utime, bool absolute, bool realtime, uint64_t *deadline)
{
	*deadline = UINT64_MAX;
	if (!utime)
		return 0;
	int64_t ts[2];
	if (copy_from_user(ts, utime, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
		return -EINVAL;
	uint64_t ns = (uint64_t)ts[0] * 1000000000ull + (uint64_t)ts[1];
	if (!absolute)
		*deadline = time_ns() + ns;
	else if (realtime)
		*deadline = ns > time_realtime_ns() - time_ns() ? ns - (time_realtime_ns() - time_ns()) : 0;
	else
		*deadline = ns;
	return 0;
}

/* clang-format off */
SYSCALL_DEFINE6(futex, uaddr_t, uaddr, int, futex_op, uint32_t, val, uaddr_t, utime,
		uaddr_t, uaddr2, uint32_t, val3)
/* clang-format on */
{
	int op = futex_op & 0x7f;
	bool private = futex_op & FUTEX_PRIVATE_FLAG, realtime = futex_op & FUTEX_CLOCK_REALTIME;
	uint32_t cur;
	uint64_t deadline;
	int64_t r;
	if (realtime && op != FUTEX_WAIT_BITSET && op != FUTEX_WAIT)
		return -ENOSYS;
	switch (op) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		if (op == FUTEX_WAIT_BITSET && !val3)
			return -EINVAL;
		r = timeout_deadline(utime, op == FUTEX_WAIT_BITSET, realtime, &deadline);
		if (r < 0)
			return r;
		return do_wait(uaddr, private, val, deadline, op == FUTEX_WAIT ? BITSET_ANY : val3);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
		if (op == FUTEX_WAKE_BITSET && !val3)
			return -EINVAL;
		if ((r = get_word(uaddr, &cur)) < 0)
			return r;
		return wake_key(key_of(uaddr, private), (int)MIN(val, 0x7fffffffu),
				op == FUTEX_WAKE ? BITSET_ANY : val3);
	case FUTEX_REQUEUE:
	case FUTEX_CMP_REQUEUE: {
		if ((r = get_word(uaddr, &cur)) < 0)
			return r;
		uint32_t cur2;
		if ((r = get_word(uaddr2, &cur2)) < 0)
			return r;
		if (op == FUTEX_CMP_REQUEUE && cur != val3)
			return -EAGAIN;
		uint64_t from = key_of(uaddr, private), to = key_of(uaddr2, private);
		int woken = wake_key(from, (int)MIN(val, 0x7fffffffu), BITSET_ANY);
		uint64_t limit = MIN(utime, 0x7fffffffu); /* val2 rides in the timeout argument */
		int moved = 0;
		for (struct task *t = task_list; t && (uint64_t)moved < limit; t = t->next) {
			if (t->futex_key == from) {
				t->futex_key = to;
				moved++;
			}
		}
		return woken + (op == FUTEX_CMP_REQUEUE ? moved : 0);
	}
	case FUTEX_WAKE_OP: {
		uint32_t old;
		if ((r = get_word(uaddr, &cur)) < 0 || (r = wake_op_update(uaddr2, val3, &old)) < 0)
			return r;
		int woken = wake_key(key_of(uaddr, private), (int)MIN(val, 0x7fffffffu), BITSET_ANY);
		if (wake_op_cmp(val3, old))
			woken += wake_key(key_of(uaddr2, private), (int)MIN(utime, 0x7fffffffu), BITSET_ANY);
		return woken;
	}
	default: return -ENOSYS;
	}
}
