/* Split virtqueues, device side (virtio 1.2, "Split Virtqueues").
 *
 * Ring layout for a queue of size Q:
 *   descriptor table  16*Q bytes, 16-aligned: {le64 addr, le32 len, le16 flags, le16 next}
 *   avail (driver)    2-aligned: le16 flags, le16 idx, le16 ring[Q], le16 used_event
 *   used (device)     4-aligned: le16 flags, le16 idx, {le32 id, le32 len} ring[Q], le16 avail_event
 *
 * The rings are located once (virtq_init) through virtio_mem.ptr; every
 * buffer a descriptor names is located through it again at pop time. The
 * guest may rewrite any of this memory at any moment, so each descriptor is
 * copied before it is checked, and nothing read from guest memory is ever
 * used as an index without a bound check.
 *
 * Ordering (spec "Memory barriers"): the avail idx is read with acquire
 * before the ring entries and descriptors it publishes; used entries are
 * written before the used idx is stored with release; a full fence sits
 * between publishing used idx (or avail_event) and reading the driver's
 * flags / used_event (or re-reading avail idx), so neither side can miss the
 * other's update.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "carve/virtq.h"

#define DESC_SIZE 16

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static uint16_t load16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED));
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static bool aligned(const void *p, uint64_t gpa, uint64_t a)
{
	return (gpa & (a - 1)) == 0 && ((uintptr_t)p & (a - 1)) == 0;
}

int virtq_init(struct virtq *q, const struct virtio_mem *mem, uint16_t num, uint64_t desc, uint64_t avail,
	       uint64_t used, uint64_t features)
{
	memset(q, 0, sizeof(*q));
	q->broken = true;
	q->why = "queue not set up";
	if (num == 0 || (num & (num - 1)) != 0)
		return -EINVAL; /* 0 or not a power of two (u16 caps it at 32768) */
	void *d = mem->ptr(mem->ctx, desc, (uint64_t)DESC_SIZE * num);
	void *a = mem->ptr(mem->ctx, avail, 6 + 2ull * num);
	void *u = mem->ptr(mem->ctx, used, 6 + 8ull * num);
	if (!d || !a || !u || !aligned(d, desc, 16) || !aligned(a, avail, 2) || !aligned(u, used, 4))
		return -EINVAL;
	/* The device writes the used ring for every request. */
	if (mem->writable && !mem->writable(mem->ctx, used, 6 + 8ull * num)) {
		q->why = "the used ring is in write-protected memory";
		return -EINVAL;
	}
	q->mem = mem;
	q->num = num;
	q->desc = d;
	q->avail = a;
	q->used = u;
	q->event_idx = (features >> VIRTIO_F_EVENT_IDX) & 1;
	q->indirect = (features >> VIRTIO_F_INDIRECT_DESC) & 1;
	q->broken = false;
	q->why = NULL;
	return 0;
}

static int broken(struct virtq *q, const char *why)
{
	q->broken = true;
	q->why = why;
	return -EINVAL;
}

static void read_desc(const uint8_t *table, uint32_t i, struct desc *d)
{
	uint8_t raw[DESC_SIZE];
	memcpy(raw, table + (size_t)i * DESC_SIZE, DESC_SIZE);
	memcpy(&d->addr, raw, 8);
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + 12, 2);
	memcpy(&d->next, raw + 14, 2);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* Walks the chain at head into c. Loops are caught by counting: a chain in
 * the descriptor table visits at most Q descriptors, one in an indirect
 * table at most that table's entry count. */
