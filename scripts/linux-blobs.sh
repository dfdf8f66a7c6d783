#!/usr/bin/env bash
# Makes carve's Linux kernel blobs in OUTDIR (make calls it for build/guest):
#   bzImage               Debian's cloud kernel (scripts/fetch-debian-kernel.sh)
#   bzImage.config        its configuration
#   cmdline               the kernel command line Linux enclaves get
#   bootstrap-initrd.img  the bootstrap ramdisk, laid out as nitro-cli's:
#                         dev/, init (carve-init, guest/init) and the modules
#                         that reach carve's devices in lib/carve-modules/
#                         with their load order
# the blob names nitro-cli uses ($NITRO_CLI_BLOBS), so build-enclave
# --docker-uri finds them. The ramdisk is reproducible: sorted entries,
# owner 0:0, fixed times, so an EIF's PCRs depend only on its inputs.
#
#   scripts/linux-blobs.sh OUTDIR INIT
# Without a cached kernel (scripts/setup.sh fetches it) it says so and exits 3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: linux-blobs.sh OUTDIR INIT}
INIT=${2:?usage: linux-blobs.sh OUTDIR INIT}
CACHE=${CARVE_CACHE:-$ROOT/cache}/debian-kernel
if [ ! -s "$CACHE/version" ]; then
	echo "linux-blobs: no Debian kernel in $CACHE; scripts/setup.sh fetches it (Linux enclaves need it)" >&2
	exit 3
fi
MODDIR=$("$ROOT/scripts/fetch-debian-kernel.sh" --quiet --modules)
# virtio_mmio finds carve's devices in ACPI (LNRO0005); vsock and its virtio
# transport carry the heartbeat and the program's sockets; nsm is /dev/nsm.
MODULES=(virtio_mmio vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport nsm)
# Nitro's x86-64 command line (its blobs/cmdline); Debian's kernel finds the
# devices through ACPI, so there are no virtio_mmio.device= entries. Without
# i8042.nopnp: the keyboard's IRQ is only found through its ACPI device on
# carve's hardware-reduced ACPI machine (src/cli/build.h says more).
CMDLINE="reboot=k panic=30 pci=off nomodules console=ttyS0 i8042.noaux i8042.nomux i8042.dumbkbd random.trust_cpu=on"

. "$ROOT/scripts/lib/modules.sh"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/dev" "$stage/lib/carve-modules"
install_modules "$MODDIR" "$stage/lib/carve-modules" "${MODULES[@]}"
sed 's/$/.ko/' "$stage/lib/carve-modules/order" >"$stage/lib/carve-modules/order.ko"
mv "$stage/lib/carve-modules/order.ko" "$stage/lib/carve-modules/order"
cp "$INIT" "$stage/init"
chmod 0755 "$stage/dev" "$stage/init" "$stage/lib" "$stage/lib/carve-modules"
chmod 0644 "$stage"/lib/carve-modules/*
find "$stage" -exec touch -h -d @0 {} +

mkdir -p "$OUT"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --reproducible --quiet) >"$OUT/bootstrap-initrd.img.tmp"
cp "$CACHE/vmlinuz" "$OUT/bzImage.tmp"
cp "$CACHE/config" "$OUT/bzImage.config.tmp"
echo "$CMDLINE" >"$OUT/cmdline.tmp"
for f in bootstrap-initrd.img bzImage bzImage.config cmdline; do mv "$OUT/$f.tmp" "$OUT/$f"; done
