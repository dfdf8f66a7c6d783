/* libFuzzer target: the host's sub-page protection words (carve vmm
 * --protect GPA:LEN[:ro|:rw], --subpage-policy), then the table those
 * ranges build. Any bytes must be refused with a code or accepted as a
 * range the table takes: 128-byte multiples, not empty, below 2^48. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/subpage.h"
#include "vmm/vmm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct vmm_protect p;
	struct carve_err err = {0};
	if (vmm_parse_protect(text, &p, &err) < 0) {
		if (err.code != E03_INVALID_ARGUMENT)
			__builtin_trap();
	} else {
		if (p.len == 0 || p.gpa % 128 || p.len % 128 || p.gpa >= (1ull << 48) ||
		    p.len > (1ull << 48) - p.gpa)
			__builtin_trap();
		/* A small table: big ranges must be refused (-ENOSPC), not grown. */
		struct subpage_table t;
		subpage_init(&t, 64);
		int r = subpage_set_range(&t, p.gpa, p.len, p.writable, 0);
		if (r != 0 && r != -ENOSPC)
			__builtin_trap();
		if (r == 0 && !p.writable && subpage_range_writable(&t, p.gpa, p.len < 128 ? p.len : 128))
			__builtin_trap();
		if (subpage_pages(&t) > 64)
			__builtin_trap();
		subpage_destroy(&t);
	}
	carve_err_clear(&err);
	enum vmm_subpage_policy pol;
	if (vmm_parse_subpage_policy(text, &pol, &err) == 0 && pol != VMM_SUBPAGE_REFUSE &&
	    pol != VMM_SUBPAGE_STOP)
		__builtin_trap();
	free(text);
	return 0;
}
