#!/usr/bin/env bash
# The carve enclave kernel's costs, measured on this host:
#   1. boot to exit: wall time of `carve vmm` running a static program that
#      only exits (VM creation, kernel and ramdisk load, boot, exec, exit,
#      poweroff), median of RUNS, plus the kernel's own boot time (printed
#      with carve.debug: entry to the first user instruction);
#   2. inside the guest: a system-call round trip (getppid loop), an
#      anonymous page fault, and a 4 KiB read of a ramdisk file.
# On PVM hosts kernel code is emulated (DESIGN.md), so these are dominated by
# emulation; on hardware KVM they are much smaller.
#   bench/kernel_boot.sh [RUNS]
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-7}
make -s kernel kernel-progs >/dev/null
VMM=$PWD/build/bin/carve
[ -x "$VMM" ] || { echo "no carve binary: run make first"; exit 1; }
dir=$(mktemp -d /tmp/carve-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/rootfs/bin"
cp build/guest/progs/musl/bench "$dir/rootfs/bin/bench"
run() { # ARGV... -> console on stdout
	tests/lib/make-initrd.sh -o "$dir/app.cpio" "$dir/rootfs" /bin/bench "$@"
	timeout 120 "$VMM" vmm --kernel build/guest/carve-kernel.elf --initrd "$dir/app.cpio" \
		--cmdline carve.debug --memory 256 --cpus 1 2>/dev/null
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

tests/lib/make-initrd.sh -o "$dir/app.cpio" "$dir/rootfs" /bin/bench
: >"$dir/wall"; : >"$dir/kboot"
for _ in $(seq "$RUNS"); do
	s=$(date +%s%N)
	timeout 120 "$VMM" vmm --kernel build/guest/carve-kernel.elf --initrd "$dir/app.cpio" \
		--cmdline carve.debug --memory 256 --cpus 1 >"$dir/out" 2>/dev/null
	e=$(date +%s%N)
	echo $(((e - s) / 1000)) >>"$dir/wall"
	sed -n 's/.*after \([0-9]*\) us of boot/\1/p' "$dir/out" >>"$dir/kboot"
done
echo "boot to exit (carve vmm, 256 MiB, program that only exits): median $(median <"$dir/wall") us over $RUNS runs"
echo "kernel entry to first user instruction: median $(median <"$dir/kboot") us"
run getppid 2000 | grep '^getppid'
run fault 500 | grep '^fault'
run read 500 /bin/bench | grep '^read'
