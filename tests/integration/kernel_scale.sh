#!/usr/bin/env bash
# The carve enclave kernel with large inputs (behaviour, not time; the times
# are bench/kernel_scale.sh's):
#   - a ramdisk with 10,000 files in one directory: it boots, every file is
#     found by name with its contents, listings return each file once and
#     in a stable order, also while files come and go (dirprobe), and
#     busybox ls lists them all;
#   - a large console write (1 MiB of numbered lines in 64 KiB writes) reaches
#     the host complete and in order (checksum), through the VMM's batched
#     serial output.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm

. "$ROOT/tests/lib/carve_kernel.sh"
CACHE=${CARVE_CACHE:-$ROOT/cache}
NFILES=10000
LINES=116509 # 9 bytes each: 1 MiB

why=$(kernel_missing dirprobe)
if [ -n "$why" ]; then
	skip "carve enclave kernel scale tests" "$why"
	finish
fi

BOOT_TIMEOUT=600

RFS=$TMP/rootfs
mkdir -p "$RFS/bin" "$RFS/d"
cp "$PROGS/musl/dirprobe" "$PROGS/musl/bench" "$RFS/bin/"
(cd "$RFS/d" && for i in $(seq -f '%05.0f' 0 $((NFILES - 1))); do printf 'f%s' "$i" >"f$i"; done)

"$MKINITRD" -o "$TMP/dirs.cpio" "$RFS" /bin/dirprobe /d "$NFILES"
kboot "$TMP/dirs.cpio" carve.debug
same "10,000 files in one directory: the ramdisk is read" \
	"$(sed -n 's/^carve: initrd: \([0-9]*\) archives, \([0-9]*\) files under rootfs\/.*/\2/p' "$TMP/console")" \
	"$((NFILES + 4 + 6))" # bin, its two programs, d, the six empty dirs make-initrd adds
grep -a '^carve: initrd: ' "$TMP/console" | sed 's/^/# /'
while read -r line; do
	case $line in
	"ok "*) tap_result 0 "dirprobe: ${line#ok }" ;;
	"FAIL "*)
		echo "# $line" >"$TMP/diag"
		tap_result 1 "dirprobe: ${line#FAIL }" "$TMP/diag"
		;;
	esac
done < <(output)
same "dirprobe ran every check and exited 0" "$(output | grep -c '^\(ok\|FAIL\) ')|$(status)" "8|0"

BB=${CARVE_BUSYBOX:-$CACHE/busybox/bin/busybox}
if [ ! -x "$BB" ]; then
	mkdir -p "$CACHE/debs"
	(cd "$CACHE/debs" && timeout 120 apt-get download busybox-static >/dev/null 2>&1)
	deb=$(ls "$CACHE"/debs/busybox-static_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] && dpkg-deb -x "$deb" "$CACHE/busybox"
fi
if [ -x "$BB" ]; then
	cp "$BB" "$RFS/bin/busybox"
	"$MKINITRD" -o "$TMP/bb.cpio" -e PATH=/bin "$RFS" busybox ls -1 /d
	kboot "$TMP/bb.cpio"
	same "busybox ls -1 of 10,000 files: every name, once, exit 0" \
		"$(output | wc -l)|$(output | sha256sum | cut -d' ' -f1)|$(status)" \
		"$NFILES|$(seq -f 'f%05.0f' 0 $((NFILES - 1)) | sha256sum | cut -d' ' -f1)|0"
	rm "$RFS/bin/busybox"
else
	skip "busybox ls of 10,000 files" "apt-get download busybox-static failed (no Debian mirror?)"
fi

rm -rf "$RFS/d"
"$MKINITRD" -o "$TMP/lines.cpio" "$RFS" /bin/bench lines "$LINES"
kboot "$TMP/lines.cpio"
same "a 1 MiB console write arrives complete and in order (sha256 of the lines), exit 0" \
	"$(output | grep -av '^lines: ' | sha256sum | cut -d' ' -f1)|$(status)" \
	"$(seq -f '%08.0f' 0 $((LINES - 1)) | sha256sum | cut -d' ' -f1)|0"
same "the program's output holds nothing else: its lines, then its report" \
	"$(output | wc -l)|$(output | tail -1 | cut -d' ' -f1-2)" "$((LINES + 1))|lines: $LINES"
output | grep -a '^lines: ' | sed 's/^/# /'

finish
