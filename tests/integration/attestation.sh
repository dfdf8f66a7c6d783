#!/usr/bin/env bash
# carve attestation-root and verify-attestation, end to end, in a temporary
# state directory. Documents come from build/tools/nsm_attest_doc, which
# calls the same library path `carve attest` uses (nsm_attest_once).
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
. "$ROOT/tests/lib/tap.sh"
ATTEST=${NSM_ATTEST_DOC:-$ROOT/build/tools/nsm_attest_doc}
[ -x "$ATTEST" ] || ATTEST=$ROOT/build-san/tools/nsm_attest_doc

export CARVE_STATE_DIR=$TMP/state
P0=$(printf 'ab%.0s' $(seq 48))
P1=$(printf '01%.0s' $(seq 48))
ZERO=$(printf '00%.0s' $(seq 48))

# ---- attestation-root
ok "attestation-root creates the CA and prints the root" sh -c '"$0" attestation-root >"$1/root.pem"' "$CARVE" "$TMP"
ok "the output is a PEM certificate" grep -q 'BEGIN CERTIFICATE' "$TMP/root.pem"
same "root subject" "$(openssl x509 -in "$TMP/root.pem" -noout -subject -nameopt RFC2253)" \
	"subject=OU=nitro-enclaves,O=carve,CN=carve.nitro-enclaves"
ok "root is a CA with keyCertSign" sh -c 'openssl x509 -in "$0" -noout -text | grep -q "CA:TRUE, pathlen:1" &&
	openssl x509 -in "$0" -noout -text | grep -q "Certificate Sign, CRL Sign"' "$TMP/root.pem"
same "root key is mode 0600" "$(stat -c %a "$CARVE_STATE_DIR/pki/root.key")" "600"
same "intermediate key is mode 0600" "$(stat -c %a "$CARVE_STATE_DIR/pki/intermediate.key")" "600"
"$CARVE" attestation-root >"$TMP/root2.pem" 2>/dev/null
ok "a second run prints the same root" cmp "$TMP/root.pem" "$TMP/root2.pem"
"$CARVE" attestation-root --output "$TMP/root3.pem" >/dev/null 2>&1
ok "--output writes the same root" cmp "$TMP/root.pem" "$TMP/root3.pem"
ok "the intermediate chains to the root" openssl verify -CAfile "$TMP/root.pem" "$CARVE_STATE_DIR/pki/intermediate.pem"
refused "an unknown flag is refused as clap refuses it" "$CARVE" attestation-root --bogus

# Two processes creating a CA at once end with one root.
RACE=$TMP/race
CARVE_STATE_DIR=$RACE "$CARVE" attestation-root >"$TMP/race1.pem" 2>&1 &
CARVE_STATE_DIR=$RACE "$CARVE" attestation-root >"$TMP/race2.pem" 2>&1 &
wait
ok "concurrent first runs agree on the root" cmp "$TMP/race1.pem" "$TMP/race2.pem"

# ---- verify-attestation: good documents
"$ATTEST" --output "$TMP/doc" --pcr0 "$P0" --pcr1 "$P1" --nonce 0a0b0c --user-data 6869
ok "verify-attestation accepts a fresh document" "$CARVE" verify-attestation --document "$TMP/doc"
"$CARVE" verify-attestation --document "$TMP/doc" >"$TMP/report.json" 2>/dev/null
ok "the report says Valid" grep -q '"Valid": true' "$TMP/report.json"
ok "the report shows PCR0" grep -q "\"0\": \"$P0\"" "$TMP/report.json"
ok "the report shows the nonce and user data" sh -c 'grep -q "\"Nonce\": \"0a0b0c\"" "$0" && grep -q "\"UserData\": \"6869\"" "$0" && grep -q "\"PublicKey\": null" "$0"' "$TMP/report.json"
ok "the report names the enclave certificate" grep -q '"Issuer": "OU=nitro-enclaves,O=carve,CN=intermediate.carve.nitro-enclaves"' "$TMP/report.json"
ok "expected PCRs and nonce that match pass" "$CARVE" verify-attestation --document "$TMP/doc" \
	--pcr 0="$P0" --pcr 1="$P1" --pcr 2="$ZERO" --nonce 0a0b0c
