/* The sub-page write-permission table (src/vmm/subpage.c): set/get over
 * frame ranges, byte ranges at 128-byte granularity, one-way removal and its
 * lock, the checks a guarded write makes, the runs the memslot layout uses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/subpage.h"
#include "vmm/vmm_internal.h"

static void empty_table_is_writable(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 16);
	assert_int_equal(subpage_access(&t, 0), SUBPAGE_ALL);
	assert_true(subpage_range_writable(&t, 0x1234, 4096 * 3));
	uint32_t a[4];
	assert_int_equal(subpage_get(&t, 7, 4, a), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(a[i], SUBPAGE_ALL);
	assert_int_equal(subpage_pages(&t), 0);
	subpage_destroy(&t);
}

static void set_get_roundtrip(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 16);
	uint32_t in[3] = {0xfffffffd, SUBPAGE_ALL, 0};
	assert_int_equal(subpage_set(&t, 100, 3, in, 0), 0);
	uint32_t out[5];
	assert_int_equal(subpage_get(&t, 99, 5, out), 0);
	assert_int_equal(out[0], SUBPAGE_ALL);
	assert_int_equal(out[1], 0xfffffffd);
	assert_int_equal(out[2], SUBPAGE_ALL); /* all-ones pages are not stored */
	assert_int_equal(out[3], 0);
	assert_int_equal(out[4], SUBPAGE_ALL);
	assert_int_equal(subpage_pages(&t), 2);
	/* Making a page writable again (not one-way) drops it. */
	uint32_t all = SUBPAGE_ALL;
	assert_int_equal(subpage_set(&t, 100, 1, &all, 0), 0);
	assert_int_equal(subpage_pages(&t), 1);
	assert_int_equal(subpage_access(&t, 100), SUBPAGE_ALL);
	subpage_destroy(&t);
}

static void set_rejects_bad_arguments(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 1024);
	static uint32_t many[SUBPAGE_MAX_PAGES + 1];
	assert_int_equal(subpage_set(&t, 0, 0, many, 0), -EINVAL);
	assert_int_equal(subpage_set(&t, 0, SUBPAGE_MAX_PAGES + 1, many, 0), -EINVAL);
	assert_int_equal(subpage_set(&t, UINT64_MAX, 2, many, 0), -EINVAL); /* wraps */
	assert_int_equal(subpage_set(&t, 0, 1, many, 0x80), -EINVAL);       /* unknown flag */
	assert_int_equal(subpage_get(&t, 0, SUBPAGE_MAX_PAGES + 1, many), -EINVAL);
	assert_int_equal(subpage_set(&t, 0, SUBPAGE_MAX_PAGES, many, 0), 0);
	assert_int_equal(subpage_pages(&t), SUBPAGE_MAX_PAGES);
	subpage_destroy(&t);
}

static void capacity_is_bounded(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 4);
	uint32_t zero[5] = {0};
	assert_int_equal(subpage_set(&t, 10, 5, zero, 0), -ENOSPC);
	assert_int_equal(subpage_pages(&t), 0); /* nothing changed */
	assert_int_equal(subpage_set(&t, 10, 4, zero, 0), 0);
	assert_int_equal(subpage_set(&t, 20, 1, zero, 0), -ENOSPC);
	/* Rewriting pages already counted needs no more room. */
	assert_int_equal(subpage_set(&t, 11, 2, zero, 0), 0);
	/* Huge ranges cost what they change, not their length: a protection
	 * stops at the bound, an unprotection visits the protected pages. */
	assert_int_equal(subpage_set_range(&t, 0, 1ull << 47, false, 0), -ENOSPC);
	assert_int_equal(subpage_pages(&t), 4);
	assert_int_equal(subpage_set_range(&t, 0, 1ull << 47, true, 0), 0);
	assert_int_equal(subpage_pages(&t), 0);
	subpage_destroy(&t);
}

