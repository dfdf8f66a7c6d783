#!/usr/bin/env bash
# The carve kernel locks itself (issue 18, docs/vmm.md § The guest's lock
# device): after boot it makes its text, read-only data (the system-call
# table), IDT and GDT read-only for good through the VMM's lock device and
# seals, which measures the locked map into NSM PCR31. Checked from the
# host:
#   - the locked ranges are exactly the kernel ELF's (its symbols, read here
#     with Python), and a boot with the lock on writes nothing there
#     (policy stop, 0 violations);
#   - a program using the test-only write primitive (carve.test_write_
#     primitive) on kernel text: with policy stop the enclave stops (E76)
#     and the event log says where (GPA, vCPU, RIP inside the kernel); with
#     refuse the program reads back the old bytes; with carve.selflock=0
#     the write lands (the check can fail); without the switch there is no
#     such call;
#   - the attestation document of a locked enclave verifies, and its PCR31
#     is SHA-384(0^48 || D), D recomputed here from the ELF's symbols and,
#     for a running enclave (run-enclave), from describe-protection's
#     per-page lock masks, independently of the VMM's code.
# Every guest run is bounded by `timeout`.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm

KERNEL=$ROOT/build/guest/carve-kernel.elf
PROGS=$ROOT/build/guest/progs
CARVE=${CARVE:-$ROOT/build/bin/carve}
why=
[ -f "$KERNEL" ] || why="build/guest/carve-kernel.elf is not built (make kernel)"
[ -x "$PROGS/musl/selfwrite" ] || why=${why:-"the test programs are not built (make kernel-progs)"}
command -v python3 >/dev/null || why=${why:-"no python3 to read the kernel's symbols and recompute the digest"}
if [ -n "$why" ]; then
	skip "the carve kernel's self-lock" "$why"
	finish
fi

export CARVE_STATE_DIR=$TMP/state CARVE_VSOCK_DIR=$TMP/vs
mkdir -p "$CARVE_VSOCK_DIR" "$TMP/rootfs/bin"
cp "$PROGS"/musl/{hello,selfwrite,nsmprobe} "$TMP/rootfs/bin/"

# What the kernel must lock, from its ELF: [__kernel_start, __locked_end),
# text, rodata and the pages of idt_copy and gdt_copy, as physical
# addresses (the image runs at KERNEL_VBASE + its load address); the digest of that map and
# the PCR it makes. Lines: "range START LEN", "kmain ADDR", "digest D",
# "pcr P".
python3 - "$KERNEL" >"$TMP/expect" <<'EOF'
import hashlib, struct, sys
data = open(sys.argv[1], "rb").read()
shoff, = struct.unpack_from("<Q", data, 0x28)
shentsize, shnum = struct.unpack_from("<HH", data, 0x3a)
secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
syms = {}
for s in secs:
    if s[1] != 2:  # SHT_SYMTAB
        continue
    strtab = secs[s[6]]
    for off in range(s[4], s[4] + s[5], 24):
        name, _, _, _, value, size = struct.unpack_from("<IBBHQQ", data, off)
        end = data.index(b"\0", strtab[4] + name)
        syms[data[strtab[4] + name:end].decode()] = (value, size)
VBASE = 0xffffffff80000000
ranges = [(syms["__kernel_start"][0] - VBASE, syms["__locked_end"][0] - syms["__kernel_start"][0])]
for t in ("idt_copy", "gdt_copy"):  # the tables' pages lie inside it (kernel.ld's .locked)
    assert syms[t][1] == 4096 and syms["__kernel_start"][0] <= syms[t][0] < syms["__locked_end"][0], t
masks = {}
for start, length in ranges:
    assert start % 4096 == 0 and length % 4096 == 0, (start, length)
    for page in range(start >> 12, (start + length) >> 12):
        masks[page] = 0xffffffff
    print("range 0x%x 0x%x" % (start, length))
h = hashlib.sha384(b"CARVE-SUBPAGE-LOCK-1")
for gfn in sorted(masks):
    h.update(struct.pack("<QI", gfn, masks[gfn]))
d = h.digest()
print("kmain 0x%x" % syms["kmain"][0])
print("digest", d.hex())
print("pcr", hashlib.sha384(bytes(48) + d).hexdigest())
print("pages", len(masks))
EOF
tap_result $? "the kernel's lock ranges and digest from its ELF symbols" "$TMP/expect"
expect() { sed -n "s/^$1 //p" "$TMP/expect"; }
KMAIN=$(expect kmain)
DIGEST=$(expect digest)
PCR=$(expect pcr)

