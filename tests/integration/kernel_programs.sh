#!/usr/bin/env bash
# Runtimes nobody here wrote on the carve enclave kernel: a Go program built by
# Debian's golang-go (its scheduler's threads, futexes, signals for
# preemption, timers) and a Rust program using std::thread, each run in the
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

if command -v go >/dev/null; then
	if (cd "$ROOT/tests/programs/go-goroutines" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOCACHE=$TMP/gocache \
		go build -o "$TMP/go-goroutines" main.go) >"$TMP/go-build" 2>&1; then
		compare go-goroutines "$TMP/go-goroutines"
	else
		tap_result 1 "go-goroutines: go build" "$TMP/go-build"
	fi
else
	skip "go-goroutines" "no go on this host (scripts/setup.sh installs golang-go)"
fi

RUSTC=$(command -v rustc || true)
if [ -n "$RUSTC" ]; then
	if "$RUSTC" -O -C target-feature=+crt-static "$ROOT/tests/programs/rust-threads/main.rs" \
		-o "$TMP/rust-threads" >"$TMP/rust-build" 2>&1; then
		compare rust-threads "$TMP/rust-threads"
	else
		tap_result 1 "rust-threads: rustc" "$TMP/rust-build"
	fi
else
	skip "rust-threads" "no rustc on this host (scripts/setup.sh installs Debian's rustc)"
fi
finish
