/* The guest's sub-page lock device (src/vmm/selflock.c) driven through the
 * port bus as a guest would: each refusal's status and that it changed
 * nothing, a lock that is one-way (the host cannot undo it either), the
 * seal measured once, and the digest's byte encoding (carve/vmm.h). The
 * memory remap is recorded here instead of calling KVM (no VM runs). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "carve/crypto.h"
#include "vmm/vmm_internal.h"

#define RAM (64ull << 20)

static int remaps, seals;
static uint8_t sealed_digest[48];

static int record_remap(struct vmm *vm, int vcpu, uint64_t first, uint64_t last)
{
	(void)vm, (void)vcpu, (void)first, (void)last;
	remaps++;
	return 0;
}

static int record_seal(void *ctx, const uint8_t digest[48])
{
	(void)ctx;
	seals++;
	memcpy(sealed_digest, digest, 48);
	return 31;
}

static struct vmm *board(size_t budget)
{
	struct vmm_config cfg = {.ncpus = 1, .console_out = -1, .console_in = -1};
	struct carve_err err = {0};
	struct vmm *vm = vmm_alloc_board(&cfg, &err);
	assert_non_null(vm);
	assert_int_equal(gm_layout(&vm->mem, RAM, &err), 0);
	vm->subpages.max_pages = budget;
	vm->selflock.remap = record_remap;
	vm->selflock.lock_sealed = record_seal;
	remaps = seals = 0;
	return vm;
}

static uint32_t rd(struct vmm *vm, uint16_t off)
{
	uint32_t v = 0;
	assert_true(pio_bus_access(vm, 0, (uint16_t)(VMM_SELFLOCK_PORT + off), &v, 4, false));
	return v;
}

static void wr(struct vmm *vm, uint16_t off, uint32_t v)
{
	assert_true(pio_bus_access(vm, 0, (uint16_t)(VMM_SELFLOCK_PORT + off), &v, 4, true));
}

static uint32_t lock(struct vmm *vm, uint64_t addr, uint64_t len)
{
	wr(vm, SELFLOCK_REG_ADDR_LO, (uint32_t)addr);
	wr(vm, SELFLOCK_REG_ADDR_HI, (uint32_t)(addr >> 32));
	wr(vm, SELFLOCK_REG_LEN_LO, (uint32_t)len);
	wr(vm, SELFLOCK_REG_LEN_HI, (uint32_t)(len >> 32));
	wr(vm, SELFLOCK_REG_COMMAND, SELFLOCK_CMD_LOCK);
	return rd(vm, SELFLOCK_REG_STATUS);
}

static void identity_registers(void **state)
{
	(void)state;
	struct vmm *vm = board(16);
	assert_int_equal(rd(vm, SELFLOCK_REG_ID), SELFLOCK_ID);
	assert_int_equal(rd(vm, SELFLOCK_REG_VERSION), 1);
	assert_int_equal(rd(vm, SELFLOCK_REG_GRANULE), 128);
	assert_int_equal(rd(vm, SELFLOCK_REG_STATUS), SELFLOCK_S_NONE);
	assert_int_equal(rd(vm, SELFLOCK_REG_PCR), 0xffffffffu);
	assert_int_equal(rd(vm, SELFLOCK_REG_BUDGET), 16);
	vmm_destroy(vm);
}

static void refusals_change_nothing(void **state)
{
	(void)state;
	struct vmm *vm = board(4);
	assert_int_equal(lock(vm, 0x100040, 0x80), SELFLOCK_S_ALIGN);
	assert_int_equal(lock(vm, 0x100000, 0), SELFLOCK_S_ALIGN);
	assert_int_equal(lock(vm, 0x100000, 0x81), SELFLOCK_S_ALIGN);
	assert_int_equal(lock(vm, RAM - 0x80, 0x100), SELFLOCK_S_RANGE);             /* runs off RAM */
	assert_int_equal(lock(vm, 0xfffffffffffff000ull, 0x2000), SELFLOCK_S_RANGE); /* wraps */
	assert_int_equal(lock(vm, 0xd0000000, 0x1000), SELFLOCK_S_RANGE);            /* MMIO, not RAM */
	assert_int_equal(lock(vm, 0x100000, 5 * 4096), SELFLOCK_S_PAGES);            /* budget 4 */
	wr(vm, SELFLOCK_REG_COMMAND, 7);
	assert_int_equal(rd(vm, SELFLOCK_REG_STATUS), SELFLOCK_S_COMMAND);
	wr(vm, SELFLOCK_REG_ID, 1); /* read-only */
	assert_int_equal(rd(vm, SELFLOCK_REG_STATUS), SELFLOCK_S_ACCESS);
	uint16_t half = 0;
	assert_true(pio_bus_access(vm, 0, VMM_SELFLOCK_PORT + SELFLOCK_REG_ADDR_LO, &half, 2, true));
	assert_int_equal(rd(vm, SELFLOCK_REG_STATUS), SELFLOCK_S_ACCESS);
	assert_int_equal(subpage_pages(&vm->subpages), 0);
	assert_int_equal(remaps, 0);
	vmm_destroy(vm);
}

