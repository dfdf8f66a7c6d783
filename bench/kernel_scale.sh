#!/usr/bin/env bash
# The carve enclave kernel's own costs at scale:
#   1. console throughput: a guest program (bench lines) writes MIB MiB of
#      numbered lines to stdout in 64 KiB writes; the rate is the program's
#      own (its clock, first write to last), and the host checks every line
#      arrived. Beside it, the host writing the same bytes to a pipe.
#   2. boot with 0, 1,000 and 10,000 files in one directory: the kernel's
#      time to read and index the initrd and its entry-to-program time
#      (both printed under carve.debug, the kernel's clock), and the wall
#      time of `carve vmm`, median of RUNS. Linear growth is the point: the
#      per-file column should stay flat.
#
#   bench/kernel_scale.sh [MIB] [RUNS]                 where /dev/kvm exists
#   tests/hwkvm/run.sh --tests ../bench/kernel_scale   in the bed's L1
#
# In the bed every time is emulated (QEMU TCG runs L1): only ratios and
# growth mean something, never the absolute numbers.
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
MIB=${1:-${CARVE_BENCH_MIB:-4}}
RUNS=${2:-3}
C=${CARVE_RELEASE:-$ROOT/build/bin/carve}
KERNEL=${CARVE_KERNEL:-$ROOT/build/guest/carve-kernel.elf}
BENCH=$ROOT/build/guest/progs/musl/bench
MKINITRD=$ROOT/tests/lib/make-initrd.sh
[ -c /dev/kvm ] || { echo "kernel_scale bench: no /dev/kvm (tests/hwkvm/run.sh --tests ../bench/kernel_scale)"; exit 1; }
for f in "$C" "$KERNEL" "$BENCH"; do [ -e "$f" ] || { echo "kernel_scale bench: $f is not built"; exit 1; }; done
work=$(mktemp -d /tmp/carve-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
boot() { # INITRD CMDLINE -> console in $work/console
	timeout 900 "$C" vmm --kernel "$KERNEL" --initrd "$1" --cmdline "$2" --memory 512 --cpus 1 \
		>"$work/console" 2>"$work/vmm-err" || { tail -5 "$work/vmm-err" "$work/console"; exit 1; }
}

# 1. Console throughput.
mkdir -p "$work/rootfs/bin"
cp "$BENCH" "$work/rootfs/bin/bench"
lines=$((MIB * 1048576 / 9))
"$MKINITRD" -o "$work/lines.cpio" "$work/rootfs" /bin/bench lines "$lines"
boot "$work/lines.cpio" ""
us=$(sed -n 's/^lines: [0-9]* in \([0-9]*\) us.*/\1/p' "$work/console")
got=$(grep -ac '^[0-9]\{8\}$' "$work/console" || true)
[ "$got" = "$lines" ] || { echo "console: $got of $lines lines arrived"; exit 1; }
seq -f '%08.0f' 0 $((lines - 1)) >"$work/lines.txt"
t0=$(now)
dd if="$work/lines.txt" bs=64k status=none | cat >/dev/null
host_us=$((($(now) - t0) / 1000))
guest_rate=$(awk -v b=$((lines * 9)) -v us="$us" 'BEGIN { printf "%.2f", b / us / 1.048576 }')
host_rate=$(awk -v b=$((lines * 9)) -v us="$host_us" 'BEGIN { printf "%.1f", b / (us ? us : 1) / 1.048576 }')
printf 'console: %s MiB of lines (all %s arrived in order of count)\n' "$MIB" "$lines"
printf '%-52s %10s\n' "" "MiB/s"
printf '%-52s %10s\n' "guest program -> carve kernel -> console port -> vmm" "$guest_rate"
printf '%-52s %10s\n' "host: dd to a pipe, 64 KiB writes" "$host_rate"
printf '%-52s %10s\n' "ratio host / guest" "$(awk -v h="$host_rate" -v g="$guest_rate" 'BEGIN { printf "%.0f", h / g }')"

# 2. Boot with many files in one directory.
echo
printf 'boot, files in one directory (median of %s)   %10s %10s %10s %10s\n' "$RUNS" "index us" "us/file" "start us" "wall ms"
for n in 0 1000 10000; do
	rm -rf "$work/rootfs/d"
	mkdir -p "$work/rootfs/d"
	[ "$n" -gt 0 ] && (cd "$work/rootfs/d" && for i in $(seq -f '%05.0f' 0 $((n - 1))); do : >"f$i"; done)
	"$MKINITRD" -o "$work/boot.cpio" "$work/rootfs" /bin/bench
	: >"$work/index"; : >"$work/start"; : >"$work/wall"
	for _ in $(seq "$RUNS"); do
		t0=$(now)
		boot "$work/boot.cpio" carve.debug
		echo $((($(now) - t0) / 1000000)) >>"$work/wall"
		sed -n 's/^carve: initrd: .* indexed in \([0-9]*\) us$/\1/p' "$work/console" >>"$work/index"
		sed -n 's/^carve: starting .* after \([0-9]*\) us of boot$/\1/p' "$work/console" >>"$work/start"
	done
	idx=$(median <"$work/index")
	per=$(awk -v i="$idx" -v n="$n" 'BEGIN { if (n) printf "%.2f", i / n; else print "-" }')
	printf '%-46s %10s %10s %10s %10s\n' "$n files" "$idx" "$per" "$(median <"$work/start")" \
		"$(median <"$work/wall")"
done
