/* virtio-nsm (device id 33) and /dev/nsm, as Linux's nsm driver offers it
 * (Linux's nsm driver, NSM_IOCTL_RAW): ioctl(fd, NSM_IOCTL_RAW, struct nsm_raw *) sends
 * one CBOR request of at most 0x1000 bytes and returns the response,
 * truncated to the caller's capacity, with response.len set to what was
 * copied. One queue; a request is a chain of the request (readable) and a
 * 0x3000-byte response buffer (writable). One process, so one request at a
 * time, in buffers allocated once.
 *
 * At start the NSM's GetRandom seeds the kernel's random generator (what
 * Linux's nsm driver does through hwrng), before AT_RANDOM is made. */
#include "errno.h"
#include "virtio.h"

#define NSM_IOCTL_RAW 0xC0200A00ull
#define NSM_REQUEST_MAX 0x1000
#define NSM_RESPONSE_MAX 0x3000
#define NSM_TIMEOUT_NS (30ull * 1000000000ull)

static struct vdev *nsm_dev;
static struct virtq nsm_q;
static uint64_t req_pa, resp_pa;

int nsm_attach(struct vdev *d)
{
	if (nsm_dev)
		return -EBUSY;
	req_pa = page_alloc();
	resp_pa = pages_alloc(NSM_RESPONSE_MAX / PAGE_SIZE);
	if (!req_pa || !resp_pa)
		return -ENOMEM;
	int r = virtq_setup(d, 0, &nsm_q);
	if (r < 0)
		return r;
	nsm_dev = d;
	return 0;
}

static bool nsm_wake(void) { return vdev_event(); }

/* Sends the request already in req_pa; returns the response length. */
static int64_t nsm_call(uint32_t req_len)
{
	if (!nsm_dev || nsm_dev->broken)
		return -EIO;
	static int token;
	struct vbuf b[2] = {{req_pa, req_len, false}, {resp_pa, NSM_RESPONSE_MAX, true}};
	if (virtq_add(&nsm_q, b, 2, &token) < 0)
		return -EIO;
	virtq_kick(&nsm_q);
	uint64_t deadline = time_ns() + NSM_TIMEOUT_NS;
	for (;;) {
		void *t;
		uint32_t len;
		if (virtq_get(&nsm_q, &t, &len))
			return t == &token ? (int64_t)len : -EIO;
		if (nsm_dev->broken)
			return -EIO;
		if (time_ns() >= deadline) {
			/* The chain stays with the device: no further requests. */
			vdev_fail(nsm_dev, "no NSM response within 30 s");
			return -ETIMEDOUT;
		}
		time_sleep_until(deadline, nsm_wake); /* not interrupted: the device owns the buffers */
	}
}

struct nsm_iovec {
	uint64_t addr, len;
};
struct nsm_raw {
	struct nsm_iovec request, response;
};

int64_t nsm_ioctl(uint64_t cmd, uint64_t arg)
{
	/* The command is an unsigned int: libcs sign-extend it. Any other
	 * command is EINVAL, as Linux's nsm driver answers (nsm_dev_ioctl;
	 * measured in the hardware-KVM bed), not the usual ENOTTY. */
	if ((uint32_t)cmd != NSM_IOCTL_RAW)
		return -EINVAL;
	struct nsm_raw raw;
	if (copy_from_user(&raw, arg, sizeof(raw)) < 0)
		return -EFAULT;
	if (raw.request.len > NSM_REQUEST_MAX)
		return -EMSGSIZE;
	if (raw.request.len && copy_from_user(phys_to_virt(req_pa), raw.request.addr, raw.request.len) < 0)
		return -EFAULT;
	int64_t n = nsm_call((uint32_t)raw.request.len);
	if (n < 0)
		return n;
	uint64_t out = MIN((uint64_t)n, raw.response.len);
	if (out && copy_to_user(raw.response.addr, phys_to_virt(resp_pa), out) < 0)
		return -EFAULT;
	raw.response.len = out;
	return copy_to_user(arg, &raw, sizeof(raw)) < 0 ? -EFAULT : 0;
}

/* Reads a CBOR head (major type, argument) at *p; false if truncated or
 * an argument wider than 32 bits (nothing we walk needs more). */
static bool cbor_head(const uint8_t **p, const uint8_t *end, int *major, uint32_t *arg)
{
	if (*p >= end)
		return false;
	uint8_t b = *(*p)++;
	*major = b >> 5;
	uint8_t ai = b & 31;
	if (ai < 24) {
		*arg = ai;
		return true;
	}
	int n = ai == 24 ? 1 : ai == 25 ? 2 : ai == 26 ? 4 : 0;
	if (!n || end - *p < n)
		return false;
	uint32_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | *(*p)++;
	*arg = v;
	return true;
}

/* Expects a one-entry map whose key is the text key. */
static bool cbor_map1(const uint8_t **p, const uint8_t *end, const char *key)
{
	int mt;
	uint32_t a, kl = (uint32_t)strlen(key);
	if (!cbor_head(p, end, &mt, &a) || mt != 5 || a != 1 || !cbor_head(p, end, &mt, &a) || mt != 3 ||
	    a != kl || (uint64_t)(end - *p) < kl || memcmp(*p, key, kl))
		return false;
	*p += kl;
	return true;
}

/* {"GetRandom": {"random": bstr}} -> the bytes mixed into random.c. */
static void nsm_seed_random(void)
{
	static const uint8_t req[] = {0x69, 'G', 'e', 't', 'R', 'a', 'n', 'd', 'o', 'm'};
	memcpy(phys_to_virt(req_pa), req, sizeof(req));
	int64_t n = nsm_call(sizeof(req));
	const uint8_t *p = phys_to_virt(resp_pa), *end = p + (n > 0 ? n : 0);
	int mt;
	uint32_t len;
	if (n > 0 && cbor_map1(&p, end, "GetRandom") && cbor_map1(&p, end, "random") &&
	    cbor_head(&p, end, &mt, &len) && mt == 2 && len >= 16 && len <= (uint64_t)(end - p)) {
		random_mix(p, len);
		kdebug("nsm: %u random bytes seed the generator\n", len);
	} else {
		kprintf("carve: the NSM's GetRandom answer is unusable (%ld bytes); random numbers are not NSM-seeded\n",
			(long)n);
	}
}

void nsm_start(void)
{
	struct vnode *dev = vfs_child(vfs_root(), "dev", 3), *v = dev ? vfs_child(dev, "nsm", 3) : NULL;
	if (dev && !v && vfs_create(dev, "nsm", 3, S_IFCHR | 0666, &v) < 0)
		v = NULL;
	if (v && (v->mode & S_IFMT) == S_IFCHR)
		v->dev = DEV_NSM;
	else
		kprintf("carve: cannot create /dev/nsm\n");
	nsm_seed_random();
}
