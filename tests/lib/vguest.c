/* A guest virtio driver for tests and benches (see vguest.h). */
#include "vguest.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t vg_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *mem_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vguest *g = ctx;
	if (gpa < VG_BASE)
		return NULL;
	uint64_t off = gpa - VG_BASE;
	if (off > g->size || len > g->size - off)
		return NULL;
	return g->buf + off;
}

int vg_init(struct vguest *g, uint64_t size)
{
	memset(g, 0, sizeof(*g));
	void *p;
	if (posix_memalign(&p, 4096, size) != 0)
		return -1;
	memset(p, 0, size);
	g->buf = p;
	g->size = size;
	g->mem.ptr = mem_ptr;
	g->mem.ctx = g;
	return 0;
}

void vg_free(struct vguest *g)
{
	free(g->buf);
	g->buf = NULL;
}

uint64_t vg_alloc(struct vguest *g, uint64_t size, uint64_t align)
{
	uint64_t at = (g->next + align - 1) & ~(align - 1);
	if (at + size > g->size)
		abort(); /* a test sized its memory wrong */
	g->next = at + size;
	memset(g->buf + at, 0, size);
	return VG_BASE + at;
}

void *vg_hva(struct vguest *g, uint64_t gpa) { return g->buf + (gpa - VG_BASE); }

uint32_t vg_rd(struct vguest *g, uint32_t off)
{
	uint32_t v = 0;
	virtio_mmio_read(g->t, off, &v, 4);
	return v;
}

void vg_wr(struct vguest *g, uint32_t off, uint32_t v) { virtio_mmio_write(g->t, off, &v, 4); }

static void q_layout(struct vguest *g, int i, uint16_t num)
{
	struct vg_queue *q = &g->q[i];
	memset(q, 0, sizeof(*q));
	q->num = num;
	q->desc = vg_alloc(g, 16ull * num, 16);
	q->avail = vg_alloc(g, 6 + 2ull * num, 2);
	q->used = vg_alloc(g, 6 + 8ull * num, 4);
	uint8_t *d = vg_hva(g, q->desc);
	for (uint16_t k = 0; k < num; k++) {
		uint16_t next = (uint16_t)(k + 1);
		memcpy(d + 16u * k + 14, &next, 2);
	}
	q->free_head = 0;
	q->nfree = num;
}

