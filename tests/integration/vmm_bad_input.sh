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

# No usable KVM is E70 (KvmUnavailable), on any host: these run before
# requires_kvm. A host without it shows it as it is; everywhere, as root,
# /dev is replaced in a private mount namespace.
if [ ! -c /dev/kvm ] || [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	fails_with 70 "this host's unusable /dev/kvm is E70" vmm --kernel "$GUEST" --memory 64 --cpus 1
	mentions "  ...names the device" "/dev/kvm"
fi
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
	# A plain file named /dev/kvm: it opens, but its ioctls fail.
	fails_with 70 "/dev/kvm that is not KVM" unshare -m sh -c \
		"mount -t tmpfs none /dev && : >/dev/kvm && exec $CARVE vmm --kernel $GUEST --memory 64 --cpus 1"
	mentions "  ...says so" "/dev/kvm is not KVM"
	fails_with 70 "no /dev/kvm at all" unshare -m sh -c \
		"mount -t tmpfs none /dev && exec $CARVE vmm --kernel $GUEST --memory 64 --cpus 1"
	mentions "  ...names the device" "cannot open /dev/kvm"
else
	skip "/dev/kvm that is not KVM" "needs root and unshare -m to hide /dev/kvm"
	skip "no /dev/kvm at all" "needs root and unshare -m to hide /dev/kvm"
fi
requires_kvm

head -c 100 "$GUEST" >"$TMP/trunc-hdr.elf"
fails_with 75 "ELF cut inside its header" vmm --kernel "$TMP/trunc-hdr.elf" --memory 64 --cpus 1
mentions "  ...says truncated" "truncated"
head -c 5000 "$GUEST" >"$TMP/trunc.elf"
fails_with 75 "ELF cut inside a segment" vmm --kernel "$TMP/trunc.elf" --memory 64 --cpus 1
mentions "  ...says truncated" "truncated"

# A bzImage header by hand (setup_sects 4, "HdrS", relocatable, 64-bit entry).
put() { # file offset hex-bytes...: little-endian values are written byte by byte
	local f=$1 off=$2; shift 2
	printf "$(printf '\\x%s' "$@")" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
le32() { printf '%02x %02x %02x %02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
bz() { # file version(hex, 4 digits) init_size xloadflags
	local f=$1
	head -c $((5 * 512 + 4096)) /dev/zero >"$f"
	put "$f" $((0x1f1)) 04
	put "$f" $((0x1fe)) 55 aa eb 6a 48 64 72 53 "${2:2:2}" "${2:0:2}"
	put "$f" $((0x211)) 01
	# shellcheck disable=SC2046 # le32 prints four bytes, one per word
	put "$f" $((0x22c)) $(le32 $((0x7fffffff))) $(le32 $((0x200000))) 01 00 "$4" 00 $(le32 2047)
	# shellcheck disable=SC2046
	put "$f" $((0x260)) $(le32 "$3")
}
bz "$TMP/old.bz" 020b $((4 << 20)) 03
bz "$TMP/noxlf.bz" 020f $((4 << 20)) 00
bz "$TMP/huge.bz" 020f $((200 << 20)) 03
bz "$TMP/trunc.bz" 020f $((4 << 20)) 03
head -c 1024 "$TMP/trunc.bz" >"$TMP/t" && mv "$TMP/t" "$TMP/trunc.bz"
fails_with 75 "bzImage with boot protocol 2.11" vmm --kernel "$TMP/old.bz" --memory 64 --cpus 1
mentions "  ...names the version and the minimum" "2.11; carve needs 2.12"
fails_with 75 "bzImage without a 64-bit entry" vmm --kernel "$TMP/noxlf.bz" --memory 64 --cpus 1
mentions "  ...says why" "XLF_KERNEL_64"
fails_with 75 "bzImage cut inside its setup code" vmm --kernel "$TMP/trunc.bz" --memory 64 --cpus 1
fails_with 34 "kernel larger than guest memory" vmm --kernel "$TMP/huge.bz" --memory 64 --cpus 1
mentions "  ...says to give more memory" "more memory"
head -c 3000 /dev/urandom >"$TMP/junk"
fails_with 75 "neither ELF nor bzImage" vmm --kernel "$TMP/junk" --memory 64 --cpus 1
head -c $((70 << 20)) /dev/zero >"$TMP/big-initrd"
fails_with 34 "initrd larger than guest memory" vmm --kernel "$GUEST" --initrd "$TMP/big-initrd" --memory 64 --cpus 1
fails_with 19 "missing kernel file" vmm --kernel "$TMP/nope" --memory 64 --cpus 1
fails_with 26 "memory below 64 MiB" vmm --kernel "$GUEST" --memory 32 --cpus 1
fails_with 3 "memory not a multiple of 2 MiB" vmm --kernel "$GUEST" --memory 65 --cpus 1
fails_with 20 "zero vCPUs" vmm --kernel "$GUEST" --memory 64 --cpus 0
fails_with 47 "vCPU count not a number" vmm --kernel "$GUEST" --memory 64 --cpus two
fails_with 20 "--pin-cpus with too few CPUs" vmm --kernel "$GUEST" --memory 64 --cpus 2 --pin-cpus 0
fails_with 23 "--pin-cpus malformed" vmm --kernel "$GUEST" --memory 64 --cpus 1 --pin-cpus x
fails_with 3 "unknown --cpu-template" vmm --kernel "$GUEST" --memory 64 --cpus 1 --cpu-template fast
fails_with 3 "too many virtio slots" vmm --kernel "$GUEST" --memory 64 --cpus 1 --virtio-slots 20
refused "no kernel: a required argument" --saying "  --kernel <kernel>" vmm --memory 64 --cpus 1
refused "both --kernel and --eif-path: a conflict" --saying "cannot be used with" vmm --kernel "$GUEST" --eif-path x.eif --memory 64 --cpus 1
fails_with 34 "cmdline longer than the kernel accepts" vmm --kernel "$GUEST" --memory 64 --cpus 1 \
	--cmdline "$(head -c 70000 /dev/zero | tr '\0' a)"

# A VMM short of file descriptors fails at each step with that step's code
# (eventfds: E74, /dev/kvm: E70, vCPUs: E73; guest memory is anonymous
# memory, which takes none), never with E00 or a crash; with enough it boots. The release build: the sanitizers'
# own descriptors would shift the steps. Exit 127 is the dynamic loader's,
# short of one for a library, before carve runs: not counted.
codes=" "
for n in $(seq 3 60); do
	# Redirected outside: bash itself needs descriptors for a redirection.
	(ulimit -n "$n" && exec "$CARVE_RELEASE" vmm --kernel "$GUEST" --memory 64 --cpus 2) \
		</dev/null >/dev/null 2>"$TMP/fd.err"
	rc=$?
	[ "$rc" -eq 0 ] && break
	[ "$rc" -eq 127 ] && continue
	case "$rc" in
	70 | 72 | 73 | 74) grep -q "\[ E$rc \]" "$TMP/fd.err" || rc="$rc-without-[E$rc]" ;;
	esac
	case "$codes" in *" $rc "*) ;; *) codes="$codes$rc " ;; esac
done
same "fd starvation: the steps' codes, then a boot" "$codes:$rc" " 74 70 73 :0"
# Short of address space (ulimit -v), guest memory cannot be mapped: E72.
(ulimit -v 400000 && exec "$CARVE_RELEASE" vmm --kernel "$GUEST" --memory 1024 --cpus 1) \
	</dev/null >/dev/null 2>"$TMP/as.err"
rc=$?
grep -q '\[ E72 \] GuestMemoryError.*cannot map guest memory' "$TMP/as.err"
same "no address space for guest memory: E72, saying so" "$rc:$?" "72:0"
finish
