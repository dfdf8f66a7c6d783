#!/usr/bin/env bash
# carve vmm vs qemu-system-x86_64 -M microvm, one run, side by side, the same
# guest, memory and vCPUs:
#   - time from process start to the guest's first serial byte (median of N);
#     carve populates all guest memory before the first instruction
#     (docs/vmm.md), QEMU by default on first touch, so QEMU is also run with
#     -mem-prealloc: the like-for-like column;
#   - VMM memory beyond guest memory, sampled 1 s after that byte, from
#     /proc/<pid>/smaps: the process's total minus its mappings as large as
#     guest memory (the way Firecracker's memory-overhead test classifies
#     them), as RSS, PSS (shared library pages divided among the processes
#     mapping them) and anonymous pages (heap, stacks, written and relocated
#     library data: what the VMM itself costs, whatever else maps the same
#     libraries and wherever they are stored).
# The guest is carve's test guest (tests/guests), which prints its first byte
# a few instructions after entry, so the time is the VMM's own start-up (QEMU
# enters it through its PVH note, carve at its ELF entry). BENCH_LINUX=1 adds
# Debian's cloud kernel (its vmlinux: on hosts whose KVM emulates guest kernel
# code, PVM, DESIGN.md, the bzImage's decompressor cannot run; there the
# kernel's own work takes ~19 s and drowns the VMMs' difference).
#
#   bench/vmm_boot.sh                  (BENCH_RUNS=5 BENCH_MEM="64 256" BENCH_CPUS=2)
#       BENCH_MEM: the guest memory sizes, MiB, each a table of its own.
#       carve zeroes all guest memory before the first instruction, QEMU
#       (without -mem-prealloc) on first touch, so carve's time grows with
#       the size and QEMU's does not: the sizes show where they cross
#       (docs/vmm.md § Start time).
#   BENCH_QEMU_CPU=max bench/vmm_boot.sh   force QEMU's CPU model
#   BENCH_POOL=DIR bench/vmm_boot.sh   the memory pool of the "carve pool"
#       column (carve vmm --memory-pool: guest memory a slab zeroed ahead of
#       time, docs/vmm.md § Memory pool): a directory on hugetlbfs with free
#       huge pages, say; default a new one on /dev/shm (tmpfs, small pages).
#       It is filled with one slab of each size first; each run gives its
#       slab back zeroed at exit, so every timed run finds one.
#       BENCH_POOL=hugetlbfs (root): 2 MiB pages reserved for the slabs and
#       a hugetlbfs mounted for them, both undone at the end.
#   tests/hwkvm/run.sh --tests ../bench/vmm_boot   in the hardware-KVM bed, with
#       CARVE_HWKVM_QEMU=1 so that tests/hwkvm/build-image.sh puts QEMU in L1
#       (emulated: ratios only)
#
# QEMU's CPU model: the first of `host,-arch-capabilities`, `max`, `qemu64`
# that brings the guest to its first byte here (probed once). Plain `-cpu
# host` has QEMU write IA32_ARCH_CAPABILITIES (MSR 0x10a) at vCPU reset, which
# a PVM KVM may refuse ("failed to set MSR 0x10a", QEMU aborts); dropping that
# one feature keeps everything else of the host model, as carve's default
# CPUID template does; `max` and `qemu64` are fallbacks for KVMs that refuse
# more. The model changes neither of the measured things: the guest runs a
# handful of instructions before its first byte.
# Needs: scripts/setup.sh (qemu-system-x86), a release build (make).
set -u
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 1
RUNS=${BENCH_RUNS:-5}
MEMS=${BENCH_MEM:-64 256}
MEM=${MEMS%% *} # the first size, for QEMU's CPU model probe
CPUS=${BENCH_CPUS:-2}
CMDLINE="console=ttyS0 earlyprintk=ttyS0 reboot=k panic=-1"
CARVE=${CARVE_RELEASE:-$ROOT/build/bin/carve}
QEMU=$(command -v qemu-system-x86_64 || true)
GUEST=$ROOT/build/guests/carve-guest.elf
[ -x "$CARVE" ] || { echo "build carve first: make" >&2; exit 1; }
[ -f "$GUEST" ] || { echo "build the test guest first: make guests" >&2; exit 1; }
[ -n "$QEMU" ] || { echo "qemu-system-x86_64 missing: scripts/setup.sh" >&2; exit 1; }
W=$(mktemp -d)
POOL=${BENCH_POOL:-} NRH=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages nr_before=
cleanup() {
	"$CARVE" memory-pool --dir "$POOL" --drain >/dev/null
	case "${BENCH_POOL:-}" in
	"") rmdir "$POOL" ;;
	hugetlbfs) umount "$POOL" && rmdir "$POOL" && echo "$nr_before" >"$NRH" ;;
	esac
	rm -rf "$W"
}
case "$POOL" in
"") POOL=$(mktemp -d /dev/shm/carve-bench-pool.XXXXXX) || exit 1 ;;
hugetlbfs)
	POOL=$W/huge
	nr_before=$(cat "$NRH") || exit 1
	want=$nr_before
	for m in $MEMS; do want=$((want + m / 2)); done
	mkdir "$POOL" && echo "$want" >"$NRH" && [ "$(cat "$NRH")" = "$want" ] &&
		mount -t hugetlbfs -o pagesize=2M none "$POOL" ||
		{ echo "BENCH_POOL=hugetlbfs: cannot reserve $((want - nr_before)) huge pages and mount hugetlbfs (root?)" >&2
			echo "$nr_before" >"$NRH"; exit 1; }
	;;
