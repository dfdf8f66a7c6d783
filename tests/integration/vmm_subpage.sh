#!/usr/bin/env bash
# Sub-page write protection (issue 18, docs/vmm.md): carve vmm --protect maps
# the pages holding protected 128-byte sub-pages read-only; the test guest's
# "subpage" mode writes allowed and protected sub-pages of one page with
# every access size, across a sub-page and a page boundary, from several
# vCPUs, reads a protected sub-page and runs code from the page. The guest
# reports what it read back; the VMM's event log names each violation
# (address, size, vCPU, RIP) and counts them.
. "$(dirname "$0")/../lib/tap.sh"
requires_kvm
GUEST=$ROOT/build/guests/carve-guest.elf
[ -f "$GUEST" ] || make -s -C "$ROOT" guests >/dev/null

# A write KVM hands over in pieces (across a page, a 16-byte SSE store) is
# applied or refused whole.
# Page P = 0x2000000: sub-pages 1 and 3 protected. P+1: all but sub-pages 0
# and 31. P+2: all.
PROTECT=(--protect 0x2000080:128 --protect 0x2000180:128 --protect 0x2001000:4096
	--protect 0x2001000:128:rw --protect 0x2001f80:0x80:rw --protect 0x2002000:4096:ro)

run() { # name cmdline cpus [extra carve args...]; prints the exit status
	local name=$1 cmdline=$2 cpus=$3; shift 3
	timeout 60 "$CARVE" vmm --kernel "$GUEST" --cmdline "$cmdline" --memory 64 --cpus "$cpus" \
		--event-log "$TMP/$name.log" "$@" </dev/null >"$TMP/$name" 2>"$TMP/$name.err"
	echo $?
}
checks() { grep -c "^subpage: .* ok$" "$1"; }
bad() { grep -c "^subpage: .* BAD" "$1"; }

# Without protection the same guest sees its "protected" writes land: the
# checks can fail, and it is --protect that makes them pass.
rc=$(run plain "subpage" 1)
same "unprotected: guest exits 0" "$rc" 0
same "unprotected: the 7 protected-write checks fail" "$(bad "$TMP/plain")" 7

# One vCPU, refuse-and-continue (the default policy).
rc=$(run one "subpage" 1 "${PROTECT[@]}")
same "protected: guest runs to its end and powers off" "$rc" 0
same "protected: guest finished" "$(grep -c '^subpage: done' "$TMP/one")" 1
same "protected: every check ok (16)" "$(checks "$TMP/one")/$(bad "$TMP/one")" "16/0"
for size in 1 2 4 8; do
	same "allowed write, size $size, applied" "$(grep -c "^subpage: allowed size=$size ok" "$TMP/one")" 1
	same "protected write, size $size, refused" "$(grep -c "^subpage: protected size=$size ok" "$TMP/one")" 1
done
for c in cross-subpage-allowed cross-subpage-protected cross-page-allowed cross-page-protected \
	read-protected fetch sse16-allowed sse16-protected; do
	same "$c" "$(grep -c "^subpage: $c ok" "$TMP/one")" 1
done
log=$TMP/one.log
same "event log: 7 violations" "$(grep -c 'write-protect violation' "$log")" 7
same "event log: the counts" "$(grep -o 'sub-page protection: .*' "$log")" \
	"sub-page protection: 8 write(s) applied, 7 violation(s)"
for want in "1 byte(s) at 0x2000088 (page 0x2000000 sub-page 1) by vCPU 0" \
	"2 byte(s) at 0x2000090 (page 0x2000000 sub-page 1) by vCPU 0" \
	"4 byte(s) at 0x20000a0 (page 0x2000000 sub-page 1) by vCPU 0" \
	"8 byte(s) at 0x20000c0 (page 0x2000000 sub-page 1) by vCPU 0" \
	"8 byte(s) at 0x200007c (page 0x2000000 sub-page 1) by vCPU 0" \
	"8 byte(s) at 0x2001ffc in 2 pieces (page 0x2002000 sub-page 0) by vCPU 0" \
	"16 byte(s) at 0x2000178 in 2 pieces (page 0x2000000 sub-page 3) by vCPU 0"; do
	same "event log: $want" "$(grep -cF "$want" "$log")" 1
