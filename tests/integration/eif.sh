#!/usr/bin/env bash
# build-enclave, describe-eif, pcr, sign-eif, explain: end to end through the
# CLI. Expected PCRs come from `openssl dgst -sha384` and expected CRCs from
# gzip's trailer (CRC-32 of its input), never from carve's own code.
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1

pcr_of() { # PCR = SHA384(0^48 || SHA384(stdin))
	openssl dgst -sha384 -binary >"$TMP/.d"
	{ head -c 48 /dev/zero; cat "$TMP/.d"; } | openssl dgst -sha384 | awk '{print $2}'
}
crc_of_eif() { # CRC-32 of header[0,544) ++ sections, from gzip's trailer (LE u32; od prints its value)
	{ head -c 544 "$1"; tail -c +549 "$1"; } | gzip -c | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n'
}
stored_crc() { od -An -tx1 -j544 -N4 "$1" | tr -d ' \n'; }

head -c 1500000 /dev/urandom >kernel
printf 'boot ramdisk' >r0
head -c 3000000 /dev/urandom >r1
head -c 70000 /dev/urandom >r2
CMDLINE="reboot=k panic=30 pci=off console=ttyS0"

# --- build, unsigned ---------------------------------------------------------
ok "build-enclave writes an EIF" $CARVE build-enclave --kernel kernel --cmdline "$CMDLINE" \
	--ramdisk r0 --ramdisk r1 --ramdisk r2 --output-file img.eif --name demo --version 2.5
$CARVE build-enclave --kernel kernel --cmdline "$CMDLINE" --ramdisk r0 --ramdisk r1 --ramdisk r2 \
	--output-file img.eif --name demo --version 2.5 >build.json 2>build.err
same "build-enclave reports success on stderr" "$(tail -1 build.err)" "Enclave Image successfully created."
pcr0=$( { cat kernel; printf '%s' "$CMDLINE"; cat r0 r1 r2; } | pcr_of)
pcr1=$( { cat kernel; printf '%s' "$CMDLINE"; cat r0; } | pcr_of)
pcr2=$( { cat r1 r2; } | pcr_of)
same "PCR0 = SHA384(0 || SHA384(kernel cmdline ramdisks))" "$(json_field build.json PCR0)" "$pcr0"
same "PCR1 covers kernel, cmdline, first ramdisk" "$(json_field build.json PCR1)" "$pcr1"
same "PCR2 covers the other ramdisks" "$(json_field build.json PCR2)" "$pcr2"
same "CRC matches an independent CRC-32" "$(stored_crc img.eif)" "$(crc_of_eif img.eif)"
same "magic and version 4" "$(od -An -tx1 -N6 img.eif | tr -d ' \n')" "2e6569660004"
same "five sections: kernel cmdline metadata ramdisk ramdisk ramdisk" \
	"$(od -An -tu1 -j26 -N2 img.eif | tr -d ' \n')" "06"
# cmdline without NUL: section 1 starts right after kernel's header+payload
csize_off=$((284 + 8))
same "cmdline section size has no NUL" "$(od -An -tu8 --endian=big -j$csize_off -N8 img.eif | tr -d ' ')" "${#CMDLINE}"

$CARVE describe-eif --eif-path img.eif >desc.json 2>desc.err
same "describe-eif exits 0" "$?" "0"
same "describe-eif PCR0 equals build PCR0" "$(json_field desc.json PCR0)" "$pcr0"
same "describe-eif CheckCRC" "$(json_field desc.json CheckCRC)" "true"
same "describe-eif IsSigned false" "$(json_field desc.json IsSigned)" "false"
same "describe-eif EifVersion" "$(json_field desc.json EifVersion)" "4"
same "ImageName from --name" "$(json_field desc.json ImageName)" "demo"
same "ImageVersion from --version" "$(json_field desc.json ImageVersion)" "2.5"
ok "HashAlgorithm as nitro-cli prints it" grep -q '"HashAlgorithm": "Sha384 { ... }"' desc.json
ok "unsigned describe has no PCR8" bash -c "! grep -q PCR8 desc.json"

