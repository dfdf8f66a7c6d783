#!/usr/bin/env bash
# The test bed runs an L1's tests a second time only when its hang log shows
# QEMU's own hang (tests/hwkvm/frozen.sh): checked against the hang log of
# the one time it happened (l1/linux, 2026-12-02) and against that log
# changed into each hang that could be carve's, which must not be retried.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
. "$ROOT/tests/hwkvm/frozen.sh"
LOG=$ROOT/tests/hwkvm/data/hang-frozen.log

l1_frozen "$LOG"
tap_result $? "the recorded hang (one RIP, CPL 0, not halted, in L1) is QEMU's: run again"

not_frozen() { # description sed-script
	sed "$2" "$LOG" >"$TMP/hang.log"
	! l1_frozen "$TMP/hang.log"
	tap_result $? "$1: not retried"
}
not_frozen "RIP moved between samples (a kernel spinning)" '0,/^RIP=ffffffffacfcd9b7/s//RIP=ffffffffacfcd9b9/'
not_frozen "CPU halted (L1 idle: carve waiting)" 's/HLT=0/HLT=1/'
not_frozen "EFER without SVME (the CPU was in L2: carve's guest)" 's/^EFER=0000000000001d01/EFER=0000000000000d01/'
not_frozen "CPL 3 (L1 in user mode: carve's VMM)" 's/ CPL=0 / CPL=3 /'
not_frozen "two samples only (the monitor did not answer)" '/^== sample 3/,$d'
not_frozen "no registers at all" '/^RIP=/d'
finish
