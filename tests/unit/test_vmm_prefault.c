/* The KVM_PRE_FAULT_MEMORY report's event-log line (vmm_prefault_describe):
 * every outcome, and buffers too small for it. The ioctl itself runs on real
 * KVM only (tests/hwkvm/l1/prefault.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "carve/vmm.h"

static void not_offered(void **state)
{
	(void)state;
	struct vmm_prefault_report r = {0};
	char line[256];
	vmm_prefault_describe(&r, line, sizeof(line));
	assert_string_equal(
		line, "KVM_PRE_FAULT_MEMORY not offered by this KVM; guest pages are mapped on first use");
}

static void one_range(void **state)
{
	(void)state;
	struct vmm_prefault_report r = {.offered = true, .bytes = 512ull << 20, .ms = 3.14, .nranges = 1};
	r.ranges[0].gpa = 0;
	r.ranges[0].size = 512ull << 20;
	char line[256];
	vmm_prefault_describe(&r, line, sizeof(line));
	assert_string_equal(line, "KVM_PRE_FAULT_MEMORY mapped 0x0-0x1fffffff (512 MiB) in 3.1 ms");
}

static void around_the_mmio_hole(void **state)
{
	(void)state;
	struct vmm_prefault_report r = {.offered = true, .bytes = 4096ull << 20, .ms = 10, .nranges = 2};
	r.ranges[0].gpa = 0;
	r.ranges[0].size = 3ull << 30;
	r.ranges[1].gpa = 4ull << 30;
	r.ranges[1].size = 1ull << 30;
	char line[256];
	vmm_prefault_describe(&r, line, sizeof(line));
	assert_string_equal(
		line,
		"KVM_PRE_FAULT_MEMORY mapped 0x0-0xbfffffff,0x100000000-0x13fffffff (4096 MiB) in 10.0 ms");
}

static void failed_part_way(void **state)
{
	(void)state;
	struct vmm_prefault_report r = {
		.offered = true, .errno_value = ENOMEM, .bytes = 64ull << 20, .nranges = 1};
	r.ranges[0].size = 128ull << 20;
	char line[256];
	vmm_prefault_describe(&r, line, sizeof(line));
	assert_string_equal(line,
			    "KVM_PRE_FAULT_MEMORY stopped after 0x0-0x7ffffff (64 MiB done): "
			    "Cannot allocate memory; the rest is mapped on first use");
}

static void small_buffers(void **state)
{
	(void)state;
	struct vmm_prefault_report r = {.offered = true, .bytes = 4096ull << 20, .nranges = 2};
	r.ranges[0].size = 3ull << 30;
	r.ranges[1].gpa = 4ull << 30;
	r.ranges[1].size = 1ull << 30;
	char full[256];
	vmm_prefault_describe(&r, full, sizeof(full));
	for (size_t len = 1; len < strlen(full) + 2; len++) {
		char buf[256];
		memset(buf, 'x', sizeof(buf));
		vmm_prefault_describe(&r, buf, len);
		assert_int_equal(strlen(buf), len - 1 < strlen(full) ? len - 1 : strlen(full));
		assert_memory_equal(buf, full, strlen(buf));
		assert_int_equal(buf[len], 'x'); /* nothing written past the buffer */
	}
	vmm_prefault_describe(&r, full, 0); /* no room at all: nothing written */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(not_offered),          cmocka_unit_test(one_range),
		cmocka_unit_test(around_the_mmio_hole), cmocka_unit_test(failed_part_way),
		cmocka_unit_test(small_buffers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
