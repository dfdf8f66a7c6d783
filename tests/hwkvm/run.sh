#!/usr/bin/env bash
# The hardware-KVM test bed (docs/testing.md): boots Debian's cloud kernel as
# an L1 guest under QEMU's software emulator with AMD SVM and nested paging,
# loads kvm-amd there, and runs carve's tests against that real KVM.
#
#   tests/hwkvm/run.sh                  the tests in tests/hwkvm/tests.list
#   tests/hwkvm/run.sh --tests integration/vmm_cpuid,hwkvm/l1/linux
#   tests/hwkvm/run.sh --shell          an interactive shell in L1 (Ctrl-A x quits)
#
# Options: --out DIR (logs; default build/hwkvm/logs), --carve release|san
# (the build $CARVE names in L1; default san), --jobs N (L1 instances side
# by side; default: host CPUs, at most 2), --smp N (CPUs of every L1,
# overriding tests.list), --timeout S (each L1's whole run, default 900),
# --slack N (every L1's bound N times longer: for a run beside other work,
# as scripts/test.sh runs it, where L1 gets a share of the CPUs only),
# --no-build (reuse the image), --mttcg (each L1 CPU on a host thread of its
# own, for benches of parallel work such as bench/kernel_smp.sh; the race
# below can end such a run, never use it for tests).
#
# Each test runs in an L1 with the CPU count tests.list gives it (third
# column; none: either): one CPU for stock Linux in L2, which QEMU 7.2's
# emulated SVM can crash on an L1 with more (docs/testing.md), two for tests
# of pinning and CPU pools. Tests are shared out by their seconds.
#
# It writes DIR/console-<i>.log (the whole console of L1 instance i),
# DIR/results-<i>.log (its raw result stream) and one TAP log per test,
# DIR/<test with / as __>.log; a test that did not finish gets a "not ok"
# naming why and the console's last lines. The exit status is 0 when every
# test passed. Needs the release and
# sanitizer builds (make && make SAN=1 tests), qemu-system-x86 and
# busybox-static (scripts/setup.sh).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/hwkvm/logs
tests="" shell=0 carve=san smp="" limit=900 slack=1 build=1 tcg=tcg,thread=single jobs=$(nproc 2>/dev/null || echo 1)
[ "$jobs" -le 2 ] || jobs=2
while [ $# -gt 0 ]; do
	case "$1" in
	--tests) tests=$2; shift ;;
	--shell) shell=1 ;;
	--out) OUT=$2; shift ;;
	--carve) carve=$2; shift ;;
	--smp) smp=$2; shift ;;
	--jobs) jobs=$2; shift ;;
	--timeout) limit=$2; shift ;;
	--slack) slack=$2; shift ;;
	--no-build) build=0 ;;
	--mttcg) tcg=tcg,thread=multi ;;
	*) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
	esac
	shift
done
LIST=$ROOT/tests/hwkvm/tests.list
if [ -z "$tests" ]; then
	tests=$(grep -v '^\s*#' "$LIST" | awk 'NF { print $1 }' | paste -sd, -)
fi
say() { echo "hwkvm: $*" >&2; }
. "$ROOT/tests/hwkvm/frozen.sh" # l1_frozen

command -v qemu-system-x86_64 >/dev/null || { say "qemu-system-x86_64 is missing (scripts/setup.sh installs qemu-system-x86)"; exit 1; }
KERNEL=$("$ROOT/scripts/fetch-debian-kernel.sh" --quiet) || { say "cannot fetch Debian's cloud kernel"; exit 1; }
IMAGE=$ROOT/build/hwkvm/l1.cpio
mkdir -p "$ROOT/build/hwkvm" "$OUT"
if [ "$build" -eq 1 ] || [ ! -s "$IMAGE" ]; then
	required=("$ROOT/build/bin/carve")
	[ "$carve" = release ] || required+=("$ROOT/build-san/bin/carve")
	for f in "${required[@]}"; do
		[ -x "$f" ] || { say "$f is missing: run make all tests (and make SAN=1 all tests) first"; exit 1; }
	done
	"$ROOT/tests/hwkvm/build-image.sh" "$IMAGE" || { say "building the L1 image failed"; exit 1; }
fi

