/* carve's vhost-vdpa control plane (src/vhost/) against a real vhost-vdpa
 * device: a virtio-blk device (in the bed, tests/tools/vduse_blk.c behind
 * /dev/vhost-vdpa-N). Everything toward the kernel goes through
 * include/carve/vhost.h and the ring through include/carve/vring_driver.h;
 * what is here is only a virtio-blk driver's requests and the checks.
 *
 *   vdpa_blk_check [--want vsock|block] /dev/vhost-vdpa-N
 *
 * Opens the device (its id must be block, or what --want names: the way to
 * see the wrong-type error), negotiates VERSION_1 and ACCESS_PLATFORM, maps
 * one memfd region through the IOTLB at an IOVA that is not its address,
 * sets up one ring, then: reads the device id string; writes patterns at
 * the first, a middle and the last sectors with several requests in
 * flight; reads them back and compares; asks for a sector past the end
 * (must fail); times sequential 64 KiB writes and reads of the whole disk
 * and 4 KiB reads; resets the device and tears everything down, checking
 * that no fd and no mapping of the region is left in this process.
 * Prints one line per check ("ok ..." or "FAIL ...") and numbers; exit 0
 * when all passed, 1 when a check failed, 2 when the control plane
 * refused a step (the carve error is printed). */
#include <dirent.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "carve/vhost.h"
#include "carve/vring_driver.h"

#define REGION_SIZE (4u << 20)
#define REGION_IOVA 0x40000000ull /* a "guest physical" address, as a VMM would use */
#define RING_NUM 64u
#define SECTOR 512u
#define SLOTS 8u               /* requests in flight at most */
#define SLOT_DATA (64u * 1024) /* the largest request's data */
#define USED_TIMEOUT_MS 5000

struct check {
	struct vhost_vdpa v;
	int memfd, kick, call;
	uint8_t *mem;
	struct vring_driver ring;
	uint64_t sectors;
	int failures;
};

/* Where the pieces are in the region (offsets; the IOVA is REGION_IOVA +
 * offset). The ring first, then per slot a header, a status byte and
 * data. */
static uint64_t hdr_off(unsigned slot) { return vring_driver_size(RING_NUM) + 16ull * slot; }
static uint64_t status_off(unsigned slot) { return hdr_off(SLOTS) + slot; }
static uint64_t data_off(unsigned slot)
{
	return ((status_off(SLOTS) + 4095) & ~4095ull) + (uint64_t)SLOT_DATA * slot;
}

