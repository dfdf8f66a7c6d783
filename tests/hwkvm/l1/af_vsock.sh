#!/usr/bin/env bash
# In the hardware-KVM bed's L1, which loads vhost_vsock: parent programs on
# AF_VSOCK as on EC2 (docs/vsock.md, "AF_VSOCK"). The parent side is Python
# with socket.AF_VSOCK and nothing carve-specific (vsock_parent.py):
#   - host -> enclave: a nonce to the hello enclave at its CID, the
#     attestation document back, verified;
#   - enclave -> host: a Linux enclave connects to CID 3 port P, a Python
#     listener on AF_VSOCK port P answers and sees the enclave's CID;
#   - host -> a Linux enclave: a Python client at its CID, vsockprobe inside;
#   - AWS's vsock-proxy pattern: enclave -> CID 3 port -> Python proxy ->
#     TCP on loopback -> a TCP server, and the answer back; then the same
#     through carve's own vsock-proxy with an allowlist;
#   - carve's Unix-socket side keeps working beside it;
#   - many enclaves started at once all report their heartbeat (nitro-cli's
#     shared port 9000 listener makes that fail, AWS issue #516);
#   - a CID another VM holds is refused with a clear error;
#   - the kernel datapath (--af-vsock kernel): after the heartbeat the
#     enclave's own rings go to vhost-vsock; a Linux enclave addressing the
#     host as CID 2 reaches a Python listener, and a Python parent fetches a
#     document from the hello enclave, with carve out of the data path.
. "$(dirname "$0")/../../lib/tap.sh"
requires_kvm
cd "$TMP" || exit 1
export CARVE_STATE_DIR=$TMP/state CARVE_SOCKETS_DIR=$TMP/sockets
PARENT=(python3 "$ROOT/tests/hwkvm/l1/vsock_parent.py")
HELLO=$ROOT/build/guest/apps/hello
PROGS=$ROOT/build/guest/progs
BLOBS=$ROOT/build/guest
CMDLINE="console=ttyS0 reboot=k panic=-1 random.trust_cpu=on"
# Many enclaves at once: 8 by default, 20 in the long run (CARVE_TEST_SLOW=1).
MANY=${CARVE_AF_VSOCK_MANY:-$([ "${CARVE_TEST_SLOW:-0}" = 1 ] && echo 20 || echo 8)}

if [ ! -c /dev/vhost-vsock ]; then
	skip "AF_VSOCK parents" "no /dev/vhost-vsock here (the bed's L1 loads vhost_vsock)"
	finish
fi
command -v python3 >/dev/null || { skip "AF_VSOCK parents" "no python3 in this L1 image"; finish; }

# ---- host -> enclave: the hello enclave at its CID --------------------------
mkdir -p rootfs/bin && cp "$HELLO" rootfs/bin/hello
"$CARVE" build-enclave --rootfs rootfs --cmd "/bin/hello --port 5000" --output-file hello.eif >/dev/null 2>&1
PCR0=$("$CARVE" describe-eif --eif-path hello.eif | json_field /dev/stdin PCR0)
"$CARVE" run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-cid 21 \
	--enclave-name h >run.json 2>run.err
