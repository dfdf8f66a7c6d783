#!/usr/bin/env bash
# In the hardware-KVM bed's L1: container images run as Linux enclaves, the
# Nitro way (Debian's kernel, carve-init, the image's files under rootfs/).
#   - the Python service image made from Debian packages
#     (tests/images/python.sh, built on the host into build/images): two
#     parents at once send it nonces over vsock, its threads ask /dev/nsm
#     through Linux's nsm driver, and both attestation documents verify
#     against PCR0 from describe-eif; the program's exit status arrives;
#   - a busybox image with an Entrypoint and no Cmd, whose shell script uses
#     pipes, subshells, command substitution and child processes; in debug
#     mode its console shows the Linux boot log and carve-init's steps.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/vsock_ask.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
cd "$TMP" || exit 1
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state
IMG=$ROOT/build/images/python-docker.tar
# As many vCPUs as L1 has, at most 2 (the bed gives Linux-in-L2 tests one
# L1 CPU: docs/testing.md); the service's threads share them either way.
NCPU=$(( $(nproc) >= 2 ? 2 : 1 ))
if [ ! -s "$IMG" ]; then
	echo "Bail out! $IMG is missing (tests/hwkvm/build-image.sh makes it with tests/images/python.sh)"
	exit 1
fi
"$CARVE" attestation-root --output root.pem >/dev/null 2>&1

# ---- the Python service
"$CARVE" build-enclave --docker-uri "docker-archive:$IMG" --output-file py.eif >py.json 2>py.err
tap_result $? "build-enclave --docker-uri: the Python image, Linux by default" py.err
PCR0=$(json_field py.json PCR0)
timeout 300 "$CARVE" run-enclave --eif-path py.eif --memory 768 --cpu-count "$NCPU" --enclave-cid 22 \
	--enclave-name py >run.json 2>run.err
rc=$?
same "run-enclave: the Python enclave boots and its heartbeat arrives" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/# /' run.err
"$CARVE" describe-enclaves >describe.json 2>&1
grep -q '"State": "RUNNING"' describe.json && grep -q '"EnclaveName": "py"' describe.json
tap_result $? "describe-enclaves: RUNNING" describe.json
# The service listens once Python has started, seconds after the heartbeat
# (carve-init sends it before it runs the program): probe until it accepts,
# as a parent's health check would (the service does not count probes).
for _ in $(seq 90); do
	[ -S "$CARVE_SOCKETS_DIR/vsock/cid-22.sock" ] || break # the enclave stopped
	{ printf 'CONNECT 5000\n'; sleep 2; } | timeout 10 socat -t 1 - "UNIX-CONNECT:$CARVE_SOCKETS_DIR/vsock/cid-22.sock" 2>/dev/null |
		head -1 | grep -q '^OK ' && break
done
for i in 1 2; do
	openssl rand -hex 16 >"nonce$i"
	vsock_ask "$CARVE_SOCKETS_DIR/vsock/cid-22.sock" 5000 "$(cat "nonce$i")" "reply$i.bin" 180 &
done
wait
for i in 1 2; do
	head -1 "reply$i.bin" | grep -q '^OK '
	tap_result $? "parent $i: connected to the service (vsock port 5000)" "reply$i.bin"
	tail -c +"$(( $(head -1 "reply$i.bin" | wc -c) + 5 ))" "reply$i.bin" >"doc$i.cbor"
	ok "parent $i: the document from Python via /dev/nsm verifies (chain, nonce, PCR0 of the image)" \
		"$CARVE" verify-attestation --document "doc$i.cbor" --root root.pem --nonce "$(cat "nonce$i")" --pcr "0=$PCR0"
