#!/usr/bin/env bash
# The main job: set up, build, and show the carve workflow end to end on
# this machine. Safe to run again; works on a fresh Debian 12 machine.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/setup.sh
make -s -j"$(nproc)" all
C=$ROOT/build/bin/carve
work=$(mktemp -d /tmp/carve-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export CARVE_STATE_DIR=${CARVE_STATE_DIR:-$work/state}
export CARVE_SOCKETS_DIR=${CARVE_SOCKETS_DIR:-$work/sockets}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "A signing key and certificate for the image"
openssl ecparam -name secp384r1 -genkey -noout -out "$work/key.pem"
openssl req -new -x509 -key "$work/key.pem" -out "$work/cert.pem" -days 30 -subj "/CN=carve demo" 2>/dev/null

step "Build an EIF from a root filesystem, signed"
mkdir -p "$work/rootfs/etc"
printf 'hello from inside the enclave\n' >"$work/rootfs/etc/greeting"
KERNEL=$ROOT/build/guests/carve-guest.elf
$C build-enclave --kernel "$KERNEL" --cmdline "console=ttyS0" --rootfs "$work/rootfs" \
	--cmd "/bin/hello --greet" --env MODE=demo --output-file "$work/demo.eif" --name demo \
	--signing-certificate "$work/cert.pem" --private-key "$work/key.pem"

step "Describe it (nitro-cli's JSON)"
$C describe-eif --eif-path "$work/demo.eif"

step "The attestation document an enclave of this image would receive"
PCR0=$($C describe-eif --eif-path "$work/demo.eif" 2>/dev/null | grep -o '"PCR0": "[0-9a-f]*"' | cut -d'"' -f4)
$C attestation-root --output "$work/root.pem"
$C attest --eif-path "$work/demo.eif" --nonce 0123456789abcdef --output "$work/doc.cbor"
$C verify-attestation --document "$work/doc.cbor" --root "$work/root.pem" --pcr "0=$PCR0" --nonce 0123456789abcdef

step "Boot the image's kernel in a KVM VM (carve vmm)"
$C vmm --eif-path "$work/demo.eif" --memory 128 --cpus 2 || true

echo
echo "demo done"
