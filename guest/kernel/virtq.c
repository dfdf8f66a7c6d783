/* Split virtqueues (virtio 1.x §2.7) in one kernel page: descriptors at 0,
 * the available ring at 1024, the used ring at 2048 (up to 64 entries each).
 * No indirect descriptors, no event index: we negotiate neither. */
#include "errno.h"
#include "virtio.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_QUEUE_DESC_LO 0x080
#define R_QUEUE_DESC_HI 0x084
#define R_QUEUE_AVAIL_LO 0x090
#define R_QUEUE_AVAIL_HI 0x094
#define R_QUEUE_USED_LO 0x0a0
#define R_QUEUE_USED_HI 0x0a4

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
struct vavail {
	uint16_t flags, idx, ring[VIRTQ_MAX];
};
struct vused {
	uint16_t flags;
	volatile uint16_t idx;
	struct {
		uint32_t id, len;
	} ring[VIRTQ_MAX];
};

#define barrier() __asm__ volatile("" ::: "memory")

int virtq_setup(struct vdev *d, uint16_t idx, struct virtq *q)
{
	vdev_write(d, R_QUEUE_SEL, idx);
	if (vdev_read(d, R_QUEUE_READY))
		return -EIO;
	uint32_t max = vdev_read(d, R_QUEUE_NUM_MAX);
	if (max == 0)
		return -ENODEV;
	/* Split rings want a power of two; take the largest that fits both. */
	uint16_t num = VIRTQ_MAX;
	while (num > max)
		num >>= 1;
	uint64_t pa = page_alloc();
	if (!pa)
		return -ENOMEM;
	uint8_t *p = phys_to_virt(pa);
	*q = (struct virtq){.dev = d,
			    .idx = idx,
			    .num = num,
			    .desc = (struct vdesc *)p,
			    .avail = (struct vavail *)(p + 1024),
			    .used = (struct vused *)(p + 2048),
			    .nfree = num};
	for (uint16_t i = 0; i < num; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	vdev_write(d, R_QUEUE_NUM, num);
	vdev_write(d, R_QUEUE_DESC_LO, (uint32_t)pa);
	vdev_write(d, R_QUEUE_DESC_HI, (uint32_t)(pa >> 32));
	vdev_write(d, R_QUEUE_AVAIL_LO, (uint32_t)(pa + 1024));
	vdev_write(d, R_QUEUE_AVAIL_HI, (uint32_t)((pa + 1024) >> 32));
	vdev_write(d, R_QUEUE_USED_LO, (uint32_t)(pa + 2048));
	vdev_write(d, R_QUEUE_USED_HI, (uint32_t)((pa + 2048) >> 32));
	vdev_write(d, R_QUEUE_READY, 1);
	return 0;
}

int virtq_add(struct virtq *q, const struct vbuf *b, int n, void *token)
{
	if (n <= 0 || n > q->nfree || q->dev->broken)
		return -ENOSPC;
	uint16_t head = q->free_head, i = head;
	uint32_t cap = 0;
	for (int k = 0; k < n; k++) {
		struct vdesc *dsc = &q->desc[i];
		dsc->addr = b[k].pa;
		dsc->len = b[k].len;
		dsc->flags = (uint16_t)((b[k].writable ? VIRTQ_DESC_F_WRITE : 0) |
					(k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		if (b[k].writable)
			cap += b[k].len;
		if (k + 1 < n)
			i = dsc->next;
	}
	q->free_head = q->desc[i].next;
	q->nfree = (uint16_t)(q->nfree - n);
	q->token[head] = token;
	q->cap[head] = cap;
	q->avail->ring[q->avail->idx % q->num] = head;
	barrier(); /* the entry before the index (x86 keeps stores in order) */
	q->avail->idx++;
	return 0;
}

void virtq_kick(struct virtq *q)
{
	__asm__ volatile("mfence" ::: "memory");
	vdev_write(q->dev, R_QUEUE_NOTIFY, q->idx);
}

bool virtq_get(struct virtq *q, void **token, uint32_t *len)
{
	if (q->dev->broken || q->last_used == q->used->idx)
		return false;
	barrier(); /* the index before the entry */
	if ((uint16_t)(q->used->idx - q->last_used) > q->num) {
		vdev_fail(q->dev, "used index ran ahead of the ring");
		return false;
	}
	uint32_t id = q->used->ring[q->last_used % q->num].id;
	uint32_t l = q->used->ring[q->last_used % q->num].len;
	if (id >= q->num || !q->token[id]) {
		vdev_fail(q->dev, "used ring names a descriptor that is not in flight");
		return false;
	}
	if (l > q->cap[id]) {
		/* A chain the device only reads has nothing to report: some
		 * devices put the bytes read there, so it is ignored, as Linux does. */
		if (q->cap[id]) {
			vdev_fail(q->dev, "used length beyond the buffer");
			return false;
		}
		l = 0;
	}
	q->last_used++;
	*token = q->token[id];
	*len = l;
	q->token[id] = NULL;
	/* Back to the free list: walk the chain to its tail. */
	uint16_t i = (uint16_t)id, n = 1;
	while ((q->desc[i].flags & VIRTQ_DESC_F_NEXT) && n < q->num) {
		i = q->desc[i].next;
		n++;
	}
	q->desc[i].next = q->free_head;
	q->free_head = (uint16_t)id;
	q->nfree = (uint16_t)(q->nfree + n);
	return true;
}
