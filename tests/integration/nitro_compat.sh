#!/usr/bin/env bash
# Scripts written for nitro-cli run unchanged: the parts of its command line,
# environment and output that come before a VM is booted (no KVM needed).
# Each expectation names the aws-nitro-enclaves-cli v1.5.0 source it follows
# (commit 2950b3699d81ad304df2458915688a552734833d).
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1
NITRO=$(dirname "$CARVE")/nitro-cli
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state
# As nitro-cli, a failure is also written to /var/log/nitro_enclaves: keep the
# test's inside $TMP.
export NITRO_CLI_LOGS_PATH=$TMP/logs

# --- --cpu-ids takes several values -------------------------------------------
# src/lib.rs:645-651: Arg::new("cpu-ids").num_args(1..), so "--cpu-ids 1 3" is
# two CPU ids; each is parsed on its own (src/common/commands_parser.rs:481-497).
# Without an image the run stops at the EIF (E19), after the flags were taken.
start_fails_with 19 "--cpu-ids 0 1: both taken, the run reaches the EIF" \
	$CARVE run-enclave --cpu-ids 0 1 --memory 64 --eif-path "$TMP/none.eif"
# Repeats are the enclave process's to refuse, after opening the image
# (src/enclave_proc/commands.rs:44-56, cpu_info.rs:86-101): any file will do.
printf 'not an image' >junk.eif
start_fails_with 20 "--cpu-ids 1 1: the second value is a CPU id too (listed twice, E20)" \
	$CARVE run-enclave --cpu-ids 1 1 --memory 64 --eif-path junk.eif
# commands_parser.rs:487-493: a value that is no u32 is InvalidArgument.
fails_with 3 "--cpu-ids 1 x: a value that is not a number (E03)" \
	$NITRO run-enclave --cpu-ids 1 x --memory 64 --eif-path "$TMP/none.eif"
# src/lib.rs:650 conflicts_with_all(["cpu-count", ...]): still a conflict when
# --cpu-ids holds several values.
refused "--cpu-ids 1 3 with --cpu-count is a conflict, as clap says it" --saying "error: the argument '--cpu-ids <cpu-ids>...' cannot be used with '--cpu-count <cpu-count>'" \
	$CARVE run-enclave --cpu-ids 1 3 --cpu-count 2 --memory 64 --eif-path "$TMP/none.eif"
# carve's own forms stay: the flag repeated, and a comma list.
start_fails_with 20 "--cpu-ids 1 --cpu-ids 1: repeated flags add to one list" \
	$CARVE run-enclave --cpu-ids 1 --cpu-ids 1 --memory 64 --eif-path junk.eif
start_fails_with 20 "--cpu-ids 1,2 2: comma lists mix with several values" \
	$CARVE run-enclave --cpu-ids 1,2 2 --memory 64 --eif-path junk.eif

# --- the sockets directory ------------------------------------------------------
# src/common/mod.rs:50-53, :534-540: $NITRO_CLI_SOCKETS_PATH, else
# /run/nitro_enclaves. A regular file there makes the listing fail, which
# shows which directory was read (E07, src/common/document_errors.rs:392).
touch "$TMP/not-a-dir"
NITRO_CLI_SOCKETS_PATH=$TMP/not-a-dir CARVE_SOCKETS_DIR='' fails_with 7 \
	"NITRO_CLI_SOCKETS_PATH is the sockets directory" $NITRO describe-enclaves
ok "the failure names it" grep -q "$TMP/not-a-dir" "$TMP/err"
NITRO_CLI_SOCKETS_PATH=$TMP/not-a-dir CARVE_SOCKETS_DIR='' fails_with 7 \
	"carve reads it too" $CARVE describe-enclaves
same "CARVE_SOCKETS_DIR wins over NITRO_CLI_SOCKETS_PATH" \
	"$(NITRO_CLI_SOCKETS_PATH=$TMP/not-a-dir $NITRO describe-enclaves 2>&1)" "[]"

