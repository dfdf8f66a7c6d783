#!/usr/bin/env bash
# Builds an application ramdisk the way nitro-cli lays it out
# (aws-nitro-enclaves-cli, build-enclave): a newc cpio with `cmd` and `env` at the
# top (one entry per line, each ending in '\n') and the root file system under
# `rootfs/`, plus the empty rootfs/{dev,run,sys,var,proc,tmp}.
#
#   make-initrd.sh -o OUT.cpio [-e NAME=VALUE]... [-n] ROOTFS_DIR [--] ARGV...
#     -e   an environment entry (repeatable); without any, env is empty
#     -n   no env file at all (to test the kernel's fallback)
#     ARGV the command; without it there is no cmd file
set -euo pipefail
out="" no_env=0
envs=()
while getopts "o:e:n" opt; do
	case $opt in
	o) out=$OPTARG ;;
	e) envs+=("$OPTARG") ;;
	n) no_env=1 ;;
	*) echo "usage: $0 -o OUT [-e NAME=VALUE]... [-n] ROOTFS_DIR [--] ARGV..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$out" ] && [ $# -ge 1 ] || { echo "usage: $0 -o OUT [-e NAME=VALUE]... ROOTFS_DIR [--] ARGV..." >&2; exit 2; }
rootfs=$1; shift
[ "${1:-}" = "--" ] && shift

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/rootfs"
cp -a "$rootfs"/. "$stage/rootfs/"
for d in dev run sys var proc tmp; do mkdir -p "$stage/rootfs/$d"; done
if [ $# -gt 0 ]; then
	: >"$stage/cmd"
	for a in "$@"; do printf '%s\n' "$a" >>"$stage/cmd"; done
fi
if [ "$no_env" -eq 0 ]; then
	: >"$stage/env"
	for e in ${envs[@]+"${envs[@]}"}; do printf '%s\n' "$e" >>"$stage/env"; done
fi
out_abs=$(realpath -m "$out")
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet >"$out_abs")