static void range_granularity(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 64);
	/* Sub-pages 1 and 3 of page 0x2000, then all of page 0x3000 but its
	 * sub-page 31 ... and the first sub-page of 0x4000. */
	assert_int_equal(subpage_set_range(&t, 0x2080, 128, false, 0), 0);
	assert_int_equal(subpage_set_range(&t, 0x2180, 128, false, 0), 0);
	assert_int_equal(subpage_access(&t, 2), ~((1u << 1) | (1u << 3)));
	assert_int_equal(subpage_set_range(&t, 0x3000, 4096 + 128, false, 0), 0);
	assert_int_equal(subpage_set_range(&t, 0x3f80, 128, true, 0), 0);
	assert_int_equal(subpage_access(&t, 3), 1u << 31);
	assert_int_equal(subpage_access(&t, 4), ~1u);
	/* Misaligned or empty ranges. */
	assert_int_equal(subpage_set_range(&t, 0x2040, 128, false, 0), -EINVAL);
	assert_int_equal(subpage_set_range(&t, 0x2000, 100, false, 0), -EINVAL);
	assert_int_equal(subpage_set_range(&t, 0x2000, 0, false, 0), -EINVAL);
	assert_int_equal(subpage_set_range(&t, UINT64_MAX - 127, 256, false, 0), -EINVAL);
	subpage_destroy(&t);
}

static void writable_checks_every_touched_subpage(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 64);
	assert_int_equal(subpage_set_range(&t, 0x2080, 128, false, 0), 0); /* sub-page 1 */
	assert_true(subpage_range_writable(&t, 0x2000, 128));
	assert_true(subpage_range_writable(&t, 0x207f, 1));
	assert_false(subpage_range_writable(&t, 0x207f, 2)); /* crosses into sub-page 1 */
	assert_false(subpage_range_writable(&t, 0x2080, 1));
	assert_false(subpage_range_writable(&t, 0x20ff, 1));
	assert_true(subpage_range_writable(&t, 0x2100, 8));
	assert_false(subpage_range_writable(&t, 0x1ffc, 8192)); /* a span over the page */
	/* Across a page boundary: sub-page 31 of one page, 0 of the next. */
	assert_int_equal(subpage_set_range(&t, 0x3000, 128, false, 0), 0);
	assert_true(subpage_range_writable(&t, 0x2ffc, 4));
	assert_false(subpage_range_writable(&t, 0x2ffc, 8));
	assert_true(subpage_range_writable(&t, 0, 0));
	assert_false(subpage_range_writable(&t, UINT64_MAX, 2)); /* wraps */
	subpage_destroy(&t);
}

static void guarded_write(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 64);
	uint8_t *page = aligned_alloc(4096, 8192);
	memset(page, 0xaa, 8192);
	assert_int_equal(subpage_set_range(&t, 0x10080, 128, false, 0), 0);
	uint64_t v = 0x1122334455667788ull;
	for (uint32_t len = 1; len <= 8; len *= 2) {
		assert_true(subpage_write(&t, 0x10000 + 8 * len, page + 8 * len, &v, len));
		assert_memory_equal(page + 8 * len, &v, len);
		assert_false(subpage_write(&t, 0x10080 + 8 * len, page + 0x80 + 8 * len, &v, len));
		assert_int_equal(page[0x80 + 8 * len], 0xaa);
	}
	/* A crossing write is all or nothing. */
	assert_false(subpage_write(&t, 0x1007c, page + 0x7c, &v, 8));
	assert_int_equal(page[0x7c], 0xaa);
	assert_true(subpage_write(&t, 0x1017c, page + 0x17c, &v, 8)); /* sub-pages 2 and 3 */
	assert_memory_equal(page + 0x17c, &v, 8);
	assert_true(subpage_write(&t, 0x10ffc, page + 0xffc, &v, 8)); /* into the next page */
	assert_memory_equal(page + 0xffc, &v, 8);
	free(page);
	subpage_destroy(&t);
}

static void one_way_locks(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 64);
	/* A one-way change may not add permission. */
	assert_int_equal(subpage_set_range(&t, 0x5000, 256, false, SUBPAGE_ONE_WAY), 0);
	assert_int_equal(subpage_access(&t, 5), ~3u);
	uint32_t all = SUBPAGE_ALL;
	assert_int_equal(subpage_set(&t, 5, 1, &all, SUBPAGE_ONE_WAY), -EPERM);
	/* Nor may anyone else give back a locked sub-page. */
	assert_int_equal(subpage_set(&t, 5, 1, &all, 0), -EPERM);
	assert_int_equal(subpage_set_range(&t, 0x5080, 128, true, 0), -EPERM);
	assert_int_equal(subpage_access(&t, 5), ~3u); /* unchanged */
	/* Protecting more is fine, and sub-pages never locked may come back. */
	assert_int_equal(subpage_set_range(&t, 0x5200, 128, false, 0), 0);
	assert_int_equal(subpage_set_range(&t, 0x5200, 128, true, 0), 0);
	assert_int_equal(subpage_access(&t, 5), ~3u);
	/* A refused multi-page request changes none of its pages. */
	uint32_t two[2] = {0, SUBPAGE_ALL};
	assert_int_equal(subpage_set(&t, 4, 2, two, 0), -EPERM);
	assert_int_equal(subpage_access(&t, 4), SUBPAGE_ALL);
	subpage_destroy(&t);
}