ok "--root with carve's own root passes" "$CARVE" verify-attestation --document "$TMP/doc" --root "$TMP/root.pem"
"$ATTEST" --output "$TMP/debugdoc" --pcr0 "$P0" --debug-mode
"$CARVE" verify-attestation --document "$TMP/debugdoc" >"$TMP/debug.json" 2>/dev/null
ok "a debug-mode document reports DebugMode with zero PCRs" sh -c 'grep -q "\"DebugMode\": true" "$0" && grep -q "\"0\": \"$1\"" "$0"' "$TMP/debug.json" "$ZERO"

# ---- verify-attestation: failures
fails_with 59 "a different PCR0 is E59" "$CARVE" verify-attestation --document "$TMP/doc" --pcr 0="$P1"
fails_with 59 "a different nonce is E59" "$CARVE" verify-attestation --document "$TMP/doc" --nonce 0a0b0d
CARVE_STATE_DIR=$TMP/other "$CARVE" attestation-root --output "$TMP/other.pem" >/dev/null 2>&1
fails_with 59 "another root is E59" "$CARVE" verify-attestation --document "$TMP/doc" --root "$TMP/other.pem"

size=$(stat -c %s "$TMP/doc")
cp "$TMP/doc" "$TMP/badsig"
printf '\x55' | dd of="$TMP/badsig" bs=1 seek=$((size - 10)) conv=notrunc 2>/dev/null
fails_with 59 "a damaged signature is E59" "$CARVE" verify-attestation --document "$TMP/badsig"
cp "$TMP/doc" "$TMP/badpcr"
off=$(LC_ALL=C grep -obUaP '\xab{48}' "$TMP/doc" | head -1 | cut -d: -f1)
printf '\xac' | dd of="$TMP/badpcr" bs=1 seek=$((off + 5)) conv=notrunc 2>/dev/null
fails_with 59 "a changed PCR in the payload is E59" "$CARVE" verify-attestation --document "$TMP/badpcr"
head -c $((size - 1)) "$TMP/doc" >"$TMP/short"
fails_with 17 "a truncated document is E17" "$CARVE" verify-attestation --document "$TMP/short"
printf 'not cbor' >"$TMP/junk"
fails_with 17 "a file that is not CBOR is E17" "$CARVE" verify-attestation --document "$TMP/junk"

EXPSTATE=$TMP/expired
CARVE_STATE_DIR=$EXPSTATE "$ATTEST" --output "$TMP/olddoc" --time $(( $(date +%s) - 4 * 3600 ))
CARVE_STATE_DIR=$EXPSTATE fails_with 59 "a document whose certificate expired is E59" \
	"$CARVE" verify-attestation --document "$TMP/olddoc"
CARVE_STATE_DIR=$EXPSTATE "$CARVE" verify-attestation --document "$TMP/olddoc" 2>"$TMP/experr" >/dev/null
ok "the expiry message says so" grep -q 'expired' "$TMP/experr"

fails_with 19 "a missing document is E19" "$CARVE" verify-attestation --document "$TMP/nope"
refused "no --document: a required argument" --saying "  --document <document>" "$CARVE" verify-attestation
fails_with 3 "a malformed --pcr is E03" "$CARVE" verify-attestation --document "$TMP/doc" --pcr 0=abc
fails_with 3 "--pcr 32 is E03" "$CARVE" verify-attestation --document "$TMP/doc" --pcr 32="$P0"
fails_with 3 "bad --nonce hex is E03" "$CARVE" verify-attestation --document "$TMP/doc" --nonce xyz
CARVE_STATE_DIR=$TMP/empty fails_with 19 "no root in the state directory is E19" \
	"$CARVE" verify-attestation --document "$TMP/doc"

