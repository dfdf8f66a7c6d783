/* The VM's side of sub-page write protection: the table filled from the
 * configuration, the memory slots it implies (memslots.c), and the exit a
 * guest write to a read-only slot makes.
 *
 * KVM has already emulated the writing instruction when it exits (the
 * vCPU's RIP is past it; a `rep stos` exits once per element with RIP on
 * it until the last): the exit carries the bytes, and re-entering KVM_RUN
 * goes on with the next instruction. So applying a permitted write means
 * storing its bytes through the VMM's own writable mapping before the vCPU
 * runs again, and refusing one means not storing them: to the guest, a
 * protected sub-page behaves like ROM. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vmm_internal.h"

int vmm_subpage_configure(struct vmm *vm, const struct vmm_config *cfg, struct carve_err *err)
{
	vm->subpage_policy = cfg->subpage_policy;
	vm->event = cfg->event;
	vm->event_ctx = cfg->event_ctx;
	vm->selflock.lock_sealed = cfg->lock_sealed;
	vm->selflock.lock_sealed_ctx = cfg->lock_sealed_ctx;
	/* Any page of RAM may be protected, up to SUBPAGE_HOST_MAX_PAGES (the
	 * table's 16 bytes a page stay small); the memslot limit bounds the
	 * runs they form, checked when KVM is opened. */
	uint64_t ram_pages = vm->mem.total >> SUBPAGE_PAGE_SHIFT;
	vm->subpages.max_pages =
		(size_t)(ram_pages < SUBPAGE_HOST_MAX_PAGES ? ram_pages : SUBPAGE_HOST_MAX_PAGES);
	if (cfg->nprotect < 0 || (cfg->nprotect > 0 && !cfg->protect))
		return carve_fail(err, E03_INVALID_ARGUMENT, "a protected-range list without ranges");
	for (int i = 0; i < cfg->nprotect; i++) {
		const struct vmm_protect *p = &cfg->protect[i];
		if (!gm_layout_contains(&vm->mem, p->gpa, p->len))
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "the protected range 0x%llx+0x%llx is not inside guest RAM "
					  "(0x0-0x%llx%s); protect RAM the guest has",
					  (unsigned long long)p->gpa, (unsigned long long)p->len,
					  (unsigned long long)gm_low_end(&vm->mem),
					  vm->mem.nregions > 1 ? " and from 4 GiB" : "");
		int r = subpage_set_range(&vm->subpages, p->gpa, p->len, p->writable, 0);
		if (r < 0)
			return carve_fail(err, E03_INVALID_ARGUMENT, "cannot %s 0x%llx+0x%llx: %s",
					  p->writable ? "unprotect" : "protect", (unsigned long long)p->gpa,
					  (unsigned long long)p->len,
					  r == -ENOSPC ? "more than 2^20 pages (4 GiB) would be protected"
						       : strerror(-r));
	}
	vm->subpage_active = subpage_pages(&vm->subpages) > 0;
	return 0;
}

struct memslot *vmm_memslots(struct vmm *vm, size_t *n, struct carve_err *err)
{
	size_t nruns = subpage_runs(&vm->subpages, NULL, 0);
	struct subpage_run *runs = nruns ? calloc(nruns, sizeof(*runs)) : NULL;
	size_t count = 0;
	struct memslot *slots = NULL;
	if (!nruns || runs) {
		nruns = subpage_runs(&vm->subpages, runs, nruns);
		count = memslot_plan(&vm->mem, runs, nruns, NULL, 0);
		slots = calloc(count ? count : 1, sizeof(*slots));
	}
	if (slots)
		memslot_plan(&vm->mem, runs, nruns, slots, count);
	free(runs);
	if (!slots)
		carve_fail(err, E00_UNSPECIFIED, "out of memory");
	*n = count;
	return slots;
}

