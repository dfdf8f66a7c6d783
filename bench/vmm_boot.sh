#!/usr/bin/env bash
# carve vmm vs qemu-system-x86_64 -M microvm, booting the same Debian cloud
# kernel with the same command line, memory and vCPUs:
#   - time from process start to the guest's first serial byte (median of N);
#   - VMM resident memory beyond guest memory, sampled 1 s after that byte:
#     total RSS minus the RSS of mappings as large as guest memory (the way
#     Firecracker's memory-overhead test classifies mappings).
#
#   bench/vmm_boot.sh                 (BENCH_RUNS=5 BENCH_MEM=256 BENCH_CPUS=2)
#   BENCH_KERNEL=vmlinuz bench/vmm_boot.sh   boot the bzImage instead of vmlinux
#
# The default kernel is the vmlinux (ELF) inside Debian's bzImage: on hosts
# whose KVM emulates guest kernel code (PVM, DESIGN.md) the bzImage's
# decompressor cannot run, so it prints nothing. QEMU boots the same ELF
# through its PVH note, carve through the Linux 64-bit boot protocol.
# Needs: scripts/setup.sh --bench (qemu-system-x86), a release build (make).
set -u
cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-5}
MEM=${BENCH_MEM:-256}
CPUS=${BENCH_CPUS:-2}
CMDLINE="console=ttyS0 earlyprintk=ttyS0 reboot=k panic=-1"
CARVE=${CARVE_RELEASE:-$PWD/build/bin/carve}
QEMU=$(command -v qemu-system-x86_64 || true)
[ -x "$CARVE" ] || { echo "build carve first: make" >&2; exit 1; }
[ -n "$QEMU" ] || { echo "qemu-system-x86_64 missing: scripts/setup.sh --bench" >&2; exit 1; }
if [ "${BENCH_KERNEL:-vmlinux}" = vmlinuz ]; then
	KERNEL=$(scripts/fetch-debian-kernel.sh --quiet) || exit 1
else
	KERNEL=$(scripts/fetch-debian-kernel.sh --quiet --vmlinux) || exit 1
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# Total RSS and guest-memory RSS (kB) of a process.
rss() {
	awk -v guest_kb=$((MEM * 1024)) '
		/^Size:/ { size = $2 }
		/^Rss:/ { total += $2; if (size >= guest_kb) guest += $2 }
		END { print total, guest }' "/proc/$1/smaps"
}

# Runs one VMM; prints "<ms to first byte> <overhead kB>".
one() {
	local fifo=$W/fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	local t0 t1 pid c
	t0=$(date +%s%N)
	"$@" </dev/null >"$fifo" 2>"$W/err" &
	pid=$!
	exec 3<"$fifo"
	if ! IFS= read -r -n 1 -u 3 c; then
		echo "no console output from: $*" >&2
		cat "$W/err" >&2
		exec 3<&-
		return 1
	fi
	t1=$(date +%s%N)
	cat <&3 >/dev/null &
	local drain=$!
	sleep 1
	local r
	r=$(rss "$pid")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	kill "$drain" 2>/dev/null
	wait "$drain" 2>/dev/null
	exec 3<&-
	set -- $r
	echo "$(( (t1 - t0) / 1000000 )) $(( $1 - $2 ))"
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

bench() { # name cmd...
	local name=$1; shift
	: >"$W/$name"
	for _ in $(seq "$RUNS"); do one "$@" >>"$W/$name" || return 1; done
}

bench carve "$CARVE" vmm --kernel "$KERNEL" --memory "$MEM" --cpus "$CPUS" --cmdline "$CMDLINE" || exit 1
bench qemu "$QEMU" -M microvm,x-option-roms=off,isa-serial=on,rtc=off -enable-kvm -cpu host \
	-m "$MEM" -smp "$CPUS" -nodefaults -no-user-config -display none -monitor none -serial stdio \
	-kernel "$KERNEL" -append "$CMDLINE" || exit 1

echo "kernel: $(basename "$KERNEL") ($(cat cache/debian-kernel/version)), ${MEM} MiB, ${CPUS} vCPUs, $RUNS runs, medians"
printf '%-34s %12s %12s\n' "" "carve vmm" "qemu microvm"
printf '%-34s %12s %12s\n' "process start -> first serial byte" \
	"$(cut -d' ' -f1 "$W/carve" | median) ms" "$(cut -d' ' -f1 "$W/qemu" | median) ms"
printf '%-34s %12s %12s\n' "VMM RSS beyond guest memory" \
	"$(( $(cut -d' ' -f2 "$W/carve" | median) / 1024 )) MiB" "$(( $(cut -d' ' -f2 "$W/qemu" | median) / 1024 )) MiB"
printf '%-34s %12s %12s\n' "  (kB)" "$(cut -d' ' -f2 "$W/carve" | median)" "$(cut -d' ' -f2 "$W/qemu" | median)"
