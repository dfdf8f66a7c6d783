#!/usr/bin/env bash
# carve vsock-proxy (and the same binary run as vsock-proxy): AWS's
# vsock-proxy command line, checked as its source says it behaves
# (aws-nitro-enclaves-cli 1.5.0, vsock_proxy/src/main.rs and proxy.rs):
# argument-parser errors exit 2, the rest print Error: "..." and exit 1, in
# main.rs's order; the allowlist check before anything listens. The data
# path (an enclave through the proxy to a TCP server) runs in the bed
# (hwkvm/l1/af_vsock), where the host kernel has vhost-vsock.
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1
C=$CARVE_RELEASE
ln -s "$C" vsock-proxy
printf 'allowlist:\n- {address: localhost, port: 9000}\n- address: "127.0.0.1"\n  port: 9443\n' >allow.yaml

exits() { # status, then the command: its exit status, output in $TMP/got
	local want=$1; shift
	"$@" >"$TMP/got" 2>&1
	[ $? -eq "$want" ]
}
# main.rs:43-68: three required positionals (clap: exit 2, names them).
ok "no arguments: the parser's error, exit 2" exits 2 "$C" vsock-proxy
ok "  ...naming the missing ones" grep -q '^  <remote_port>$' "$TMP/got"
# main.rs:35 conflicts_with("ipv4")
ok "-4 with -6: exit 2" exits 2 ./vsock-proxy -4 -6 8000 127.0.0.1 9000
ok "  ...saying they conflict" grep -q "the argument '--ipv4' cannot be used with '--ipv6'" "$TMP/got"
ok "an unknown flag: exit 2" exits 2 ./vsock-proxy --bogus 8000 127.0.0.1 9000
# main.rs:72-74, 92-95, 102-109: values, in this order.
ok "local port not a u32: Error: \"Local port is not valid\", exit 1" \
	exits 1 ./vsock-proxy 4294967296 127.0.0.1 9000 --config allow.yaml
ok "  ...the message as vsock-proxy prints it" grep -qx 'Error: "Local port is not valid"' "$TMP/got"
ok "remote port not a u16" exits 1 ./vsock-proxy 8000 127.0.0.1 65536 --config allow.yaml
ok "  ...says so" grep -qx 'Error: "Remote port is not valid"' "$TMP/got"
ok "-w 0" exits 1 ./vsock-proxy -w 0 8000 127.0.0.1 9000 --config allow.yaml
ok "  ...says workers must not be 0" grep -qx 'Error: "Number of workers must not be 0"' "$TMP/got"
# proxy.rs:33-41, 82: the allowlist file and the check.
ok "a missing allowlist file" exits 1 ./vsock-proxy 8000 127.0.0.1 9000 --config nofile.yaml
ok "  ...Could not open the file" \
	grep -qx 'Error: "Error at checking the allowlist: Could not open the file"' "$TMP/got"
printf 'allowlist: {oops\n' >bad.yaml
ok "a file that is not YAML: Bad yaml format" exits 1 ./vsock-proxy 8000 127.0.0.1 9000 --config bad.yaml
ok "  ...said so" grep -q 'Bad yaml format' "$TMP/got"
printf 'services: []\n' >none.yaml
ok "no allowlist key" exits 1 ./vsock-proxy 8000 127.0.0.1 9000 --config none.yaml
ok "  ...No allowlist field" grep -q 'No allowlist field' "$TMP/got"
ok "a remote not in the allowlist is refused" exits 1 ./vsock-proxy 8000 127.0.0.1 9001 --config allow.yaml
ok "  ...with vsock-proxy's words" \
	grep -qx 'Error: "Error at checking the allowlist: The given address and port are not allowed"' "$TMP/got"
# Allowed: by an address the entry's name resolves to (localhost ->
# 127.0.0.1), and by the name as written; it then listens until stopped.
ok "allowed through the entry's name (localhost): it listens (stopped after 2 s)" \
	exits 124 timeout 2 ./vsock-proxy 8000 127.0.0.1 9000 --config allow.yaml
ok "allowed by the address as written, also as 'carve vsock-proxy'" \
	exits 124 timeout 2 "$C" vsock-proxy --config=allow.yaml -w 2 -4 8001 127.0.0.1 9443
ok "--version: the proxy's name" exits 0 ./vsock-proxy --version
ok "  ...Vsock-TCP proxy" grep -q '^Vsock-TCP proxy ' "$TMP/got"
finish
