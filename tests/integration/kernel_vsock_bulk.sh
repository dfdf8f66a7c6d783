#!/usr/bin/env bash
# Bulk vsock through the carve enclave kernel, both ways, every byte checked
# (issue 16): tests/kernel-progs/vsockbench writes a pattern to CID 3 and
# reads one back; tests/tools/vsock_pattern on the host's Unix sockets
# checks what arrives and sends what the program checks. Large writes and
# reads take the native copy path (the program's pages copied at CPL3, the
# CPU checking each page), small ones the kernel's own copy; both run, with
# odd sizes, and bad buffers must give EFAULT (or a short count up to the
# bad page) without losing or inventing a byte. Behaviour only: the rates
# are bench/kernel_vsock.sh's business.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm

KERNEL=$ROOT/build/guest/carve-kernel.elf
PROGS=$ROOT/build/guest/progs
PAT=$ROOT/build/tests/tools/vsock_pattern
why=
"$CARVE" vmm --help 2>&1 | grep -q -- '--eif-path' || why="carve has no 'vmm --eif-path'"
[ -f "$KERNEL" ] || why=${why:-"build/guest/carve-kernel.elf is not built (make kernel)"}
[ -x "$PROGS/musl/vsockbench" ] || why=${why:-"the test programs are not built (make kernel-progs)"}
[ -x "$PAT" ] || why=${why:-"the host helper is not built (make tests)"}
if [ -n "$why" ]; then
	skip "carve enclave kernel bulk vsock" "$why"
	finish
fi

export CARVE_STATE_DIR=$TMP/state CARVE_VSOCK_DIR=$TMP/vs
mkdir -p "$CARVE_VSOCK_DIR" "$TMP/rootfs/bin"
cp "$PROGS/musl/vsockbench" "$TMP/rootfs/bin/vsockbench"
cp "$PROGS/glibc/vsockbench" "$TMP/rootfs/bin/gvsockbench"

# run NAME PROG PORT BYTES CHUNK: one enclave, both directions.
run() {
	local name=$1 prog=$2 port=$3 bytes=$4 chunk=$5
	"$CARVE" build-enclave --kernel "$KERNEL" --cmdline console=ttyS0 --rootfs "$TMP/rootfs" \
		--cmd "/bin/$prog $port $bytes $chunk" --output-file "$TMP/$name.eif" >"$TMP/build.log" 2>&1
	"$PAT" serve "$CARVE_VSOCK_DIR" "$port" "$bytes" >"$TMP/$name.host" 2>&1 &
	local peer=$!
	for _ in $(seq 100); do grep -qs listening "$TMP/$name.host" && break; sleep 0.1; done
	timeout 300 "$CARVE" vmm --eif-path "$TMP/$name.eif" --memory 256 --cpus 1 >"$TMP/$name.out" 2>&1
	echo $? >"$TMP/$name.rc"
	wait $peer
	echo $? >"$TMP/$name.peer"
	while read -r line; do
		case $line in
		"ok "*) tap_result 0 "$name: ${line#ok }" ;;
		"FAIL "*) echo "# $line"; tap_result 1 "$name: ${line#FAIL }" ;;
		esac
	done < <(grep -a -E '^(ok|FAIL) ' "$TMP/$name.out")
	same "$name: $bytes bytes enclave -> host, each one checked" \
		"$(sed -n 's/^guest->host bytes \([0-9]*\) .* content \(.*\)$/\1 \2/p' "$TMP/$name.host")" "$bytes ok"
	same "$name: $bytes bytes host -> enclave, each one checked" \
		"$(grep -a -c '^recv content ok' "$TMP/$name.out")|$(grep -a -o '^recv [0-9]* bytes' "$TMP/$name.out")" \
		"1|recv $bytes bytes"
	same "$name: program, host end and VMM exit 0" \
		"$(sed -n 's/^carve: exit status \([0-9]*\)$/\1/p' "$TMP/$name.out" | tail -1)|$(cat "$TMP/$name.peer")|$(cat "$TMP/$name.rc")" \
		"0|0|0"
}

# 4 MiB + 5 bytes each way in 256 KiB writes and reads (the native path;
# the tail is odd), then in 100,003-byte ones (odd sizes, ring wrap), then
# 1 MiB in 1,000-byte ones (the kernel's copy), then glibc's build.
run big vsockbench 7200 4194309 262144
run odd vsockbench 7210 3000017 100003
run small vsockbench 7220 1048576 1000
run glibc gvsockbench 7230 2097152 65536
finish
