#!/usr/bin/env bash
# SLOW (CARVE_TEST_SLOW=1): Debian's cloud kernel under carve vmm, through
# early boot: the console must show our e820 map and the ACPI table lines
# (RSDP, XSDT, FACP, DSDT, APIC) and the MADT's IOAPIC.
#
# The bzImage is booted first. On hosts whose KVM emulates guest kernel code
# (PVM, DESIGN.md) its decompressor stops at a BMI2 instruction the emulator
# cannot run, so the same kernel's vmlinux (the bzImage payload, ELF) is then
# booted through the ELF path; it gets through e820 and ACPI parsing there and
# dies later (LOCK CMPXCHG16B / XRSTOR), which is expected on such hosts.
. "$(dirname "$0")/../lib/tap.sh"
requires_kvm
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
# In the hardware-KVM bed (HWKVM set) the kernels are in the L1 image and a
# boot takes seconds, so it runs there by default.
if [ -n "${HWKVM_BZIMAGE:-}" ] && [ -n "${HWKVM_VMLINUX:-}" ]; then
	vmlinuz=$HWKVM_BZIMAGE vmlinux=$HWKVM_VMLINUX
elif [ "${CARVE_TEST_SLOW:-0}" != 1 ]; then
	skip "Debian cloud kernel boots to ACPI table parsing" "slow test (minutes) on this host; run with CARVE_TEST_SLOW=1 (the hardware-KVM bed runs it)"
	finish
elif ! vmlinuz=$("$ROOT/scripts/fetch-debian-kernel.sh" --quiet) ||
	! vmlinux=$("$ROOT/scripts/fetch-debian-kernel.sh" --quiet --vmlinux); then
	skip "Debian cloud kernel boots to ACPI table parsing" "cannot fetch linux-image-6.12.*-cloud-amd64-unsigned with apt-get download"
	finish
fi
CMDLINE="console=ttyS0 earlyprintk=ttyS0 reboot=k panic=-1"
MEM=256

# Boots $1 into $2 until the kernel has counted the MADT's CPUs (after the
# ACPI and IOAPIC lines), the VM stops, or $3 seconds pass; the VM is then
# stopped with SIGTERM.
boot_until_acpi() {
	local kernel=$1 out=$2 limit=$3
	: >"$out"
	timeout -s TERM "$limit" "$CARVE" vmm --kernel "$kernel" --memory $MEM --cpus 2 --cmdline "$CMDLINE" \
		</dev/null >"$out" 2>"$out.err" &
	local pid=$! t=0
	while kill -0 "$pid" 2>/dev/null; do
		if grep -q 'present CPUs' "$out"; then kill -TERM "$pid"; break; fi
		sleep 1
		t=$((t + 1))
	done
	wait "$pid" 2>/dev/null
	echo "# $(basename "$kernel"): $(grep -c . "$out") console lines in ${t}s; $(head -1 "$out.err")"
}

check_console() { # out label
	local out=$1 l=$2
	same "$l: e820 low RAM" "$(grep -c 'BIOS-e820: \[mem 0x0000000000000000-0x000000000009fbff\] usable' "$out")" 1
	same "$l: e820 reserved to 1 MiB" "$(grep -c 'BIOS-e820: \[mem 0x000000000009fc00-0x00000000000fffff\] reserved' "$out")" 1
	same "$l: e820 RAM to $MEM MiB" "$(grep -c "BIOS-e820: \[mem 0x0000000000100000-0x$(printf '%016x' $((MEM * 1048576 - 1)))\] usable" "$out")" 1
	for t in RSDP XSDT FACP DSDT APIC; do
		same "$l: ACPI: $t" "$(grep -c "ACPI: $t 0x[0-9A-F]* [0-9A-F]* (v0[0-9] CARVE" "$out")" 1
	done
	same "$l: MADT IOAPIC" "$(grep -c 'IOAPIC\[0\]: apic_id 2, version [0-9]*, address 0xfec00000, GSI 0-23' "$out")" 1
	same "$l: MADT CPUs" "$(grep -c 'Allowing 2 present CPUs' "$out")" 1
	same "$l: CPUID topology: one package of 2 cores" "$(grep -c 'CPU topo: Num. cores per package: *2[^0-9]*$' "$out")" 1
}

boot_until_acpi "$vmlinuz" "$TMP/bz" 240
if grep -q 'present CPUs' "$TMP/bz"; then
	check_console "$TMP/bz" bzImage
elif ! grep -q 'Linux version' "$TMP/bz" && grep -q 'internal-error' "$TMP/bz.err"; then
	skip "bzImage: boots to ACPI table parsing" \
		"this host's KVM cannot emulate the decompressor: $(grep -o 'the VM stopped.*' "$TMP/bz.err" | head -c 200)"
else
	cat "$TMP/bz.err" "$TMP/bz" | tail -20 >"$TMP/diag"
	tap_result 1 "bzImage: boots to ACPI table parsing" "$TMP/diag"
fi

boot_until_acpi "$vmlinux" "$TMP/elf" 300
same "vmlinux: kernel banner" "$(grep -c '^\[ *0.000000\] Linux version 6.12' "$TMP/elf")" 1
check_console "$TMP/elf" vmlinux
finish
