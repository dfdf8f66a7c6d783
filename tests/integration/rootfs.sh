#!/usr/bin/env bash
# build-enclave --rootfs/--cmd/--env: the application ramdisk is laid out as
# nitro-cli lays it out (cmd, env, rootfs/ with the mount-point directories),
# reproducibly, from a directory or a tarball. The archive is read back with
# GNU cpio, not with carve.
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1
mkdir -p "$TMP/tmpdir"
export TMPDIR=$TMP/tmpdir # where the builder makes its temporary ramdisks
pcr_of() { openssl dgst -sha384 -binary >.d; { head -c 48 /dev/zero; cat .d; } | openssl dgst -sha384 | awk '{print $2}'; }

mkdir -p root/bin root/etc root/dev
printf 'hello from the rootfs\n' >root/etc/greeting
printf '#!/bin/true\n' >root/bin/app && chmod 0751 root/bin/app
ln -s /etc/greeting root/etc/link
head -c 1000 /dev/urandom >kernel

# The ramdisk the builder makes is measured into PCR2; capture it through a
# second build with the same inputs and compare to the EIF's bytes.
ok "build from a directory" $CARVE build-enclave --kernel kernel --cmdline "console=ttyS0" \
	--rootfs root --cmd "/bin/app --greet 'two words' \"q\\\"x\"" --env A=1 --env "B=x y" \
	--output-file app.eif --name app
$CARVE describe-eif --eif-path app.eif >app.json 2>/dev/null
# Extract the application ramdisk (the last section) from the EIF.
n=$(od -An -tu2 --endian=big -j26 -N2 app.eif | tr -d ' ')
last=$((n - 1))
off=$(od -An -tu8 --endian=big -j$((28 + 8 * last)) -N8 app.eif | tr -d ' ')
size=$(od -An -tu8 --endian=big -j$((284 + 8 * last)) -N8 app.eif | tr -d ' ')
tail -c +$((off + 12 + 1)) app.eif | head -c "$size" >app.cpio
same "PCR2 is the measurement of the application ramdisk" "$(json_field app.json PCR2)" "$(pcr_of <app.cpio)"
mkdir x && (cd x && cpio -idm --quiet <../app.cpio)
same "cmd has one word per line, quotes removed" "$(cat x/cmd)" "$(printf '/bin/app\n--greet\ntwo words\nq"x')"
same "env has one entry per line" "$(cat x/env)" "$(printf 'A=1\nB=x y')"
ok "cmd ends with a newline" test "$(tail -c 1 x/cmd | od -An -tx1 | tr -d ' ')" = 0a
same "rootfs files keep their contents" "$(cat x/rootfs/etc/greeting)" "hello from the rootfs"
same "rootfs files keep their modes" "$(stat -c %a x/rootfs/bin/app)" "751"
same "symlinks stay symlinks" "$(readlink x/rootfs/etc/link)" "/etc/greeting"
for d in dev run sys var proc tmp; do
	ok "rootfs/$d exists" test -d "x/rootfs/$d"
done
same "cmd and env are 0644" "$(stat -c %a x/cmd x/env | tr '\n' ' ')" "644 644 "
cpio -t --quiet <app.cpio >list.txt
same "every entry once" "$(sort list.txt | uniq -d)" ""
same "owner is root" "$(cpio -tv --quiet <app.cpio | awk '{print $3 $4}' | sort -u)" "rootroot"
same "bootstrap ramdisk comes first (PCR1 covers it)" "$n" "5"

ok "same inputs give the same PCRs" $CARVE build-enclave --kernel kernel --cmdline "console=ttyS0" \
	--rootfs root --cmd "/bin/app --greet 'two words' \"q\\\"x\"" --env A=1 --env "B=x y" \
	--output-file app2.eif --name app
$CARVE describe-eif --eif-path app2.eif >app2.json 2>/dev/null
same "PCR0 reproducible" "$(json_field app2.json PCR0)" "$(json_field app.json PCR0)"
touch root/etc/greeting
$CARVE build-enclave --kernel kernel --cmdline "console=ttyS0" --rootfs root \
	--cmd "/bin/app --greet 'two words' \"q\\\"x\"" --env A=1 --env "B=x y" --output-file app3.eif --name app >app3.json 2>/dev/null
same "file times do not change PCR2" "$(json_field app3.json PCR2)" "$(json_field app.json PCR2)"

# --- tarball ----------------------------------------------------------------
tar -C root -czf root.tgz .
ok "build from a gzip tarball" $CARVE build-enclave --kernel kernel --cmdline c --rootfs root.tgz --cmd /bin/app --output-file tar.eif
n=$(od -An -tu2 --endian=big -j26 -N2 tar.eif | tr -d ' '); last=$((n - 1))
off=$(od -An -tu8 --endian=big -j$((28 + 8 * last)) -N8 tar.eif | tr -d ' ')
size=$(od -An -tu8 --endian=big -j$((284 + 8 * last)) -N8 tar.eif | tr -d ' ')
tail -c +$((off + 13)) tar.eif | head -c "$size" >tar.cpio
mkdir y && (cd y && cpio -idm --quiet <../tar.cpio)
same "tarball: contents" "$(cat y/rootfs/etc/greeting)" "hello from the rootfs"
ok "tarball: mount dirs added" test -d y/rootfs/proc -a -d y/rootfs/tmp
mkdir -p evil && printf x >evil/f && tar -C evil -cf evil.tar --transform 's,^\./f,../escape,' ./f
fails_with 3 "a tarball entry outside its root is E03" $CARVE build-enclave --kernel kernel --cmdline c --rootfs evil.tar --cmd /f --output-file evil.eif
printf 'not a tarball' >junk.bin
fails_with 3 "a rootfs that is neither directory nor tarball is E03" $CARVE build-enclave --kernel kernel --cmdline c --rootfs junk.bin --cmd /x --output-file j.eif

# --- bad arguments ------------------------------------------------------------
fails_with 3 "unterminated quote in --cmd is E03" $CARVE build-enclave --kernel kernel --cmdline c --rootfs root --cmd "/bin/app 'oops" --output-file q.eif
fails_with 3 "empty --cmd is E03" $CARVE build-enclave --kernel kernel --cmdline c --rootfs root --cmd "  " --output-file q.eif
fails_with 3 "--env without = is E03" $CARVE build-enclave --kernel kernel --cmdline c --rootfs root --cmd /bin/app --env NOVALUE --output-file q.eif
refused "--rootfs requires --cmd" --saying "  --cmd <cmd>" $CARVE build-enclave --kernel kernel --cmdline c --rootfs root --output-file q.eif
refused "--env requires --rootfs and --cmd" --saying "  --rootfs <rootfs>" $CARVE build-enclave --kernel kernel --cmdline c --ramdisk app.cpio --env A=1 --output-file q.eif
fails_with 19 "a missing rootfs is E19" $CARVE build-enclave --kernel kernel --cmdline c --rootfs /nonexistent --cmd /x --output-file q.eif
ok "no output after failures" test ! -e q.eif
same "no temporary ramdisks left in TMPDIR" "$(ls "$TMPDIR")" ""

finish
