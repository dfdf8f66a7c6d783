#!/usr/bin/env bash
# What SMP in the carve kernel gives and costs: each workload of
# tests/kernel-progs/smpbench.c run in one enclave kernel with one vCPU, and
# with CPUS vCPUs used (the default) and not used (carve.nosmp), side by side
# in one run; the median of RUNS wall times the program measured itself, and
# the speed-up of CPUS vCPUs over one (> 1: SMP pays).
#
#   bench/kernel_smp.sh [CPUS] [RUNS]                        where /dev/kvm exists
#   tests/hwkvm/run.sh --mttcg --smp 2 --tests ../bench/kernel_smp   in the bed
#
# CPUS vCPUs need as many free host CPUs to mean anything: in the bed the
# L1 needs --smp CPUS, and every time is emulated (QEMU TCG runs L1), so
# only the ratios mean something there.
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
CPUS=${1:-2}
RUNS=${2:-3}
C=${CARVE_RELEASE:-$ROOT/build/bin/carve}
KERNEL=${CARVE_KERNEL:-$ROOT/build/guest/carve-kernel.elf}
PROG=$ROOT/build/guest/progs/musl/smpbench
MKINITRD=$ROOT/tests/lib/make-initrd.sh
[ -c /dev/kvm ] || { echo "kernel_smp bench: no /dev/kvm (tests/hwkvm/run.sh --mttcg --smp 2 --tests ../bench/kernel_smp)"; exit 1; }
for f in "$C" "$KERNEL" "$PROG"; do [ -e "$f" ] || { echo "kernel_smp bench: $f is not built"; exit 1; }; done
work=$(mktemp -d /tmp/carve-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin"
cp "$PROG" "$work/rootfs/bin/smpbench"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# time_us CPUS CMDLINE ARGS... -> the program's own microseconds, median of RUNS
time_us() {
	local cpus=$1 cmdline=$2
	shift 2
	"$MKINITRD" -o "$work/app.cpio" "$work/rootfs" /bin/smpbench "$@"
	for _ in $(seq "$RUNS"); do
		timeout 600 "$C" vmm --kernel "$KERNEL" --initrd "$work/app.cpio" --cmdline "$cmdline" \
			--memory 256 --cpus "$cpus" >"$work/out" 2>"$work/err" ||
			{ tail -5 "$work/err" "$work/out" >&2; exit 1; }
		sed -n 's/^[a-z]*: \([0-9]*\) us .*/\1/p' "$work/out"
	done | median
}

echo "carve kernel SMP: median of $RUNS runs, the program's own wall time (us); $(nproc) host CPUs"
printf '%-34s %12s %12s %12s %9s\n' "workload" "1 vCPU" "$CPUS vCPUs" "$CPUS, nosmp" "speed-up"
row() { # LABEL ARGS...
	local label=$1 one many nosmp
	shift
	one=$(time_us 1 "" "$@")
	many=$(time_us "$CPUS" "" "$@")
	nosmp=$(time_us "$CPUS" carve.nosmp "$@")
	printf '%-34s %12s %12s %12s %9s\n' "$label" "$one" "$many" "$nosmp" \
		"$(awk -v a="$one" -v b="$many" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
}
row "spin: $CPUS threads of user work" spin "$CPUS" 100000000
row "syscalls: $CPUS threads of getppid" syscalls "$CPUS" 20000
row "pingpong: futex turns, 2 threads" pingpong 5000
row "forks: fork+exit+wait" forks 200
