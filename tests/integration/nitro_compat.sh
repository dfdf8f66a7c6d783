#!/usr/bin/env bash
# Scripts written for nitro-cli run unchanged: the parts of its command line,
# environment and output that come before a VM is booted (no KVM needed).
# Each expectation names the aws-nitro-enclaves-cli v1.5.0 source it follows
# (commit 2950b3699d81ad304df2458915688a552734833d).
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1
NITRO=$(dirname "$CARVE")/nitro-cli
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state

# --- --cpu-ids takes several values -------------------------------------------
# src/lib.rs:645-651: Arg::new("cpu-ids").num_args(1..), so "--cpu-ids 1 3" is
# two CPU ids; each is parsed on its own (src/common/commands_parser.rs:481-497).
# Without an image the run stops at the EIF (E19), after the flags were taken.
fails_with 19 "--cpu-ids 0 1: both taken, the run reaches the EIF" \
	$CARVE run-enclave --cpu-ids 0 1 --memory 64 --eif-path "$TMP/none.eif"
fails_with 20 "--cpu-ids 1 1: the second value is a CPU id too (listed twice, E20)" \
	$CARVE run-enclave --cpu-ids 1 1 --memory 64 --eif-path "$TMP/none.eif"
fails_with 23 "--cpu-ids 1 x: a value that is not a number (E23)" \
	$NITRO run-enclave --cpu-ids 1 x --memory 64 --eif-path "$TMP/none.eif"
# src/lib.rs:650 conflicts_with_all(["cpu-count", ...]): still a conflict when
# --cpu-ids holds several values.
fails_with 2 "--cpu-ids 1 3 with --cpu-count is a conflict (E02)" \
	$CARVE run-enclave --cpu-ids 1 3 --cpu-count 2 --memory 64 --eif-path "$TMP/none.eif"
# carve's own forms stay: the flag repeated, and a comma list.
fails_with 20 "--cpu-ids 1 --cpu-ids 1: repeated flags add to one list" \
	$CARVE run-enclave --cpu-ids 1 --cpu-ids 1 --memory 64 --eif-path "$TMP/none.eif"
fails_with 20 "--cpu-ids 1,2 2: comma lists mix with several values" \
	$CARVE run-enclave --cpu-ids 1,2 2 --memory 64 --eif-path "$TMP/none.eif"

finish
