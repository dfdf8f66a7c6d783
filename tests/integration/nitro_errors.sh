#!/usr/bin/env bash
# Failures as nitro-cli reports them: the code, the printed lines and the exit
# status, for requests refused before a VM starts (no KVM needed). Each
# expectation names the aws-nitro-enclaves-cli v1.5.0 source it follows
# (commit 2950b3699d81ad304df2458915688a552734833d).
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1
NITRO=$(dirname "$CARVE")/nitro-cli
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state NITRO_CLI_LOGS_PATH=$TMP/logs
printf 'r' >rd
$CARVE build-enclave --kernel "$ROOT/build/guests/carve-guest.elf" --cmdline x --ramdisk rd \
	--output-file g.eif >/dev/null 2>&1
head -c $((20 << 20)) /dev/zero >big.eif # 20 MiB: needs 80 MiB (4x), whatever it holds

# --- a failed start: the enclave process's error, then E39 -----------------------
# src/enclave_proc/mod.rs:488-500, :98-105: the enclave process sends its error
# to the CLI's stderr, then status EINVAL and no JSON; src/enclave_proc_comm.rs:
# 301-316: no JSON object is a failed connection, "Failed connections: 1" on
# stderr; :354-363 then EnclaveProcessConnectionFailure, "Failed to connect to
# 1 enclave processes"; src/main.rs:106-118 ok_or_exit_with_errno: exit 39.
start_fails_with 19 "a missing image: E19, 'Failed connections: 1', E39" \
	$NITRO run-enclave --eif-path none.eif --memory 64 --cpu-count 1
same "  ...exit status 39, nothing on stdout" "$(cat "$TMP/out")" ""
same "  ...'Failed connections: 1' once" "$(grep -c '^Failed connections: 1$' "$TMP/err")" 1
ok "  ...E39 in nitro-cli's words" grep -q '^\[ E39 \] .*Failed to connect to 1 enclave processes' "$TMP/err"
# resource_manager.rs:624-626: said as the memory is taken, after the checks.
same "  ...no 'Start allocating memory...' for a request refused before" \
	"$(grep -c 'Start allocating memory' "$TMP/err")" 0
same "  ...two error logs, the process's and the CLI's (common/mod.rs:343-395)" \
	"$(grep -c '^If you open a support ticket' "$TMP/err")" 2
start_fails_with 19 "carve's name says the same" $CARVE run-enclave --eif-path none.eif --memory 64 --cpu-count 1

# --- memory -----------------------------------------------------------------------
# commands_parser.rs:308-335: 0 is a size; resource_manager.rs:476-503: below
# 4x the file's size is InsufficientMemoryRequested, "At least N MB must be
# allocated (which is 4 times the EIF file size)", before the image is read.
start_fails_with 26 "--memory 0 is E26" $CARVE run-enclave --eif-path g.eif --memory 0 --cpu-count 1
ok "  ...'At least 1 MB must be allocated (which is 4 times the EIF file size)'" \
	grep -q 'At least 1 MB must be allocated (which is 4 times the EIF file size)' "$TMP/err"
start_fails_with 26 "--memory below 4x the image is E26" \
	$NITRO run-enclave --eif-path big.eif --memory 64 --cpu-count 1
ok "  ...names the 80 MB it needs" grep -q 'At least 80 MB must be allocated' "$TMP/err"
start_fails_with 26 "  ...also when the image is no image (checked before reading it)" \
	$CARVE run-enclave --eif-path big.eif --memory 79 --cpu-count 1
fails_with 3 "--memory 12X is E03, from the command line (commands_parser.rs:327-333)" \
	$NITRO run-enclave --eif-path g.eif --memory 12X --cpu-count 1

