/* libFuzzer target: the driver side of a split ring (src/vhost/vring_driver.c)
 * against a device the fuzzer plays: it writes used entries (any id, any
 * length, any index step) and scribbles over the descriptor table, while
 * the driver adds chains and reaps what comes back. The driver must never
 * hand back a buffer that is not outstanding, never report more bytes than
 * the buffer holds, and never lose or duplicate a descriptor; once it says
 * the ring is not to be trusted (-1), nothing more is asked of it.
 *
 * Input: byte 0 = log2(ring size) - 1 (mod 8), then 6-byte operations:
 * op[0] % 4 = 0 add a chain (op[1] pieces, op[2..3] lengths), 1 the device
 * writes a used entry (id op[1..2], length op[3..4], index step op[5] % 3),
 * 2 reap, 3 the device rewrites a descriptor (index op[1], next op[2],
 * flags op[3]). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carve/vring_driver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TOKENS 65536

static uint32_t live_len[MAX_TOKENS]; /* bytes of each outstanding buffer + 1; 0: not outstanding */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint16_t num = (uint16_t)(1u << (1 + data[0] % 8));
	size_t sz = vring_driver_size(num);
	uint8_t *mem = aligned_alloc(4096, sz);
	memset(mem, 0, sz);
	struct vring_driver r;
	if (vring_driver_init(&r, mem, num) < 0)
		abort();
	memset(live_len, 0, sizeof(live_len));
	uint32_t token = 0;
	bool broken = false;
	for (size_t i = 1; i + 6 <= size && !broken && token < MAX_TOKENS; i += 6) {
		const uint8_t *op = data + i;
		switch (op[0] % 4) {
		case 0: {
			struct vring_driver_buf b[4];
			unsigned n = 1 + op[1] % 4;
			uint32_t total = 0;
			for (unsigned k = 0; k < n; k++) {
				b[k] = (struct vring_driver_buf){0x1000u * k, (uint32_t)op[2 + k % 2] * 16,
								 k & 1};
				total += b[k].len;
			}
			if (vring_driver_add_chain(&r, b, n, token) == 0) {
				live_len[token] = total + 1;
				token++;
			}
			break;
		}
		case 1: {
			uint16_t idx = r.used->idx;
			r.used->ring[idx & (num - 1)].id = (uint32_t)(op[1] | op[2] << 8);
			r.used->ring[idx & (num - 1)].len = (uint32_t)(op[3] | op[4] << 8);
			r.used->idx = (uint16_t)(idx + op[5] % 3);
			break;
		}
		case 2:
			for (unsigned k = 0; k <= num; k++) {
				uint64_t t;
				uint32_t len;
				int got = vring_driver_used(&r, &t, &len);
				if (got <= 0) {
					broken = got < 0;
					break;
				}
				if (t >= MAX_TOKENS || !live_len[t] || len >= live_len[t])
					abort(); /* not outstanding, or more than it holds */
				live_len[t] = 0;
			}
			break;
		case 3:
			r.desc[op[1] & (num - 1)].next = op[2];
			r.desc[op[1] & (num - 1)].flags = op[3];
			r.desc[op[1] & (num - 1)].addr = 0xdead;
			break;
		}
		if (r.nfree > num)
			abort();
	}
	/* Whatever happened, the free list still holds exactly nfree distinct
	 * descriptors (none lost, none twice). */
	if (!broken) {
		uint8_t *seen = calloc(num, 1);
		uint16_t at = r.free_head;
		for (uint16_t k = 0; k < r.nfree; k++) {
			if (at >= num || seen[at])
				abort();
			seen[at] = 1;
			at = r.slot[at].next;
		}
		free(seen);
	}
	vring_driver_free(&r);
	free(mem);
	return 0;
}
