#!/usr/bin/env bash
# In the hardware-KVM bed's L1: terminating a Linux enclave asks it to stop
# before it is stopped. carve presses Ctrl-Alt-Del on the guest's i8042
# keyboard (src/vmm/i8042.c); Linux hands it to PID 1 as SIGINT; carve-init
# passes SIGTERM to the program, which cleans up and exits with its own
# status; that status reaches the event log through the exit port. A
# program that ignores SIGTERM is killed by carve-init after its grace time.
# The carve kernel turns Ctrl-Alt-Del into SIGTERM for pid 1 itself.
. "$(dirname "$0")/../../lib/tap.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
cd "$TMP" || exit 1
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state

# A busybox image whose entrypoint waits for the host ($1: what its TERM
# trap does; '' ignores SIGTERM).
image() {
	rm -rf "img-$2"
	mkdir -p "img-$2/bin"
	cp "$CARVE_BUSYBOX" "img-$2/bin/busybox"
	for t in sh echo sleep; do ln -s busybox "img-$2/bin/$t"; done
	printf '%s\n' "trap '$1' TERM" 'echo "service: ready"' 'while :; do sleep 0.2; done' >"img-$2/bin/service"
	"$ROOT/tests/images/make-archive.sh" oci "$2.tar" "carve-test/$2:1" \
		'{"Env":["PATH=/bin"],"Cmd":["/bin/sh","/bin/service"]}' "img-$2" &&
		"$CARVE" build-enclave --docker-uri "oci-archive:$TMP/$2.tar" --output-file "$2.eif" >/dev/null
}

# Starts NAME from NAME.eif in debug mode, waits for "service: ready" on its
# console, then terminates it while a console reader follows to the end;
# leaves the console in NAME.console and the event log in NAME.log.
start_and_terminate() {
	timeout 300 "$CARVE" run-enclave --eif-path "$1.eif" --memory 256 --cpu-count 1 \
		--enclave-name "$1" --debug-mode >"$1.json" 2>"$1.err"
	same "$1: run-enclave" "$?" 0
	timeout 120 "$CARVE" console --enclave-name "$1" >"$1.raw" 2>&1 &
	local reader=$!
	for _ in $(seq 600); do
		tr -d '\r' <"$1.raw" | grep -q '^service: ready' && break
		sleep 0.2
	done
	local t0=$SECONDS
	"$CARVE" terminate-enclave --enclave-name "$1" >"$1.term" 2>&1
	same "$1: terminate-enclave" "$?" 0
	echo "# $1: terminate-enclave took $((SECONDS - t0)) s (emulated time)"
	wait "$reader"
	tr -d '\r' <"$1.raw" >"$1.console"
	local id
	id=$(sed -n 's/.*"EnclaveID": "\([^"]*\)".*/\1/p' "$1.json")
	cp "$CARVE_SOCKETS_DIR/${id##*-enc}.log" "$1.log" 2>/dev/null
}

image 'echo "service: got SIGTERM, cleaning up"; exit 9' polite
tap_result $? "build-enclave: a service that handles SIGTERM"
start_and_terminate polite
grep -q '^service: got SIGTERM' polite.console ||
	grep -ai 'i8042\|serio\|keyboard\|input:\|carve-init\|service' polite.console | sed 's/^/# polite console: /'
grep -q 'asked the guest to shut down (Ctrl-Alt-Del' polite.log
tap_result $? "polite: terminate asks the guest first (event log)" polite.log
grep -q 'stopped: the program exited with status 9' polite.log
tap_result $? "polite: the program's own exit status after SIGTERM reaches the event log" polite.log
ok "polite: stopped by the guest, not at the deadline" bash -c "! grep -q 'did not shut down' polite.log"
grep -q '^service: got SIGTERM, cleaning up' polite.console
tap_result $? "polite: the program got SIGTERM (console)" polite.console
grep -q '^carve-init: got SIGINT (Ctrl-Alt-Del' polite.console
tap_result $? "polite: carve-init got Ctrl-Alt-Del from Linux's keyboard driver (console)" polite.console

image '' stubborn
tap_result $? "build-enclave: a service that ignores SIGTERM"
start_and_terminate stubborn
grep -q 'stopped: the program exited with status 137' stubborn.log
tap_result $? "stubborn: carve-init kills it after its grace time (status 137 = SIGKILL)" stubborn.log

# The carve kernel turns the press into SIGTERM for pid 1 (guest/kernel/kbd.c);
# hello has no handler, so SIGTERM's default action ends it: status 143.
mkdir -p rootfs/bin && cp "$ROOT/build/guest/apps/hello" rootfs/bin/hello
"$CARVE" build-enclave --rootfs rootfs --cmd "/bin/hello --port 5000" --output-file hello.eif >/dev/null 2>&1
timeout 120 "$CARVE" run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-name hello >hello.json 2>&1
same "carve kernel: run-enclave" "$?" 0
"$CARVE" terminate-enclave --enclave-name hello >/dev/null 2>&1
id=$(sed -n 's/.*"EnclaveID": "\([^"]*\)".*/\1/p' hello.json)
log=$CARVE_SOCKETS_DIR/${id##*-enc}.log
for _ in $(seq 100); do grep -q 'resources released' "$log" 2>/dev/null && break; sleep 0.1; done
ok "carve kernel: terminate asks first; SIGTERM ends the program (status 143)" \
	bash -c "grep -q 'asked the guest' '$log' && grep -q 'stopped: the program exited with status 143' '$log'"

"$CARVE" terminate-enclave --all >/dev/null 2>&1 # nothing left running in L1
finish