done
log=$(ls "$CARVE_SOCKETS_DIR"/*.log | head -1)
for _ in $(seq 150); do grep -q 'resources released' "$log" && break; sleep 0.2; done
grep -q 'stopped: the program exited with status 0' "$log"
tap_result $? "the service exits 0 after its two connections; the status reaches the event log" "$(tail_of "$log")"
# Its console is sealed (not debug mode), yet the event log has carve-init's
# steps, through the carve log port.
for step in "loaded nsm" "heartbeat ok" "starting /usr/bin/python3" "program exited with status 0"; do
	grep -q "guest: $step" "$log"
	tap_result $? "event log (sealed console): carve-init: $step" "$(tail_of "$log")"
done
if ! head -1 reply1.bin | grep -q '^OK '; then
	# A production enclave's console is sealed: boot the same image in debug
	# mode to show why the service did not answer.
	"$CARVE" terminate-enclave --all >/dev/null 2>&1
	timeout 300 "$CARVE" run-enclave --eif-path py.eif --memory 768 --cpu-count "$NCPU" --enclave-name pydebug \
		--debug-mode >/dev/null 2>&1
	sleep 60
	"$CARVE" console --enclave-name pydebug --disconnect-timeout 5 2>&1 | tr -d '\r' | tail -40 | sed 's/^/# debug console: /'
	"$CARVE" terminate-enclave --all >/dev/null 2>&1
fi

# ---- a shell entrypoint (Entrypoint, no Cmd) in a busybox image
mkdir -p sh/bin sh/app sh/tmp
cp "$CARVE_BUSYBOX" sh/bin/busybox
for t in sh echo tr wc ls cat grep sed pwd; do ln -s busybox "sh/bin/$t"; done
cp "$ROOT/build/guest/apps/nsm-tool" sh/bin/nsm-tool # libnsm, static musl
cat >sh/app/run.sh <<'SCRIPT'
echo "shell: $(echo piped words | tr a-z A-Z)"
(cd /tmp && echo "shell: subshell in $(pwd)")
echo "shell: root has $(ls / | wc -l) entries"
/bin/sh -c 'exit 3'
echo "shell: child exited $?"
echo "shell: $(grep -c ^processor /proc/cpuinfo) cpus, GREETING=$GREETING, cwd $(pwd)"
# /dev/nsm through Linux's nsm driver, with carve's libnsm (nsm-tool):
# PCR 16 extended, locked, then refused.
echo "shell: nsm $(nsm-tool describe-nsm | grep -o '"max_pcrs": [0-9]*')"
nsm-tool extend-pcr 16 from-the-shell >/dev/null && nsm-tool lock-pcr 16 >/dev/null
echo "shell: pcr16 $(nsm-tool describe-pcr 16 | grep -o '"lock": [a-z]*')"
nsm-tool extend-pcr 16 again 2>&1 | sed 's/^/shell: after lock: /'
exit 7
SCRIPT
"$ROOT/tests/images/make-archive.sh" oci shell-oci.tar carve-test/shell:1 \
	'{"Env":["PATH=/bin","GREETING=from the shell image"],"Entrypoint":["/bin/sh","/app/run.sh"],"WorkingDir":"/app"}' sh
ok "build-enclave: an image with an Entrypoint and no Cmd" "$CARVE" build-enclave \
	--docker-uri "oci-archive:$TMP/shell-oci.tar" --output-file sh.eif
timeout 300 "$CARVE" run-enclave --eif-path sh.eif --memory 256 --cpu-count 1 --enclave-name sh --debug-mode \
	>run-sh.json 2>run-sh.err
rc=$?
cat run-sh.err "$CARVE_SOCKETS_DIR"/*.log >run-sh.diag 2>/dev/null
same "run-enclave: the shell image boots" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/# /' run-sh.diag | tail -20
id=$(json_field run-sh.json EnclaveID)
slot=${id##*-enc}
for _ in $(seq 150); do grep -q 'resources released' "$CARVE_SOCKETS_DIR/$slot.log" 2>/dev/null && break; sleep 0.2; done
"$CARVE" console --enclave-name sh >console.out 2>&1
tr -d '\r' <console.out >console.txt
grep -q 'Linux version 6.12' console.txt
tap_result $? "console: the Linux boot log" "$(tail_of console.txt)"
for line in "shell: PIPED WORDS" "shell: subshell in /tmp" "shell: child exited 3" \
	"shell: 1 cpus, GREETING=from the shell image, cwd /app" 'shell: nsm "max_pcrs": 32' \
	'shell: pcr16 "lock": true' "shell: after lock: nsm-tool: ReadOnlyIndex"; do
	grep -qx "$line" console.txt
	tap_result $? "console: $line" "$(tail_of console.txt)"
done
for step in "loaded vsock" "heartbeat ok" "starting /bin/sh" "program exited with status 7"; do
	grep -q "^carve-init: $step" console.txt
	tap_result $? "console: carve-init: $step" "$(tail_of console.txt)"
done
grep -q 'stopped: the program exited with status 7' "$CARVE_SOCKETS_DIR/$slot.log"
tap_result $? "event log: the entrypoint's exit status 7" "$CARVE_SOCKETS_DIR/$slot.log"
"$CARVE" terminate-enclave --all >/dev/null 2>&1 # nothing left running in L1
finish