esac
trap cleanup EXIT

qemu_cmd() { # cpu kernel cmdline [extra...]
	local cpu=$1 kernel=$2 cmdline=$3
	shift 3
	echo "$QEMU" -M microvm,x-option-roms=off,isa-serial=on,rtc=off -enable-kvm -cpu "$cpu" \
		-m "$MEM" -smp "$CPUS" -nodefaults -no-user-config -display none -monitor none -serial stdio \
		-kernel "$kernel" -append "$cmdline" "$@"
}

QEMU_CPU=${BENCH_QEMU_CPU:-}
if [ -z "$QEMU_CPU" ]; then
	for cpu in host,-arch-capabilities max qemu64; do
		# shellcheck disable=SC2046 # the command's words
		timeout 20 $(qemu_cmd "$cpu" "$GUEST" "stop=hang") </dev/null 2>"$W/probe.err" |
			head -c 1 >"$W/probe"
		if [ -s "$W/probe" ]; then QEMU_CPU=$cpu; break; fi
		echo "# qemu -cpu $cpu: no console output ($(head -c 200 "$W/probe.err"))" >&2
	done
	[ -n "$QEMU_CPU" ] || { echo "QEMU starts the test guest with none of its CPU models here" >&2; exit 1; }
fi

# Total and guest-sized mappings' RSS, PSS and anonymous kB of a process:
# prints the three overheads (total minus guest).
overhead() {
	awk -v guest_kb=$((MEM * 1024)) '
		/^Size:/ { big = $2 >= guest_kb }
		/^Rss:/ { r += $2; if (big) gr += $2 }
		/^Pss:/ { p += $2; if (big) gp += $2 }
		/^Anonymous:/ { u += $2; if (big) gu += $2 }
		END { print r - gr, p - gp, u - gu }' "/proc/$1/smaps"
}

