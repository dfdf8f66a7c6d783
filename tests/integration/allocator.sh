#!/usr/bin/env bash
# carve allocator: the CPU pool (whole cores, never CPU 0's) and the hugepage
# reservation, then run-enclave in pool mode (dedicated CPUs, E21/E22) and the
# release back to development mode. Changes the host's 2 MiB hugepage count
# for a moment and restores it.
. "$(dirname "$0")/../lib/tap.sh"
requires_kvm
cd "$TMP" || exit 1
export CARVE_STATE_DIR=$TMP/state CARVE_SOCKETS_DIR=$TMP/sockets
NR=/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
if [ "$(id -u)" -ne 0 ] || [ ! -w "$NR" ]; then
	skip "allocator" "needs root and a writable $NR"
	finish
fi
before=$(cat "$NR")
trap 'echo "$before" >"$NR"; tap_cleanup' EXIT
ncpu=$(nproc)

printf -- '---\nmemory_mib: 128\ncpu_pool: 0\n' >cpu0.yaml
fails_with 20 "a pool with CPU 0 is E20" $CARVE allocator --config cpu0.yaml
printf 'memory_mib: 128\ncpu_count: 1\ncpu_pool: 1\n' >both.yaml
fails_with 2 "cpu_count with cpu_pool is E02" $CARVE allocator --config both.yaml
printf 'cpu_count: 1\n' >nomem.yaml
fails_with 1 "no memory_mib is E01" $CARVE allocator --config nomem.yaml
printf 'memory_mib: 128\ncpu_count: %d\n' "$ncpu" >toomany.yaml
fails_with 22 "every CPU (CPU 0's core included) is E22" $CARVE allocator --config toomany.yaml
printf 'memory_mib: 128\nmystery: 1\n' >unknown.yaml
fails_with 3 "an unknown setting is E03" $CARVE allocator --config unknown.yaml
same "failed configurations reserve nothing" "$(cat "$NR")" "$before"

if [ "$ncpu" -lt 2 ]; then
	skip "pool mode" "this host has one CPU, which the host keeps"
	finish
fi
printf -- '# carve allocator\n---\nmemory_mib: 256\ncpu_count: 1\n' >alloc.yaml
$CARVE allocator --config alloc.yaml >alloc.json 2>alloc.err
same "allocator succeeds" "$?" "0"
same "256 MiB reserved as 128 pages of 2 MiB" "$(cat "$NR")" "128"
ok "the pool is a CPU other than 0" bash -c "grep -A2 CPUIDs alloc.json | grep -qv '\b0\b'"
ok "pool.json is recorded" test -s "$CARVE_STATE_DIR/pool.json"

printf 'r' >rd
$CARVE build-enclave --kernel "$ROOT/build/guests/carve-guest.elf" --cmdline x --ramdisk rd --output-file g.eif >/dev/null 2>&1
start_fails_with 21 "pool mode: a CPU outside the pool is E21" $CARVE run-enclave --eif-path g.eif --memory 64 --cpu-ids 0
start_fails_with 22 "pool mode: more CPUs than the pool is E22" $CARVE run-enclave --eif-path g.eif --memory 64 --cpu-count 2
start_fails_with 27 "pool mode: more memory than reserved is E27" $CARVE run-enclave --eif-path g.eif --memory 512 --cpu-count 1
# The test guest powers off at once, so run-enclave reports E36; what matters
# is that it got that far with the pool's CPU and pages.
start_fails_with 36 "pool mode: the enclave starts on the pool (and this guest stops: E36)" \
	$CARVE run-enclave --eif-path g.eif --memory 64 --cpu-count 1
ok "no development-mode notice in pool mode" bash -c "! grep -q 'development mode' '$TMP/err'"
# The enclave process reports and then exits; its pages return as it does.
FREE=/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages
for _ in $(seq 50); do [ "$(cat $FREE)" = 128 ] && break; sleep 0.1; done
same "pages are free again after the enclave stopped" "$(cat $FREE)" 128

