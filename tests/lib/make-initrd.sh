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
#
# Tests boot the same root file system many times with different commands
# (a python3 root is tens of MiB): the rootfs/ part is archived once per
# content of ROOTFS_DIR (names, sizes, modes, times, link targets) and kept
# beside OUT as .initrd-rootfs-<digest>.cpio; each call writes `cmd` and
# `env` as newc entries of its own in front of it, one archive as before.
# Copying and archiving the tree for every boot cost seconds per boot in the
# hardware-KVM bed, where L1 runs emulated.
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
[ -d "$rootfs" ] || { echo "$0: $rootfs is not a directory" >&2; exit 2; }
out_abs=$(realpath -m "$out")

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# The rootfs/ part, from the cache when the tree is unchanged.
digest=$( (cd "$rootfs" && find . -printf '%P\t%y\t%m\t%s\t%T@\t%l\n' | LC_ALL=C sort) | md5sum | cut -c1-16)
base=$(dirname "$out_abs")/.initrd-rootfs-$digest.cpio
if [ ! -s "$base" ]; then
	mkdir -p "$stage/tree/rootfs"
	cp -a "$rootfs"/. "$stage/tree/rootfs/"
	for d in dev run sys var proc tmp; do mkdir -p "$stage/tree/rootfs/$d"; done
	(cd "$stage/tree" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$stage/base"
	mv "$stage/base" "$base"
fi

# newc_file NAME FILE INO: one regular file's entry (header, name, data, each
# padded to 4 bytes), root-owned, mode 0644, as cpio -R 0:0 writes it.
newc_file() {
	local name=$1 file=$2 ino=$3 size mtime namesize
	size=$(stat -c %s "$file")
	mtime=$(stat -c %Y "$file")
	namesize=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$ino" $((0100644)) 0 0 1 "$mtime" "$size" 0 0 0 0 "$namesize" 0
	printf '%s\0' "$name"
	head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
	cat "$file"
	head -c $(((4 - size % 4) % 4)) /dev/zero
}
# Their inode numbers are made up: with one link each, no reader takes them
# for a hard link of another entry.
{
	if [ $# -gt 0 ]; then
		: >"$stage/cmd"
		for a in "$@"; do printf '%s\n' "$a" >>"$stage/cmd"; done
		newc_file cmd "$stage/cmd" $((0x7ffffff0))
	fi
	if [ "$no_env" -eq 0 ]; then
		: >"$stage/env"
		for e in ${envs[@]+"${envs[@]}"}; do printf '%s\n' "$e" >>"$stage/env"; done
		newc_file env "$stage/env" $((0x7ffffff1))
	fi
	cat "$base"
} >"$out_abs"