# eif NAME CMD CMDLINE-EXTRA
eif() {
	"$CARVE" build-enclave --kernel "$KERNEL" --cmdline "console=ttyS0 $3" --rootfs "$TMP/rootfs" --cmd "$2" \
		--output-file "$TMP/$1.eif" >"$TMP/build.log" 2>&1
}
# boot NAME POLICY [CPUS]: runs it; console in NAME.out, errors in NAME.err, events in NAME.log
# (this run's only); prints the status.
boot() {
	rm -f "$TMP/$1.log"
	timeout 120 "$CARVE" vmm --eif-path "$TMP/$1.eif" --memory 256 --cpus "${3:-1}" --subpage-policy "$2" \
		--event-log "$TMP/$1.log" </dev/null >"$TMP/$1.out" 2>"$TMP/$1.err"
	echo $?
}

# ---- a locked boot writes nothing it locked
eif hello /bin/hello ""
same "locked, policy stop: hello runs to its end" "$(boot hello stop)|$(grep -c '^hello from carve' "$TMP/hello.out")" "0|1"
for r in $(expect range | tr ' ' ,); do
	start=${r%,*} len=${r#*,}
	same "event log: $start+$len locked by the guest" \
		"$(grep -c "guest lock: $start+$len (pages .*) is read-only for good, by vCPU 0" "$TMP/hello.log")" 1
done
same "event log: sealed, $(expect pages) pages, the ELF's digest, into PCR31" \
	"$(grep -c "guest lock sealed by vCPU 0: $(expect pages) page(s) locked, digest $DIGEST, measured into PCR31" "$TMP/hello.log")" 1
same "event log: no write to a locked page" \
	"$(grep -c 'sub-page protection: 0 write(s) applied, 0 violation(s)' "$TMP/hello.log")" 1

# Another vCPU (an AP waiting for its SIPI in KVM_RUN) is kicked out and
# parked while the slots change, then runs on.
cp "$TMP/hello.eif" "$TMP/hello2.eif"
same "locked with 2 vCPUs: the other is held out while slots change, hello runs" \
	"$(boot hello2 stop 2)|$(grep -c '^hello from carve' "$TMP/hello2.out")|$(grep -c 'guest lock' "$TMP/hello2.log")" "0|1|2"

# ---- the planted write primitive on kernel text (kmain: never runs again)
gpa=$(printf '0x%x' $((KMAIN - 0xffffffff80000000)))
eif prim "/bin/selfwrite ${KMAIN#0x}" "carve.test_write_primitive"
same "primitive, policy stop: the enclave stops (E76)" "$(boot prim stop)" 76
same "primitive, policy stop: the old bytes were read, nothing after the write" \
	"$(grep -c '^selfwrite: before' "$TMP/prim.out")|$(grep -c '^selfwrite: after' "$TMP/prim.out")" "1|0"
grep -q "the VM stopped (write-protect): a [0-9]*-byte write at $gpa to protected sub-page [0-9]* of page 0x[0-9a-f]* by vCPU 0, rip 0xffffffff80[0-9a-f]* (past the write)" "$TMP/prim.err"
tap_result $? "primitive, policy stop: the reason says GPA $gpa, vCPU 0, RIP" "$TMP/prim.err"
rip=$(sed -n "s/.*write-protect violation: [0-9]* byte(s) at $gpa (page .*) by vCPU 0, rip \(0x[0-9a-f]*\) (past the write): stopping the VM$/\1/p" "$TMP/prim.log")
ks=$(expect range | head -1 | cut -d' ' -f1) kl=$(expect range | head -1 | cut -d' ' -f2)
same "primitive, policy stop: the event log names the write's RIP, inside the kernel's text" \
	"$([ -n "$rip" ] && [ $((rip - 0xffffffff80000000)) -ge $((ks)) ] && [ $((rip - 0xffffffff80000000)) -lt $((ks + kl)) ] && echo inside)" inside

same "primitive, policy refuse: the program runs on" "$(boot prim refuse)" 0
same "primitive, policy refuse: it reads back the old bytes" "$(grep -c '^selfwrite: refused, old bytes$' "$TMP/prim.out")" 1
same "primitive, policy refuse: before == after" \
	"$(sed -n 's/^selfwrite: before //p' "$TMP/prim.out")" "$(sed -n 's/^selfwrite: after //p' "$TMP/prim.out")"
same "primitive, policy refuse: the violation is logged and counted" \
	"$(grep -c "write-protect violation: .* at $gpa .* by vCPU 0, rip 0xffffffff80[0-9a-f]* (past the write): refused" "$TMP/prim.log")|$(grep -c 'sub-page protection: 0 write(s) applied, [1-9][0-9]* violation(s)$' "$TMP/prim.log")" "1|1"

eif open "/bin/selfwrite ${KMAIN#0x}" "carve.test_write_primitive carve.selflock=0"
same "carve.selflock=0: the same write lands on the kernel's text" "$(boot open stop)|$(grep -c '^selfwrite: written$' "$TMP/open.out")" "0|1"
same "carve.selflock=0: nothing locked" "$(grep -c 'guest lock' "$TMP/open.log")" 0

eif noprim "/bin/selfwrite ${KMAIN#0x}" ""
same "without carve.test_write_primitive: no such system call" \
	"$(boot noprim stop)|$(grep -c '^selfwrite: no primitive$' "$TMP/noprim.out")" "2|1"

# ---- attestation: PCR31 of a locked enclave
"$CARVE" attestation-root >"$TMP/root.pem" 2>/dev/null
doc() { # NAME: the document nsmprobe printed, as CBOR in NAME.cbor
	printf '%b' "$(sed -n 's/^document //p' "$TMP/$1.out" | tr -d '\r\n' | sed 's/../\\x&/g')" >"$TMP/$1.cbor"
}
eif att /bin/nsmprobe ""
boot att stop >/dev/null
doc att
ok "locked: the attestation document verifies against carve's root" \
	"$CARVE" verify-attestation --document "$TMP/att.cbor" --root "$TMP/root.pem" --nonce 0102030405060708
ok "locked: its PCR31 is SHA-384(0^48 || D), D recomputed from the kernel's ELF" \
	"$CARVE" verify-attestation --document "$TMP/att.cbor" --root "$TMP/root.pem" --pcr "31=$PCR"
fails_with 59 "locked: any other PCR31 value is refused" \
	"$CARVE" verify-attestation --document "$TMP/att.cbor" --root "$TMP/root.pem" --pcr "31=$DIGEST"
eif att0 /bin/nsmprobe "carve.selflock=0"
boot att0 stop >/dev/null
doc att0
ok "carve.selflock=0: PCR31 stays zero" \
	"$CARVE" verify-attestation --document "$TMP/att0.cbor" --root "$TMP/root.pem" --pcr "31=$(printf '0%.0s' $(seq 96))"

# ---- a running enclave: describe-protection's masks give the same digest
eif sleeper "/bin/selfwrite sleep 300" ""
ok "run-enclave: a locked enclave starts" timeout 120 "$CARVE" run-enclave --eif-path "$TMP/sleeper.eif" \
	--cpu-count 1 --memory 256 --enclave-name selflock
# The kernel locks itself just after the heartbeat (its devices' gates set
# first), which is when run-enclave returns: wait for the seal.
for _ in $(seq 100); do
	"$CARVE" describe-protection --enclave-name selflock >"$TMP/dp" 2>&1
	grep -q '"Sealed": true' "$TMP/dp" && break
	sleep 0.2
done
same "describe-protection: sealed into PCR31, the ELF's digest" \
	"$(tr -d ' \n' <"$TMP/dp" | grep -o '"GuestLock":{[^}]*}')" \
	"\"GuestLock\":{\"LockedPages\":$(expect pages),\"Sealed\":true,\"PCR\":31,\"Digest\":\"$DIGEST\"}"
# Each run of protected pages, its Locked masks, then the digest in Python.
: >"$TMP/masks"
for run in $(tr -d ' \n' <"$TMP/dp" | grep -o '{"Gfn":"0x[0-9a-f]*","Pages":[0-9]*}' | sed 's/{"Gfn":"\(0x[0-9a-f]*\)","Pages":\([0-9]*\)}/\1,\2/'); do
	"$CARVE" describe-protection --enclave-name selflock --gfn "${run%,*}" --pages "${run#*,}" >>"$TMP/masks" 2>&1
done
got=$(python3 - "$TMP/masks" <<'EOF'
import hashlib, json, struct, sys
text = open(sys.argv[1]).read()
dec, pos, h = json.JSONDecoder(), 0, hashlib.sha384(b"CARVE-SUBPAGE-LOCK-1")
while pos < len(text):
    if text[pos].isspace():
        pos += 1
        continue
    o, pos = dec.raw_decode(text, pos)
    for i, m in enumerate(o["Locked"]):
        if int(m, 16):
            h.update(struct.pack("<QI", int(o["Gfn"], 16) + i, int(m, 16)))
print(h.hexdigest())
EOF
)
same "describe-protection's lock masks, hashed here, give the sealed digest" "$got" "$DIGEST"
ok "terminate it" "$CARVE" terminate-enclave --enclave-name selflock

finish
