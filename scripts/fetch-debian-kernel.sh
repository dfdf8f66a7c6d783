#!/usr/bin/env bash
# Fetches Debian's cloud kernel (linux-image-6.12.*-cloud-amd64-unsigned) with
# `apt-get download` -- never installed on the host -- and extracts its
# bzImage into the cache (outside git, see .gitignore).
#
#   scripts/fetch-debian-kernel.sh [--quiet]
#
# Prints the path of the vmlinuz; exits non-zero if no such package is
# reachable. A second run reuses the cache. With --vmlinux it also extracts
# the uncompressed ELF kernel from the bzImage's payload (setup header fields
# payload_offset/payload_length) and prints that path instead: hosts whose KVM
# emulates guest kernel code cannot run the bzImage's decompressor (DESIGN.md).
# With --modules it prints the package's module tree (lib/modules/<version>,
# modules still xz-compressed, no modules.dep: the package's postinst makes
# that) kept beside it; the hardware-KVM test bed (tests/hwkvm) loads kvm-amd,
# vhost and vsock modules from there.
#
# apt-get download checks the package against the archive's signed index
# (Packages/Release hashes) as any apt install does, and the files taken
# from it are checked against the package's md5sums; the cache is
# ${CARVE_CACHE:-<repo>/cache}/debian-kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${CARVE_CACHE:-$PWD/cache}/debian-kernel
quiet=0 vmlinux=0 modules=0
for a in "$@"; do
	case "$a" in
	--quiet) quiet=1 ;;
	--vmlinux) vmlinux=1 ;;
	--modules) modules=1 ;;
	*) echo "usage: scripts/fetch-debian-kernel.sh [--quiet] [--vmlinux | --modules]" >&2; exit 2 ;;
	esac
done
say() { [ "$quiet" -eq 1 ] || echo "fetch-debian-kernel: $*" >&2; }

# Little-endian u32 at a byte offset of a file.
u32() { od -An -tu4 -j "$2" -N 4 "$1" | tr -d ' '; }

extract_vmlinux() {
	local z=$CACHE/vmlinuz setup off len magic
	setup=$(( ($(od -An -tu1 -j $((0x1f1)) -N 1 "$z" | tr -d ' ') + 1) * 512 ))
	off=$(( setup + $(u32 "$z" $((0x248))) ))
	len=$(u32 "$z" $((0x24c)))
	magic=$(od -An -tx1 -j "$off" -N 4 "$z" | tr -d ' ')
	# The payload ends with the 4-byte decompressed size; not part of the stream.
	local tmp=$CACHE/payload.tmp
	dd if="$z" of="$tmp" bs=1M iflag=skip_bytes,count_bytes skip="$off" count=$((len - 4)) status=none
	case "$magic" in
	28b52ffd) zstd -q -d -c "$tmp" >"$CACHE/vmlinux.tmp" ;;
	fd377a58) xz -q -d -c "$tmp" >"$CACHE/vmlinux.tmp" ;;
	1f8b*) gzip -q -d -c "$tmp" >"$CACHE/vmlinux.tmp" ;;
	*) rm -f "$tmp"; say "unknown payload compression (magic $magic)"; return 1 ;;
	esac
	rm -f "$tmp"
	mv "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"
}

# The path asked for, from a complete cache.
answer() {
	if [ "$vmlinux" -eq 1 ]; then
		[ -s "$CACHE/vmlinux" ] || extract_vmlinux
		echo "$CACHE/vmlinux"
	elif [ "$modules" -eq 1 ]; then
		echo "$CACHE/modules/$(cat "$CACHE/version")"
	else
		echo "$CACHE/vmlinuz"
	fi
}

# A cache from before modules were kept lacks modules/: fetched again.
if [ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/version" ] &&
	[ -d "$CACHE/modules/$(cat "$CACHE/version")/kernel" ]; then
	answer
	exit 0
fi
mkdir -p "$CACHE"
# The newest 6.12 cloud image the configured apt sources offer.
pkg=$(apt-cache pkgnames linux-image-6.12 2>/dev/null |
	grep -E '^linux-image-6\.12\.[0-9]+\+deb[0-9]+-cloud-amd64-unsigned$' | sort -V | tail -1 || true)
if [ -z "$pkg" ]; then
	say "no linux-image-6.12.*-cloud-amd64-unsigned in the apt index; try 'apt-get update'"
	exit 1
fi
say "downloading $pkg"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q "$pkg" >/dev/null 2>"$work/apt.err") || {
	cat "$work/apt.err" >&2
	exit 1
}
deb=$(ls "$work"/*.deb)
dpkg-deb -x "$deb" "$work/root"
# apt-get download checked the .deb against the archive's signed index; the
# package's own md5sums then check every file we keep (kernel, config,
# modules) as dpkg --verify would.
dpkg-deb -e "$deb" "$work/control"
if ! (cd "$work/root" && grep -E '  (boot/|lib/modules/)' "$work/control/md5sums" | md5sum -c --quiet --strict -); then
	say "files in $deb do not match the package's md5sums"
	exit 1
fi
vmlinuz=$(ls "$work"/root/boot/vmlinuz-* | head -1)
[ -s "$vmlinuz" ] || { say "no /boot/vmlinuz-* in $deb"; exit 1; }
version=$(basename "$vmlinuz" | sed 's/^vmlinuz-//')
[ -d "$work/root/lib/modules/$version/kernel" ] || { say "no lib/modules/$version in $deb"; exit 1; }
# Modules first, the kernel and version last: a cache with a version file is
# complete.
rm -rf "$CACHE/modules" "$CACHE/modules.tmp" "$CACHE/vmlinux"
mkdir -p "$CACHE/modules.tmp"
cp -a "$work/root/lib/modules/$version" "$CACHE/modules.tmp/"
mv "$CACHE/modules.tmp" "$CACHE/modules"
cp "$work/root/boot/config-$version" "$CACHE/config" 2>/dev/null || true
cp "$vmlinuz" "$CACHE/vmlinuz.tmp"
mv "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
echo "$version" >"$CACHE/version.tmp"
mv "$CACHE/version.tmp" "$CACHE/version"
say "kernel $version in $CACHE/vmlinuz"
answer
