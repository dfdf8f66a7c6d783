# shellcheck shell=bash
# Shared by the scripts that boot the carve enclave kernel (tests/integration/kernel*.sh):
# where the kernel and its test programs are, and booting one ramdisk.
# Source after tap.sh. Settings (set before calling kboot): MEM (MiB, default 256),
# CPUS (default 1), BOOT_TIMEOUT (seconds, default 120).
KERNEL=${KERNEL:-$ROOT/build/guest/carve-kernel.elf}
PROGS=${PROGS:-$ROOT/build/guest/progs}
export MKINITRD=$ROOT/tests/lib/make-initrd.sh # the scripts build their ramdisks with it
VMM=$CARVE

# Why the kernel tests cannot run here (empty if they can): no carve build, no kernel,
# or (with an argument) that test program missing.
kernel_missing() {
	if [ ! -x "$VMM" ]; then echo "no carve binary at $VMM (make SAN=1)"
	elif [ ! -f "$KERNEL" ]; then echo "build/guest/carve-kernel.elf is not built (make kernel)"
	elif [ -n "${1:-}" ] && [ ! -x "$PROGS/musl/$1" ]; then echo "the test programs are not built (make kernel-progs)"
	fi
}

# kboot INITRD [CMDLINE]: runs the VM; the console in $TMP/console (carriage returns
# dropped), the VMM's status in $TMP/rc (124: it outlived BOOT_TIMEOUT), its stderr in
# $TMP/vmm-err. A VM that outlives BOOT_TIMEOUT gets SIGQUIT: carve prints where each
# vCPU was (docs/vmm.md) before it stops, and diag names the kernel's functions there.
kboot() {
	timeout -s QUIT -k 15 "${BOOT_TIMEOUT:-120}" "$VMM" vmm --kernel "$KERNEL" --initrd "$1" --cmdline "${2:-}" \
		--memory "${MEM:-256}" --cpus "${CPUS:-1}" >"$TMP/console.raw" 2>"$TMP/vmm-err"
	echo $? >"$TMP/rc"
	tr -d '\r' <"$TMP/console.raw" >"$TMP/console"
}
# The status the kernel reported, or "none".
status() { sed -n 's/^carve: exit status \([0-9]*\)$/\1/p' "$TMP/console" | tail -1 | grep . || echo none; }
# The program's own output: the console without the kernel's lines.
output() { grep -av '^carve: ' "$TMP/console"; }
# The console's tail, for diagnostics: prints the file holding it.
diag() {
	{
		echo "# status $(status); carve vmm exited $(cat "$TMP/rc" 2>/dev/null) (124: stopped at BOOT_TIMEOUT)"
		tail -n 30 "$TMP/console" "$TMP/vmm-err"
		symbolize <"$TMP/vmm-err"
	} >"$TMP/diag"
	echo "$TMP/diag"
}
# symbolize: for each vCPU carve's SIGQUIT dump (vmm: vCPU N: ...) shows on stdin,
# the kernel function at its RIP and those of the stack words that are kernel
# code (no frame pointers: a word may be stale, as in Linux's "?" entries).
symbolize() {
	grep -a '^vmm: vCPU [0-9]*: ' | awk -v syms=<(nm -n "$KERNEL" 2>/dev/null | awk '$2 ~ /^[Tt]$/ { print $1, $3 }') '
	function low(h,   i, v) { v = 0; h = substr(h, length(h) - 7); for (i = 1; i <= 8; i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
	function name(a,   lo, hi, mid) {
		a = sprintf("%016s", a); gsub(/ /, "0", a)
		if (n == 0 || a < addr[1] || a > end_text) return ""
		lo = 1; hi = n
		while (lo < hi) { mid = int((lo + hi + 1) / 2); if (addr[mid] <= a) lo = mid; else hi = mid - 1 }
		return sym[lo] "+0x" sprintf("%x", low(a) - low(addr[lo]))
	}
	BEGIN { while ((getline line < syms) > 0) { split(line, f, " "); n++; addr[n] = f[1]; sym[n] = f[2] } end_text = n ? addr[n] : "" }
	{
		cpu = $3; sub(/:$/, "", cpu); out = ""
		for (i = 4; i <= NF; i++) {
			if ($i !~ /^0x[0-9a-f]+$/) continue
			if ($(i - 1) != "rip" && $0 !~ /: stack:/) continue
			s = name(substr($i, 3)); if (s != "") out = out " " s
		}
		if (out != "") print "# vCPU " cpu ($0 ~ /: stack:/ ? " stack (kernel code words):" : " at") out
	}'
}

# self_checks LABEL: each "ok"/"FAIL" line the program printed becomes a check of its
# own, then its exit status must be 0.
self_checks() {
	local label=$1 line
	if ! output | grep -qa '^\(ok\|FAIL\) '; then
		tap_result 1 "$label: no checks ran (status $(status))" "$(diag)"
		return
	fi
	while IFS= read -r line; do
		case "$line" in
		"ok "*) tap_result 0 "$label: ${line#ok }" ;;
		"FAIL "*) tap_result 1 "$label: ${line#FAIL }" "$(diag)" ;;
		esac
	done < <(output | grep -a '^\(ok\|FAIL\) ')
	# A program that did not end (killed at BOOT_TIMEOUT) shows where it was.
	[ "$(status)" = 0 ]
	tap_result $? "$label: exit status 0" "$(diag)"
}

