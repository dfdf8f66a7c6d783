#!/usr/bin/env bash
# Whole enclaves on the carve kernel through nitro-cli's workflow: three
# started at the same time (distinct CIDs, all RUNNING), a nonce handed over
# vsock and the attestation document checked, console of a debug enclave,
# terminate by id and by name, and the enclave's own exit.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/vsock_ask.sh"
requires_kvm
cd "$TMP" || exit 1
export CARVE_STATE_DIR=$TMP/state CARVE_SOCKETS_DIR=$TMP/sockets
HELLO=$ROOT/build/guest/apps/hello
command -v socat >/dev/null || { skip "whole enclaves" "socat is missing (scripts/setup.sh installs it)"; finish; }

mkdir -p rootfs/bin && cp "$HELLO" rootfs/bin/hello
ok "build the hello EIF with the carve kernel" $CARVE build-enclave --rootfs rootfs \
	--cmd "/bin/hello --port 5000" --env WHO=test --output-file hello.eif
$CARVE describe-eif --eif-path hello.eif >describe.json
PCR0=$(json_field describe.json PCR0)

# --- three at once -------------------------------------------------------------
for i in 1 2 3; do
	$CARVE run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-name "h$i" \
		>"run$i.json" 2>"run$i.err" &
done
fails=0
for job in $(jobs -p); do wait "$job" || fails=$((fails + 1)); done
same "three run-enclave at the same time all succeed" "$fails" "0"
$CARVE describe-enclaves >all.json
same "three enclaves are listed" "$(grep -c '"EnclaveID"' all.json)" "3"
same "their CIDs are distinct" "$(grep -o '"EnclaveCID": [0-9]*' all.json | sort -u | wc -l)" "3"
same "all RUNNING" "$(grep -c '"State": "RUNNING"' all.json)" "3"
ok "run-enclave printed nitro-cli's fields" grep -q '"EnclaveCID"' run1.json
ok "run-enclave said where it started" grep -q "Started enclave with enclave-cid" run1.err

# --- vsock: a nonce in, an attestation document out -----------------------------
CID=$(json_field run1.json EnclaveCID)
NONCE=$(openssl rand -hex 16)
vsock_ask "$CARVE_SOCKETS_DIR/vsock/cid-$CID.sock" 5000 "$NONCE" reply.bin 60
ok "the enclave accepted the host's vsock connection" bash -c "head -1 reply.bin | grep -q '^OK '"
tail -c +"$(( $(head -1 reply.bin | wc -c) + 5 ))" reply.bin >doc.cbor
$CARVE attestation-root --output root.pem >/dev/null 2>&1
ok "its attestation document verifies: chain, PCR0, nonce" $CARVE verify-attestation \
	--document doc.cbor --root root.pem --pcr "0=$PCR0" --nonce "$NONCE"
fails_with 59 "with another nonce it does not" $CARVE verify-attestation --document doc.cbor \
	--root root.pem --nonce "00$NONCE"
for _ in $(seq 100); do $CARVE describe-enclaves | grep -q '"h1"' || break; sleep 0.1; done
ok "an enclave whose program exits is gone from describe-enclaves" bash -c "! $CARVE describe-enclaves | grep -q '\"h1\"'"

# --- terminate by id and by name -------------------------------------------------
ID2=$(json_field run2.json EnclaveID)
$CARVE terminate-enclave --enclave-id "$ID2" >term.json 2>term.err
same "terminate by id exits 0" "$?" "0"
same "terminate prints Terminated: true" "$(json_field term.json Terminated)" "true"
ok "and the success line" grep -q "Successfully terminated enclave $ID2." term.err
ok "terminate by name" $CARVE terminate-enclave --enclave-name h3
slot=${ID2##*-enc}
ok "the enclave's event log records its heartbeat" grep -q "heartbeat received" "$CARVE_SOCKETS_DIR/$slot.log"
ok "  ...its termination and the release of its resources" \
	bash -c "grep -q 'terminate requested by uid' '$CARVE_SOCKETS_DIR/$slot.log' && grep -q 'resources released' '$CARVE_SOCKETS_DIR/$slot.log'"
$CARVE --verbose run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-name verbose >/dev/null 2>verbose.err
ok "carve --verbose shows the boot events on stderr" grep -q "heartbeat received" verbose.err
ok "  ...and lets go of the caller's stderr once booted (a pipe through it ends)" \
	timeout 30 bash -c "$CARVE --verbose run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-name piped 2>&1 | cat >/dev/null"
$CARVE terminate-enclave --all >/dev/null 2>&1
same "nothing left" "$($CARVE describe-enclaves)" "[]"
ok "no sockets left" bash -c "! ls '$CARVE_SOCKETS_DIR' | grep -q '\.sock$'"

# --- console of a debug enclave ------------------------------------------------------
$CARVE run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --debug-mode --enclave-name dbg >/dev/null 2>&1
$CARVE console --enclave-name dbg --disconnect-timeout 2 >console.out 2>console.err
ok "console streams the program's output" grep -q "waiting for a nonce on vsock port 5000" console.out
ok "console shows the environment given at build time" grep -q "WHO=test" console.out
# nitro-cli's banner, on stdout, naming the CID (src/lib.rs:407, :427).
cid=$($CARVE describe-enclaves | grep -o '"EnclaveCID": [0-9]*' | head -1 | grep -o '[0-9]*$')
ok "console says on stdout which CID it connects to" grep -qx "Connecting to the console for enclave $cid..." console.out
ok "console connected messages" grep -qx "Successfully connected to the console." console.out
$CARVE run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-name nodbg >/dev/null 2>&1
fails_with 44 "console of a non-debug enclave is E44" $CARVE console --enclave-name nodbg
$CARVE describe-enclaves --metadata >meta.json
ok "describe-enclaves --metadata adds the image's metadata" grep -q '"ImageName": "hello"' meta.json
$CARVE run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-name dbg >dup.json 2>/dev/null
same "a duplicate name gets a suffix, as nitro-cli's" "$(json_field dup.json EnclaveName)" "dbg_1"
ok "terminate --all" $CARVE terminate-enclave --all
same "nothing left after --all" "$($CARVE describe-enclaves)" "[]"
finish
