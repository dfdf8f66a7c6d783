/* libFuzzer target: bytes a guest writes to the carve log port, in writes
 * of fuzzer-chosen sizes. Every line handed on must be printable ASCII and
 * within the length bound, and no more than the line bound plus one note. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/vmm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned emitted;

static void check(void *ctx, const char *line)
{
	(void)ctx;
	size_t n = strlen(line);
	assert(n <= GUEST_LOG_LINE_MAX);
	for (size_t i = 0; i < n; i++)
		assert(line[i] >= 0x20 && line[i] <= 0x7e);
	emitted++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_log g;
	emitted = 0;
	guest_log_init(&g, check, NULL);
	/* The first byte of each chunk gives its length (a rep outsb's count). */
	for (size_t i = 0; i < size;) {
		size_t n = data[i++];
		if (n > size - i)
			n = size - i;
		guest_log_write(&g, data + i, n);
		i += n;
	}
	assert(emitted <= GUEST_LOG_MAX_LINES + 1);
	guest_log_destroy(&g);
	return 0;
}
