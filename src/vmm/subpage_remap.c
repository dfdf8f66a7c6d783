/* Changing memory slots while the guest runs: after the guest locks a range
 * (selflock.c), the pages it covers must move into read-only slots. KVM
 * cannot change a slot's flags nor split one in place: the old slot is
 * deleted and new ones are made, and a vCPU running meanwhile could fetch
 * an instruction from RAM that has, for a moment, no slot (KVM fails the
 * emulation then). So every other vCPU is held out of KVM_RUN first: kicked
 * (immediate_exit and a signal, as a stop kicks them) and parked on a
 * condition variable until the slots are whole again.
 *
 * One initiator at a time: a vCPU that wants to initiate while another does
 * parks like the rest, then takes its turn. A vCPU that leaves its run loop
 * (the VM stopping) stops being waited for. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vmm_internal.h"

void vcpu_pause_register(struct vcpu *v)
{
	struct vm_pause *p = &v->vm->pause;
	pthread_mutex_lock(&p->lock);
	while (p->active) /* not into KVM_RUN while slots change */
		pthread_cond_wait(&p->cond, &p->lock);
	v->self = pthread_self();
	v->registered = true;
	p->running++;
	pthread_mutex_unlock(&p->lock);
}

/* Waits while an initiator holds the others out; p->lock held. */
static void park_locked(struct vm_pause *p)
{
	p->parked++;
	pthread_cond_broadcast(&p->cond);
	while (p->active)
		pthread_cond_wait(&p->cond, &p->lock);
	p->parked--;
}

void vcpu_pause_park(struct vcpu *v)
{
	struct vmm *vm = v->vm;
	/* Clear the kick first, then look: an initiator (or a stop) that
	 * comes after sets immediate_exit again after this store, so the
	 * next KVM_RUN returns at once and this runs again. */
	v->run->immediate_exit = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (atomic_load(&vm->stopping)) {
		v->run->immediate_exit = 1;
		return;
	}
	if (!atomic_load(&vm->pausing))
		return;
	pthread_mutex_lock(&vm->pause.lock);
	if (vm->pause.active)
		park_locked(&vm->pause);
	pthread_mutex_unlock(&vm->pause.lock);
}

