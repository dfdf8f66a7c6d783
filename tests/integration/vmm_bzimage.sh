#!/usr/bin/env bash
# The bzImage path end to end: the test guest wrapped in a protocol-2.15
# setup header (tests/guests/mkbzimage.c, initrd_addr_max 32 MiB,
# cmdline_size 255) is loaded at 1 MiB and entered at +0x200 in long mode;
# the zero page carries the kernel's own setup header.
. "$(dirname "$0")/../lib/tap.sh"
requires_kvm
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
BZ=$ROOT/build/guests/carve-guest.bz
[ -f "$BZ" ] || make -s -C "$ROOT" guests >/dev/null

head -c 5000 /dev/urandom >"$TMP/initrd"
want=$(od -An -tu1 -v "$TMP/initrd" | awk '{for (i = 1; i <= NF; i++) s += $i} END {print s}')
timeout 60 "$CARVE" vmm --kernel "$BZ" --initrd "$TMP/initrd" --memory 128 --cpus 2 \
	--cmdline "smp stop=acpi-reset" </dev/null >"$TMP/o" 2>"$TMP/e"
same "bzImage guest exits 0" "$?" 0
same "entered at load address + 0x200" "$(grep -c '^guest: hello' "$TMP/o")" 1
same "setup header copied into the zero page" "$(grep '^zp: boot_protocol' "$TMP/o")" \
	"zp: boot_protocol=0x020f loader=0xff cmdline_size=255"
same "cmdline" "$(grep '^cmdline: ' "$TMP/o")" "cmdline: smp stop=acpi-reset"
same "initrd contents" "$(grep '^zp: initrd' "$TMP/o" | grep -o 'size=.*')" "size=5000 sum=$want"
addr=$(grep -o 'initrd addr=0x[0-9a-f]*' "$TMP/o" | cut -d= -f2)
ok "initrd ends below initrd_addr_max (32 MiB), not at the top of 128 MiB" \
	test $((addr + 5000 <= 0x2000000)) = 1 -a $((addr > 0x1000000)) = 1
same "SMP from a bzImage" "$(grep '^smp: .* running' "$TMP/o")" "smp: 2 cpus running"

fails_with 34 "cmdline longer than the kernel's cmdline_size refused" "$CARVE" vmm --kernel "$BZ" \
	--memory 64 --cpus 1 --cmdline "$(head -c 256 /dev/zero | tr '\0' a)"
timeout 60 "$CARVE" vmm --kernel "$BZ" --memory 64 --cpus 1 --cmdline "$(head -c 240 /dev/zero | tr '\0' a)" \
	</dev/null >/dev/null 2>&1
same "cmdline of 240 bytes accepted" "$?" 0
head -c $((31 << 20)) /dev/urandom >"$TMP/big"
fails_with 34 "initrd that cannot end below initrd_addr_max refused" "$CARVE" vmm --kernel "$BZ" \
	--initrd "$TMP/big" --memory 256 --cpus 1
head -c 2000 "$BZ" >"$TMP/trunc.bz"
fails_with 75 "bzImage cut inside its setup code refused" "$CARVE" vmm --kernel "$TMP/trunc.bz" --memory 64 --cpus 1
finish
