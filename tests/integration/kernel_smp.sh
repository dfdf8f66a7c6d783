#!/usr/bin/env bash
# SMP in the carve enclave kernel: tests/kernel-progs/smp.c (musl and glibc)
# on 2 and 4 vCPUs checks itself from the inside: every interface a program
# sizes itself by shows the vCPUs (sysconf, sched_getaffinity, /sys, /proc/cpuinfo,
# getcpu), sched_setaffinity is honoured, two spinning threads are on two
# CPUs at the same time, a futex ping-pong between threads pinned to CPUs 0
# and 1, fork/wait with signals to children spinning on other CPUs, exact
# counts from 8 threads (atomic and mutex), and a munmap/mprotect race that
# needs the TLB shootdown (a thread's access after the call returned must
# fault). Go's and Rust's runtimes run their threads on 4 vCPUs. With
# carve.nosmp the same program on 2 vCPUs sees exactly one. A signal to a
# thread spinning in user mode on another CPU is taken at once, not at its
# next time slice (smp.c's signal mode, with 30 s slices).
# CARVE_TEST_SLOW=1 adds the threads, processes and signals programs
# (tests/integration/kernel_procs.sh's) on 4 vCPUs.
# Every guest run is bounded by `timeout`.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm
. "$ROOT/tests/lib/carve_kernel.sh"
BOOT_TIMEOUT=300

why=$(kernel_missing smp)
if [ -n "$why" ]; then
	skip "SMP in the carve kernel" "$why"
	finish
fi

RFS=$TMP/rootfs
mkdir -p "$RFS/bin"
for p in smp threads procs signals hello; do
	[ -x "$PROGS/musl/$p" ] && cp "$PROGS/musl/$p" "$RFS/bin/$p"
	[ -x "$PROGS/glibc/$p" ] && cp "$PROGS/glibc/$p" "$RFS/bin/g$p"
done
# run_prog CMDLINE ARGV...: boots the program with $CPUS vCPUs.
run_prog() {
	local cmdline=$1
	shift
	"$MKINITRD" -o "$TMP/app.cpio" -e PATH=/bin "$RFS" "$@" || return 1
	kboot "$TMP/app.cpio" "$cmdline"
}

for CPUS in 2 4; do
	for libc in musl glibc; do
		p=smp
		[ "$libc" = glibc ] && p=gsmp
		run_prog "" "/bin/$p" "$CPUS"
		self_checks "smp ($libc, $CPUS vCPUs)"
	done
done

# Runtimes nobody here wrote, their threads on 4 vCPUs: the same output as
# on the host (tests/integration/kernel_programs.sh runs them on one).
CPUS=4
for id in go-goroutines rust-threads; do
	bin=$PROGS/../programs/$id
	if [ ! -x "$bin" ]; then
		skip "$id on $CPUS vCPUs" "not built: no $([ "$id" = go-goroutines ] && echo go || echo rustc) when make ran (scripts/setup.sh installs it)"
		continue
	fi
	cp "$bin" "$RFS/bin/$id"
	host=$("$bin" 2>&1)
	run_prog "" "/bin/$id"
	same "$id on $CPUS vCPUs: output and status as on the host" "$(output)|$(status)" "$host|0"
done

# With carve.nosmp, which wins over carve.smp (the default, still accepted
# by name), the other vCPU stays waiting for INIT/SIPI and every interface
# says one CPU.
CPUS=2
run_prog carve.nosmp /bin/smp 1
self_checks "smp (musl, 2 vCPUs, carve.nosmp)"
run_prog "carve.smp carve.nosmp" /bin/smp 1
self_checks "smp (musl, 2 vCPUs, carve.smp carve.nosmp)"
run_prog carve.smp /bin/smp 2
self_checks "smp (musl, 2 vCPUs, carve.smp named)"

