#!/usr/bin/env bash
# In the hardware-KVM bed's L1: carve's vhost-vdpa control plane
# (src/vhost/vdpa.c, iotlb.c) against a real /dev/vhost-vdpa-N. No vDPA
# vsock device exists (docs/vsock.md, "vDPA"), so the device is a virtio-blk
# RAM disk served from user space through VDUSE (tests/tools/vduse_blk.c),
# put on the vdpa bus with iproute2's vdpa and bound to vhost_vdpa:
#   - before the modules load, and with them but no device, carve's error
#     says what to do;
#   - VDUSE refuses a device of the vsock type (measured, for the docs);
#   - opened as vsock, the block device is refused by type;
#   - tests/tools/vdpa_blk_check drives it through src/vhost/ only: IOTLB
#     mapping of a memfd at an IOVA, one ring, writes read back, a read past
#     the end refused, whole-disk passes timed, reset, nothing left behind;
#     twice, so the second run also shows the first left the device usable;
#   - with the device flipping a bit in every read, the check fails;
#   - the daemon saw the data and ended with no IOTLB mapping left.
. "$(dirname "$0")/../../lib/tap.sh"
cd "$TMP" || exit 1
MODS=/usr/lib/hwkvm/vdpa-modules
BB=${CARVE_BUSYBOX:-busybox} # insmod and dmesg: L1 has no kmod
TOOLS=$(dirname "$(dirname "$CARVE")")/tests/tools
CHECK=$TOOLS/vdpa_blk_check
DAEMON=$TOOLS/vduse_blk
DEV=/dev/vhost-vdpa-0
NAME=carve-blk0

if [ ! -f "$MODS/order" ] || [ "${HWKVM:-0}" != 1 ]; then
	skip "vhost-vdpa against a VDUSE device" "only in the hardware-KVM bed's L1 (its image has the vDPA modules)"
	finish
fi
command -v vdpa >/dev/null || { skip "vhost-vdpa against a VDUSE device" "no iproute2 vdpa in this L1 image"; finish; }
daemon=""
stop_daemon() {
	[ -n "$daemon" ] || return 0
	vdpa dev del "$NAME" >/dev/null 2>&1
	kill -TERM "$daemon" 2>/dev/null
	wait "$daemon" 2>/dev/null
	daemon=""
}
trap 'stop_daemon; tap_cleanup' EXIT

# ---- no modules: the error names the one to load ---------------------------
timeout 30 "$CHECK" "$DEV" >nomod.out 2>&1
rc=$?
same "no vhost_vdpa module: vdpa_blk_check fails (exit 2)" "$rc" 2
ok "  ...saying: modprobe vhost_vdpa" grep -q 'the vhost_vdpa kernel module is not loaded (as root: modprobe vhost_vdpa)' nomod.out

# ---- the modules, in dependency order (vhost and irqbypass are loaded) ------
loaded=0
while read -r m; do
	[ -d "/sys/module/$m" ] && continue
	"$BB" insmod "$MODS/$m.ko" >>insmod.out 2>&1 || loaded=1
done <"$MODS/order"
same "vdpa, vhost_iotlb, vduse and vhost_vdpa load" "$loaded" 0
for _ in $(seq 50); do [ -c /dev/vduse/control ] && break; sleep 0.1; done
ok "  .../dev/vduse/control is there" test -c /dev/vduse/control
timeout 30 "$CHECK" "$DEV" >nodev.out 2>&1
ok "the module but no device: the error says none is bound" grep -q 'vhost_vdpa is loaded but no vDPA device is bound' nodev.out

# ---- what VDUSE takes: block yes, vsock no -----------------------------------
timeout 30 "$DAEMON" --probe-type 19 carve-probe-vsock >probe-vsock.out 2>&1
echo "# vsock (virtio id 19): $(cat probe-vsock.out)"
ok "VDUSE refuses to create a vsock device (virtio id 19)" grep -q '^refused: VDUSE_CREATE_DEV for virtio type 19: Invalid argument' probe-vsock.out
timeout 30 "$DAEMON" --probe-type 2 carve-probe-blk >probe-blk.out 2>&1
ok "  ...and creates a block device (virtio id 2)" grep -q '^created' probe-blk.out

