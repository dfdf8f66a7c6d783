#!/usr/bin/env bash
# The whole test suite: what the README's test command and .ci/run run.
#
#   scripts/test.sh            quick suite (default, what CI runs)
#   CARVE_TEST_SLOW=1 scripts/test.sh   also the slow tests (Linux boot, long fuzzing)
#
# It builds the release and the ASan+UBSan trees, runs every unit-test binary
# under both, every integration script (tests/integration/*.sh) against the
# sanitizer build, and every fuzz target over its seed corpus plus a short
# bounded run. The closing line is "N passed, N failed[, N skipped]".
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD

scripts/setup.sh --quiet --package || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

JOBS=$(nproc 2>/dev/null || echo 2)
LOG=$ROOT/build/test-logs
rm -rf "$LOG"; mkdir -p "$LOG"

build() {
	local log
	log="$LOG/build-$(echo "$*" | tr ' /' '__' | cut -c1-60).log"
	if ! make -s -j"$JOBS" "$@" >"$log" 2>&1; then
		cat "$log"
		echo "build failed: make $*"
		echo "0 passed, 1 failed"
		exit 1
	fi
}
build all tests
build SAN=1 all tests
if command -v clang >/dev/null; then build fuzz; fi
# ThreadSanitizer (clang): the unit tests whose code runs on several threads
# (device threads, vCPU-thread MMIO and port accesses, the console buffer,
# the control socket). test_enclave_confine is not among them: TSan's
# runtime intercepts fork and holds back signals, so a trapped fork hangs.
TSAN_TESTS="test_virtio_vsock test_virtio_mmio test_virtio_nsm test_virtio_queue test_console_buf
	test_vmm_buses test_vmm_serial test_vmm_i8042 test_vmm_guest_log test_enclave_control test_vsock_bridge"
if command -v clang >/dev/null; then
	read -r -a tsan_targets <<<"$(for t in $TSAN_TESTS; do printf 'build-tsan/tests/%s ' "$t"; done)"
	build TSAN=1 "${tsan_targets[@]}"
fi

# The hardware-KVM bed (tests/hwkvm, docs/testing.md): L1 boots under QEMU's
# emulator with SVM, loads kvm-amd, and runs tests/hwkvm/tests.list against
# that real KVM; each test's TAP log counts here like the scripts below.
# Its carve-kernel and VMM tests start now and run beside everything that
# follows (two L1 instances keep both CPUs busy while most host tests use
# one). The tests that boot stock Linux in L2 (l1cpus=1 in tests.list) run
# after the host's, alone: beside them, with L1 getting a share of the CPUs
# only, two of them stopped in L1 with interrupts off (QEMU's emulated SVM,
# docs/testing.md), which they never did alone.
bed_started=$SECONDS
# With a usable /dev/kvm here the host's run of the scripts marked
# hostkvm=skip in tests.list shows them whole; the bed runs the rest.
bed_tests=$(grep -v '^\s*#' tests/hwkvm/tests.list | awk 'NF { print $1 }')
bed_note=""
# Tests marked slow in tests.list (reproducers and soaks that add little to
# a default run) run with CARVE_TEST_SLOW=1 only; the closing lines name them.
bed_slow=$(sed 's/#.*//' tests/hwkvm/tests.list | awk '/(^|[ \t])slow([ \t]|$)/ { print $1 }')
if [ -z "${CARVE_TEST_SLOW:-}" ] && [ -n "$bed_slow" ]; then
	bed_tests=$(grep -vxF -f <(printf '%s\n' "$bed_slow") <<<"$bed_tests")
else
	bed_slow=""
fi
if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	shown=$(sed 's/#.*//' tests/hwkvm/tests.list | awk '/(^|[ \t])hostkvm=skip([ \t]|$)/ { print $1 }')
	bed_tests=$(grep -vxF -f <(printf '%s\n' "$shown") <<<"$bed_tests")
	bed_note="    (the host's KVM runs $(wc -w <<<"$shown") scripts the bed leaves out: $(tr '\n' ' ' <<<"$shown"))"
