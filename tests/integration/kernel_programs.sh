#!/usr/bin/env bash
# Runtimes nobody here wrote on the carve enclave kernel: a Go program built by
# Debian's golang-go (its scheduler's threads, futexes, signals for
# preemption, timers), Go's CPU profiler, and a Rust program using std::thread (both built by
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
# Go's CPU profiler (runtime/pprof), which SIGPROF from the timers on CPU
# time drives (setitimer(ITIMER_PROF), timer_create on each thread's
# CPU-time clock): its output but the last line (the sample counts, which
# vary; shown as a comment) must be the host's.
GOPPROF=$PROGS/../programs/go-pprof
if [ -x "$GOPPROF" ]; then
	cp "$GOPPROF" "$RFS/bin/go-pprof"
	host=$("$GOPPROF" 2>&1)
	run_prog /bin/go-pprof
	echo "# go-pprof: host $(echo "$host" | grep '^samples: '); enclave $(output | grep -a '^samples: ')"
	got="$(output | grep -av '^samples: ')|$(status)"
	want="$(echo "$host" | grep -v '^samples: ')|0"
	same "go-pprof: output (but the counts) and status as on the host" "$got" "$want"
	if [ "$got" = "$want" ]; then
		program_row go-pprof "as on the host: samples, most in the spinning function"
	else
		sed 's/^/# /' "$(diag)"
		program_row go-pprof "fails"
	fi
else
	skip "go-pprof" "not built: no go when make ran (scripts/setup.sh installs it)"
fi
# Go's net/http on 127.0.0.1:8080 behind a vsock proxy in the enclave
# (vsockrelay, forking a child per connection), reached from the host over
# vsock, as Nitro applications are usually deployed. busybox sh starts both.
BB=$(static_busybox)
GOHTTP=$PROGS/../programs/go-http
if [ ! -x "$GOHTTP" ]; then
	skip "go-http" "not built: no go when make ran (scripts/setup.sh installs it)"
elif [ -z "$BB" ]; then
	skip "go-http" "no static busybox on this host (busybox-static)"
else
	HRFS=$TMP/http-root
	mkdir -p "$HRFS/bin"
	cp "$BB" "$HRFS/bin/busybox"
	ln -s busybox "$HRFS/bin/sh"
	cp "$GOHTTP" "$HRFS/bin/go-http"
	cp "$PROGS/musl/vsockrelay" "$HRFS/bin/vsockrelay"
	printf '%s\n' '/bin/go-http &' 'exec /bin/vsockrelay 5000 127.0.0.1 8080 7' >"$HRFS/start.sh"
	"$CARVE" build-enclave --kernel "$KERNEL" --cmdline console=ttyS0 --rootfs "$HRFS" \
		--cmd "/bin/sh /start.sh" --env PATH=/bin --output-file "$TMP/http.eif" >"$TMP/http-build" 2>&1
	export CARVE_VSOCK_DIR=$TMP/vs CARVE_STATE_DIR=$TMP/state
	mkdir -p "$CARVE_VSOCK_DIR"
	timeout 180 "$CARVE" vmm --eif-path "$TMP/http.eif" --memory 256 --cpus 1 >"$TMP/console.raw" 2>&1 &
	vm=$!
	wait_for_line "$TMP/console.raw" '^relay: listening' 60
	sock=$(ls "$CARVE_VSOCK_DIR"/cid-*.sock 2>/dev/null | head -1)
	get=$ROOT/tests/integration/data/vsock_http_get.py
	same "go-http: three requests one after another, through the enclave's vsock proxy" \
		"$(python3 "$get" "$sock" 5000 /hello '/sum?n=1000' /hash 2>&1)" \
		"$(printf '%s\n' 'HTTP/1.0 200 OK | hello from go in the enclave (request 1)' \
			'HTTP/1.0 200 OK | sum 500500' 'HTTP/1.0 200 OK | hash 1432bdc73930323a')"
	got=$(python3 "$get" --parallel 4 "$sock" 5000 '/sum?n=10' '/sum?n=20' '/sum?n=30' '/sum?n=40' 2>&1)
	same "go-http: four requests at once (a relay child and a goroutine each)" "$got" \
		"$(printf 'HTTP/1.0 200 OK | sum %s\n' 55 210 465 820)"
	wait "$vm"
	tr -d '\r' <"$TMP/console.raw" >"$TMP/console"
	same "go-http: the proxy relayed 7 connections and the enclave ended with its status" \
		"$(grep '^relay: 7' "$TMP/console")|$(status)" "relay: 7 connections relayed, 0 failed|0"
	if grep -q 'relay: 7 connections relayed, 0 failed' "$TMP/console" && [ "$(status)" = 0 ]; then
		program_row go-http "answers every request"
	else
		program_row go-http fails
	fi
fi
finish
