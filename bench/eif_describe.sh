#!/usr/bin/env bash
# describe-eif on a 1 GiB image beside `openssl dgst -sha384` of the same
# file, in one run, page cache warm for both. describe-eif does more than one
# digest (CRC-32, PCR0, PCR1, PCR2: the application ramdisk is hashed twice),
# so the goal is a ratio of at most 1.15.
#   bench/eif_describe.sh [SIZE_MIB] [RUNS]
set -eu
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
RUNS=${2:-5}
make -s -j"$(nproc)" all >/dev/null
CARVE=$PWD/build/bin/carve
dir=$(mktemp -d /tmp/carve-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT

# A realistic layout: ~10 MiB kernel, small bootstrap ramdisk, the rest the
# application ramdisk (the case where the most data is hashed twice).
head -c $((10 << 20)) /dev/urandom >"$dir/kernel"
head -c $((2 << 20)) /dev/urandom >"$dir/bootstrap.cpio"
head -c $(((SIZE_MIB - 12) << 20)) /dev/urandom >"$dir/app.cpio"
"$CARVE" build-enclave --kernel "$dir/kernel" --cmdline "console=ttyS0" \
	--ramdisk "$dir/bootstrap.cpio" --ramdisk "$dir/app.cpio" --output-file "$dir/big.eif" >/dev/null 2>&1
rm -f "$dir/app.cpio"
size=$(stat -c %s "$dir/big.eif")

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
time_once() { # prints seconds
	local s e
	s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
	echo "$e - $s" | bc -l
}
cat "$dir/big.eif" >/dev/null # warm the page cache
declare -a carve_t=() openssl_t=()
for _ in $(seq "$RUNS"); do
	# Alternate the two so drift in machine load hits both alike.
	openssl_t+=("$(time_once openssl dgst -sha384 "$dir/big.eif")")
	carve_t+=("$(time_once "$CARVE" describe-eif --eif-path "$dir/big.eif")")
done
o=$(printf '%s\n' "${openssl_t[@]}" | median)
c=$(printf '%s\n' "${carve_t[@]}" | median)
mib=$((size >> 20))
printf '\ndescribe-eif vs openssl dgst -sha384, %d MiB image, median of %d runs, %d CPUs\n' "$mib" "$RUNS" "$(nproc)"
printf '%-34s %8s %10s\n' "command" "seconds" "MiB/s"
printf '%-34s %8.3f %10.0f\n' "openssl dgst -sha384" "$o" "$(echo "$mib / $o" | bc -l)"
printf '%-34s %8.3f %10.0f\n' "carve describe-eif (CRC+PCR0/1/2)" "$c" "$(echo "$mib / $c" | bc -l)"
printf 'ratio carve/openssl: %.3f (goal <= 1.15)\n' "$(echo "$c / $o" | bc -l)"
