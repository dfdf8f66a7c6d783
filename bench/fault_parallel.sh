#!/usr/bin/env bash
# The seed's claim, measured: a guest that writes all of its memory from
# every vCPU at once, with carve's pre-built memory (populated, and mapped by
# KVM_PRE_FAULT_MEMORY where KVM offers it, before the first instruction:
# docs/vmm.md § Memory) against memory left to first touch
# (CARVE_VMM_LAZY_MEMORY=1: each first write takes a host page fault and a
# stage-2 fault in KVM). The seed claimed over 50% better with 32 vCPUs and
# 64 GiB.
#
# The guest is carve's test guest with "smp dirty" (tests/guests/guest.c):
# every CPU writes one byte of each 4 KiB page of a contiguous share of RAM
# from 16 MiB up (at most 1 GiB, what its boot page tables map), all
# starting on one signal; the BSP reports the TSC cycles until the last CPU
# is done, and the VMM the host page faults the process took while the
# guest ran. Cycles are the guest's TSC: compare within one run only.
#
#   bench/fault_parallel.sh          (BENCH_RUNS=3 BENCH_MEM=256 BENCH_CPUS=2)
#   tests/hwkvm/run.sh --tests ../bench/fault_parallel   in the hardware-KVM bed
#
# On a PVM host (DESIGN.md § Two KVMs) the test guest's kernel-mode code runs
# in KVM's instruction emulator, so most of each write is emulation and the
# ratio shows little; in the bed L2 runs on L1's hardware KVM (itself under
# QEMU TCG: ratios only).
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
RUNS=${BENCH_RUNS:-3}
MEM=${BENCH_MEM:-256}
CPUS=${BENCH_CPUS:-2}
CARVE=${CARVE_RELEASE:-$ROOT/build/bin/carve}
GUEST=$ROOT/build/guests/carve-guest.elf
[ -c /dev/kvm ] || { echo "fault_parallel bench: no /dev/kvm" >&2; exit 1; }
[ -x "$CARVE" ] || { echo "build carve first: make" >&2; exit 1; }
[ -f "$GUEST" ] || { echo "build the test guest first: make guests" >&2; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# One run: prints "<cycles> <host faults> <pages> <cpus>".
one() { # lazy(0|1)
	CARVE_VMM_LAZY_MEMORY=$1 timeout 900 "$CARVE" vmm --verbose --kernel "$GUEST" --memory "$MEM" \
		--cpus "$CPUS" --cmdline "smp dirty" </dev/null >"$W/out" 2>"$W/err" || {
		echo "the dirtying guest failed (lazy=$1):" >&2
		tail -5 "$W/out" "$W/err" >&2
		exit 1
	}
	local cycles faults pages cpus
	cycles=$(sed -n 's/^guest: dirty cpus=[0-9]* cycles=\([0-9]*\)$/\1/p' "$W/out")
	cpus=$(sed -n 's/^guest: dirty cpus=\([0-9]*\) .*/\1/p' "$W/out")
	pages=$(sed -n 's/^guest: dirtied pages=\([0-9]*\)$/\1/p' "$W/out")
	faults=$(sed -n 's/^vmm: host page faults while the guest ran: \([0-9]*\)$/\1/p' "$W/err")
	[ -n "$cycles" ] && [ -n "$faults" ] || { echo "no result (lazy=$1)" >&2; cat "$W/out" >&2; exit 1; }
	echo "$cycles $faults $pages $cpus"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$W/built"
: >"$W/lazy"
# Alternating, so that load that comes and goes falls on both alike.
for _ in $(seq "$RUNS"); do
	one 0 >>"$W/built"
	one 1 >>"$W/lazy"
done
col() { cut -d' ' -f"$2" "$W/$1" | median; }
b=$(col built 1) l=$(col lazy 1)
printf '%s MiB, %s vCPUs (%s running in the guest), %s pages written, median of %s runs\n' "$MEM" "$CPUS" \
	"$(col built 4)" "$(col built 3)" "$RUNS"
printf '%-44s %16s %12s\n' "" "guest TSC cycles" "host faults"
printf '%-44s %16s %12s\n' "pre-built (carve: populated before start)" "$b" "$(col built 2)"
printf '%-44s %16s %12s\n' "first touch (CARVE_VMM_LAZY_MEMORY=1)" "$l" "$(col lazy 2)"
awk -v b="$b" -v l="$l" 'BEGIN { printf "pre-built / first touch: %.3g (%.1f%% less time)\n", b / l, 100 * (1 - b / l) }'
