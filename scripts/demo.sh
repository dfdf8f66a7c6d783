#!/usr/bin/env bash
# The main job: set up, build, and run the demo enclave end to end on this
# machine: build the `hello` EIF around the carve enclave kernel, sign it,
# run it, hand it a nonce over vsock, receive its attestation document and
# verify it against carve's root CA and the image's PCRs, show the console,
# terminate. Works on a fresh Debian 12 machine (as root).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/setup.sh
make -s -j"$(nproc)" all
C=$ROOT/build/bin/carve
work=$(mktemp -d /tmp/carve-demo.XXXXXX)
export CARVE_STATE_DIR=${CARVE_STATE_DIR:-$work/state}
export CARVE_SOCKETS_DIR=${CARVE_SOCKETS_DIR:-$work/sockets}
cleanup() {
	$C terminate-enclave --all >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Sign and build the hello EIF (carve enclave kernel, rootfs with /bin/hello)"
openssl ecparam -name secp384r1 -genkey -noout -out "$work/key.pem"
openssl req -new -x509 -key "$work/key.pem" -out "$work/cert.pem" -days 30 -subj "/CN=carve demo" 2>/dev/null
mkdir -p "$work/rootfs/bin"
cp build/guest/apps/hello "$work/rootfs/bin/hello"
$C build-enclave --rootfs "$work/rootfs" --cmd "/bin/hello --port 5000" --env GREETING_FROM=carve \
	--output-file "$work/hello.eif" --signing-certificate "$work/cert.pem" --private-key "$work/key.pem"

step "describe-eif"
$C describe-eif --eif-path "$work/hello.eif" | tee "$work/describe.json"
PCR0=$(grep -o '"PCR0": "[0-9a-f]*"' "$work/describe.json" | cut -d'"' -f4)
PCR8=$(grep -o '"PCR8": "[0-9a-f]*"' "$work/describe.json" | cut -d'"' -f4)

step "run-enclave (debug mode, so its console can be shown)"
$C run-enclave --eif-path "$work/hello.eif" --memory 128 --cpu-count 1 --debug-mode --enclave-cid 16 \
	| tee "$work/run.json"
$C describe-enclaves

step "Hand the enclave a nonce over vsock and receive its attestation document"
NONCE=$(openssl rand -hex 32)
VSOCK=$CARVE_SOCKETS_DIR/vsock/cid-16.sock
# Host -> enclave vsock is a Unix socket: "CONNECT <port>" then the stream (docs/vsock.md).
{ printf 'CONNECT 5000\n%s\n' "$NONCE"; sleep 5; } | socat -t 30 - "UNIX-CONNECT:$VSOCK" >"$work/reply.bin"
head -c 16 "$work/reply.bin" | head -1 | grep -q '^OK ' || { echo "no OK from the enclave"; exit 1; }
# After the "OK <port>" line: 4 bytes of length, little-endian, then the document.
tail -c +"$(( $(head -1 "$work/reply.bin" | wc -c) + 1 ))" "$work/reply.bin" >"$work/framed.bin"
tail -c +5 "$work/framed.bin" >"$work/doc.cbor"
echo "received $(stat -c %s "$work/doc.cbor") bytes"

step "Verify the document: signature, chain to carve's root, PCR0, PCR8, nonce"
$C attestation-root --output "$work/root.pem"
$C verify-attestation --document "$work/doc.cbor" --root "$work/root.pem" --pcr "0=$PCR0" \
	--pcr "8=$PCR8" --nonce "$NONCE" | head -40

step "The enclave's console"
ID=$(grep -o '"EnclaveID": "[^"]*"' "$work/run.json" | cut -d'"' -f4)
$C console --enclave-id "$ID" --disconnect-timeout 2 || true

step "terminate-enclave"
$C terminate-enclave --enclave-id "$ID" 2>/dev/null || echo "(the enclave had already finished)"
$C describe-enclaves
echo
echo "demo done"
