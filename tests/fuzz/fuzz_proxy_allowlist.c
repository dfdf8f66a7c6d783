/* libFuzzer target: vsock-proxy's allowlist file (a user's YAML). The
 * parser must refuse or accept any bytes without reading outside them, and
 * what it accepts must be sane: bounded entries, each address a terminated
 * string that fits its buffer. No name is resolved here (the check needs
 * DNS; its matching is in test_proxy_allowlist). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carve/vsock_proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so reading one byte past the input is caught. */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	struct proxy_allowlist l;
	const char *why = NULL;
	if (proxy_allowlist_parse(text, size, &l, &why) == 0) {
		if (l.n < 0 || l.n > PROXY_ENTRIES_MAX || (l.n && !l.items))
			__builtin_trap();
		for (int i = 0; i < l.n; i++)
			if (strnlen(l.items[i].address, PROXY_ADDRESS_MAX) >= PROXY_ADDRESS_MAX)
				__builtin_trap();
		proxy_allowlist_free(&l);
	} else if (!why || !*why) {
		__builtin_trap(); /* a refusal always says why */
	}
	free(text);
	return 0;
}