static int walk(struct virtq *q, uint16_t head, struct virtq_chain *c, uint64_t *denied)
{
	const uint8_t *table = q->desc;
	uint32_t tsize = q->num, steps = 0, i = head;
	uint64_t rlen = 0, wlen = 0;
	bool in_indirect = false;
	unsigned nseg = 0;

	c->head = head;
	c->nr = c->nw = 0;
	for (;;) {
		if (++steps > tsize)
			return broken(q, "descriptor chain loops or is longer than its table");
		struct desc d;
		read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect)
				return broken(q, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
			if (in_indirect)
				return broken(q, "indirect descriptor inside an indirect table");
			if (d.flags & VIRTQ_DESC_F_NEXT)
				return broken(q, "indirect descriptor with NEXT");
			if (nseg != 0 || steps != 1)
				return broken(q, "indirect descriptor not at the head of its chain");
			if (d.len == 0 || d.len % DESC_SIZE != 0 || d.len / DESC_SIZE > VIRTQ_MAX_CHAIN)
				return broken(q, "bad indirect table length");
			table = q->mem->ptr(q->mem->ctx, d.addr, d.len);
			if (!table)
				return broken(q, "indirect table outside guest memory");
			tsize = d.len / DESC_SIZE;
			steps = 0;
			i = 0;
			in_indirect = true;
			continue;
		}
		if (d.len != 0) {
			if (nseg >= VIRTQ_MAX_CHAIN)
				return broken(q, "descriptor chain too long");
			uint8_t *p = q->mem->ptr(q->mem->ctx, d.addr, d.len);
			if (!p)
				return broken(q, "buffer outside guest memory");
			if (d.flags & VIRTQ_DESC_F_WRITE) {
				/* Checked once, here: the device writes through p
				 * later. The walk goes on, so a malformed chain is
				 * still caught as one. */
				if (q->mem->writable && !q->mem->writable(q->mem->ctx, d.addr, d.len))
					*denied = d.addr;
				wlen += d.len;
				c->nw++;
			} else {
				if (c->nw)
					return broken(q, "device-readable buffer after a writable one");
				rlen += d.len;
				c->nr++;
			}
			if (rlen > UINT32_MAX || wlen > UINT32_MAX)
				return broken(q, "chain length overflows 32 bits");
			c->seg[nseg].p = p;
			c->seg[nseg].len = d.len;
			nseg++;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
		if (i >= tsize)
			return broken(q, "next descriptor index out of range");
	}
	c->rlen = (uint32_t)rlen;
	c->wlen = (uint32_t)wlen;
	return 1;
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	for (;;) {
		if (q->broken)
			return -EINVAL;
		uint16_t aidx = le16toh(
			__atomic_load_n((const uint16_t *)(const void *)(q->avail + 2), __ATOMIC_ACQUIRE));
		uint16_t pending = (uint16_t)(aidx - q->last_avail);
		if (pending == 0)
			return 0;
		if (pending > q->num)
			return broken(q, "available index moved by more than the queue size");
		uint16_t head = load16(q->avail + 4 + 2u * (q->last_avail & (q->num - 1)));
		if (head >= q->num)
			return broken(q, "available ring names a descriptor out of range");
		uint64_t denied = UINT64_MAX;
		int r = walk(q, head, c, &denied);
		if (r < 0)
			return r;
		q->last_avail++;
		if (denied == UINT64_MAX)
			return 1;
		/* The request would have the device write protected memory:
		 * it fails (nothing written) and the next one is looked at. */
		virtq_push(q, c, 0);
		q->refused++;
		q->refused_unsignalled = true;
		q->refused_gpa = denied;
	}
}

bool virtq_take_refused(struct virtq *q, uint64_t *gpa)
{
	bool r = q->refused_unsignalled;
	q->refused_unsignalled = false;
	if (gpa)
		*gpa = q->refused_gpa;
	return r;
}

void virtq_unpop(struct virtq *q) { q->last_avail--; }

void virtq_push(struct virtq *q, const struct virtq_chain *c, uint32_t len)
{
	if (!q->used)
		return;
	if (len > c->wlen)
		len = c->wlen;
	uint8_t *e = q->used + 4 + 8u * (q->used_idx & (q->num - 1));
	uint32_t id = htole32(c->head), l = htole32(len);
	memcpy(e, &id, 4);
	memcpy(e + 4, &l, 4);
	q->used_idx++;
	__atomic_store_n((uint16_t *)(void *)(q->used + 2), htole16(q->used_idx), __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *q)
{
	if (!q->used)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint16_t old = q->signalled_used, now = q->used_idx;
	q->signalled_used = now;
	if (old == now)
		return false;
	if (q->event_idx) {
		uint16_t ue = load16(q->avail + 4 + 2u * q->num);
		return (uint16_t)(now - ue - 1) < (uint16_t)(now - old);
	}
	return !(load16(q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool virtq_idle(struct virtq *q)
{
	if (q->broken)
		return false;
	if (q->event_idx)
		store16(q->used + 4 + 8u * q->num, q->last_avail);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint16_t aidx = load16(q->avail + 2);
	return aidx != q->last_avail;
}

size_t virtq_chain_read(const struct virtq_chain *c, size_t off, void *dst, size_t len)
{
	uint8_t *out = dst;
	size_t done = 0;
	for (unsigned i = 0; i < c->nr && done < len; i++) {
		size_t sl = c->seg[i].len;
		if (off >= sl) {
			off -= sl;
			continue;
		}
		size_t n = sl - off < len - done ? sl - off : len - done;
		memcpy(out + done, c->seg[i].p + off, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_chain_write(const struct virtq_chain *c, size_t off, const void *src, size_t len)
{
	const uint8_t *in = src;
	size_t done = 0;
	for (unsigned i = c->nr; i < (unsigned)c->nr + c->nw && done < len; i++) {
		size_t sl = c->seg[i].len;
		if (off >= sl) {
			off -= sl;
			continue;
		}
		size_t n = sl - off < len - done ? sl - off : len - done;
		memcpy(c->seg[i].p + off, in + done, n);
		done += n;
		off = 0;
	}
	return done;
}
