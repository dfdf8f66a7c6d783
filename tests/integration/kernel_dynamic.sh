#!/usr/bin/env bash
# Dynamically linked programs on the carve enclave kernel, none written here:
# this host's Debian ls, sha256sum, nproc, cat and python3.11, each with the
# shared libraries ldd names and glibc's interpreter, run in the enclave and
# compared with the same run on the host (ls, sha256sum, python's output,
# its threads and its multiprocessing; one runs through execve). Then the
# /proc and /sys files runtimes size themselves with, checked against the
# VM's configuration (--cpus 2, --memory 512): /proc/self/maps in Linux's
# format naming the program, ld.so, libc and the stack; /proc/cpuinfo with a block per vCPU and the CPU's
# vendor; nproc, os.cpu_count() and sched_getaffinity giving 2;
# /proc/self/status and /proc/meminfo with values in range. Last, a program
# whose interpreter is not an ELF file is refused with status 126 and why.
# Every guest run is bounded by `timeout`.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm

. "$ROOT/tests/lib/carve_kernel.sh"
CPUS=2 MEM=512 BOOT_TIMEOUT=300
PYTHON=$(readlink -f /usr/bin/python3 2>/dev/null || true)
why=$(kernel_missing)
command -v ldd >/dev/null || why=${why:-"no ldd on this host"}
[ -x "$PYTHON" ] || why=${why:-"no /usr/bin/python3 on this host"}
[ -e /lib64/ld-linux-x86-64.so.2 ] || why=${why:-"no /lib64/ld-linux-x86-64.so.2 on this host"}
if [ -n "$why" ]; then
	skip "dynamic programs on the carve kernel" "$why"
	finish
fi


# A Debian-like root (tests/lib/carve_kernel.sh) with host files at their own paths.
RFS=$TMP/rootfs
debian_root "$RFS"
for p in ls sha256sum nproc cat; do
	path=$(type -P "$p")
	copy_elf "$RFS" "$path"
done
copy_python "$RFS" "$PYTHON"
[ -e "$RFS/lib64/ld-linux-x86-64.so.2" ] || echo "# the interpreter was not copied" >&2

# Data the programs read, the same bytes in the enclave and here.
printf 'carve\n' >"$RFS/data/small"
head -c 300000 /dev/urandom >"$RFS/data/random"
cp "$ROOT/tests/integration/data/concurrency.py" "$ROOT/tests/integration/data/multiproc.py" "$RFS/data/"
seq 1 20000 >"$RFS/data/numbers"
cat >"$RFS/data/stdlib.py" <<'EOF'
import hashlib, json
data = {"squares": [i * i for i in range(50)], "text": "carve " * 3, "nested": {"pi": 3.25, "ok": True}}
blob = json.dumps(data, sort_keys=True).encode()
print(hashlib.sha256(blob).hexdigest())
print(hashlib.md5(blob).hexdigest(), hashlib.sha1(blob).hexdigest())
with open("data/numbers", "rb") as f:
    print(hashlib.sha256(f.read()).hexdigest())
back = json.loads(blob)
print(back["squares"][-1], back["nested"]["pi"] * 4, len(blob))
EOF
# What the VM tells a program about itself (not compared with the host).
cat >"$RFS/data/probe.py" <<'EOF'
import os
print("cpu_count", os.cpu_count())
print("affinity", len(os.sched_getaffinity(0)))
status = {}
for line in open("/proc/self/status"):
    k, _, v = line.partition(":")
    status[k] = v.strip()
print("threads", status["Threads"])
print("cpus_allowed_list", status["Cpus_allowed_list"])
rss, size = int(status["VmRSS"].split()[0]), int(status["VmSize"].split()[0])
print("rss_in_size", 0 < rss <= size)
mem = {}
for line in open("/proc/meminfo"):
    k, _, v = line.partition(":")
    mem[k] = int(v.split()[0])
print("memtotal", mem["MemTotal"])
print("free_le_total", 0 < mem["MemFree"] <= mem["MemTotal"] and mem["MemAvailable"] <= mem["MemTotal"])
maps = open("/proc/self/maps").read().splitlines()
print("maps_python", any(l.split()[1] == "r-xp" and l.endswith("/python3.11") for l in maps))
print("maps_sorted", all(int(a.split("-")[0], 16) >= int(b.split()[0].split("-")[1], 16) for b, a in zip(maps, maps[1:])))
EOF

