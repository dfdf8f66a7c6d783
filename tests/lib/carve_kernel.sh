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
# dropped), the VMM's status in $TMP/rc, its stderr in $TMP/vmm-err.
kboot() {
	timeout "${BOOT_TIMEOUT:-120}" "$VMM" vmm --kernel "$KERNEL" --initrd "$1" --cmdline "${2:-}" \
		--memory "${MEM:-256}" --cpus "${CPUS:-1}" >"$TMP/console.raw" 2>"$TMP/vmm-err"
	echo $? >"$TMP/rc"
	tr -d '\r' <"$TMP/console.raw" >"$TMP/console"
}
# The status the kernel reported, or "none".
status() { sed -n 's/^carve: exit status \([0-9]*\)$/\1/p' "$TMP/console" | tail -1 | grep . || echo none; }
# The program's own output: the console without the kernel's lines.
output() { grep -av '^carve: ' "$TMP/console"; }
# The console's tail, for diagnostics: prints the file holding it.
diag() { { echo "# status $(status)"; tail -n 30 "$TMP/console" "$TMP/vmm-err"; } >"$TMP/diag"; echo "$TMP/diag"; }

# program_row ID RESULT: the row ID in guest/kernel/README.md's table of programs
# nobody here wrote must end with RESULT, what this run showed: the test keeps
# the table true.
program_row() {
	local cell
	cell=$(sed -n "s/^| \`$1\` | .* | \\([^|]*\\) |\$/\\1/p" "$ROOT/guest/kernel/README.md")
	same "guest/kernel/README.md's programs table, row $1, says what this run shows" "$cell" "$2"
}
