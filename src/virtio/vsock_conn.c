/* The connection table: every live connection in a list (for timers and
 * reset) and, once it has an address, in a hash by (peer CID, peer port,
 * guest port), so a packet finds its connection in O(1) whatever the count;
 * the stream credit of each; and the line of connections with something
 * for the guest (one FIFO: each rx buffer goes to the head, which goes back
 * to the tail if it has more).
 *
 * Connections that die are unlinked at once and freed between epoll batches
 * (vsock_bury), so an event already fetched for a dead connection is never
 * dispatched to freed memory. */
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "virtio/vsock_internal.h"

uint64_t vsock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int vsock_nconns(const struct vsock_dev *v)
{
	return __atomic_load_n(&v->nconns, __ATOMIC_RELAXED); /* tests read it from another thread */
}

int vsock_table_init(struct vsock_dev *v)
{
	v->conns = calloc(VSOCK_MAX_CONNS, sizeof(*v->conns));
	v->buckets = calloc(VSOCK_HASH_BUCKETS, sizeof(*v->buckets));
	return v->conns && v->buckets ? 0 : -1;
}

void vsock_table_free(struct vsock_dev *v)
{
	free(v->conns);
	free(v->buckets);
	v->conns = NULL;
	v->buckets = NULL;
}

static unsigned bucket_of(uint64_t peer_cid, uint32_t peer_port, uint32_t guest_port)
{
	uint64_t k = (peer_cid * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)peer_port << 32 | guest_port);
	k ^= k >> 29;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 32;
	return (unsigned)(k & (VSOCK_HASH_BUCKETS - 1));
}

struct vconn *vsock_find(struct vsock_dev *v, uint64_t peer_cid, uint32_t peer_port, uint32_t guest_port)
{
	for (struct vconn *c = v->buckets[bucket_of(peer_cid, peer_port, guest_port)]; c; c = c->hash_next)
		if (c->peer_port == peer_port && c->guest_port == guest_port && c->peer_cid == peer_cid)
			return c;
	return NULL;
}

struct vconn *vsock_conn_new(struct vsock_dev *v, int fd)
{
	if (v->nconns >= VSOCK_MAX_CONNS)
		return NULL;
	struct vconn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cookie.kind = VSOCK_COOKIE_CONN;
	c->fd = fd;
	c->buf_alloc = VSOCK_BUF_ALLOC;
	c->tx.cap = VSOCK_BUF_ALLOC;
	c->index = v->nconns;
	v->conns[v->nconns] = c;
	__atomic_store_n(&v->nconns, v->nconns + 1, __ATOMIC_RELAXED);
	return c;
}

void vsock_conn_bind(struct vsock_dev *v, struct vconn *c, uint64_t peer_cid, uint32_t peer_port,
		     uint32_t guest_port)
{
	c->peer_cid = peer_cid;
	c->peer_port = peer_port;
	c->guest_port = guest_port;
	struct vconn **head = &v->buckets[bucket_of(peer_cid, peer_port, guest_port)];
	c->hash_next = *head;
	*head = c;
}

static void unhash(struct vsock_dev *v, struct vconn *c)
{
	for (struct vconn **p = &v->buckets[bucket_of(c->peer_cid, c->peer_port, c->guest_port)]; *p;
	     p = &(*p)->hash_next) {
		if (*p == c) {
			*p = c->hash_next;
			return;
		}
	}
}

uint32_t vsock_peer_credit(const struct vconn *c)
{
	uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;
	return inflight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - inflight;
}

bool vsock_data_ready(const struct vconn *c)
{
	if (c->state != C_ESTABLISHED || c->guest_shut_rcv || vsock_peer_credit(c) == 0)
		return false;
	if (c->heartbeat)
		return c->hb_len > 0;
	return c->want_read && !c->host_eof;
}

bool vsock_has_rx(const struct vconn *c) { return c->pend != 0 || (!c->dying && vsock_data_ready(c)); }