# --- the error log ----------------------------------------------------------------
# src/common/mod.rs:313-341, :387 and src/common/logger.rs:151-156: a failure
# is written to $NITRO_CLI_LOGS_PATH/err<RFC 3339>.log and the message ends
# naming it.
start_fails_with 19 "a failing run as nitro-cli" $NITRO run-enclave --cpu-count 1 --memory 64 --eif-path "$TMP/none.eif"
# Two logs, as nitro-cli writes: the enclave process's failure, then the CLI's E39.
log=$(sed -n 's/^If you open a support ticket, please provide the error log found at "\(.*\)"$/\1/p' "$TMP/err" | head -1)
case $log in
"$TMP"/logs/err[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*+00:00.log) named=0 ;;
*) named=1 ;;
esac
same "the message names <logs>/err<time>.log (got '$log')" "$named" 0
ok "the error log holds the failure" grep -q "none.eif" "$log"
env -u NITRO_CLI_LOGS_PATH $CARVE run-enclave --cpu-count 1 --memory 64 --eif-path "$TMP/none.eif" 2>"$TMP/err2"
ok "as carve, without NITRO_CLI_LOGS_PATH, no error log is named" bash -c "! grep -q 'support ticket' '$TMP/err2'"

# --- blobs and artifacts --------------------------------------------------------------
# src/lib.rs:362-368: $NITRO_CLI_BLOBS holds bzImage and cmdline; carve's
# $CARVE_BLOBS wins for a blob both have.
mkdir -p root/bin nblobs cblobs
printf '#!/bin/sh\n' >root/bin/app
chmod 755 root/bin/app
head -c 100000 /dev/urandom >nblobs/bzImage
echo 'console=ttyS0 nitro-blobs-cmdline' >nblobs/cmdline
echo 'console=ttyS0 carve-blobs-cmdline' >cblobs/cmdline
NITRO_CLI_BLOBS=$TMP/nblobs ok "build-enclave --kernel-kind linux with NITRO_CLI_BLOBS" \
	$NITRO build-enclave --kernel-kind linux --rootfs root --cmd /bin/app --output-file n.eif
ok "the kernel command line came from \$NITRO_CLI_BLOBS/cmdline" grep -aq nitro-blobs-cmdline n.eif
CARVE_BLOBS=$TMP/cblobs NITRO_CLI_BLOBS=$TMP/nblobs ok "with CARVE_BLOBS too" \
	$NITRO build-enclave --kernel-kind linux --rootfs root --cmd /bin/app --output-file c.eif
ok "CARVE_BLOBS wins for the blob both hold" grep -aq carve-blobs-cmdline c.eif
# src/lib.rs:373-382: $NITRO_CLI_ARTIFACTS is made if missing; one that cannot
# be is FileOperationFailure (E19).
NITRO_CLI_ARTIFACTS=$TMP/art/deep ok "build-enclave with NITRO_CLI_ARTIFACTS" \
	$CARVE build-enclave --rootfs root --cmd /bin/app --output-file a.eif
ok "the artifacts directory was made" test -d "$TMP/art/deep"
NITRO_CLI_ARTIFACTS=$TMP/not-a-dir/sub fails_with 19 "an artifacts path that cannot be made is E19" \
	$NITRO build-enclave --rootfs root --cmd /bin/app --output-file b.eif

# --- the auto-generated CID line ------------------------------------------------
# src/common/commands_parser.rs:397-399: said only for an explicit
# --enclave-cid 0, on stderr, before anything is started.
$NITRO run-enclave --eif-path no-such.eif --memory 128 --cpu-count 1 --enclave-cid 0 >/dev/null 2>cid0.err
ok "--enclave-cid 0: 'The enclave CID will be auto-generated as the provided CID is 0'" \
	grep -qx 'The enclave CID will be auto-generated as the provided CID is 0' cid0.err
$NITRO run-enclave --eif-path no-such.eif --memory 128 --cpu-count 1 >/dev/null 2>nocid.err
same "without --enclave-cid, no such line" "$(grep -c 'auto-generated' nocid.err)" 0

# --- --version ------------------------------------------------------------------
# src/main.rs:49-53 app.version(CARGO_PKG_VERSION) on Command::new("Nitro CLI")
# (src/lib.rs:638); clap prints "<name> <version>" (Cargo.toml: 1.5.0).
same "nitro-cli --version is clap's" "$($NITRO --version)" "Nitro CLI 1.5.0"
same "nitro-cli -V too" "$($NITRO -V)" "Nitro CLI 1.5.0"
case $($CARVE --version) in "carve "[0-9]*) own=0 ;; *) own=1 ;; esac
same "carve --version stays carve's" "$own" 0

finish
