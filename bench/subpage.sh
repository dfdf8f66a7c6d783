#!/usr/bin/env bash
# Sub-page write protection (docs/vmm.md): what a write costs on a page
# mapped read-only because one of its sub-pages is protected (an exit to the
# VMM, which applies it), a refused write there, and an ordinary write to
# another page; the same loops with nothing protected show the page's cost
# without protection and that unprotected pages are not slowed.
# The test guest's "subbench=N" mode times N 4-byte writes per loop with the
# TSC (best of 5 rounds in the guest); this takes the best of RUNS VMs per
# configuration, run alternately.
#   bench/subpage.sh [N] [RUNS]      defaults 5000, 5
set -eu
cd "$(dirname "$0")/.."
N=${1:-5000}
RUNS=${2:-5}
make -s -j2 all guests >/dev/null
CARVE=build/bin/carve
GUEST=build/guests/carve-guest.elf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

one() { # protect-args...; appends "loop cycles" lines to $tmp/<none|prot>
	local tag=none
	[ $# -gt 0 ] && tag=prot
	timeout 300 "$CARVE" vmm --kernel "$GUEST" --cmdline "subbench=$N" --memory 64 --cpus 1 "$@" </dev/null 2>/dev/null |
		sed -n 's/^subbench: \([a-z0-9-]*\) writes=[0-9]* cycles=\([0-9]*\)$/\1 \2/p' >>"$tmp/$tag"
}
for _ in $(seq "$RUNS"); do
	one
	one --protect 0x2000080:128 # sub-page 1 of page P
done
best() { awk -v l="$2" '$1 == l && (b == "" || $2 < b) { b = $2 } END { print b }' "$tmp/$1"; }
# The TSC rate the guest counts in (KVM passes the host's through).
mhz=$( (dmesg 2>/dev/null || true) | sed -n 's/.*tsc: Detected \([0-9.]*\) MHz.*/\1/p' | head -1)
[ -n "$mhz" ] || mhz=$(awk -F: '/^cpu MHz/ { print $2 + 0; exit }' /proc/cpuinfo)
row() { # label file loop
	local c
	c=$(best "$2" "$3")
	awk -v l="$1" -v c="$c" -v n="$N" -v m="$mhz" 'BEGIN { printf "%-52s %10.0f %10.2f\n", l, c / n, c / n / m }'
}
printf '%-52s %10s %10s\n' "4-byte write, best of $RUNS VMs x 5 rounds of $N" "cycles" "us"
row "page P, nothing protected" none page-p-subpage-0
row "other page, nothing protected" none other-page
row "page P, sub-page 1 protected: write to sub-page 0" prot page-p-subpage-0
row "page P, sub-page 1 protected: write to sub-page 1" prot page-p-subpage-1
row "other page, P's sub-page 1 protected" prot other-page
awk -v a="$(best prot page-p-subpage-0)" -v b="$(best none page-p-subpage-0)" \
	'BEGIN { printf "%-52s %10.1f\n", "permitted write on a protected page / unprotected", a / b }'
awk -v a="$(best prot other-page)" -v b="$(best none other-page)" \
	'BEGIN { printf "%-52s %10.2f\n", "other page: with protection / without", a / b }'
echo "(TSC ${mhz} MHz; on a PVM host guest kernel code runs in KVM's emulator, so the ordinary write is emulated too)"
