#!/usr/bin/env bash
# build-enclave --docker-uri with carve's Linux kernel, on an image made from
# Debian packages (tests/images/python.sh: python3.11, glibc, busybox and a
# Python service), as a docker-save tarball and as an OCI archive:
#   - both give the same EIF measurements;
#   - PCR0/1/2 recomputed here with openssl from the EIF's sections, and the
#     kernel and bootstrap sections are carve's Linux blobs byte for byte;
#   - the application ramdisk (read back with GNU cpio) holds the image's
#     files with the whiteout applied, and cmd, env and workdir from its config.
# Running it is tests/hwkvm/l1/python.sh, in the hardware-KVM bed.
. "$(dirname "$0")/../lib/tap.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
BLOBS=$ROOT/build/guest
cd "$TMP" || exit 1
if [ ! -s "$BLOBS/bzImage" ] || [ ! -s "$BLOBS/bootstrap-initrd.img" ]; then
	skip "Linux EIFs from container images" "no Linux blobs in build/guest (scripts/setup.sh fetches the kernel, make builds them)"
	finish
fi
if ! "$ROOT/tests/images/python.sh" "$ROOT/build/images" 2>images.err; then
	skip "Linux EIFs from container images" "cannot make the Debian-package image: $(tail -1 images.err)"
	finish
fi
pcr_of() { # PCR = SHA384(0^48 || SHA384(stdin))
	openssl dgst -sha384 -binary >"$TMP/.d"
	{ head -c 48 /dev/zero; cat "$TMP/.d"; } | openssl dgst -sha384 | awk '{print $2}'
}
# Section I of an EIF (type, bytes) from its section table (big-endian).
section() { # EIF I OUT
	local off sz
	off=$(od -An -tu8 --endian=big -j$((28 + 8 * $2)) -N8 "$1" | tr -d ' ')
	sz=$(od -An -tu8 --endian=big -j$((284 + 8 * $2)) -N8 "$1" | tr -d ' ')
	tail -c +$((off + 13)) "$1" | head -c "$sz" >"$3"
}

ok "docker-save tarball -> Linux EIF" "$CARVE" build-enclave \
	--docker-uri "docker-archive:$ROOT/build/images/python-docker.tar:carve-test/python-service:1" --output-file d.eif
"$CARVE" build-enclave --docker-uri "docker-archive:$ROOT/build/images/python-docker.tar" --output-file d.eif >d.json 2>d.err
"$CARVE" build-enclave --docker-uri "oci-archive:$ROOT/build/images/python-oci.tar" --output-file o.eif >o.json 2>o.err
tap_result $? "OCI archive -> Linux EIF" o.err
for p in PCR0 PCR1 PCR2; do
	same "$p is the same from both archive forms" "$(json_field o.json $p)" "$(json_field d.json $p)"
done

# Sections: 0 kernel, 1 cmdline, 2 metadata, 3 bootstrap ramdisk, 4 application ramdisk.
for i in 0 1 2 3 4; do section d.eif $i s$i; done
ok "the kernel section is carve's Linux kernel blob (Debian's bzImage)" cmp s0 "$BLOBS/bzImage"
same "the command line is the cmdline blob" "$(cat s1)" "$(cat "$BLOBS/cmdline")"
ok "the bootstrap ramdisk is the bootstrap-initrd.img blob" cmp s3 "$BLOBS/bootstrap-initrd.img"
same "PCR0 = SHA384(0 || SHA384(kernel cmdline bootstrap app))" "$(json_field d.json PCR0)" \
	"$(cat s0 s1 s3 s4 | pcr_of)"
same "PCR1 = SHA384(0 || SHA384(kernel cmdline bootstrap))" "$(json_field d.json PCR1)" "$(cat s0 s1 s3 | pcr_of)"
same "PCR2 = SHA384(0 || SHA384(app))" "$(json_field d.json PCR2)" "$(pcr_of <s4)"
"$CARVE" describe-eif --eif-path d.eif >describe.json 2>&1
same "describe-eif shows the same PCR0" "$(json_field describe.json PCR0)" "$(json_field d.json PCR0)"
ok "describe-eif: DockerInfo from the image config" grep -q '"RepoTags"' describe.json

mkdir app && (cd app && cpio -idm --quiet --no-absolute-filenames <../s4)
ok "bootstrap: carve-init, its modules and their order" bash -c \
	"mkdir b && cd b && cpio -idm --quiet <../s3 && test -x init && grep -qx nsm.ko lib/carve-modules/order && test -s lib/carve-modules/virtio_mmio.ko"
same "cmd: the image's Cmd" "$(tr '\n' ' ' <app/cmd)" "/usr/bin/python3 /srv/service.py "
same "env: the image's Env" "$(tr '\n' '|' <app/env)" "PATH=/usr/bin:/bin|GREETING=hello from the image|"
same "workdir: the image's WorkingDir" "$(cat app/workdir)" "/srv"
ok "the service from the second layer" test -s app/rootfs/srv/service.py
ok "python3.11 and glibc from the first" test -x app/rootfs/usr/bin/python3.11 -a -e app/rootfs/lib64/ld-linux-x86-64.so.2
ok "the second layer's whiteout removed the first layer's file" test ! -e app/rootfs/usr/share/doc/removed-by-app-layer
ok "no whiteout entry reaches the enclave" bash -c "! find app -name '.wh.*' | grep -q ."
finish
