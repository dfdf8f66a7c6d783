#!/usr/bin/env bash
# describe-eif and explain print what nitro-cli prints, so scripts that parse
# or match them run unchanged (no KVM needed). Each expectation names the
# source it follows: aws-nitro-enclaves-cli v1.5.0 (commit
# 2950b3699d81ad304df2458915688a552734833d; "cli" below) and
# aws-nitro-enclaves-image-format ("image-format"; its SignCertificateInfo and
# identity.rs as of 0.5.0, the newest source read).
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1
NITRO=$(dirname "$CARVE")/nitro-cli
export NITRO_CLI_LOGS_PATH=$TMP/logs

head -c 200000 /dev/urandom >kernel
head -c 4096 /dev/urandom >r0
# image-format src/utils/identity.rs generate_build_info: OperatingSystem and
# KernelVersion are words 1 and 3 of line 3 of <kernel>.config, split on ' ',
# '/' and '-'.
printf '#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86_64 4.14.177-104.253.amzn2.x86_64 Kernel Configuration\n' >kernel.config
printf '{"zeta": 1, "alpha": {"y": [], "x": {}}, "mid/dle": "a\\u0001b"}' >meta.json
ok "build-enclave with --metadata" $CARVE build-enclave --kernel kernel --cmdline x --ramdisk r0 \
	--name demo --version 2.5 --metadata meta.json --output-file img.eif
$NITRO describe-eif --eif-path img.eif >desc.json 2>desc.err
same "describe-eif exits 0" "$?" 0

# --- Metadata ---------------------------------------------------------------------
# cli src/common/json_output.rs:222-261 MetadataDescribeInfo: BuildTime,
# BuildTool, BuildToolVersion, OperatingSystem, KernelVersion, DockerInfo, then
# the CustomMetadata keys inlined (#[serde(flatten)]); a serde_json::Value
# keeps its keys sorted (no preserve_order in cli Cargo.lock's serde_json), and
# to_string_pretty writes {} and [] for empty ones.
sed -n '/"Metadata": {/,/^  }/p' desc.json | grep -v BuildTime >meta.out
same "Metadata: fields in MetadataDescribeInfo's order, custom keys sorted and inlined" "$(cat meta.out)" \
	"$(printf '%s\n' '  "Metadata": {' '    "BuildTool": "carve",' '    "BuildToolVersion": "0.1.0",' \
		'    "OperatingSystem": "Linux",' '    "KernelVersion": "4.14.177",' '    "DockerInfo": null,' \
		'    "alpha": {' '      "x": {},' '      "y": []' '    },' '    "mid/dle": "a\u0001b",' \
		'    "zeta": 1' '  }')"
# image-format identity.rs: build_time = Utc::now().to_rfc3339() (chrono's
# AutoSi seconds: a fraction of 0, 3, 6 or 9 digits, and "+00:00").
bt=$(sed -n 's/^    "BuildTime": "\(.*\)",$/\1/p' desc.json)
case $bt in
[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]+00:00) form=0 ;;
[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]+00:00) form=0 ;;
[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]+00:00) form=0 ;;
[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]+00:00) form=0 ;;
*) form=1 ;;
esac
same "BuildTime in chrono's to_rfc3339 form (got '$bt')" "$form" 0
SOURCE_DATE_EPOCH=1700000000 $CARVE build-enclave --kernel kernel --cmdline x --ramdisk r0 --output-file sde.eif >/dev/null 2>&1
ok "a whole-second BuildTime has no fraction" \
	grep -q '"BuildTime": "2023-11-14T22:13:20+00:00"' <($CARVE describe-eif --eif-path sde.eif)
# cli src/lib.rs:249-253 and json_output.rs:186-205: ImageName and
# ImageVersion at the top, after the checks.
same "top-level keys in EifDescribeInfo's order" "$(grep -o '^  "[A-Za-z]*"' desc.json | tr -d ' "' | tr '\n' ' ')" \
	"EifVersion Measurements IsSigned CheckCRC ImageName ImageVersion Metadata "
# image-format src/utils/identity.rs: "Unknown" for a word line 3 lacks.
printf '#\n#\n# Linux\n' >kernel.config
$CARVE build-enclave --kernel kernel --cmdline x --ramdisk r0 --output-file short.eif >/dev/null 2>&1
$CARVE describe-eif --eif-path short.eif >short.json
same "OperatingSystem from a short line 3" "$(json_field short.json OperatingSystem)" "Linux"
same "KernelVersion 'Unknown' when line 3 has no fourth word" "$(json_field short.json KernelVersion)" "Unknown"
rm kernel.config
# image-format src/utils/eif_reader.rs from_eif: a metadata section that does
# not read as EifIdentityInfo fails the reader: E35 (cli src/lib.rs:224-229),
# nothing printed.
$CARVE build-enclave --kernel kernel --cmdline x --ramdisk r0 --output-file odd.eif >/dev/null 2>&1
python3 - odd.eif <<'PY'
import sys, struct, zlib
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
# Rename "ImageName" inside the metadata section, keeping every length, and
# mend the header CRC (crc32 of everything but bytes 544..548).
i = b.index(b'"ImageName"')
b[i + 1:i + 10] = b'ImageNamX'
crc = zlib.crc32(bytes(b[:544]) + bytes(b[548:])) & 0xffffffff
b[544:548] = struct.pack('>I', crc)
open(p, 'wb').write(b)
PY
fails_with 35 "metadata without ImageName is E35, as nitro-cli's reader" $CARVE describe-eif --eif-path odd.eif
same "  ...and nothing on stdout" "$($CARVE describe-eif --eif-path odd.eif 2>/dev/null)" ""
ok "  ...naming the missing field" grep -q "missing field 'ImageName'" "$TMP/err"

