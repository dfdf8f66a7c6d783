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
	r->slot = calloc(num, sizeof(*r->slot));
	if (!r->slot)
		return -1;
	uint8_t *base = mem;
	r->num = num;
	r->desc = (struct vring_desc *)base;
	r->avail = (struct vring_avail *)(base + avail_offset(num));
	r->used = (struct vring_used *)(base + used_offset(num));
	for (uint16_t i = 0; i < num; i++)
		r->slot[i].next = (uint16_t)(i + 1);
	r->nfree = num;
	r->free_head = 0;
	return 0;
}

void vring_driver_free(struct vring_driver *r)
{
	free(r->slot);
	r->slot = NULL;
}

int vring_driver_add(struct vring_driver *r, uint64_t gpa, uint32_t len, bool device_writes, uint64_t token)
{
	struct vring_driver_buf b = {.addr = gpa, .len = len, .device_writes = device_writes};
	return vring_driver_add_chain(r, &b, 1, token);
}

int vring_driver_add_chain(struct vring_driver *r, const struct vring_driver_buf *bufs, unsigned n,
			   uint64_t token)
{
	if (!n || n > r->nfree)
		return -1;
	uint16_t head = r->free_head, i = head;
	for (unsigned k = 0; k < n; k++) {
		uint16_t next = r->slot[i].next; /* the following free descriptor */
		r->desc[i].addr = bufs[k].addr;
		r->desc[i].len = bufs[k].len;
		r->desc[i].flags = (uint16_t)((bufs[k].device_writes ? VRING_DESC_F_WRITE : 0) |
					      (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		r->desc[i].next = k + 1 < n ? next : 0;
		r->slot[i].len = bufs[k].len;
		r->slot[i].next = next;
		if (k + 1 < n)
			i = next;
		else
			r->free_head = next;
	}
	r->nfree = (uint16_t)(r->nfree - n);
	r->slot[head].token = token;
	r->slot[head].chain = (uint16_t)n;
	r->avail->ring[r->avail_idx & (r->num - 1)] = head;
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
	if (e.id >= r->num || !r->slot[e.id].chain)
		return -1; /* not the head of a buffer the device holds */
	/* The chain as we wrote it (from our own copies, not desc[]): its
	 * length bounds what the device wrote. */
	uint64_t total = 0;
	uint16_t tail = (uint16_t)e.id;
	for (uint16_t k = 0; k < r->slot[e.id].chain; k++) {
		total += r->slot[tail].len;
		if (k + 1 < r->slot[e.id].chain)
			tail = r->slot[tail].next;
	}
	if (e.len > total)
		return -1;
	r->last_used++;
	*token = r->slot[e.id].token;
	*len = e.len;
	r->nfree = (uint16_t)(r->nfree + r->slot[e.id].chain);
	r->slot[e.id].chain = 0;
	r->slot[tail].next = r->free_head;
	r->free_head = (uint16_t)e.id;
	return 1;
}
