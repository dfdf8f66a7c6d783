/* The enclave process's answer to a "subpages" control request: the VM's
 * sub-page write protection, read from its table (docs/vmm.md). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "carve/control.h"
#include "enclave/process.h"

/* Runs listed in one answer: a line stays far below CONTROL_MSG_MAX. */
#define RUNS_LISTED 512

static json_object *hex(uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "0x%llx", (unsigned long long)v);
	return json_object_new_string(b);
}

json_object *enclave_subpages_json(struct vmm *vm, const struct control_request *req)
{
	struct vmm_subpage_counts c;
	vmm_subpage_counts(vm, &c);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ProtectedPages", json_object_new_int64((int64_t)c.pages));
	json_object_object_add(o, "WritesApplied", json_object_new_int64((int64_t)c.writes));
	json_object_object_add(o, "Violations", json_object_new_int64((int64_t)c.violations));
	/* What the enclave's kernel locked itself (the lock device). */
	struct vmm_selflock_state ls;
	vmm_selflock_state(vm, &ls);
	char digest[97];
	for (int i = 0; i < 48; i++)
		snprintf(digest + 2 * i, 3, "%02x", ls.digest[i]);
	json_object *g = json_object_new_object();
	json_object_object_add(g, "LockedPages", json_object_new_int64((int64_t)ls.locked_pages));
	json_object_object_add(g, "Sealed", json_object_new_boolean(ls.sealed));
	json_object_object_add(g, "PCR", ls.pcr >= 0 ? json_object_new_int(ls.pcr) : NULL);
	json_object_object_add(g, "Digest", json_object_new_string(digest));
	json_object_object_add(o, "GuestLock", g);
	if (req->has_range) {
		uint32_t access[CONTROL_SUBPAGES_MAX_PAGES];
		if (vmm_subpage_get(vm, req->gfn, req->npages, access) < 0) {
			json_object_put(o);
			return NULL;
		}
		json_object *a = json_object_new_array();
		for (uint32_t i = 0; i < req->npages; i++)
			json_object_array_add(a, hex(access[i]));
		json_object_object_add(o, "Gfn", hex(req->gfn));
		/* The sub-pages the guest locked (bit set: locked for good). */
		uint32_t *locked = access; /* reused: the access maps are in `a` */
		if (vmm_subpage_get_locked(vm, req->gfn, req->npages, locked) == 0) {
			json_object *l = json_object_new_array();
			for (uint32_t i = 0; i < req->npages; i++)
				json_object_array_add(l, hex(locked[i]));
			json_object_object_add(o, "Locked", l);
		}
		json_object_object_add(o, "Access", a);
		return o;
	}
	struct vmm_subpage_run runs[RUNS_LISTED];
	size_t n = vmm_subpage_runs(vm, runs, RUNS_LISTED);
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < n && i < RUNS_LISTED; i++) {
		json_object *r = json_object_new_object();
		json_object_object_add(r, "Gfn", hex(runs[i].gfn));
		json_object_object_add(r, "Pages", json_object_new_int64((int64_t)runs[i].npages));
		json_object_array_add(a, r);
	}
	json_object_object_add(o, "Runs", a);
	json_object_object_add(o, "RunsTotal", json_object_new_int64((int64_t)n));
	return o;
}
