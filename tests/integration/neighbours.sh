#!/usr/bin/env bash
# A running enclave holds up under hostile neighbours and stalls (issue 12):
# another user holding connections to its control socket, a stopped enclave
# process, terminates racing each other, a request naming a field twice.
# Liveness comes from the lock the enclave process holds (<slot>.alive),
# never from whether its socket answers.
. "$(dirname "$0")/../lib/tap.sh"
requires_kvm
cd "$TMP" || exit 1
chmod 0755 "$TMP" # the neighbour (nobody) must reach the sockets directory
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

mkdir -p rootfs/bin && cp "$ROOT/build/guest/apps/hello" rootfs/bin/hello
$CARVE build-enclave --rootfs rootfs --cmd "/bin/hello --port 5000" --output-file hello.eif >/dev/null 2>&1
# No ASan quarantine for this enclave process: freed memory is reused at
# once, so its RSS under churn measures leaks, not the quarantine's 256 MiB.
ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=0 timeout 120 $CARVE run-enclave --eif-path hello.eif \
	--memory 64 --cpu-count 1 --enclave-cid 30 --enclave-name nb --debug-mode >run.json 2>run.err
same "run-enclave" "$?" 0
pid=$(json_field run.json ProcessID)
sock=$(ls "$CARVE_SOCKETS_DIR"/*.sock | head -1)
chmod 0755 "$CARVE_SOCKETS_DIR"

# --- the enclave process runs confined (src/enclave/confine.c)
grep -q '^NoNewPrivs:.*1' "/proc/$pid/status" && grep -q '^Seccomp:.*2' "/proc/$pid/status"
tap_result $? "the enclave process has no_new_privs and a seccomp filter" "/proc/$pid/status"
for t in /proc/$pid/task/*; do grep -q '^Seccomp:.*2' "$t/status" || echo "unconfined thread $t"; done >threads.txt
same "every one of its threads is filtered" "$(cat threads.txt)" ""
# Each thread kind adds its own allow-list to the deny-list every thread
# has: two filters on the control thread (the process's first), the vCPU
# threads and the vsock device thread (serving since the guest's driver
# started it); the VM thread, which only starts and joins vCPUs, has one.
for t in /proc/$pid/task/*; do
	echo "$(cat "$t/comm") $(awk '/^Seccomp_filters:/ { print $2 }' "$t/status")"
done | sort >kinds.txt
want_two=$(awk '$1 ~ /^(vcpu[0-9]+|virtio-vsock)$/ && $2 != 2' kinds.txt)
main_filters=$(awk '/^Seccomp_filters:/ { print $2 }' "/proc/$pid/status")
same "vCPU and device threads run under their own allow-lists" "$want_two" ""
same "its vCPU thread and vsock device thread were both seen" "$(grep -c '^vcpu\|^virtio-vsock' kinds.txt)" 2
same "the control thread runs under its allow-list" "$main_filters" "2"

# --- another user holds 40 idle connections (the limit per user is 16)
for _ in $(seq 40); do
	sleep 30 | "${NOBODY[@]}" socat -u - "UNIX-CONNECT:$sock" >/dev/null 2>&1 &
done
sleep 2
$CARVE describe-enclaves >d1.json 2>&1
grep -q '"State": "RUNNING"' d1.json
tap_result $? "root's describe-enclaves while another user holds 40 connections" d1.json
timeout 20 $CARVE console --enclave-name nb --disconnect-timeout 1 >c1.txt 2>&1
tap_result $? "root's console while another user holds 40 connections" c1.txt
# Their requests never came: after the request deadline (5 s) they are gone,
# and the neighbour itself is served again.
sleep 6
"${NOBODY[@]}" $CARVE describe-enclaves >d2.json 2>&1
grep -q '"EnclaveName": "nb"' d2.json
tap_result $? "idle connections are dropped after 5 s; the neighbour is served again" d2.json
fails_with 18 "the neighbour may not read root's debug console (E18)" \
	"${NOBODY[@]}" $CARVE console --enclave-name nb --disconnect-timeout 1
fails_with 18 "nor terminate root's enclave (E18)" "${NOBODY[@]}" $CARVE terminate-enclave --enclave-name nb
# The owner may share a debug console with a group (nobody's is nogroup).
timeout 120 $CARVE run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-cid 31 \
	--enclave-name shared --debug-mode --console-group nogroup >shared.json 2>shared.err
same "run-enclave --console-group nogroup" "$?" 0
timeout 20 "${NOBODY[@]}" $CARVE console --enclave-name shared --disconnect-timeout 1 >sc.txt 2>&1
tap_result $? "a member of the console group reads the live console" sc.txt
fails_with 18 "but may not terminate it (E18)" "${NOBODY[@]}" $CARVE terminate-enclave --enclave-name shared
$CARVE terminate-enclave --enclave-name shared >/dev/null 2>&1
sslot=$(json_field shared.json EnclaveID); sslot=${sslot##*-enc}
same "its saved console is the group's to read too" \
	"$(stat -c '%a %G' "$CARVE_SOCKETS_DIR/$sslot.console" 2>&1)" "640 nogroup"
timeout 20 "${NOBODY[@]}" $CARVE console --enclave-name shared >sc2.txt 2>&1
tap_result $? "a member of the console group reads the saved console" sc2.txt
# shellcheck disable=SC2046 # one pid per word
kill $(jobs -p) 2>/dev/null # the flood's pipelines, sleep and all
wait 2>/dev/null

# --- console readers churning: the enclave process's memory stays bounded
# (each console request leaked its answer object, ~860 bytes)
PEER=$ROOT/build/tests/tools/uds_peer
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
CHURN=4000
[ "${CARVE_TEST_SLOW:-0}" = 1 ] && CHURN=100000 # the soak
"$PEER" churn "$sock" 2000 '{"cmd": "console"}' >/dev/null 2>&1 # warm up the allocator
before=$(rss)
t0=$SECONDS
"$PEER" churn "$sock" $CHURN '{"cmd": "console"}' >churn.txt 2>&1
after=$(rss)
echo "# $CHURN console requests in $((SECONDS - t0)) s; enclave process RSS ${before} -> ${after} kB"
same "$CHURN console requests, one after another, all answered" "$(cat churn.txt)" "answered $CHURN of $CHURN"
ok "the enclave process's memory stays bounded (under 1 MiB more)" test $((after - before)) -lt 1024

# --- a request that names a field twice is refused, not half-obeyed
printf '{"cmd": "describe", "cmd": "terminate"}\n' | timeout 10 socat - "UNIX-CONNECT:$sock" >dup.txt 2>&1
ok "a control request naming \"cmd\" twice is E17" grep -q '"code": *17' dup.txt
$CARVE describe-enclaves | grep -q '"State": "RUNNING"'
tap_result $? "the enclave still runs after it"

# --- a stopped enclave process is unresponsive, not dead
kill -STOP "$pid"
timeout 30 $CARVE describe-enclaves >d3.json 2>&1
grep -q '"State": "UNRESPONSIVE"' d3.json && grep -q '"EnclaveCID": 30' d3.json
tap_result $? "a stopped enclave process is listed as UNRESPONSIVE, CID and all" d3.json
ok "its control socket was not removed" test -S "$sock"
start_fails_with 3 "its CID is not handed out again" $CARVE run-enclave --eif-path hello.eif --memory 64 \
	--cpu-count 1 --enclave-cid 30 --enclave-name other
kill -CONT "$pid"

# --- terminates racing each other all succeed, and return once it is gone
nbslot=$(json_field run.json EnclaveID); nbslot=${nbslot##*-enc}
pids=()
for i in 1 2 3; do
	$CARVE terminate-enclave --enclave-name nb >"t$i.json" 2>"t$i.err" &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
cat t1.err t2.err t3.err >t.err
same "three terminates at once all succeed" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/# /' t.err
ok "when terminate returns the enclave's record and lock are gone (everything released)" \
	bash -c "[ ! -e '$CARVE_SOCKETS_DIR/$nbslot.record' ] && [ ! -e '$CARVE_SOCKETS_DIR/$nbslot.alive' ]"
# Its last step is exiting: gone (or a zombie not yet reaped) moments later.
for _ in $(seq 20); do
	state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	[ -z "$state" ] || [ "$state" = Z ] && break
	sleep 0.1
done
ok "and its process has exited" bash -c "[ -z '$state' ] || [ '$state' = Z ]"
timeout 120 $CARVE run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-cid 30 \
	--enclave-name again >run2.json 2>run2.err
same "the same CID and name can be used at once" "$?" 0
$CARVE terminate-enclave --all >/dev/null 2>&1
slot=$(json_field run.json EnclaveID); slot=${slot##*-enc}

# --- killed under an init that does not reap: a zombie holds nothing
SUBREAPER=$ROOT/build/tests/tools/subreaper
"$SUBREAPER" 30 $CARVE run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-cid 31 \
	--enclave-name zombie >zombie.json 2>zombie.err &
reaper=$!
for _ in $(seq 300); do [ -s zombie.json ] && break; sleep 0.1; done
zpid=$(json_field zombie.json ProcessID)
kill -9 "$zpid" 2>/dev/null
for _ in $(seq 50); do [ "$(awk '/^State:/ { print $2 }' "/proc/$zpid/status" 2>/dev/null)" = Z ] && break; sleep 0.1; done
same "the killed enclave process is a zombie (its parent does not reap)" \
	"$(awk '/^State:/ { print $2 }' "/proc/$zpid/status" 2>/dev/null)" Z
ok "describe-enclaves does not list it" bash -c "! $CARVE describe-enclaves | grep -q '\"zombie\"'"
timeout 120 $CARVE run-enclave --eif-path hello.eif --memory 64 --cpu-count 1 --enclave-cid 31 \
	--enclave-name zombie >z2.json 2>z2.err
same "its CID and name are free at once" "$?" 0
$CARVE terminate-enclave --enclave-name zombie >/dev/null 2>&1
kill "$reaper" 2>/dev/null

# --- a disk that fills while an enclave runs: its stop records are whole or
# absent, never empty files
mkdir -p small
if mount -t tmpfs -o size=2m tmpfs small 2>/dev/null; then
	CARVE_SOCKETS_DIR=$TMP/small timeout 120 $CARVE run-enclave --eif-path hello.eif --memory 64 \
		--cpu-count 1 --enclave-name full --debug-mode >full.json 2>full.err
	same "an enclave starts with its sockets on a 2 MiB tmpfs" "$?" 0
	dd if=/dev/zero of=small/filler bs=64k 2>/dev/null # until the disk is full
	CARVE_SOCKETS_DIR=$TMP/small $CARVE terminate-enclave --enclave-name full >/dev/null 2>&1
	same "terminate works on a full disk" "$?" 0
	empty=$(find small -maxdepth 1 \( -name '*.console' -o -name '*.exited' \) -empty | wc -l)
	same "no empty console or exit record is left" "$empty" 0
	umount small
else
	skip "a full disk" "cannot mount a tmpfs here"
fi
same "the saved console is the owner's and root's only" "$(stat -c %a "$CARVE_SOCKETS_DIR/$slot.console")" 600
same "so is the event log" "$(stat -c %a "$CARVE_SOCKETS_DIR/$slot.log")" 600
ok "nothing of the enclaves is left but saved consoles and logs" \
	bash -c "! ls '$CARVE_SOCKETS_DIR' | grep -q '\.sock\$\|\.record\$\|\.alive\$'"
finish