# --- CPUs (development mode: no pool) ------------------------------------------------
# tests/integration/test_commands.py:100-106: --cpu-count 0 is "[ E29 ]": no vCPU
# is added and the driver refuses the start (resource_manager.rs:692-712,
# :826-828, NE_ERR_NO_VCPUS_ADDED), after the memory.
start_fails_with 29 "--cpu-count 0 is E29" $NITRO run-enclave --eif-path g.eif --memory 64 --cpu-count 0
ok "  ...'no vCPUs have been added'" grep -q 'The enclave cannot start because no vCPUs have been added' "$TMP/err"
ok "  ...after 'Start allocating memory...'" grep -q '^Start allocating memory...$' "$TMP/err"
printf '{"eif_path": "g.eif", "memory_mib": 64, "cpu_count": 0}' >zero.json
start_fails_with 29 "\"cpu_count\": 0 in --config is E29 too" $NITRO run-enclave --config zero.json
# cpu_info.rs:59-70: more than there are is InsufficientCpus.
start_fails_with 22 "more CPUs than the host has is E22" \
	$CARVE run-enclave --eif-path g.eif --memory 64 --cpu-count 4096
ok "  ...'Insufficient CPUs available (requested 4096, but maximum is N'" \
	grep -q "Insufficient CPUs available (requested 4096, but maximum is $(nproc)" "$TMP/err"
# commands_parser.rs:500-512 (test_commands.py:110-111): not a u32 is E03.
# clap takes no value that starts with '-': '-3' is an unknown flag there.
refused "--cpu-count -3 is clap's unknown flag '-3'" --saying "unexpected argument '-3' found" \
	$NITRO run-enclave --eif-path g.eif --memory 64 --cpu-count -3
fails_with 3 "--cpu-count zzz is E03" $NITRO run-enclave --eif-path g.eif --memory 64 --cpu-count zzz
# cpu_info.rs:86-101: a repeated CPU is InvalidCpuConfiguration, "CPU IDs list
# contains N duplicate(s)"; commands.rs:44-56: only after the image opened.
start_fails_with 20 "--cpu-ids 1 1 is E20" $NITRO run-enclave --eif-path g.eif --memory 64 --cpu-ids 1 1
ok "  ...'CPU IDs list contains 1 duplicate(s)'" grep -q 'CPU IDs list contains 1 duplicate(s)' "$TMP/err"
start_fails_with 19 "--cpu-ids 1 1 of a missing image is E19: the image comes first" \
	$NITRO run-enclave --eif-path none.eif --memory 64 --cpu-ids 1 1
start_fails_with 21 "a CPU the host lacks is E21" $CARVE run-enclave --eif-path g.eif --memory 64 --cpu-ids 250

# --- CPUs in pool mode, on a host with SMT siblings ----------------------------------
# CARVE_TEST_SYSFS stands in for /sys/devices/system: four CPUs, two cores
# (thread_siblings_list 0,2 and 1,3), 128 MiB of free 2 MiB hugepages.
SYS=$TMP/sys
smt_host() { # the sibling lists of cpu0..cpu3
	rm -rf "$SYS"
	local cpu=0
	for list in "$@"; do
		mkdir -p "$SYS/cpu/cpu$cpu/topology"
		echo "$list" >"$SYS/cpu/cpu$cpu/topology/thread_siblings_list"
		cpu=$((cpu + 1))
	done
	mkdir -p "$SYS/node/node0/hugepages/hugepages-2048kB"
	echo 0 >"$SYS/node/node0/hugepages/hugepages-2048kB/nr_hugepages"
	echo 64 >"$SYS/node/node0/hugepages/hugepages-2048kB/free_hugepages"
}
smt_host 0,2 1,3 0,2 1,3
export CARVE_TEST_SYSFS=$SYS
# bootstrap/nitro-enclaves-allocator:388-510: full cores only, never CPU 0's.
printf 'memory_mib: 128\ncpu_count: 1\n' >one.yaml
fails_with 22 "allocator: one CPU cannot be a whole core on SMT (E22)" $CARVE allocator --config one.yaml
printf 'memory_mib: 128\ncpu_pool: 2,3\n' >sib0.yaml
fails_with 20 "allocator: CPU 0's sibling (thread_siblings_list) is refused (E20)" $CARVE allocator --config sib0.yaml
printf 'memory_mib: 128\ncpu_count: 2\n' >two.yaml
ok "allocator: two CPUs are the core 1,3" $CARVE allocator --config two.yaml
same "  ...the pool is CPUs 1 and 3" "$(tr -d ' \n' <"$CARVE_STATE_DIR/pool.json" | grep -o '"cpus":\[[0-9,]*\]')" '"cpus":[1,3]'
# cpu_info.rs:96-110: a CPU outside the pool is NoSuchCpuAvailableInPool.
start_fails_with 21 "pool: CPU 0 is not in the pool (E21)" $NITRO run-enclave --eif-path g.eif --memory 64 --cpu-ids 0
ok "  ...'The CPU with ID 0 is not available in the NE CPU pool'" \
	grep -q 'The CPU with ID 0 is not available in the NE CPU pool' "$TMP/err"
