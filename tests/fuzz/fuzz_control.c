/* libFuzzer target: control requests as an enclave process receives them
 * from any local user. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "carve/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request req;
	struct carve_err err = {0};
	if (control_parse_request((const char *)data, size, &req, &err) == 0) {
		char line[128];
		int n = control_format_request(&req, line, sizeof(line));
		struct control_request again;
		carve_err_clear(&err);
		if (n <= 0 || control_parse_request(line, (size_t)n, &again, &err) != 0 ||
		    again.cmd != req.cmd || again.metadata != req.metadata)
			__builtin_trap();
	}
	return 0;
}
