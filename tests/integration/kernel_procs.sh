#!/usr/bin/env bash
# Threads, processes and signals on the carve enclave kernel:
#   - tests/kernel-progs/threads.c (musl and glibc pthreads: create, join,
#     TLS, mutexes and condition variables over futexes, timed waits,
#     preemption, many threads) and procs.c (fork, copy-on-write, wait4,
#     pipes across processes, execve in a child, vfork and posix_spawn,
#     SIGCHLD, kill, orphans) and signals.c (handlers, sigaltstack,
#     sigreturn, masks, sigsuspend, sigtimedwait, restarts and EINTR, a
#     SIGSEGV handler, SIGPIPE) and ipc.c (shm_open and MAP_SHARED across
#     fork, SIGBUS past a shrunk file, named and unnamed semaphores and a
#     process-shared mutex, SCM_RIGHTS, sockets held only by each other's
#     messages in flight freed, the CPU-time clocks), creds.c
#     (SO_PEERCRED, SO_PASSCRED and SCM_CREDENTIALS on AF_UNIX sockets, as
#     Linux gives them), cputimers.c (ITIMER_PROF/ITIMER_VIRTUAL and
#     POSIX timers on CPU-time clocks, also on two vCPUs) and closing.c (a
#     pipe, socket, eventfd or epoll closed by one thread while another
#     sleeps in it: the sleeper keeps the file until its call ends, also on
#     two vCPUs), sigqueue.c (real-time signals queued with their values,
#     a standard one once, each pending signal's own sender, a child's
#     CLD_EXITED/CLD_KILLED and status, rt_sigqueueinfo's EPERM,
#     rt_tgsigqueueinfo to a thread, signalfd's records) and vdsotime.c (the
#     vDSO: AT_SYSINFO_EHDR, each clock as the system call gives it, a
#     monotonic clock that never goes back), each checking itself from the
#     inside; and, counted by carve.strace, 2,000 clock reads through the C
#     library make no clock_gettime system call (musl and glibc);
#   - Debian's busybox sh, which nobody here wrote, running scripts with
#     pipelines, subshells, command substitution, background jobs and wait,
#     and external commands followed by more script: its output and status
#     are compared with the same script run by the same busybox on the host.
# Every guest run is bounded by `timeout`.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm
. "$ROOT/tests/lib/carve_kernel.sh"
BOOT_TIMEOUT=180

why=$(kernel_missing threads)
if [ -n "$why" ]; then
	skip "threads, processes and signals on the carve kernel" "$why"
	finish
fi

RFS=$TMP/rootfs
mkdir -p "$RFS/bin"
for p in threads procs signals ipc creds cputimers closing sigqueue vdsotime hello; do
	[ -x "$PROGS/musl/$p" ] && cp "$PROGS/musl/$p" "$RFS/bin/$p"
	[ -x "$PROGS/glibc/$p" ] && cp "$PROGS/glibc/$p" "$RFS/bin/g$p"
done
run_prog() {
	"$MKINITRD" -o "$TMP/app.cpio" -e PATH=/bin "$RFS" "$@" || return 1
	kboot "$TMP/app.cpio"
}

# each_libc PROG LABEL [ARGS...]: the musl build (PROG) and the glibc one
# (gPROG), each where it was built, booted with ARGS, checking themselves.
each_libc() {
	local prog=$1 label=$2 p
	shift 2
	for p in "$prog" "g$prog"; do
		[ -x "$RFS/bin/$p" ] || continue
		run_prog "/bin/$p" "$@"
		self_checks "$label ($([ "$p" = "$prog" ] && echo musl || echo glibc))"
	done
}
each_libc threads threads 64
each_libc procs processes
each_libc signals signals
each_libc ipc "shared memory, semaphores, SCM_RIGHTS, CPU time"
each_libc creds "SO_PEERCRED, SO_PASSCRED, SCM_CREDENTIALS"
each_libc cputimers "timers on CPU time"
# The same on two vCPUs, where a process's threads run at once.
CPUS=2 run_prog /bin/cputimers
self_checks "timers on CPU time (musl, 2 vCPUs)"
each_libc sigqueue "queued signals and their siginfo"
each_libc vdsotime "the vDSO's clocks"
for p in vdsotime gvdsotime; do
	"$MKINITRD" -o "$TMP/app.cpio" -e PATH=/bin "$RFS" "/bin/$p" loop 2000
	kboot "$TMP/app.cpio" carve.strace
	calls=$(grep -c '^\[[0-9]*\] 228(' "$TMP/console")
	same "$p: 2,000 clock reads through the C library, clock_gettime system calls the kernel saw" \
		"$(output | grep -c '^read the clock 2000 times') $([ "$calls" -lt 20 ] && echo 'under 20' || echo "$calls")" "1 under 20"
done
each_libc closing "a file closed under a sleeper"
CPUS=2 run_prog /bin/closing
self_checks "a file closed under a sleeper (musl, 2 vCPUs)"