# Runs one VMM; prints "<ms to first byte> <RSS> <PSS> <anonymous kB beyond guest>".
one() {
	local fifo=$W/fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	local t0 t1 pid
	t0=$(date +%s%N)
	"$@" </dev/null >"$fifo" 2>"$W/err" &
	pid=$!
	exec 3<"$fifo"
	if ! IFS= read -r -n 1 -u 3 _; then
		echo "no console output from: $*" >&2
		cat "$W/err" >&2
		exec 3<&-
		return 1
	fi
	t1=$(date +%s%N)
	cat <&3 >/dev/null &
	local drain=$!
	sleep 1
	local o
	o=$(overhead "$pid")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	kill "$drain" 2>/dev/null
	wait "$drain" 2>/dev/null
	exec 3<&-
	echo "$(((t1 - t0) / 1000000)) $o"
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# The three VMMs in turn within each round, so that load that comes and goes
# on a shared machine falls on all of them alike.
bench() { # tag kernel cmdline
	local tag=$1 kernel=$2 cmdline=$3
	: >"$W/carve-$tag"
	: >"$W/qemu-$tag"
	: >"$W/qemupre-$tag"
	: >"$W/pool-$tag"
	"$CARVE" memory-pool --dir "$POOL" --fill "$MEM" >/dev/null || exit 1
	for _ in $(seq "$RUNS"); do
		one "$CARVE" vmm --kernel "$kernel" --memory "$MEM" --cpus "$CPUS" --cmdline "$cmdline" \
			>>"$W/carve-$tag" || exit 1
		one "$CARVE" vmm --kernel "$kernel" --memory "$MEM" --cpus "$CPUS" --cmdline "$cmdline" \
			--memory-pool "$POOL" >>"$W/pool-$tag" || exit 1
		# shellcheck disable=SC2046
		one $(qemu_cmd "$QEMU_CPU" "$kernel" "$cmdline") >>"$W/qemu-$tag" || exit 1
		# shellcheck disable=SC2046
		one $(qemu_cmd "$QEMU_CPU" "$kernel" "$cmdline" -mem-prealloc) >>"$W/qemupre-$tag" || exit 1
	done
}

col() { cut -d' ' -f"$2" "$W/$1" | median; }
row() { printf '%-40s %12s %12s %12s %14s\n' "$@"; }
report() { # tag title
	local tag=$1 spec f unit name
	echo "$2"
	for spec in "1 ms process start -> first serial byte" "2 kB VMM RSS beyond guest memory" \
		"3 kB VMM PSS beyond guest memory" "4 kB VMM anonymous beyond guest memory"; do
		read -r f unit name <<<"$spec"
		row "  $name" "$(col "carve-$tag" "$f") $unit" "$(col "pool-$tag" "$f") $unit" \
			"$(col "qemu-$tag" "$f") $unit" "$(col "qemupre-$tag" "$f") $unit"
	done
	awk -v c="$(col "carve-$tag" 1)" -v o="$(col "pool-$tag" 1)" -v q="$(col "qemu-$tag" 1)" \
		-v p="$(col "qemupre-$tag" 1)" 'BEGIN {
		printf "  time ratio to qemu: carve %.2f, carve pool %.2f; to qemu -mem-prealloc: %.2f, %.2f\n",
			c / q, o / q, c / p, o / p }'
}

[ "${BENCH_LINUX:-0}" = 1 ] && { KERNEL=$(scripts/fetch-debian-kernel.sh --quiet --vmlinux) || exit 1; }
for MEM in $MEMS; do
	bench "guest$MEM" "$GUEST" "stop=hang"
	[ "${BENCH_LINUX:-0}" = 1 ] && bench "linux$MEM" "$KERNEL" "$CMDLINE"
done

for MEM in $MEMS; do
	echo "${MEM} MiB, ${CPUS} vCPUs, median of $RUNS runs; QEMU $("$QEMU" --version | head -1 |
		awk '{print $4}') -cpu $QEMU_CPU; carve pool: $(stat -f -c %T "$POOL") slabs"
	row "" "carve vmm" "carve pool" "qemu microvm" "qemu -mem-prealloc"
	report "guest$MEM" "carve test guest (tests/guests/carve-guest.elf)"
	if [ "${BENCH_LINUX:-0}" = 1 ]; then
		report "linux$MEM" "Debian $(cat cache/debian-kernel/version 2>/dev/null) (vmlinux), cmdline: $CMDLINE"
	fi
done
