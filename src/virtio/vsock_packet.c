/* The virtio-vsock packet header (44 bytes, little-endian; virtio 1.2, the vsock device):
 * decode and check what the guest sent, encode what the device sends, and
 * the iovecs over a payload. Nothing here knows connections. */
#include <endian.h>
#include <string.h>

#include "virtio/vsock_internal.h"

void vsock_hdr_swap(struct vsock_hdr *h)
{
	/* le*toh and hto* are the same swap (or none) both ways. */
	h->src_cid = le64toh(h->src_cid);
	h->dst_cid = le64toh(h->dst_cid);
	h->src_port = le32toh(h->src_port);
	h->dst_port = le32toh(h->dst_port);
	h->len = le32toh(h->len);
	h->type = le16toh(h->type);
	h->op = le16toh(h->op);
	h->flags = le32toh(h->flags);
	h->buf_alloc = le32toh(h->buf_alloc);
	h->fwd_cnt = le32toh(h->fwd_cnt);
}

bool vsock_hdr_decode(const struct virtq_chain *ch, struct vsock_hdr *h)
{
	if (ch->rlen < VSOCK_HDR_SIZE)
		return false;
	virtq_chain_read(ch, 0, h, VSOCK_HDR_SIZE);
	vsock_hdr_swap(h);
	return true;
}

bool vsock_hdr_well_formed(const struct vsock_hdr *h, uint32_t readable)
{
	return h->type == VSOCK_TYPE_STREAM && h->len <= VSOCK_MAX_PKT && readable >= VSOCK_HDR_SIZE &&
		h->len <= readable - VSOCK_HDR_SIZE && (h->op == VSOCK_OP_RW || h->len == 0) &&
		h->op != VSOCK_OP_INVALID && h->op <= VSOCK_OP_CREDIT_REQUEST;
}

void vsock_hdr_encode(const struct virtq_chain *ch, const struct vsock_hdr *h)
{
	struct vsock_hdr le = *h;
	vsock_hdr_swap(&le);
	virtq_chain_write(ch, 0, &le, VSOCK_HDR_SIZE);
}

int vsock_chain_iov(const struct virtq_chain *ch, bool writable, size_t off, size_t len, struct iovec *iov,
		    int max)
{
	int n = 0;
	unsigned from = writable ? ch->nr : 0, to = writable ? (unsigned)ch->nr + ch->nw : ch->nr;
	for (unsigned i = from; i < to && len > 0 && n < max; i++) {
		size_t sl = ch->seg[i].len;
		if (off >= sl) {
			off -= sl;
			continue;
		}
		size_t take = sl - off < len ? sl - off : len;
		iov[n].iov_base = ch->seg[i].p + off;
		iov[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return n;
}