# --- pcr ---------------------------------------------------------------------
$CARVE pcr --input r1 >pcr.json
same "pcr --input" "$(json_field pcr.json PCR)" "$(pcr_of <r1)"
refused "pcr with both inputs is a conflict" --saying "cannot be used with" $CARVE pcr --input r1 --signing-certificate x.pem
refused "pcr with neither: the required arguments" --saying "required arguments were not provided" $CARVE pcr
fails_with 19 "pcr of a missing file is E19" $CARVE pcr --input /nonexistent

# --- metadata ----------------------------------------------------------------
printf '{"team": "enclaves", "build": {"n": 7}}' >meta.json
ok "build with --metadata" $CARVE build-enclave --kernel kernel --cmdline x --ramdisk r0 \
	--output-file meta.eif --metadata meta.json
$CARVE describe-eif --eif-path meta.eif >meta.desc
same "custom metadata keys are inlined in Metadata" "$(json_field meta.desc team)" "enclaves"
same "ImageName defaults to the file name" "$(json_field meta.desc ImageName)" "meta"
printf '{"broken": ' >bad.json
fails_with 48 "invalid --metadata JSON is E48" $CARVE build-enclave --kernel kernel --cmdline x \
	--ramdisk r0 --output-file m2.eif --metadata bad.json
ok "failed build leaves no output file" test ! -e m2.eif
head -c 5000 /dev/zero | tr '\0' ' ' >big.json
fails_with 48 "--metadata over 4096 bytes is E48" $CARVE build-enclave --kernel kernel --cmdline x \
	--ramdisk r0 --output-file m3.eif --metadata big.json
SOURCE_DATE_EPOCH=1700000000 $CARVE build-enclave --kernel kernel --cmdline x --ramdisk r0 --name rep --output-file rep1.eif >/dev/null 2>&1
sleep 1
SOURCE_DATE_EPOCH=1700000000 $CARVE build-enclave --kernel kernel --cmdline x --ramdisk r0 --name rep --output-file rep2.eif >/dev/null 2>&1
ok "SOURCE_DATE_EPOCH makes builds byte-identical" cmp rep1.eif rep2.eif
ok "BuildTime follows SOURCE_DATE_EPOCH, in chrono's to_rfc3339 form" grep -q '"BuildTime":"2023-11-14T22:13:20+00:00"' rep1.eif

# --- bad build input -----------------------------------------------------------
fails_with 1 "build without --ramdisk is E01" $CARVE build-enclave --kernel kernel --cmdline x --output-file z.eif
fails_with 19 "build with a missing kernel is E19" $CARVE build-enclave --kernel nope --cmdline x --ramdisk r0 --output-file z.eif
: >empty
fails_with 48 "build with an empty kernel is E48" $CARVE build-enclave --kernel empty --cmdline x --ramdisk r0 --output-file z.eif
cp img.eif keep.eif
fails_with 19 "a failed build does not touch an existing output" $CARVE build-enclave --kernel nope --cmdline x --ramdisk r0 --output-file keep.eif
ok "existing output unchanged" cmp img.eif keep.eif
refused "an unknown flag is refused" --saying "unexpected argument '--frobnicate'" $CARVE build-enclave --kernel kernel --frobnicate
ok "no temporary files left behind" bash -c "! ls -a | grep -q '^\.'.*'\.eif\.'"

# --- signing -----------------------------------------------------------------
openssl ecparam -name secp384r1 -genkey -noout -out key.pem 2>/dev/null
openssl req -new -x509 -key key.pem -out cert.pem -days 30 -subj "/CN=carve test/O=Example/C=US" 2>/dev/null
openssl ecparam -name secp384r1 -genkey -noout -out other.pem 2>/dev/null
pcr8=$(openssl x509 -in cert.pem -outform DER | pcr_of)
$CARVE pcr --signing-certificate cert.pem >p8.json
same "pcr --signing-certificate = PCR over the DER" "$(json_field p8.json PCR8)" "$pcr8"