static void lock_is_one_way(void **state)
{
	(void)state;
	struct vmm *vm = board(16);
	assert_int_equal(lock(vm, 0x100080, 0x100), SELFLOCK_S_OK);
	assert_int_equal(remaps, 1);
	assert_int_equal(subpage_access(&vm->subpages, 0x100), ~0x6u);
	assert_true(subpage_range_writable(&vm->subpages, 0x100000, 0x80));
	assert_false(subpage_range_writable(&vm->subpages, 0x100080, 1));
	/* Neither the guest nor the host can give it back. */
	assert_int_equal(subpage_set_range(&vm->subpages, 0x100000, 0x1000, true, 0), -EPERM);
	assert_false(subpage_range_writable(&vm->subpages, 0x100100, 0x80));
	uint32_t locked;
	assert_int_equal(vmm_subpage_get_locked(vm, 0x100, 1, &locked), 0);
	assert_int_equal(locked, 0x6);
	assert_int_equal(rd(vm, SELFLOCK_REG_BUDGET), 15);
	vmm_destroy(vm);
}

static void seal_measures_once(void **state)
{
	(void)state;
	struct vmm *vm = board(16);
	assert_int_equal(lock(vm, 0x200000, 0x2000), SELFLOCK_S_OK);
	assert_int_equal(lock(vm, 0x100f80, 0x80), SELFLOCK_S_OK);
	wr(vm, SELFLOCK_REG_COMMAND, SELFLOCK_CMD_SEAL);
	assert_int_equal(rd(vm, SELFLOCK_REG_STATUS), SELFLOCK_S_OK);
	assert_int_equal(seals, 1);
	assert_int_equal(rd(vm, SELFLOCK_REG_PCR), 31);
	assert_true(rd(vm, SELFLOCK_REG_STATE) & SELFLOCK_STATE_SEALED);
	/* The encoding, by hand: tag, then (frame u64 LE, mask u32 LE) in
	 * frame order. */
	uint8_t buf[20 + 3 * 12], want[48];
	memcpy(buf, "CARVE-SUBPAGE-LOCK-1", 20);
	const struct {
		uint64_t gfn;
		uint32_t mask;
	} rec[3] = {{0x100, 0x80000000u}, {0x200, 0xffffffffu}, {0x201, 0xffffffffu}};
	for (int r = 0; r < 3; r++) {
		for (int i = 0; i < 8; i++)
			buf[20 + 12 * r + i] = (uint8_t)(rec[r].gfn >> (8 * i));
		for (int i = 0; i < 4; i++)
			buf[20 + 12 * r + 8 + i] = (uint8_t)(rec[r].mask >> (8 * i));
	}
	sha384_oneshot(buf, sizeof(buf), want);
	assert_memory_equal(sealed_digest, want, 48);
	for (int i = 0; i < 12; i++) {
		uint32_t w = rd(vm, (uint16_t)(SELFLOCK_REG_DIGEST + 4 * i));
		assert_memory_equal(&w, want + 4 * i, 4);
	}
	/* Sealed: nothing more is locked, and no second measurement. */
	assert_int_equal(lock(vm, 0x300000, 0x1000), SELFLOCK_S_SEALED);
	wr(vm, SELFLOCK_REG_COMMAND, SELFLOCK_CMD_SEAL);
	assert_int_equal(rd(vm, SELFLOCK_REG_STATUS), SELFLOCK_S_SEALED);
	assert_int_equal(seals, 1);
	assert_int_equal(subpage_locked_each(&vm->subpages, NULL, NULL), 3);
	vmm_destroy(vm);
}

/* The slot budget a LOCK is checked against: regions + 2 x runs, a new
 * range merged with the runs it touches. */
static void slots_counted_with_the_new_range(void **state)
{
	(void)state;
	struct vmm *vm = board(64);
	assert_int_equal(vmm_slots_with(vm, 1, 0), 1);         /* nothing protected: RAM in one slot */
	assert_int_equal(vmm_slots_with(vm, 0x100, 0x126), 3); /* RAM | read-only | RAM */
	assert_int_equal(vmm_slots_with(vm, 0, 0), 2);         /* at RAM's start: read-only | RAM */
	assert_int_equal(lock(vm, 0x100000, 0x1000), SELFLOCK_S_OK);
	assert_int_equal(vmm_slots_with(vm, 0x101, 0x101), 3); /* adjacent: one run */
	assert_int_equal(vmm_slots_with(vm, 0x102, 0x102), 5); /* a gap: two runs */
	assert_int_equal(vmm_slots_with(vm, 0x0ff, 0x105), 3); /* covering it: one run */
	vmm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identity_registers),
		cmocka_unit_test(refusals_change_nothing),
		cmocka_unit_test(lock_is_one_way),
		cmocka_unit_test(seal_measures_once),
		cmocka_unit_test(slots_counted_with_the_new_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
