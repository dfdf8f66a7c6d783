#!/usr/bin/env bash
# carve vmm --eif-path: the EIF is CRC-checked, placed whole at 8 MiB (as
# Nitro does), and booted from its kernel, cmdline and concatenated ramdisks.
. "$(dirname "$0")/../lib/tap.sh"
requires_kvm
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
GUEST=$ROOT/build/guests/carve-guest.elf
[ -f "$GUEST" ] || make -s -C "$ROOT" guests >/dev/null

head -c 3000 /dev/urandom >"$TMP/r1"
head -c 7001 /dev/urandom >"$TMP/r2"
want=$(cat "$TMP/r1" "$TMP/r2" | od -An -tu1 -v | awk '{for (i = 1; i <= NF; i++) s += $i} END {print s}')
ok "build an EIF around the test guest" "$CARVE" build-enclave --kernel "$GUEST" --cmdline "eif smp" \
	--ramdisk "$TMP/r1" --ramdisk "$TMP/r2" --output-file "$TMP/t.eif"

export CARVE_STATE_DIR=$TMP/state CARVE_SOCKETS_DIR=$TMP/sockets
timeout 60 "$CARVE" vmm --eif-path "$TMP/t.eif" --memory 64 --cpus 2 --cmdline "stop=acpi-reset" \
	</dev/null >"$TMP/o" 2>"$TMP/e"
same "EIF boot exits 0" "$?" 0
# An EIF boots with its devices (vsock on slot 0, NSM on slot 1); an ELF
# kernel finds them on the command line, after the EIF's and --cmdline's
# words, and the sub-page lock device after them (docs/vmm.md).
same "EIF cmdline, with --cmdline and the virtio-mmio devices appended" "$(grep '^cmdline: ' "$TMP/o")" \
	"cmdline: eif smp stop=acpi-reset virtio_mmio.device=4K@0xd0000000:5 virtio_mmio.device=4K@0xd0001000:6 carve_selflock.device=0x60@0x680"
same "ramdisks concatenated as the initrd" "$(grep '^zp: initrd' "$TMP/o" | grep -o 'size=.*')" "size=10001 sum=$want"
same "the EIF is at 8 MiB" "$(grep '^eif: ' "$TMP/o")" "eif: magic=.eif version=4 sections=5"
same "SMP from an EIF" "$(grep '^smp: .* running' "$TMP/o")" "smp: 2 cpus running"

# A guest that misprograms a device (queue 0 of virtio-vsock made ready with
# 3 entries): the device refuses the queue and needs a reset, --verbose
# prints the fault, and the VM still stops cleanly when the guest asks.
timeout 60 "$CARVE" vmm --eif-path "$TMP/t.eif" --memory 64 --cpus 1 --cmdline "vfault" --verbose \
	</dev/null >"$TMP/vf" 2>"$TMP/vf.err"
same "misprogramming guest: the VM stops cleanly (exit 0)" "$?" 0
same "  ...the guest reached the device" "$(grep '^vfault: device id' "$TMP/vf")" "vfault: device id 19"
same "  ...the queue was refused and the device asks for a reset" "$(grep '^vfault: queue' "$TMP/vf")" \
	"vfault: queue ready=0 status=0x43"
same "  ...a reset brings the device back" "$(grep '^vfault: after reset' "$TMP/vf")" \
	"vfault: after reset status=0x00"
same "  ...--verbose prints the device fault, once" \
	"$(grep -c '^vmm: device fault: virtio-vsock: the device needs a reset: bad queue size or ring address$' "$TMP/vf.err")" 1
same "  ...the guest powered off" "$(grep -c '^vmm: stopped: poweroff' "$TMP/vf.err")" 1
same "  ...and was not left running" "$(grep -c 'still running' "$TMP/vf")" 0
timeout 60 "$CARVE" vmm --eif-path "$TMP/t.eif" --memory 64 --cpus 1 --cmdline "vfault" \
	</dev/null >"$TMP/vf2" 2>"$TMP/vf2.err"
same "without --verbose the fault is not printed" "$?:$(grep -c 'device fault' "$TMP/vf2.err")" "0:0"

cp "$TMP/t.eif" "$TMP/bad.eif"
size=$(stat -c %s "$TMP/bad.eif")
printf '\x55' | dd of="$TMP/bad.eif" bs=1 seek=$((size - 10)) conv=notrunc status=none
fails_with 35 "corrupt EIF (CRC) refused" "$CARVE" vmm --eif-path "$TMP/bad.eif" --memory 64 --cpus 1
grep -q CRC "$TMP/err"
same "  ...the error names the CRC" "$?" 0
head -c 300 "$TMP/t.eif" >"$TMP/short.eif"
fails_with 35 "truncated EIF refused" "$CARVE" vmm --eif-path "$TMP/short.eif" --memory 64 --cpus 1
refused "--initrd with --eif-path is a conflict" --saying "cannot be used with" "$CARVE" vmm --eif-path "$TMP/t.eif" --initrd "$TMP/r1" \
	--memory 64 --cpus 1
head -c $((60 << 20)) /dev/urandom >"$TMP/big"
"$CARVE" build-enclave --kernel "$GUEST" --cmdline x --ramdisk "$TMP/big" --output-file "$TMP/big.eif" >/dev/null 2>&1
fails_with 34 "EIF too large for the memory" "$CARVE" vmm --eif-path "$TMP/big.eif" --memory 64 --cpus 1
finish
