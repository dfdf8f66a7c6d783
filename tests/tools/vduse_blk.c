/* A VDUSE device daemon for tests: a virtio-blk RAM disk served from user
 * space through /dev/vduse (Linux Documentation/userspace-api/vduse.rst),
 * so that the bed has a real vDPA device to put behind /dev/vhost-vdpa-N
 * and drive with carve's vhost-vdpa control plane (tests/hwkvm/l1/vdpa.sh).
 *
 *   vduse_blk NAME MIB        create the device, serve it until SIGTERM,
 *                             then destroy it; prints "ready" once it
 *                             serves and a summary line at the end
 *                             (SIGUSR1: from then on, flip a bit in
 *                             the data of every read: a broken data path,
 *                             for the test to show it would notice)
 *   vduse_blk --probe-type ID NAME
 *                             only ask VDUSE to create a device of virtio
 *                             type ID and say whether it was refused
 *
 * The driver on the other side (whoever holds /dev/vhost-vdpa-N) is not
 * trusted: every ring index, descriptor, address and length it gives is
 * checked before use, and a request that fails a check gets
 * VIRTIO_BLK_S_IOERR (or, when not even its status byte can be found, a
 * used entry of length 0). Messages from the kernel are checked too
 * (size, type, queue index, range). One queue, split ring, no indirect
 * descriptors, no event index: what this device offers. */
#include <errno.h>
#include <fcntl.h>
#include <linux/vduse.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define CONTROL "/dev/vduse/control"
#define QUEUE_MAX 256
#define MAX_MAPS 16
#define MAX_MAP_BYTES (1ull << 32) /* a larger IOTLB entry is not a test's */
#define SECTOR 512u
#define BLK_ID "carve-vduse-blk"

struct map {
	uint64_t start, last;
	uint8_t *p;
	uint8_t perm;
};

struct seg {
	uint8_t *p;
	uint32_t len;
	bool writes; /* the device writes it */
};

struct blk {
	int dev;  /* /dev/vduse/NAME */
	int kick; /* eventfd the kernel signals on the driver's kick */
	uint8_t status;
	uint8_t *disk;
	uint64_t sectors;
	struct map maps[MAX_MAPS];
	int nmaps;
	/* The queue, as VDUSE_VQ_GET_INFO gave it at DRIVER_OK. */
	bool running;
	bool flip_reads; /* SIGUSR1: corrupt what reads return */
	uint32_t num;
	uint64_t desc_iova, avail_iova, used_iova;
	uint16_t last_avail, used_idx;
	/* What was done, for the summary line. */
	unsigned long reads, writes, flushes, ids, bad, iotlb_updates, statuses, broken;
	unsigned long long bytes;
};