/* Ranges in address order grow the table in place; one before them merges;
 * both give the same table. */
static void append_and_merge(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 1u << 16);
	for (uint64_t i = 1; i <= 20000; i++)
		assert_int_equal(subpage_set_range(&t, i * 8192, 128, false, 0), 0);
	assert_int_equal(subpage_set_range(&t, 4096, 256, false, 0), 0);    /* before them all */
	assert_int_equal(subpage_set_range(&t, 3 * 8192, 128, true, 0), 0); /* one taken back */
	assert_int_equal(subpage_pages(&t), 20000);
	assert_int_equal(subpage_access(&t, 1), ~3u);
	assert_int_equal(subpage_access(&t, 2), ~1u);
	assert_int_equal(subpage_access(&t, 6), SUBPAGE_ALL);
	assert_int_equal(subpage_access(&t, 40000), ~1u);
	assert_int_equal(subpage_access(&t, 40001), SUBPAGE_ALL);
	struct subpage_run r[2];
	assert_int_equal(subpage_runs(&t, r, 2), 19999); /* pages 1 and 2 are one run */
	assert_int_equal(r[0].gfn, 1);
	assert_int_equal(r[0].npages, 2);
	subpage_destroy(&t);
}

static void runs_of_protected_pages(void **state)
{
	(void)state;
	struct subpage_table t;
	subpage_init(&t, 64);
	assert_int_equal(subpage_set_range(&t, 0x1000, 3 * 4096, false, 0), 0);  /* 1,2,3 */
	assert_int_equal(subpage_set_range(&t, 0x8000 + 128, 128, false, 0), 0); /* 8 */
	assert_int_equal(subpage_set_range(&t, 0x9000, 128, false, 0), 0);       /* 9 */
	assert_int_equal(subpage_set_range(&t, 0x20000, 128, false, 0), 0);      /* 32 */
	struct subpage_run r[4];
	assert_int_equal(subpage_runs(&t, r, 4), 3);
	assert_int_equal(r[0].gfn, 1);
	assert_int_equal(r[0].npages, 3);
	assert_int_equal(r[1].gfn, 8);
	assert_int_equal(r[1].npages, 2);
	assert_int_equal(r[2].gfn, 32);
	assert_int_equal(r[2].npages, 1);
	/* Too small an array: the count still says how many. */
	assert_int_equal(subpage_runs(&t, r, 1), 3);
	assert_int_equal(r[0].npages, 3);
	subpage_destroy(&t);
}

/* The memory slots: runs of protected pages read-only, the RAM between and
 * around them as it was, regions never merged. */
static void memslot_layout(void **state)
{
	(void)state;
	struct guest_mem gm;
	struct carve_err err = {0};
	assert_int_equal(gm_layout(&gm, 5ull << 30, &err), 0); /* [0, 3G) and [4G, 6G) */
	struct subpage_table t;
	subpage_init(&t, 1u << 20);
	struct subpage_run none[1];
	struct memslot s[8];
	assert_int_equal(memslot_plan(&gm, none, 0, s, 8), 2); /* unprotected: as before */
	assert_false(s[0].readonly || s[1].readonly);
	assert_int_equal(s[1].gpa, 4ull << 30);
	/* The first page, pages 0x2000-0x2002, and the first page above 4 GiB. */
	assert_int_equal(subpage_set_range(&t, 0, 128, false, 0), 0);
	assert_int_equal(subpage_set_range(&t, 0x2000000, 3 * 4096, false, 0), 0);
	assert_int_equal(subpage_set_range(&t, 4ull << 30, 4096, false, 0), 0);
	struct subpage_run runs[4];
	size_t nruns = subpage_runs(&t, runs, 4);
	assert_int_equal(nruns, 3);
	assert_int_equal(memslot_plan(&gm, runs, nruns, NULL, 0), 6); /* counting alone */
	assert_int_equal(memslot_plan(&gm, runs, nruns, s, 8), 6);
	const struct {
		uint64_t gpa, size;
		int region;
		bool ro;
	} want[6] = {
		{0, 4096, 0, true},
		{4096, 0x2000000 - 4096, 0, false},
		{0x2000000, 3 * 4096, 0, true},
		{0x2003000, (3ull << 30) - 0x2003000, 0, false},
		{4ull << 30, 4096, 1, true},
		{(4ull << 30) + 4096, (2ull << 30) - 4096, 1, false},
	};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(s[i].gpa, want[i].gpa);
		assert_int_equal(s[i].size, want[i].size);
		assert_int_equal(s[i].region, want[i].region);
		assert_int_equal(s[i].offset, want[i].gpa - gm.regions[want[i].region].gpa);
		assert_int_equal(s[i].readonly, want[i].ro);
	}
	/* A run reaching the end of RAM leaves nothing after it. */
	assert_int_equal(subpage_set_range(&t, (6ull << 30) - 4096, 4096, false, 0), 0);
	nruns = subpage_runs(&t, runs, 4);
	assert_int_equal(memslot_plan(&gm, runs, nruns, s, 8), 7);
	assert_int_equal(s[6].gpa + s[6].size, 6ull << 30);
	assert_true(s[6].readonly);
	assert_true(gm_layout_contains(&gm, (6ull << 30) - 128, 128));
	assert_false(gm_layout_contains(&gm, (3ull << 30) - 128, 256)); /* into the hole */
	assert_false(gm_layout_contains(&gm, 6ull << 30, 1));
	subpage_destroy(&t);
}

