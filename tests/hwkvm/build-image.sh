#!/usr/bin/env bash
# Builds the L1 image of the hardware-KVM test bed: an uncompressed initramfs
# (docs/testing.md) holding
#   - the Debian cloud kernel's modules that give L1 a real /dev/kvm (irqbypass,
#     kvm, kvm-amd) and what later tests need (vhost, vhost_vsock, vsock,
#     vsock_loopback), decompressed, with their dependencies; and, not
#     loaded at boot, vDPA's (vdpa, vduse, vhost_vdpa, vhost_iotlb), which
#     tests/hwkvm/l1/vdpa.sh loads itself after checking carve's error
#     without them;
#   - busybox (busybox-static) for init's mounts, insmod and power-off;
#   - the host's own programs the integration scripts use (bash, coreutils,
#     grep, sed, openssl, socat, ...) with every shared library they load, at
#     the same paths as on the host;
#   - this checkout: tests/, scripts/ and the built trees build/ and build-san/
#     (no objects), under /carve.
#   - the same kernel's bzImage and vmlinux, and the modules a Linux enclave
#     loads (virtio_mmio, vsock, its virtio transport, nsm), for L2 guests;
# Everything comes from Debian packages already on the host (scripts/setup.sh)
# and from scripts/fetch-debian-kernel.sh; nothing is installed.
#
#   tests/hwkvm/build-image.sh OUT.cpio
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:?usage: build-image.sh OUT.cpio}

FETCH=$ROOT/scripts/fetch-debian-kernel.sh
MODDIR=$("$FETCH" --quiet --modules)
KERNEL=$("$FETCH" --quiet)
VMLINUX=$("$FETCH" --quiet --vmlinux)
MODULES=(irqbypass kvm kvm-amd vhost vhost_vsock vsock vsock_loopback)
ENCLAVE_MODULES=(virtio_mmio vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport nsm)
VDPA_MODULES=(vdpa vhost_iotlb vduse vhost_vdpa)
# Host programs the integration scripts run; each brings its libraries.
PROGRAMS=(bash sh env cat cp mv rm ln mkdir rmdir ls touch chmod chown stat
	head tail cut tr sort uniq wc tee od dd cmp printf echo sleep timeout
	date mktemp basename dirname readlink realpath seq yes true false
	kill nproc id stty sync setsid ldd
	nm # symbolize (tests/lib/carve_kernel.sh): kernel functions in carve's SIGQUIT dump
	grep egrep sed awk mawk find xargs cpio tar gzip zstd xz
	openssl socat setpriv faketime ps pgrep pkill unshare mount umount iasl
	lua5.1 luac5.1) # Lua: the interpreter of Lua's test programs (kernel_lua)
# Data files those programs read at run time.
DATA=(/etc/ssl/openssl.cnf /usr/lib/ssl /usr/lib/x86_64-linux-gnu/faketime)

stage=$(mktemp -d /tmp/carve-hwkvm-image.XXXXXX)
trap 'rm -rf "$stage"' EXIT

# Debian's merged /usr: /bin, /sbin, /lib and /lib64 are links into /usr.
mkdir -p "$stage"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,run,var/lib,root,carve}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$stage/$d"; done

