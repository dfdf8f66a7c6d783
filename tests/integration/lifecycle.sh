#!/usr/bin/env bash
# run-enclave, describe-enclaves, terminate-enclave, console: every argument
# rule with its E-code, and the boot-failure path (a guest that stops before
# its heartbeat) with its saved console.
. "$(dirname "$0")/../lib/tap.sh"
requires_kvm
cd "$TMP" || exit 1
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state
GUEST=$ROOT/build/guests/carve-guest.elf

printf 'r' >ramdisk
$CARVE build-enclave --kernel "$GUEST" --cmdline "test=lifecycle" --ramdisk ramdisk --output-file g.eif >/dev/null 2>&1

# --- argument rules ----------------------------------------------------------
# Refused by the command line itself: clap's refusal (exit 2) or the
# command's code. Refused by the start (nitro-cli's enclave process: the
# image, CPUs, memory, boot): the code, "Failed connections: 1", then E39 and
# exit 39 (start_fails_with).
refused "no --eif-path: a required argument" --saying "  --eif-path <eif-path>" $CARVE run-enclave --memory 128 --cpu-count 1
refused "neither --cpu-count nor --cpu-ids" --saying "  --cpu-count <cpu-count>" $CARVE run-enclave --eif-path g.eif --memory 128
refused "--cpu-count with --cpu-ids is a conflict" --saying "cannot be used with" $CARVE run-enclave --eif-path g.eif --memory 128 --cpu-count 1 --cpu-ids 1
start_fails_with 26 "memory 0 is E26 (nitro-cli: resource_manager.rs:489-503)" $CARVE run-enclave --eif-path g.eif --memory 0 --cpu-count 1
fails_with 3 "memory with a bad unit is E03" $CARVE run-enclave --eif-path g.eif --memory 12X --cpu-count 1
# 63 is granted 64 (whole 2 MiB pages, as nitro-cli maps them) and starts.
start_fails_with 26 "memory under 64 MiB is E26" $CARVE run-enclave --eif-path g.eif --memory 62 --cpu-count 1
head -c $((40 << 20)) /dev/urandom >big
$CARVE build-enclave --kernel "$GUEST" --cmdline x --ramdisk big --output-file big.eif >/dev/null 2>&1
start_fails_with 26 "memory under 4x the EIF is E26" $CARVE run-enclave --eif-path big.eif --memory 128 --cpu-count 1
ok "E26 names the amount needed" grep -q "At least 161 MB" "$TMP/err"
for cid in 1 2 3 4294967295 4294967296; do
	fails_with 3 "CID $cid is E03" $CARVE run-enclave --eif-path g.eif --memory 128 --cpu-count 1 --enclave-cid $cid
done
start_fails_with 20 "a CPU listed twice is E20" $CARVE run-enclave --eif-path g.eif --memory 128 --cpu-ids 1 --cpu-ids 1
fails_with 3 "a malformed CPU id is E03 (nitro-cli: commands_parser.rs:482-497)" $CARVE run-enclave --eif-path g.eif --memory 128 --cpu-ids x
start_fails_with 21 "a CPU the host lacks is E21" $CARVE run-enclave --eif-path g.eif --memory 128 --cpu-ids 250
start_fails_with 22 "more CPUs than the host has is E22" $CARVE run-enclave --eif-path g.eif --memory 128 --cpu-count 200
start_fails_with 19 "a missing EIF is E19" $CARVE run-enclave --eif-path nope.eif --memory 128 --cpu-count 1
cp g.eif bad.eif; printf 'Z' | dd of=bad.eif bs=1 seek=600 conv=notrunc 2>/dev/null
start_fails_with 35 "a damaged EIF is E35" $CARVE run-enclave --eif-path bad.eif --memory 128 --cpu-count 1
printf '{"eif_path": "g.eif", "memory_mib": 128, "cpu_count": 1, "cpu_ids": [1]}' >both.json
fails_with 2 "--config with cpu_count and cpu_ids is E02" $CARVE run-enclave --config both.json
refused "--config with other flags is a conflict" --saying "cannot be used with" $CARVE run-enclave --config both.json --memory 128
printf '{"eif_path": "g.eif", "memory_mib": 128, "cpu_count": 1, "bogus": 1}' >unknown.json
fails_with 17 "--config with an unknown key is E17" $CARVE run-enclave --config unknown.json
ok "nothing is left running after refused starts" test "$($CARVE describe-enclaves)" = "[]"

# --- a guest that stops before its heartbeat ---------------------------------
start_fails_with 36 "a guest that powers off before its heartbeat is E36" \
	$CARVE run-enclave --eif-path g.eif --memory 128 --cpu-count 1 --debug-mode --enclave-name early
ok "E36 says why" grep -q "stopped before its heartbeat (poweroff" "$TMP/err"
ok "no socket or reservation is left" bash -c "! ls '$CARVE_SOCKETS_DIR' | grep -q '\.sock$\|\.record$\|\.alive$'"
$CARVE console --enclave-name early >console.out 2>console.err
same "console of the stopped debug enclave exits 0" "$?" "0"
ok "its saved console has the guest's output" grep -q "cmdline: test=lifecycle" console.out
ok "console says the enclave has stopped" grep -q "has stopped" console.err
start_fails_with 36 "a non-debug guest that stops is E36 too" $CARVE run-enclave --eif-path g.eif --memory 128 --cpu-count 1 --enclave-name quiet
fails_with 44 "console of a non-debug enclave is E44" $CARVE console --enclave-name quiet

