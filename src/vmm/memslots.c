/* The memory slots guest RAM is given to KVM in: one per RAM region as
 * always, except that each run of pages with a protected sub-page becomes a
 * KVM_MEM_READONLY slot of its own, cutting its region in two around it.
 * Reads and instruction fetches from such a slot run at memory speed; a
 * write exits to the VMM (KVM_EXIT_MMIO) with its address, size and data
 * (subpage_exit.c). Runs of pages share a slot, so the count is at most
 * regions + 2 * runs, checked against KVM_CAP_NR_MEMSLOTS before anything is
 * mapped. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vmm_internal.h"

bool gm_layout_contains(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return true;
	}
	return false;
}

static void put(struct memslot *out, size_t max, size_t *n, const struct gm_region *r, int region,
		uint64_t gpa, uint64_t end, bool readonly)
{
	if (*n < max)
		out[*n] = (struct memslot){.gpa = gpa,
					   .size = end - gpa,
					   .region = region,
					   .offset = gpa - r->gpa,
					   .readonly = readonly,
					   .id = (uint32_t)*n};
	(*n)++;
}

size_t memslot_plan(const struct guest_mem *gm, const struct subpage_run *runs, size_t nruns,
		    struct memslot *out, size_t max)
{
	size_t n = 0, k = 0;
	for (int i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];
		uint64_t cursor = r->gpa, end = r->gpa + r->size;
		/* runs are sorted and lie inside RAM (vmm_subpage_configure) */
		for (; k < nruns; k++) {
			uint64_t rs = runs[k].gfn << SUBPAGE_PAGE_SHIFT;
			uint64_t re = rs + (runs[k].npages << SUBPAGE_PAGE_SHIFT);
			if (rs >= end)
				break;
			if (rs > cursor)
				put(out, max, &n, r, i, cursor, rs, false);
			put(out, max, &n, r, i, rs, re, true);
			cursor = re;
		}
		if (cursor < end)
			put(out, max, &n, r, i, cursor, end, false);
	}
	return n;
}

int kvm_set_memory(struct kvm_handle *k, const struct guest_mem *gm, const struct memslot *slots, size_t n,
		   struct carve_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct memslot *s = &slots[i];
		struct kvm_userspace_memory_region r = {
			.slot = s->id,
			.flags = s->readonly ? KVM_MEM_READONLY : 0,
			.guest_phys_addr = s->gpa,
			.memory_size = s->size,
			.userspace_addr = (uint64_t)(uintptr_t)(gm->regions[s->region].host + s->offset),
		};
		if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return carve_fail(err, E72_GUEST_MEMORY,
					  "KVM_SET_USER_MEMORY_REGION for %llu KiB at 0x%llx%s failed: %s",
					  (unsigned long long)(r.memory_size >> 10),
					  (unsigned long long)r.guest_phys_addr,
					  s->readonly ? " (read-only)" : "", strerror(errno));
	}
	return 0;
}