int vg_setup(struct vguest *g, struct virtio_mmio *t, uint64_t want, int nq, uint16_t qsize)
{
	g->t = t;
	if (vg_rd(g, 0x000) != 0x74726976 || vg_rd(g, 0x004) != 2 || vg_rd(g, 0x008) == 0)
		return -1;
	vg_wr(g, 0x070, 0);
	vg_wr(g, 0x070, VIRTIO_STATUS_ACKNOWLEDGE);
	vg_wr(g, 0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vg_wr(g, 0x014, 0);
	uint64_t f = vg_rd(g, 0x010);
	vg_wr(g, 0x014, 1);
	f |= (uint64_t)vg_rd(g, 0x010) << 32;
	if (!(f & (1ull << VIRTIO_F_VERSION_1)))
		return -1;
	g->features = f & (want | (1ull << VIRTIO_F_VERSION_1));
	vg_wr(g, 0x024, 0);
	vg_wr(g, 0x020, (uint32_t)g->features);
	vg_wr(g, 0x024, 1);
	vg_wr(g, 0x020, (uint32_t)(g->features >> 32));
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	vg_wr(g, 0x070, st);
	if (!(vg_rd(g, 0x070) & VIRTIO_STATUS_FEATURES_OK))
		return -1;
	g->nq = nq;
	for (int i = 0; i < nq; i++) {
		vg_wr(g, 0x030, (uint32_t)i);
		if (vg_rd(g, 0x044) != 0)
			return -1;
		uint32_t max = vg_rd(g, 0x034);
		if (max == 0)
			return -1;
		uint16_t num = qsize < max ? qsize : (uint16_t)max;
		q_layout(g, i, num);
		vg_wr(g, 0x038, num);
		vg_wr(g, 0x080, (uint32_t)g->q[i].desc);
		vg_wr(g, 0x084, (uint32_t)(g->q[i].desc >> 32));
		vg_wr(g, 0x090, (uint32_t)g->q[i].avail);
		vg_wr(g, 0x094, (uint32_t)(g->q[i].avail >> 32));
		vg_wr(g, 0x0a0, (uint32_t)g->q[i].used);
		vg_wr(g, 0x0a4, (uint32_t)(g->q[i].used >> 32));
		vg_wr(g, 0x044, 1);
		if (vg_rd(g, 0x044) != 1)
			return -1;
	}
	vg_wr(g, 0x070, st | VIRTIO_STATUS_DRIVER_OK);
	return (vg_rd(g, 0x070) & VIRTIO_STATUS_NEEDS_RESET) ? -1 : 0;
}

static void put_desc(struct vguest *g, struct vg_queue *q, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags)
{
	uint8_t *d = (uint8_t *)vg_hva(g, q->desc) + 16u * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
}

static uint16_t desc_next(struct vguest *g, struct vg_queue *q, uint16_t i)
{
	uint16_t n;
	memcpy(&n, (uint8_t *)vg_hva(g, q->desc) + 16u * i + 14, 2);
	return n;
}

static void publish(struct vguest *g, struct vg_queue *q, uint16_t head)
{
	uint8_t *a = vg_hva(g, q->avail);
	memcpy(a + 4 + 2u * (q->avail_idx & (q->num - 1)), &head, 2);
	q->avail_idx++;
	__atomic_store_n((uint16_t *)(void *)(a + 2), q->avail_idx, __ATOMIC_RELEASE);
}

int vg_add(struct vguest *g, int qi, const struct vg_buf *b, int n, uint64_t token)
{
	struct vg_queue *q = &g->q[qi];
	if (n <= 0 || n > q->nfree)
		return -1;
	uint16_t head = q->free_head, i = head;
	for (int k = 0; k < n; k++) {
		uint16_t flags = (uint16_t)((b[k].write ? VIRTQ_DESC_F_WRITE : 0) |
					    (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		put_desc(g, q, i, b[k].gpa, b[k].len, flags);
		if (k + 1 < n)
			i = desc_next(g, q, i);
	}
	q->free_head = desc_next(g, q, i);
	q->nfree = (uint16_t)(q->nfree - n);
	q->chain_len[head] = (uint16_t)n;
	q->token[head] = token;
	publish(g, q, head);
	return head;
}

int vg_add_indirect(struct vguest *g, int qi, const struct vg_buf *b, int n, uint64_t token)
{
	struct vg_queue *q = &g->q[qi];
	if (q->nfree < 1)
		return -1;
	uint64_t table = vg_alloc(g, 16ull * n, 16);
	uint8_t *t = vg_hva(g, table);
	for (int k = 0; k < n; k++) {
		uint16_t flags = (uint16_t)((b[k].write ? VIRTQ_DESC_F_WRITE : 0) |
					    (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		uint16_t next = (uint16_t)(k + 1);
		memcpy(t + 16 * k, &b[k].gpa, 8);
		memcpy(t + 16 * k + 8, &b[k].len, 4);
		memcpy(t + 16 * k + 12, &flags, 2);
		memcpy(t + 16 * k + 14, &next, 2);
	}
	uint16_t head = q->free_head;
	put_desc(g, q, head, table, (uint32_t)(16 * n), VIRTQ_DESC_F_INDIRECT);
	q->free_head = desc_next(g, q, head);
	q->nfree--;
	q->chain_len[head] = 1;
	q->token[head] = token;
	publish(g, q, head);
	return head;
}

void vg_kick(struct vguest *g, int qi)
{
	struct vg_queue *q = &g->q[qi];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	bool kick = true;
	if (g->features & (1ull << VIRTIO_F_EVENT_IDX)) {
		uint16_t ev =
			__atomic_load_n((uint16_t *)(void *)((uint8_t *)vg_hva(g, q->used) + 4 + 8u * q->num),
					__ATOMIC_RELAXED);
		kick = (uint16_t)(q->avail_idx - ev - 1) < (uint16_t)(q->avail_idx - q->kicked_idx);
	}
	q->kicked_idx = q->avail_idx;
	if (kick) {
		uint64_t one = 1;
		ssize_t r = write(virtio_mmio_kick_fd(g->t, qi), &one, sizeof(one));
		(void)r;
	}
}

int vg_used(struct vguest *g, int qi, uint64_t *token, uint32_t *len)
{
	struct vg_queue *q = &g->q[qi];
	uint8_t *u = vg_hva(g, q->used);
	uint16_t idx = __atomic_load_n((uint16_t *)(void *)(u + 2), __ATOMIC_ACQUIRE);
	if (idx == q->last_used) {
		if (g->features & (1ull << VIRTIO_F_EVENT_IDX)) {
			/* ask for an interrupt on the next used entry, then look again */
			uint8_t *a = vg_hva(g, q->avail);
			__atomic_store_n((uint16_t *)(void *)(a + 4 + 2u * q->num), q->last_used,
					 __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			idx = __atomic_load_n((uint16_t *)(void *)(u + 2), __ATOMIC_ACQUIRE);
			if (idx == q->last_used)
				return 0;
		} else {
			return 0;
		}
	}
	uint32_t id, l;
	memcpy(&id, u + 4 + 8u * (q->last_used & (q->num - 1)), 4);
	memcpy(&l, u + 8 + 8u * (q->last_used & (q->num - 1)), 4);
	q->last_used++;
	if (id >= q->num)
		abort(); /* the device returned a head it never got */
	uint16_t n = q->chain_len[id], last = (uint16_t)id;
	for (uint16_t k = 1; k < n; k++)
		last = desc_next(g, q, last);
	uint8_t *d = (uint8_t *)vg_hva(g, q->desc) + 16u * last;
	memcpy(d + 14, &q->free_head, 2);
	q->free_head = (uint16_t)id;
	q->nfree = (uint16_t)(q->nfree + n);
	if (token)
		*token = q->token[id];
	if (len)
		*len = l;
	return 1;
}

uint32_t vg_wait_irq(struct vguest *g, int timeout_ms)
{
	struct pollfd p = {.fd = virtio_mmio_irq_fd(g->t), .events = POLLIN};
	if (poll(&p, 1, timeout_ms) <= 0) {
		if (timeout_ms > 0)
			g->irq_timeouts++;
		return 0;
	}
	uint64_t v;
	ssize_t r = read(p.fd, &v, sizeof(v));
	(void)r;
	g->irqs++;
	uint32_t isr = vg_rd(g, 0x060);
	vg_wr(g, 0x064, isr);
	return isr;
}

int vg_wait_used(struct vguest *g, int q, uint64_t *token, uint32_t *len, int timeout_ms)
{
	uint64_t end = vg_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		if (vg_used(g, q, token, len))
			return 1;
		uint64_t now = vg_now_ms();
		if (now >= end)
			return 0;
		vg_wait_irq(g, (int)(end - now) < 50 ? (int)(end - now) : 50);
	}
}

/* ---- vsock ---- */

static void rx_give(struct vg_vsock *v, int i)
{
	struct vg_buf b = {.gpa = v->rxbuf[i], .len = VGV_RXBUF, .write = true};
	vg_add(&v->g, 0, &b, 1, (uint64_t)i);
}

int vgv_restart(struct vg_vsock *v, uint64_t want, uint16_t qsize)
{
	if (vg_setup(&v->g, v->t, want, 3, qsize) < 0)
		return -1;
	uint32_t lo, hi;
	virtio_mmio_read(v->t, 0x100, &lo, 4);
	virtio_mmio_read(v->t, 0x104, &hi, 4);
	if (((uint64_t)hi << 32 | lo) != v->cid)
		return -1;
	int nrx = VGV_NRX < v->g.q[0].num ? VGV_NRX : v->g.q[0].num;
	for (int i = 0; i < nrx; i++) {
		v->rxbuf[i] = vg_alloc(&v->g, VGV_RXBUF, 8);
		rx_give(v, i);
	}
	vg_kick(&v->g, 0);
	v->ntx_free = 0;
	for (int i = 0; i < VGV_NTX; i++) {
		v->txbuf[i] = vg_alloc(&v->g, VGV_TXBUF, 8);
		v->tx_free[v->ntx_free++] = i;
	}
	return 0;
}

int vgv_init(struct vg_vsock *v, struct vsock_dev *dev, uint64_t cid, uint64_t want, uint16_t qsize)
{
	memset(v, 0, sizeof(*v));
	if (vg_init(&v->g, 32ull << 20) < 0)
		return -1;
	v->cid = cid;
	v->t = virtio_mmio_create(&v->g.mem, vsock_backend(), dev);
	if (!v->t)
		return -1;
	v->g.t = v->t;
	if (vg_rd(&v->g, 0x008) != VIRTIO_ID_VSOCK)
		return -1;
	return vgv_restart(v, want, qsize);
}

void vgv_free(struct vg_vsock *v)
{
	virtio_mmio_destroy(v->t);
	v->t = NULL;
	vg_free(&v->g);
}

struct vsock_hdr vgv_hdr(const struct vg_vsock *v, uint64_t dst_cid, uint32_t src_port, uint32_t dst_port,
			 uint16_t op)
{
	struct vsock_hdr h;
	memset(&h, 0, sizeof(h));
	h.src_cid = v->cid;
	h.dst_cid = dst_cid;
	h.src_port = src_port;
	h.dst_port = dst_port;
	h.type = VSOCK_TYPE_STREAM;
	h.op = op;
	h.buf_alloc = 256 * 1024;
	return h;
}

static void tx_reclaim(struct vg_vsock *v)
{
	uint64_t tok;
	while (vg_used(&v->g, 1, &tok, NULL))
		v->tx_free[v->ntx_free++] = (int)tok;
}

int vgv_send(struct vg_vsock *v, const struct vsock_hdr *h, const void *payload, uint32_t plen)
{
	if (plen > VSOCK_MAX_PKT)
		return -1;
	tx_reclaim(v);
	uint64_t end = vg_now_ms() + 5000;
	while (v->ntx_free == 0 || v->g.q[1].nfree < 2) {
		if (vg_now_ms() >= end)
			return -1;
		vg_wait_irq(&v->g, 20);
		tx_reclaim(v);
	}
	int slot = v->tx_free[--v->ntx_free];
	uint8_t *p = vg_hva(&v->g, v->txbuf[slot]);
	struct vsock_hdr hh = *h;
	hh.len = plen;
	memcpy(p, &hh, VSOCK_HDR_SIZE);
	if (plen)
		memcpy(p + VSOCK_HDR_SIZE, payload, plen);
	struct vg_buf b[2] = {
		{.gpa = v->txbuf[slot], .len = VSOCK_HDR_SIZE},
		{.gpa = v->txbuf[slot] + VSOCK_HDR_SIZE, .len = plen},
	};
	vg_add(&v->g, 1, b, plen ? 2 : 1, (uint64_t)slot);
	vg_kick(&v->g, 1);
	return 0;
}

int vgv_recv(struct vg_vsock *v, struct vsock_hdr *h, void *payload, uint32_t cap, uint32_t *plen,
	     int timeout_ms)
{
	uint64_t tok;
	uint32_t len;
	if (!vg_wait_used(&v->g, 0, &tok, &len, timeout_ms))
		return 0;
	uint8_t *p = vg_hva(&v->g, v->rxbuf[tok]);
	memcpy(h, p, VSOCK_HDR_SIZE);
	uint32_t n = len > VSOCK_HDR_SIZE ? len - VSOCK_HDR_SIZE : 0;
	if (plen)
		*plen = n;
	if (payload)
		memcpy(payload, p + VSOCK_HDR_SIZE, n < cap ? n : cap);
	rx_give(v, (int)tok);
	vg_kick(&v->g, 0);
	tx_reclaim(v);
	return 1;
}
