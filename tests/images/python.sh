#!/usr/bin/env bash
# A Python service image made from Debian packages (apt-get download,
# dpkg-deb -x: nothing installed on the host), in both archive forms users
# hold: OUTDIR/python-docker.tar (docker save) and OUTDIR/python-oci.tar (OCI
# archive), tag carve-test/python-service:1. Layers: glibc, python3.11 and
# busybox (its sh and tools for subprocesses) first; then the service
# (tests/images/python/service.py) with a whiteout of a file the first layer
# had. Cached: a second run with the same packages and service reuses them.
#
#   tests/images/python.sh OUTDIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:?usage: python.sh OUTDIR}
PKGS=(libc6 zlib1g libexpat1 libffi8 libbz2-1.0 liblzma5 python3.11-minimal libpython3.11-minimal
	libpython3.11-stdlib busybox-static)
CACHE=${CARVE_CACHE:-$ROOT/cache}/images
mkdir -p "$CACHE/debs" "$OUT"
stamp=$( (printf '%s\n' "${PKGS[@]}"; cat "$ROOT/tests/images/python/service.py" "$0" \
	"$ROOT/tests/images/make-archive.sh") | sha256sum | cut -c1-16)
if [ -s "$OUT/python-docker.tar" ] && [ -s "$OUT/python-oci.tar" ] && [ "$(cat "$OUT/python.stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi
(cd "$CACHE/debs" && apt-get download -q "${PKGS[@]}" >/dev/null 2>"$CACHE/apt.err") || {
	cat "$CACHE/apt.err" >&2
	echo "python.sh: apt-get download failed" >&2
	exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/base" "$work/app/srv" "$work/app/usr/share/doc"
for p in "${PKGS[@]}"; do
	deb=$(ls -t "$CACHE/debs/${p}_"*.deb | head -1)
	dpkg-deb -x "$deb" "$work/base"
done
# busybox-static is /bin/busybox; the shell and the tools the pipeline uses.
for t in sh tr wc echo cat ls; do ln -s busybox "$work/base/bin/$t"; done
ln -s python3.11 "$work/base/usr/bin/python3"
printf 'the base layer had this\n' >"$work/base/usr/share/doc/removed-by-app-layer"
cp "$ROOT/tests/images/python/service.py" "$work/app/srv/service.py"
: >"$work/app/usr/share/doc/.wh.removed-by-app-layer"
CONFIG='{"Env":["PATH=/usr/bin:/bin","GREETING=hello from the image"],"Cmd":["/usr/bin/python3","/srv/service.py"],"WorkingDir":"/srv"}'
"$ROOT/tests/images/make-archive.sh" docker "$OUT/python-docker.tar" carve-test/python-service:1 "$CONFIG" "$work/base" "$work/app"
"$ROOT/tests/images/make-archive.sh" oci "$OUT/python-oci.tar" carve-test/python-service:1 "$CONFIG" "$work/base" "$work/app"
echo "$stamp" >"$OUT/python.stamp"
