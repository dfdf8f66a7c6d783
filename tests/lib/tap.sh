# shellcheck shell=bash
# TAP helpers for integration scripts. Source this; then use:
#   ok "description" cmd args...            passes when cmd exits 0
#   fails_with CODE "description" cmd...    passes when cmd exits CODE and
#                                           prints "[ ECODE ]" on stderr
#   start_fails_with CODE "description" cmd...
#                                           run-enclave whose start failed: as
#                                           nitro-cli, "[ ECODE ]", then the line
#                                           "Failed connections: 1", then
#                                           "[ E39 ]", on stderr; exit 39
#   same "description" "$actual" "$expected"
#   skip "description" "reason"
#   requires_kvm                            skips the whole script without /dev/kvm
#   finish                                  prints the plan, exits non-zero on failure
# and, for the scripts' own use:
#   json_field FILE KEY                     the value of the first "KEY": in FILE
#   tail_of FILE [N]                        a file with FILE's last N (25) lines, for diagnostics
#   cpio_of DIR OUT                         a newc archive of DIR (sorted, owned by root)
# $CARVE is the carve binary under test (the sanitizer build), $CARVE_RELEASE
# the release build, $ROOT the checkout: scripts/test.sh sets them, and a
# script run alone (bash tests/integration/lifecycle.sh) gets these defaults.
set -u
ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
CARVE_RELEASE=${CARVE_RELEASE:-$ROOT/build/bin/carve}
TAP_N=0
TAP_FAILED=0
TMP=$(mktemp -d /tmp/carve-test.XXXXXX)
# On exit, however the script ends: enclaves it started under its own
# sockets directory (inside $TMP) are terminated, then $TMP goes.
tap_cleanup() {
	if [ -n "${CARVE_SOCKETS_DIR:-}" ] && [ "${CARVE_SOCKETS_DIR#"$TMP"/}" != "$CARVE_SOCKETS_DIR" ] &&
		[ -d "$CARVE_SOCKETS_DIR" ] && ls "$CARVE_SOCKETS_DIR"/*.sock >/dev/null 2>&1; then
		timeout 30 "$CARVE" terminate-enclave --all >/dev/null 2>&1
	fi
	rm -rf "$TMP"
}
trap tap_cleanup EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

tap_result() { # status description [diagnostics-file]
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAILED=$((TAP_FAILED + 1))
		[ -n "${3:-}" ] && [ -f "$3" ] && sed 's/^/#   /' "$3" | head -40
	fi
}

ok() {
	local desc=$1; shift
	"$@" >"$TMP/out" 2>&1
	tap_result $? "$desc" "$TMP/out"
}

fails_with() {
	local code=$1 desc=$2; shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	local want
	want=$(printf 'E%02d' "$code")
	if [ "$rc" -eq "$code" ] && grep -q "\[ $want \]" "$TMP/err"; then
		tap_result 0 "$desc"
	else
		echo "# expected exit $code with [ $want ], got exit $rc" >"$TMP/diag"
		cat "$TMP/err" "$TMP/out" >>"$TMP/diag"
		tap_result 1 "$desc" "$TMP/diag"
	fi
}

# A command line the flag parser refuses, as clap refuses nitro-cli's: exit
# status 2, nothing on stdout, "error: ..." on stderr; with a third argument
# before the command, the error line must hold that text.
refused() {
	local desc=$1 want=""; shift
	if [ "${1:-}" = "--saying" ]; then want=$2; shift 2; fi
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ "$rc" -eq 2 ] && [ ! -s "$TMP/out" ] && head -1 "$TMP/err" | grep -q '^error: ' &&
		{ [ -z "$want" ] || grep -qF -- "$want" "$TMP/err"; }; then
		tap_result 0 "$desc"
	else
		echo "# expected exit 2 with clap's 'error: ...'${want:+ saying '$want'}, got exit $rc" >"$TMP/diag"
		cat "$TMP/err" "$TMP/out" >>"$TMP/diag"
		tap_result 1 "$desc" "$TMP/diag"
	fi
}

# nitro-cli v1.5.0 src/enclave_proc_comm.rs:301-365 and src/main.rs:106-118:
# the enclave process's error forwarded, "Failed connections: 1", then E39.
start_fails_with() {
	local code=$1 desc=$2; shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	local want order
	want=$(printf 'E%02d' "$code")
	order=$(grep -n "^\[ $want \]\|^Failed connections: 1$\|^\[ E39 \]" "$TMP/err" | cut -d: -f2- |
		sed 's/^\(\[ E[0-9]* \]\).*/\1/' | tr '\n' '|')
	if [ "$rc" -eq 39 ] && [ "$order" = "[ $want ]|Failed connections: 1|[ E39 ]|" ]; then
		tap_result 0 "$desc"
	else
		echo "# expected exit 39 with [ $want ], 'Failed connections: 1', [ E39 ]; got exit $rc" >"$TMP/diag"
		cat "$TMP/err" "$TMP/out" >>"$TMP/diag"
		tap_result 1 "$desc" "$TMP/diag"
	fi
}

same() { # description got expected; returns 1 when they differ
	if [ "$2" = "$3" ]; then
		tap_result 0 "$1"
	else
		printf '# got:      %s\n# expected: %s\n' "$2" "$3" >"$TMP/diag"
		tap_result 1 "$1" "$TMP/diag"
		return 1
	fi
}

skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

# Scripts that boot VMs call this first. Without a usable /dev/kvm the
# script is one skip that says why; the hardware-KVM bed (tests/hwkvm) runs
# the same script in its L1 guest, against a real KVM, as part of the suite.
requires_kvm() {
	if [ ! -c /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		skip "$(basename "$0" .sh): every check boots a VM" \
			"this host has no usable /dev/kvm; tests/hwkvm runs this script in L1 instead"
		finish
	fi
}

finish() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
	exit $?
}

json_field() { grep -o "\"$2\": [^,}]*" "$1" | head -1 | sed -E "s/\"$2\": \"?([^\"]*)\"?/\1/"; }
# wait_for_line FILE PATTERN SECONDS: until a line of FILE matches PATTERN
# (grep), at most SECONDS; status 1 if none did. For a process started in
# the background whose output says it got somewhere.
wait_for_line() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# vmm_host_faults FILE: the count `carve vmm --verbose` printed (to FILE) of the
# host page faults its process took while the guest ran; empty if none.
vmm_host_faults() { sed -n 's/^vmm: host page faults while the guest ran: \([0-9]*\)$/\1/p' "$1"; }
tail_of() { tail -"${2:-25}" "$1" >"$TMP/diag"; echo "$TMP/diag"; }
cpio_of() { (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$2"; }