# A signal to a thread spinning in user mode on another CPU: the sender's
# CPU brings it into the kernel with an IPI. With 30 s time slices
# (carve.slice_ms; where the LAPIC timer cannot count that far, as in the
# bed, a slice still lasts about 4 s), a handler that runs within the
# program's 1 s wait can only have been brought by that IPI, not by the
# spinner's next slice: without it both checks fail.
CPUS=2
for libc in musl glibc; do
	p=smp
	[ "$libc" = glibc ] && p=gsmp
	run_prog carve.slice_ms=30000 "/bin/$p" 2 signal
	self_checks "a signal to a thread spinning on another CPU ($libc, 30 s slices)"
done

# A hung enclave asked where it is: carve vmm on SIGQUIT stops it and prints
# each vCPU's state (docs/vmm.md). A program spinning in main on 2 vCPUs:
# one vCPU runnable at CPL 3 with its RIP inside main, the other halted in
# the kernel's idle loop, which symbolize (tests/lib/carve_kernel.sh) names
# from the kernel's symbols.
cp "$PROGS/musl/crash" "$RFS/bin/crash"
"$MKINITRD" -o "$TMP/app.cpio" -e PATH=/bin "$RFS" /bin/crash spin
timeout -k 5 120 "$VMM" vmm --kernel "$KERNEL" --initrd "$TMP/app.cpio" --memory 256 --cpus 2 \
	</dev/null >"$TMP/q.out" 2>"$TMP/q.err" &
pid=$!
wait_for_line "$TMP/q.out" '^spinning' 120
kill -QUIT "$pid"
wait "$pid"
rc=$?
{ tail -5 "$TMP/q.out"; cat "$TMP/q.err"; } >"$TMP/q.diag"
# (Not killed by the signal, nor by timeout: status below 124.)
same "SIGQUIT: carve stops the VM (stopped by the host) and exits" \
	"$([ "$rc" -lt 124 ] && echo exited) $(grep -c 'the VM stopped (stopped-by-host)' "$TMP/q.err")" "exited 1"
same "SIGQUIT: both vCPUs' registers and stacks" "$(grep -c '^vmm: vCPU [01]: \(rax \|r8 \|stack: \)' "$TMP/q.err")" 6
user=$(sed -n 's/^vmm: vCPU [01]: runnable, rip 0x\([0-9a-f]*\) cpl 3 .*/\1/p' "$TMP/q.err")
main_at=$(nm -n "$PROGS/musl/crash" | awk '$3 == "main" { print $1; getline; print $1 }' | paste -sd' ')
in_main=no
if [ -n "$user" ] && [ -n "$main_at" ]; then
	user=$(printf '%016x' "0x$user")
	[[ ! "$user" < "${main_at% *}" ]] && [[ "$user" < "${main_at#* }" ]] && in_main=yes
fi
same "SIGQUIT: the spinning vCPU at CPL 3, its RIP in main ($main_at)" "$in_main" yes
symbolize <"$TMP/q.err" >"$TMP/q.sym"
cat "$TMP/q.sym" >>"$TMP/q.diag"
grep -q '^vmm: vCPU [01]: halted, rip 0x[0-9a-f]* cpl 0 ' "$TMP/q.err" &&
	grep -q '^# vCPU [01] at cpu_idle+0x' "$TMP/q.sym"
tap_result $? "SIGQUIT: the other vCPU halted in the kernel's cpu_idle" "$TMP/q.diag"

if [ "${CARVE_TEST_SLOW:-0}" = 1 ]; then
	CPUS=4
	for libc in musl glibc; do
		g=""
		[ "$libc" = glibc ] && g=g
		run_prog "" "/bin/${g}threads" 64
		self_checks "threads ($libc, $CPUS vCPUs)"
		run_prog "" "/bin/${g}procs"
		self_checks "processes ($libc, $CPUS vCPUs)"
		run_prog "" "/bin/${g}signals"
		self_checks "signals ($libc, $CPUS vCPUs)"
	done
fi

finish
