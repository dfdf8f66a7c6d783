#!/usr/bin/env bash
# run-enclave to heartbeat, one enclave and then N started together: wall time
# until every run-enclave has returned (each returns after its enclave's
# heartbeat), and the host memory the enclave processes use (Pss, which
# counts their populated guest memory).
#   bench/enclave_start.sh [N] [MEMORY_MIB]
set -eu
cd "$(dirname "$0")/.."
N=${1:-20}
MEM=${2:-64}
make -s -j"$(nproc)" all >/dev/null
C=$PWD/build/bin/carve
work=$(mktemp -d /tmp/carve-bench.XXXXXX)
export CARVE_STATE_DIR=$work/state CARVE_SOCKETS_DIR=$work/sockets
trap '$C terminate-enclave --all >/dev/null 2>&1; rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin"
cp build/guest/apps/hello "$work/rootfs/bin/hello"
$C build-enclave --rootfs "$work/rootfs" --cmd "/bin/hello" --output-file "$work/h.eif" >/dev/null 2>&1

now() { date +%s.%N; }
t0=$(now)
$C run-enclave --eif-path "$work/h.eif" --memory "$MEM" --cpu-count 1 >/dev/null 2>"$work/one.err" ||
	{ cat "$work/one.err"; exit 1; }
t1=$(now)
one=$(echo "($t1 - $t0) * 1000" | bc -l)
$C terminate-enclave --all >/dev/null 2>&1

t0=$(now)
for i in $(seq "$N"); do
	$C run-enclave --eif-path "$work/h.eif" --memory "$MEM" --cpu-count 1 --enclave-name "e$i" \
		>/dev/null 2>"$work/e$i.err" &
done
fails=0
for job in $(jobs -p); do wait "$job" || fails=$((fails + 1)); done
t1=$(now)
all=$(echo "($t1 - $t0) * 1000" | bc -l)
running=$($C describe-enclaves | grep -c '"EnclaveID"')
pss=0
for pid in $($C describe-enclaves | grep -o '"ProcessID": [0-9]*' | awk '{print $2}'); do
	kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
	pss=$((pss + kb))
done
printf '\nrun-enclave to heartbeat, carve enclave kernel, %d MiB each, %d host CPUs\n' "$MEM" "$(nproc)"
printf '%-44s %10s\n' "measure" "value"
printf '%-44s %8.0f ms\n' "one enclave: run-enclave until heartbeat" "$one"
printf '%-44s %8.0f ms\n' "$N enclaves together: until all returned" "$all"
printf '%-44s %10d\n' "of those, running afterwards" "$running"
printf '%-44s %10d\n' "of those, failed to start" "$fails"
printf '%-44s %7d MiB\n' "host memory of the enclave processes (Pss)" "$((pss / 1024))"
printf '%-44s %7d MiB\n' "of which guest memory" "$((running * MEM))"