start_fails_with 22 "pool: three CPUs of a pool of two is E22" \
	$NITRO run-enclave --eif-path g.eif --memory 64 --cpu-count 3
# The driver starts only whole cores (resource_manager.rs:793-862,
# NE_ERR_FULL_CORES_NOT_USED is IoctlFailure); test_commands.py:108-110 expects
# --cpu-count 1 and 3 to fail on x86.
start_fails_with 29 "pool: --cpu-count 1 on SMT is E29" $NITRO run-enclave --eif-path g.eif --memory 64 --cpu-count 1
ok "  ...'full CPU cores have not been set'" grep -q 'The enclave cannot start because full CPU cores have not been set' "$TMP/err"
start_fails_with 29 "pool: --cpu-ids 1 (half a core) is E29" \
	$NITRO run-enclave --eif-path g.eif --memory 64 --cpu-ids 1
$NITRO run-enclave --eif-path g.eif --memory 64 --cpu-count 2 >whole.out 2>whole.err
ok "pool: --cpu-count 2 (the whole core) passes the CPU rules" \
	bash -c "! grep -q '^\[ E2[0-9] \]' whole.err"
timeout 30 $CARVE terminate-enclave --all >/dev/null 2>&1
smt_host 0 1 2 3
$CARVE allocator --config two.yaml >/dev/null 2>&1
$NITRO run-enclave --eif-path g.eif --memory 64 --cpu-count 1 >nosmt.out 2>nosmt.err
ok "pool without SMT: --cpu-count 1 passes the CPU rules" bash -c "! grep -q '^\[ E2[0-9] \]' nosmt.err"
timeout 30 $CARVE terminate-enclave --all >/dev/null 2>&1
# 1 GiB pages in the pool: a request they and the 2 MiB pages cover exactly
# passes the memory check; one they could cover only by rounding up is E27,
# naming what each pool holds.
mkdir -p "$SYS/node/node0/hugepages/hugepages-1048576kB"
echo 1 >"$SYS/node/node0/hugepages/hugepages-1048576kB/nr_hugepages"
echo 1 >"$SYS/node/node0/hugepages/hugepages-1048576kB/free_hugepages"
echo 2 >"$SYS/node/node0/hugepages/hugepages-2048kB/free_hugepages"
$NITRO run-enclave --eif-path g.eif --memory 1028 --cpu-count 1 >gib.out 2>gib.err
ok "pool with a 1 GiB page: 1028 MiB (1 GiB + 2 x 2 MiB) passes the memory check" \
	bash -c "! grep -q '^\[ E2[0-9] \]' gib.err"
timeout 30 $CARVE terminate-enclave --all >/dev/null 2>&1
start_fails_with 27 "pool: 1030 MiB (2 MiB pages short, only a second 1 GiB page would do) is E27" \
	$NITRO run-enclave --eif-path g.eif --memory 1030 --cpu-count 1
