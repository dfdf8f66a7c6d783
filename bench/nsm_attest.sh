#!/usr/bin/env bash
# Attestation documents per second (one core) beside OpenSSL's ECDSA P-384
# signs per second on the same core, in one run:
#
#   bench/nsm_attest.sh [SECONDS]     default 3
#
# A document is one ECDSA P-384 signature plus CBOR work and a SHA-384 over
# ~3 KiB, so OpenSSL's raw sign rate is the ceiling; the goal is a ratio of
# at least 0.8. Both run pinned to the same CPU when taskset is available.
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-3}
make -s -j2 bench >/dev/null
BIN=build/bench/attest_rate

PIN=()
if command -v taskset >/dev/null; then
	cpu=$(( $(nproc) - 1 ))
	PIN=(taskset -c "$cpu")
fi

# Two alternating rounds, best of each: on a shared host a burst of other
# work during one measurement would otherwise skew the ratio either way.
ossl="" ours=""
for _ in 1 2; do
	o=$("${PIN[@]}" openssl speed -seconds "$SECS" ecdsap384 2>/dev/null |
		awk '/ecdsa \(nistp384\)/ { print $(NF-1) }' | tail -1)
	c=$("${PIN[@]}" "$BIN" "$SECS" | sed -n 's/.*: \([0-9.]*\) docs\/s.*/\1/p')
	ossl=$(awk -v a="$o" -v b="${ossl:-0}" 'BEGIN { print (a > b ? a : b) }')
	ours=$(awk -v a="$c" -v b="${ours:-0}" 'BEGIN { print (a > b ? a : b) }')
done
if [ "$ossl" = 0 ] || [ "$ours" = 0 ]; then
	echo "nsm_attest: could not measure (openssl: '${ossl}', carve: '${ours}')" >&2
	exit 1
fi
printf '%-36s %12s\n' "best of 2 rounds, one core, ${SECS}s" "per second"
printf '%-36s %12.1f\n' "openssl speed ecdsap384 (sign)" "$ossl"
printf '%-36s %12.1f\n' "carve NSM attestation documents" "$ours"
ratio=$(awk -v a="$ours" -v b="$ossl" 'BEGIN { printf "%.3f", a / b }')
printf '%-36s %12s   (goal >= 0.8)\n' "ratio carve / openssl" "$ratio"