/* The exit path (subpage_exit.c) on a VM with 64 KiB of fake RAM and no
 * KVM: what a vCPU's write exit to a read-only page does. */
static char events[4][320];
static int nevents;
static void on_event(void *ctx, const char *line)
{
	(void)ctx;
	if (nevents < 4)
		snprintf(events[nevents], sizeof(events[0]), "%s", line);
	nevents++;
}

/* KVM's next pieces of the current write, scripted: each call moves the
 * next one into the run area (1), or says there is none (0). */
static struct {
	uint64_t gpa;
	uint32_t len;
	uint64_t v;
	bool device;
} script[4];
static int nscript, iscript, ncalls;
static int scripted_next(struct vcpu *v)
{
	ncalls++;
	if (iscript == nscript)
		return 0;
	v->run->exit_reason = KVM_EXIT_MMIO;
	v->run->mmio.phys_addr = script[iscript].gpa;
	v->run->mmio.len = script[iscript].len;
	v->run->mmio.is_write = 1;
	memcpy(v->run->mmio.data, &script[iscript].v, 8);
	iscript++;
	return 1;
}

struct exit_fixture {
	struct vmm *vm;
	struct vcpu v;
	struct kvm_run *run;
	uint8_t *ram;
};

static void exit_fixture(struct exit_fixture *f, enum vmm_subpage_policy policy)
{
	nevents = 0;
	static const struct vmm_protect prot[] = {
		{.gpa = 0x1080, .len = 128},                   /* page 1, sub-page 1 */
		{.gpa = 0x2000, .len = 4096},                  /* page 2 */
		{.gpa = 0x2000, .len = 128, .writable = true}, /* but its sub-page 0 */
	};
	struct vmm_config cfg = {.ncpus = 2,
				 .console_out = -1,
				 .console_in = -1,
				 .protect = prot,
				 .nprotect = 3,
				 .subpage_policy = policy,
				 .event = on_event};
	struct carve_err err = {0};
	f->vm = vmm_alloc_board(&cfg, &err);
	assert_non_null(f->vm);
	f->ram = aligned_alloc(4096, 65536);
	memset(f->ram, 0, 65536);
	f->vm->mem.nregions = 1;
	f->vm->mem.regions[0] = (struct gm_region){.gpa = 0, .size = 65536, .host = f->ram};
	f->vm->mem.total = 65536;
	assert_int_equal(vmm_subpage_configure(f->vm, &cfg, &err), 0);
	assert_true(f->vm->subpage_active);
	f->run = calloc(1, sizeof(*f->run));
	f->v = (struct vcpu){.vm = f->vm, .index = 1, .fd = -1, .run = f->run};
	/* No KVM: no write has a next piece unless a test scripts one. */
	f->vm->subpage_next_piece = scripted_next;
	nscript = iscript = ncalls = 0;
}

static void exit_fixture_free(struct exit_fixture *f)
{
	f->vm->mem.regions[0].host = NULL;
	vmm_destroy(f->vm);
	free(f->ram);
	free(f->run);
}

static bool write_exit(struct exit_fixture *f, uint64_t gpa, uint64_t v, uint32_t len)
{
	f->run->exit_reason = KVM_EXIT_MMIO;
	f->run->mmio.phys_addr = gpa;
	f->run->mmio.len = len;
	f->run->mmio.is_write = 1;
	memcpy(f->run->mmio.data, &v, 8);
	return subpage_exit(&f->v);
}