ok "build-enclave signs" $CARVE build-enclave --kernel kernel --cmdline "$CMDLINE" --ramdisk r0 \
	--ramdisk r1 --ramdisk r2 --output-file signed.eif --signing-certificate cert.pem --private-key key.pem
$CARVE describe-eif --eif-path signed.eif >sd.json
same "signed: PCR0 unchanged by signing" "$(json_field sd.json PCR0)" "$pcr0"
same "signed: PCR8" "$(json_field sd.json PCR8)" "$pcr8"
same "signed: IsSigned" "$(json_field sd.json IsSigned)" "true"
same "signed: SignatureCheck" "$(json_field sd.json SignatureCheck)" "true"
same "signed: CRC" "$(stored_crc signed.eif)" "$(crc_of_eif signed.eif)"
ok "signed: SigningCertificate issuer, OpenSSL long names (nitro_describe.sh)" grep -q '"commonName": "carve test"' sd.json

cp img.eif later.eif
ok "sign-eif on an unsigned image" $CARVE sign-eif --eif-path later.eif --signing-certificate cert.pem --private-key key.pem
$CARVE describe-eif --eif-path later.eif >ld.json
same "sign-eif: SignatureCheck" "$(json_field ld.json SignatureCheck)" "true"
same "sign-eif: CRC fixed" "$(stored_crc later.eif)" "$(crc_of_eif later.eif)"
same "sign-eif: one more section" "$(od -An -tu1 -j27 -N1 later.eif | tr -d ' ')" "7"
openssl req -new -x509 -key other.pem -out other-cert.pem -days 30 -subj "/CN=second" 2>/dev/null
ok "sign-eif replaces an existing signature" $CARVE sign-eif --eif-path later.eif --signing-certificate other-cert.pem --private-key other.pem
$CARVE describe-eif --eif-path later.eif >ld2.json
same "replaced: still 7 sections" "$(od -An -tu1 -j27 -N1 later.eif | tr -d ' ')" "7"
same "replaced: PCR8 of the new certificate" "$(json_field ld2.json PCR8)" "$(openssl x509 -in other-cert.pem -outform DER | pcr_of)"
same "replaced: SignatureCheck" "$(json_field ld2.json SignatureCheck)" "true"

cp img.eif mismatch.eif
fails_with 60 "key that does not match the certificate is E60" $CARVE sign-eif --eif-path mismatch.eif --signing-certificate cert.pem --private-key other.pem
ok "refused signing leaves the image unchanged" cmp img.eif mismatch.eif
fails_with 60 "build with a mismatched key is E60" $CARVE build-enclave --kernel kernel --cmdline x --ramdisk r0 --output-file mm.eif --signing-certificate cert.pem --private-key other.pem
refused "--signing-certificate requires --private-key" --saying "  --private-key <private-key>" $CARVE build-enclave --kernel kernel --cmdline x --ramdisk r0 --output-file mm.eif --signing-certificate cert.pem

# --- certificates outside their validity window --------------------------------
if command -v faketime >/dev/null; then
	faketime '2020-01-01 00:00:00' openssl req -new -x509 -key key.pem -out expired.pem -days 2 -subj "/CN=old" 2>/dev/null
	faketime '2040-01-01 00:00:00' openssl req -new -x509 -key key.pem -out future.pem -days 2 -subj "/CN=future" 2>/dev/null
	cp img.eif exp.eif
	fails_with 60 "signing with an expired certificate is E60" $CARVE sign-eif --eif-path exp.eif --signing-certificate expired.pem --private-key key.pem
	ok "expired: image unchanged" cmp img.eif exp.eif
	fails_with 60 "signing with a not-yet-valid certificate is E60" $CARVE build-enclave --kernel kernel --cmdline x --ramdisk r0 --output-file fut.eif --signing-certificate future.pem --private-key key.pem
	# Signed while the certificate was valid (release build: faketime's
	# preload and ASan's do not mix), described after it expired.
	faketime '2020-01-01 12:00:00' $CARVE_RELEASE sign-eif --eif-path exp.eif --signing-certificate expired.pem --private-key key.pem >/dev/null 2>&1
	$CARVE describe-eif --eif-path exp.eif >exp.json 2>exp.err
	same "describe of an image whose certificate expired exits 0" "$?" "0"
	same "expired: the signature itself still checks" "$(json_field exp.json SignatureCheck)" "true"
	ok "expired: describe warns that run-enclave will refuse it" grep -q "has expired" exp.err