done
# RIP is past the store, inside the guest's text (loaded at 1 MiB, < 64 KiB).
rip=$(grep -o 'at 0x2000088 .* rip 0x[0-9a-f]*' "$log" | grep -o '0x[0-9a-f]*$')
ok "violation RIP ${rip:-none} lies in the guest's text" test -n "$rip" -a "$((rip >= 0x100000 && rip < 0x110000))" = 1

# Several vCPUs: each AP writes an allowed and a protected sub-page.
rc=$(run smp "subpage smp" 2 "${PROTECT[@]}")
same "2 vCPUs: guest exits 0" "$rc" 0
same "2 vCPUs: both running" "$(grep '^smp: .* cpus running' "$TMP/smp")" "smp: 2 cpus running"
same "2 vCPUs: every check ok (18)" "$(checks "$TMP/smp")/$(bad "$TMP/smp")" "18/0"
same "2 vCPUs: the AP's violation names vCPU 1" \
	"$(grep -c 'write-protect violation: 8 byte(s) at 0x2000188 (page 0x2000000 sub-page 3) by vCPU 1' "$TMP/smp.log")" 1
same "2 vCPUs: the counts" "$(grep -o 'sub-page protection: .*' "$TMP/smp.log")" \
	"sub-page protection: 9 write(s) applied, 8 violation(s)"

# Guest memory on reserved 2 MiB huge pages: the read-only slots cut them
# at 4 KiB all the same (root only; vmm_boot.sh does the same dance).
NRH=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
nr_before=$(cat "$NRH" 2>/dev/null || echo 0)
if [ -w "$NRH" ] && echo $((nr_before + 32)) >"$NRH" 2>/dev/null &&
	[ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)" -ge 32 ]; then
	rc=$(run huge "subpage" 1 "${PROTECT[@]}" --verbose)
	echo "$nr_before" >"$NRH"
	same "huge pages: backed by hugetlbfs" "$(grep -c 'hugetlbfs 2 MiB pages' "$TMP/huge.err")" 1
	same "huge pages: every check ok" "$rc $(checks "$TMP/huge")/$(bad "$TMP/huge")" "0 16/0"
	same "huge pages: the counts" "$(grep -o 'sub-page protection: .*' "$TMP/huge.log")" \
		"sub-page protection: 8 write(s) applied, 7 violation(s)"
else
	echo "$nr_before" >"$NRH" 2>/dev/null
	skip "protection on huge-page memory" "cannot reserve 2 MiB huge pages here (not root, or memory too fragmented)"
fi

# Policy stop: the first violation stops the VM with the reason.
rc=$(run stop "subpage" 1 "${PROTECT[@]}" --subpage-policy stop)
same "stop policy: E76" "$rc" 76
same "stop policy: the reason" "$(grep -c 'the VM stopped (write-protect): a 1-byte write at 0x2000088 to protected sub-page 1 of page 0x2000000 by vCPU 0, rip 0x' "$TMP/stop.err")" 1
same "stop policy: the allowed writes before it ran" "$(checks "$TMP/stop")" 4
same "stop policy: nothing after it" "$(grep -c '^subpage: protected' "$TMP/stop")" 0
same "stop policy: event log" "$(grep -c 'by vCPU 0, rip 0x[0-9a-f]* (past the write): stopping the VM' "$TMP/stop.log")" 1

# Bad ranges and policies: refused before anything runs, with E03.
fails_with 3 "--protect not on a 128-byte boundary" \
	"$CARVE" vmm --kernel "$GUEST" --memory 64 --cpus 1 --protect 0x2000040:128
fails_with 3 "--protect of an empty range" \
	"$CARVE" vmm --kernel "$GUEST" --memory 64 --cpus 1 --protect 0x2000000:0
fails_with 3 "--protect with a bad mode" \
	"$CARVE" vmm --kernel "$GUEST" --memory 64 --cpus 1 --protect 0x2000000:128:wx
fails_with 3 "--protect outside RAM" \
	"$CARVE" vmm --kernel "$GUEST" --memory 64 --cpus 1 --protect 0x8000000:4096
fails_with 3 "--protect into the MMIO hole" \
	"$CARVE" vmm --kernel "$GUEST" --memory 4096 --cpus 1 --protect 0xbffff000:8192
fails_with 3 "--subpage-policy unknown" \
	"$CARVE" vmm --kernel "$GUEST" --memory 64 --cpus 1 --protect 0x2000000:128 --subpage-policy maybe

