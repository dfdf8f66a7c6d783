#!/usr/bin/env bash
# In the hardware-KVM bed's L1 (tests/hwkvm/run.sh): Debian's stock cloud
# kernel under carve, to user space and back.
#   - the bzImage with 2 vCPUs and the vmlinux (ELF) with 2 vCPUs, each with
#     a busybox initramfs: both CPUs up, /init runs, the VM powers off cleanly;
#   - a Linux EIF laid out as nitro-cli does (bootstrap ramdisk: init and the
#     modules; application ramdisk: rootfs/, cmd, env): Linux's own
#     virtio_mmio, vsock, vmw_vsock_virtio_transport and nsm drivers bind to
#     carve's devices (found through ACPI), /dev/nsm answers, and the
#     attestation document verifies against describe-eif's PCR0.
# Needs what the bed provides: HWKVM_BZIMAGE, HWKVM_VMLINUX,
# HWKVM_ENCLAVE_MODULES, CARVE_BUSYBOX and a KVM that runs guest kernels.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/vsock_ask.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
PROGS=$ROOT/build/guest/progs
for v in HWKVM_BZIMAGE HWKVM_VMLINUX HWKVM_ENCLAVE_MODULES CARVE_BUSYBOX; do
	if [ -z "${!v:-}" ]; then
		echo "Bail out! $v is not set: run this in the bed (tests/hwkvm/run.sh --tests hwkvm/l1/linux)"
		exit 1
	fi
done
export CARVE_STATE_DIR=$TMP/state
CMDLINE="console=ttyS0 reboot=k panic=-1 random.trust_cpu=on"

# The last console lines, for a failure's diagnostics (a boot log's first
# lines say nothing about why it failed).


# ---- bzImage and vmlinux to user space with 2 vCPUs
I=$TMP/initrd
mkdir -p "$I/bin" "$I/proc" "$I/sys" "$I/dev"
cp "$CARVE_BUSYBOX" "$I/bin/busybox"
cat >"$I/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
echo "l2: user space, $(/bin/busybox grep -c ^processor /proc/cpuinfo) CPUs online: $(/bin/busybox cat /sys/devices/system/cpu/online 2>/dev/null)"
/bin/busybox poweroff -f
EOF
chmod 755 "$I/init"
cpio_of "$I" "$TMP/initrd.cpio"

for kind in bzImage vmlinux; do
	if [ $kind = bzImage ]; then kernel=$HWKVM_BZIMAGE; else kernel=$HWKVM_VMLINUX; fi
	timeout 180 "$CARVE" vmm --kernel "$kernel" --initrd "$TMP/initrd.cpio" --memory 256 --cpus 2 \
		--cmdline "$CMDLINE" </dev/null 2>"$TMP/$kind.err" | tr -d '\r' >"$TMP/$kind.out"
	rc=${PIPESTATUS[0]}
	cat "$TMP/$kind.err" >>"$TMP/$kind.out"
	same "$kind: powers off cleanly (carve vmm exits 0)" "$rc" 0
	grep -q 'smp: Brought up 1 node, 2 CPUs' "$TMP/$kind.out"
	tap_result $? "$kind: Linux brings up both vCPUs" "$(tail_of "$TMP/$kind.out")"
	grep -q '^l2: user space, 2 CPUs online: 0-1' "$TMP/$kind.out"
	tap_result $? "$kind: /init runs in user space and sees 2 CPUs" "$(tail_of "$TMP/$kind.out")"
	grep -q 'reboot: Power down' "$TMP/$kind.out"
	tap_result $? "$kind: the kernel powered down (ACPI S5)" "$(tail_of "$TMP/$kind.out")"
done

# ---- a Linux EIF: Linux's own drivers on carve's virtio-mmio devices
B=$TMP/bootstrap A=$TMP/app
mkdir -p "$B/bin" "$B/dev" "$B/proc" "$B/sys" "$B/lib/modules" "$A/rootfs/bin"
cp "$CARVE_BUSYBOX" "$B/bin/busybox"
while read -r m; do cp "$HWKVM_ENCLAVE_MODULES/$m.ko" "$B/lib/modules/"; done <"$HWKVM_ENCLAVE_MODULES/order"
cp "$HWKVM_ENCLAVE_MODULES/order" "$B/lib/modules/order"
cat >"$B/init" <<'EOF'
#!/bin/busybox sh
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
for m in $($bb cat /lib/modules/order); do
	$bb insmod /lib/modules/$m.ko && echo "l2: loaded $m"