static void exit_applies_or_refuses(void **state)
{
	(void)state;
	struct exit_fixture f;
	exit_fixture(&f, VMM_SUBPAGE_REFUSE);
	uint64_t v = 0x0807060504030201ull;
	for (uint32_t len = 1; len <= 8; len *= 2) {
		assert_true(write_exit(&f, 0x1000 + 8 * len, v, len)); /* sub-page 0 */
		assert_memory_equal(f.ram + 0x1000 + 8 * len, &v, len);
		assert_true(write_exit(&f, 0x1080 + 8 * len, v, len)); /* sub-page 1 */
		assert_int_equal(f.ram[0x1080 + 8 * len], 0);
	}
	assert_true(write_exit(&f, 0x207c, v, 4)); /* page 2 sub-page 0, not past it */
	assert_memory_equal(f.ram + 0x207c, &v, 4);
	assert_true(write_exit(&f, 0x207c, v, 8)); /* into page 2 sub-page 1 */
	assert_int_equal(f.ram[0x2080], 0);
	assert_int_equal(atomic_load(&f.vm->subpage_writes), 5);
	assert_int_equal(atomic_load(&f.vm->subpage_violations), 5);
	assert_int_equal(nevents, 5);
	assert_non_null(strstr(events[0], "1 byte(s) at 0x1088 (page 0x1000 sub-page 1) by vCPU 1"));
	assert_non_null(strstr(events[0], ": refused"));
	assert_false(atomic_load(&f.vm->stopping));
	/* Not RAM: a device's MMIO, left to the bus. */
	assert_false(write_exit(&f, 0xd0000000, v, 4));
	/* A read (KVM serves them itself) is answered from memory. */
	f.run->mmio.phys_addr = 0x1010;
	f.run->mmio.len = 8;
	f.run->mmio.is_write = 0;
	assert_true(subpage_exit(&f.v));
	assert_memory_equal(f.run->mmio.data, f.ram + 0x1010, 8);
	exit_fixture_free(&f);
}

/* A write KVM hands over in pieces (across a page, or 16 bytes) is applied
 * or refused whole; only a piece that may have a next one asks for it. */
static void exit_pieces_all_or_nothing(void **state)
{
	(void)state;
	struct exit_fixture f;
	exit_fixture(&f, VMM_SUBPAGE_REFUSE);
	uint64_t v = 0x0807060504030201ull;
	/* 8 bytes over the boundary of page 1 (sub-page 31) and page 2
	 * (sub-page 0): two pieces, both allowed. */
	nscript = 1, iscript = 0, ncalls = 0;
	script[0] = (__typeof__(script[0])){.gpa = 0x2000, .len = 4, .v = 0x08070605};
	assert_true(write_exit(&f, 0x1ffc, 0x04030201, 4));
	assert_memory_equal(f.ram + 0x1ffc, &v, 8);
	assert_int_equal(ncalls, 1); /* the second piece (4 bytes, not at a page end) is the last */
	assert_int_equal(atomic_load(&f.vm->subpage_writes), 1);
	/* 16 bytes into page 2 sub-page 0/1: the first 8 allowed, the rest
	 * not: nothing written. */
	nscript = 1, iscript = 0, ncalls = 0;
	script[0] = (__typeof__(script[0])){.gpa = 0x2080, .len = 8, .v = v};
	assert_true(write_exit(&f, 0x2078, v, 8));
	assert_int_equal(f.ram[0x2078], 0);
	assert_int_equal(f.ram[0x2080], 0);
	assert_int_equal(ncalls, 2);
	assert_int_equal(atomic_load(&f.vm->subpage_violations), 1);
	assert_non_null(strstr(events[0], "16 byte(s) at 0x2078 in 2 pieces (page 0x2000 sub-page 1)"));
	/* A 4-byte write inside a page asks for nothing more. */
	nscript = 0, iscript = 0, ncalls = 0;
	assert_true(write_exit(&f, 0x1000, v, 4));
	assert_int_equal(ncalls, 0);
	exit_fixture_free(&f);
}