static void die(const char *what)
{
	fprintf(stderr, "vduse_blk: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ---- IOVA -> this process: IOTLB entries mapped through VDUSE_IOTLB_GET_FD */

static void unmap_range(struct blk *b, uint64_t start, uint64_t last)
{
	for (int i = 0; i < b->nmaps;) {
		struct map *m = &b->maps[i];
		if (m->start <= last && start <= m->last) {
			munmap(m->p, m->last - m->start + 1);
			*m = b->maps[--b->nmaps];
		} else {
			i++;
		}
	}
}

/* The bytes [iova, iova+len) as a pointer, when one IOTLB entry covers
 * them with the access wanted; NULL otherwise. */
static uint8_t *iova_ptr(struct blk *b, uint64_t iova, uint64_t len, bool write)
{
	if (!len || iova + len - 1 < iova)
		return NULL;
	uint64_t last = iova + len - 1;
	uint8_t need = write ? VDUSE_ACCESS_WO : VDUSE_ACCESS_RO;
	for (int i = 0; i < b->nmaps; i++) {
		struct map *m = &b->maps[i];
		if (m->start <= iova && last <= m->last)
			return (m->perm & need) == need ? m->p + (iova - m->start) : NULL;
	}
	struct vduse_iotlb_entry e = {.start = iova, .last = last};
	int fd = ioctl(b->dev, VDUSE_IOTLB_GET_FD, &e);
	if (fd < 0)
		return NULL;
	/* The kernel answers with the entry that overlaps the range: it must
	 * cover all of it, and be something this process can map. */
	if (e.start > iova || e.last < last || e.last - e.start >= MAX_MAP_BYTES ||
	    (e.perm & ~VDUSE_ACCESS_RW) || !e.perm) {
		close(fd);
		return NULL;
	}
	int prot = (e.perm & VDUSE_ACCESS_RO ? PROT_READ : 0) | (e.perm & VDUSE_ACCESS_WO ? PROT_WRITE : 0);
	void *p = mmap(NULL, e.last - e.start + 1, prot, MAP_SHARED, fd, (off_t)e.offset);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	if (b->nmaps == MAX_MAPS)
		unmap_range(b, b->maps[0].start, b->maps[0].start);
	b->maps[b->nmaps++] = (struct map){.start = e.start, .last = e.last, .p = p, .perm = e.perm};
	return (e.perm & need) == need ? (uint8_t *)p + (iova - e.start) : NULL;
}

/* ---- virtio-blk requests */

/* A request's data, as segments after the 16-byte header and before the
 * status byte, all going the same way. The total, or -1. */
static int64_t data_of(const struct seg *s, int n, bool writes)
{
	uint64_t total = 0;
	for (int i = 0; i < n; i++) {
		if (s[i].writes != writes)
			return -1;
		total += s[i].len;
	}
	return (int64_t)total;
}

/* One request: the chain's segments in order. Returns the used length. */
static uint32_t serve(struct blk *b, struct seg *s, int n)
{
	/* The header is the first descriptor, device-readable, at least 16
	 * bytes; the status is the last byte of the last descriptor, which
	 * the device writes. Anything else is not a request we can answer. */
	if (n < 2 || s[0].writes || s[0].len < sizeof(struct virtio_blk_outhdr) || !s[n - 1].writes) {
		b->bad++;
		return 0;
	}
	struct virtio_blk_outhdr h;
	memcpy(&h, s[0].p, sizeof(h));
	uint8_t *status = s[n - 1].p + s[n - 1].len - 1;
	s[n - 1].len--; /* what precedes the status byte is data */
	struct seg *d = &s[1];
	int nd = n - 1;
	if (!s[n - 1].len)
		nd--;
	uint8_t st = VIRTIO_BLK_S_OK;
	uint32_t written = 0;
	int64_t total;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool in = h.type == VIRTIO_BLK_T_IN;
		total = data_of(d, nd, in);
		if (total <= 0 || total % SECTOR || h.sector > b->sectors ||
		    (uint64_t)total / SECTOR > b->sectors - h.sector) {
			st = VIRTIO_BLK_S_IOERR;
			b->bad++;
			break;
		}
		uint8_t *at = b->disk + h.sector * SECTOR;
		for (int i = 0; i < nd; i++) {
			if (in)
				memcpy(d[i].p, at, d[i].len);
			else
				memcpy(at, d[i].p, d[i].len);
			at += d[i].len;
		}
		if (in && b->flip_reads)
			d[0].p[0] ^= 0x01;
		if (in) {
			written = (uint32_t)total;
			b->reads++;
		} else {
			b->writes++;
		}
		b->bytes += (uint64_t)total;
		break;
	}
	case VIRTIO_BLK_T_FLUSH: b->flushes++; break;
	case VIRTIO_BLK_T_GET_ID: {
		total = data_of(d, nd, true);
		if (total <= 0) {
			st = VIRTIO_BLK_S_IOERR;
			b->bad++;
			break;
		}
		/* VIRTIO_BLK_ID_BYTES (20) at most, zero-padded, into the
		 * first data segment only: a test's driver gives one. */
		uint32_t n_id = d[0].len < 20 ? d[0].len : 20;
		memset(d[0].p, 0, n_id);
		memcpy(d[0].p, BLK_ID, n_id < sizeof(BLK_ID) - 1 ? n_id : sizeof(BLK_ID) - 1);
		written = n_id;
		b->ids++;
		break;
	}
	default: st = VIRTIO_BLK_S_UNSUPP; b->bad++;
	}
	*status = st;
	return written + 1;
}

