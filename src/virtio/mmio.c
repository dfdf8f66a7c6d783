/* The virtio-mmio transport, version 2 (virtio 1.2, "Device Status Field"
 * and "Virtio Over MMIO"; Firecracker's virtio-mmio transport).
 *
 * The register file lives here; the device work is a backend's (see
 * carve/virtio_mmio.h). vCPU threads call virtio_mmio_read/write under the
 * transport lock. The backend's device thread never takes that lock: it only
 * touches the status and InterruptStatus words, atomically.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "carve/virtio_mmio.h"

#define MAGIC 0x74726976u /* "virt" */

/* The registers (offsets from <linux/virtio_mmio.h>, under short names). */
enum {
	R_MAGIC = VIRTIO_MMIO_MAGIC_VALUE,
	R_VERSION = VIRTIO_MMIO_VERSION,
	R_DEVICE_ID = VIRTIO_MMIO_DEVICE_ID,
	R_VENDOR_ID = VIRTIO_MMIO_VENDOR_ID,
	R_DEV_FEATURES = VIRTIO_MMIO_DEVICE_FEATURES,
	R_DEV_FEATURES_SEL = VIRTIO_MMIO_DEVICE_FEATURES_SEL,
	R_DRV_FEATURES = VIRTIO_MMIO_DRIVER_FEATURES,
	R_DRV_FEATURES_SEL = VIRTIO_MMIO_DRIVER_FEATURES_SEL,
	R_QUEUE_SEL = VIRTIO_MMIO_QUEUE_SEL,
	R_QUEUE_NUM_MAX = VIRTIO_MMIO_QUEUE_NUM_MAX,
	R_QUEUE_NUM = VIRTIO_MMIO_QUEUE_NUM,
	R_QUEUE_READY = VIRTIO_MMIO_QUEUE_READY,
	R_QUEUE_NOTIFY = VIRTIO_MMIO_QUEUE_NOTIFY,
	R_INT_STATUS = VIRTIO_MMIO_INTERRUPT_STATUS,
	R_INT_ACK = VIRTIO_MMIO_INTERRUPT_ACK,
	R_STATUS = VIRTIO_MMIO_STATUS,
	R_QUEUE_DESC_LO = VIRTIO_MMIO_QUEUE_DESC_LOW,
	R_QUEUE_DESC_HI = VIRTIO_MMIO_QUEUE_DESC_HIGH,
	R_QUEUE_DRIVER_LO = VIRTIO_MMIO_QUEUE_AVAIL_LOW,
	R_QUEUE_DRIVER_HI = VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
	R_QUEUE_DEVICE_LO = VIRTIO_MMIO_QUEUE_USED_LOW,
	R_QUEUE_DEVICE_HI = VIRTIO_MMIO_QUEUE_USED_HIGH,
	R_SHM_SEL = VIRTIO_MMIO_SHM_SEL,
	R_SHM_LEN_LO = VIRTIO_MMIO_SHM_LEN_LOW,
	R_SHM_LEN_HI = VIRTIO_MMIO_SHM_LEN_HIGH,
	R_SHM_BASE_LO = VIRTIO_MMIO_SHM_BASE_LOW,
	R_SHM_BASE_HI = VIRTIO_MMIO_SHM_BASE_HIGH,
	R_QUEUE_RESET = 0x0c0, /* virtio 1.2; newer than Debian 12's uapi header */
	R_CONFIG_GEN = VIRTIO_MMIO_CONFIG_GENERATION,
	R_CONFIG = VIRTIO_MMIO_CONFIG,
	SLOT_SIZE = 0x1000,
};

struct qregs {
	uint16_t num;
	bool ready;
	uint64_t desc, avail, used;
};

struct virtio_mmio {
	struct virtio_mem mem;
	const struct virtio_backend *be;
	void *ctx;
	pthread_mutex_t lock;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint64_t driver_features;
	uint32_t status; /* atomic */
	uint32_t isr;    /* atomic */
	uint32_t config_gen;
	bool running;
	struct qregs q[VIRTIO_MAX_QUEUES];
	int kick[VIRTIO_MAX_QUEUES];
	int irq_fd;
	const char *why; /* what made the device need a reset */
	void (*fault)(void *ctx, const char *what);
	void *fault_ctx;
};

