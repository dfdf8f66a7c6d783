#!/usr/bin/env bash
# CPUID policy: KVM's PV leaf is filtered to carve's allow-list and, with
# KVM_CAP_ENFORCE_PV_FEATURE_CPUID on every vCPU, a PV MSR outside it raises
# #GP in the guest (the guest installs an IDT handler and reports).
. "$(dirname "$0")/../lib/tap.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
GUEST=$ROOT/build/guests/carve-guest.elf
[ -f "$GUEST" ] || make -s -C "$ROOT" guests >/dev/null

timeout 60 "$CARVE" vmm --kernel "$GUEST" --cmdline "pvmsr" --memory 64 --cpus 1 </dev/null \
	>"$TMP/o" 2>&1
same "pvmsr guest exits 0" "$?" 0
feat=$(grep -o '^pv: features=0x[0-9a-f]*' "$TMP/o" | cut -d= -f2)
ok "KVM leaf 0x40000001 shown to the guest" test -n "$feat"
# allow-list: CLOCKSOURCE(0) NOP_IO_DELAY(1) CLOCKSOURCE2(3) CLOCKSOURCE_STABLE(24)
same "PV features within the allow-list" "$(( ${feat:-0} & ~0x0100000b ))" 0
same "ASYNC_PF_EN (not allowed) raises #GP" "$(grep -c '^pvmsr: 0x4b564d02 gp=1$' "$TMP/o")" 1
same "STEAL_TIME (not allowed) raises #GP" "$(grep -c '^pvmsr: 0x4b564d03 gp=1$' "$TMP/o")" 1
if [ $(( ${feat:-0} & 8 )) -ne 0 ]; then
	same "SYSTEM_TIME_NEW (allowed) works" "$(grep -c '^pvmsr: 0x4b564d01 gp=0$' "$TMP/o")" 1
else
	skip "SYSTEM_TIME_NEW (allowed) works" "this host's KVM does not offer kvmclock"
fi
finish
