/* libFuzzer target: the names in a memory pool's directory
 * (mempool_parse_name), which anyone who may write there chooses. Any bytes
 * are accepted or refused without reading or writing outside them; what is
 * accepted has a non-empty state and id within their buffers and a size
 * above 0, and prints back to a name that parses to the same. */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carve/mempool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = malloc(size + 1); /* a NUL-terminated exact-size copy, as readdir gives */
	if (!name)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	char state[8], id[64];
	uint64_t bytes = 0;
	if (mempool_parse_name(name, state, sizeof(state), &bytes, id, sizeof(id))) {
		if (!state[0] || strlen(state) >= sizeof(state) || !id[0] || strlen(id) >= sizeof(id) ||
		    !bytes)
			__builtin_trap();
		char again[128], state2[8], id2[64];
		uint64_t bytes2 = 0;
		snprintf(again, sizeof(again), "%s.%" PRIu64 ".%s", state, bytes, id);
		if (!mempool_parse_name(again, state2, sizeof(state2), &bytes2, id2, sizeof(id2)) ||
		    strcmp(state, state2) || bytes != bytes2 || strcmp(id, id2))
			__builtin_trap();
	}
	free(name);
	return 0;
}