# --- finding enclaves -----------------------------------------------------------
same "describe-enclaves with none running prints []" "$($CARVE describe-enclaves)" "[]"
fails_with 58 "terminate by an unknown name is E58" $CARVE terminate-enclave --enclave-name nobody
# nitro-cli v1.5.0 src/enclave_proc_comm.rs:128-138: SocketError.
fails_with 11 "terminate by an unknown id is E11" $CARVE terminate-enclave --enclave-id i-0000000000000000-enc1234
refused "terminate with no selector" --saying "required arguments were not provided" $CARVE terminate-enclave
refused "terminate with two selectors is a conflict" --saying "cannot be used with" $CARVE terminate-enclave --all --enclave-name x
same "terminate --all with none running prints []" "$($CARVE terminate-enclave --all 2>/dev/null)" "[]"
fails_with 11 "console of an unknown enclave is E11" $CARVE console --enclave-id i-0000000000000000-enc99
# clap takes no value that starts with '-' (src/lib.rs:826): '-1' is a flag.
refused "console --disconnect-timeout -1: clap's unknown flag '-1'" --saying "unexpected argument '-1' found" \
	$CARVE console --enclave-name early --disconnect-timeout -1
fails_with 3 "console with a bad timeout is E03" $CARVE console --enclave-name early --disconnect-timeout x

# --- an enclave that boots forever (its guest halts and never sends the
# heartbeat): described while it boots, refused to other users, terminated
# during boot, killed -9 ---------------------------------------------------------
$CARVE build-enclave --kernel "$GUEST" --cmdline "stop=hang" --ramdisk ramdisk --output-file hang.eif >/dev/null 2>&1
wait_state() { # NAME STATE: until describe-enclaves shows it, at most 20 s
	for _ in $(seq 200); do
		# From its name to the end of its first object (State comes before
		# Measurements), however many CPUIDs lines come between.
		$CARVE describe-enclaves 2>/dev/null | sed -n "/\"EnclaveName\": \"$1\"/,/}/p" |
			grep -q "\"State\": \"$2\"" && return 0
		sleep 0.1
	done
	return 1
}
$CARVE run-enclave --eif-path hang.eif --memory 64 --cpu-count 1 --enclave-name booting >run1.out 2>run1.err &
run1=$!
wait_state booting STARTING
tap_result $? "a booting enclave is listed as STARTING" run1.err
# Development mode (no pool): CPUIDs lists the CPUs its vCPUs may run on, the
# enclave process's affinity, which it inherited from this shell (nproc).
$CARVE describe-enclaves >booting.json 2>&1
same "development mode: CPUIDs lists the CPUs the vCPUs may run on" \
	"$(sed -n '/"CPUIDs": \[/,/\]/p' booting.json | grep -c '^ *[0-9][0-9]*,\?$')" "$(nproc)"
chmod 755 "$TMP"
if command -v setpriv >/dev/null; then
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	as_nobody $CARVE describe-enclaves >nobody.json 2>&1
	ok "another user may describe it" grep -q '"EnclaveName": "booting"' nobody.json
	fails_with 18 "another user may not terminate it (E18)" as_nobody $CARVE terminate-enclave --enclave-name booting
	same "another user's --all terminates nothing" "$(as_nobody $CARVE terminate-enclave --all 2>/dev/null)" "[]"
	ok "  ...and the enclave is still there" wait_state booting STARTING
else
	skip "read-only users" "setpriv (util-linux) is missing"
fi
ok "terminate during boot" $CARVE terminate-enclave --enclave-name booting
wait $run1
same "run-enclave of the terminated enclave exits 39 (its start failed)" "$?" "39"
ok "  ...after the start's E36" grep -q "^\[ E36 \]" run1.err
ok "and says it was terminated while booting" grep -q "terminated while it booted" run1.err
same "nothing is listed afterwards" "$($CARVE describe-enclaves)" "[]"

$CARVE run-enclave --eif-path hang.eif --memory 64 --cpu-count 1 --enclave-name victim >/dev/null 2>run2.err &
run2=$!
ok "second booting enclave listed" wait_state victim STARTING
pid=$($CARVE describe-enclaves | grep -o '"ProcessID": [0-9]*' | awk '{print $2}')
kill -9 "$pid"
wait $run2
same "run-enclave whose enclave process was killed exits 39 (its start failed)" "$?" "39"
ok "  ...after the start's E36" grep -q "^\[ E36 \]" run2.err
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
ok "kill -9 leaves no enclave process behind" bash -c "! kill -0 $pid 2>/dev/null"
same "the stale enclave is not listed" "$($CARVE describe-enclaves)" "[]"
ok "kill -9 leaves no socket behind (cleaned when next listed)" bash -c "! ls '$CARVE_SOCKETS_DIR' | grep -q '\.sock$\|\.record$\|\.alive$'"

finish
