/* The virtio-mmio transport (see virtio.h). */
#include "virtio.h"

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEV_FEATURES 0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES 0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080
#define R_QUEUE_DRIVER 0x090
#define R_QUEUE_DEVICE 0x0a0
#define R_CONFIG 0x100
#define MAGIC 0x74726976u /* "virt" */
#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_FAILED 128
#define F_VERSION_1_HI 1 /* feature bit 32 */
#define MMIO_HOLE 0xc0000000ull

static uint32_t claimed; /* bit per boot_opts.virtio slot */

static uint32_t rd(const struct vdev *d, uint32_t off) { return *(volatile uint32_t *)(d->regs + off); }
static void wr(const struct vdev *d, uint32_t off, uint32_t v) { *(volatile uint32_t *)(d->regs + off) = v; }

bool virtio_find(uint32_t device_id, struct vdev *out)
{
	for (int i = 0; i < boot_opts.nvirtio; i++) {
		const struct virtio_mmio_dev *m = &boot_opts.virtio[i];
		/* Registers must lie in the 32-bit MMIO hole, which the direct map
		 * covers uncached. */
		if ((claimed & (1u << i)) || m->base < MMIO_HOLE || m->base + 0x200 > DIRECT_MAP_SIZE || m->size < 0x200)
			continue;
		struct vdev d = {phys_to_virt(m->base), m->base, m->irq, i};
		if (rd(&d, R_MAGIC) != MAGIC || rd(&d, R_VERSION) != 2 || rd(&d, R_DEVICE_ID) != device_id)
			continue;
		claimed |= 1u << i;
		*out = d;
		return true;
	}
	return false;
}

static bool setup_queue(struct vdev *d, struct vq *q, int qi, uint16_t qmax)
{
	wr(d, R_QUEUE_SEL, (uint32_t)qi);
	uint32_t max = rd(d, R_QUEUE_NUM_MAX);
	if (max == 0)
		return false;
	/* One page each for the descriptors, the driver ring and the device
	 * ring: enough for 256 entries. */
	q->num = (uint16_t)MIN(MIN(max, (uint32_t)qmax), 256u);
	uint64_t pa = pages_alloc(3);
	if (!pa)
		return false;
	q->desc = phys_to_virt(pa);
	q->avail = phys_to_virt(pa + PAGE_SIZE);
	q->used = phys_to_virt(pa + 2 * PAGE_SIZE);
	q->next_avail = q->last_used = 0;
	wr(d, R_QUEUE_NUM, q->num);
	uint64_t addr[3] = {pa, pa + PAGE_SIZE, pa + 2 * PAGE_SIZE};
	uint32_t reg[3] = {R_QUEUE_DESC, R_QUEUE_DRIVER, R_QUEUE_DEVICE};
	for (int i = 0; i < 3; i++) {
		wr(d, reg[i], (uint32_t)addr[i]);
		wr(d, reg[i] + 4, (uint32_t)(addr[i] >> 32));
	}
	wr(d, R_QUEUE_READY, 1);
	return true;
}

bool virtio_setup(struct vdev *d, struct vq *qs, int nq, uint16_t qmax)
{
	wr(d, R_STATUS, 0);
	wr(d, R_STATUS, ST_ACK);
	wr(d, R_STATUS, ST_ACK | ST_DRIVER);
	wr(d, R_DEV_FEATURES_SEL, 1);
	bool ok = rd(d, R_DEV_FEATURES) & F_VERSION_1_HI;
	if (ok) {
		wr(d, R_DRV_FEATURES_SEL, 0);
		wr(d, R_DRV_FEATURES, 0);
		wr(d, R_DRV_FEATURES_SEL, 1);
		wr(d, R_DRV_FEATURES, F_VERSION_1_HI);
		wr(d, R_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
		ok = rd(d, R_STATUS) & ST_FEATURES_OK;
	}
	for (int i = 0; ok && i < nq; i++)
		ok = setup_queue(d, &qs[i], i, qmax);
	wr(d, R_STATUS, ok ? ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK : ST_FAILED);
	return ok;
}

uint32_t virtio_config32(struct vdev *d, uint32_t off) { return rd(d, R_CONFIG + off); }

void vq_post(struct vdev *d, struct vq *q, int qi, uint16_t head)
{
	q->avail[2 + q->next_avail % q->num] = head;
	__asm__ volatile("" ::: "memory");
	q->next_avail++;
	q->avail[1] = q->next_avail;
	__asm__ volatile("mfence" ::: "memory");
	wr(d, R_QUEUE_NOTIFY, (uint32_t)qi);
}

bool vq_has_used(const struct vq *q) { return *(volatile uint16_t *)(q->used + 2) != q->last_used; }

void vq_take(struct vq *q, uint32_t *id, uint32_t *len)
{
	volatile uint8_t *e = q->used + 4 + (q->last_used % q->num) * 8;
	*id = *(volatile uint32_t *)e;
	*len = *(volatile uint32_t *)(e + 4);
	q->last_used++;
}

static const struct vq *waiting;
static bool waiting_done(void) { return vq_has_used(waiting); }

bool vq_wait(struct vq *q, uint64_t deadline)
{
	while (!vq_has_used(q)) {
		uint64_t now = time_ns();
		if (now >= deadline)
			return false;
		waiting = q;
		time_sleep_until(MIN(deadline, now + 200000), waiting_done);
	}
	return true;
}