fi
alone=$(sed 's/#.*//' tests/hwkvm/tests.list | awk '/(^|[ \t])l1cpus=1([ \t]|$)/ { print $1 }')
bed_alone=$(grep -xF -f <(printf '%s\n' "$alone") <<<"$bed_tests")
bed_beside=$(grep -vxF -f <(printf '%s\n' "$alone") <<<"$bed_tests")
# Beside the host's tests an L1 gets part of the CPUs (measured: 2.6 times
# slower than alone), so every L1's bound is three times longer.
tests/hwkvm/run.sh --slack 3 --out "$LOG/l1" --tests "$(paste -sd, <<<"$bed_beside")" >"$LOG/hwkvm.log" 2>&1 &
bed_pid=$!

passed=0 failed=0 skipped=0
declare -a failures=() skips=()

# cmocka prints "[       OK ] name", "[  FAILED  ] name", "[  SKIPPED ] name".
run_unit() {
	local bin=$1 tag=$2 out
	out=$LOG/$(basename "$bin").$tag.log
	timeout 300 "$bin" >"$out" 2>&1
	local rc=$? p f s
	p=$(grep -c '^\[       OK \]' "$out")
	# cmocka names a failed test twice (as it fails and in the summary).
	f=$(grep -o '^\[  FAILED  \] [a-z_][a-z_0-9]*$' "$out" | sort -u | wc -l)
	s=$(grep -c '^\[  SKIPPED \] [a-z_0-9]' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or timed out
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '%-40s %-8s %3d passed %3d failed %3d skipped\n' "$(basename "$bin")" "$tag" "$p" "$f" "$s"
	if [ "$f" -gt 0 ]; then failures+=("$(basename "$bin") [$tag]: see $out"); sed 's/^/    /' "$out" | grep -v '^    \[ RUN\|^    \[       OK' | tail -30; fi
	while IFS= read -r line; do skips+=("$(basename "$bin") [$tag]: $line"); done < <(grep -o 'SKIP: .*' "$out")
}

# Integration scripts print TAP lines: "ok - ...", "not ok - ...",
# "ok - ... # SKIP reason". count_tap adds one script's log to the totals.
count_tap() { # name log exit-status tag [seconds]
	local name=$1 out=$2 rc=$3 tag=$4 secs=${5:+ (${5} s)} p f s
	s=$(grep -c '^ok .*# SKIP' "$out")
	p=$(( $(grep -c '^ok ' "$out") - s ))
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited with status $rc" >>"$out"; fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	printf '%-40s %-8s %3d passed %3d failed %3d skipped%s\n' "$name" "$tag" "$p" "$f" "$s" "$secs"
	if [ "$f" -gt 0 ]; then failures+=("$name [$tag]: see $out"); grep -A12 '^not ok ' "$out" | sed 's/^/    /' | head -60; fi
	while IFS= read -r line; do skips+=("$name [$tag]: $line"); done < <(grep -o '# SKIP .*' "$out")
}

run_script() {
	local script=$1 name out start=$SECONDS
	name=$(basename "$script" .sh)
	out=$LOG/$name.log
	# shellcheck disable=SC2097,SC2098 # the script gets this checkout's ROOT, as $ROOT here
	CARVE="$ROOT/build-san/bin/carve" CARVE_RELEASE="$ROOT/build/bin/carve" ROOT="$ROOT" \
		timeout "${CARVE_TEST_TIMEOUT:-600}" bash "$script" >"$out" 2>&1
	count_tap "$name" "$out" $? script $((SECONDS - start))
}

echo "== unit tests (release, ASan+UBSan and, for the threaded ones, TSan builds) [at ${SECONDS} s]"
for t in build/tests/test_*; do [ -x "$t" ] && run_unit "$t" release; done
for t in build-san/tests/test_*; do [ -x "$t" ] && run_unit "$t" san; done
for t in $TSAN_TESTS; do [ -x "build-tsan/tests/$t" ] && TSAN_OPTIONS=halt_on_error=1 run_unit "build-tsan/tests/$t" tsan; done

# The bounded run: 5 s a target by default (20 targets; the whole command
# must stay well under 20 minutes here), 60 s with CARVE_TEST_SLOW=1;
# CARVE_FUZZ_SECONDS overrides both.
FUZZ_SECONDS=${CARVE_FUZZ_SECONDS:-$([ -n "${CARVE_TEST_SLOW:-}" ] && echo 60 || echo 5)}
echo "== fuzz targets (seed corpus, then a bounded run of ${FUZZ_SECONDS} s each, $JOBS at a time) [at ${SECONDS} s]"
# fuzz_one TARGET: its corpus, then the bounded run; "ok (Done N runs)" or
# "FAILED" in $LOG/NAME.result. Each libFuzzer process uses one CPU, so
# they run $JOBS side by side and are counted afterwards in name order.
fuzz_one() {
	local f=$1 name corpus work
	name=$(basename "$f")
	corpus=tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d)
	[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null
	if timeout 300 "$f" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$LOG/$name-" "$work" >"$LOG/$name.log" 2>&1; then
		echo "ok ($(grep -o 'Done [0-9]* runs' "$LOG/$name.log" | tail -1))" >"$LOG/$name.result"
	else
		echo FAILED >"$LOG/$name.result"
	fi
	rm -rf "$work"
}
# (Only the fuzzers' own processes are waited for: the bed runs beside.)
fuzz_pids=()
for f in build-fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	if [ ${#fuzz_pids[@]} -ge "$JOBS" ]; then
		wait -n "${fuzz_pids[@]}"
		still=()
		for p in "${fuzz_pids[@]}"; do kill -0 "$p" 2>/dev/null && still+=("$p"); done
		fuzz_pids=("${still[@]}")
	fi
	fuzz_one "$f" &
	fuzz_pids+=($!)
done
[ ${#fuzz_pids[@]} -eq 0 ] || wait "${fuzz_pids[@]}"
for f in build-fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	result=$(cat "$LOG/$name.result" 2>/dev/null || echo FAILED)
	printf '%-40s %-8s %s\n' "$name" fuzz "$result"
	if [ "${result%% *}" = ok ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failures+=("$name: see $LOG/$name.log")
		tail -30 "$LOG/$name.log" | sed 's/^/    /'
	fi
done

echo "== static checks (scripts/lint.sh) [at ${SECONDS} s]"
scripts/lint.sh >"$LOG/lint.log" 2>&1
count_tap lint "$LOG/lint.log" $? static

echo "== integration tests [at ${SECONDS} s]"
for s in tests/integration/*.sh; do [ -f "$s" ] && run_script "$s"; done

echo "== hardware-KVM test bed (L1: Debian's kernel under QEMU TCG, kvm-amd), started at ${bed_started} s [at ${SECONDS} s]"
wait "$bed_pid"
bed_rc=$?
alone_rc=0
if [ -n "$bed_alone" ]; then
	echo "    (stock Linux in L2, alone, from $SECONDS s)"
	tests/hwkvm/run.sh --no-build --out "$LOG/l1-alone" --tests "$(paste -sd, <<<"$bed_alone")" \
		>"$LOG/hwkvm-alone.log" 2>&1
	alone_rc=$?
fi
[ -z "$bed_note" ] || echo "$bed_note"
sed 's/^/    /' "$LOG/hwkvm.log" "$LOG/hwkvm-alone.log" 2>/dev/null
nbed=0
for t in $bed_tests; do
	dir=$LOG/l1
	grep -qxF "$t" <<<"$bed_alone" && dir=$LOG/l1-alone
	out=$dir/${t//\//__}.log
	mkdir -p "$dir"
	[ -f "$out" ] || echo "not ok - $t: no log from the bed (see $LOG/hwkvm*.log)" >"$out"
	count_tap "$(basename "$t")" "$out" 0 L1
	nbed=$((nbed + 1))
done
if [ "$nbed" -eq 0 ] || { [ "$bed_rc" -ne 0 ] || [ "$alone_rc" -ne 0 ]; } &&
	! grep -q '^not ok' "$LOG"/l1*/*.log 2>/dev/null; then
	failed=$((failed + 1)); failures+=("hardware-KVM bed: exit status $bed_rc/$alone_rc, see $LOG/hwkvm*.log")
fi
echo "    bed: $((SECONDS - bed_started)) s; L1 consoles kept in $LOG/l1*/console-*.log"

echo
if [ -n "$bed_slow" ]; then
	echo "Not run by default (marked slow in tests/hwkvm/tests.list; CARVE_TEST_SLOW=1 runs them): $(tr '\n' ' ' <<<"$bed_slow")"
fi
if [ ${#skips[@]} -gt 0 ]; then
	echo "Skipped, and why:"; printf '  %s\n' "${skips[@]}"
fi
if [ ${#failures[@]} -gt 0 ]; then
	echo "Failures:"; printf '  %s\n' "${failures[@]}"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
