#!/usr/bin/env bash
# carve vmm vs qemu-system-x86_64 -M microvm, booting the same Debian cloud
# kernel with the same command line, memory and vCPUs:
#   - time from process start to the guest's first serial byte (median of N);
#   - VMM resident memory beyond guest memory, sampled 1 s after that byte:
#     total RSS minus the RSS of mappings as large as guest memory (the way
#     Firecracker's memory-overhead test classifies mappings).
# and the same for carve's test guest (tests/guests), which prints its first
# byte a few instructions after entry: there the time is the VMM's own
# start-up (QEMU enters it through its PVH note, carve at its ELF entry).
#
#   bench/vmm_boot.sh                 (BENCH_RUNS=5 BENCH_MEM=256 BENCH_CPUS=2)
#   BENCH_KERNEL=vmlinuz bench/vmm_boot.sh   boot the bzImage instead of vmlinux
#
# The default kernel is the vmlinux (ELF) inside Debian's bzImage: on hosts
# whose KVM emulates guest kernel code (PVM, DESIGN.md) the bzImage's
# decompressor cannot run, so it prints nothing. QEMU boots the same ELF
# through its PVH note, carve through the Linux 64-bit boot protocol.
# Needs: scripts/setup.sh (qemu-system-x86), a release build (make).
set -u
cd "$(dirname "$0")/.." || exit 1
RUNS=${BENCH_RUNS:-5}
MEM=${BENCH_MEM:-256}
CPUS=${BENCH_CPUS:-2}
CMDLINE="console=ttyS0 earlyprintk=ttyS0 reboot=k panic=-1"
CARVE=${CARVE_RELEASE:-$PWD/build/bin/carve}
QEMU=$(command -v qemu-system-x86_64 || true)
[ -x "$CARVE" ] || { echo "build carve first: make" >&2; exit 1; }
[ -n "$QEMU" ] || { echo "qemu-system-x86_64 missing: scripts/setup.sh" >&2; exit 1; }
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
	local t0 t1 pid
	t0=$(date +%s%N)
	"$@" </dev/null >"$fifo" 2>"$W/err" &
	pid=$!
	exec 3<"$fifo"
	if ! IFS= read -r -n 1 -u 3 _; then
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

run_pair() { # tag kernel cmdline
	bench "carve-$1" "$CARVE" vmm --kernel "$2" --memory "$MEM" --cpus "$CPUS" --cmdline "$3" || exit 1
	bench "qemu-$1" "$QEMU" -M microvm,x-option-roms=off,isa-serial=on,rtc=off -enable-kvm -cpu host \
		-m "$MEM" -smp "$CPUS" -nodefaults -no-user-config -display none -monitor none -serial stdio \
		-kernel "$2" -append "$3" || exit 1
}
GUEST=$PWD/build/guests/carve-guest.elf
[ -f "$GUEST" ] || make -s guests >/dev/null
run_pair linux "$KERNEL" "$CMDLINE"
run_pair guest "$GUEST" "stop=hang"

col() { cut -d' ' -f"$2" "$W/$1" | median; }
row() { printf '%-44s %12s %12s\n' "$@"; }
echo "${MEM} MiB, ${CPUS} vCPUs, median of $RUNS runs"
row "" "carve vmm" "qemu microvm"
for tag in linux guest; do
	if [ $tag = linux ]; then
		echo "Debian $(cat cache/debian-kernel/version) ($(basename "$KERNEL")), cmdline: $CMDLINE"
	else
		echo "carve test guest (tests/guests/carve-guest.elf)"
	fi
	row "  process start -> first serial byte" "$(col carve-$tag 1) ms" "$(col qemu-$tag 1) ms"
	row "  VMM RSS beyond guest memory" "$(col carve-$tag 2) kB" "$(col qemu-$tag 2) kB"
done