done
$bb sleep 1
for d in /sys/bus/virtio/devices/*; do
	echo "l2: virtio $($bb basename $d) device $($bb cat $d/device) driver $($bb basename $($bb readlink $d/driver))"
done
[ -c /dev/nsm ] && echo "l2: /dev/nsm present"
# Kernel messages off the console from here: one arriving late (the i8042
# keyboard's "input: ..." line) once split the document's hex line.
echo 1 >/proc/sys/kernel/printk
/rootfs/bin/nsmprobe
echo "l2: nsmprobe exit $?"
$bb poweroff -f
EOF
chmod 755 "$B/init"
cp "$PROGS/musl/nsmprobe" "$A/rootfs/bin/"
printf '/bin/nsmprobe\n' >"$A/cmd"
: >"$A/env"
cpio_of "$B" "$TMP/bootstrap.cpio"
cpio_of "$A" "$TMP/app.cpio"
"$CARVE" build-enclave --kernel "$HWKVM_BZIMAGE" --cmdline "$CMDLINE" \
	--ramdisk "$TMP/bootstrap.cpio" --ramdisk "$TMP/app.cpio" --output-file "$TMP/linux.eif" \
	>"$TMP/build.json" 2>"$TMP/build.err"
tap_result $? "build-enclave: a Linux EIF from the bzImage and two ramdisks" "$TMP/build.err"

timeout 180 "$CARVE" vmm --eif-path "$TMP/linux.eif" --memory 512 --cpus 2 </dev/null 2>"$TMP/eif.err" |
	tr -d '\r' >"$TMP/eif.out"
rc=${PIPESTATUS[0]}
cat "$TMP/eif.err" >>"$TMP/eif.out"
same "Linux EIF: powers off cleanly" "$rc" 0
for m in virtio_mmio vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport nsm; do
	grep -q "^l2: loaded $m\$" "$TMP/eif.out"
	tap_result $? "Linux EIF: module $m loads" "$(tail_of "$TMP/eif.out")"
done
# virtio device IDs: 0x0013 vsock, 0x0021 NSM.
grep -q '^l2: virtio virtio[0-9]* device 0x0013 driver vmw_vsock_virtio_transport$' "$TMP/eif.out"
tap_result $? "Linux EIF: Linux's vsock driver binds to carve's virtio-vsock device" "$(tail_of "$TMP/eif.out")"
grep -q '^l2: virtio virtio[0-9]* device 0x0021 driver nsm$' "$TMP/eif.out"
tap_result $? "Linux EIF: Linux's nsm driver binds to carve's virtio-nsm device" "$(tail_of "$TMP/eif.out")"
grep -q '^l2: /dev/nsm present$' "$TMP/eif.out"
tap_result $? "Linux EIF: /dev/nsm exists" "$(tail_of "$TMP/eif.out")"
grep "^FAIL" "$TMP/eif.out" | sed "s/^/# /"
same "Linux EIF: nsmprobe through Linux's nsm driver: no failures" \
	"$(grep -c '^FAIL' "$TMP/eif.out")|$(grep -o '^l2: nsmprobe exit [0-9]*' "$TMP/eif.out")" "0|l2: nsmprobe exit 0"
printf '%b' "$(sed -n 's/^document //p' "$TMP/eif.out" | tr -d '\r\n' | sed 's/../\\x&/g')" >"$TMP/doc.cbor"
"$CARVE" attestation-root >"$TMP/root.pem" 2>/dev/null
pcr0=$("$CARVE" describe-eif --eif-path "$TMP/linux.eif" 2>/dev/null | sed -n 's/.*"PCR0": "\([0-9a-f]*\)".*/\1/p')
ok "Linux EIF: the attestation document from /dev/nsm verifies (root, nonce, PCR0 of describe-eif)" \
	"$CARVE" verify-attestation --document "$TMP/doc.cbor" --root "$TMP/root.pem" \
	--nonce 0102030405060708 --pcr "0=$pcr0"

# ---- a Linux enclave the Nitro way: carve-init (guest/init) as PID 1
# Bootstrap ramdisk: init, the modules and their order; application ramdisk:
# the hello demo under rootfs/, cmd, env. run-enclave waits for the heartbeat
# that carve-init sends through Linux's vsock driver.
BI=$TMP/boot-init AI=$TMP/app-hello
mkdir -p "$BI/dev" "$BI/lib/carve-modules" "$AI/rootfs/bin"
cp "$ROOT/build/guest/init" "$BI/init"
while read -r m; do
	cp "$HWKVM_ENCLAVE_MODULES/$m.ko" "$BI/lib/carve-modules/"
	echo "$m.ko"
