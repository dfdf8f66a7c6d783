# shellcheck shell=bash
# vsock_ask SOCK PORT TEXT OUT [BOUND] [MIN]: a host parent's request to an
# enclave through carve's Unix socket for its CID (SOCK, .../vsock/cid-N.sock):
# connects to PORT, sends TEXT and a newline, and writes what comes back to
# OUT (carve's "OK PORT" line, then the enclave's reply). It returns when the
# connection ends, or once the reply is at least MIN bytes (default 100) and
# has not grown for a second (then it closes its side), at most BOUND seconds
# (default 120). A fixed sleep before closing, as before, either wasted its
# length on every request or cut a slow reply short.
vsock_ask() {
	local sock=$1 port=$2 text=$3 out=$4 bound=${5:-120} min=${6:-100}
	local fifo pid fd last=-1 size still=0 _
	fifo=$(mktemp -u "${TMPDIR:-/tmp}/vsock_ask.XXXXXX")
	mkfifo "$fifo" || return 1
	: >"$out"
	timeout "$bound" socat -t 0.5 - "UNIX-CONNECT:$sock" <"$fifo" >"$out" 2>/dev/null &
	pid=$!
	exec {fd}>"$fifo"
	printf 'CONNECT %s\n%s\n' "$port" "$text" >&"$fd"
	for _ in $(seq $((bound * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		size=$(stat -c %s "$out" 2>/dev/null || echo 0)
		if [ "$size" -ge "$min" ] && [ "$size" = "$last" ]; then
			still=$((still + 1))
			[ "$still" -ge 10 ] && break
		else
			still=0
		fi
		last=$size
	done
	exec {fd}>&-
	wait "$pid" 2>/dev/null
	rm -f "$fifo"
}