void vsock_rxq_add(struct vsock_dev *v, struct vconn *c)
{
	if (c->in_rxq || !vsock_has_rx(c))
		return;
	c->in_rxq = true;
	c->rx_next = NULL;
	v->rxq_len++;
	if (v->rx_tail)
		v->rx_tail->rx_next = c;
	else
		v->rx_head = c;
	v->rx_tail = c;
}

struct vconn *vsock_rxq_pop(struct vsock_dev *v)
{
	struct vconn *c = v->rx_head;
	if (!c)
		return NULL;
	v->rx_head = c->rx_next;
	if (!v->rx_head)
		v->rx_tail = NULL;
	c->in_rxq = false;
	v->rxq_len--;
	return c;
}

/* The epoll interest a connection needs now. */
static uint32_t wanted_events(const struct vconn *c)
{
	if (c->fd < 0 || c->dying)
		return 0;
	if (c->state == C_HOST_HDR)
		return EPOLLIN;
	if (c->state != C_ESTABLISHED)
		return 0;
	uint32_t ev = 0;
	if (!c->want_read && !c->host_eof && !c->guest_shut_rcv && vsock_peer_credit(c) > 0)
		ev |= EPOLLIN;
	if (c->tx.len > 0)
		ev |= EPOLLOUT;
	return ev;
}

/* Registers only what is wanted; with nothing wanted the fd leaves the set,
 * so a hung-up socket (EPOLLHUP cannot be masked) does not spin the loop. */
void vsock_conn_update(struct vsock_dev *v, struct vconn *c)
{
	uint32_t ev = wanted_events(c);
	if (ev != c->reg_events && c->fd >= 0) {
		uint64_t tag = (uint64_t)(uintptr_t)&c->cookie;
		if (ev == 0)
			vworker_del(&v->w, c->fd);
		else if (c->reg_events == 0)
			vworker_add(&v->w, c->fd, ev, tag);
		else
			vworker_mod(&v->w, c->fd, ev, tag);
		c->reg_events = ev;
	}
	if (c->state == C_ESTABLISHED && c->want_read && vsock_peer_credit(c) == 0 && !c->credit_asked &&
	    !c->host_eof && !c->guest_shut_rcv) {
		c->pend |= P_CREDIT_REQUEST;
		c->credit_asked = true;
	}
	vsock_rxq_add(v, c);
}

void vsock_grave_add(struct vsock_dev *v, struct vconn *c)
{
	c->grave_next = v->grave;
	v->grave = c;
}

void vsock_conn_kill(struct vsock_dev *v, struct vconn *c, bool rst)
{
	if (c->dying)
		return;
	/* Out of the list (the last one takes its place) and the hash. */
	struct vconn *last = v->conns[v->nconns - 1];
	v->conns[c->index] = last;
	last->index = c->index;
	__atomic_store_n(&v->nconns, v->nconns - 1, __ATOMIC_RELAXED);
	c->index = -1;
	unhash(v, c);
	c->dying = true;
	if (c->fd >= 0) {
		close(c->fd); /* also leaves the epoll set */
		c->fd = -1;
	}
	c->reg_events = 0;
	c->pend = rst && c->state != C_HOST_HDR ? P_RST : 0;
	if (c->pend)
		vsock_rxq_add(v, c);
	else if (!c->in_rxq)
		vsock_grave_add(v, c);
}

void vsock_bury(struct vsock_dev *v)
{
	while (v->grave) {
		struct vconn *c = v->grave;
		v->grave = c->grave_next;
		vsock_txbuf_free(&c->tx);
		free(c);
	}
}

void vsock_maybe_credit_update(struct vconn *c)
{
	uint32_t view_used = c->rx_total - c->fwd_sent; /* what the guest thinks we hold */
	if (c->fwd_cnt != c->fwd_sent && view_used > c->buf_alloc / 2)
		c->pend |= P_CREDIT_UPDATE;
}
