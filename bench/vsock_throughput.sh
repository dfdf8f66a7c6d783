#!/usr/bin/env bash
# vsock stream throughput through carve's virtio-vsock device, guest->host and
# host->guest, beside a plain Unix socket pair on the same machine, in one
# run. The guest driver is simulated in the same process (real virtqueues,
# eventfd kicks and interrupts), so this measures the device and its host
# sockets, not a guest kernel or KVM exits.
#
#   bench/vsock_throughput.sh [MiB per direction]   (default 128)
set -eu
cd "$(dirname "$0")/.."
make -s -j"$(nproc 2>/dev/null || echo 2)" build/bench/vsock_bench >/dev/null
exec build/bench/vsock_bench "${1:-128}"
