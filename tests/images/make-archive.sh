#!/usr/bin/env bash
# Packages directories as a container image archive, by hand (tar, gzip,
# sha256sum, printf: no daemon, no registry), the way `docker save` and
# `skopeo copy oci-archive:` write them:
#
#   make-archive.sh docker|oci OUT NAME:TAG CONFIG-JSON LAYER-DIR...
#
# CONFIG-JSON is the image config's "config" object (Cmd, Entrypoint, Env,
# WorkingDir ...). Each LAYER-DIR becomes one layer, in order: uncompressed
# tars in the docker-save form (docker's legacy <id>/layer.tar layout), gzip
# in the OCI form. Tars are reproducible (sorted, owner 0:0, mtime 0), so the
# same input gives the same digests.
set -euo pipefail
format=$1 out=$2 ref=$3 config=$4
shift 4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sha() { sha256sum "$1" | cut -d' ' -f1; }
TAR=(tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0)
mkdir -p "$work/out"
diffs=() layers=()
n=0
for dir in "$@"; do
	n=$((n + 1))
	"${TAR[@]}" -C "$dir" -cf "$work/layer$n.tar" .
	diffs+=("\"sha256:$(sha "$work/layer$n.tar")\"")
done
cfg=$work/config.json
printf '{"architecture":"amd64","os":"linux","created":"2026-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":[%s]}}' \
	"$config" "$(IFS=,; echo "${diffs[*]}")" >"$cfg"
cfg_sha=$(sha "$cfg")

case "$format" in
docker)
	for ((i = 1; i <= n; i++)); do
		id=$(sha "$work/layer$i.tar")
		mkdir -p "$work/out/$id"
		mv "$work/layer$i.tar" "$work/out/$id/layer.tar"
		layers+=("\"$id/layer.tar\"")
	done
	cp "$cfg" "$work/out/$cfg_sha.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[%s]}]' \
		"$cfg_sha" "$ref" "$(IFS=,; echo "${layers[*]}")" >"$work/out/manifest.json"
	;;
oci)
	mkdir -p "$work/out/blobs/sha256"
	for ((i = 1; i <= n; i++)); do
		gzip -n -c "$work/layer$i.tar" >"$work/layer$i.tar.gz"
		h=$(sha "$work/layer$i.tar.gz")
		mv "$work/layer$i.tar.gz" "$work/out/blobs/sha256/$h"
		layers+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$h\",\"size\":$(stat -c %s "$work/out/blobs/sha256/$h")}")
	done
	cp "$cfg" "$work/out/blobs/sha256/$cfg_sha"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
		"$cfg_sha" "$(stat -c %s "$cfg")" "$(IFS=,; echo "${layers[*]}")" >"$work/manifest.json"
	m=$(sha "$work/manifest.json")
	mv "$work/manifest.json" "$work/out/blobs/sha256/$m"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$work/out/oci-layout"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
		"$m" "$(stat -c %s "$work/out/blobs/sha256/$m")" "${ref##*:}" >"$work/out/index.json"
	;;
*) echo "make-archive.sh: format docker or oci" >&2; exit 2 ;;
esac
"${TAR[@]}" -C "$work/out" -cf "$out.tmp" .
mv "$out.tmp" "$out"
