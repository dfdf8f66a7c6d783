#!/usr/bin/env bash
# In the hardware-KVM bed's L1 (run on request: docs/testing.md, "Open"):
# enclave -> host through Linux's vsock. A Linux enclave (carve's Linux
# blobs: Debian's kernel, carve-init and its modules) runs vsockprobe, which
# connects to CID 3 port 5005, where a host program listens (carve's Unix
# socket per port), sends a line and reads the answer. It passed twice, and
# once the program's final read never returned, so it is not in the default
# list yet.
. "$(dirname "$0")/../../lib/tap.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
PROGS=$ROOT/build/guest/progs
BLOBS=$ROOT/build/guest
export CARVE_STATE_DIR=$TMP/state
CMDLINE="console=ttyS0 reboot=k panic=-1 random.trust_cpu=on"

# ---- enclave -> host through Linux's vsock: the program connects to CID 3
# port 5005, where a host program listens (carve's Unix socket per port).
AC=$TMP/app-client
mkdir -p "$AC/rootfs/bin"
cp "$PROGS/musl/vsockprobe" "$AC/rootfs/bin/"
printf '/bin/vsockprobe\nclient\n5005\nhello-from-linux\n' >"$AC/cmd"
: >"$AC/env"
cpio_of "$AC" "$TMP/app-client.cpio"
"$CARVE" build-enclave --kernel "$BLOBS/bzImage" --cmdline "$CMDLINE" \
	--ramdisk "$BLOBS/bootstrap-initrd.img" --ramdisk "$TMP/app-client.cpio" --output-file "$TMP/client.eif" \
	>/dev/null 2>"$TMP/build.err"
export CARVE_VSOCK_DIR=$TMP/vs
mkdir -p "$CARVE_VSOCK_DIR"
"$ROOT/build/tests/tools/uds_peer" listen "$CARVE_VSOCK_DIR/port-5005.sock" >"$TMP/peer.out" 2>&1 &
peer=$!
timeout 180 "$CARVE" vmm --eif-path "$TMP/client.eif" --memory 512 --cpus 1 </dev/null 2>&1 |
	tr -d '\r' >"$TMP/client.out"
rc=${PIPESTATUS[0]}
wait $peer
same "enclave -> host: the host program got the Linux program's line" "$(cat "$TMP/peer.out")" \
	"$(printf 'ready\ngot: hello-from-linux')"
grep -q '^reply: pong: hello-from-linux' "$TMP/client.out"
tap_result $? "enclave -> host: the program got the host's answer" "$(tail_of "$TMP/client.out")"
same "carve vmm exits with the program's status (0), through carve-init" "$rc" 0

"$CARVE" terminate-enclave --all >/dev/null 2>&1
finish
