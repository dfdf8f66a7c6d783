#!/usr/bin/env bash
# In the hardware-KVM bed's L1: KVM_PRE_FAULT_MEMORY is offered there (Linux
# 6.10+ with hardware virtualization), carve uses it over all guest RAM, and
# the range it mapped is in `carve vmm --verbose` and in the enclave's event
# log. (The PVM host lacks the capability; its event logs say so instead.)
. "$(dirname "$0")/../../lib/tap.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
cd "$TMP" || exit 1
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state

# carve vmm: 512 MiB lies below the MMIO hole, one range.
timeout 60 "$CARVE" vmm --kernel "$ROOT/build/guests/carve-guest.elf" --memory 512 --cpus 1 --verbose \
	</dev/null >vmm.out 2>vmm.err
same "carve vmm: the test guest exits 0" "$?" 0
grep -q '^vmm: KVM_PRE_FAULT_MEMORY mapped 0x0-0x1fffffff (512 MiB) in [0-9.]* ms$' vmm.err
tap_result $? "carve vmm --verbose: KVM_PRE_FAULT_MEMORY mapped all 512 MiB" vmm.err

# An enclave: the event log names the range.
mkdir -p rootfs/bin
cp "$ROOT/build/guest/apps/hello" rootfs/bin/hello
ok "build the hello EIF" "$CARVE" build-enclave --rootfs rootfs --cmd "/bin/hello --port 5000" --output-file hello.eif
ok "run-enclave with 256 MiB" "$CARVE" run-enclave --eif-path hello.eif --memory 256 --cpu-count 1 --enclave-name pf
log=$(ls "$CARVE_SOCKETS_DIR"/*.log 2>/dev/null | head -1)
grep -q 'memory: KVM_PRE_FAULT_MEMORY mapped 0x0-0xfffffff (256 MiB) in [0-9.]* ms$' "${log:-/dev/null}"
tap_result $? "event log: the prefaulted range, before the vCPUs start" "${log:-/dev/null}"
awk '/KVM_PRE_FAULT_MEMORY/ { p = NR } /vCPUs started/ { s = NR } END { exit !(p && s && p < s) }' "${log:-/dev/null}"
tap_result $? "event log: prefault logged before 'vCPUs started'" "${log:-/dev/null}"
ok "terminate" "$CARVE" terminate-enclave --enclave-name pf
grep -q 'host page faults while it ran: [0-9][0-9]*$' "${log:-/dev/null}"
tap_result $? "event log: the host page faults taken while it ran" "${log:-/dev/null}"

# The guarantee: guest RAM is built before the first vCPU runs, so a guest
# that writes every page of it costs the host no page fault. The test guest
# ("dirty") writes each 4 KiB page from 16 MiB to the end of RAM; the VMM
# counts the process's faults while vCPUs run. Beside the same guest idle,
# the difference is the cost of 61,440 guest pages: a fault per page (small
# pages, what an unpopulated memfd gives) would be 61,440. Measured in L1:
# 28 (92 against 64 idle, the sanitizer build): the VMM's own allocations
# and khugepaged, which may collapse populated small pages into a huge page
# later (each collapse is one fault); allowed: under 100, a fault per 600
# guest pages.
timeout 120 "$CARVE" vmm --kernel "$ROOT/build/guests/carve-guest.elf" --memory 256 --cpus 1 --verbose \
	--cmdline dirty </dev/null >dirty.out 2>dirty.err
same "the dirtying guest exits 0" "$?" 0
same "it wrote every page from 16 MiB to 256 MiB" "$(grep '^guest: dirtied' dirty.out)" "guest: dirtied pages=61440"
timeout 60 "$CARVE" vmm --kernel "$ROOT/build/guests/carve-guest.elf" --memory 256 --cpus 1 --verbose \
	</dev/null >idle.out 2>idle.err
d=$(vmm_host_faults dirty.err) i=$(vmm_host_faults idle.err)
echo "# host page faults while running: dirtying guest ${d:-?}, idle guest ${i:-?}"
ok "host faults counted for both runs" test -n "$d" -a -n "$i"
ok "writing all of guest RAM costs the host (almost) no page fault: ${d:-?} vs ${i:-?} idle" \
	test "$(( ${d:-99999} - ${i:-0} ))" -lt 100
finish
