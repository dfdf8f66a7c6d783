#!/usr/bin/env bash
# Runtimes nobody here wrote on the carve enclave kernel: a Go program built by
# Debian's golang-go (its scheduler's threads, futexes, signals for
# preemption, timers) and a Rust program using std::thread (both built by
# make, mk/kernel.mk, from tests/programs), each run in the
# enclave and on the host; the outputs must be the same. Each result is
# checked against its row in guest/kernel/README.md's table (program_row).
# Every guest run is bounded by `timeout`.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm
. "$ROOT/tests/lib/carve_kernel.sh"
BOOT_TIMEOUT=180

why=$(kernel_missing)
if [ -n "$why" ]; then
	skip "runtimes on the carve kernel" "$why"
	finish
fi
RFS=$TMP/rootfs
mkdir -p "$RFS/bin"
run_prog() {
	"$MKINITRD" -o "$TMP/app.cpio" "$RFS" "$@" || return 1
	kboot "$TMP/app.cpio"
}
# compare ID BINARY: runs it here and in the enclave; the row's result.
compare() {
	local id=$1 bin=$2 host
	cp "$bin" "$RFS/bin/$id"
	host=$("$bin" 2>&1)
	run_prog "/bin/$id"
	same "$id: output and status as on the host" "$(output)|$(status)" "$host|0"
	if [ "$(output)|$(status)" = "$host|0" ]; then
		program_row "$id" "same output as on the host"
	else
		sed 's/^/# /' "$(diag)"
		program_row "$id" "fails"
	fi
}

# Built by make (mk/kernel.mk) where the toolchain exists.
for id in go-goroutines rust-threads; do
	if [ -x "$PROGS/../programs/$id" ]; then
		compare "$id" "$PROGS/../programs/$id"
	else
		skip "$id" "not built: no $([ "$id" = go-goroutines ] && echo go || echo rustc) when make ran (scripts/setup.sh installs it)"
	fi
done
finish
