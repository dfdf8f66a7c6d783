#!/usr/bin/env bash
# The carve enclave kernel end to end: boot it in the VMM with application
# ramdisks laid out as nitro-cli does (cmd, env, rootfs/) and check what the
# program printed, its exit status, what it read from the ramdisk, its argv
# and environment, the fault reports, and third-party static programs
# (Debian's busybox-static) running unmodified (dynamic ones: kernel_dynamic.sh).
#
# The exit status is read from the console line "carve: exit status N" the
# kernel prints (the kernel also writes it to the carve exit port 0xF4 for a
# VMM that reads it). Every guest run is bounded by `timeout`.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm

. "$ROOT/tests/lib/carve_kernel.sh"
CACHE=${CARVE_CACHE:-$ROOT/cache}

why=$(kernel_missing hello)
if [ -n "$why" ]; then
	skip "carve enclave kernel tests" "$why"
	finish
fi

# A rootfs with the test programs (musl builds as NAME, glibc builds as gNAME).
RFS=$TMP/rootfs
mkdir -p "$RFS/bin" "$RFS/etc"
for p in "$PROGS"/musl/*; do cp "$p" "$RFS/bin/"; done
for p in "$PROGS"/glibc/*; do cp "$p" "$RFS/bin/g$(basename "$p")"; done
cp "$PROGS/glibc-pie/hello" "$RFS/bin/pie-hello"
printf 'carve motd\n' >"$RFS/etc/motd"

# run_prog [-e ENV]... ARGV...: builds the ramdisk and boots it.
run_prog() {
	local envs=()
	while [ "${1:-}" = "-e" ]; do envs+=(-e "$2"); shift 2; done
	"$MKINITRD" -o "$TMP/app.cpio" ${envs[@]+"${envs[@]}"} "$RFS" "$@" || return 1
	kboot "$TMP/app.cpio"
}

run_prog /bin/hello
same "musl static hello: output" "$(output)" "hello from carve"
same "musl static hello: exit status 0" "$(status)" "0"
same "the VM powers off after the program exits" "$(cat "$TMP/rc")" "0"

run_prog /bin/ghello
same "glibc static hello: output" "$(output)" "hello from carve"
same "glibc static hello: exit status 0" "$(status)" "0"

run_prog /bin/pie-hello
same "glibc static-pie hello runs" "$(output)|$(status)" "hello from carve|0"

run_prog -e "A=1" -e "B=two words" showargs "first arg" second
same "argv from cmd, argv[0] found along PATH" "$(output | grep '^argv')" \
	"$(printf 'argv[0]=showargs\nargv[1]=first arg\nargv[2]=second')"
same "envp from env, one entry per line" "$(output | grep '^env=')" "$(printf 'env=A=1\nenv=B=two words')"

run_prog gshowargs ""
same "an empty argument survives (glibc)" "$(output | grep '^argc')|$(output | grep -c '^argv\[1\]=$')" "argc=2|1"

run_prog /bin/sysprobe
while read -r line; do
	case $line in
	"ok "*) tap_result 0 "musl system calls: ${line#ok }" ;;
	"FAIL "*) echo "# $line"; tap_result 1 "musl system calls: ${line#FAIL }" ;;
	esac
done < <(output)
same "musl system-call probe: no failures" "$(status)" "0"

run_prog /bin/gsysprobe
same "glibc system-call probe: no failures" "$(output | grep FAIL)|$(status)" "|0"

# Event and IPC descriptors (evprobe.c: pipes, eventfd, timerfd, epoll,
# poll/select, AF_UNIX socket pairs, memfd, flock, mkfifo, membarrier...),
# each check its own test; "carve" adds the answers of a file system without
# xattrs.
run_prog /bin/evprobe carve
while read -r line; do
	case $line in
	"ok "*) tap_result 0 "musl events and IPC: ${line#ok }" ;;
	"FAIL "*) echo "# $line"; tap_result 1 "musl events and IPC: ${line#FAIL }" ;;
	esac
done < <(output)
same "musl events and IPC probe: ran to the end, no failures" "$(output | tail -1)|$(status)" "evprobe: 0 failures|0"
run_prog /bin/gevprobe carve
same "glibc events and IPC probe: no failures" "$(output | grep FAIL)|$(output | tail -1)|$(status)" \
	"|evprobe: 0 failures|0"

# An epoll loop over a socket pair, an eventfd and a timerfd prints what it
# prints on the host (the same binary, run here first).
for lib in musl glibc; do
	want=$("$PROGS/$lib/evloop" 2>&1)
	prog=/bin/evloop
	[ $lib = glibc ] && prog=/bin/gevloop
	run_prog "$prog"
	same "$lib event loop (epoll, socketpair, eventfd, timerfd) prints as on the host" "$(output)|$(status)" \
		"$want|0"
done

run_prog /bin/crash segv
same "NULL write: exit status 139 (SIGSEGV)" "$(status)" "139"
grep -q 'killed by SIGSEGV: page fault at rip [0-9a-f]*, address 0$' "$TMP/console"
tap_result $? "NULL write: report names SIGSEGV and address 0" "$TMP/console"
grep -q 'cr2 0000000000000000 (write, not present, user mode)' "$TMP/console" && grep -q '^  rax ' "$TMP/console"
tap_result $? "NULL write: report shows CR2, access type and registers" "$TMP/console"

run_prog /bin/crash ill
same "UD2: exit status 132 (SIGILL)" "$(status)" "132"
run_prog /bin/gcrash div
same "divide by zero: exit status 136 (SIGFPE), glibc" "$(status)" "136"
run_prog /bin/crash abort
same "abort(): exit status 134 (SIGABRT)" "$(status)" "134"
run_prog /bin/gcrash exit 42
same "exit(42): exit status 42" "$(status)" "42"
# A VMM with the carve exit port (0xF4) exits with the program's status.
if [ "$(cat "$TMP/rc")" = 42 ]; then
	tap_result 0 "exit port: the VMM exits with the program's status 42"
	run_prog /bin/crash segv
	same "exit port: a SIGSEGV'd program makes the VMM exit 139" "$(cat "$TMP/rc")" "139"
	run_prog /bin/hello
	same "exit port: status 0 makes the VMM exit 0" "$(cat "$TMP/rc")" "0"
else
	skip "exit port: the VMM exits with the program's status" "this VMM does not read port 0xF4 (exited $(cat "$TMP/rc"))"
fi

# The memory map (guest/kernel/vma.c): a malloc/free loop of mixed sizes (its
# time printed), Linux's mapping limit (vm.max_map_count, 65530), splits by
# mprotect, munmap and MAP_FIXED, and mremap; musl and glibc builds.
for libc in musl glibc; do
	p=vmatest
	[ "$libc" = glibc ] && p=gvmatest
	run_prog /bin/$p malloc 400000
	echo "# $libc $(output | grep '^malloc:' || echo 'malloc: no time printed')"
	same "memory map ($libc): malloc/free loop of 400k operations" \
		"$(output | grep -c '^ok malloc loop')|$(status)" "1|0"
	# 140,000 system calls: minutes where every kernel instruction is
	# emulated (a PVM host); the bed's hardware KVM runs it in every run.
	if [ -d /sys/module/kvm_pvm ] && [ -z "${CARVE_TEST_SLOW:-}" ]; then
		skip "memory map ($libc): 70000 mmaps end in ENOMEM near 65530" \
			"over 2 min under this host's PVM (kernel code emulated); the bed runs it, CARVE_TEST_SLOW=1 here"
	else
		BOOT_TIMEOUT=600 run_prog /bin/$p maps 70000
		echo "# $libc $(output | grep '^maps:' || echo 'maps: nothing printed')"
		same "memory map ($libc): 70000 mmaps of alternating protection end in ENOMEM near 65530" \
			"$(output | grep FAIL)|$(status)" "|0"
	fi
	run_prog /bin/$p split
	while read -r line; do
		case $line in
		"ok "*) tap_result 0 "memory map ($libc): ${line#ok }" ;;
		"FAIL "*) echo "# $line"; tap_result 1 "memory map ($libc): ${line#FAIL }" ;;
		esac
	done < <(output)
	same "memory map ($libc): split and mremap checks ran, no failures" \
		"$(output | grep -c '^ok ')|$(status)" "22|0"
done
run_prog /bin/vmatest segv
same "memory map: writing the read-only middle of a mapping is SIGSEGV, its sides stay writable" \
	"$(output | grep -c '^sides written')|$(status)" "1|139"

run_prog /bin/nsmcheck
same "libnsm links into a static program; no /dev/nsm yet, said cleanly" "$(output)|$(status)" "nsm: no /dev/nsm (No such file or directory)|0"

run_prog /bin/nothere
same "missing program: status 127" "$(status)" "127"
grep -q 'cannot run /bin/nothere: no such file' "$TMP/console"
tap_result $? "missing program: says so" "$TMP/console"

cp "$(type -P true)" "$RFS/bin/dyn-true"
run_prog /bin/dyn-true
grep -q 'its interpreter (PT_INTERP) cannot be run' "$TMP/console" && [ "$(status)" = 127 ]
tap_result $? "dynamic program whose interpreter is not in the ramdisk: status 127, says so" "$TMP/console"
rm "$RFS/bin/dyn-true"

# Malformed programs are refused with a reason, before anything is mapped.
H=$RFS/bin/hello
head -c 100 "$H" >"$RFS/bin/bad-short"; chmod +x "$RFS/bin/bad-short"
# e_phoff pointing past the end of the file.
cp "$H" "$RFS/bin/bad-phoff"; printf '\xff\xff\xff\x7f' | dd of="$RFS/bin/bad-phoff" bs=1 seek=32 conv=notrunc 2>/dev/null
# e_machine = 183 (aarch64).
cp "$H" "$RFS/bin/bad-machine"; printf '\xb7\x00' | dd of="$RFS/bin/bad-machine" bs=1 seek=18 conv=notrunc 2>/dev/null
# The first program header's p_filesz made huge.
phoff=$(od -An -t u8 -j 32 -N 8 "$H" | tr -d ' ')
cp "$H" "$RFS/bin/bad-filesz"; printf '\xff\xff\xff\xff\xff\x00\x00\x00' | dd of="$RFS/bin/bad-filesz" bs=1 seek=$((phoff + 32)) conv=notrunc 2>/dev/null
printf '#!\n' >"$RFS/bin/script"; chmod +x "$RFS/bin/script"
cp "$H" "$RFS/bin/noexec"; chmod -x "$RFS/bin/noexec"
for b in bad-short:"program headers" bad-phoff:"program headers" bad-machine:"x86-64" bad-filesz:"PT_LOAD segment is malformed" \
	script:"names no interpreter" noexec:"not executable"; do
	run_prog "/bin/${b%%:*}"
	grep -q "cannot run /bin/${b%%:*}: .*${b#*:}" "$TMP/console" && [ "$(status)" = 126 ]
	tap_result $? "malformed program ${b%%:*} refused: ${b#*:}, status 126" "$TMP/console"
done
rm -f "$RFS"/bin/bad-* "$RFS/bin/script" "$RFS/bin/noexec"

head -c 4096 /dev/urandom >"$TMP/garbage.cpio"
kboot "$TMP/garbage.cpio"
grep -q 'carve: kernel panic: ' "$TMP/console" && [ "$(status)" = 255 ]
tap_result $? "a malformed initrd is a kernel panic with status 255" "$TMP/console"

# Two archives back to back, as the EIF's bootstrap and application ramdisks
# arrive: the first holds only bootstrap files, with zero padding after it.
mkdir -p "$TMP/boot"
printf 'not ours\n' >"$TMP/boot/init"
(cd "$TMP/boot" && echo init | cpio -o -H newc --quiet) >"$TMP/boot.cpio"
"$MKINITRD" -o "$TMP/app.cpio" "$RFS" /bin/hello
cat "$TMP/boot.cpio" <(head -c 512 /dev/zero) "$TMP/app.cpio" >"$TMP/both.cpio"
kboot "$TMP/both.cpio" "carve.debug"
same "concatenated ramdisks: the program runs" "$(output)|$(status)" "hello from carve|0"
grep -q 'initrd: 2 archives' "$TMP/console"
tap_result $? "concatenated ramdisks: both archives read (carve.debug)" "$TMP/console"
grep -q 'no vsock device: no heartbeat' "$TMP/console"
tap_result $? "no vsock device: heartbeat skipped and said so in debug mode" "$TMP/console"

kboot "$TMP/app.cpio" "virtio_mmio.device=4K@0xd0000000:5 carve.debug"
grep -q 'no virtio-mmio v2 device at 0xd0000000; skipped' "$TMP/console" && [ "$(status)" = 0 ]
tap_result $? "a virtio_mmio.device= slot with no device behind it is skipped; the program runs" "$TMP/console"

# The whole path: carve build-enclave packs the kernel and the ramdisks into
# an EIF, the VMM boots the EIF (once it reads EIFs).
BUILDER=
for c in "${CARVE:-}" "$ROOT/build/bin/carve"; do
	if [ -n "$c" ] && "$c" build-enclave --help >/dev/null 2>&1; then BUILDER=$c; break; fi
done
"$VMM" vmm --eif-path "$TMP/none.eif" --memory 64 --cpus 1 >"$TMP/eifprobe" 2>&1
if [ -z "$BUILDER" ]; then
	skip "EIF built by build-enclave boots the carve kernel" "no carve binary with build-enclave"
elif grep -q 'not available' "$TMP/eifprobe"; then
	skip "EIF built by build-enclave boots the carve kernel" "this VMM cannot boot EIFs yet (--eif-path)"
else
	CARVE_BLOBS=$ROOT/build/guest "$BUILDER" build-enclave --rootfs "$RFS" --cmd "/bin/showargs from-eif" \
		--env E=1 --output-file "$TMP/app.eif" >/dev/null 2>"$TMP/build-err"
	timeout 120 "$VMM" vmm --eif-path "$TMP/app.eif" --memory 256 --cpus 1 >"$TMP/console" 2>"$TMP/vmm-err"
	same "EIF built by build-enclave boots the carve kernel" "$(output | tr '\n' '|')|$(status)" \
		"argc=2|argv[0]=/bin/showargs|argv[1]=from-eif|env=E=1||0"
	# With the VMM's NSM device: /dev/nsm through the kernel's virtio-nsm
	# driver, used by libnsm.
	CARVE_BLOBS=$ROOT/build/guest "$BUILDER" build-enclave --rootfs "$RFS" --cmd "/bin/nsmcheck" \
		--output-file "$TMP/nsm.eif" >/dev/null 2>"$TMP/build-err"
	timeout 120 "$VMM" vmm --eif-path "$TMP/nsm.eif" --memory 256 --cpus 1 --verbose >"$TMP/console" 2>"$TMP/vmm-err"
	if grep -q 'heartbeat' "$TMP/vmm-err"; then
		grep -q 'heartbeat ok' "$TMP/vmm-err"
		tap_result $? "heartbeat: the kernel's 0xB7 over vsock reaches the parent (CID 3, port 9000)" "$TMP/vmm-err"
	else
		skip "heartbeat over vsock" "this VMM attaches no vsock device"
	fi
	if grep -q 'no /dev/nsm' "$TMP/console"; then
		skip "/dev/nsm: libnsm GetRandom and DescribeNSM through virtio-nsm" "this VMM attaches no NSM device"
	else
		same "/dev/nsm: libnsm GetRandom through virtio-nsm" "$(output | grep GetRandom)" "nsm: GetRandom -> 0, 256 bytes"
		output | grep -q '^nsm: DescribeNSM -> 0, module i-.*, 32 PCRs$' && [ "$(status)" = 0 ]
		tap_result $? "/dev/nsm: DescribeNSM answers with a module id and 32 PCRs" "$TMP/console"
		pcr0=$("$BUILDER" describe-eif --eif-path "$TMP/nsm.eif" 2>/dev/null | sed -n 's/.*"PCR0": "\([0-9a-f]*\)".*/\1/p')
		same "/dev/nsm: PCR0 inside the enclave is describe-eif's PCR0, locked" "$(output | grep PCR0)" "nsm: PCR0 locked $pcr0"
		output | grep -q '^nsm: Attestation -> 0, [0-9]* bytes$' && output | grep -q '^nsm: document starts 8444a1013822$'
		tap_result $? "/dev/nsm: an attestation document (COSE_Sign1, ES384) for user data and a nonce" "$TMP/console"
	fi
