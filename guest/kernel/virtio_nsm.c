/* /dev/nsm: a driver for the virtio-nsm device (device id 33) on the
 * virtio-mmio transport, version 2 (virtio 1.2 "Virtio Over MMIO";
 * reference/nitro-enclaves.md §4.4, §4.6). The devices are found in the
 * command line's virtio_mmio.device= words.
 *
 * One queue; each NSM_IOCTL_RAW is one chain: the request (device-readable,
 * at most 0x1000 bytes) then the response buffer (device-writable, 0x3000
 * bytes). The request is copied into kernel pages first, so the program
 * cannot change it while the device reads it. Completion is polled with
 * short halts: the device's interrupt line is not routed (no IOAPIC set-up
 * here), and an NSM command is rare and slow anyway. */
#include "errno.h"
#include "proc.h"

#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_DEV_FEATURES 0x010
#define MMIO_DEV_FEATURES_SEL 0x014
#define MMIO_DRV_FEATURES 0x020
#define MMIO_DRV_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INT_STATUS 0x060
#define MMIO_INT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC 0x080
#define MMIO_QUEUE_DRIVER 0x090
#define MMIO_QUEUE_DEVICE 0x0a0
#define VIRTIO_MAGIC 0x74726976u
#define VIRTIO_ID_NSM 33
#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_FAILED 128
#define F_VERSION_1_HI 1 /* feature bit 32: bit 0 of the high word */
#define DESC_NEXT 1
#define DESC_WRITE 2
#define QSIZE 4
#define REQ_MAX 0x1000
#define RESP_MAX 0x3000
#define TIMEOUT_NS (120ull * 1000000000ull) /* the Linux driver's 120 s */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static volatile uint8_t *regs;
static volatile struct desc *descs;
static volatile uint16_t *avail; /* flags, idx, ring[QSIZE] */
static volatile uint8_t *used;   /* flags, idx, ring[QSIZE] of {id, len} */
static uint64_t req_pa, resp_pa;
static uint16_t next_avail, last_used;
static bool present;

static uint32_t rd(uint32_t off) { return *(volatile uint32_t *)(regs + off); }
static void wr(uint32_t off, uint32_t v) { *(volatile uint32_t *)(regs + off) = v; }
static uint16_t used_idx(void) { return *(volatile uint16_t *)(used + 2); }

bool nsm_present(void) { return present; }