ok "  ...naming the pools" grep -q 'the free hugepages hold 1028 MiB (1 of 1 GiB, 2 of 2 MiB)' "$TMP/err"
unset CARVE_TEST_SYSFS
rm -f "$CARVE_STATE_DIR/pool.json"

# --- enclaves by id --------------------------------------------------------------------
# src/enclave_proc_comm.rs:128-138: an id with no enclave process behind it is
# SocketError, "Failed to connect to specific enclave process".
fails_with 11 "terminate-enclave of an unknown id is E11" \
	$NITRO terminate-enclave --enclave-id i-0000000000000000-enc1234
ok "  ...'Failed to connect to specific enclave process'" \
	grep -q 'Failed to connect to specific enclave process' "$TMP/err"
fails_with 11 "console of an unknown id is E11 (main.rs:243-255)" \
	$NITRO console --enclave-id i-0000000000000000-enc1234

# --- pcr ----------------------------------------------------------------------------------
# src/lib.rs:572-596: a file it cannot open is E19; one that is no PEM
# certificate is HasherError, "Failed to deserialize .pem".
printf 'not a certificate\n' >notpem.txt
fails_with 57 "pcr --signing-certificate of a non-PEM file is E57" $NITRO pcr --signing-certificate notpem.txt
ok "  ...'Failed to deserialize .pem'" grep -q 'Failed to deserialize .pem' "$TMP/err"
fails_with 19 "pcr --signing-certificate of a missing file is E19" $NITRO pcr --signing-certificate none.pem

# --- sign-eif -------------------------------------------------------------------------------
# src/lib.rs:297-322: every failure is EIFSigningError (E60).
openssl ecparam -name secp384r1 -genkey -noout -out key.pem 2>/dev/null
openssl req -new -x509 -key key.pem -out cert.pem -days 30 -subj /CN=t 2>/dev/null
fails_with 60 "sign-eif without a key pair is E60 ('Failed to create EifSigner')" $NITRO sign-eif --eif-path g.eif
ok "  ...in nitro-cli's words" grep -q 'Failed to create EifSigner' "$TMP/err"
fails_with 60 "sign-eif of a missing image is E60 ('Failed to sign image')" \
	$NITRO sign-eif --eif-path none.eif --signing-certificate cert.pem --private-key key.pem
ok "  ...in nitro-cli's words" grep -q 'Failed to sign image' "$TMP/err"
# :300-305: a key or certificate it cannot read is named on its own line first.
fails_with 60 "sign-eif with a missing key is E60" \
	$NITRO sign-eif --eif-path g.eif --signing-certificate cert.pem --private-key none.pem
ok "  ...'Could not read signing info: ' first" grep -q '^Could not read signing info: ' "$TMP/err"
arn=arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
fails_with 60 "sign-eif with a KMS key ARN is E60, an unusable key" \
	$NITRO sign-eif --eif-path g.eif --signing-certificate cert.pem --private-key "$arn"
ok "  ...which says KMS signing needs AWS" grep -q 'AWS KMS key ARN: signing with a KMS key needs AWS' "$TMP/err"
ok "  ...not that a file is missing" bash -c "! grep -q 'No such file' '$TMP/err'"
# src/lib.rs:865-884: the key pair requires each other (clap), and
# SignEifArgs::new_with wants --eif-path (commands_parser.rs:280, :444-451).
refused "sign-eif with a certificate and no key: clap's required argument" \
	--saying "  --private-key <private-key>" $NITRO sign-eif --eif-path g.eif --signing-certificate cert.pem
fails_with 1 "sign-eif without --eif-path is E01" $NITRO sign-eif --signing-certificate cert.pem --private-key key.pem
ok "  ...in nitro-cli's words" grep -q '`eif-path` argument not found' "$TMP/err"

finish
