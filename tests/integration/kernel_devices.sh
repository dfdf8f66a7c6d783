#!/usr/bin/env bash
# The carve enclave kernel's devices end to end: EIFs built with
# `carve build-enclave --rootfs` boot with `carve vmm --eif-path`, which gives
# them virtio-vsock and virtio-nsm. Checked from the host: the boot
# heartbeat is echoed (the VMM reports it), /dev/nsm answers DescribeNSM,
# GetRandom and Attestation (the document verifies against carve's root with
# the nonce the program sent), and vsock streams work both ways (line round
# trips, 1 MB each way through credit flow control) with a small C helper on
# the host's Unix sockets (tests/tools/uds_peer.c, docs/vsock.md).
# Every guest run is bounded by `timeout`.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm

KERNEL=$ROOT/build/guest/carve-kernel.elf
PROGS=$ROOT/build/guest/progs
CARVE=${CARVE:-$ROOT/build/bin/carve}

why=
"$CARVE" vmm --help 2>&1 | grep -q -- '--eif-path' || why="carve has no 'vmm --eif-path'"
[ -f "$KERNEL" ] || why=${why:-"build/guest/carve-kernel.elf is not built (make kernel)"}
[ -x "$PROGS/musl/vsockprobe" ] || why=${why:-"the test programs are not built (make kernel-progs)"}
PEER=$ROOT/build/tests/tools/uds_peer
[ -x "$PEER" ] || why=${why:-"the host helper is not built (make tests)"}
if [ -n "$why" ]; then
	skip "carve enclave kernel devices" "$why"
	finish
fi

export CARVE_STATE_DIR=$TMP/state CARVE_VSOCK_DIR=$TMP/vs
mkdir -p "$CARVE_VSOCK_DIR"
RFS=$TMP/rootfs
mkdir -p "$RFS/bin"
cp "$PROGS"/musl/{hello,nsmprobe,vsockprobe} "$RFS/bin/"
cp "$PROGS/glibc/nsmprobe" "$RFS/bin/gnsmprobe"
cp "$PROGS/glibc/vsockprobe" "$RFS/bin/gvsockprobe"

# eif NAME CMD [CMDLINE]: builds $TMP/NAME.eif running CMD with this tree's kernel.
eif() {
	"$CARVE" build-enclave --kernel "$KERNEL" --cmdline "${3:-console=ttyS0}" --rootfs "$RFS" --cmd "$2" \
		--output-file "$TMP/$1.eif" >"$TMP/build.log" 2>&1
}
# boot NAME: runs it; console and VMM messages in $TMP/NAME.out.
boot() {
	timeout 120 "$CARVE" vmm --eif-path "$TMP/$1.eif" --memory 256 --cpus 1 >"$TMP/$1.out" 2>&1
	echo $? >"$TMP/$1.rc"
}
status() { sed -n 's/^carve: exit status \([0-9]*\)$/\1/p' "$TMP/$1.out" | tail -1 | grep . || echo none; }
# Each "ok X" / "FAIL X" line of a probe as a TAP result.
results() {
	while read -r line; do
		case $line in
		"ok "*) tap_result 0 "$2: ${line#ok }" ;;
		"FAIL "*) echo "# $line"; tap_result 1 "$2: ${line#FAIL }" ;;
		esac
	done < <(grep -a -E '^(ok|FAIL) ' "$TMP/$1.out")
}
# wait_for NAME TEXT: until the guest printed TEXT (at most 60 s).
wait_for() { wait_for_line "$TMP/$1.out" "$2" 60; }

# ---- the heartbeat
eif hello /bin/hello "console=ttyS0 carve.debug"
boot hello
grep -q '^vmm: heartbeat ok' "$TMP/hello.out"
tap_result $? "the heartbeat reaches the VMM and is echoed before the program runs" "$TMP/hello.out"
same "the program runs after the heartbeat" "$(grep -c '^hello from carve' "$TMP/hello.out")|$(status hello)" "1|0"
grep -q '^carve: virtio: [1-9][0-9]* device interrupts' "$TMP/hello.out"
tap_result $? "the drivers wait for device interrupts (counted in debug mode)" "$TMP/hello.out"
grep -q '^carve: virtio device 19 at 0x[0-9a-f]*, GSI [0-9]*$' "$TMP/hello.out" &&
	grep -q '^carve: virtio device 33 at 0x[0-9a-f]*, GSI [0-9]*$' "$TMP/hello.out"
tap_result $? "both devices probed: vsock (19) and NSM (33)" "$TMP/hello.out"

# ---- /dev/nsm
for p in nsmprobe gnsmprobe; do
	eif $p /bin/$p
	boot $p
	results $p "$p"
	same "$p: exit status 0" "$(status $p)" "0"
done
grep -q '^module_id i-carve-vmm-enc[0-9a-f]*$' "$TMP/nsmprobe.out"
tap_result $? "DescribeNSM's module_id is the VM's" "$TMP/nsmprobe.out"
# hex to bytes with printf alone (no xxd on a minimal machine)
printf '%b' "$(sed -n 's/^document //p' "$TMP/nsmprobe.out" | tr -d '\r\n' | sed 's/../\\x&/g')" >"$TMP/doc.cbor"
"$CARVE" attestation-root >"$TMP/root.pem" 2>/dev/null
ok "the attestation document verifies against carve's root with the program's nonce" \
	"$CARVE" verify-attestation --document "$TMP/doc.cbor" --root "$TMP/root.pem" --nonce 0102030405060708
"$CARVE" verify-attestation --document "$TMP/doc.cbor" --root "$TMP/root.pem" --nonce 0102030405060709 \
	>"$TMP/out" 2>&1