static bool setup(const struct virtio_mmio_dev *d)
{
	wr(MMIO_STATUS, 0);
	wr(MMIO_STATUS, ST_ACK);
	wr(MMIO_STATUS, ST_ACK | ST_DRIVER);
	wr(MMIO_DEV_FEATURES_SEL, 1);
	if (!(rd(MMIO_DEV_FEATURES) & F_VERSION_1_HI))
		return false;
	wr(MMIO_DRV_FEATURES_SEL, 0);
	wr(MMIO_DRV_FEATURES, 0);
	wr(MMIO_DRV_FEATURES_SEL, 1);
	wr(MMIO_DRV_FEATURES, F_VERSION_1_HI);
	wr(MMIO_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(rd(MMIO_STATUS) & ST_FEATURES_OK))
		return false;
	wr(MMIO_QUEUE_SEL, 0);
	uint32_t max = rd(MMIO_QUEUE_NUM_MAX);
	if (max < 2)
		return false;
	/* One page each for the rings, four for the request and the response. */
	uint64_t q = pages_alloc(3), buf = pages_alloc(4);
	if (!q || !buf)
		return false;
	descs = phys_to_virt(q);
	avail = phys_to_virt(q + PAGE_SIZE);
	used = phys_to_virt(q + 2 * PAGE_SIZE);
	req_pa = buf;
	resp_pa = buf + PAGE_SIZE;
	uint32_t n = MIN(max, QSIZE);
	wr(MMIO_QUEUE_NUM, n);
	wr(MMIO_QUEUE_DESC, (uint32_t)q);
	wr(MMIO_QUEUE_DESC + 4, (uint32_t)(q >> 32));
	wr(MMIO_QUEUE_DRIVER, (uint32_t)(q + PAGE_SIZE));
	wr(MMIO_QUEUE_DRIVER + 4, (uint32_t)((q + PAGE_SIZE) >> 32));
	wr(MMIO_QUEUE_DEVICE, (uint32_t)(q + 2 * PAGE_SIZE));
	wr(MMIO_QUEUE_DEVICE + 4, (uint32_t)((q + 2 * PAGE_SIZE) >> 32));
	wr(MMIO_QUEUE_READY, 1);
	wr(MMIO_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	kdebug("virtio-nsm at 0x%lx (irq %u): /dev/nsm ready\n", d->base, d->irq);
	return true;
}

void nsm_probe(void)
{
	for (int i = 0; i < boot_opts.nvirtio && !present; i++) {
		const struct virtio_mmio_dev *d = &boot_opts.virtio[i];
		/* The transport's registers must lie in the mapped 32-bit MMIO hole. */
		if (d->base < 0xc0000000ull || d->base + 0x200 > DIRECT_MAP_SIZE)
			continue;
		regs = phys_to_virt(d->base);
		if (rd(MMIO_MAGIC) != VIRTIO_MAGIC || rd(MMIO_VERSION) != 2 || rd(MMIO_DEVICE_ID) != VIRTIO_ID_NSM)
			continue;
		present = setup(d);
		if (!present) {
			wr(MMIO_STATUS, ST_FAILED);
			kprintf("carve: the virtio-nsm device at 0x%lx cannot be set up; no /dev/nsm\n", d->base);
		}
	}
}

static bool completed(void) { return used_idx() != last_used; }

struct nsm_raw {
	uint64_t req_addr, req_len, resp_addr, resp_len;
};

#define NSM_IOCTL_RAW 0xc0200a00ul

int64_t nsm_ioctl(uint64_t cmd, uint64_t uarg)
{
	if (cmd != NSM_IOCTL_RAW)
		return -ENOTTY;
	if (!present)
		return -ENODEV;
	struct nsm_raw raw;
	if (copy_from_user(&raw, uarg, sizeof(raw)) < 0)
		return -EFAULT;
	if (raw.req_len > REQ_MAX)
		return -90; /* EMSGSIZE */
	if (copy_from_user(phys_to_virt(req_pa), raw.req_addr, raw.req_len) < 0 ||
	    user_ok(raw.resp_addr, MIN(raw.resp_len, (uint64_t)RESP_MAX), true) < 0)
		return -EFAULT;
	uint16_t head = (uint16_t)((next_avail * 2) % MIN(rd(MMIO_QUEUE_NUM_MAX), QSIZE));
	uint16_t second = (uint16_t)(head + 1);
	descs[head] = (struct desc){req_pa, (uint32_t)raw.req_len, DESC_NEXT, second};
	descs[second] = (struct desc){resp_pa, RESP_MAX, DESC_WRITE, 0};
	uint16_t qn = (uint16_t)MIN(rd(MMIO_QUEUE_NUM_MAX), QSIZE);
	avail[2 + next_avail % qn] = head;
	__asm__ volatile("" ::: "memory");
	next_avail++;
	avail[1] = next_avail;
	__asm__ volatile("mfence" ::: "memory");
	wr(MMIO_QUEUE_NOTIFY, 0);
	uint64_t deadline = time_ns() + TIMEOUT_NS;
	while (!completed()) {
		uint64_t now = time_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		time_sleep_until(MIN(deadline, now + 200000), completed);
	}
	volatile uint8_t *elem = used + 4 + (last_used % qn) * 8;
	uint32_t len = *(volatile uint32_t *)(elem + 4);
	last_used++;
	wr(MMIO_INT_ACK, rd(MMIO_INT_STATUS));
	if (len > RESP_MAX)
		return -EIO;
	uint64_t n = MIN((uint64_t)len, raw.resp_len);
	if (copy_to_user(raw.resp_addr, phys_to_virt(resp_pa), n) < 0)
		return -EFAULT;
	raw.resp_len = n;
	return copy_to_user(uarg + 24, &raw.resp_len, 8) < 0 ? -EFAULT : 0;
}