# kill -9 of an enclave process in pool mode: its pages come back, no socket stays.
printf 'r' >rd2
$CARVE build-enclave --kernel "$ROOT/build/guests/carve-guest.elf" --cmdline "stop=hang" --ramdisk rd2 --output-file hang.eif >/dev/null 2>&1
$CARVE run-enclave --eif-path hang.eif --memory 64 --cpu-count 1 --enclave-name held >/dev/null 2>&1 &
runner=$!
for _ in $(seq 100); do $CARVE describe-enclaves 2>/dev/null | grep -q '"held"' && break; sleep 0.1; done
same "a pool enclave holds 32 pages" "$(cat $FREE)" 96
pid=$($CARVE describe-enclaves | grep -o '"ProcessID": [0-9]*' | awk '{print $2}')
kill -9 "$pid"
wait $runner
for _ in $(seq 50); do [ "$(cat $FREE)" = 128 ] && break; sleep 0.1; done
same "kill -9 of the enclave process gives its hugepages back" "$(cat $FREE)" 128
same "and it is no longer listed" "$($CARVE describe-enclaves)" "[]"
# --- memory_pool: slabs zeroed ahead of time on the reserved pages ---
MP=$TMP/mpool
printf 'memory_mib: 256\ncpu_count: 1\nmemory_pool: %s\n' "$MP" >mpool.yaml
$CARVE allocator --config mpool.yaml >mpool.json 2>mpool.err
same "allocator with memory_pool succeeds" "$?" "0"
ok "it names the memory pool" grep -q "\"MemoryPool\": \"$MP\"" mpool.json
ok "a hugetlbfs is mounted there" grep -q " $MP hugetlbfs " /proc/mounts
printf 'memory_mib: 256\ncpu_count: 1\nmemory_pool: relative/dir\n' >mprel.yaml
fails_with 3 "a memory_pool that is not an absolute path is E03" $CARVE allocator --config mprel.yaml
slabs() { $CARVE memory-pool --dir "$MP" >census.json && json_field census.json FreeSlabs; }
start_fails_with 36 "an enclave of 64 MiB takes its memory from the pool (this guest stops: E36)" \
	$CARVE run-enclave --eif-path g.eif --memory 64 --cpu-count 1
for _ in $(seq 50); do [ "$(cat $FREE)" = 96 ] && break; sleep 0.1; done
same "its slab stays in the pool, free and zeroed, on 32 reserved pages" "$(slabs) $(cat $FREE)" "1 96"
start_fails_with 36 "the next enclave of 64 MiB takes that slab" \
	$CARVE run-enclave --eif-path g.eif --memory 64 --cpu-count 1
for _ in $(seq 50); do [ "$(cat $FREE)" = 96 ] && break; sleep 0.1; done
same "still one slab, no more pages" "$(slabs) $(cat $FREE)" "1 96"
start_fails_with 36 "an enclave of 240 MiB, which only fits without that slab, starts (the slab is deleted)" \
	$CARVE run-enclave --eif-path g.eif --memory 240 --cpu-count 1
for _ in $(seq 50); do [ "$(cat $FREE)" = 8 ] && break; sleep 0.1; done
same "its own 240 MiB slab is the pool's one now" "$(slabs) $(cat $FREE)" "1 8"
ok "allocator --release" $CARVE allocator --release
same "hugepages released" "$(cat "$NR")" "0"
ok "the memory pool's hugetlbfs is unmounted" bash -c "! grep -q ' $MP ' /proc/mounts"
ok "pool.json removed" test ! -e "$CARVE_STATE_DIR/pool.json"
start_fails_with 36 "development mode again after release (E36 from this guest)" $CARVE run-enclave --eif-path g.eif --memory 64 --cpu-count 1
ok "the development-mode notice is back" grep -q "development mode" "$TMP/err"
finish