/* Every request the driver made available since the last call. */
static void process(struct blk *b)
{
	if (!b->running)
		return;
	uint32_t num = b->num;
	struct vring_desc *desc = (void *)iova_ptr(b, b->desc_iova, 16ull * num, false);
	struct vring_avail *avail = (void *)iova_ptr(b, b->avail_iova, 4 + 2ull * num, false);
	struct vring_used *used = (void *)iova_ptr(b, b->used_iova, 4 + 8ull * num, true);
	if (!desc || !avail || !used) {
		fprintf(stderr, "vduse_blk: the ring is not in mapped memory\n");
		b->broken++;
		b->running = false;
		return;
	}
	bool pushed = false;
	for (;;) {
		uint16_t avail_idx = __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE);
		if (avail_idx == b->last_avail)
			break;
		if ((uint16_t)(avail_idx - b->last_avail) > num) {
			fprintf(stderr, "vduse_blk: avail index %u is %u ahead of ours\n", avail_idx,
				(uint16_t)(avail_idx - b->last_avail));
			b->broken++;
			b->running = false;
			return;
		}
		uint16_t head = avail->ring[b->last_avail % num];
		b->last_avail++;
		struct seg s[QUEUE_MAX];
		int n = 0;
		bool ok = head < num;
		/* Walk the chain: at most num descriptors (a loop is a
		 * driver bug, not a reason to spin), each in mapped memory. */
		for (uint16_t i = head; ok;) {
			struct vring_desc dsc = desc[i]; /* one read: the driver may change it */
			bool writes = dsc.flags & VRING_DESC_F_WRITE;
			if (n == (int)num || (dsc.flags & VRING_DESC_F_INDIRECT) || !dsc.len) {
				ok = false;
				break;
			}
			s[n].p = iova_ptr(b, dsc.addr, dsc.len, writes);
			s[n].len = dsc.len;
			s[n].writes = writes;
			if (!s[n].p) {
				ok = false;
				break;
			}
			n++;
			if (!(dsc.flags & VRING_DESC_F_NEXT))
				break;
			i = dsc.next;
			if (i >= num)
				ok = false;
		}
		uint32_t len = ok ? serve(b, s, n) : 0;
		if (!ok)
			b->bad++;
		struct vring_used_elem *e = &used->ring[b->used_idx % num];
		e->id = head;
		e->len = len;
		b->used_idx++;
		__atomic_store_n(&used->idx, b->used_idx, __ATOMIC_RELEASE);
		pushed = true;
	}
	if (pushed) {
		uint32_t q = 0;
		if (ioctl(b->dev, VDUSE_VQ_INJECT_IRQ, &q) < 0)
			fprintf(stderr, "vduse_blk: VDUSE_VQ_INJECT_IRQ: %s\n", strerror(errno));
	}
}

/* ---- messages from the kernel */

static bool start_queue(struct blk *b)
{
	struct vduse_vq_info info = {.index = 0};
	if (ioctl(b->dev, VDUSE_VQ_GET_INFO, &info) < 0) {
		fprintf(stderr, "vduse_blk: VDUSE_VQ_GET_INFO: %s\n", strerror(errno));
		return false;
	}
	if (!info.ready || !info.num || info.num > QUEUE_MAX || (info.num & (info.num - 1))) {
		fprintf(stderr, "vduse_blk: queue 0 not usable at DRIVER_OK (ready %u, %u entries)\n",
			info.ready, info.num);
		return false;
	}
	struct vduse_vq_eventfd k = {.index = 0, .fd = b->kick};
	if (ioctl(b->dev, VDUSE_VQ_SETUP_KICKFD, &k) < 0) {
		fprintf(stderr, "vduse_blk: VDUSE_VQ_SETUP_KICKFD: %s\n", strerror(errno));
		return false;
	}
	b->num = info.num;
	b->desc_iova = info.desc_addr;
	b->avail_iova = info.driver_addr;
	b->used_iova = info.device_addr;
	b->last_avail = info.split.avail_index;
	b->used_idx = info.split.avail_index; /* nothing in flight at the start */
	b->running = true;
	fprintf(stderr, "vduse_blk: DRIVER_OK: %u entries, desc 0x%llx avail 0x%llx used 0x%llx\n", b->num,
		(unsigned long long)b->desc_iova, (unsigned long long)b->avail_iova,
		(unsigned long long)b->used_iova);
	return true;
}