# --- SigningCertificate -------------------------------------------------------------
# image-format src/utils/eif_reader.rs get_certificate_info: the issuer's
# entries into a BTreeMap (keys sorted, a repeated attribute keeps its last
# value), key = Asn1Object's Display (OpenSSL's long name, the dotted OID for
# one it has no name for: tests/unit/test_eif_describe.c, as openssl req
# will not write one), value = the Asn1String's Debug with '"' removed;
# Algorithm = the signature algorithm's long name; NotBefore/NotAfter =
# ASN1_TIME_print; Signature = {:02X?} made "XX:XX:...".
openssl ecparam -name secp384r1 -genkey -noout -out key.pem 2>/dev/null
openssl req -new -x509 -key key.pem -out cert.pem -days 30 -sha384 \
	-subj '/DC=example/C=US/ST=Wa/O=Org/OU=first/OU=second/CN=signer "q"' 2>/dev/null
ok "sign-eif" $CARVE sign-eif --eif-path img.eif --signing-certificate cert.pem --private-key key.pem
$NITRO describe-eif --eif-path img.eif >signed.json
sed -n '/"IssuerName": {/,/^    }/p' signed.json >issuer.out
same "IssuerName: long names, byte order, last OU, Debug form of the quotes" "$(cat issuer.out)" \
	"$(printf '%s\n' '    "IssuerName": {' '      "commonName": "signer \\q\\",' \
		'      "countryName": "US",' '      "domainComponent": "example",' '      "organizationName": "Org",' \
		'      "organizationalUnitName": "second",' '      "stateOrProvinceName": "Wa"' '    },')"
same "Algorithm" "$(json_field signed.json Algorithm)" "ecdsa-with-SHA384"
same "NotBefore as ASN1_TIME_print" "$(json_field signed.json NotBefore)" \
	"$(openssl x509 -in cert.pem -noout -startdate | cut -d= -f2)"
same "NotAfter as ASN1_TIME_print" "$(json_field signed.json NotAfter)" \
	"$(openssl x509 -in cert.pem -noout -enddate | cut -d= -f2)"
sig=$(openssl x509 -in cert.pem -outform der | python3 -c '
import sys
d = sys.stdin.buffer.read()
def tlv(b, i):
    l = b[i + 1]; i += 2
    if l & 0x80:
        n = l & 0x7f; l = int.from_bytes(b[i:i + n], "big"); i += n
    return i, l
i, _ = tlv(d, 0)                 # Certificate
j, l = tlv(d, i); i = j + l      # tbsCertificate
j, l = tlv(d, i); i = j + l      # signatureAlgorithm
j, l = tlv(d, i)                 # signatureValue BIT STRING
print(":".join("%02X" % x for x in d[j + 1:j + l]))')
same "Signature: the signature bytes as XX:XX:..." "$(json_field signed.json Signature)" "$sig"
same "SigningCertificate's keys in SignCertificateInfo's order" \
	"$(sed -n '/"SigningCertificate": {/,/^  }/p' signed.json | grep -o '^    "[A-Za-z]*"' | tr -d ' "' | tr '\n' ' ')" \
	"IssuerName Algorithm NotBefore NotAfter Signature "

# --- explain ------------------------------------------------------------------------
# cli src/main.rs:296-304: explain_error, then main returns: exit 0 for any
# code. src/common/document_errors.rs:367-554: eprintln! (stderr), the text
# alone.
$NITRO explain --error-code E35 >ex.out 2>ex.err
same "explain exits 0" "$?" 0
same "  ...nothing on stdout" "$(cat ex.out)" ""
same "E35's text (document_errors.rs:477-478)" "$(cat ex.err)" \
	"EIF file parsing error. Such errors appear when attempting to fill a memory region with a section of the EIF file, but reading the entire section fails. This might indicate that the required hugepages are not available."
same "E01's text, its newline and tab (:373-374)" "$($NITRO explain --error-code E01 2>&1)" \
	"$(printf 'Missing mandatory argument. Such error appears when the Nitro CLI is requested to perform an operation, but not all of the mandatory arguments were supplied.\n\tExample: `nitro-cli run-enclave --cpu-count 2 --eif-path /path/to/my/eif`. Note that in this case, the mandatory parameter `--memory` is missing a value.')"
same "E60's text (:547-548)" "$($NITRO explain --error-code E60 2>&1)" \
	"Signing error. Such error appears if incorrect key or certificate paths are provided, or when AWS credenrials need to be refreshed to use a KMS key."
n=0
for c in $(seq -w 0 56) 60; do
	t=$($NITRO explain --error-code "E$c" 2>&1)
	case $t in "No such error code"* | "") ;; *) n=$((n + 1)) ;; esac
done
same "E00..E56 and E60 each have a text (58 arms)" "$n" 58
# :550-552: anything else, E57..E59 included (no arm for them).
for c in E57 E58 E59 E61 E99 e35 35 E035; do
	same "nitro-cli explain $c: 'No such error code $c'" "$($NITRO explain --error-code "$c" 2>&1)" "No such error code $c"
done
$NITRO explain --error-code E99 >/dev/null 2>&1
same "  ...and exits 0" "$?" 0
# carve's own codes keep carve's words; as carve, E57..E59 too.
case $($CARVE explain --error-code E75 2>&1) in "GuestKernelLoadError. "*) own=0 ;; *) own=1 ;; esac
same "carve explain E75: carve's text" "$own" 0
case $($CARVE explain --error-code E59 2>&1) in "EIFSignatureCheckerError. "*) own=0 ;; *) own=1 ;; esac
same "carve explain E59: carve's text where nitro-cli has none" "$own" 0

finish
