# shellcheck shell=bash
# Sourced by run.sh; tests/integration/hwkvm_frozen.sh checks it against a
# real hang log (tests/hwkvm/data/hang-frozen.log).
# Whether a hang log shows the one hang that is QEMU's, not carve's: in all
# three samples every CPU at the same RIP, in L1's own kernel (CPL 0, EFER
# with SVME: not in L2), not halted. Carve stuck shows elsewhere (L1 in user
# mode, idle in HLT, or running L2); a kernel spinning on a lock moves its
# RIP. Seen in l1/linux's L1 seconds after its L2 Linux started
# (docs/testing.md).
l1_frozen() { # hang log
	awk '
	/^== sample/ { s++ }
	/^CPU#[0-9]+$/ { cpu = $1; cpus[cpu] = 1 }
	/^RIP=/ {
		if ($0 !~ / CPL=0 / || $0 !~ /HLT=0/) bad = 1
		if ((cpu, "rip") in seen && seen[cpu, "rip"] != $1) bad = 1
		seen[cpu, "rip"] = $1; rips++
	}
	/^EFER=/ { if (index("13579bdf", substr($1, length($1) - 3, 1)) == 0) bad = 1 }
	END { n = 0; for (c in cpus) n++; exit !(s == 3 && n > 0 && rips == 3 * n && !bad) }
	' "$1"
}