static void handle_request(struct blk *b)
{
	struct vduse_dev_request req;
	ssize_t n = read(b->dev, &req, sizeof(req));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != (ssize_t)sizeof(req)) {
		fprintf(stderr, "vduse_blk: a request of %zd bytes (want %zu)\n", n, sizeof(req));
		b->broken++;
		return;
	}
	struct vduse_dev_response resp;
	memset(&resp, 0, sizeof(resp));
	resp.request_id = req.request_id;
	resp.result = VDUSE_REQ_RESULT_OK;
	switch (req.type) {
	case VDUSE_GET_VQ_STATE:
		if (req.vq_state.index != 0)
			resp.result = VDUSE_REQ_RESULT_FAILED;
		resp.vq_state.index = req.vq_state.index;
		resp.vq_state.split.avail_index = b->last_avail;
		break;
	case VDUSE_SET_STATUS: {
		uint8_t st = req.s.status;
		b->statuses++;
		fprintf(stderr, "vduse_blk: status 0x%02x\n", st);
		if (st == 0) { /* reset: the kernel dropped the kick fd itself */
			b->running = false;
			b->last_avail = b->used_idx = 0;
		} else if ((st & VIRTIO_CONFIG_S_FEATURES_OK) && !(b->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			uint64_t f = 0;
			/* The driver must take VERSION_1 and ACCESS_PLATFORM:
			 * addresses are IOVAs and the layout is modern. */
			const uint64_t need = (1ull << VIRTIO_F_VERSION_1) |
				(1ull << VIRTIO_F_ACCESS_PLATFORM);
			if (ioctl(b->dev, VDUSE_DEV_GET_FEATURES, &f) < 0 || (f & need) != need) {
				fprintf(stderr, "vduse_blk: refusing features 0x%llx\n",
					(unsigned long long)f);
				resp.result = VDUSE_REQ_RESULT_FAILED;
			}
		}
		if (resp.result == VDUSE_REQ_RESULT_OK && (st & VIRTIO_CONFIG_S_DRIVER_OK) &&
		    !(b->status & VIRTIO_CONFIG_S_DRIVER_OK) && !start_queue(b))
			resp.result = VDUSE_REQ_RESULT_FAILED;
		if (resp.result == VDUSE_REQ_RESULT_OK)
			b->status = st;
		break;
	}
	case VDUSE_UPDATE_IOTLB:
		b->iotlb_updates++;
		if (req.iova.start > req.iova.last)
			resp.result = VDUSE_REQ_RESULT_FAILED;
		else
			unmap_range(b, req.iova.start, req.iova.last);
		break;
	default: resp.result = VDUSE_REQ_RESULT_FAILED;
	}
	if (write(b->dev, &resp, sizeof(resp)) != (ssize_t)sizeof(resp))
		fprintf(stderr, "vduse_blk: answering request %u: %s\n", req.request_id, strerror(errno));
	/* A driver may have kicked before DRIVER_OK reached us. */
	if (req.type == VDUSE_SET_STATUS && b->running)
		process(b);
}

/* ---- the device's life */

static int create(int ctl, const char *name, uint32_t device_id, uint64_t sectors)
{
	size_t cfg_size = sizeof(struct virtio_blk_config);
	struct vduse_dev_config *c = calloc(1, sizeof(*c) + cfg_size);
	if (!c)
		return -1;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->device_id = device_id;
	c->features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_ACCESS_PLATFORM) |
		(1ull << VIRTIO_BLK_F_FLUSH);
	c->vq_num = 1;
	c->vq_align = 4096;
	c->config_size = (uint32_t)cfg_size;
	struct virtio_blk_config bc = {.capacity = sectors};
	memcpy(c->config, &bc, cfg_size);
	int r = ioctl(ctl, VDUSE_CREATE_DEV, c);
	int e = errno;
	free(c);
	errno = e;
	return r;
}

static int open_control(void)
{
	int ctl = open(CONTROL, O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		if (errno == ENOENT)
			fprintf(stderr,
				"vduse_blk: no %s: the vduse module is not loaded (as root: modprobe vduse)\n",
				CONTROL);
		else
			fprintf(stderr, "vduse_blk: %s: %s\n", CONTROL, strerror(errno));
		exit(2);
	}
	uint64_t version = 0; /* the only version Linux 6.12 has */
	if (ioctl(ctl, VDUSE_SET_API_VERSION, &version) < 0)
		die("VDUSE_SET_API_VERSION");
	return ctl;
}