# ---- attest: documents for a real image, checked against PCRs computed here
pcr_of() { # PCR = SHA384(0^48 || SHA384(stdin)), with openssl only
	openssl dgst -sha384 -binary >"$TMP/.d"
	{ head -c 48 /dev/zero; cat "$TMP/.d"; } | openssl dgst -sha384 | awk '{print $2}'
}
cd "$TMP" || exit 1
head -c 200000 /dev/urandom >kernel
printf 'boot ramdisk' >r0
head -c 100000 /dev/urandom >r1
CMDLINE="console=ttyS0"
"$CARVE" build-enclave --kernel kernel --cmdline "$CMDLINE" --ramdisk r0 --ramdisk r1 \
	--output-file img.eif >/dev/null 2>&1
E0=$( { cat kernel; printf '%s' "$CMDLINE"; cat r0 r1; } | pcr_of)
E1=$( { cat kernel; printf '%s' "$CMDLINE"; cat r0; } | pcr_of)
E2=$(cat r1 | pcr_of)
ok "attest writes a document for an image" "$CARVE" attest --eif-path img.eif --nonce 1234 \
	--user-data 75736572 --output img.att
ok "that document verifies with the image's PCRs and the nonce" "$CARVE" verify-attestation \
	--document img.att --pcr 0="$E0" --pcr 1="$E1" --pcr 2="$E2" --pcr 8="$ZERO" --nonce 1234
"$CARVE" verify-attestation --document img.att >att.json 2>/dev/null
same "module id derived from PCR0" "$(grep -o '"ModuleId": "[^"]*"' att.json)" "\"ModuleId\": \"i-carve-enc${E0:0:16}\""
printf 'key bytes' >pub.bin
ok "attest --public-key puts the file's bytes in public_key" sh -c '"$0" attest --eif-path img.eif --public-key pub.bin --output pk.att >/dev/null &&
	"$0" verify-attestation --document pk.att | grep -q "\"PublicKey\": \"6b6579206279746573\""' "$CARVE"
ok "attest --debug-mode gives all-zero PCRs" sh -c '"$0" attest --eif-path img.eif --debug-mode --output dbg.att >/dev/null &&
	"$0" verify-attestation --document dbg.att --pcr 0="$1" | grep -q "\"DebugMode\": true"' "$CARVE" "$ZERO"
openssl ecparam -name secp384r1 -genkey -noout -out key.pem 2>/dev/null
openssl req -new -x509 -key key.pem -out cert.pem -days 30 -subj "/CN=carve test" 2>/dev/null
"$CARVE" build-enclave --kernel kernel --cmdline "$CMDLINE" --ramdisk r0 --ramdisk r1 \
	--output-file signed.eif --signing-certificate cert.pem --private-key key.pem >/dev/null 2>&1
E8=$(openssl x509 -in cert.pem -outform DER | pcr_of)
ok "a signed image's document carries PCR8 of the certificate" sh -c '"$0" attest --eif-path signed.eif --output s.att >/dev/null &&
	"$0" verify-attestation --document s.att --pcr 0="$1" --pcr 8="$2"' "$CARVE" "$E0" "$E8"
fails_with 3 "attest with a 1025-byte nonce is E03" "$CARVE" attest --eif-path img.eif \
	--nonce "$(printf '00%.0s' $(seq 1025))" --output big.att
ok "and writes nothing" test ! -e big.att
cp img.eif broken.eif
printf 'XX' | dd of=broken.eif bs=1 seek=600 conv=notrunc 2>/dev/null
fails_with 35 "attest on a damaged image is E35" "$CARVE" attest --eif-path broken.eif --output b.att
refused "attest without --output: a required argument" --saying "  --output <output>" "$CARVE" attest --eif-path img.eif

finish