static uint64_t device_features(const struct virtio_mmio *t)
{
	return t->be->features | (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_EVENT_IDX) |
		(1ull << VIRTIO_F_INDIRECT_DESC);
}

struct virtio_mmio *virtio_mmio_create(const struct virtio_mem *mem, const struct virtio_backend *be,
				       void *ctx)
{
	if (!mem || !mem->ptr || !be || be->nqueues == 0 || be->nqueues > VIRTIO_MAX_QUEUES ||
	    be->queue_max == 0 || (be->queue_max & (be->queue_max - 1)) != 0 ||
	    be->config_size > SLOT_SIZE - R_CONFIG || !be->start || !be->stop) {
		errno = EINVAL;
		return NULL;
	}
	struct virtio_mmio *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->mem = *mem;
	t->be = be;
	t->ctx = ctx;
	t->irq_fd = -1;
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		t->kick[i] = -1;
	pthread_mutex_init(&t->lock, NULL);
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		goto fail;
	for (int i = 0; i < be->nqueues; i++) {
		t->kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->kick[i] < 0)
			goto fail;
	}
	return t;
fail:;
	int e = errno;
	virtio_mmio_destroy(t);
	errno = e;
	return NULL;
}

static void reset_locked(struct virtio_mmio *t)
{
	if (t->running) {
		t->be->stop(t->ctx);
		t->running = false;
	}
	t->dev_feat_sel = t->drv_feat_sel = t->queue_sel = 0;
	t->driver_features = 0;
	memset(t->q, 0, sizeof(t->q));
	__atomic_store_n(&t->isr, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->status, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->why, NULL, __ATOMIC_RELAXED);
	uint64_t v;
	for (int i = 0; i < t->be->nqueues; i++)
		while (read(t->kick[i], &v, sizeof(v)) == (ssize_t)sizeof(v))
			;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	reset_locked(t);
	pthread_mutex_unlock(&t->lock);
	pthread_mutex_destroy(&t->lock);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (t->kick[i] >= 0)
			close(t->kick[i]);
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	free(t);
}

int virtio_mmio_kick_fd(const struct virtio_mmio *t, int queue)
{
	return queue >= 0 && queue < t->be->nqueues ? t->kick[queue] : -1;
}

int virtio_mmio_irq_fd(const struct virtio_mmio *t) { return t->irq_fd; }

uint32_t virtio_mmio_status(const struct virtio_mmio *t)
{
	return __atomic_load_n(&t->status, __ATOMIC_SEQ_CST);
}

const char *virtio_mmio_reset_reason(const struct virtio_mmio *t)
{
	return __atomic_load_n(&t->why, __ATOMIC_RELAXED);
}

void virtio_mmio_interrupt(struct virtio_mmio *t, uint32_t bits)
{
	if (!t)
		return; /* a backend run without a transport (fuzzing) */
	__atomic_fetch_or(&t->isr, bits, __ATOMIC_SEQ_CST);
	uint64_t one = 1;
	ssize_t r = write(t->irq_fd, &one, sizeof(one));
	(void)r; /* EAGAIN only when the counter is saturated: already pending */
}

void virtio_mmio_needs_reset(struct virtio_mmio *t, const char *why)
{
	if (!t)
		return;
	uint32_t old = __atomic_fetch_or(&t->status, VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_SEQ_CST);
	if (old & VIRTIO_STATUS_NEEDS_RESET)
		return;
	__atomic_store_n(&t->why, why, __ATOMIC_RELAXED);
	virtio_mmio_interrupt(t, VIRTIO_INT_CONFIG);
	if (t->fault) {
		char line[200];
		snprintf(line, sizeof(line), "the device needs a reset: %s", why ? why : "?");
		t->fault(t->fault_ctx, line);
	}
}

void virtio_mmio_on_fault(struct virtio_mmio *t, void (*fault)(void *ctx, const char *what), void *ctx)
{
	t->fault_ctx = ctx;
	t->fault = fault;
}

