/* Split virtqueue, driver side (include/carve/vring_driver.h). The memory
 * order is the spec's: a descriptor is written before its avail entry, the
 * avail entry before avail->idx; used->idx is read before the entries it
 * covers. */
#include <stdlib.h>
#include <string.h>

#include "carve/vring_driver.h"

#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((size_t)(a)-1))

static size_t avail_offset(uint16_t num) { return sizeof(struct vring_desc) * num; }
static size_t used_offset(uint16_t num)
{
	/* flags, idx, ring[num], used_event */
	return ALIGN_UP(avail_offset(num) + 4 + 2 * (size_t)num + 2, 4096);
}

size_t vring_driver_size(uint16_t num)
{
	return ALIGN_UP(used_offset(num) + 4 + sizeof(struct vring_used_elem) * num + 2, 4096);
}

int vring_driver_init(struct vring_driver *r, void *mem, uint16_t num)
{
	if (!num || (num & (num - 1)))
		return -1;
	memset(r, 0, sizeof(*r));
	r->tokens = calloc(num, sizeof(*r->tokens));
	if (!r->tokens)
		return -1;
	uint8_t *base = mem;
	r->num = num;
	r->desc = (struct vring_desc *)base;
	r->avail = (struct vring_avail *)(base + avail_offset(num));
	r->used = (struct vring_used *)(base + used_offset(num));
	for (uint16_t i = 0; i < num; i++)
		r->desc[i].next = (uint16_t)(i + 1);
	r->nfree = num;
	r->free_head = 0;
	return 0;
}

void vring_driver_free(struct vring_driver *r)
{
	free(r->tokens);
	r->tokens = NULL;
}

int vring_driver_add(struct vring_driver *r, uint64_t gpa, uint32_t len, bool device_writes, uint64_t token)
{
	if (!r->nfree)
		return -1;
	uint16_t i = r->free_head;
	r->free_head = r->desc[i].next;
	r->nfree--;
	r->desc[i].addr = gpa;
	r->desc[i].len = len;
	r->desc[i].flags = device_writes ? VRING_DESC_F_WRITE : 0;
	r->desc[i].next = 0;
	r->tokens[i] = token;
	r->avail->ring[r->avail_idx & (r->num - 1)] = i;
	r->avail_idx++;
	__atomic_store_n(&r->avail->idx, r->avail_idx, __ATOMIC_RELEASE);
	return 0;
}

int vring_driver_used(struct vring_driver *r, uint64_t *token, uint32_t *len)
{
	uint16_t idx = __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE);
	if (idx == r->last_used)
		return 0;
	if ((uint16_t)(idx - r->last_used) > r->num - r->nfree)
		return -1; /* more used than we ever made available */
	struct vring_used_elem e = r->used->ring[r->last_used & (r->num - 1)];
	if (e.id >= r->num || e.len > r->desc[e.id].len)
		return -1;
	r->last_used++;
	*token = r->tokens[e.id];
	*len = e.len;
	r->desc[e.id].next = r->free_head;
	r->free_head = (uint16_t)e.id;
	r->nfree++;
	return 1;
}
