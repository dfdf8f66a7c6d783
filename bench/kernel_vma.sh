#!/usr/bin/env bash
# The memory map under malloc: vmatest's malloc/free loop (tests/kernel-progs/
# vmatest.c: OPS operations of mixed sizes, some mmap-sized) in the carve
# enclave kernel beside the same static program run natively, glibc and musl
# builds, and the ratio. The program times its own loop (CLOCK_MONOTONIC), so
# boot is not counted.
#
#   tests/hwkvm/run.sh --tests ../bench/kernel_vma --jobs 1    # in the bed's L1
#   bench/kernel_vma.sh [OPS]                                  # where KVM exists
#
# In the bed every time is emulated (QEMU TCG runs L1, natively run programs
# included): only the ratio means something, never the milliseconds. Needs
# make all (the kernel, the test programs, carve).
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
OPS=${1:-400000}
VMM=${CARVE:-$ROOT/build/bin/carve}
KERNEL=$ROOT/build/guest/carve-kernel.elf
PROGS=$ROOT/build/guest/progs
for f in "$VMM" "$KERNEL" "$PROGS/musl/vmatest" "$PROGS/glibc/vmatest"; do
	[ -e "$f" ] || { echo "kernel_vma bench: $f is missing (make all)"; exit 1; }
done
[ -c /dev/kvm ] || { echo "kernel_vma bench: no /dev/kvm"; exit 1; }
dir=$(mktemp -d /tmp/carve-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/rootfs/bin"
cp "$PROGS/glibc/vmatest" "$dir/rootfs/bin/gvmatest"
cp "$PROGS/musl/vmatest" "$dir/rootfs/bin/vmatest"

us_of() { sed -n 's/^malloc: [0-9]* ops in \([0-9]*\) us$/\1/p'; }
printf '%-34s %12s %12s %8s\n' "malloc/free loop, $OPS ops" "native ms" "carve ms" "ratio"
for libc in glibc musl; do
	prog=vmatest
	[ "$libc" = glibc ] && prog=gvmatest
	native=$("$PROGS/$libc/vmatest" malloc "$OPS" | us_of)
	"$ROOT/tests/lib/make-initrd.sh" -o "$dir/app.cpio" "$dir/rootfs" "/bin/$prog" malloc "$OPS"
	carve=$(timeout 900 "$VMM" vmm --kernel "$KERNEL" --initrd "$dir/app.cpio" --memory 256 --cpus 1 \
		2>/dev/null | us_of)
	[ -n "$native" ] && [ -n "$carve" ] || { echo "$libc: no time (native '$native', carve '$carve')"; exit 1; }
	printf '%-34s %12s %12s %8s\n' "$libc static" "$((native / 1000))" "$((carve / 1000))" \
		"$(awk -v c="$carve" -v n="$native" 'BEGIN { printf "%.1fx", c / n }')"
done
