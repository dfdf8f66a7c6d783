#!/usr/bin/env bash
# build-enclave --docker-uri: EIFs from container images in local archives.
# The images are made here with tar, gzip, zstd, sha256sum and printf (no
# network, no daemon) in the three forms users hold: an OCI layout
# directory, an OCI archive and a docker-save tarball. The application
# ramdisk is read back with GNU cpio, not with carve.
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1
mkdir -p "$TMP/tmpdir"
export TMPDIR=$TMP/tmpdir
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
head -c 1000 /dev/urandom >kernel
K=(--kernel kernel --cmdline console=ttyS0)

# The application ramdisk (the last section) of an EIF, unpacked into DIR.
unpack_app() { # EIF DIR
	local n last off sz
	n=$(od -An -tu2 --endian=big -j26 -N2 "$1" | tr -d ' ')
	last=$((n - 1))
	off=$(od -An -tu8 --endian=big -j$((28 + 8 * last)) -N8 "$1" | tr -d ' ')
	sz=$(od -An -tu8 --endian=big -j$((284 + 8 * last)) -N8 "$1" | tr -d ' ')
	tail -c +$((off + 13)) "$1" | head -c "$sz" >"$2.cpio"
	mkdir -p "$2" && (cd "$2" && cpio -idm --quiet --no-absolute-filenames <"../$2.cpio")
}
eif_flags() { od -An -tu2 --endian=big -j6 -N2 "$1" | tr -d ' '; }

# --- layers ------------------------------------------------------------------
# 1: the base; 2: a whiteout, an opaque directory, a hard link, a symlink,
# a file replaced; 3: a file in a directory the base also had.
mkdir -p l1/etc l1/bin l1/opt/old l1/gone l1/var/keep l1/usr/sbin
ln -s usr/sbin l1/sbin # merged /usr: later layers may write through it
printf 'base\n' >l1/etc/motd
printf 'remove me\n' >l1/etc/junk
printf 'old\n' >l1/opt/old/file
printf 'x\n' >l1/gone/f
printf 'keep\n' >l1/var/keep/k
printf '#!/bin/sh\necho hi\n' >l1/bin/app && chmod 0755 l1/bin/app
printf 'secret\n' >l1/etc/shadowish && chmod 0600 l1/etc/shadowish
mkdir -p l2/etc l2/opt l2/usr/lib
: >l2/etc/.wh.junk
: >l2/.wh.gone
mkdir -p l2/opt && : >l2/opt/.wh..wh..opq && mkdir -p l2/opt/new && printf 'new\n' >l2/opt/new/file
printf 'shared contents\n' >l2/usr/lib/a && ln l2/usr/lib/a l2/usr/lib/b
ln -s ../etc/motd l2/usr/lib/motd-link
printf 'layer two\n' >l2/etc/motd
mkdir -p l3/var/keep l3/sbin
printf 'added\n' >l3/var/keep/added
printf 'tool\n' >l3/sbin/tool
TAR=(tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0)
for l in l1 l2; do "${TAR[@]}" -C $l -cf $l.tar .; done
# Layer 3 names files only, no directory entries, as some builders write.
"${TAR[@]}" -C l3 -cf l3.tar ./var/keep/added ./sbin/tool

