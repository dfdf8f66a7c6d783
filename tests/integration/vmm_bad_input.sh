#!/usr/bin/env bash
# carve vmm refuses bad kernels and bad flags with a clear error and the
# right E-code, before any guest code runs.
. "$(dirname "$0")/../lib/tap.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
GUEST=$ROOT/build/guests/carve-guest.elf
[ -f "$GUEST" ] || make -s -C "$ROOT" guests >/dev/null

vmm() { timeout 60 "$CARVE" vmm "$@" </dev/null; }
mentions() { # description needle cmd...: fails_with's stderr must name the problem
	local desc=$1 needle=$2
	if grep -q -- "$needle" "$TMP/err"; then tap_result 0 "$desc"; else
		{ echo "# stderr lacks: $needle"; cat "$TMP/err"; } >"$TMP/diag"; tap_result 1 "$desc" "$TMP/diag"; fi
}

head -c 100 "$GUEST" >"$TMP/trunc-hdr.elf"
fails_with 35 "ELF cut inside its header" vmm --kernel "$TMP/trunc-hdr.elf" --memory 64 --cpus 1
mentions "  ...says truncated" "truncated"
head -c 5000 "$GUEST" >"$TMP/trunc.elf"
fails_with 35 "ELF cut inside a segment" vmm --kernel "$TMP/trunc.elf" --memory 64 --cpus 1
mentions "  ...says truncated" "truncated"

# A bzImage header by hand: setup_sects 4, "HdrS", protocol 2.11.
python3 - "$TMP" <<'PY'
import struct, sys
d = sys.argv[1]
def bz(version, init_size, xlf=1, size=5 * 512 + 4096):
    b = bytearray(size)
    b[0x1f1] = 4
    struct.pack_into('<H', b, 0x1fe, 0xaa55)
    b[0x200:0x202] = b'\xeb\x6a'
    b[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', b, 0x206, version)
    b[0x211] = 1
    struct.pack_into('<I', b, 0x22c, 0x7fffffff)
    struct.pack_into('<I', b, 0x230, 0x200000)
    b[0x234] = 1
    struct.pack_into('<H', b, 0x236, xlf)
    struct.pack_into('<I', b, 0x238, 2047)
    struct.pack_into('<I', b, 0x260, init_size)
    return bytes(b)
open(d + '/old.bz', 'wb').write(bz(0x020b, 1 << 22))
open(d + '/noxlf.bz', 'wb').write(bz(0x020f, 1 << 22, xlf=0))
open(d + '/huge.bz', 'wb').write(bz(0x020f, 200 << 20))
open(d + '/trunc.bz', 'wb').write(bz(0x020f, 1 << 22)[:0x400])
PY
fails_with 35 "bzImage with boot protocol 2.11" vmm --kernel "$TMP/old.bz" --memory 64 --cpus 1
mentions "  ...names the version and the minimum" "2.11; carve needs 2.12"
fails_with 35 "bzImage without a 64-bit entry" vmm --kernel "$TMP/noxlf.bz" --memory 64 --cpus 1
mentions "  ...says why" "XLF_KERNEL_64"
fails_with 35 "bzImage cut inside its setup code" vmm --kernel "$TMP/trunc.bz" --memory 64 --cpus 1
fails_with 34 "kernel larger than guest memory" vmm --kernel "$TMP/huge.bz" --memory 64 --cpus 1
mentions "  ...says to give more memory" "more memory"
head -c 3000 /dev/urandom >"$TMP/junk"
fails_with 35 "neither ELF nor bzImage" vmm --kernel "$TMP/junk" --memory 64 --cpus 1
head -c $((70 << 20)) /dev/zero >"$TMP/big-initrd"
fails_with 34 "initrd larger than guest memory" vmm --kernel "$GUEST" --initrd "$TMP/big-initrd" --memory 64 --cpus 1
fails_with 19 "missing kernel file" vmm --kernel "$TMP/nope" --memory 64 --cpus 1
fails_with 26 "memory below 64 MiB" vmm --kernel "$GUEST" --memory 32 --cpus 1
fails_with 3 "memory not a multiple of 2 MiB" vmm --kernel "$GUEST" --memory 65 --cpus 1
fails_with 20 "zero vCPUs" vmm --kernel "$GUEST" --memory 64 --cpus 0
fails_with 47 "vCPU count not a number" vmm --kernel "$GUEST" --memory 64 --cpus two
fails_with 1 "no kernel" vmm --memory 64 --cpus 1
fails_with 2 "both --kernel and --eif-path" vmm --kernel "$GUEST" --eif-path x.eif --memory 64 --cpus 1
fails_with 34 "cmdline longer than the kernel accepts" vmm --kernel "$GUEST" --memory 64 --cpus 1 \
	--cmdline "$(head -c 70000 /dev/zero | tr '\0' a)"
finish
