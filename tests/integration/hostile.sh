#!/usr/bin/env bash
# Input that must be refused before anything starts (issue 12's probe): the
# run-enclave config typed as nitro-cli reads it, FIFOs where files belong,
# names with no room or with control characters, and more memory than the
# host has in development mode. None of it needs KVM: each is refused first.
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state
printf 'r' >rd
head -c 4096 /dev/urandom >kernel
$CARVE build-enclave --kernel kernel --cmdline x --ramdisk rd --output-file g.eif >/dev/null 2>&1
config() { printf '{"eif_path": "%s/g.eif", "memory_mib": 128, "cpu_count": 1%s}\n' "$TMP" "$1" >c.json; }

config ', "debug_mode": "false"'
fails_with 3 'config: "debug_mode": "false" (a string) is E03, not a debug enclave' $CARVE run-enclave --config c.json
config ', "attach_console": 1'
fails_with 3 'config: "attach_console": 1 is E03' $CARVE run-enclave --config c.json
config ', "enclave_cid": "17"'
fails_with 3 'config: "enclave_cid": "17" (a string) is E03' $CARVE run-enclave --config c.json
config ', "enclave_name": 5'
fails_with 3 'config: "enclave_name": 5 is E03' $CARVE run-enclave --config c.json
printf '{"eif_path": "%s/g.eif", "memory_mib": 17592186044480, "cpu_count": 1}\n' "$TMP" >c.json
fails_with 3 'config: "memory_mib" of 2^44 + 64 does not wrap to 64 MiB' $CARVE run-enclave --config c.json

mkfifo fifo
fails_with 19 "a FIFO as --config is E19, not a hang" timeout 10 $CARVE run-enclave --config fifo
start_fails_with 19 "a FIFO as --eif-path is E19, not a hang" timeout 10 $CARVE run-enclave --eif-path fifo --memory 128 --cpu-count 1
fails_with 35 "a FIFO given to describe-eif is E35 (nitro-cli's code for an image it cannot open), not a hang" \
	timeout 10 $CARVE describe-eif --eif-path fifo

fails_with 3 "an --enclave-name of 101 bytes is E03" $CARVE run-enclave --eif-path g.eif --memory 128 \
	--cpu-count 1 --enclave-name "$(printf 'n%.0s' $(seq 101))"
fails_with 3 "an empty --enclave-name is E03" $CARVE run-enclave --eif-path g.eif --memory 128 --cpu-count 1 --enclave-name ''
fails_with 3 "an --enclave-name with a control character is E03" $CARVE run-enclave --eif-path g.eif \
	--memory 128 --cpu-count 1 --enclave-name "$(printf 'a\033[31mb')"

fails_with 2 "--console-group without --debug-mode is E02 (a sealed console is nobody's)" \
	$CARVE run-enclave --eif-path g.eif --memory 128 --cpu-count 1 --console-group nogroup
fails_with 3 "--console-group naming no group is E03" $CARVE run-enclave --eif-path g.eif --memory 128 \
	--cpu-count 1 --debug-mode --console-group no-such-group-here
fails_with 3 "--af-vsock takes auto, on, off or kernel only" $CARVE run-enclave --eif-path g.eif --memory 128 \
	--cpu-count 1 --af-vsock sometimes

avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
start_fails_with 27 "development mode: more memory than the host has available is E27, not the OOM killer" \
	$CARVE run-enclave --eif-path g.eif --memory $(((avail / 2) * 2 + 1024)) --cpu-count 1
ok "the error gives both numbers" grep -q "MiB requested but the host has [0-9]* MiB available" "$TMP/err"
ok "nothing was registered by the refused starts" bash -c "! ls '$CARVE_STATE_DIR' 2>/dev/null | grep -q ."
finish