# terminate asks first: the VMM presses Ctrl-Alt-Del once the kernel has
# enabled the keyboard's interrupt (kbd.c), the kernel sends SIGTERM to pid 1,
# here busybox sh running a service whose TERM trap cleans up and exits 9;
# that status reaches the event log. A service that ignores SIGTERM is
# stopped when the host's wait (8 s) is over.
BB=$(static_busybox)
terminate_case() { # NAME TRAP
	local name=$1 dir=$TMP/term-$1 id log
	mkdir -p "$dir/bin"
	cp "$BB" "$dir/bin/busybox"
	for t in sh echo sleep; do ln -s busybox "$dir/bin/$t"; done
	printf '%s\n' "trap '$2' TERM" 'echo "service: ready"' 'while :; do sleep 0.2; done' >"$dir/bin/service"
	CARVE_BLOBS=$ROOT/build/guest "$CARVE" build-enclave --rootfs "$dir" --cmd "/bin/sh /bin/service" \
		--env PATH=/bin --output-file "$TMP/$name.eif" >/dev/null 2>"$TMP/$name.build" || return 1
	timeout 120 "$CARVE" run-enclave --eif-path "$TMP/$name.eif" --memory 128 --cpu-count 1 \
		--enclave-name "$name" --debug-mode >"$TMP/$name.json" 2>"$TMP/$name.err" || return 1
	timeout 60 "$CARVE" console --enclave-name "$name" >"$TMP/$name.raw" 2>&1 &
	local reader=$!
	for _ in $(seq 300); do
		tr -d '\r' <"$TMP/$name.raw" | grep -q '^service: ready' && break
		sleep 0.1
	done
	"$CARVE" terminate-enclave --enclave-name "$name" >"$TMP/$name.term" 2>&1
	wait "$reader"
	tr -d '\r' <"$TMP/$name.raw" >"$TMP/$name.console"
	id=$(sed -n 's/.*"EnclaveID": "\([^"]*\)".*/\1/p' "$TMP/$name.json")
	log=$CARVE_SOCKETS_DIR/${id##*-enc}.log
	for _ in $(seq 100); do grep -q 'resources released' "$log" 2>/dev/null && break; sleep 0.1; done
	cp "$log" "$TMP/$name.log" 2>/dev/null
}
if [ -z "$BB" ]; then
	skip "terminate asks the carve kernel first" "no static busybox on this host (busybox-static)"
else
	export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state
	terminate_case polite 'echo "service: got SIGTERM, cleaning up"; exit 9'
	grep -q 'asked the guest to shut down (Ctrl-Alt-Del' "$TMP/polite.log"
	tap_result $? "terminate asks the carve kernel first (event log)" "$TMP/polite.log"
	grep -q '^service: got SIGTERM, cleaning up' "$TMP/polite.console"
	tap_result $? "the kernel turns Ctrl-Alt-Del into SIGTERM for pid 1: its trap ran (console)" "$TMP/polite.console"
	grep -q 'stopped: the program exited with status 9' "$TMP/polite.log"
	tap_result $? "the program's own status after SIGTERM reaches the event log" "$TMP/polite.log"
	terminate_case stubborn ''
	grep -q 'did not shut down' "$TMP/stubborn.log" && grep -q 'stopped: stopped-by-host' "$TMP/stubborn.log"
	tap_result $? "a program that ignores SIGTERM is stopped when the host's wait is over" "$TMP/stubborn.log"
	"$CARVE" terminate-enclave --all >/dev/null 2>&1
fi

# busybox sh: the same script here and in the enclave, output and status.
if [ -z "$BB" ]; then
	skip "busybox sh scripts" "no static busybox on this host (busybox-static)"
	finish
fi
BRFS=$TMP/bbroot
mkdir -p "$BRFS/bin" "$BRFS/tmp"
cp "$BB" "$BRFS/bin/busybox"
for a in sh echo cat wc tr sort seq head tail true false sleep expr grep sed; do ln -s busybox "$BRFS/bin/$a"; done
# sh_same NAME SCRIPT: runs SCRIPT (a file: cmd holds one argument a line)
# under busybox sh on the host (PATH of busybox applets only) and in the
# enclave; output and status must match.
sh_same() {
	local name=$1 script=$2 host hstatus
	mkdir -p "$TMP/hostbin"
	for a in sh echo cat wc tr sort seq head tail true false sleep expr grep sed; do ln -sf "$BB" "$TMP/hostbin/$a"; done
	printf '%s\n' "$script" >"$BRFS/script.sh"
	host=$(cd "$TMP" && PATH=$TMP/hostbin "$BB" sh "$BRFS/script.sh" 2>&1)
	hstatus=$?
	"$MKINITRD" -o "$TMP/bb.cpio" -e PATH=/bin "$BRFS" /bin/sh /script.sh || return 1
	kboot "$TMP/bb.cpio"
	same "busybox sh: $name" "$(output)|$(status)" "$host|$hstatus" || sh_differs=1
}
sh_differs=0
sh_same "a pipeline of three commands" 'seq 1 200 | grep 7 | wc -l'
sh_same "command substitution" 'x=$(echo inner; echo second); echo "got [$x]"'
sh_same "nested command substitution and arithmetic" 'echo $(( $(seq 1 10 | wc -l) * $(echo 3) ))'
sh_same "a subshell's exit status and its own variables" 'v=outer; (v=inner; echo $v; exit 3); echo "status $? v=$v"'
sh_same "an external command followed by more script" 'true; echo after true; false || echo after false; echo end'
sh_same "a loop of pipelines" 'for i in 1 2 3 4 5; do echo "line $i" | tr a-z A-Z; done | sort -r | head -2'
sh_same "background jobs and wait" 'sleep 0.2 & p1=$!; (echo bg; exit 4) & p2=$!; wait $p2; echo "bg status $?"; wait $p1; echo "sleep status $?"'
sh_same "a here-document through a pipe" 'cat <<EOF | sed s/world/enclave/
hello world
EOF'
sh_same "exit status of a pipeline is its last command's" 'false | true; echo "status $?"; true | false; echo "status $?"'
sh_same "the script's own exit status" 'echo done; exit 7'
sh_same "a pipe to head closes early (the writer gets SIGPIPE)" 'seq 1 100000 | head -3; echo after'
program_row busybox-sh "$([ "$sh_differs" = 0 ] && echo "same output as on the host" || echo fails)"
finish
