#!/usr/bin/env bash
# The memory pool (carve vmm --memory-pool, carve memory-pool; docs/vmm.md §
# Memory pool): guest memory from a slab zeroed ahead of time, given back
# zeroed.
#   - tmpfs: the first VM makes its slab there; the test guest writes a byte
#     of every page from 16 MiB ("dirty"), and the slab comes back zeroed
#     (compared with /dev/zero). The next VM takes that slab and finds every
#     page zero before it writes ("zerocheck"), with memory still built
#     before its first instruction (its host faults as vmm_prebuilt bounds
#     them). A VM killed with SIGKILL cannot zero its slab: the slab is
#     deleted by the next census, never handed out.
#   - hugetlbfs (as root): a pool filled ahead of time with reserved 2 MiB
#     pages; a VM takes a slab and runs on huge pages; a fill beyond the
#     reserved pages is E27; draining gives the pages back.
#   - enclaves: run-enclave with CARVE_MEMORY_POOL makes its slab, gives it
#     back at terminate, and the next enclave takes it (their event logs).
#   - a pool on another filesystem, or none, is E03 before any VM is made.
. "$(dirname "$0")/../lib/tap.sh"
requires_kvm
GUEST=$ROOT/build/guests/carve-guest.elf
[ -f "$GUEST" ] || make -s -C "$ROOT" guests >/dev/null
MEM=128
PAGES=$(((MEM - 16) * 256))
BOUND=$(((MEM - 16) / 4))
POOL=$(mktemp -d /dev/shm/carve-pool-test.XXXXXX)
HUGE=$TMP/huge
nr_before=
NRH=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
cleanup_pools() {
	"$CARVE" memory-pool --dir "$POOL" --drain >/dev/null 2>&1
	rm -rf "$POOL"
	if grep -q " $HUGE hugetlbfs " /proc/mounts; then
		"$CARVE" memory-pool --dir "$HUGE" --drain >/dev/null 2>&1
		rm -f "$HUGE"/busy.* "$HUGE"/fill.*
		umount "$HUGE"
	fi
	[ -z "$nr_before" ] || echo "$nr_before" >"$NRH"
}
trap cleanup_pools EXIT

census() { # dir tag: carve memory-pool's JSON in $TMP/tag.json
	"$CARVE" memory-pool --dir "$1" >"$TMP/$2.json" 2>&1
}
run() { # tag pool cmdline
	timeout 300 "$CARVE" vmm --kernel "$GUEST" --memory "$MEM" --cpus 1 --verbose --memory-pool "$2" \
		--cmdline "$3" </dev/null >"$TMP/$1.out" 2>"$TMP/$1.err"
	same "$1: the test guest powers off" "$?" 0
}
entries() { find "$1" -mindepth 1 -maxdepth 1 -name "${2:-*}" | wc -l; } # dir [glob]
slab_is_zero() { # dir: the one free slab of MEM MiB reads as zeros
	local f
	f=$(find "$1" -maxdepth 1 -name "free.$((MEM << 20)).*" | head -1)
	[ -n "$f" ] && cmp -s -n "$((MEM << 20))" "$f" /dev/zero
}

# ---- tmpfs ----
run first "$POOL" "dirty"
grep -q "^vmm: guest memory $MEM MiB in 1 region(s), a new slab of the memory pool $POOL\$" "$TMP/first.err"
tap_result $? "no free slab: the VM makes its memory as a new slab in the pool" "$TMP/first.err"
same "it wrote every page from 16 MiB up" "$(grep '^guest: dirtied' "$TMP/first.out")" "guest: dirtied pages=$PAGES"
census "$POOL" after-first
same "after it: one free slab, none busy" "$(json_field "$TMP/after-first.json" FreeSlabs) $(json_field "$TMP/after-first.json" BusySlabs)" "1 0"
ok "the slab it gave back is all zeros (its 0xd1 bytes gone)" slab_is_zero "$POOL"

run second "$POOL" "dirty zerocheck"
grep -q "^vmm: guest memory $MEM MiB in 1 region(s), a zeroed slab of the memory pool $POOL\$" "$TMP/second.err"
tap_result $? "the next VM of that size takes the zeroed slab" "$TMP/second.err"
same "it finds every page zero before writing it" \
	"$(grep '^guest: pages not zero' "$TMP/second.out")" "guest: pages not zero before the write=0"
grep -q '^vmm: start (ms since vmm_create): .* memory populated [0-9.]*, pre-faulted' "$TMP/second.err"
tap_result $? "its memory is still populated before the vCPUs run" "$TMP/second.err"
run idle "$POOL" ""
i=$(vmm_host_faults "$TMP/idle.err") d=$(vmm_host_faults "$TMP/second.err")
echo "# host page faults while the guest ran, from the pool: idle ${i:-?}, dirtying ${d:-?}"
ok "from the pool, writing all of RAM costs fewer than $BOUND faults more than idle (${d:-?} vs ${i:-?})" \
	test -n "$i" -a -n "$d" -a "$((${d:-99999} - ${i:-0}))" -lt "$BOUND"

# A VM killed where it cannot zero its slab.
# (no timeout wrapper: SIGKILL must reach carve itself; killed below either way)
"$CARVE" vmm --kernel "$GUEST" --memory "$MEM" --cpus 1 --memory-pool "$POOL" \
	--cmdline "dirty stop=hang" </dev/null >"$TMP/killed.out" 2>"$TMP/killed.err" &
vmm=$!
wait_for_line "$TMP/killed.out" '^guest: dirtied' 120
tap_result $? "a VM dirties its slab and hangs" "$TMP/killed.out"
census "$POOL" while-held
same "while it runs its slab is busy, not stale" \
	"$(json_field "$TMP/while-held.json" BusySlabs) $(json_field "$TMP/while-held.json" StaleDeleted)" "1 0"