fi

# Third-party static programs, unmodified: Debian's busybox-static
# ($CARVE_BUSYBOX where the caller has one, as the hardware-KVM bed does).
BB=${CARVE_BUSYBOX:-$CACHE/busybox/bin/busybox}
if [ ! -x "$BB" ]; then
	mkdir -p "$CACHE/debs"
	(cd "$CACHE/debs" && timeout 120 apt-get download busybox-static >/dev/null 2>&1)
	deb=$(ls "$CACHE"/debs/busybox-static_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] && dpkg-deb -x "$deb" "$CACHE/busybox"
fi
if [ -x "$BB" ]; then
	BRFS=$TMP/bbroot
	mkdir -p "$BRFS/bin" "$BRFS/etc/sub"
	cp "$BB" "$BRFS/bin/busybox"
	printf 'carve motd\n' >"$BRFS/etc/motd"
	printf 'one\ntwo\nthree\n' >"$BRFS/etc/sub/lines"
	ln -s busybox "$BRFS/bin/sh"
	ln -s busybox "$BRFS/bin/cat"
	cp "$PROGS/musl/showargs" "$BRFS/bin/showargs"
	bb() { "$MKINITRD" -o "$TMP/bb.cpio" -e PATH=/bin "$BRFS" "$@" && kboot "$TMP/bb.cpio"; }
	bb busybox echo hello from busybox
	same "busybox echo" "$(output)|$(status)" "hello from busybox|0"
	bb busybox ls -1 /
	same "busybox ls / lists the ramdisk root" "$(output | tr '\n' ' ')" "bin dev etc proc run sys tmp var "
	bb busybox cat /etc/motd
	same "busybox cat reads a ramdisk file" "$(output)" "carve motd"
	bb busybox sha256sum /bin/busybox
	same "busybox sha256sum of itself matches the host's" "$(output | cut -d' ' -f1)" "$(sha256sum "$BB" | cut -d' ' -f1)"
	bb busybox wc -l /etc/sub/lines
	same "busybox wc" "$(output | tr -s ' ')" "3 /etc/sub/lines"
	bb busybox find /etc -type f
	same "busybox find walks directories" "$(output | sort | tr '\n' ' ')" "/etc/motd /etc/sub/lines "
	bb sh -c 'x=$((6*7)); echo "answer $x"; cd /etc/sub; pwd; echo data >/tmp/f; read v </tmp/f; echo "read $v"'
	same "busybox sh (through a symlink): arithmetic, cd, files in /tmp" "$(output | tr '\n' '|')" "answer 42|/etc/sub|read data|"
	bb busybox sh -c 'exit 7'
	same "busybox sh exit status 7" "$(status)" "7"
	bb sh -c 'echo piped >/tmp/p; cat /tmp/p'
	same "execve: busybox sh runs its last command (an applet) by exec" "$(output)|$(status)" "piped|0"
	bb sh -c 'X=1 exec showargs "a b"'
	same "execve: sh execs a program along PATH with argv and env" "$(output | grep -v '^env=\(PATH\|SHLVL\|PWD\)=' | tr '\n' '|')" "argc=2|argv[0]=showargs|argv[1]=a b|env=X=1|"
	cp "$PROGS/musl/bench" "$BRFS/bin/bench"
	bb sh -c 'exec /bin/bench fault 2000'
	same "execve: the new image gets fresh memory (8 MiB of faults after exec)" "$(output | cut -d' ' -f1-2)|$(status)" "fault: 2000|0"
	bb sh -c 'exec /bin/nothere'
	same "execve of a missing file fails and the shell reports it" "$(status)" "127"
	printf '#!/bin/sh -e\necho "script args: $*"\nexit 5\n' >"$BRFS/bin/start.sh"
	chmod +x "$BRFS/bin/start.sh"
	bb start.sh one two
	same "a #! script as cmd runs under its interpreter (found along PATH)" "$(output)|$(status)" "script args: one two|5"
	bb busybox uname -sm
	same "busybox uname" "$(output)" "Linux x86_64"
else
	skip "busybox-static programs" "apt-get download busybox-static failed (no Debian mirror?)"
fi

finish