same "run-enclave (AF_VSOCK on by default where vhost-vsock exists)" "$?" 0
slot=$(json_field run.json EnclaveID)
slot=${slot##*-enc}
ok "the event log says the CID is on the host's AF_VSOCK" \
	grep -q 'vsock: AF_VSOCK CID 21 through the host kernel' "$CARVE_SOCKETS_DIR/$slot.log"
NONCE=$(openssl rand -hex 16)
ok "a Python parent connects to CID 21 port 5000 and gets a document" \
	timeout 60 "${PARENT[@]}" attest 21 5000 "$NONCE" doc.cbor
"$CARVE" attestation-root --output root.pem >/dev/null 2>&1
ok "the document verifies: chain, PCR0, the nonce sent over AF_VSOCK" \
	"$CARVE" verify-attestation --document doc.cbor --root root.pem --pcr "0=$PCR0" --nonce "$NONCE"

# ---- a CID another VM holds -------------------------------------------------
"$CARVE" run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-cid 22 \
	--enclave-name h2 >/dev/null 2>&1
timeout 60 "$CARVE" vmm --eif-path hello.eif --memory 64 --cpus 1 --enclave-cid 22 --af-vsock on \
	</dev/null >busy.out 2>&1
rc=$?
same "carve vmm --af-vsock on with a CID an enclave holds fails" "$([ $rc -ne 0 ] && echo failed)" failed
ok "  ...saying the CID is taken" grep -q 'CID 22 is taken by another VM' busy.out
"$CARVE" terminate-enclave --all >/dev/null 2>&1

# ---- enclave -> host: a Linux enclave, a Python listener --------------------
linux_eif() { # name, then the lines of /cmd
	local dir=$TMP/app-$1
	mkdir -p "$dir/rootfs/bin"
	cp "$PROGS/musl/vsockprobe" "$dir/rootfs/bin/"
	shift
	printf '%s\n' "$@" >"$dir/cmd"
	printf '%s' "${LINUX_ENV:-}" >"$dir/env"
	cpio_of "$dir" "$dir.cpio"
	"$CARVE" build-enclave --kernel "$BLOBS/bzImage" --cmdline "$CMDLINE" \
		--ramdisk "$BLOBS/bootstrap-initrd.img" --ramdisk "$dir.cpio" --output-file "$dir.eif" \
		>/dev/null 2>"$dir.err"
}
wait_listening() { for _ in $(seq 100); do grep -q listening "$1" && return 0; sleep 0.1; done; return 1; }

linux_eif client /bin/vsockprobe client 5005 hello-from-linux
"${PARENT[@]}" serve 5005 >serve.out 2>&1 &
py=$!
wait_listening serve.out
timeout 180 "$CARVE" vmm --eif-path app-client.eif --memory 512 --cpus 1 --enclave-cid 23 --af-vsock on \
	</dev/null 2>&1 | tr -d '\r' >client.out
rc=${PIPESTATUS[0]}
wait $py
ok "the Python listener on AF_VSOCK port 5005 got the enclave's line" grep -q '^got: hello-from-linux' serve.out
ok "  ...and saw the enclave's CID as its peer" grep -q '^peer CID 23$' serve.out
grep -q '^reply: pong: hello-from-linux' client.out
tap_result $? "the enclave (which dialled CID 3) got the answer" "$(tail_of client.out)"
same "  ...and its program exited 0" "$rc" 0

# ---- host -> a Linux enclave: a Python client, vsockprobe listening inside -
linux_eif server /bin/vsockprobe server 5008
timeout 180 "$CARVE" vmm --eif-path app-server.eif --memory 512 --cpus 1 --enclave-cid 29 --af-vsock on \
	</dev/null 2>&1 | tr -d '\r' >server.out &
vm=$!
timeout 150 "${PARENT[@]}" echo 29 5008 from-python >echo.out 2>&1
wait $vm
ok "a Python client at CID 29 got the Linux enclave's answer" grep -q '^reply: echo: from-python' echo.out

# ---- AWS's vsock-proxy pattern: enclave -> CID 3 -> proxy -> TCP ------------
linux_eif proxied /bin/vsockprobe client 8000 via-the-proxy
"${PARENT[@]}" tcp-echo 9443 >tcp.out 2>&1 &
tcp=$!
"${PARENT[@]}" proxy 8000 9443 >proxy.out 2>&1 &
px=$!
wait_listening tcp.out
wait_listening proxy.out
timeout 180 "$CARVE" vmm --eif-path app-proxied.eif --memory 512 --cpus 1 --enclave-cid 24 --af-vsock on \
	</dev/null 2>&1 | tr -d '\r' >proxied.out
wait $px $tcp
ok "the TCP server behind the proxy got the enclave's line" grep -q '^got: via-the-proxy' tcp.out
grep -q '^reply: tcp: via-the-proxy' proxied.out
tap_result $? "the enclave got the TCP server's answer through the proxy" "$(tail_of proxied.out)"

# ---- the same through carve's vsock-proxy (AWS's command line, allowlist) ----
# (L1 has no /etc/hosts: the entry is an address, matched as written.)
printf 'allowlist:\n- {address: 127.0.0.1, port: 9445}\n' >allow.yaml
linux_eif viaproxy /bin/vsockprobe client 8002 through-carve-vsock-proxy
"${PARENT[@]}" tcp-echo 9445 >tcp2.out 2>&1 &
tcp=$!
wait_listening tcp2.out
"$CARVE" vsock-proxy 8002 127.0.0.1 9445 --config allow.yaml >vproxy.out 2>&1 &
vp=$!
sleep 1
timeout 180 "$CARVE" vmm --eif-path app-viaproxy.eif --memory 512 --cpus 1 --enclave-cid 30 --af-vsock on \
	</dev/null 2>&1 | tr -d '\r' >viaproxy.out
wait $tcp
kill $vp 2>/dev/null
wait $vp 2>/dev/null
grep -q '^got: through-carve-vsock-proxy' tcp2.out
tap_result $? "carve vsock-proxy: the TCP server got the enclave's line" vproxy.out
grep -q '^reply: tcp: through-carve-vsock-proxy' viaproxy.out
tap_result $? "  ...and the enclave got the answer back" "$(tail_of viaproxy.out)"

# ---- carve's Unix-socket side still works beside AF_VSOCK -------------------
export CARVE_VSOCK_DIR=$TMP/vs
mkdir -p "$CARVE_VSOCK_DIR"
linux_eif unix /bin/vsockprobe client 5006 over-unix
"$ROOT/build/tests/tools/uds_peer" listen "$CARVE_VSOCK_DIR/port-5006.sock" >peer.out 2>&1 &
peer=$!
timeout 180 "$CARVE" vmm --eif-path app-unix.eif --memory 512 --cpus 1 --enclave-cid 25 --af-vsock on \
	</dev/null 2>&1 | tr -d '\r' >unix.out
wait $peer
same "a port with a Unix listener (port-P.sock) still goes there" "$(cat peer.out)" \
	"$(printf 'ready\ngot: over-unix')"
unset CARVE_VSOCK_DIR

# ---- the kernel datapath: the rings handed to vhost-vsock after the heartbeat
LINUX_ENV=$'VSOCKPROBE_PARENT_CID=2\n' linux_eif kpath /bin/vsockprobe client 5007 over-the-kernel
"${PARENT[@]}" serve 5007 >kserve.out 2>&1 &
py=$!
wait_listening kserve.out
timeout 180 "$CARVE" vmm --verbose --eif-path app-kpath.eif --memory 512 --cpus 1 --enclave-cid 27 \
	--af-vsock kernel </dev/null 2>&1 | tr -d '\r' >kpath.out
rc=${PIPESTATUS[0]}
wait $py
grep -q 'vmm: virtio-vsock: the heartbeat is done: rx and tx rings handed to the host kernel' kpath.out
tap_result $? "kernel datapath: after the heartbeat the rings went to vhost-vsock" "$(tail_of kpath.out)"
ok "  ...the Linux enclave (host = CID 2) reached the Python listener" grep -q '^got: over-the-kernel' kserve.out
ok "  ...which saw the enclave's CID" grep -q '^peer CID 27$' kserve.out
grep -q '^reply: pong: over-the-kernel' kpath.out
tap_result $? "  ...and the answer came back on the kernel's rings" "$(tail_of kpath.out)"
same "  ...and the program exited 0" "$rc" 0

"$CARVE" run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-cid 28 --af-vsock kernel \
	--enclave-name k >krun.json 2>krun.err
same "run-enclave --af-vsock kernel" "$?" 0
kslot=$(json_field krun.json EnclaveID)
kslot=${kslot##*-enc}
for _ in $(seq 100); do grep -q 'rings handed to the host kernel' "$CARVE_SOCKETS_DIR/$kslot.log" && break; sleep 0.1; done
ok "  ...its event log says the rings went to the kernel" \
	grep -q 'device: virtio-vsock: the heartbeat is done: rx and tx rings handed' "$CARVE_SOCKETS_DIR/$kslot.log"
NONCE=$(openssl rand -hex 16)
ok "  ...a Python parent gets a document from CID 28 on the kernel datapath" \
	timeout 60 "${PARENT[@]}" attest 28 5000 "$NONCE" kdoc.cbor
ok "  ...and it verifies" "$CARVE" verify-attestation --document kdoc.cbor --root root.pem --pcr "0=$PCR0" \
	--nonce "$NONCE"
"$CARVE" terminate-enclave --all >/dev/null 2>&1

# ---- many enclaves at once, each with its heartbeat --------------------------
export CARVE_SOCKETS_DIR=$TMP/sockets-many # their event logs alone
for i in $(seq "$MANY"); do
	"$CARVE" run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-cid $((100 + i)) \
		--enclave-name "m$i" >"m$i.json" 2>"m$i.err" &
done
fails=0
for job in $(jobs -p); do wait "$job" || fails=$((fails + 1)); done
same "$MANY run-enclave on AF_VSOCK at the same time all succeed" "$fails" 0
same "  ...all RUNNING" "$("$CARVE" describe-enclaves | grep -c '"State": "RUNNING"')" "$MANY"
beats=$(grep -l 'heartbeat received' "$CARVE_SOCKETS_DIR"/*.log 2>/dev/null | wc -l)
same "  ...every one reported its heartbeat" "$beats" "$MANY"
NONCE=$(openssl rand -hex 16)
ok "the last one answers at its CID" timeout 60 "${PARENT[@]}" attest $((100 + MANY)) 5000 "$NONCE" doc2.cbor
"$CARVE" terminate-enclave --all >/dev/null 2>&1

finish