# An enclave (run-enclave) takes the same options: the test guest as an
# EIF, policy stop, stops at its first violation before any heartbeat: E76
# from the enclave process, and its event log says where.
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state
head -c 100 /dev/urandom >"$TMP/rd"
ok "an EIF of the test guest in subpage mode" "$CARVE" build-enclave --kernel "$GUEST" --cmdline "subpage" \
	--ramdisk "$TMP/rd" --output-file "$TMP/g.eif"
start_fails_with 76 "run-enclave --subpage-policy stop: E76 at the first violation" \
	timeout 120 "$CARVE" run-enclave --eif-path "$TMP/g.eif" --cpu-count 1 --memory 128 "${PROTECT[@]}" \
	--subpage-policy stop
elog=$(ls "$CARVE_SOCKETS_DIR"/*.log 2>/dev/null | head -1)
same "enclave event log: the violation" \
	"$(grep -c 'write-protect violation: 1 byte(s) at 0x2000088 (page 0x2000000 sub-page 1) by vCPU 0, rip 0x[0-9a-f]* (past the write): stopping the VM' "${elog:-/dev/null}")" 1
same "enclave event log: the stop and counts" \
	"$(grep -c 'stopped: write-protect: \|sub-page protection: 4 write(s) applied, 1 violation(s)' "${elog:-/dev/null}")" 2
# A running enclave's table and counts, read through its control socket
# (describe-protection): the guest does its writes, then hangs (no
# heartbeat: the enclave stays STARTING until it is terminated).
ok "an EIF of the test guest that hangs after its writes" "$CARVE" build-enclave --kernel "$GUEST" \
	--cmdline "subpage stop=hang" --ramdisk "$TMP/rd" --output-file "$TMP/h.eif"
timeout 300 "$CARVE" run-enclave --eif-path "$TMP/h.eif" --cpu-count 1 --memory 128 --enclave-name sp \
	"${PROTECT[@]}" >"$TMP/bg.out" 2>&1 &
bg=$!
for _ in $(seq 120); do
	"$CARVE" describe-protection --enclave-name sp >"$TMP/dp" 2>"$TMP/dp.err" &&
		grep -q '"Violations": 7' "$TMP/dp" && break
	sleep 0.5
done
same "describe-protection: the counts" "$(tr -d ' \n' <"$TMP/dp" | grep -o '"ProtectedPages":[0-9]*,"WritesApplied":[0-9]*,"Violations":[0-9]*')" \
	'"ProtectedPages":3,"WritesApplied":8,"Violations":7'
same "describe-protection: one run of 3 pages at P" "$(tr -d ' \n' <"$TMP/dp" | grep -o '"Runs":.*')" \
	'"Runs":[{"Gfn":"0x2000","Pages":3}],"RunsTotal":1}'
"$CARVE" describe-protection --enclave-name sp --gfn 0x1fff --pages 5 >"$TMP/dp2" 2>&1
same "describe-protection --gfn: each page's map (KVM_SUBPAGES_GET_ACCESS's)" \
	"$(tr -d ' \n' <"$TMP/dp2" | grep -o '"Access":.*')" \
	'"Access":["0xffffffff","0xfffffff5","0x80000001","0x0","0xffffffff"]}'
fails_with 3 "describe-protection --pages 513: E03" "$CARVE" describe-protection --enclave-name sp --gfn 0 --pages 513
refused "describe-protection --gfn needs --pages" "$CARVE" describe-protection --enclave-name sp --gfn 0
ok "terminate it" "$CARVE" terminate-enclave --enclave-name sp
wait "$bg"
fails_with 58 "describe-protection of no such enclave: E58" "$CARVE" describe-protection --enclave-name sp

fails_with 3 "run-enclave --protect misaligned: E03" \
	"$CARVE" run-enclave --eif-path "$TMP/g.eif" --cpu-count 1 --memory 128 --protect 0x2000001:128

# More runs than KVM has memory slots: E71 saying why, before memory is
# mapped. Every other page of 256 MiB protected: 32768 runs, 65536 slots.
args=$(awk 'BEGIN { for (i = 0; i < 32768; i++) printf " --protect 0x%x:128", 2 * i * 4096 }')
# shellcheck disable=SC2086
fails_with 71 "more runs than memory slots: E71" "$CARVE_RELEASE" vmm --kernel "$GUEST" --memory 256 --cpus 1 $args
same "E71 says why" "$(grep -c 'protect fewer, longer ranges' "$TMP/err")" 1
finish
