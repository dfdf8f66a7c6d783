#!/usr/bin/env bash
# Enclave -> host stream throughput over the three ways carve carries vsock,
# beside AF_VSOCK loopback on the same machine, in one run (docs/vsock.md):
#   - unix:   carve's user-space device, the host side a Unix socket
#             (port-P.sock);
#   - bridge: carve's user-space device relaying to the host kernel's
#             vhost-vsock (--af-vsock on), the host side an AF_VSOCK listener;
#   - kernel: the enclave's rings handed to vhost-vsock after the heartbeat
#             (--af-vsock kernel): carve out of the data path;
#   - loopback: two host programs over vsock_loopback (CID 1), no VM at all.
# The enclave is a Linux EIF (Debian's kernel, carve-init) running vsockprobe
# bulk; the receiver (tests/tools/vsock_sink) times first byte to end.
#
#   tests/hwkvm/run.sh --tests ../bench/af_vsock     # in the bed's L1
#   bench/af_vsock.sh [MiB]                          # where KVM and vhost_vsock exist
#
# In the bed every time is emulated (QEMU TCG runs L1): only the ratios mean
# something, never the MiB/s.
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
MIB=${1:-${CARVE_BENCH_MIB:-64}}
C=${CARVE_RELEASE:-$ROOT/build/bin/carve}
SINK=$ROOT/build/tests/tools/vsock_sink
work=$(mktemp -d /tmp/carve-bench.XXXXXX)
export CARVE_STATE_DIR=$work/state CARVE_SOCKETS_DIR=$work/sockets CARVE_VSOCK_DIR=$work/vs
trap '$C terminate-enclave --all >/dev/null 2>&1; rm -rf "$work"' EXIT
mkdir -p "$CARVE_VSOCK_DIR"
[ -c /dev/vhost-vsock ] || { echo "af_vsock bench: no /dev/vhost-vsock (modprobe vhost_vsock)"; exit 1; }

# One Linux EIF per parent CID: vsockprobe bulk to port 7000.
eif() { # parent-cid
	local dir=$work/app-$1
	mkdir -p "$dir/rootfs/bin"
	cp "$ROOT/build/guest/progs/musl/vsockprobe" "$dir/rootfs/bin/"
	printf '/bin/vsockprobe\nbulk\n7000\n%s\n' $((MIB << 20)) >"$dir/cmd"
	printf 'VSOCKPROBE_PARENT_CID=%s\n' "$1" >"$dir/env"
	(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$dir.cpio"
	$C build-enclave --kernel "$ROOT/build/guest/bzImage" \
		--cmdline "console=ttyS0 reboot=k panic=-1 random.trust_cpu=on" \
		--ramdisk "$ROOT/build/guest/bootstrap-initrd.img" --ramdisk "$dir.cpio" \
		--output-file "$work/parent-$1.eif" >/dev/null 2>"$work/build.err" || { cat "$work/build.err"; exit 1; }
}
eif 3
eif 2

waitfor() { for _ in $(seq 200); do grep -q listening "$1" && return 0; sleep 0.05; done; return 1; }
rate() { sed -n 's/.*MiB\/s \([0-9.]*\).*/\1/p' "$1"; }

run() { # name, sink args, then carve vmm arguments
	local name=$1 sink=$2
	shift 2
	# shellcheck disable=SC2086 # the sink's arguments are words
	"$SINK" $sink >"$work/$name.sink" 2>&1 &
	local pid=$!
	waitfor "$work/$name.sink"
	timeout 600 $C vmm --memory 512 --cpus 1 --enclave-cid 40 "$@" </dev/null >"$work/$name.vmm" 2>&1
	wait $pid
	r[$name]=$(rate "$work/$name.sink")
	[ -n "${r[$name]}" ] || { echo "$name: no result"; tail -5 "$work/$name.vmm" "$work/$name.sink"; }
}
declare -A r
run unix "unix $CARVE_VSOCK_DIR/port-7000.sock" --eif-path "$work/parent-3.eif"
rm -f "$CARVE_VSOCK_DIR/port-7000.sock"
run bridge "vsock 7000" --eif-path "$work/parent-3.eif" --af-vsock on
run kernel "vsock 7000" --eif-path "$work/parent-2.eif" --af-vsock kernel --verbose
# The number is the kernel datapath's only if the rings were handed over.
grep -q 'rings handed to the host kernel' "$work/kernel.vmm" ||
	{ echo "kernel: the rings were not handed over; this row is not the kernel datapath"; r[kernel]=; }
"$SINK" vsock 7001 >"$work/loop.sink" 2>&1 &
pid=$!
waitfor "$work/loop.sink"
"$SINK" send 1 7001 "$MIB"
wait $pid
r[loopback]=$(rate "$work/loop.sink")

base=${r[loopback]:-0}
printf 'enclave -> host, %s MiB (MiB/s; ratios to AF_VSOCK loopback)\n' "$MIB"
printf '%-58s %10s %8s\n' path MiB/s ratio
for k in unix bridge kernel loopback; do
	v=${r[$k]:-}
	ratio=$(awk -v a="${v:-0}" -v b="$base" 'BEGIN { if (b > 0 && a > 0) printf "%.2f", a / b; else print "-" }')
	case $k in
	unix) what="carve's device, Unix socket host side" ;;
	bridge) what="carve's device relaying to vhost-vsock (--af-vsock on)" ;;
	kernel) what="rings handed to vhost-vsock (--af-vsock kernel)" ;;
	loopback) what="AF_VSOCK loopback on the host (CID 1), no VM" ;;
	esac
	printf '%-58s %10s %8s\n' "$what" "${v:--}" "$ratio"
done