static int probe_type(uint32_t id, const char *name)
{
	int ctl = open_control();
	if (create(ctl, name, id, 8) == 0) {
		printf("created: VDUSE took a device of virtio type %u\n", id);
		char n[VDUSE_NAME_MAX] = {0};
		snprintf(n, sizeof(n), "%s", name);
		ioctl(ctl, VDUSE_DESTROY_DEV, n);
		close(ctl);
		return 0;
	}
	printf("refused: VDUSE_CREATE_DEV for virtio type %u: %s\n", id, strerror(errno));
	close(ctl);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--probe-type"))
		return probe_type((uint32_t)strtoul(argv[2], NULL, 0), argv[3]);
	if (argc != 3) {
		fprintf(stderr, "usage: vduse_blk NAME MIB | vduse_blk --probe-type ID NAME\n");
		return 2;
	}
	const char *name = argv[1];
	unsigned long mib = strtoul(argv[2], NULL, 10);
	if (!mib || mib > 1024 || strlen(name) >= VDUSE_NAME_MAX - 1 || strchr(name, '/')) {
		fprintf(stderr, "vduse_blk: a name without '/' and 1-1024 MiB\n");
		return 2;
	}
	struct blk b = {.sectors = (uint64_t)mib * 1024 * 1024 / SECTOR};
	b.disk = calloc(mib, 1024 * 1024);
	if (!b.disk)
		die("the RAM disk");

	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	b.kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sfd < 0 || b.kick < 0)
		die("signalfd/eventfd");

	int ctl = open_control();
	char dname[VDUSE_NAME_MAX] = {0};
	snprintf(dname, sizeof(dname), "%s", name);
	ioctl(ctl, VDUSE_DESTROY_DEV, dname); /* one left by an earlier run */
	if (create(ctl, name, VIRTIO_ID_BLOCK, b.sectors) < 0)
		die("VDUSE_CREATE_DEV (virtio-blk)");
	char path[VDUSE_NAME_MAX + 16];
	snprintf(path, sizeof(path), "/dev/vduse/%s", name);
	/* devtmpfs makes the node as the device registers: wait a little. */
	for (int i = 0; i < 100 && (b.dev = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK)) < 0; i++)
		usleep(20000);
	if (b.dev < 0)
		die(path);
	struct vduse_vq_config q = {.index = 0, .max_size = QUEUE_MAX};
	if (ioctl(b.dev, VDUSE_VQ_SETUP, &q) < 0)
		die("VDUSE_VQ_SETUP");
	printf("ready %s %lu MiB %llu sectors\n", path, mib, (unsigned long long)b.sectors);
	fflush(stdout);

	for (;;) {
		struct pollfd p[3] = {{b.dev, POLLIN, 0}, {b.kick, POLLIN, 0}, {sfd, POLLIN, 0}};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR1) {
				b.flip_reads = true;
				fprintf(stderr,
					"vduse_blk: from now on every read comes back with a bit flipped\n");
				continue;
			}
			break;
		}
		if (p[0].revents & POLLERR) {
			fprintf(stderr, "vduse_blk: the kernel marked the device broken\n");
			b.broken++;
			break;
		}
		if (p[0].revents & POLLIN)
			handle_request(&b);
		if (p[1].revents & POLLIN) {
			uint64_t v;
			if (read(b.kick, &v, sizeof(v)) == sizeof(v))
				process(&b);
		}
	}
	int live = b.nmaps;
	unmap_range(&b, 0, UINT64_MAX);
	close(b.dev);
	/* Destroying fails while the device is still on the vdpa bus (the
	 * test removes it first); retry briefly for the close to settle. */
	int destroyed = -1;
	for (int i = 0; i < 50 && (destroyed = ioctl(ctl, VDUSE_DESTROY_DEV, dname)) < 0; i++)
		usleep(20000);
	fprintf(stderr,
		"vduse_blk: served reads=%lu writes=%lu flushes=%lu ids=%lu bad=%lu bytes=%llu iotlb_updates=%lu "
		"statuses=%lu broken=%lu maps_live_at_exit=%d destroyed=%s\n",
		b.reads, b.writes, b.flushes, b.ids, b.bad, b.bytes, b.iotlb_updates, b.statuses, b.broken,
		live, destroyed == 0 ? "yes" : strerror(errno));
	close(ctl);
	free(b.disk);
	return b.broken || destroyed != 0 ? 1 : 0;
}
