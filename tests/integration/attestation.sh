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
fails_with 3 "unknown flag is E03" "$CARVE" attestation-root --bogus

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
fails_with 1 "no --document is E01" "$CARVE" verify-attestation
fails_with 3 "a malformed --pcr is E03" "$CARVE" verify-attestation --document "$TMP/doc" --pcr 0=abc
fails_with 3 "--pcr 32 is E03" "$CARVE" verify-attestation --document "$TMP/doc" --pcr 32="$P0"
fails_with 3 "bad --nonce hex is E03" "$CARVE" verify-attestation --document "$TMP/doc" --nonce xyz
CARVE_STATE_DIR=$TMP/empty fails_with 19 "no root in the state directory is E19" \
	"$CARVE" verify-attestation --document "$TMP/doc"

finish
