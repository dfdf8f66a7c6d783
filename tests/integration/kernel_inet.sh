#!/usr/bin/env bash
# Loopback TCP and UDP (AF_INET, AF_INET6) on the carve enclave kernel,
# which has no network device: a local server behind a vsock proxy is what
# Nitro programs use them for.
#   - inetprobe (tests/kernel-progs/inetprobe.c), first on this host, where
#     its expectations are Linux's own answers, then in the enclave (musl
#     and glibc builds), each check its own test;
#   - programs nobody here wrote: this host's python3 (dynamic) running an
#     asyncio TCP echo server and its client and a UDP exchange in one event
#     loop (epoll, nonblocking connect), and the socket module's blocking
#     calls; Debian's busybox-static wget and nc finding nobody on a port.
#     busybox's servers (nc -l, httpd) need a second process for their
#     client, and the kernel has no fork yet: not tested.
# Every guest run is bounded by `timeout`.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm

. "$ROOT/tests/lib/carve_kernel.sh"
CACHE=${CARVE_CACHE:-$ROOT/cache}
MEM=512
why=$(kernel_missing inetprobe)
if [ -n "$why" ]; then
	skip "loopback sockets on the carve kernel" "$why"
	finish
fi

# The console's tail, printed as TAP comments.
diag() { { echo "# status $(status)"; tail -n 30 "$TMP/console" "$TMP/vmm-err"; } | sed 's/^/# /'; }
# run ROOTFS ARGV...: boots ROOTFS running ARGV.
run() {
	local rfs=$1
	shift
	"$MKINITRD" -o "$TMP/app.cpio" -e PATH=/usr/bin:/bin -e LC_ALL=C -e PYTHONDONTWRITEBYTECODE=1 "$rfs" "$@" &&
		kboot "$TMP/app.cpio"
}
# probe_results PREFIX: one test per "ok"/"FAIL" line of the output.
probe_results() {
	while read -r line; do
		case $line in
		"ok "*) tap_result 0 "$1: ${line#ok }" ;;
		"FAIL "*) echo "# $line"; tap_result 1 "$1: ${line#FAIL }" ;;
		esac
	done < <(output)
}

# The probe's expectations are Linux's: they hold on this host (skipped
# where the host has no IPv6 loopback).
if grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; then
	host_out=$(timeout 60 "$PROGS/glibc/inetprobe" 2>&1)
	same "inetprobe's expectations hold on this host's Linux" "$(echo "$host_out" | grep FAIL)|$(echo "$host_out" | tail -1)" \
		"|inetprobe: 0 failures"
else
	skip "inetprobe on this host's Linux" "no IPv6 loopback here"
fi

RFS=$TMP/rootfs
mkdir -p "$RFS/bin"
cp "$PROGS/musl/inetprobe" "$RFS/bin/inetprobe"
cp "$PROGS/glibc/inetprobe" "$RFS/bin/ginetprobe"
run "$RFS" /bin/inetprobe carve
probe_results "musl loopback sockets"
same "musl inetprobe: ran to the end, no failures" "$(output | tail -1)|$(status)" "inetprobe: 0 failures|0"
[ "$(status)" = 0 ] || diag
run "$RFS" /bin/ginetprobe carve
same "glibc inetprobe: no failures" "$(output | grep FAIL)|$(output | tail -1)|$(status)" "|inetprobe: 0 failures|0"

# python3 and its standard library, as kernel_dynamic.sh lays them out
# (merged /usr, each library ldd names, the interpreter).
PYTHON=$(readlink -f /usr/bin/python3 2>/dev/null || true)
if [ -x "$PYTHON" ] && command -v ldd >/dev/null && [ -e /lib64/ld-linux-x86-64.so.2 ]; then
	PRFS=$TMP/pyroot
	debian_root "$PRFS"
	copy_python "$PRFS" "$PYTHON"
	cat >"$PRFS/data/net.py" <<'EOF'
import asyncio, socket

async def echo(reader, writer):
    data = await reader.read(1000)
    writer.write(data.upper())
    await writer.drain()
    writer.close()

class Udp(asyncio.DatagramProtocol):
    def __init__(self, done):
        self.done = done
    def connection_made(self, transport):
        self.transport = transport
    def datagram_received(self, data, addr):
        if not self.done.done():
            self.done.set_result((data, addr[0]))

async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"hello over tcp")
    await writer.drain()
    print("tcp", (await reader.read(1000)).decode())
    writer.close()
    server.close()
    await server.wait_closed()
    loop = asyncio.get_running_loop()
    got = loop.create_future()
    recv, _ = await loop.create_datagram_endpoint(lambda: Udp(got), local_addr=("127.0.0.1", 0))
    rport = recv.get_extra_info("sockname")[1]
    send, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=("127.0.0.1", rport))
    send.sendto(b"hello over udp")
    data, host = await asyncio.wait_for(got, 5)
    print("udp", data.decode(), host)
    send.close()
    recv.close()

asyncio.run(main())

# The socket module's blocking calls, one thread: the connection waits
# in the listener's queue until accept takes it.
srv = socket.create_server(("::1", 0), family=socket.AF_INET6)
cli = socket.create_connection(("::1", srv.getsockname()[1]))
conn, peer = srv.accept()
cli.sendall(b"x" * 100000)
cli.shutdown(socket.SHUT_WR)
total = 0
while chunk := conn.recv(65536):
    total += len(chunk)
print("ipv6", total, peer[0])
try:
    socket.create_connection(("127.0.0.1", srv.getsockname()[1]))
except ConnectionRefusedError:
    print("refused")
EOF
	want=$(printf 'tcp HELLO OVER TCP\nudp hello over udp 127.0.0.1\nipv6 100000 ::1\nrefused')
	host_py=$(cd "$PRFS" && timeout 60 "$PYTHON" data/net.py 2>&1)
	same "python3 loopback script: as expected on this host" "$host_py" "$want"
	run "$PRFS" python3 /data/net.py
	same "python3 (dynamic) asyncio TCP echo and UDP, socket module over ::1, refused: as on the host" \
		"$(output)|$(status)" "$want|0"
	[ "$(status)" = 0 ] || diag
else
	skip "python3 loopback sockets on the carve kernel" "no python3, ldd or glibc loader on this host"
fi

# Debian's busybox-static (kernel.sh fetches it into the cache): nobody on
# the port, said as Linux says it.
BB=${CARVE_BUSYBOX:-$CACHE/busybox/bin/busybox}
[ -x "$BB" ] || { file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' && BB=/bin/busybox; }
if [ -x "$BB" ]; then
	BRFS=$TMP/bbroot
	mkdir -p "$BRFS/bin"
	cp "$BB" "$BRFS/bin/busybox"
	run "$BRFS" busybox wget -q -O - http://127.0.0.1:9/
	same "busybox wget to a port nobody listens on: refused, status 1" \
		"$(output | grep -c 'Connection refused')|$(status)" "1|1"
	run "$BRFS" busybox nc 127.0.0.1 9
	same "busybox nc to a port nobody listens on: refused, status 1" \
		"$(output | grep -c 'Connection refused')|$(status)" "1|1"
else
	skip "busybox wget and nc on loopback" "no busybox-static binary"
fi

finish