static void result(struct check *c, bool ok, const char *what)
{
	printf("%s %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		c->failures++;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static bool region_still_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "memfd:carve-vdpa-check"))
			found = true;
	fclose(f);
	return found;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Queues one request in slot: type, sector, len bytes of data (none for
 * FLUSH). */
static int submit(struct check *c, unsigned slot, uint32_t type, uint64_t sector, uint32_t len)
{
	struct virtio_blk_outhdr h = {.type = type, .ioprio = 0, .sector = sector};
	memcpy(c->mem + hdr_off(slot), &h, sizeof(h));
	c->mem[status_off(slot)] = 0xff; /* the device must overwrite it */
	struct vring_driver_buf b[3];
	unsigned n = 0;
	b[n++] = (struct vring_driver_buf){REGION_IOVA + hdr_off(slot), sizeof(h), false};
	if (len)
		b[n++] = (struct vring_driver_buf){REGION_IOVA + data_off(slot), len,
						   type != VIRTIO_BLK_T_OUT};
	b[n++] = (struct vring_driver_buf){REGION_IOVA + status_off(slot), 1, true};
	if (vring_driver_add_chain(&c->ring, b, n, slot) < 0)
		return -1;
	uint64_t one = 1;
	return write(c->kick, &one, sizeof(one)) == sizeof(one) ? 0 : -1;
}

/* Waits for the next used request: its slot and used length; -1 on a
 * timeout or a device that returned something it never had. */
static int complete(struct check *c, unsigned *slot, uint32_t *len)
{
	for (;;) {
		uint64_t token;
		int r = vring_driver_used(&c->ring, &token, len);
		if (r < 0) {
			fprintf(stderr, "vdpa_blk_check: the device returned a buffer it never had\n");
			return -1;
		}
		if (r == 1) {
			*slot = (unsigned)token;
			return 0;
		}
		struct pollfd p = {c->call, POLLIN, 0};
		if (poll(&p, 1, USED_TIMEOUT_MS) <= 0) {
			fprintf(stderr,
				"vdpa_blk_check: no used buffer within %d ms (the device did not answer)\n",
				USED_TIMEOUT_MS);
			return -1;
		}
		uint64_t v;
		if (read(c->call, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -1;
	}
}

/* One request, waited for; the status byte (or -1). */
static int request(struct check *c, uint32_t type, uint64_t sector, uint32_t len, uint32_t *used_len)
{
	unsigned slot;
	if (submit(c, 0, type, sector, len) < 0 || complete(c, &slot, used_len) < 0 || slot != 0)
		return -1;
	return c->mem[status_off(0)];
}

static void pattern(uint8_t *p, uint32_t len, uint64_t sector, unsigned seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)((sector * 131 + i * 7 + seed * 29) ^ (i >> 9));
}

/* Writes patterns at several places with all of them in flight, then reads
 * each back into a cleared buffer and compares. */
static void write_read_back(struct check *c)
{
	const uint64_t at[4] = {0, c->sectors / 2 + 3, c->sectors - 8, 77};
	const uint32_t len[4] = {8 * SECTOR, 64 * SECTOR, 8 * SECTOR, SECTOR};
	bool ok = true;
	for (unsigned i = 0; i < 4; i++) {
		pattern(c->mem + data_off(i), len[i], at[i], i);
		ok = ok && submit(c, i, VIRTIO_BLK_T_OUT, at[i], len[i]) == 0;
	}
	for (unsigned k = 0; k < 4 && ok; k++) {
		unsigned slot;
		uint32_t used;
		ok = complete(c, &slot, &used) == 0 && slot < 4 &&
			c->mem[status_off(slot)] == VIRTIO_BLK_S_OK && used == 1;
	}
	result(c, ok,
	       "4 writes in flight at once (first, middle, last and an odd sector): all OK, used length 1");
	ok = true;
	for (unsigned i = 0; i < 4; i++) {
		memset(c->mem + data_off(i), 0, len[i]);
		ok = ok && submit(c, i, VIRTIO_BLK_T_IN, at[i], len[i]) == 0;
	}
	bool same = true;
	for (unsigned k = 0; k < 4 && ok; k++) {
		unsigned slot;
		uint32_t used;
		ok = complete(c, &slot, &used) == 0 && slot < 4 &&
			c->mem[status_off(slot)] == VIRTIO_BLK_S_OK && used == len[slot] + 1;
		if (ok) {
			uint8_t *want = malloc(len[slot]);
			pattern(want, len[slot], at[slot], slot);
			same = same && memcmp(want, c->mem + data_off(slot), len[slot]) == 0;
			free(want);
		}
	}
	result(c, ok, "4 reads in flight: all OK, used length = data + status");
	result(c, ok && same, "the data read back is the data written");
}

/* Sequential whole-disk writes and reads in 64 KiB requests (SLOTS in
 * flight), then 4 KiB reads; prints MB/s and requests per second. */
static void measure(struct check *c)
{
	uint64_t total = c->sectors * SECTOR;
	for (int dir = 0; dir < 2; dir++) {
		uint32_t type = dir == 0 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
		double t0 = now();
		uint64_t next = 0, done = 0;
		unsigned inflight = 0;
		bool ok = true;
		for (unsigned s = 0; s < SLOTS && next < total; s++, next += SLOT_DATA, inflight++) {
			if (dir == 0)
				pattern(c->mem + data_off(s), SLOT_DATA, next / SECTOR, 9);
			ok = ok && submit(c, s, type, next / SECTOR, SLOT_DATA) == 0;
		}
		while (ok && inflight) {
			unsigned slot;
			uint32_t used;
			ok = complete(c, &slot, &used) == 0 && slot < SLOTS && c->mem[status_off(slot)] == 0;
			inflight--;
			done += SLOT_DATA;
			if (ok && next < total) {
				if (dir == 0)
					pattern(c->mem + data_off(slot), SLOT_DATA, next / SECTOR, 9);
				ok = submit(c, slot, type, next / SECTOR, SLOT_DATA) == 0;
				next += SLOT_DATA;
				inflight++;
			}
		}
		double dt = now() - t0;
		printf("measure: %s the whole disk (%llu KiB) in 64 KiB requests, %u in flight: %.3f s, %.1f MB/s\n",
		       dir == 0 ? "wrote" : "read", (unsigned long long)(total / 1024), SLOTS, dt,
		       (double)done / dt / 1e6);
		result(c, ok && done == total,
		       dir == 0 ? "sequential writes of the whole disk"
				: "sequential reads of the whole disk");
	}
	/* The last pass wrote pattern(…, 9) at every 64 KiB: a spot check. */
	uint32_t used;
	memset(c->mem + data_off(0), 0, SLOT_DATA);
	int st = request(c, VIRTIO_BLK_T_IN, (total - SLOT_DATA) / SECTOR, SLOT_DATA, &used);
	uint8_t *want = malloc(SLOT_DATA);
	pattern(want, SLOT_DATA, (total - SLOT_DATA) / SECTOR, 9);
	result(c, st == 0 && !memcmp(want, c->mem + data_off(0), SLOT_DATA),
	       "the last 64 KiB of the sequential pass reads back as written");
	free(want);

	unsigned n = 2000;
	double t0 = now();
	bool ok = true;
	for (unsigned i = 0; i < n && ok; i++)
		ok = request(c, VIRTIO_BLK_T_IN, (uint64_t)(i * 8) % (c->sectors - 8), 4096, &used) == 0;
	double dt = now() - t0;
	printf("measure: %u 4 KiB reads one at a time: %.3f s, %.0f requests/s, %.1f us each\n", n, dt,
	       (double)n / dt, dt / n * 1e6);
	result(c, ok, "2000 single 4 KiB reads");
}

static int fail_carve(const struct carve_err *err)
{
	fprintf(stderr, "vdpa_blk_check: %s\n", err->msg);
	return 2;
}

int main(int argc, char **argv)
{
	uint32_t want = VIRTIO_ID_BLOCK;
	if (argc == 4 && !strcmp(argv[1], "--want")) {
		want = !strcmp(argv[2], "vsock") ? VIRTIO_ID_VSOCK : VIRTIO_ID_BLOCK;
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: vdpa_blk_check [--want vsock|block] /dev/vhost-vdpa-N\n");
		return 2;
	}
	const char *path = argv[1];
	int fds_before = count_fds();
	struct check c = {.memfd = -1, .kick = -1, .call = -1};
	struct carve_err err = {0};

	if (vhost_vdpa_open(&c.v, path, want, &err) < 0)
		return fail_carve(&err);
	printf("opened %s: virtio %s device, backend features 0x%llx, IOVAs 0x%llx-0x%llx, rings up to %u\n",
	       path, vhost_virtio_id_name(c.v.device_id), (unsigned long long)c.v.backend_features,
	       (unsigned long long)c.v.iova_first, (unsigned long long)c.v.iova_last, c.v.vring_num_max);
	const uint64_t need = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_ACCESS_PLATFORM);
	if (vhost_vdpa_negotiate(&c.v, need, need, &err) < 0)
		goto carve_failed;
	printf("features 0x%llx\n", (unsigned long long)c.v.features);
	uint64_t capacity = 0;
	if (vhost_vdpa_get_config(c.v.fd, offsetof(struct virtio_blk_config, capacity), &capacity,
				  sizeof(capacity), &err) < 0)
		goto carve_failed;
	c.sectors = capacity;
	printf("capacity %llu sectors (%llu KiB)\n", (unsigned long long)capacity,
	       (unsigned long long)(capacity / 2));
	result(&c, capacity >= 1024 && capacity % 128 == 0,
	       "the configuration space gives a capacity (64 KiB multiple, at least 512 KiB)");
	if (c.failures)
		goto teardown;

	/* Shared, file-backed memory: VDUSE reaches it through the file. */
	c.memfd = memfd_create("carve-vdpa-check", MFD_CLOEXEC);
	if (c.memfd < 0 || ftruncate(c.memfd, REGION_SIZE) < 0) {
		perror("vdpa_blk_check: memfd");
		return 2;
	}
	c.mem = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c.memfd, 0);
	if (c.mem == MAP_FAILED) {
		perror("vdpa_blk_check: mmap");
		return 2;
	}
	struct vhost_region region = {.gpa = REGION_IOVA, .size = REGION_SIZE, .hva = c.mem};
	if (vhost_vdpa_map(&c.v, &region, &err) < 0)
		goto carve_failed;
	if (vring_driver_init(&c.ring, c.mem, RING_NUM) < 0) {
		fprintf(stderr, "vdpa_blk_check: ring\n");
		return 2;
	}
	c.kick = eventfd(0, EFD_CLOEXEC);
	c.call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct vhost_ring ring = {
		.index = 0,
		.num = RING_NUM,
		.base = 0,
		.desc = REGION_IOVA + (uint64_t)((uint8_t *)c.ring.desc - c.mem),
		.avail = REGION_IOVA + (uint64_t)((uint8_t *)c.ring.avail - c.mem),
		.used = REGION_IOVA + (uint64_t)((uint8_t *)c.ring.used - c.mem),
		.kick_fd = c.kick,
		.call_fd = c.call,
	};
	if (c.kick < 0 || c.call < 0 || vhost_vdpa_add_ring(&c.v, &ring, &err) < 0 ||
	    vhost_vdpa_driver_ok(&c.v, &err) < 0)
		goto carve_failed;
	printf("DRIVER_OK: one ring of %u entries at IOVA 0x%llx, memory 0x%x bytes at IOVA 0x%llx (address %p)\n",
	       RING_NUM, (unsigned long long)ring.desc, REGION_SIZE, (unsigned long long)REGION_IOVA,
	       (void *)c.mem);

	uint32_t used = 0;
	memset(c.mem + data_off(0), 0, 512);
	int st = request(&c, VIRTIO_BLK_T_GET_ID, 0, 512, &used);
	char id[21] = {0};
	memcpy(id, c.mem + data_off(0), 20);
	printf("device id string: \"%s\"\n", id);
	result(&c, st == VIRTIO_BLK_S_OK && used == 21 && id[0], "GET_ID answered through the ring");
	write_read_back(&c);
	st = request(&c, VIRTIO_BLK_T_IN, c.sectors - 1, 2 * SECTOR, &used);
	result(&c, st == VIRTIO_BLK_S_IOERR, "a read past the last sector is refused with IOERR");
	st = request(&c, VIRTIO_BLK_T_FLUSH, 0, 0, &used);
	result(&c, st == VIRTIO_BLK_S_OK, "FLUSH");
	if (!c.failures)
		measure(&c);

teardown:
	if (vhost_vdpa_reset(&c.v, &err) < 0)
		goto carve_failed;
	uint8_t status = 0xff;
	result(&c, vhost_vdpa_get_status(c.v.fd, &status, &err) == 0 && status == 0,
	       "after the reset the device's status is 0");
	if (vhost_vdpa_close(&c.v, &err) < 0)
		goto carve_failed;
	vring_driver_free(&c.ring);
	if (c.mem && c.mem != MAP_FAILED)
		munmap(c.mem, REGION_SIZE);
	if (c.memfd >= 0)
		close(c.memfd);
	if (c.kick >= 0)
		close(c.kick);
	if (c.call >= 0)
		close(c.call);
	int fds_after = count_fds();
	printf("fds: %d before, %d after\n", fds_before, fds_after);
	result(&c, fds_after == fds_before, "torn down: no fd left open");
	result(&c, !region_still_mapped(), "torn down: the memory region is not mapped any more");
	printf("%s: %d check(s) failed\n", c.failures ? "FAIL" : "PASS", c.failures);
	return c.failures ? 1 : 0;

carve_failed:
	fail_carve(&err);
	struct carve_err ignored = {0};
	vhost_vdpa_close(&c.v, &ignored);
	return 2;
}
