#!/usr/bin/env bash
# The main job: set up, build, and run the demo enclave end to end on this
# machine: build the `hello` EIF around the carve enclave kernel, sign it,
# run it, hand it a nonce over vsock, receive its attestation document and
# verify it against carve's root CA and the image's PCRs, show the console,
# terminate. Works on a fresh Debian 12 machine (as root).
#
# On a host without a usable /dev/kvm (some of our development machines) it
# runs the same demo inside the hardware-KVM test bed instead: an L1 guest
# with real KVM under QEMU's emulator (docs/testing.md), and prints its output.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
if [ -z "${HWKVM:-}" ]; then # in the bed's L1 all is built and nothing installs
	scripts/setup.sh
	make -s -j"$(nproc)" all
	if [ ! -c /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "demo: this host has no usable /dev/kvm; running the demo in the hardware-KVM bed"
		echo "demo: (an L1 guest with real KVM under QEMU's emulator, docs/testing.md; about 3 minutes)"
		out=$ROOT/build/hwkvm/demo
		status=0
		tests/hwkvm/run.sh --tests ../scripts/demo --jobs 1 --carve release --out "$out" || status=$?
		cat "$out/..__scripts__demo.log"
		exit "$status"
	fi
fi
C=${CARVE_RELEASE:-$ROOT/build/bin/carve}
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

# hello answers one nonce on vsock port 5000: "CONNECT 5000" on the enclave's
# Unix socket (docs/vsock.md), the nonce as a hex line; back comes "OK <port>",
# then the document's length (4 bytes, little-endian) and the document.
ask_for_document() { # CID NONCE OUT
	{ printf 'CONNECT 5000\n%s\n' "$2"; sleep 3; } |
		socat -t 30 - "UNIX-CONNECT:$CARVE_SOCKETS_DIR/vsock/cid-$1.sock" >"$work/reply.bin"
	head -1 "$work/reply.bin" | grep -q '^OK ' || { echo "the enclave did not accept the connection"; exit 1; }
	tail -c +"$(( $(head -1 "$work/reply.bin" | wc -c) + 5 ))" "$work/reply.bin" >"$3"
	echo "received a $(stat -c %s "$3")-byte attestation document"
}

step "run-enclave"
$C run-enclave --eif-path "$work/hello.eif" --memory 128 --cpu-count 1 --enclave-cid 16 | tee "$work/run.json"
$C describe-enclaves

step "Hand the enclave a nonce over vsock; receive its attestation document"
NONCE=$(openssl rand -hex 32)
ask_for_document 16 "$NONCE" "$work/doc.cbor"

step "Verify it: COSE signature, chain to carve's root CA, validity, PCR0, PCR8, nonce"
$C attestation-root --output "$work/root.pem"
$C verify-attestation --document "$work/doc.cbor" --root "$work/root.pem" --pcr "0=$PCR0" \
	--pcr "8=$PCR8" --nonce "$NONCE" >"$work/verified.json"
grep -E '"(ModuleID|Digest|Timestamp|Nonce|UserData|Verified|DebugMode)"|"0":|"8":' "$work/verified.json" || head -20 "$work/verified.json"
echo "verified"

step "The same image in debug mode: its console (and its all-zero PCRs)"
$C run-enclave --eif-path "$work/hello.eif" --memory 128 --cpu-count 1 --enclave-cid 17 --debug-mode \
	--enclave-name hello-debug >/dev/null
ask_for_document 17 "$NONCE" "$work/debug-doc.cbor"
$C verify-attestation --document "$work/debug-doc.cbor" --root "$work/root.pem" --pcr "0=$PCR0" \
	2>&1 | grep -o 'all-zero PCR.*' || true
$C console --enclave-name hello-debug --disconnect-timeout 2 || true

step "terminate-enclave --all (hello exits after answering, so little is left)"
$C terminate-enclave --all
$C describe-enclaves
echo
echo "demo done"
