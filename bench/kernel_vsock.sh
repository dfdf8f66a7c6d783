#!/usr/bin/env bash
# vsock stream throughput from a program on the carve enclave kernel to a
# host program and back, beside a Unix socket pair moving the same bytes on
# the same machine, in one run (issue 16; docs/vsock.md).
#
# The enclave (carve build-enclave --rootfs, booted with carve vmm
# --eif-path) runs tests/kernel-progs/vsockbench: it writes MIB MiB of a
# pattern to CID 3 port 7100 in 256 KiB writes, then reads MIB MiB from port
# 7101. The host end is tests/tools/vsock_pattern on port-7100.sock and
# port-7101.sock, which checks every byte it receives (the program checks
# what it reads the same way). Rates: guest->host is the host's, first byte
# to end of stream; host->guest is the program's own clock, connection up to
# last byte. The baseline is vsock_pattern pair: a writer process and a
# checking reader on a socketpair, 256 KiB at a time.
#
#   bench/kernel_vsock.sh [MIB]                        where /dev/kvm exists
#   tests/hwkvm/run.sh --tests ../bench/kernel_vsock   in the bed's L1
#
# In the bed every time is emulated (QEMU TCG runs L1): only ratios mean
# something, never the MiB/s.
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
MIB=${1:-${CARVE_BENCH_MIB:-64}}
C=${CARVE_RELEASE:-$ROOT/build/bin/carve}
KERNEL=${CARVE_KERNEL:-$ROOT/build/guest/carve-kernel.elf}
PROG=$ROOT/build/guest/progs/musl/vsockbench
PAT=$ROOT/build/tests/tools/vsock_pattern
[ -c /dev/kvm ] || { echo "kernel_vsock bench: no /dev/kvm (tests/hwkvm/run.sh --tests ../bench/kernel_vsock)"; exit 1; }
for f in "$C" "$KERNEL" "$PROG" "$PAT"; do [ -e "$f" ] || { echo "kernel_vsock bench: $f is not built"; exit 1; }; done
work=$(mktemp -d /tmp/carve-bench.XXXXXX)
export CARVE_STATE_DIR=$work/state CARVE_VSOCK_DIR=$work/vs
trap 'kill $peer 2>/dev/null || true; rm -rf "$work"' EXIT
peer=
mkdir -p "$CARVE_VSOCK_DIR" "$work/rootfs/bin"
cp "$PROG" "$work/rootfs/bin/vsockbench"
bytes=$((MIB << 20))
"$C" build-enclave --kernel "$KERNEL" --cmdline console=ttyS0 --rootfs "$work/rootfs" \
	--cmd "/bin/vsockbench 7100 $bytes" --output-file "$work/bench.eif" >"$work/build.log" 2>&1 ||
	{ tail -5 "$work/build.log"; exit 1; }

"$PAT" serve "$CARVE_VSOCK_DIR" 7100 "$bytes" >"$work/host.out" 2>&1 &
peer=$!
for _ in $(seq 100); do grep -qs listening "$work/host.out" && break; sleep 0.1; done
timeout 900 "$C" vmm --eif-path "$work/bench.eif" --memory 512 --cpus 1 >"$work/guest.out" 2>&1 ||
	{ tail -5 "$work/guest.out"; exit 1; }
wait $peer || { cat "$work/host.out"; tail -5 "$work/guest.out"; exit 1; }
peer=
grep -q '^recv content ok' "$work/guest.out" || { grep -a -E 'FAIL|recv|send' "$work/guest.out"; exit 1; }
"$PAT" pair "$bytes" >"$work/pair.out" || { cat "$work/pair.out"; exit 1; }

rate() { sed -n "s/^$1 .* MiB\/s \([0-9.]*\) content ok$/\1/p" "$2"; }
g2h=$(rate guest-\>host "$work/host.out")
us=$(sed -n 's/^recv [0-9]* bytes in \([0-9]*\) us$/\1/p' "$work/guest.out")
h2g=$(awk -v b="$bytes" -v us="$us" 'BEGIN { printf "%.1f", b / (us ? us : 1) / 1.048576 }')
pair=$(rate unix-pair "$work/pair.out")
printf 'vsock, carve enclave kernel <-> host Unix socket: %s MiB each way, every byte checked\n' "$MIB"
printf '%-56s %10s %8s\n' "" "MiB/s" "of pair"
pct() { awk -v a="$1" -v b="$pair" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
printf '%-56s %10s %8s\n' "guest program -> vsock -> host program (host's clock)" "$g2h" "$(pct "$g2h")"
printf '%-56s %10s %8s\n' "host program -> vsock -> guest program (guest's clock)" "$h2g" "$(pct "$h2g")"
printf '%-56s %10s %8s\n' "host: Unix socket pair, 256 KiB writes, checked" "$pair" "100%"
