#!/usr/bin/env bash
# The ACPI tables carve vmm builds, dumped with --dump-acpi and checked with
# ACPICA's disassembler (iasl -d): no errors, no warnings, correct checksums;
# the DSDT has one LNRO0005 device per virtio-mmio slot and recompiles.
. "$(dirname "$0")/../lib/tap.sh"
requires_kvm
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
GUEST=$ROOT/build/guests/carve-guest.elf
[ -f "$GUEST" ] || make -s -C "$ROOT" guests >/dev/null
if ! command -v iasl >/dev/null; then
	skip "ACPI tables pass iasl" "iasl (acpica-tools) is not installed; run scripts/setup.sh"
	finish
fi

D=$TMP/acpi
timeout 60 "$CARVE" vmm --kernel "$GUEST" --memory 64 --cpus 2 --virtio-slots 3 --dump-acpi "$D" \
	</dev/null >"$TMP/out" 2>&1
same "guest with dumped tables exits 0" "$?" 0
same "five tables dumped" "$(cd "$D" 2>/dev/null && ls | tr '\n' ' ')" "APIC.dat DSDT.dat FACP.dat RSDP.dat XSDT.dat "

# iasl (20200925 here) does not disassemble a lone RSDP ("not a valid ACPI
# table"): check its signature, revision and both checksums directly.
sum_bytes() { od -An -tu1 -v -N "$2" "$1" | awk '{for (i = 1; i <= NF; i++) s += $i} END {print s % 256}'; }
same "RSDP signature" "$(head -c 8 "$D/RSDP.dat")" "RSD PTR "
same "RSDP revision 2" "$(od -An -tu1 -j15 -N1 "$D/RSDP.dat" | tr -d ' ')" 2
same "RSDP checksum (first 20 bytes)" "$(sum_bytes "$D/RSDP.dat" 20)" 0
same "RSDP extended checksum (36 bytes)" "$(sum_bytes "$D/RSDP.dat" 36)" 0

for t in XSDT FACP APIC DSDT; do
	(cd "$D" && iasl -d "$t.dat") >"$TMP/iasl.$t" 2>&1
	rc=$?
	bad=$(grep -iE 'error|warning|incorrect|invalid|unknown' "$TMP/iasl.$t" "$D/$t.dsl" 2>/dev/null |
		grep -v 'Acpi Data Table\|^.*: *0 Errors' | head -3)
	if [ "$rc" -eq 0 ] && [ -f "$D/$t.dsl" ] && [ -z "$bad" ]; then
		tap_result 0 "iasl -d $t: no errors or warnings"
	else
		echo "# rc=$rc $bad" >"$TMP/diag"; cat "$TMP/iasl.$t" >>"$TMP/diag"
		tap_result 1 "iasl -d $t: no errors or warnings" "$TMP/diag"
	fi
done

same "FADT: hardware-reduced" "$(grep -c 'Hardware Reduced (V5) : 1' "$D/FACP.dsl")" 1
same "FADT: reset register supported" "$(grep -c 'Reset Register Supported (V2) : 1' "$D/FACP.dsl")" 1
same "FADT: reset value" "$(grep -o 'Value to cause reset : .*' "$D/FACP.dsl")" "Value to cause reset : 0F"
same "MADT: a LAPIC per vCPU" "$(grep -c 'Subtable Type : 00 \[Processor Local APIC\]' "$D/APIC.dsl")" 2
same "MADT: one IOAPIC" "$(grep -c 'Subtable Type : 01 \[I/O APIC\]' "$D/APIC.dsl")" 1
same "XSDT: FADT and MADT" "$(grep -c 'ACPI Table Address' "$D/XSDT.dsl")" 2
same "DSDT: a LNRO0005 device per slot" "$(grep -c '"LNRO0005"' "$D/DSDT.dsl")" 3
same "DSDT: slot 2 memory" "$(grep -c '0xD0002000,         // Address Base' "$D/DSDT.dsl")" 1
same "DSDT: slot 2 interrupt" "$(grep -c '0x00000007,' "$D/DSDT.dsl")" 1
same "DSDT: COM1" "$(grep -c 'EisaId ("PNP0501")' "$D/DSDT.dsl")" 1
same "DSDT: the i8042 keyboard: ports 0x60 and 0x64, IRQ 1" \
	"$(grep -A16 'EisaId ("PNP0303")' "$D/DSDT.dsl" | grep -o '0x006[04],\|{1}' | sort | uniq -c | tr -s ' ' | tr '\n' ';')" \
	" 2 0x0060,; 2 0x0064,; 1 {1};"
same "DSDT: the sub-page lock device, _HID CRVE0001, its 0x60 ports at 0x680" \
	"$(grep -A12 '"CRVE0001"' "$D/DSDT.dsl" | grep -c '0x0680,\|0x60,')" 3
same "DSDT: \\_S5 for poweroff" "$(grep -c 'Name (\\_S5, Package' "$D/DSDT.dsl")" 1
(cd "$D" && iasl DSDT.dsl) >"$TMP/recompile" 2>&1
same "DSDT disassembly recompiles" "$(grep -o 'Compilation successful. 0 Errors' "$TMP/recompile")" "Compilation successful. 0 Errors"

# Many vCPUs and slots still fit below 1 MiB and still pass.
timeout 60 "$CARVE" vmm --kernel "$GUEST" --memory 64 --cpus 16 --virtio-slots 19 --dump-acpi "$TMP/big" \
	--cmdline stop=poweroff </dev/null >"$TMP/out2" 2>&1
same "16 vCPUs, 19 slots: boots" "$?" 0
(cd "$TMP/big" && iasl -d APIC.dat DSDT.dat) >"$TMP/iasl.big" 2>&1
same "16 vCPUs, 19 slots: iasl clean" "$(grep -ciE 'error|warning|incorrect' "$TMP/iasl.big" "$TMP/big/APIC.dsl" "$TMP/big/DSDT.dsl" | awk -F: '{s+=$2} END {print s}')" 0
same "16 vCPUs in the MADT" "$(grep -c 'Processor Local APIC\]' "$TMP/big/APIC.dsl")" 16
finish