# -cpu EPYC: an AMD model whose SVM and NPT TCG emulates (VMX it does not).
# thread=single: one host thread runs every L1 vCPU in turn. With QEMU's
# multi-threaded TCG, L1's kernel patching its own code (static keys, which
# kvm flips as VMs come and go) raced with the other vCPU and L1 died of an
# int3 Oops in kvm_arch_vcpu_ioctl_run (seen once in a few dozen L2 boots).
qemu_for() { # L1 CPUs
	QEMU=(qemu-system-x86_64 -accel "$tcg" -cpu EPYC -smp "$1" -m 6144 -M q35
		-display none -no-reboot -kernel "$KERNEL" -initrd "$IMAGE")
}
APPEND="console=ttyS0 panic=-1 hwkvm.carve=$carve hwkvm.slow=${CARVE_TEST_SLOW:-0}"

if [ "$shell" -eq 1 ]; then
	qemu_for "${smp:-2}"
	exec "${QEMU[@]}" -append "$APPEND hwkvm.shell=1" -serial mon:stdio -serial null -monitor none
fi

rm -f "$OUT"/*.log

# Instances: a 2-CPU one if a test needs 2 CPUs, 1-CPU ones up to --jobs,
# and each stock-Linux test (l1cpus=1) in an L1 of its own. The others go,
# longest first, to the least loaded of the shared instances (the seconds
# in tests.list; 30 for a test not listed there). Each instance is bounded
# by three times its expected seconds plus two minutes (at least 4 min, at
# most --timeout): an L1 that hangs costs its own tests and little time.
needs() { # test -> its L1 CPUs from tests.list ("" when either)
	awk -v t="$1" '$1 == t && $3 ~ /^l1cpus=/ { sub(/^l1cpus=/, "", $3); print $3 }' "$LIST"
}
declare -a share=() load=() cpus=()
add_instance() { cpus+=("$1"); share+=(""); load+=(0); }
if [ -n "$smp" ]; then
	for ((i = 0; i < jobs; i++)); do add_instance "$smp"; done
else
	for t in ${tests//,/ }; do [ "$(needs "$t")" = 2 ] && { add_instance 2; break; }; done
	while [ "${#cpus[@]}" -lt "$jobs" ] || [ "${#cpus[@]}" -eq 0 ]; do add_instance 1; done
fi
shared=${#cpus[@]}
while read -r secs t; do
	need=$(needs "$t")
	if [ -z "$smp" ] && [ "$need" = 1 ]; then
		add_instance 1
		best=$((${#cpus[@]} - 1))
	else
		best=-1
		for ((i = 0; i < shared; i++)); do
			[ -n "$smp" ] || [ -z "$need" ] || [ "${cpus[i]}" = "$need" ] || continue
			{ [ "$best" -lt 0 ] || [ "${load[i]}" -lt "${load[best]}" ]; } && best=$i
		done
	fi
	share[best]+=",$t" load[best]=$((load[best] + secs))
done < <(for t in ${tests//,/ }; do
	echo "$(awk -v t="$t" '$1 == t { print $2 + 0; f = 1 } END { if (!f) print 30 }' "$LIST") $t"
done | sort -rn -k1,1)
n=${#cpus[@]}

# One L1: its console and result stream in DIR/console-<i>.log and
# DIR/results-<i>.log, its qemu status in DIR/qemu-<i>.status.
limit_of() { # index -> seconds
	local l=$((3 * load[$1] + 120))
	[ "$l" -ge 240 ] || l=240
	[ "$l" -le "$limit" ] || l=$limit
	l=$((l * slack))
	echo "$l"
}
# An L1 that outlives its bound has its CPUs' state written to
# DIR/hang-<i>.log through QEMU's monitor before it is killed: three samples
# a second apart of every CPU's registers (EFER without SVME, 0x1000, means
# it was running L2) and the instructions at RIP, so a hang says where.
dump_hang() { # index
	local sock=$OUT/monitor-$1.sock k
	{
		echo "L1 instance $1 passed its $(limit_of "$1") s at $(date -u +%T)"
		for k in 1 2 3; do
			echo "== sample $k"
			printf 'info cpus\ninfo registers -a\nx/8i $pc\n' |
				timeout 10 socat -t 3 - "UNIX-CONNECT:$sock" 2>&1 | tr -d '\r' | grep -v '^(qemu)\|QEMU .* monitor'| grep -v "^YMM\|^FPR"
			sleep 1
		done
	} >"$OUT/hang-$1.log" 2>&1
}
run_l1() { # index tests: one L1, once more if its kernel froze (l1_frozen)
	run_l1_once "$@"
	if [ "$(cat "$OUT/qemu-$1.status")" = 124 ] && l1_frozen "$OUT/hang-$1.log"; then
		for f in results console qemu hang; do [ ! -e "$OUT/$f-$1.log" ] || mv "$OUT/$f-$1.log" "$OUT/$f-$1.frozen.log"; done
		say "L1 instance $1 froze in its own kernel (QEMU's emulated SVM, docs/testing.md; its CPUs: $OUT/hang-$1.frozen.log): its tests run again in a new L1"
		run_l1_once "$@"
	fi
}
run_l1_once() { # index tests
	qemu_for "${cpus[$1]}"
	local sock=$OUT/monitor-$1.sock qpid wpid rc
	rm -f "$sock" "$OUT/hang-$1.log"
	"${QEMU[@]}" -monitor "unix:$sock,server,nowait" -append "$APPEND hwkvm.tests=$2" \
		-serial "file:$OUT/console-$1.log" -serial "file:$OUT/results-$1.log" </dev/null 2>"$OUT/qemu-$1.log" &
	qpid=$!
	(
		sleep "$(limit_of "$1")" & wait $!
		kill -0 "$qpid" 2>/dev/null || exit 0
		dump_hang "$1"
		kill -TERM "$qpid" 2>/dev/null; sleep 10; kill -KILL "$qpid" 2>/dev/null
	) 2>/dev/null &
	wpid=$!
	wait "$qpid"; rc=$?
	[ -s "$OUT/hang-$1.log" ] && rc=124
	pkill -P "$wpid" sleep 2>/dev/null; kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
	rm -f "$sock"
	echo "$rc" >"$OUT/qemu-$1.status"
}
start=$(date +%s) running=0 started=0
# The longest first, at most --jobs at a time.
for i in $(for ((j = 0; j < n; j++)); do echo "${load[j]} $j"; done | sort -rn | cut -d' ' -f2); do
	[ -n "${share[i]}" ] || continue
	started=$((started + 1))
	if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
	say "L1 instance $i: ${cpus[i]} CPU(s), about ${load[i]} s (at most $(limit_of "$i") s): ${share[i]#,}"
	run_l1 "$i" "${share[i]#,}" &
	running=$((running + 1))
done
wait
say "L1 ran $(($(date +%s) - start)) s in $started instance(s) ($(grep -h -m1 '^@@hwkvm kvm' "$OUT"/results-*.log 2>/dev/null | head -1 | cut -d' ' -f3- | sed 's/ cpus=[0-9]*//'))"