export LC_ALL=C PYTHONDONTWRITEBYTECODE=1
# run [-e ENV]... [-c CMDLINE] ARGV...: boots the rootfs running ARGV (cwd /).
run() {
	local envs=(-e PATH=/usr/bin:/bin -e LC_ALL=C -e PYTHONDONTWRITEBYTECODE=1) cmdline=""
	while [ "${1:-}" = "-e" ] || [ "${1:-}" = "-c" ]; do
		if [ "$1" = "-e" ]; then envs+=(-e "$2"); else cmdline=$2; fi
		shift 2
	done
	"$MKINITRD" -o "$TMP/app.cpio" "${envs[@]}" "$RFS" "$@" || return 1
	kboot "$TMP/app.cpio" "$cmdline"
}
# host ARGV...: the same command here, in the rootfs as the enclave's cwd.
host() { (cd "$RFS" && "$@"); }

# -1: the enclave's stdout is the console, a terminal, where ls uses columns.
run ls -1a data usr/bin
same "ls (dynamic): listing as on the host, status 0" "$(output)|$(status)" "$(host ls -1a data usr/bin)|0"
[ "$(status)" = 0 ] || sed 's/^/# /' "$(diag)"

run sha256sum data/small data/random data/numbers usr/bin/ls
same "sha256sum (dynamic): digests as on the host" "$(output)|$(status)" \
	"$(host sha256sum data/small data/random data/numbers usr/bin/ls)|0"
[ "$(status)" = 0 ] || sed 's/^/# /' "$(diag)"

run python3 -c 'import sys; print(sum(i * i for i in range(100000)), 2 ** 200, sys.version_info[:2])'
same "python3 -c: the computed values as on the host" "$(output)|$(status)" \
	"$(host python3 -c 'import sys; print(sum(i * i for i in range(100000)), 2 ** 200, sys.version_info[:2])')|0"
[ "$(status)" = 0 ] || sed 's/^/# /' "$(diag)"

run python3 data/stdlib.py
same "python3 script with json and hashlib: output as on the host" "$(output)|$(status)" \
	"$(host python3 data/stdlib.py)|0"
[ "$(status)" = 0 ] || sed 's/^/# /' "$(diag)"

# In debug mode, the kernel names each system call it lacks (once): the
# output must not change, and what python lacks is listed here.
run -c carve.debug python3 data/stdlib.py
same "python3 json/hashlib script under carve.debug: output as on the host" "$(output)|$(status)" \
	"$(host python3 data/stdlib.py)|0"
[ "$(status)" = 0 ] || sed 's/^/# /' "$(diag)"
grep 'unimplemented system call' "$TMP/console" | sed 's/^/# python3 lacks: /'
grep -q 'interpreter /lib64/ld-linux-x86-64.so.2 at' "$TMP/console"
tap_result $? "debug mode says where the interpreter went" "$(diag)"

run python3 data/concurrency.py
if same "python3 threads, asyncio and subprocess: output as on the host" "$(output)|$(status)" \
	"$(host python3 data/concurrency.py)|0"; then
	program_row python3-concurrency "same output as on the host"
else
	sed 's/^/# /' "$(diag)"
	program_row python3-concurrency fails
fi

run python3 data/multiproc.py
if same "python3 multiprocessing (Pool, Queue, Lock, Value, Array, Semaphore, Pipe, Event): output as on the host" \
	"$(output)|$(status)" "$(host python3 data/multiproc.py)|0"; then
	program_row python3-multiprocessing "same output as on the host"
else
	sed 's/^/# /' "$(diag)"
	program_row python3-multiprocessing fails
fi

run python3 -c 'import os; os.execv("/usr/bin/sha256sum", ["sha256sum", "data/random"])'
same "python3 execve of a dynamic program: its output, status 0" "$(output)|$(status)" \
	"$(host sha256sum data/random)|0"

run cat /proc/self/maps
output >"$TMP/maps"
bad=$(grep -c -v -E '^[0-9a-f]{8,}-[0-9a-f]{8,} [r-][w-][x-]p [0-9a-f]{8} [0-9a-f]{2}:[0-9a-f]{2} [0-9]+( *| +[^ ].*)$' "$TMP/maps")
same "/proc/self/maps: every line in Linux's format" "$bad|$(status)" "0|0"
named=""
for want in 'r-xp .*/usr/bin/cat$' '/ld-linux-x86-64\.so\.2$' 'r-xp .*/libc\.so\.6$' ' \[stack\]$' \
	'^7fff80010000-7fff80011000 r--p .* \[vvar\]$' '^7fff80011000-[0-9a-f]* r-xp .* \[vdso\]$'; do
	grep -q -E "$want" "$TMP/maps" || named="$named missing:$want"
done
same "/proc/self/maps names cat, ld.so, libc's code, the stack, the vDSO and its clock page" "$named" ""
[ -z "$named" ] || tap_result 1 "maps as read" "$TMP/maps"

