#!/usr/bin/env bash
# Regenerates the seed corpus of the EIF reader fuzz target from carve's own
# builder: small unsigned, signed, one-ramdisk and metadata-carrying images,
# plus a few damaged ones. Run after changing the format code; commit the
# result (tests/fuzz/corpus/eif_reader/).
set -eu
cd "$(dirname "$0")/.."
CARVE=${CARVE:-build/bin/carve}
out=tests/fuzz/corpus/eif_reader
rm -rf "$out"; mkdir -p "$out"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
printf 'K' >"$t/k"; printf 'R0' >"$t/r0"; printf 'R1R1' >"$t/r1"
printf '{"a":[1,2]}' >"$t/m.json"
openssl ecparam -name secp384r1 -genkey -noout -out "$t/key.pem" 2>/dev/null
openssl req -new -x509 -key "$t/key.pem" -out "$t/cert.pem" -days 3650 -subj "/CN=seed" 2>/dev/null
export SOURCE_DATE_EPOCH=1700000000
$CARVE build-enclave --kernel "$t/k" --cmdline c --ramdisk "$t/r0" --output-file "$out/one-ramdisk.eif" --name s >/dev/null 2>&1
$CARVE build-enclave --kernel "$t/k" --cmdline "a b" --ramdisk "$t/r0" --ramdisk "$t/r1" --output-file "$out/two-ramdisks.eif" --name s --metadata "$t/m.json" >/dev/null 2>&1
$CARVE build-enclave --kernel "$t/k" --cmdline c --ramdisk "$t/r0" --ramdisk "$t/r1" --output-file "$out/signed.eif" --name s --signing-certificate "$t/cert.pem" --private-key "$t/key.pem" >/dev/null 2>&1
head -c 600 "$out/signed.eif" >"$out/truncated.eif"
cp "$out/two-ramdisks.eif" "$out/bad-crc.eif"; printf 'Z' | dd of="$out/bad-crc.eif" bs=1 seek=560 conv=notrunc 2>/dev/null
head -c 548 "$out/one-ramdisk.eif" >"$out/header-only.eif"
ls -l "$out"