# Splits each result stream into one TAP log per test.
log_of() { echo "$OUT/${1//\//__}.log"; }
status=0
for ((i = 0; i < n; i++)); do
	[ -n "${share[i]}" ] || continue
	results=$OUT/results-$i.log console=$OUT/console-$i.log
	qrc=$(cat "$OUT/qemu-$i.status" 2>/dev/null || echo 1)
	current=""
	while IFS= read -r line; do
		case "$line" in
		"@@hwkvm begin "*) current=${line#@@hwkvm begin }; : >"$(log_of "$current")" ;;
		"@@hwkvm end "*)
			rc=$(echo "$line" | sed -n 's/.* rc=\([0-9]*\).*/\1/p')
			log=$(log_of "$current")
			if [ "${rc:-1}" -ne 0 ] && ! grep -q '^not ok' "$log"; then
				echo "not ok - $current exited with status $rc in L1" >>"$log"
			fi
			echo "# L1 instance $i: $current ${line##* rc=}" >>"$log"
			[ ! -f "$OUT/hang-$i.frozen.log" ] ||
				echo "# L1 instance $i ran again: its first L1 froze in its own kernel ($OUT/hang-$i.frozen.log)" >>"$log"
			[ "${rc:-1}" -eq 0 ] || status=1
			current="" ;;
		"@@hwkvm "*) ;;
		*) [ -n "$current" ] && printf '%s\n' "$line" >>"$(log_of "$current")" ;;
		esac
	done < <(tr -d '\r' <"$results" 2>/dev/null)
	if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then why="L1 ran out of its $(limit_of "$i") s (its CPUs then: $OUT/hang-$i.log)"
	elif grep -q '^@@hwkvm fail' "$results" 2>/dev/null; then why=$(grep -m1 '^@@hwkvm fail' "$results" | cut -d' ' -f3-)
	else why="L1 stopped (qemu status $qrc) before the test ended"; fi
	for t in ${share[i]//,/ }; do
		log=$(log_of "$t")
		if { [ -n "$current" ] && [ "$t" = "$current" ]; } || [ ! -f "$log" ]; then
			{
				echo "not ok - $t did not finish in L1: $why"
				echo "#   last console lines ($console):"
				tail -15 "$console" 2>/dev/null | sed 's/^/#   /'
			} >>"$log"
			status=1
		fi
	done
done
exit $status
