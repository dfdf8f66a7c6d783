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
	/* Any page of RAM may be protected, up to SUBPAGE_HOST_MAX_PAGES (the
	 * table's 16 bytes a page stay small); the memslot limit bounds the
	 * runs they form, checked when KVM is opened. */
	uint64_t ram_pages = vm->mem.total >> SUBPAGE_PAGE_SHIFT;
	vm->subpages.max_pages = (size_t)(ram_pages < SUBPAGE_HOST_MAX_PAGES ? ram_pages : SUBPAGE_HOST_MAX_PAGES);
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
			return carve_fail(err, E03_INVALID_ARGUMENT,
					  "cannot %s 0x%llx+0x%llx: %s",
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

static void violation(struct vcpu *v, uint64_t gpa, uint32_t len)
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
	/* Name the first protected sub-page the write touches (a write may
	 * start in a writable one). */
	uint64_t at = gpa;
	for (uint64_t s = gpa >> SUBPAGE_SHIFT << SUBPAGE_SHIFT; s < gpa + len; s += SUBPAGE_SIZE)
		if (!subpage_range_writable(&vm->subpages, s, SUBPAGE_SIZE)) {
			at = s;
			break;
		}
	unsigned long long page = at >> SUBPAGE_PAGE_SHIFT << SUBPAGE_PAGE_SHIFT;
	unsigned sub = (unsigned)((at - page) >> SUBPAGE_SHIFT);
	/* KVM has emulated the instruction: RIP is past it. */
	if (log) {
		char line[400];
		int n = snprintf(line, sizeof(line),
				 "write-protect violation: %u byte(s) at 0x%llx (page 0x%llx sub-page %u) by vCPU "
				 "%d, rip 0x%llx (past the write): %s",
				 len, (unsigned long long)gpa, page, sub, v->index, rip,
				 stop ? "stopping the VM" : "refused");
		if (dropped && n > 0 && (size_t)n < sizeof(line))
			snprintf(line + n, sizeof(line) - (size_t)n, " (%lu earlier violations not logged)", dropped);
		vm->event(vm->event_ctx, line);
	}
	if (stop)
		vmm_stop(vm, VMM_STOP_WRITE_PROTECT, v->index,
			 "a %u-byte write at 0x%llx to protected sub-page %u of page 0x%llx by vCPU %d, "
			 "rip 0x%llx (past the write)",
			 len, (unsigned long long)gpa, sub, page, v->index, rip);
}

bool subpage_exit(struct vcpu *v)
{
	struct vmm *vm = v->vm;
	struct kvm_run *run = v->run;
	uint64_t gpa = run->mmio.phys_addr;
	if (!vm->subpage_active || !gm_layout_contains(&vm->mem, gpa, 1))
		return false; /* a device's address */
	uint32_t len = run->mmio.len;
	if (len == 0 || len > sizeof(run->mmio.data)) {
		vmm_stop(vm, VMM_STOP_HOST_ERROR, v->index, "malformed MMIO exit: %u bytes at 0x%llx", len,
			 (unsigned long long)gpa);
		return true;
	}
	uint8_t *p = gm_ptr(&vm->mem, gpa, len);
	if (!run->mmio.is_write) {
		/* KVM serves reads of a read-only slot from memory; were one to
		 * come here, memory still answers it. */
		if (p)
			memcpy(run->mmio.data, p, len);
		else
			memset(run->mmio.data, 0xff, len);
		return true;
	}
	/* A write running off the end of RAM (p NULL) is refused whole. */
	if (p && subpage_write(&vm->subpages, gpa, p, run->mmio.data, len)) {
		atomic_fetch_add(&vm->subpage_writes, 1);
		return true;
	}
	violation(v, gpa, len);
	return true;
}

bool vmm_guest_writable(struct vmm *vm, uint64_t gpa, uint64_t len)
{
	return !vm->subpage_active || subpage_range_writable(&vm->subpages, gpa, len);
}
