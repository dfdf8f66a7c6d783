/* libFuzzer target: the virtqueue chain walker over a guest memory image the
 * fuzzer controls entirely (descriptor table, avail ring, indirect tables,
 * buffers). The device must refuse or walk every chain without touching
 * memory outside the image (ASan guards its edges).
 *
 * Input: byte 0 = log2(queue size) (mod 9), byte 1 = feature bits (1 INDIRECT,
 * 2 EVENT_IDX), the rest = guest memory at GPA 0x10000 (rings at its start:
 * descriptors, then avail, then used, each aligned). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carve/virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define GPA 0x10000ull

struct img {
	uint8_t *p;
	size_t len;
};

static void *img_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct img *m = ctx;
	if (gpa < GPA || gpa - GPA > m->len || len > m->len - (gpa - GPA))
		return NULL;
	return m->p + (gpa - GPA);
}

static struct virtq_chain chain;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint16_t num = (uint16_t)(1u << (data[0] % 9));
	uint64_t features = (1ull << VIRTIO_F_VERSION_1) |
		((data[1] & 1) ? 1ull << VIRTIO_F_INDIRECT_DESC : 0) |
		((data[1] & 2) ? 1ull << VIRTIO_F_EVENT_IDX : 0);
	size_t desc = 0, avail = 16u * num, used = (avail + 6 + 2u * num + 3) & ~(size_t)3;
	size_t need = used + 6 + 8u * num;
	struct img m;
	m.len = size - 2 > need ? size - 2 : need;
	m.p = malloc(m.len);
	memset(m.p, 0, m.len);
	memcpy(m.p, data + 2, size - 2);
	struct virtio_mem mem = {.ptr = img_ptr, .ctx = &m};
	struct virtq q;
	if (virtq_init(&q, &mem, num, GPA + desc, GPA + avail, GPA + used, features) == 0) {
		uint8_t scratch[256];
		for (int i = 0; i < 2 * num + 2; i++) {
			int r = virtq_pop(&q, &chain);
			if (r <= 0)
				break;
			if (chain.nr + chain.nw > VIRTQ_MAX_CHAIN)
				__builtin_trap();
			uint64_t rl = 0, wl = 0;
			for (unsigned k = 0; k < (unsigned)chain.nr + chain.nw; k++) {
				const uint8_t *p = chain.seg[k].p;
				if (p < m.p || p + chain.seg[k].len > m.p + m.len)
					__builtin_trap();
				*(k < chain.nr ? &rl : &wl) += chain.seg[k].len;
			}
			if (rl != chain.rlen || wl != chain.wlen)
				__builtin_trap();
			virtq_chain_read(&chain, 0, scratch, sizeof(scratch));
			memset(scratch, 0x5a, sizeof(scratch));
			virtq_chain_write(&chain, chain.wlen > 8 ? chain.wlen - 8 : 0, scratch,
					  sizeof(scratch));
			virtq_push(&q, &chain, chain.wlen);
			(void)virtq_should_notify(&q);
		}
		(void)virtq_idle(&q);
	}
	free(m.p);
	return 0;
}
