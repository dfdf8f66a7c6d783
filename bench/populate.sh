#!/usr/bin/env bash
# Guest memory populated before an enclave's first instruction, as carve
# does it (src/vmm/populate.c): one thread (carve until this change) beside
# one thread per CPU the process may run on (carve now), in one run, best of
# RUNS each, a fresh anonymous THP mapping per run (memory.c's backing).
#   bench/populate.sh [SIZE_MIB] [RUNS]      defaults 1024, 5
set -eu
cd "$(dirname "$0")/.."
SIZE=${1:-1024}
RUNS=${2:-5}
make -s -j2 bench >/dev/null
cpus=$(nproc)
out=$(build/bench/populate_rate "$SIZE" "$RUNS" 1 "$cpus")
one=$(echo "$out" | sed -n 's/^threads 1: \([0-9.]*\) ms$/\1/p')
all=$(echo "$out" | sed -n "s/^threads $cpus: \\([0-9.]*\\) ms\$/\\1/p")
printf '%-44s %10s\n' "populate ${SIZE} MiB, best of ${RUNS}" "ms"
printf '%-44s %10.1f\n' "one thread (before)" "$one"
printf '%-44s %10.1f\n' "${cpus} threads, one per CPU (carve now)" "$all"
printf '%-44s %10.2f\n' "ratio (now / before)" "$(awk -v a="$all" -v b="$one" 'BEGIN { print a / b }')"
printf '%-44s %10.3f\n' "ms per MiB now" "$(awk -v a="$all" -v s="$SIZE" 'BEGIN { print a / s }')"