tap_result $((! $?)) "... and not with another nonce" "$TMP/out"
pcr0=$("$CARVE" describe-eif --eif-path "$TMP/nsmprobe.eif" 2>/dev/null | sed -n 's/.*"PCR0": "\([0-9a-f]*\)".*/\1/p')
"$CARVE" verify-attestation --document "$TMP/doc.cbor" --root "$TMP/root.pem" --pcr "0=$pcr0" >"$TMP/out" 2>&1
tap_result $? "... and its PCR0 is the image's" "$TMP/out"

# ---- vsock
for p in vsockprobe gvsockprobe; do
	eif $p-errors "/bin/$p errors"
	boot $p-errors
	results $p-errors "$p errors"
	same "$p errors: exit status 0" "$(status $p-errors)" "0"
done

"$PEER" listen "$CARVE_VSOCK_DIR/port-5005.sock" >"$TMP/peer.out" 2>&1 &
peer=$!
eif client "/bin/vsockprobe client 5005 hello-from-enclave"
boot client
wait $peer
results client "vsock client"
same "enclave -> host: the host got the line" "$(cat "$TMP/peer.out")" "$(printf 'ready\ngot: hello-from-enclave')"
same "enclave -> host: the enclave got the answer" "$(grep '^reply:' "$TMP/client.out")" "reply: pong: hello-from-enclave"

"$PEER" listen "$CARVE_VSOCK_DIR/port-5010.sock" >"$TMP/peer.out" 2>&1 &
peer=$!
eif intr "/bin/vsockprobe intr 5010"
boot intr
wait $peer
results intr "vsock signals"
same "vsock signals: exit status 0" "$(status intr)" "0"

eif server "/bin/vsockprobe server 5000"
boot server &
vm=$!
wait_for server '^listening 5000'
sock=$(ls "$CARVE_VSOCK_DIR"/cid-*.sock 2>/dev/null | head -1)
timeout 60 "$PEER" connect "$sock" 5000 ping-from-host >"$TMP/peer.out" 2>&1
wait $vm
results server "vsock server"
same "host -> enclave: the enclave got the line" "$(grep '^got:' "$TMP/server.out")" "got: ping-from-host"
same "host -> enclave: the host got the answer, then end of stream" "$(cat "$TMP/peer.out")" "echo: ping-from-host"

"$PEER" listen "$CARVE_VSOCK_DIR/port-5006.sock" 1048576 >"$TMP/peer.out" 2>&1 &
peer=$!
eif bulk "/bin/vsockprobe bulk 5006 1048576"
boot bulk
wait $peer
results bulk "vsock bulk"
same "1 MiB enclave -> slow host reader, all delivered" "$(tail -1 "$TMP/peer.out")" "received 1048576"

"$PEER" listen "$CARVE_VSOCK_DIR/port-5007.sock" 100001 >"$TMP/peer.out" 2>&1 &
peer=$!
eif fire "/bin/vsockprobe fire 5007 100000"
boot fire
wait $peer
same "a program that writes 100 kB and exits at once: the host gets every byte" "$(tail -1 "$TMP/peer.out")|$(status fire)" "received 100001|0"

"$PEER" serve "$CARVE_VSOCK_DIR/port-5008.sock" 40 >"$TMP/peer.out" 2>&1 &
peer=$!
eif many "/bin/vsockprobe many 5008 40"
boot many
wait $peer
same "40 connections one after another (ports and closed connections reclaimed)" \
	"$(grep '^many:' "$TMP/many.out")|$(tail -1 "$TMP/peer.out")|$(status many)" "many: 40 of 40 round trips|served 40|0"

# Churn in a small enclave: each connection's ring is a multi-page block the
# kernel must reuse; before it did, 64 MiB ran out after ~3,000 connections.
"$PEER" serve "$CARVE_VSOCK_DIR/port-5009.sock" 5000 >"$TMP/peer.out" 2>&1 &
peer=$!
eif churn "/bin/vsockprobe many 5009 5000"
timeout 600 "$CARVE" vmm --eif-path "$TMP/churn.eif" --memory 64 --cpus 1 >"$TMP/churn.out" 2>&1
wait $peer
same "5,000 connections one after another in 64 MiB (connection memory reused)" \
	"$(grep '^many:' "$TMP/churn.out")|$(tail -1 "$TMP/peer.out")|$(status churn)" \
	"many: 5000 of 5000 round trips|served 5000|0"

eif sink "/bin/vsockprobe sink 5001"
boot sink &
vm=$!
wait_for sink '^listening 5001'
sock=$(ls "$CARVE_VSOCK_DIR"/cid-*.sock 2>/dev/null | head -1)
timeout 60 "$PEER" send "$sock" 5001 1000000 >"$TMP/peer.out" 2>&1
wait $vm
results sink "vsock sink"
sent=$(sed -n 's/^sent //p' "$TMP/peer.out")
same "1 MB host -> enclave, same bytes (count and checksum)" "$(sed -n 's/^sink got //p' "$TMP/sink.out")" "${sent:-nothing sent}"
same "vsock sink: exit status 0" "$(status sink)" "0"

# The VMM itself must survive every run (a crash at VM stop with vsock data
# in flight was fixed on the host side: devices stop before guest memory goes).
bad=$(for f in "$TMP"/*.rc; do [ "$(cat "$f")" = 0 ] || echo "$(basename "$f" .rc):$(cat "$f")"; done | tr '\n' ' ')
same "every VMM run exited with status 0" "$bad" ""

finish
