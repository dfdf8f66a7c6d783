/* virtio-vsock internals shared with the fuzz target and tests: the packet
 * handler and the rx pump, usable without the device thread. Private to the
 * virtio part. */
#ifndef CARVE_VIRTIO_VSOCK_INTERNAL_H
#define CARVE_VIRTIO_VSOCK_INTERNAL_H

#include "carve/virtio.h"

/* Takes the queues of run (no thread). 0 or -EINVAL. */
int vsock_attach(struct vsock_dev *v, const struct virtio_run *run);
/* Drops every connection and the queues. */
void vsock_detach(struct vsock_dev *v);
/* Handles one guest packet: the readable part of c (header + payload). */
void vsock_tx_packet(struct vsock_dev *v, const struct virtq_chain *c);
/* Fills rx buffers with pending packets (round-robin over connections);
 * returns the number of packets delivered. */
int vsock_rx_pump(struct vsock_dev *v);
/* One pass of the device loop's housekeeping: frees dead connections,
 * expires timers, pumps rx. Returns the next timeout in ms (-1: none). */
int vsock_housekeeping(struct vsock_dev *v);
/* Live connections (for tests). */
int vsock_nconns(const struct vsock_dev *v);

#endif