# --- an OCI layout with several images -----------------------------------------
mkdir -p oci/blobs/sha256
printf '{"imageLayoutVersion": "1.0.0"}' >oci/oci-layout
put_blob() { # FILE -> prints "digest size" and stores the blob
	local h; h=$(sha "$1"); cp "$1" "oci/blobs/sha256/$h"; echo "sha256:$h $(size "$1")"
}
gzip -n -c l1.tar >l1.tar.gz
zstd -q -c l2.tar >l2.tar.zst
read -r L1 L1S < <(put_blob l1.tar.gz)
read -r L2 L2S < <(put_blob l2.tar.zst)
read -r L3 L3S < <(put_blob l3.tar)
D1=sha256:$(sha l1.tar) D2=sha256:$(sha l2.tar) D3=sha256:$(sha l3.tar)
LAYERS="{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"$L1\",\"size\":$L1S},
{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"$L2\",\"size\":$L2S},
{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"$L3\",\"size\":$L3S}"
DIFFS="\"$D1\",\"$D2\",\"$D3\""

make_config() { # NAME ARCH PROCESS-JSON
	printf '{"architecture":"%s","os":"linux","created":"2024-01-02T03:04:05Z","config":{"Env":["PATH=/usr/bin:/bin","GREETING=hello world"],%s"WorkingDir":"/var/keep"},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$2" "$3" "$DIFFS" >"$1.config.json"
}
make_manifest() { # NAME -> manifest blob, prints "digest size"
	read -r c cs < <(put_blob "$1.config.json")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
		"$c" "$cs" "$LAYERS" >"$1.manifest.json"
	put_blob "$1.manifest.json"
}
make_config app amd64 '"Entrypoint":["/bin/ignored"],"Cmd":["/bin/app","--flag","two words"],'
make_config entry amd64 '"Entrypoint":["/bin/app","-e"],'
make_config none amd64 ''
make_config arm arm64 '"Cmd":["/bin/app"],'
make_config s390 s390x '"Cmd":["/bin/app"],'
index=""
for n in app entry none arm s390; do
	read -r md ms < <(make_manifest $n)
	eval "M_$n=$md"
	index="$index${index:+,}{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"$md\",\"size\":$ms,\"annotations\":{\"org.opencontainers.image.ref.name\":\"$n\"}}"
done
printf '{"schemaVersion":2,"manifests":[%s]}' "$index" >oci/index.json

# --- OCI layout: the full check of the ramdisk --------------------------------
ok "oci:DIR:ref builds" $CARVE build-enclave --docker-uri oci:oci:app "${K[@]}" --output-file app.eif
$CARVE describe-eif --eif-path app.eif >app.json 2>/dev/null
unpack_app app.eif x
same "cmd is the image's Cmd, Entrypoint ignored" "$(cat x/cmd)" "$(printf '/bin/app\n--flag\ntwo words')"
same "env is the image's Env" "$(cat x/env)" "$(printf 'PATH=/usr/bin:/bin\nGREETING=hello world')"
same "workdir holds WorkingDir" "$(cat x/workdir)" "/var/keep"
same "upper layer replaces a file" "$(cat x/rootfs/etc/motd)" "layer two"
ok "a whiteout deletes a file" test ! -e x/rootfs/etc/junk
ok "a whiteout deletes a directory" test ! -e x/rootfs/gone
ok "an opaque directory hides the lower contents" test ! -e x/rootfs/opt/old
same "an opaque directory keeps its own layer's files" "$(cat x/rootfs/opt/new/file)" "new"
same "a lower directory keeps its files" "$(cat x/rootfs/var/keep/k)" "keep"
same "a third layer adds to it" "$(cat x/rootfs/var/keep/added)" "added"
same "a file under a symlinked directory lands in its target" "$(cat x/rootfs/usr/sbin/tool)" "tool"
same "the symlink stays a symlink" "$(readlink x/rootfs/sbin)" "usr/sbin"
same "hard links share one inode" "$(stat -c %i x/rootfs/usr/lib/a)" "$(stat -c %i x/rootfs/usr/lib/b)"
same "hard link contents" "$(cat x/rootfs/usr/lib/b)" "shared contents"
same "symlinks stay symlinks" "$(readlink x/rootfs/usr/lib/motd-link)" "../etc/motd"
same "modes are kept" "$(stat -c %a x/rootfs/bin/app x/rootfs/etc/shadowish | tr '\n' ' ')" "755 600 "
same "no whiteout entries in the result" "$(cpio -t --quiet <x.cpio | grep -c '\.wh\.')" "0"
for d in dev run sys var proc tmp; do
	ok "rootfs/$d exists" test -d "x/rootfs/$d"
done
same "every entry once" "$(cpio -t --quiet <x.cpio | sort | uniq -d)" ""
same "amd64 gives EIF flags 0" "$(eif_flags app.eif)" "0"
id=$(sha app.config.json)
ok "DockerInfo has the image id" grep -q "\"Id\": \"sha256:$id\"" app.json
ok "DockerInfo has the config's Cmd" grep -q '"Cmd": \[' app.json
ok "DockerInfo has the diff_ids" grep -q "$D2" app.json
same "ImageName is the image's name" "$(json_field app.json ImageName)" "app"
same "ImageVersion is the image id" "$(json_field app.json ImageVersion)" "$id"
same "no temporary files left" "$(ls "$TMPDIR")" ""

ok "the same image gives the same PCRs" $CARVE build-enclave --docker-uri oci:oci:app "${K[@]}" --output-file app2.eif
$CARVE describe-eif --eif-path app2.eif >app2.json 2>/dev/null
same "PCR0 reproducible" "$(json_field app2.json PCR0)" "$(json_field app.json PCR0)"

ok "Entrypoint alone builds" $CARVE build-enclave --docker-uri oci:oci:entry "${K[@]}" --output-file entry.eif
unpack_app entry.eif e
same "cmd is the Entrypoint" "$(cat e/cmd)" "$(printf '/bin/app\n-e')"
fails_with 48 "neither Cmd nor Entrypoint is E48" $CARVE build-enclave --docker-uri oci:oci:none "${K[@]}" --output-file none.eif
ok "nothing written for it" test ! -e none.eif
ok "arm64 builds" $CARVE build-enclave --docker-uri oci:oci:arm "${K[@]}" --output-file arm.eif
same "arm64 gives EIF flags 1" "$(eif_flags arm.eif)" "1"
fails_with 48 "s390x is E48 (UnsupportedArchError)" $CARVE build-enclave --docker-uri oci:oci:s390 "${K[@]}" --output-file s.eif
ok "nothing written for it" test ! -e s.eif
grep -q UnsupportedArch "$TMP/err"; same "the error names UnsupportedArchError" "$?" "0"
fails_with 50 "a missing ref is E50" $CARVE build-enclave --docker-uri oci:oci:nope "${K[@]}" --output-file n.eif
ok "the error lists the refs" grep -q "app.*entry.*none.*arm.*s390" "$TMP/err"
fails_with 50 "several images and no ref is E50" $CARVE build-enclave --docker-uri oci:oci "${K[@]}" --output-file n.eif
ok "the error lists the refs" grep -q "app.*entry" "$TMP/err"
# shellcheck disable=SC2154 # M_entry and M_app are set by the eval above
ok "a manifest digest selects too" $CARVE build-enclave --docker-uri "oci:oci:$M_entry" "${K[@]}" --output-file d.eif

openssl ecparam -name secp384r1 -genkey -noout -out key.pem 2>/dev/null
openssl req -new -x509 -key key.pem -out cert.pem -days 30 -subj "/CN=image-test" 2>/dev/null
printf '{"team":"t"}' >meta.json
ok "signed, with --name and --metadata" $CARVE build-enclave --docker-uri oci:oci:app "${K[@]}" --output-file signed.eif \
	--signing-certificate cert.pem --private-key key.pem --name custom --metadata meta.json
$CARVE describe-eif --eif-path signed.eif >signed.json 2>/dev/null
ok "signed: PCR8 present" grep -q PCR8 signed.json
same "signed: PCR2 as unsigned" "$(json_field signed.json PCR2)" "$(json_field app.json PCR2)"
same "--name wins over the image's name" "$(json_field signed.json ImageName)" "custom"
ok "CustomMetadata kept beside DockerInfo" grep -q '"team": "t"' signed.json

# --- OCI archive, and plain paths ---------------------------------------------
# One image per archive from here on: the app image alone.
mkdir -p one && cp -r oci/blobs oci/oci-layout one/
# shellcheck disable=SC2154
grep -o "{[^{}]*\"$M_app\"[^{}]*{[^{}]*}}" oci/index.json | sed 's/^/{"schemaVersion":2,"manifests":[/; s/$/]}/' >one/index.json
tar -C one -cf app-oci.tar .
ok "oci-archive:FILE builds" $CARVE build-enclave --docker-uri oci-archive:app-oci.tar "${K[@]}" --output-file oa.eif
$CARVE describe-eif --eif-path oa.eif >oa.json 2>/dev/null
same "same image, same PCR2 as the layout" "$(json_field oa.json PCR2)" "$(json_field app.json PCR2)"
ok "a plain archive path is detected" $CARVE build-enclave --docker-uri app-oci.tar "${K[@]}" --output-file pa.eif
ok "a plain layout path is detected" $CARVE build-enclave --docker-uri one "${K[@]}" --output-file pd.eif
$CARVE describe-eif --eif-path pd.eif >pd.json 2>/dev/null
same "plain path, same PCR2" "$(json_field pd.json PCR2)" "$(json_field app.json PCR2)"
ok "oci-archive:FILE:ref builds" $CARVE build-enclave --docker-uri oci-archive:app-oci.tar:app "${K[@]}" --output-file oar.eif

# --- docker save (legacy layout: <id>/layer.tar, <config sha>.json) -----------
mkdir -p dk/l1 dk/l2 dk/l3 dk/e1
cp l1.tar dk/l1/layer.tar; cp l2.tar dk/l2/layer.tar; cp l3.tar dk/l3/layer.tar
cp app.config.json "dk/$id.json"
eid=$(sha entry.config.json); cp entry.config.json "dk/$eid.json"
printf '[{"Config":"%s.json","RepoTags":["myapp:1.0","myapp:latest"],"Layers":["l1/layer.tar","l2/layer.tar","l3/layer.tar"]},{"Config":"%s.json","RepoTags":["other:2"],"Layers":["l1/layer.tar","l2/layer.tar","l3/layer.tar"]}]' \
	"$id" "$eid" >dk/manifest.json
printf '{"myapp":{"1.0":"%s"}}' "$id" >dk/repositories
tar -C dk -cf docker.tar .
ok "docker-archive:FILE:name:tag builds" $CARVE build-enclave --docker-uri docker-archive:docker.tar:myapp:1.0 "${K[@]}" --output-file dk.eif
$CARVE describe-eif --eif-path dk.eif >dk.json 2>/dev/null
same "same image, same PCR2 as the OCI forms" "$(json_field dk.json PCR2)" "$(json_field app.json PCR2)"
same "ImageName from RepoTags" "$(json_field dk.json ImageName)" "myapp"
ok "RepoTags in DockerInfo" grep -q '"myapp:1.0"' dk.json
ok "a name without a tag means :latest" $CARVE build-enclave --docker-uri docker-archive:docker.tar:myapp "${K[@]}" --output-file dl.eif
ok "a plain path with a tag" $CARVE build-enclave --docker-uri docker.tar:other:2 "${K[@]}" --output-file do.eif
unpack_app do.eif o
same "the other image's cmd" "$(cat o/cmd)" "$(printf '/bin/app\n-e')"
fails_with 50 "a missing tag is E50" $CARVE build-enclave --docker-uri docker-archive:docker.tar:myapp:9 "${K[@]}" --output-file t.eif
ok "the error lists the tags" grep -q "myapp:1.0, myapp:latest, other:2" "$TMP/err"
fails_with 50 "two images and no tag is E50" $CARVE build-enclave --docker-uri docker-archive:docker.tar "${K[@]}" --output-file t.eif
gzip -c docker.tar >docker.tar.gz
ok "a gzipped docker save reads too" $CARVE build-enclave --docker-uri docker.tar.gz:myapp:1.0 "${K[@]}" --output-file gz.eif

# --- docker save since Docker 25: an OCI layout inside, manifest.json into blobs/
mkdir -p dk25 && cp -r one/. dk25/
printf '[{"Config":"blobs/sha256/%s","RepoTags":["new:1"],"Layers":["blobs/sha256/%s","blobs/sha256/%s","blobs/sha256/%s"]}]' \
	"$id" "${L1#sha256:}" "${L2#sha256:}" "${L3#sha256:}" >dk25/manifest.json
tar -C dk25 -cf docker25.tar .
ok "a Docker 25+ save builds" $CARVE build-enclave --docker-uri docker25.tar "${K[@]}" --output-file d25.eif
$CARVE describe-eif --eif-path d25.eif >d25.json 2>/dev/null
same "same image, same PCR2" "$(json_field d25.json PCR2)" "$(json_field app.json PCR2)"
same "its tag is used" "$(json_field d25.json ImageName)" "new"
h=${L3#sha256:}
cp -r dk25 dk25bad && chmod u+w "dk25bad/blobs/sha256/$h" && printf 'Z' | dd of="dk25bad/blobs/sha256/$h" bs=1 seek=10 conv=notrunc status=none
fails_with 50 "its layer digests are checked" $CARVE build-enclave --docker-uri docker-archive:dk25bad "${K[@]}" --output-file q.eif
ok "the error names the blob's sha256" grep -q "blob's sha256" "$TMP/err"

# --- damaged and unsafe images --------------------------------------------------
cp -r one bad
h=${L2#sha256:}
chmod u+w "bad/blobs/sha256/$h"
printf 'X' | dd of="bad/blobs/sha256/$h" bs=1 seek=100 conv=notrunc status=none
fails_with 50 "a corrupt layer is E50" $CARVE build-enclave --docker-uri oci:bad "${K[@]}" --output-file bad.eif
ok "the error names the digest mismatch" grep -q "damaged" "$TMP/err"
ok "no output for a corrupt layer" test ! -e bad.eif
same "no temporary files left" "$(ls "$TMPDIR")" ""
# A docker save has no blob digests: the diff_id catches a changed layer.
mkdir -p dk2 && cp -r dk/. dk2/ && printf 'Y' | dd of=dk2/l3/layer.tar bs=1 seek=600 conv=notrunc status=none
tar -C dk2 -cf docker2.tar .
fails_with 50 "a changed layer in a docker save is E50 (diff_id)" $CARVE build-enclave --docker-uri docker2.tar:myapp:1.0 "${K[@]}" --output-file bad2.eif
ok "the error names the diff_id" grep -q "diff_id" "$TMP/err"
# A layer entry with ".." in its name.
mkdir -p evil && printf x >evil/f && tar -C evil -cf evil.tar --transform 's,^\./f,../escape,' ./f
mkdir -p dk3 && cp "dk/$id.json" dk3/ && mkdir dk3/l && cp evil.tar dk3/l/layer.tar
sed "s/\"diff_ids\":\[[^]]*\]/\"diff_ids\":[\"sha256:$(sha evil.tar)\"]/" app.config.json >dk3/c.json
printf '[{"Config":"c.json","RepoTags":["evil:1"],"Layers":["l/layer.tar"]}]' >dk3/manifest.json
fails_with 50 "a layer entry with .. is E50" $CARVE build-enclave --docker-uri dk3 "${K[@]}" --output-file ev.eif
ok "the error says it leaves the root" grep -q "leaves the root" "$TMP/err"

# --- arguments and kernels ------------------------------------------------------
fails_with 50 "no such archive is E50" $CARVE build-enclave --docker-uri myapp:latest "${K[@]}" --output-file q.eif
ok "the error says how to save an image" grep -q "docker save" "$TMP/err"
fails_with 19 "an unreadable archive is E19" $CARVE build-enclave --docker-uri oci-archive:/nonexistent.tar "${K[@]}" --output-file q.eif
refused "--docker-uri with --rootfs is a conflict" --saying "cannot be used with" $CARVE build-enclave --docker-uri one --rootfs one --cmd /x "${K[@]}" --output-file q.eif
fails_with 3 "an unknown --kernel-kind is E03" $CARVE build-enclave --docker-uri one --kernel-kind bsd --output-file q.eif
# A carve that finds no blobs but those in $CARVE_BLOBS: a copy outside the
# build tree (the build tree's own blobs, build/guest, are found otherwise).
mkdir -p noblobs iso/bin
cp "$CARVE" iso/bin/carve
ISO=$TMP/iso/bin/carve
CARVE_BLOBS=$TMP/noblobs fails_with 52 "--kernel-kind linux without a bzImage is E52" \
	$ISO build-enclave --docker-uri one --kernel-kind linux --output-file q.eif
ok "the error says what is missing" grep -q "bzImage" "$TMP/err"
cp kernel noblobs/bzImage
CARVE_BLOBS=$TMP/noblobs fails_with 52 "--kernel-kind linux without a bootstrap ramdisk is E52" \
	$ISO build-enclave --docker-uri one --kernel-kind linux --output-file q.eif
ok "the error names the bootstrap ramdisk" grep -q "bootstrap-initrd.img" "$TMP/err"
printf 'carve-test-bootstrap' >noblobs/bootstrap-initrd.img
printf 'console=ttyS0 from-blob\n' >noblobs/cmdline
CARVE_BLOBS=$TMP/noblobs ok "--kernel-kind linux with the blobs builds" \
	$ISO build-enclave --docker-uri one --kernel-kind linux --output-file lin.eif
CARVE_BLOBS=$TMP/noblobs ok "the Linux blobs are the default for images" \
	$ISO build-enclave --docker-uri one --output-file lin2.eif
same "the cmdline comes from the blob" "$(grep -c 'from-blob' lin2.eif)" "1"
same "the bootstrap ramdisk is the blob" "$(grep -c 'carve-test-bootstrap' lin2.eif)" "1"
# --docker-dir: a Dockerfile built without a daemon by buildah (installed by
# scripts/setup.sh), in a storage of this test's own.
fails_with 49 "--docker-dir without buildah is E49" env PATH=/nonexistent "$CARVE" build-enclave \
	--docker-uri app:1 --docker-dir . "${K[@]}" --output-file q.eif
ok "the error says to install buildah" grep -q "apt-get install buildah" "$TMP/err"
if ! command -v buildah >/dev/null; then
	skip "--docker-dir builds with buildah" "buildah is not installed (scripts/setup.sh installs it)"
else
	printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' \
		"$TMP/containers/storage" "$TMP/containers/run" >storage.conf
	export CONTAINERS_STORAGE_CONF=$TMP/storage.conf
	mkdir -p df/app
	printf '#!/bin/sh\necho from the Dockerfile\n' >df/app/hello && chmod 0755 df/app/hello
	printf '%s\n' 'FROM scratch' 'COPY app/hello /bin/hello' 'ENV GREETING="from a Dockerfile"' \
		'WORKDIR /work' 'CMD ["/bin/hello", "--flag"]' >df/Dockerfile
	ok "--docker-dir: buildah builds the Dockerfile, the EIF is made from it" \
		$CARVE build-enclave --docker-dir df --docker-uri carve-test/df:1 "${K[@]}" --output-file df.eif
	unpack_app df.eif dfx
	same "--docker-dir: cmd is the Dockerfile's CMD" "$(cat dfx/cmd 2>&1)" "$(printf '/bin/hello\n--flag')"
	ok "--docker-dir: env has the Dockerfile's ENV" grep -qx 'GREETING=from a Dockerfile' dfx/env
	same "--docker-dir: workdir is the Dockerfile's WORKDIR" "$(cat dfx/workdir 2>&1)" "/work"
	same "--docker-dir: the COPY'd file" "$(cat dfx/rootfs/bin/hello 2>&1)" "$(cat df/app/hello)"
	same "--docker-dir: its mode" "$(stat -c %a dfx/rootfs/bin/hello 2>&1)" "755"
	printf '%s\n' 'FROM scratch' 'COPY not-there /x' >df/Dockerfile
	fails_with 49 "--docker-dir: a Dockerfile buildah cannot build is E49" \
		$CARVE build-enclave --docker-dir df --docker-uri carve-test/df:2 "${K[@]}" --output-file q.eif
	ok "the error names buildah's failure" grep -q "'buildah build' failed" "$TMP/err"
	unset CONTAINERS_STORAGE_CONF
fi
ok "no output after failures" test ! -e q.eif
same "no temporary files left" "$(ls "$TMPDIR")" ""

finish