void vcpu_pause_leave(struct vcpu *v)
{
	struct vm_pause *p = &v->vm->pause;
	pthread_mutex_lock(&p->lock);
	if (v->registered) {
		v->registered = false;
		p->running--;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}

int vmm_pause_others(struct vmm *vm, int self)
{
	struct vm_pause *p = &vm->pause;
	pthread_mutex_lock(&p->lock);
	while (p->active) /* another initiator: wait for our turn, held like the rest */
		park_locked(p);
	if (atomic_load(&vm->stopping)) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	p->active = true;
	atomic_store(&vm->pausing, true);
	for (int i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (i == self || !v->registered || !v->run)
			continue;
		v->run->immediate_exit = 1;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		pthread_kill(v->self, VMM_KICK_SIGNAL);
	}
	bool self_counted = self >= 0 && self < vm->ncpus && vm->vcpus[self].registered;
	while (p->parked < p->running - (self_counted ? 1 : 0) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&p->cond, &p->lock);
	if (atomic_load(&vm->stopping) && p->parked < p->running - (self_counted ? 1 : 0)) {
		p->active = false;
		atomic_store(&vm->pausing, false);
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void vmm_resume_others(struct vmm *vm)
{
	struct vm_pause *p = &vm->pause;
	pthread_mutex_lock(&p->lock);
	p->active = false;
	atomic_store(&vm->pausing, false);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* The table's runs, with [first, last] merged in when first <= last. */
static struct subpage_run *runs_with(struct vmm *vm, uint64_t first, uint64_t last, size_t *n)
{
	size_t have = subpage_runs(&vm->subpages, NULL, 0);
	struct subpage_run *r = calloc(have + 1, sizeof(*r));
	if (!r)
		return NULL;
	have = subpage_runs(&vm->subpages, r, have);
	if (first > last) {
		*n = have;
		return r;
	}
	/* Insert in order, then merge what touches or overlaps. */
	size_t at = 0;
	while (at < have && r[at].gfn < first)
		at++;
	memmove(r + at + 1, r + at, (have - at) * sizeof(*r));
	r[at] = (struct subpage_run){.gfn = first, .npages = last - first + 1};
	have++;
	size_t out = 0;
	for (size_t i = 0; i < have; i++) {
		if (out && r[i].gfn <= r[out - 1].gfn + r[out - 1].npages) {
			uint64_t end = r[i].gfn + r[i].npages, prev = r[out - 1].gfn + r[out - 1].npages;
			if (end > prev)
				r[out - 1].npages = end - r[out - 1].gfn;
			continue;
		}
		r[out++] = r[i];
	}
	*n = out;
	return r;
}

size_t vmm_slots_with(struct vmm *vm, uint64_t gfn_first, uint64_t gfn_last)
{
	size_t n;
	struct subpage_run *r = runs_with(vm, gfn_first, gfn_last, &n);
	if (!r)
		return SIZE_MAX;
	size_t slots = memslot_plan(&vm->mem, r, n, NULL, 0);
	free(r);
	return slots;
}

static bool same_slot(const struct memslot *a, const struct memslot *b)
{
	return a->gpa == b->gpa && a->size == b->size && a->region == b->region && a->offset == b->offset &&
		a->readonly == b->readonly;
}

static int set_slot(struct vmm *vm, const struct memslot *s, bool del)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id,
		.flags = s->readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = s->gpa,
		.memory_size = del ? 0 : s->size,
		.userspace_addr = (uint64_t)(uintptr_t)(vm->mem.regions[s->region].host + s->offset),
	};
	return ioctl(vm->kvm.vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

int vmm_subpage_remap(struct vmm *vm, int vcpu, uint64_t gfn_first, uint64_t gfn_last)
{
	(void)gfn_first;
	(void)gfn_last;
	struct carve_err err = {0};
	size_t n;
	struct memslot *next = vmm_memslots(vm, &n, &err);
	if (!next) {
		vmm_stop(vm, VMM_STOP_HOST_ERROR, vcpu, "remapping guest memory after a lock: %s", err.msg);
		return -1;
	}
	/* Slot numbers in use by slots that stay; the new ones take the
	 * lowest free numbers. */
	uint32_t limit = (uint32_t)(vm->nslots + n + 1);
	bool *used = calloc(limit, sizeof(*used));
	bool *kept = calloc(vm->nslots + 1, sizeof(*kept));
	bool *fresh = calloc(n + 1, sizeof(*fresh));
	int rc = used && kept && fresh ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		fresh[i] = true;
		for (size_t j = 0; j < vm->nslots; j++)
			if (!kept[j] && same_slot(&next[i], &vm->slots[j])) {
				kept[j] = true;
				fresh[i] = false;
				next[i].id = vm->slots[j].id;
				if (next[i].id < limit)
					used[next[i].id] = true;
				break;
			}
	}
	for (size_t j = 0; rc == 0 && j < vm->nslots; j++)
		if (!kept[j] && set_slot(vm, &vm->slots[j], true) < 0)
			rc = -1;
	uint32_t id = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!fresh[i])
			continue;
		while (id < limit && used[id])
			id++;
		next[i].id = id;
		used[id] = true;
		if (set_slot(vm, &next[i], false) < 0)
			rc = -1;
	}
	int e = errno;
	free(used);
	free(kept);
	free(fresh);
	if (rc < 0) {
		free(next);
		vmm_stop(vm, VMM_STOP_HOST_ERROR, vcpu,
			 "KVM_SET_USER_MEMORY_REGION remapping guest memory after a lock failed: %s",
			 strerror(e));
		return -1;
	}
	free(vm->slots);
	vm->slots = next;
	vm->nslots = n;
	atomic_store(&vm->subpage_active, true);
	return 0;
}
