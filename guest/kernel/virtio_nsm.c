/* /dev/nsm: a driver for the virtio-nsm device (device id 33; reference/
 * nitro-enclaves.md §4.4, §4.6) over the virtio-mmio transport (virtio.h).
 *
 * One queue; each NSM_IOCTL_RAW is one chain: the request (device-readable,
 * at most 0x1000 bytes) then the response buffer (device-writable, 0x3000
 * bytes). The request is copied into kernel pages first, so the program
 * cannot change it while the device reads it; the response is copied out
 * within the caller's capacity and its length written back, as the Linux
 * driver does. */
#include "errno.h"
#include "proc.h"
#include "virtio.h"

#define VIRTIO_ID_NSM 33
#define REQ_MAX 0x1000
#define RESP_MAX 0x3000
#define NSM_IOCTL_RAW 0xc0200a00u
#define TIMEOUT_NS (120ull * 1000000000ull) /* the Linux driver's 120 s */
#define EMSGSIZE 90

static struct vdev dev;
static struct vq q;
static uint64_t req_pa, resp_pa;
static bool present;

bool nsm_present(void) { return present; }

void nsm_probe(void)
{
	if (!virtio_find(VIRTIO_ID_NSM, &dev))
		return;
	uint64_t buf = pages_alloc(4); /* one page of request, three of response */
	if (!buf || !virtio_setup(&dev, &q, 1, 2)) {
		kprintf("carve: the virtio-nsm device at 0x%lx cannot be set up; no /dev/nsm\n", dev.base);
		return;
	}
	req_pa = buf;
	resp_pa = buf + PAGE_SIZE;
	present = true;
	kdebug("virtio-nsm at 0x%lx: /dev/nsm\n", dev.base);
}

struct nsm_raw {
	uint64_t req_addr, req_len, resp_addr, resp_len;
};

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
		return -EMSGSIZE;
	if (copy_from_user(phys_to_virt(req_pa), raw.req_addr, raw.req_len) < 0 ||
	    user_ok(raw.resp_addr, MIN(raw.resp_len, (uint64_t)RESP_MAX), true) < 0)
		return -EFAULT;
	q.desc[0] = (struct vdesc){req_pa, (uint32_t)raw.req_len, VDESC_NEXT, 1};
	q.desc[1] = (struct vdesc){resp_pa, RESP_MAX, VDESC_WRITE, 0};
	vq_post(&dev, &q, 0, 0);
	if (!vq_wait(&q, time_ns() + TIMEOUT_NS))
		return -ETIMEDOUT;
	uint32_t id, len;
	vq_take(&q, &id, &len);
	if (id != 0 || len > RESP_MAX)
		return -EIO;
	uint64_t n = MIN((uint64_t)len, raw.resp_len);
	if (copy_to_user(raw.resp_addr, phys_to_virt(resp_pa), n) < 0)
		return -EFAULT;
	return copy_to_user(uarg + offsetof(struct nsm_raw, resp_len), &n, 8) < 0 ? -EFAULT : 0;
}