static void exit_stop_policy(void **state)
{
	(void)state;
	struct exit_fixture f;
	exit_fixture(&f, VMM_SUBPAGE_STOP);
	assert_true(write_exit(&f, 0x1000, 1, 4));
	assert_false(atomic_load(&f.vm->stopping));
	assert_true(write_exit(&f, 0x2f00, 1, 4));
	assert_true(atomic_load(&f.vm->stopping));
	assert_int_equal(f.vm->stop.reason, VMM_STOP_WRITE_PROTECT);
	assert_int_equal(f.vm->stop.vcpu, 1);
	assert_non_null(
		strstr(f.vm->stop.detail, "4-byte write at 0x2f00 to protected sub-page 30 of page 0x2000"));
	assert_non_null(strstr(events[0], "stopping the VM"));
	assert_true(vmm_stop_is_crash(VMM_STOP_WRITE_PROTECT));
	assert_string_equal(vmm_stop_name(VMM_STOP_WRITE_PROTECT), "write-protect");
	exit_fixture_free(&f);
}

static void configure_refuses_ranges_outside_ram(void **state)
{
	(void)state;
	struct vmm_protect bad = {.gpa = 65536 - 128, .len = 256};
	struct vmm_config cfg = {
		.ncpus = 1, .console_out = -1, .console_in = -1, .protect = &bad, .nprotect = 1};
	struct carve_err err = {0};
	struct vmm *vm = vmm_alloc_board(&cfg, &err);
	assert_non_null(vm);
	vm->mem.nregions = 1;
	vm->mem.regions[0] = (struct gm_region){.gpa = 0, .size = 65536};
	vm->mem.total = 65536;
	assert_int_equal(vmm_subpage_configure(vm, &cfg, &err), -1);
	assert_int_equal(err.code, E03_INVALID_ARGUMENT);
	assert_non_null(strstr(err.msg, "not inside guest RAM"));
	vmm_destroy(vm);
}

/* carve vmm --protect and --subpage-policy, parsed strictly. */
static void parse_protect(void **state)
{
	(void)state;
	struct vmm_protect p;
	struct carve_err err = {0};
	assert_int_equal(vmm_parse_protect("0x2000080:128", &p, &err), 0);
	assert_int_equal(p.gpa, 0x2000080);
	assert_int_equal(p.len, 128);
	assert_false(p.writable);
	assert_int_equal(vmm_parse_protect("4096:0x1000:rw", &p, &err), 0);
	assert_true(p.writable && p.gpa == 4096 && p.len == 4096);
	assert_int_equal(vmm_parse_protect("0:0X80:ro", &p, &err), 0);
	assert_false(p.writable);
	static const char *const bad[] = {
		"",
		":",
		"0x",
		"0x:128",
		"128",
		"128:",
		"128:0",
		"64:128",
		"128:64",
		"0x80:128:",
		"0x80:128:wx",
		"0x80:128:ro:",
		"-128:128",
		"+128:128",
		" 128:128",
		"128:128 ",
		"0200:128",
		"0x80 :128",
		"0x1000000000000:128",
		"0xffffffffffff80:128",
		"99999999999999999999999:128",
		"0xffffffffffffff80:256",
		"0x80:0xffffffffffffff80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		carve_err_clear(&err);
		if (vmm_parse_protect(bad[i], &p, &err) != -1 || err.code != E03_INVALID_ARGUMENT)
			fail_msg("'%s' accepted", bad[i]);
	}
	enum vmm_subpage_policy pol;
	assert_int_equal(vmm_parse_subpage_policy("stop", &pol, &err), 0);
	assert_int_equal(pol, VMM_SUBPAGE_STOP);
	assert_int_equal(vmm_parse_subpage_policy("refuse", &pol, &err), 0);
	assert_int_equal(pol, VMM_SUBPAGE_REFUSE);
	assert_int_equal(vmm_parse_subpage_policy("Stop", &pol, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_table_is_writable),
		cmocka_unit_test(set_get_roundtrip),
		cmocka_unit_test(set_rejects_bad_arguments),
		cmocka_unit_test(capacity_is_bounded),
		cmocka_unit_test(range_granularity),
		cmocka_unit_test(writable_checks_every_touched_subpage),
		cmocka_unit_test(guarded_write),
		cmocka_unit_test(one_way_locks),
		cmocka_unit_test(append_and_merge),
		cmocka_unit_test(runs_of_protected_pages),
		cmocka_unit_test(memslot_layout),
		cmocka_unit_test(exit_applies_or_refuses),
		cmocka_unit_test(exit_pieces_all_or_nothing),
		cmocka_unit_test(exit_stop_policy),
		cmocka_unit_test(configure_refuses_ranges_outside_ram),
		cmocka_unit_test(parse_protect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
