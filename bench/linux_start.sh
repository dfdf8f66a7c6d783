#!/usr/bin/env bash
# run-enclave until the heartbeat: the same hello program in an EIF with the
# carve enclave kernel and in a Linux EIF (Debian's cloud kernel, carve-init,
# the modules), side by side, median of N runs each, and their ratio.
#
#   bench/linux_start.sh [N]
#   tests/hwkvm/run.sh --tests ../bench/linux_start    # on real KVM (L1)
#
# A Linux guest kernel cannot boot on PVM hosts, so this runs in the
# hardware-KVM bed; there every time is emulated (QEMU TCG runs L1): only the
# ratio means something, never the milliseconds.
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
N=${1:-3}
C=${CARVE_RELEASE:-$ROOT/build/bin/carve}
work=$(mktemp -d /tmp/carve-bench.XXXXXX)
export CARVE_STATE_DIR=$work/state CARVE_SOCKETS_DIR=$work/sockets
trap '$C terminate-enclave --all >/dev/null 2>&1; rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin"
cp "$ROOT/build/guest/apps/hello" "$work/rootfs/bin/hello"
for kind in carve linux; do
	$C build-enclave --rootfs "$work/rootfs" --cmd "/bin/hello" --kernel-kind $kind \
		--output-file "$work/$kind.eif" >/dev/null 2>"$work/build.err" || { cat "$work/build.err"; exit 1; }
done

now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A ms
for kind in carve linux; do
	for _ in $(seq "$N"); do
		t0=$(now)
		$C run-enclave --eif-path "$work/$kind.eif" --memory 512 --cpu-count 1 >/dev/null 2>"$work/run.err" ||
			{ cat "$work/run.err"; exit 1; }
		echo $(( ($(now) - t0) / 1000000 ))
		$C terminate-enclave --all >/dev/null 2>&1
	done >"$work/$kind.ms"
	ms[$kind]=$(median <"$work/$kind.ms")
done
printf '%-44s %10s\n' "run-enclave to heartbeat (median of $N)" "ms"
printf '%-44s %10s\n' "carve enclave kernel, hello" "${ms[carve]}"
printf '%-44s %10s\n' "Linux (Debian cloud kernel + carve-init), hello" "${ms[linux]}"
printf '%-44s %10s\n' "ratio Linux / carve kernel" "$(awk -v l="${ms[linux]}" -v c="${ms[carve]}" 'BEGIN { printf "%.1f", l / c }')"