int vmm_subpage_check_kvm(struct vmm *vm, struct carve_err *err)
{
	if (!vm->subpage_active)
		return 0;
	if (ioctl(vm->kvm.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
		return carve_fail(err, E71_KVM_CAPABILITY_MISSING,
				  "this host's KVM lacks KVM_CAP_READONLY_MEM (needed for sub-page write "
				  "protection); run without --protect or on a KVM that has it");
	return 0;
}

/* The first protected sub-page a write's pieces touch (a write may start
 * in a writable one). */
static uint64_t first_protected(struct vmm *vm, const struct subpage_piece *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (uint64_t s = p[i].gpa >> SUBPAGE_SHIFT << SUBPAGE_SHIFT; s < p[i].gpa + p[i].len;
		     s += SUBPAGE_SIZE)
			if (!subpage_range_writable(&vm->subpages, s, SUBPAGE_SIZE))
				return s;
	return p[0].gpa;
}

static void violation(struct vcpu *v, const struct subpage_piece *p, size_t n)
{
	struct vmm *vm = v->vm;
	atomic_fetch_add(&vm->subpage_violations, 1);
	bool stop = vm->subpage_policy == VMM_SUBPAGE_STOP;
	unsigned long dropped = 0;
	bool log = vm->event && rate_limit_allow(&vm->subpage_log, monotonic_ns(), &dropped);
	/* Only what is logged pays for the registers (an ioctl): a guest
	 * hammering a protected sub-page costs an exit, not more. */
	if (!log && !stop)
		return;
	struct kvm_regs regs;
	unsigned long long rip = ioctl(v->fd, KVM_GET_REGS, &regs) == 0 ? regs.rip : 0;
	unsigned len = 0;
	for (size_t i = 0; i < n; i++)
		len += p[i].len;
	uint64_t at = first_protected(vm, p, n);
	unsigned long long page = at >> SUBPAGE_PAGE_SHIFT << SUBPAGE_PAGE_SHIFT;
	unsigned sub = (unsigned)((at - page) >> SUBPAGE_SHIFT);
	char pieces[32] = "";
	if (n > 1)
		snprintf(pieces, sizeof(pieces), " in %zu pieces", n);
	/* KVM has emulated the instruction: RIP is past it. */
	if (log) {
		char line[400];
		int k = snprintf(
			line, sizeof(line),
			"write-protect violation: %u byte(s) at 0x%llx%s (page 0x%llx sub-page %u) by vCPU "
			"%d, rip 0x%llx (past the write): %s",
			len, (unsigned long long)p[0].gpa, pieces, page, sub, v->index, rip,
			stop ? "stopping the VM" : "refused");
		if (dropped && k > 0 && (size_t)k < sizeof(line))
			snprintf(line + k, sizeof(line) - (size_t)k, " (%lu earlier violations not logged)",
				 dropped);
		vm->event(vm->event_ctx, line);
	}
	if (stop)
		vmm_stop(vm, VMM_STOP_WRITE_PROTECT, v->index,
			 "a %u-byte write at 0x%llx%s to protected sub-page %u of page 0x%llx by vCPU %d, "
			 "rip 0x%llx (past the write)",
			 len, (unsigned long long)p[0].gpa, pieces, sub, page, v->index, rip);
}

/* KVM hands one instruction's write over in pieces, one exit each, before
 * the guest runs again: split at a page boundary, and into 8 bytes at a
 * time (a 16-byte SSE store is two). A piece that is 8 bytes long or ends
 * at a page boundary may have a next one; any other is the last. */
static bool may_continue(uint64_t gpa, uint32_t len)
{
	return len == 8 || ((gpa + len) & (SUBPAGE_PAGE_SIZE - 1)) == 0;
}

/* Finishes the exit in v->run and fetches the next piece of the same
 * instruction, if any, without running the guest: KVM_RUN with
 * immediate_exit completes the pending MMIO first, and then either has the
 * next piece for us (returns 0, run holds it: 1 here) or stops short of
 * entering the guest (EINTR: 0 here). -1 on failure. */
static int next_piece(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t prev = run->immediate_exit;
	run->immediate_exit = 1;
	int r = ioctl(v->fd, KVM_RUN, 0);
	int e = errno;
	/* vmm_run may have set it meanwhile to stop the vCPU: keep that. */
	run->immediate_exit = prev || atomic_load(&v->vm->stopping) || atomic_load(&v->vm->pausing);
	if (r == 0)
		return 1;
	return e == EINTR || e == EAGAIN ? 0 : -1;
}

#define SUBPAGE_MAX_PIECES 64 /* 512 bytes (FXSAVE); beyond, pieces are decided alone */

bool subpage_exit(struct vcpu *v)
{
	struct vmm *vm = v->vm;
	struct kvm_run *run = v->run;
	if (!vm->subpage_active || !gm_layout_contains(&vm->mem, run->mmio.phys_addr, 1))
		return false; /* a device's address */
	if (!run->mmio.is_write) {
		/* KVM serves reads of a read-only slot from memory; were one to
		 * come here, memory still answers it. */
		uint32_t len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len
								       : sizeof(run->mmio.data);
		uint8_t *p = gm_ptr(&vm->mem, run->mmio.phys_addr, len);
		if (p)
			memcpy(run->mmio.data, p, len);
		else
			memset(run->mmio.data, 0xff, len);
		return true;
	}
	struct subpage_piece pieces[SUBPAGE_MAX_PIECES];
	uint8_t data[SUBPAGE_MAX_PIECES][8];
	size_t n = 0;
	bool in_ram = true, device_next = false;
	for (;;) {
		uint64_t gpa = run->mmio.phys_addr;
		uint32_t len = run->mmio.len;
		if (len == 0 || len > sizeof(run->mmio.data)) {
			vmm_stop(vm, VMM_STOP_HOST_ERROR, v->index, "malformed MMIO exit: %u bytes at 0x%llx",
				 len, (unsigned long long)gpa);
			return true;
		}
		memcpy(data[n], run->mmio.data, len);
		/* A piece running off the end of RAM (NULL) refuses the write. */
		void *dst = gm_ptr(&vm->mem, gpa, len);
		in_ram = in_ram && dst;
		pieces[n] = (struct subpage_piece){.gpa = gpa, .dst = dst, .src = data[n], .len = len};
		n++;
		if (n == SUBPAGE_MAX_PIECES || !may_continue(gpa, len))
			break;
		int more = vm->subpage_next_piece ? vm->subpage_next_piece(v) : next_piece(v);
		if (more < 0) {
			vmm_stop(vm, VMM_STOP_HOST_ERROR, v->index,
				 "KVM_RUN completing a write on vCPU %d: %s", v->index, strerror(errno));
			return true;
		}
		if (more == 0)
			break;
		if (run->exit_reason != KVM_EXIT_MMIO) {
			vmm_stop(vm, VMM_STOP_HOST_ERROR, v->index,
				 "KVM exit %u on vCPU %d while completing a write", run->exit_reason,
				 v->index);
			return true;
		}
		if (!run->mmio.is_write || !gm_layout_contains(&vm->mem, run->mmio.phys_addr, 1)) {
			device_next = true; /* the write goes on into a device's MMIO */
			break;
		}
	}
	if (in_ram && subpage_write_pieces(&vm->subpages, pieces, n))
		atomic_fetch_add(&vm->subpage_writes, 1);
	else
		violation(v, pieces, n);
	if (device_next)
		exit_mmio_bus(v);
	return true;
}

bool vmm_guest_writable(struct vmm *vm, uint64_t gpa, uint64_t len)
{
	return !vm->subpage_active || subpage_range_writable(&vm->subpages, gpa, len);
}

int vmm_subpage_get(struct vmm *vm, uint64_t gfn, uint32_t npages, uint32_t *access)
{
	return subpage_get(&vm->subpages, gfn, npages, access);
}

size_t vmm_subpage_runs(struct vmm *vm, struct vmm_subpage_run *out, size_t max)
{
	/* The internal type stays the table's own: copy through it. */
	struct subpage_run *r = max ? calloc(max, sizeof(*r)) : NULL;
	size_t total = subpage_runs(&vm->subpages, r, r ? max : 0);
	for (size_t i = 0; r && i < max && i < total; i++)
		out[i] = (struct vmm_subpage_run){.gfn = r[i].gfn, .npages = r[i].npages};
	free(r);
	return total;
}

void vmm_subpage_counts(struct vmm *vm, struct vmm_subpage_counts *c)
{
	c->pages = subpage_pages(&vm->subpages);
	c->writes = atomic_load(&vm->subpage_writes);
	c->violations = atomic_load(&vm->subpage_violations);
}