kill -KILL "$vmm"
wait "$vmm" 2>/dev/null
same "killed, it leaves the slab busy (not zeroed)" "$(entries "$POOL" 'busy.*')" 1
census "$POOL" after-kill
same "the next census deletes it as stale; none is free" \
	"$(json_field "$TMP/after-kill.json" StaleDeleted) $(json_field "$TMP/after-kill.json" FreeSlabs)" "1 0"
same "nothing of it is left in the pool" "$(entries "$POOL")" 0

# ---- bad pools ----
"$CARVE" vmm --kernel "$GUEST" --memory "$MEM" --cpus 1 --memory-pool /proc </dev/null >"$TMP/proc.out" 2>&1
same "a pool on procfs: E03" "$?" 3
grep -q 'memory pool /proc is not on hugetlbfs or tmpfs' "$TMP/proc.out"
tap_result $? "... saying why" "$TMP/proc.out"
"$CARVE" memory-pool --dir "$TMP/none" --fill 2 >"$TMP/none.out" 2>&1
same "a pool that does not exist: E03" "$?" 3

# ---- enclaves: CARVE_MEMORY_POOL ----
export CARVE_STATE_DIR=$TMP/state CARVE_SOCKETS_DIR=$TMP/sockets
mkdir -p "$TMP/rootfs/bin" && cp "$ROOT/build/guest/apps/hello" "$TMP/rootfs/bin/hello"
"$CARVE" build-enclave --rootfs "$TMP/rootfs" --cmd "/bin/hello --port 5000" \
	--output-file "$TMP/hello.eif" >"$TMP/eif.out" 2>&1
tap_result $? "build the hello EIF" "$TMP/eif.out"
enclave() { # tag: run, then terminate, one enclave of 64 MiB from the pool; its event log in $TMP/tag.log
	CARVE_MEMORY_POOL=$POOL "$CARVE" run-enclave --eif-path "$TMP/hello.eif" --memory 64 --cpu-count 1 \
		--enclave-name "$1" >"$TMP/$1.json" 2>"$TMP/$1.run"
	same "$1: run-enclave with CARVE_MEMORY_POOL" "$?" 0
	local id
	id=$(json_field "$TMP/$1.json" EnclaveID)
	"$CARVE" terminate-enclave --enclave-name "$1" >/dev/null 2>&1
	cp "$CARVE_SOCKETS_DIR/${id##*-enc}.log" "$TMP/$1.log" 2>/dev/null
}
enclave e1
grep -q "memory: a new slab of the memory pool, made" "$TMP/e1.log"
tap_result $? "the first enclave makes its memory as a slab (its event log)" "$TMP/e1.log"
census "$POOL" after-e1
same "terminated, it gave the slab back" "$(json_field "$TMP/after-e1.json" FreeSlabs) $(json_field "$TMP/after-e1.json" BusySlabs)" "1 0"
enclave e2
grep -q "memory: a zeroed slab of the memory pool, taken" "$TMP/e2.log"
tap_result $? "the next enclave of that size takes it zeroed" "$TMP/e2.log"
CARVE_MEMORY_POOL=/proc "$CARVE" run-enclave --eif-path "$TMP/hello.eif" --memory 64 --cpu-count 1 \
	>"$TMP/e3.out" 2>&1
same "CARVE_MEMORY_POOL on procfs: a failed start, before any enclave (nitro-cli's E39 exit)" "$?" 39
grep -q 'E03.*CARVE_MEMORY_POOL: memory pool /proc is not on hugetlbfs or tmpfs' "$TMP/e3.out"
tap_result $? "... saying why" "$TMP/e3.out"
"$CARVE" memory-pool --dir "$POOL" --drain >/dev/null

# ---- hugetlbfs ----
if [ "$(id -u)" = 0 ] && [ -w "$NRH" ]; then
	nr_before=$(cat "$NRH")
	echo $((nr_before + MEM / 2)) >"$NRH"
	mkdir -p "$HUGE"
	if [ "$(cat "$NRH")" -ge $((nr_before + MEM / 2)) ] && mount -t hugetlbfs -o pagesize=2M none "$HUGE"; then
		ok "carve memory-pool --fill $MEM on hugetlbfs" "$CARVE" memory-pool --dir "$HUGE" --fill "$MEM"
		"$CARVE" memory-pool --dir "$HUGE" --fill "$MEM" >"$TMP/overfill.out" 2>&1
		same "a fill beyond the reserved pages: E27" "$?" 27
		census "$HUGE" huge-filled
		same "the failed fill left one slab, nothing half made" \
			"$(json_field "$TMP/huge-filled.json" FreeSlabs) $(entries "$HUGE")" "1 1"
		run huge "$HUGE" "dirty zerocheck"
		grep -q "a zeroed slab of the memory pool $HUGE\$" "$TMP/huge.err"
		tap_result $? "hugetlbfs: the VM takes the filled slab" "$TMP/huge.err"
		same "hugetlbfs: every page zero before the write" \
			"$(grep '^guest: pages not zero' "$TMP/huge.out")" "guest: pages not zero before the write=0"
		ok "hugetlbfs: the slab it gave back is all zeros" slab_is_zero "$HUGE"
		"$CARVE" memory-pool --dir "$HUGE" --drain >"$TMP/drain.json" 2>&1
		same "draining deletes the slab" "$(json_field "$TMP/drain.json" Drained) $(entries "$HUGE")" "1 0"
		same "its huge pages are free again" \
			"$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)" "$(cat "$NRH")"
	else
		skip "hugetlbfs pool" "could not reserve $((MEM / 2)) huge pages or mount hugetlbfs"
	fi
else
	skip "hugetlbfs pool" "needs root and a writable $NRH"
fi
finish
