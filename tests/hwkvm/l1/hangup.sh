#!/usr/bin/env bash
# In the hardware-KVM bed's L1 (run on request; docs/testing.md, "Open"):
# reproduces an L2 panic seen while the Python service runs. Parents that
# connect to a Linux enclave's port and hang up at once (health checks, port
# scanners, a parent that dies) must not hurt the enclave: while the Python service starts, 40 such
# connections come in (refused before it listens, accepted and closed after);
# then a real parent still gets its attestation document, and the enclave
# stops only when its program exits. In debug mode, so a failure shows the
# console.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/vsock_ask.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
cd "$TMP" || exit 1
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state
IMG=$ROOT/build/images/python-docker.tar
"$CARVE" build-enclave --docker-uri "docker-archive:$IMG" --output-file py.eif >/dev/null 2>py.err
tap_result $? "build the Python service EIF" py.err
timeout 300 "$CARVE" run-enclave --eif-path py.eif --memory 768 --cpu-count "$(( $(nproc) >= 2 ? 2 : 1 ))" --enclave-cid 23 \
	--enclave-name hang --debug-mode >/dev/null 2>run.err
same "run-enclave (debug mode)" "$?" 0
SOCK=$CARVE_SOCKETS_DIR/vsock/cid-23.sock
accepted=0
for _ in $(seq 40); do
	[ -S "$SOCK" ] || break
	printf 'CONNECT 5000\n' | timeout 10 socat -t 3 - "UNIX-CONNECT:$SOCK" 2>/dev/null | head -1 | grep -q '^OK ' &&
		accepted=$((accepted + 1))
	sleep 0.5
done
echo "# $accepted of the hang-ups were accepted by the service"
ok "the enclave is still running after 40 hang-ups" test -S "$SOCK"
openssl rand -hex 16 >nonce
for _ in $(seq 60); do
	[ -S "$SOCK" ] || break
	vsock_ask "$SOCK" 5000 "$(cat nonce)" reply.bin 120
	head -1 reply.bin | grep -q '^OK ' && break
	sleep 2
done
"$CARVE" console --enclave-name hang --disconnect-timeout 3 2>&1 | tr -d '\r' >console.txt
head -1 reply.bin | grep -q '^OK ' && [ "$(stat -c %s reply.bin)" -gt 100 ]
tap_result $? "a real parent then gets its document" "$(tail_of console.txt 40)"
"$CARVE" terminate-enclave --all >/dev/null 2>&1
finish
