/* libFuzzer target: the guest's sub-page lock device (src/vmm/selflock.c)
 * driven by a guest's port accesses, as exits.c hands them over, on a VM
 * with 128 MiB of RAM laid out (not mapped: the device only checks ranges
 * against the layout) and a remap that records instead of calling KVM.
 * Each input record is 6 bytes: register offset, access size (1, 2 or 4)
 * and direction, then a 32-bit value. Whatever the guest writes:
 *   - nothing is read or written outside the access;
 *   - STATUS is always one of the defined values;
 *   - a LOCK that answers OK made its whole range read-only, inside RAM,
 *     and asked for a remap covering it; any other answer changed nothing;
 *   - nothing locked ever becomes writable again, and after SEAL nothing
 *     more is locked;
 *   - the table never holds more pages than its budget. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/vmm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM (128ull << 20)
#define BUDGET 64

static uint64_t remapped_first, remapped_last;
static int remaps;

static int record_remap(struct vmm *vm, int vcpu, uint64_t first, uint64_t last)
{
	(void)vcpu;
	assert(first <= last && (last + 1) << SUBPAGE_PAGE_SHIFT <= vm->mem.total);
	remapped_first = first;
	remapped_last = last;
	remaps++;
	return 0;
}

static int sealed_pcr(void *ctx, const uint8_t digest[48])
{
	(void)digest;
	(*(int *)ctx)++;
	return 31;
}

static uint32_t reg(struct vmm *vm, uint16_t off)
{
	uint32_t v = 0;
	assert(pio_bus_access(vm, 0, (uint16_t)(VMM_SELFLOCK_PORT + off), &v, 4, false));
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int seals = 0;
	struct vmm_config cfg = {.ncpus = 1, .console_out = -1, .console_in = -1};
	struct carve_err err = {0};
	struct vmm *vm = vmm_alloc_board(&cfg, &err);
	assert(vm);
	assert(gm_layout(&vm->mem, RAM, &err) == 0);
	vm->subpages.max_pages = BUDGET;
	vm->selflock.remap = record_remap;
	vm->selflock.lock_sealed = sealed_pcr;
	vm->selflock.lock_sealed_ctx = &seals;
	remaps = 0;
	uint64_t locked_before = 0;
	for (size_t i = 0; i + 6 <= size; i += 6) {
		uint16_t off = (uint16_t)(data[i] % (VMM_SELFLOCK_PORTS + 8));
		static const uint32_t sizes[] = {4, 4, 1, 2};
		uint32_t len = sizes[data[i + 1] & 3];
		bool write = data[i + 1] & 4;
		uint8_t buf[8];
		memcpy(buf, data + i + 2, 4);
		buf[4] = buf[5] = buf[6] = buf[7] = 0xa5; /* canaries past the widest access */
		bool was_sealed = reg(vm, SELFLOCK_REG_STATE) & SELFLOCK_STATE_SEALED;
		uint64_t addr = reg(vm, SELFLOCK_REG_ADDR_LO) | (uint64_t)reg(vm, SELFLOCK_REG_ADDR_HI) << 32;
		uint64_t rlen = reg(vm, SELFLOCK_REG_LEN_LO) | (uint64_t)reg(vm, SELFLOCK_REG_LEN_HI) << 32;
		int remaps_before = remaps;
		size_t pages_before = subpage_pages(&vm->subpages);
		(void)pio_bus_access(vm, 0, (uint16_t)(VMM_SELFLOCK_PORT + off), buf, len, write);
		assert(buf[4] == 0xa5 && buf[5] == 0xa5 && buf[6] == 0xa5 && buf[7] == 0xa5);
		uint32_t st = reg(vm, SELFLOCK_REG_STATUS);
		assert(st <= SELFLOCK_S_HOST || st == SELFLOCK_S_NONE);
		uint32_t cmd;
		memcpy(&cmd, buf, 4);
		bool lock_cmd = write && len == 4 && off == SELFLOCK_REG_COMMAND && cmd == SELFLOCK_CMD_LOCK;
		if (lock_cmd && st == SELFLOCK_S_OK) {
			assert(!was_sealed);
			assert(rlen && addr % 128 == 0 && rlen % 128 == 0 && addr + rlen <= RAM);
			assert(!subpage_range_writable(&vm->subpages, addr, 128));
			assert(!subpage_range_writable(&vm->subpages, addr + rlen - 128, 128));
			assert(remaps == remaps_before + 1 && remapped_first == addr >> 12 &&
			       remapped_last == (addr + rlen - 1) >> 12);
		} else {
			assert(remaps == remaps_before && subpage_pages(&vm->subpages) == pages_before);
		}
		uint64_t locked_now = subpage_locked_each(&vm->subpages, NULL, NULL);
		assert(locked_now >= locked_before && subpage_pages(&vm->subpages) <= BUDGET);
		locked_before = locked_now;
	}
	assert(seals <= 1);
	vmm_destroy(vm);
	return 0;
}