void virtio_mmio_report(struct virtio_mmio *t, const char *what)
{
	if (t && t->fault)
		t->fault(t->fault_ctx, what);
}

bool virtio_mmio_refused(struct virtio_mmio *t, struct virtq *q)
{
	uint64_t gpa;
	if (!virtq_take_refused(q, &gpa))
		return false;
	char line[200];
	snprintf(line, sizeof(line),
		 "request refused: a buffer the device would write (0x%llx) is write-protected "
		 "(%llu refused so far)",
		 (unsigned long long)gpa, (unsigned long long)q->refused);
	virtio_mmio_report(t, line);
	return true;
}

/* A queue the driver marks ready must have a valid size and rings inside
 * guest memory; virtq_init checks both. */
static bool queue_ok(struct virtio_mmio *t, const struct qregs *q)
{
	struct virtq probe;
	if (q->num == 0 || q->num > t->be->queue_max)
		return false;
	return virtq_init(&probe, &t->mem, q->num, q->desc, q->avail, q->used, 0) == 0;
}

static void start_locked(struct virtio_mmio *t)
{
	struct virtio_run run;
	memset(&run, 0, sizeof(run));
	run.mem = t->mem;
	run.features = t->driver_features;
	run.nqueues = t->be->nqueues;
	run.transport = t;
	for (int i = 0; i < t->be->nqueues; i++) {
		run.q[i].ready = t->q[i].ready;
		run.q[i].num = t->q[i].num;
		run.q[i].desc = t->q[i].desc;
		run.q[i].avail = t->q[i].avail;
		run.q[i].used = t->q[i].used;
		run.q[i].kick_fd = t->kick[i];
	}
	if (t->be->start(t->ctx, &run) < 0) {
		virtio_mmio_needs_reset(t, "the device backend failed to start");
		return;
	}
	t->running = true;
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
	if (v == 0) {
		reset_locked(t);
		return;
	}
	uint32_t old = virtio_mmio_status(t);
	uint32_t now = (v & 0xff & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((now & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* Accept only a subset of what we offer, with VERSION_1. */
		uint64_t f = t->driver_features;
		if ((f & ~device_features(t)) || !(f & (1ull << VIRTIO_F_VERSION_1)))
			now &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	if (!(now & VIRTIO_STATUS_FEATURES_OK) && (old & VIRTIO_STATUS_FEATURES_OK))
		now |= VIRTIO_STATUS_FEATURES_OK; /* cannot be taken back without a reset */
	bool go = (now & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK);
	__atomic_store_n(&t->status, now, __ATOMIC_SEQ_CST);
	if (go) {
		if (!(now & VIRTIO_STATUS_FEATURES_OK))
			virtio_mmio_needs_reset(t, "DRIVER_OK before FEATURES_OK");
		else if (!(now & VIRTIO_STATUS_FAILED) && !(now & VIRTIO_STATUS_NEEDS_RESET))
			start_locked(t);
	}
}

static uint32_t read_reg(struct virtio_mmio *t, uint64_t off)
{
	const struct qregs *q = t->queue_sel < t->be->nqueues ? &t->q[t->queue_sel] : NULL;
	switch (off) {
	case R_MAGIC: return MAGIC;
	case R_VERSION: return 2;
	case R_DEVICE_ID: return t->be->device_id;
	case R_VENDOR_ID: return 0;
	case R_DEV_FEATURES:
		return t->dev_feat_sel < 2 ? (uint32_t)(device_features(t) >> (32 * t->dev_feat_sel)) : 0;
	case R_QUEUE_NUM_MAX: return q ? t->be->queue_max : 0;
	case R_QUEUE_READY: return q ? q->ready : 0;
	case R_INT_STATUS: return __atomic_load_n(&t->isr, __ATOMIC_SEQ_CST);
	case R_STATUS: return virtio_mmio_status(t);
	case R_SHM_LEN_LO:
	case R_SHM_LEN_HI:
	case R_SHM_BASE_LO:
	case R_SHM_BASE_HI: return 0xffffffffu; /* no shared memory regions: length -1 */
	case R_QUEUE_RESET: return 0;
	case R_CONFIG_GEN: return t->config_gen;
	default: return 0; /* write-only and reserved registers */
	}
}

static void set_lo(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffff00000000ull) | v; }

static void set_hi(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffull) | ((uint64_t)v << 32); }

static void write_reg(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	uint32_t st = virtio_mmio_status(t);
	struct qregs *q = t->queue_sel < t->be->nqueues ? &t->q[t->queue_sel] : NULL;
	/* Queue layout may change only while the queue is not ready and the
	 * device is not live. */
	struct qregs *qw = q && !q->ready && !(st & VIRTIO_STATUS_DRIVER_OK) ? q : NULL;
	switch (off) {
	case R_DEV_FEATURES_SEL: t->dev_feat_sel = v; break;
	case R_DRV_FEATURES:
		if (st & VIRTIO_STATUS_FEATURES_OK)
			break;
		if (t->drv_feat_sel == 0)
			set_lo(&t->driver_features, v);
		else if (t->drv_feat_sel == 1)
			set_hi(&t->driver_features, v);
		break;
	case R_DRV_FEATURES_SEL: t->drv_feat_sel = v; break;
	case R_QUEUE_SEL: t->queue_sel = v; break;
	case R_QUEUE_NUM:
		if (qw)
			qw->num = v > 0xffff ? 0 : (uint16_t)v; /* checked when made ready */
		break;
	case R_QUEUE_READY:
		if (!q || (st & VIRTIO_STATUS_DRIVER_OK))
			break;
		if (v == 0)
			q->ready = false;
		else if (!q->ready) {
			if (queue_ok(t, q))
				q->ready = true;
			else
				virtio_mmio_needs_reset(t, "bad queue size or ring address");
		}
		break;
	case R_QUEUE_NOTIFY:
		if (v < t->be->nqueues) {
			uint64_t one = 1;
			ssize_t r = write(t->kick[v], &one, sizeof(one));
			(void)r;
		}
		break;
	case R_INT_ACK: __atomic_fetch_and(&t->isr, ~v, __ATOMIC_SEQ_CST); break;
	case R_STATUS: write_status(t, v); break;
	case R_QUEUE_DESC_LO:
		if (qw)
			set_lo(&qw->desc, v);
		break;
	case R_QUEUE_DESC_HI:
		if (qw)
			set_hi(&qw->desc, v);
		break;
	case R_QUEUE_DRIVER_LO:
		if (qw)
			set_lo(&qw->avail, v);
		break;
	case R_QUEUE_DRIVER_HI:
		if (qw)
			set_hi(&qw->avail, v);
		break;
	case R_QUEUE_DEVICE_LO:
		if (qw)
			set_lo(&qw->used, v);
		break;
	case R_QUEUE_DEVICE_HI:
		if (qw)
			set_hi(&qw->used, v);
		break;
	default: break; /* read-only, SHMSel (no regions), QueueReset (not offered), reserved */
	}
}

void virtio_mmio_read(struct virtio_mmio *t, uint64_t offset, void *data, uint32_t len)
{
	if (len == 0 || len > 8)
		return;
	memset(data, 0, len);
	if (offset >= R_CONFIG) {
		uint64_t co = offset - R_CONFIG;
		if (co < t->be->config_size && len <= t->be->config_size - co && t->be->config_read) {
			pthread_mutex_lock(&t->lock);
			t->be->config_read(t->ctx, (uint32_t)co, data, len);
			pthread_mutex_unlock(&t->lock);
		}
		return;
	}
	if (len != 4 || (offset & 3))
		return;
	pthread_mutex_lock(&t->lock);
	uint32_t v = htole32(read_reg(t, offset));
	pthread_mutex_unlock(&t->lock);
	memcpy(data, &v, 4);
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t offset, const void *data, uint32_t len)
{
	if (offset >= R_CONFIG || len != 4 || (offset & 3))
		return; /* config space is read-only for both devices here */
	uint32_t v;
	memcpy(&v, data, 4);
	v = le32toh(v);
	pthread_mutex_lock(&t->lock);
	write_reg(t, offset, v);
	pthread_mutex_unlock(&t->lock);
}