# glibc's ld.so prints the auxiliary vector it got (LD_SHOW_AUXV): AT_BASE
# is where ld.so is mapped, AT_ENTRY and AT_PHDR inside cat's own mappings,
# AT_EXECFN the path found along init's PATH (/bin comes before /usr/bin).
run -e LD_SHOW_AUXV=1 cat /proc/self/maps
output >"$TMP/auxv"
aux() { sed -n "s/^$1: *//p" "$TMP/auxv"; }
first_map() { grep -E "$1" "$TMP/auxv" | head -1 | cut -d- -f1; }
inside() { # ADDR PATTERN: ADDR falls in a mapping whose line matches PATTERN
	[ -n "$1" ] || return 1
	local a=$((16#${1#0x})) lo hi
	while IFS=- read -r lo hi; do
		hi=${hi%% *}
		[ "$a" -ge $((16#$lo)) ] && [ "$a" -lt $((16#$hi)) ] && return 0
	done < <(grep -E "$2" "$TMP/auxv")
	return 1
}
same "auxv: AT_BASE is ld.so's load address" "$(aux AT_BASE)" "0x$(first_map '/ld-linux-x86-64\.so\.2$' | sed 's/^0*//')"
inside "$(aux AT_ENTRY)" 'r-xp .*/usr/bin/cat$' && inside "$(aux AT_PHDR)" ' /usr/bin/cat$'
tap_result $? "auxv: AT_ENTRY in cat's code, AT_PHDR in cat's mapping" "$TMP/auxv"
# The vDSO is where guest/vdso/vdso_data.h puts it (VDSO_VA).
vdso_va=$(sed -n 's/^#define VDSO_VVAR_VA 0x\([0-9a-f]*\)ull$/\1/p' "$ROOT/guest/vdso/vdso_data.h")
same "auxv: AT_PHENT, AT_PAGESZ, AT_SECURE, AT_EXECFN; AT_SYSINFO_EHDR the vDSO" \
	"$(aux AT_PHENT)|$(aux AT_PAGESZ)|$(aux AT_SECURE)|$(aux AT_EXECFN)|$(aux AT_SYSINFO_EHDR)" \
	"56|4096|0|/bin/cat|0x$(printf '%x' $((16#$vdso_va + 0x1000)))"

# The kernel uses every vCPU (with carve.nosmp one, and says so: kernel_smp):
# what programs size themselves by shows them.
run cat /proc/cpuinfo
output >"$TMP/cpuinfo"
same "/proc/cpuinfo: one block per vCPU (--cpus $CPUS)" "$(grep -c '^processor' "$TMP/cpuinfo")|$(status)" "$CPUS|0"
same "/proc/cpuinfo: the CPU's vendor, as the host's CPU says" \
	"$(grep -m1 '^vendor_id' "$TMP/cpuinfo")" "$(grep -m1 '^vendor_id' /proc/cpuinfo)"
grep -q -E '^flags[[:space:]]+:.* fpu .* lm( |$)' "$TMP/cpuinfo"
tap_result $? "/proc/cpuinfo: feature flags from CPUID (fpu, lm)" "$TMP/cpuinfo"

run nproc
same "nproc: the VM's CPUs" "$(output)|$(status)" "$CPUS|0"

run python3 data/probe.py
output >"$TMP/probe"
val() { sed -n "s/^$1 //p" "$TMP/probe"; }
same "python os.cpu_count() and sched_getaffinity: the VM's CPUs" "$(val cpu_count)|$(val affinity)|$(status)" \
	"$CPUS|$CPUS|0"
same "/proc/self/status: Threads, Cpus_allowed_list, VmRSS within VmSize" \
	"$(val threads)|$(val cpus_allowed_list)|$(val rss_in_size)" "1|0-$((CPUS - 1))|True"
total=$(val memtotal)
[ -n "$total" ] && [ "$total" -le $((MEM * 1024)) ] && [ "$total" -ge $(((MEM - 64) * 1024)) ] &&
	[ "$(val free_le_total)" = True ]
tap_result $? "/proc/meminfo: MemTotal $total kB of a $MEM MiB VM, MemFree/MemAvailable within it" "$TMP/probe"
same "/proc/self/maps from python: its code mapped r-xp, ranges in order" \
	"$(val maps_python)|$(val maps_sorted)" "True|True"

# An interpreter that is not an ELF program: refused before anything runs.
BAD=$TMP/bad
mkdir -p "$BAD/bin" "$BAD/lib64"
cp "$(type -P sha256sum)" "$BAD/bin/dyn"
head -c 200 "$(readlink -f /lib64/ld-linux-x86-64.so.2)" >"$BAD/lib64/ld-linux-x86-64.so.2"
chmod 755 "$BAD/lib64/ld-linux-x86-64.so.2"
"$MKINITRD" -o "$TMP/bad.cpio" "$BAD" /bin/dyn && kboot "$TMP/bad.cpio"
grep -q 'cannot run /bin/dyn: its interpreter (PT_INTERP) is not a usable ELF file' "$TMP/console" &&
	[ "$(status)" = 126 ]
tap_result $? "a truncated interpreter: status 126, says why" "$(diag)"

finish