# program_row ID RESULT: the row ID in guest/kernel/README.md's table of programs
# nobody here wrote must end with RESULT, what this run showed: the test keeps
# the table true.
program_row() {
	local cell
	cell=$(sed -n "s/^| \`$1\` | .* | \\([^|]*\\) |\$/\\1/p" "$ROOT/guest/kernel/README.md")
	same "guest/kernel/README.md's programs table, row $1, says what this run shows" "$cell" "$2"
}

# ---- a Debian-like root of the host's own dynamic programs ----
# debian_root DIR: merged /usr (bin, lib, lib64 link into usr/), etc, data.
debian_root() {
	mkdir -p "$1"/{usr/bin,usr/lib,usr/lib64,etc,data}
	local d
	for d in bin lib lib64; do ln -s "usr/$d" "$1/$d"; done
}
# copy_path DIR SRC: the host file SRC at its own path under DIR; a
# symbolic link brings its whole chain, as on the host.
copy_path() {
	local root=$1 src=$2 hops=0 next
	while [ -e "$src" ] && [ "$hops" -lt 10 ]; do
		mkdir -p "$root$(dirname "$src")"
		[ -e "$root$src" ] || [ -L "$root$src" ] || cp -a "$src" "$root$(dirname "$src")/"
		[ -L "$src" ] || return 0
		next=$(readlink "$src")
		case "$next" in /*) src=$next ;; *) src=$(dirname "$src")/$next ;; esac
		hops=$((hops + 1))
	done
}
# copy_elf DIR SRC: an ELF file with every library ldd names and the interpreter.
copy_elf() {
	copy_path "$1" "$2"
	local lib
	for lib in $(ldd "$2" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		copy_path "$1" "$lib"
	done
}
# copy_python DIR PYTHON: the interpreter as python3, its standard library
# (no tests, IDLE, tkinter, ensurepip, lib2to3, site or dist packages) and
# its extension modules with their libraries.
copy_python() {
	local root=$1 python=$2 pylib f
	copy_elf "$root" "$python"
	ln -sf "$(basename "$python")" "$root/usr/bin/python3"
	pylib=/usr/lib/$(basename "$python")
	tar -C / -cf - --exclude='__pycache__' --exclude="${pylib#/}/test" --exclude="${pylib#/}/idlelib" \
		--exclude="${pylib#/}/tkinter" --exclude="${pylib#/}/ensurepip" --exclude="${pylib#/}/lib2to3" \
		--exclude="${pylib#/}/site-packages" --exclude="${pylib#/}/dist-packages" \
		--exclude="${pylib#/}/config-*" --exclude="${pylib#/}/pydoc_data" "${pylib#/}" | tar -C "$root" -xf -
	for f in "$pylib"/lib-dynload/*.so; do [ -f "$f" ] && copy_elf "$root" "$f"; done
}

# A static busybox to put in a ramdisk, or nothing: the bed's ($CARVE_BUSYBOX,
# static by construction: L2's toolbox), else this host's when `file` says it
# is statically linked (Debian's busybox-static).
static_busybox() {
	if [ -n "${CARVE_BUSYBOX:-}" ] && [ -x "$CARVE_BUSYBOX" ]; then
		echo "$CARVE_BUSYBOX"
		return
	fi
	local bb
	bb=$(command -v busybox || true)
	[ -n "$bb" ] && file -L "$bb" 2>/dev/null | grep -q 'statically linked' && echo "$bb"
}