# A file from the host at the same path, with the directories above it; a
# symbolic link brings its whole chain (/usr/bin/awk -> /etc/alternatives/awk
# -> /usr/bin/mawk).
copy_path() {
	local src=$1 hops=0 next
	while [ -e "$src" ] && [ "$hops" -lt 10 ]; do
		mkdir -p "$stage$(dirname "$src")"
		cp -a "$src" "$stage$(dirname "$src")/"
		[ -L "$src" ] || return 0
		next=$(readlink "$src")
		case "$next" in /*) src=$next ;; *) src=$(dirname "$src")/$next ;; esac
		hops=$((hops + 1))
	done
}

# ELF files whose shared libraries L1 needs; they are resolved at the end,
# once, with every library copied once (ldd per file and cp per library was
# most of this script's time).
ELVES=()

# Every coreutils program (sha256sum, stat, nproc...), whatever a script picks.
mapfile -t COREUTILS < <(dpkg -L coreutils 2>/dev/null | grep -E '^/usr/s?bin/[^/]+$' | xargs -rn1 basename)
for p in "${PROGRAMS[@]}" "${COREUTILS[@]}"; do
	path=$(type -P "$p" 2>/dev/null || true)
	[ -n "$path" ] && [ -f "$path" ] || continue
	copy_path "$path"
	ELVES+=("$(readlink -f "$path")")
done
for d in "${DATA[@]}"; do copy_path "$d"; done
# iproute2's vdpa, to put a VDUSE device on the vdpa bus (netlink).
if [ -x /usr/sbin/vdpa ]; then
	copy_path /usr/sbin/vdpa
	ELVES+=(/usr/sbin/vdpa)
fi
# Python, for parent programs written as users write them (socket.AF_VSOCK):
# the interpreter and its standard library without tests, GUI and tools.
PYTHON=$(readlink -f /usr/bin/python3 2>/dev/null || true)
if [ -x "$PYTHON" ]; then
	pylib=/usr/lib/$(basename "$PYTHON")
	copy_path "$PYTHON"
	ln -sf "$(basename "$PYTHON")" "$stage/usr/bin/python3"
	ELVES+=("$PYTHON")
	tar -C / -cf - --exclude='__pycache__' --exclude="${pylib#/}/test" --exclude="${pylib#/}/idlelib" \
		--exclude="${pylib#/}/tkinter" --exclude="${pylib#/}/ensurepip" --exclude="${pylib#/}/lib2to3" \
		--exclude="${pylib#/}/pydoc_data" --exclude="${pylib#/}/site-packages" \
		--exclude="${pylib#/}/dist-packages" --exclude="${pylib#/}/config-*" "${pylib#/}" | tar -C "$stage" -xf -
	for f in "$pylib"/lib-dynload/*.so; do [ -f "$f" ] && ELVES+=("$f"); done
fi
for f in /usr/lib/x86_64-linux-gnu/faketime/*.so*; do [ -f "$f" ] && ELVES+=("$f"); done
# libarchive and libcrypto, which carve loads on first use (dlopen,
# src/common/libarchive_lazy.c, src/crypto/libcrypto_lazy.c), so ldd of
# carve does not name them.
for lazy in /usr/lib/x86_64-linux-gnu/libarchive.so.13 /usr/lib/x86_64-linux-gnu/libcrypto.so.3; do
	if [ -e "$lazy" ]; then
		copy_path "$lazy"
		ELVES+=("$(readlink -f "$lazy")")
	fi
done
# QEMU, only when asked (CARVE_HWKVM_QEMU=1), for bench/vmm_boot.sh in L1:
# its binary and the libraries it brings add about 50 MB to an image every
# bed run loads, for one benchmark. microvm needs its firmware (qboot) and
# the PVH/linuxboot option ROMs beside it.
if [ "${CARVE_HWKVM_QEMU:-0}" = 1 ]; then
	QEMU_BIN=$(command -v qemu-system-x86_64 || true)
	[ -n "$QEMU_BIN" ] || { echo "build-image: CARVE_HWKVM_QEMU=1 but qemu-system-x86_64 is missing" >&2; exit 1; }
	copy_path "$QEMU_BIN"
	ELVES+=("$(readlink -f "$QEMU_BIN")")
	for f in bios-microvm.bin qboot.rom pvh.bin linuxboot_dma.bin multiboot_dma.bin kvmvapic.bin; do
		[ -e "/usr/share/qemu/$f" ] && copy_path "/usr/share/qemu/$f"
	done
fi
# faketime's wrapper and the resolver: users and groups for setpriv and ls.
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"

# busybox for what the host's programs above do not cover in init.
BUSYBOX=$(command -v busybox || true)
if [ -z "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
	echo "build-image: a static busybox is missing (busybox-static; scripts/setup.sh installs it)" >&2
	exit 1
fi
mkdir -p "$stage/usr/lib/hwkvm"
cp "$BUSYBOX" "$stage/usr/lib/hwkvm/busybox"

# L1's own modules (kvm-amd, vhost...) and the enclave's (what a Linux
# enclave loads to reach carve's devices), each directory with its "order".
. "$ROOT/scripts/lib/modules.sh"
install_modules "$MODDIR" "$stage/usr/lib/hwkvm/modules" "${MODULES[@]}"
install_modules "$MODDIR" "$stage/usr/lib/hwkvm/enclave-modules" "${ENCLAVE_MODULES[@]}"
install_modules "$MODDIR" "$stage/usr/lib/hwkvm/vdpa-modules" "${VDPA_MODULES[@]}"

# The same kernel for L2: its bzImage and its uncompressed ELF (vmlinux).
cp "$KERNEL" "$stage/usr/lib/hwkvm/vmlinuz"
cp "$VMLINUX" "$stage/usr/lib/hwkvm/vmlinux"

# Container images for the L1 tests (Debian packages; cached in cache/).
"$ROOT/tests/images/python.sh" "$ROOT/build/images"

# The checkout: scripts, tests, benchmarks, and the built trees without
# objects (the sanitizer tree only where it was built).
# guest/kernel/README.md: its programs table, which the kernel tests check;
# guest/vdso/vdso_data.h: where the vDSO is (kernel_dynamic's auxv check).
trees=(scripts tests bench build guest/kernel/README.md guest/vdso/vdso_data.h)
[ -d "$ROOT/build-san" ] && trees+=(build-san)
# Lua's test programs, fetched by scripts/fetch-lua-tests.sh (L1 has no apt).
[ -f "$ROOT/cache/lua-tests/test/life.lua" ] && trees+=(cache/lua-tests/test)
tar -C "$ROOT" -cf - --exclude='*.o' --exclude='*.d' --exclude=test-logs --exclude=build/hwkvm \
	--exclude='build*/tests/test_*' --exclude='build*/lib' "${trees[@]}" | tar -C "$stage/carve" -xf -
# The built programs load OpenSSL, libcbor, the sanitizers...
while read -r f; do
	head -c 4 "$f" | grep -q 'ELF' && ELVES+=("$f")
done < <(find "$stage/carve/build" "$stage/carve/build-san" -type f -perm -u+x 2>/dev/null)

# Every shared library those ELF files load, each copied once, at its path
# (and the links leading to it).
# (ldd fails for the static ones among them, which need nothing.)
{ ldd "${ELVES[@]}" 2>/dev/null || true; } | grep -oE '/[^ ]+\.so[^ ]*' | sort -u | while read -r lib; do
	copy_path "$lib"
done
cp "$ROOT/tests/hwkvm/init" "$stage/init"
chmod 755 "$stage/init"

(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