# ---- the VDUSE virtio-blk device, on the vdpa bus, bound to vhost_vdpa -------
"$DAEMON" "$NAME" 8 >daemon.out 2>daemon.err &
daemon=$!
for _ in $(seq 100); do grep -q '^ready' daemon.out && break; sleep 0.1; done
ok "the VDUSE daemon serves /dev/vduse/$NAME (8 MiB)" grep -q "^ready /dev/vduse/$NAME 8 MiB" daemon.out
timeout 30 vdpa dev add name "$NAME" mgmtdev vduse >add.out 2>&1
tap_result $? "vdpa dev add name $NAME mgmtdev vduse" add.out
for _ in $(seq 100); do [ -c "$DEV" ] && break; sleep 0.1; done
ok "  ...$DEV appears (vhost_vdpa bound it)" test -c "$DEV"
echo "# $(vdpa dev show "$NAME" 2>&1 | tr '\n' ' ')"

timeout 60 "$CHECK" --want vsock "$DEV" >wrongtype.out 2>&1
rc=$?
same "opened as vsock, the block device is refused (exit 2)" "$rc" 2
ok "  ...naming both types" grep -q "$DEV is a virtio block device (id 2), not the vsock device (id 19)" wrongtype.out

for run in 1 2; do
	timeout 300 "$CHECK" "$DEV" >check$run.out 2>&1
	rc=$?
	sed -n 's/^\(opened\|features\|capacity\|DRIVER_OK\|device id\|measure\|fds\)/# run '"$run"': \1/p' check$run.out
	same "run $run: vdpa_blk_check passes through carve's vhost-vdpa control plane" "$rc" 0
	for what in "GET_ID answered through the ring" \
		"4 writes in flight at once" \
		"the data read back is the data written" \
		"a read past the last sector is refused with IOERR" \
		"sequential writes of the whole disk" \
		"the last 64 KiB of the sequential pass reads back as written" \
		"after the reset the device's status is 0" \
		"torn down: no fd left open" \
		"torn down: the memory region is not mapped any more"; do
		grep -q "^ok $what" check$run.out
		tap_result $? "  ...$what" check$run.out
	done
done

# ---- the check notices a broken data path -------------------------------------
kill -USR1 "$daemon"
sleep 0.5
timeout 300 "$CHECK" "$DEV" >broken.out 2>&1
rc=$?
same "reads corrupted by the device: vdpa_blk_check fails (exit 1)" "$rc" 1
ok "  ...saying the data read back differs" grep -q '^FAIL the data read back is the data written' broken.out

# ---- off the bus; the daemon's own account -----------------------------------
timeout 30 vdpa dev del "$NAME" >del.out 2>&1
tap_result $? "vdpa dev del $NAME" del.out
for _ in $(seq 50); do [ -e "$DEV" ] || break; sleep 0.1; done
ok "  ...$DEV is gone" test ! -e "$DEV"
kill -TERM "$daemon" 2>/dev/null
timeout 30 tail --pid="$daemon" -f /dev/null
wait "$daemon"
rc=$?
daemon=""
grep -v '^vduse_blk: status' daemon.err | sed 's/^/# /'
same "the daemon exits 0 (nothing broken, device destroyed)" "$rc" 0
summary=$(grep 'vduse_blk: served' daemon.err)
ok "  ...it saw reads and writes" test "$(echo "$summary" | sed -n 's/.* reads=\([0-9]*\) writes=\([0-9]*\) .*/\1 \2/p' | awk '$1 > 1000 && $2 > 100 { print "y" }')" = y
ok "  ...it refused exactly the three reads past the end" grep -q ' bad=3 ' daemon.err
ok "  ...and no IOTLB mapping was left when it ended" grep -q 'maps_live_at_exit=0 destroyed=yes' daemon.err
"$BB" dmesg | grep -i 'vduse\|vdpa' | tail -5 | sed 's/^/# dmesg: /'

finish