done <"$HWKVM_ENCLAVE_MODULES/order" >"$BI/lib/carve-modules/order"
cp "$ROOT/build/guest/apps/hello" "$AI/rootfs/bin/hello"
printf '/bin/hello\n--port\n5000\n' >"$AI/cmd"
printf 'PATH=/bin\nGREETING_FROM=linux\n' >"$AI/env"
cpio_of "$BI" "$TMP/boot-init.cpio"
cpio_of "$AI" "$TMP/app-hello.cpio"
"$CARVE" build-enclave --kernel "$HWKVM_BZIMAGE" --cmdline "$CMDLINE" \
	--ramdisk "$TMP/boot-init.cpio" --ramdisk "$TMP/app-hello.cpio" --output-file "$TMP/hello-linux.eif" \
	>"$TMP/hello-build.json" 2>"$TMP/build.err"
tap_result $? "build-enclave: a Linux EIF with carve-init and the hello program" "$TMP/build.err"

export CARVE_SOCKETS_DIR=$TMP/sockets
timeout 240 "$CARVE" run-enclave --eif-path "$TMP/hello-linux.eif" --memory 512 --cpu-count "$(( $(nproc) >= 2 ? 2 : 1 ))" \
	--enclave-cid 21 --enclave-name linux --debug-mode >"$TMP/run.json" 2>"$TMP/run.err"
rc=$?
log=$(ls "$CARVE_SOCKETS_DIR"/*.log 2>/dev/null | head -1)
cat "$TMP/run.err" "${log:-/dev/null}" >"$TMP/run.diag"
same "run-enclave: the Linux enclave's heartbeat arrives (carve-init, Linux's vsock)" "$rc" 0
"$CARVE" describe-enclaves >"$TMP/describe.json" 2>&1
grep -q '"State": "RUNNING"' "$TMP/describe.json" && grep -q '"EnclaveCID": 21' "$TMP/describe.json"
tap_result $? "describe-enclaves: RUNNING with CID 21" "$TMP/describe.json"
NONCE=$(openssl rand -hex 16)
vsock_ask "$CARVE_SOCKETS_DIR/vsock/cid-21.sock" 5000 "$NONCE" "$TMP/reply.bin" 120
head -1 "$TMP/reply.bin" | grep -q '^OK '
tap_result $? "vsock: the host connects to the program in the Linux enclave" "$TMP/run.diag"
tail -c +"$(( $(head -1 "$TMP/reply.bin" | wc -c) + 5 ))" "$TMP/reply.bin" >"$TMP/doc2.cbor"
# A debug-mode enclave attests zero PCRs (as on Nitro): verified without PCR0.
ok "the Linux enclave's attestation document (Linux's nsm driver, libnsm) verifies: chain, nonce" \
	"$CARVE" verify-attestation --document "$TMP/doc2.cbor" --root "$TMP/root.pem" --nonce "$NONCE"
sleep 2
"$CARVE" console --enclave-name linux --disconnect-timeout 5 >"$TMP/console.out" 2>&1
tr -d '\r' <"$TMP/console.out" >"$TMP/console.txt"
for step in "loaded virtio_mmio" "loaded nsm" "heartbeat ok" "starting /bin/hello" \
	"program exited with status 0"; do
	grep -q "^carve-init: $step" "$TMP/console.txt"
	tap_result $? "console: carve-init: $step" "$(tail_of "$TMP/console.txt")"
done
grep -q 'Linux version 6.12' "$TMP/console.txt"
tap_result $? "console: the Linux boot log" "$(tail_of "$TMP/console.txt")"
# What AWS's own tests wait for on a Linux enclave's console: the initramfs
# unpacked (Linux 6.12 words it "Trying to unpack rootfs image as initramfs",
# older kernels "Unpacking initramfs").
grep -Eq 'Unpacking initramfs|Trying to unpack rootfs image as initramfs' "$TMP/console.txt"
tap_result $? "console: the initramfs unpacked, as AWS's tests wait for" "$(tail_of "$TMP/console.txt")"
for _ in $(seq 100); do "$CARVE" describe-enclaves | grep -q '"linux"' || break; sleep 0.2; done
ok "the enclave is gone after its program exits" bash -c "! '$CARVE' describe-enclaves | grep -q '\"linux\"'"
grep -q 'stopped: the program exited with status 0' "${log:-/dev/null}"
tap_result $? "event log: the program's exit status, through carve-init and the exit port" "${log:-/dev/null}"

"$CARVE" terminate-enclave --all >/dev/null 2>&1 # nothing left running in L1
finish