else
	skip "certificate validity window tests" "faketime is not installed (scripts/setup.sh installs it)"
fi

# --- damaged images ------------------------------------------------------------
cp signed.eif flip.eif
printf '\x00' | dd of=flip.eif bs=1 seek=200000 conv=notrunc 2>/dev/null
printf '\x01' | dd of=flip.eif bs=1 seek=200001 conv=notrunc 2>/dev/null
$CARVE describe-eif --eif-path flip.eif >flip.json 2>flip.err
same "a flipped payload byte: describe exits 35" "$?" "35"
same "flipped: CheckCRC false in the JSON" "$(json_field flip.json CheckCRC)" "false"
ok "flipped: E35 on stderr" grep -q '\[ E35 \]' flip.err
cp flip.eif flip2.eif
# nitro-cli v1.5.0 src/lib.rs:317-322: any image it cannot sign is E60.
fails_with 60 "sign-eif refuses a damaged image (E60, as nitro-cli)" $CARVE sign-eif --eif-path flip2.eif --signing-certificate cert.pem --private-key key.pem
ok "refused: damaged image untouched" cmp flip.eif flip2.eif


printf 'XXXX' | dd of=bad-magic.eif bs=1 conv=notrunc 2>/dev/null; cp img.eif bad-magic.eif; printf 'XXXX' | dd of=bad-magic.eif bs=1 conv=notrunc 2>/dev/null
fails_with 35 "bad magic is E35" $CARVE describe-eif --eif-path bad-magic.eif
head -c 300 img.eif >short.eif
fails_with 35 "a file shorter than the header is E35" $CARVE describe-eif --eif-path short.eif
head -c 100000 img.eif >trunc.eif
fails_with 35 "a truncated image is E35" $CARVE describe-eif --eif-path trunc.eif
cp img.eif trail.eif; printf 'junk' >>trail.eif
fails_with 35 "trailing bytes are E35" $CARVE describe-eif --eif-path trail.eif
# nitro-cli v1.5.0 src/lib.rs:224-229: EifParsingError for an image it cannot open.
fails_with 35 "a missing image is E35, as nitro-cli says" $CARVE describe-eif --eif-path /nonexistent.eif
ok "  ...in its words, then carve's" grep -q "Failed to initialize EIF reader: File: '/nonexistent.eif'" "$TMP/err"
# explain writes to stderr and succeeds, as nitro-cli (src/main.rs:296-304,
# src/common/document_errors.rs:367-554); tests/integration/nitro_describe.sh
# checks the texts.
$CARVE explain --error-code E35 2>explain.txt >explain.out
ok "explain E35, nitro-cli's text" grep -q '^EIF file parsing error. ' explain.txt
same "  ...nothing on stdout" "$(cat explain.out)" ""
$CARVE explain --error-code E75 2>explain.txt
ok "explain E75, one of carve's own codes" grep -q '^GuestKernelLoadError. ' explain.txt
same "E61..E69 are not codes (left to nitro-cli)" "$($CARVE explain --error-code E65 2>&1)" "No such error code E65"

# --- the same binary as nitro-cli ------------------------------------------------
ok "the binary answers to nitro-cli" "$(dirname "$CARVE")/nitro-cli" describe-eif --eif-path img.eif

finish
