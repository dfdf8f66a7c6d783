#!/usr/bin/env bash
# Lua's own test programs on the carve enclave kernel, nothing of them
# written here: the 19 programs of Debian's lua5.1 source package (upstream
# lua-5.1.5's test/, fetched by scripts/fetch-lua-tests.sh) run by Debian's
# dynamic lua5.1 and luac5.1 with glibc, one after another from a busybox sh
# script in one enclave, and compared with the same script run here by the
# same busybox and interpreter. They cover coroutines (sieve, fibfor), debug
# hooks (trace-calls, trace-globals), metatables and errors with tracebacks
# (readonly), string.dump and loading bytecode (luac writes luac.out, then
# runs it), io on stdin and files (xd, table, globals reading luac -l) and
# the garbage collector and console under load (life: 2,000 generations,
# 1.7 MB of output, hashed). Why lua5.1: no Debian Lua source package has
# Lua's full test suite (scripts/fetch-lua-tests.sh).
# Every guest run is bounded by `timeout`.
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$ROOT/tests/lib/tap.sh"
requires_kvm

. "$ROOT/tests/lib/carve_kernel.sh"
MEM=256 BOOT_TIMEOUT=300
LUA=$(command -v lua5.1 || true)
LUAC=$(command -v luac5.1 || true)
BB=$(static_busybox)
why=$(kernel_missing)
[ -n "$LUA" ] && [ -n "$LUAC" ] || why=${why:-"no lua5.1/luac5.1 on this host (scripts/setup.sh installs Debian's lua5.1)"}
[ -n "$BB" ] || why=${why:-"no static busybox on this host (busybox-static)"}
command -v ldd >/dev/null || why=${why:-"no ldd on this host"}
CHROOT=$(PATH=$PATH:/usr/sbin:/sbin command -v chroot || true)
[ "$(id -u)" = 0 ] && [ -n "$CHROOT" ] || why=${why:-"the host's reference run needs chroot (and root)"}
if [ -z "$why" ]; then
	TESTS=${CARVE_LUA_TESTS:-$("$ROOT/scripts/fetch-lua-tests.sh" --quiet 2>"$TMP/fetch.err")} ||
		why="Lua's test programs could not be fetched: $(tail -1 "$TMP/fetch.err")"
fi
if [ -n "$why" ]; then
	skip "Lua's test programs on the carve kernel" "$why"
	finish
fi

RFS=$TMP/rootfs
debian_root "$RFS"
copy_elf "$RFS" "$LUA" # at its own path, links followed (copy_path)
copy_elf "$RFS" "$LUAC"
cp "$BB" "$RFS/usr/bin/busybox"
APPLETS="sh sha256sum wc printf cat"
for a in $APPLETS; do ln -sf busybox "$RFS/usr/bin/$a"; done
mkdir -p "$RFS/lua" "$RFS/tmp"
cp "$TESTS"/*.lua "$RFS/lua/"
names=$(cd "$RFS/lua" && ls ./*.lua | sed 's,^\./,,; s,\.lua$,,' | tr '\n' ' ')

# One section per program: its output and status. life's 1.7 MB are hashed.
cat >"$RFS/run.sh" <<'EOF_SCRIPT'
cd /lua || exit 100
for t in $NAMES; do
	echo "== $t"
	case $t in
	echo) lua5.1 echo.lua one "two words" three ;;
	env) lua5.1 env.lua ;;
	xd) lua5.1 xd.lua <hello.lua ;;
	table) printf 'enclave one\nlua test\nenclave two\n' | lua5.1 table.lua ;;
	globals) luac5.1 -p -l life.lua | lua5.1 globals.lua ;;
	luac) rm -f /tmp/luac.out && cd /tmp && lua5.1 /lua/luac.lua /lua/sieve.lua && lua5.1 luac.out; cd /lua ;;
	life) lua5.1 life.lua >/tmp/life.out && wc -c </tmp/life.out && sha256sum </tmp/life.out ;;
	*) lua5.1 "$t.lua" <hello.lua ;; # a file as stdin (none reads it): no /dev in the chroot
	esac 2>&1
	echo "== $t status $?"
done
EOF_SCRIPT

# Here: the same root, busybox, interpreter, environment (env.lua prints
# PATH) and paths (the programs' error messages name them), by chroot.
host_out=$(env -i PATH=/usr/bin NAMES="$names" "$CHROOT" "$RFS" /usr/bin/sh /run.sh 2>&1)
rm -rf "${RFS:?}/tmp/"*

"$MKINITRD" -o "$TMP/lua.cpio" -e PATH=/usr/bin -e NAMES="$names" "$RFS" /usr/bin/sh /run.sh || exit 1
kboot "$TMP/lua.cpio"
output >"$TMP/enclave.out"
printf '%s\n' "$host_out" >"$TMP/host.out"
same "the script ran to its end in the enclave (status 0)" "$(status)" "0"
[ "$(status)" = 0 ] || sed 's/^/# /' "$(diag)"

# A result per program: its section here and there. Two print what differs
# between runs by nature: fib its timings (a column made T) and printf
# the date (made DATE; the enclave's is checked against this host's clock).
section() {
	awk -v t="$2" '$0 == "== " t { on = 1; next } on && /^== / { exit } on' "$1" |
		sed -E 's/^(plain|cached)\t([0-9]+)\t([0-9]+)\t[^\t]+\t/\1\t\2\t\3\tT\t/; s/^(Hello there from Lua 5\.1 on ).*/\1DATE/'
}
differs=0 n=0
for t in $names; do
	want=$(section "$TMP/host.out" "$t"; grep -x "== $t status [0-9]*" "$TMP/host.out")
	got=$(section "$TMP/enclave.out" "$t"; grep -x "== $t status [0-9]*" "$TMP/enclave.out")
	same "lua5.1 $t.lua: output and status as on the host" "$got" "$want" || differs=1
	n=$((n + 1))
done
same "all 19 test programs of the source package ran" "$n" "19"
when=$(sed -n 's/^Hello there from Lua 5\.1 on //p' "$TMP/enclave.out")
skew=$(($(date -d "$when" +%s 2>/dev/null || echo 0) - $(date +%s)))
[ "${skew#-}" -le 600 ]
tap_result $? "os.date() in the enclave is this host's time (within 10 minutes): $when" "$TMP/enclave.out"
grep -q '^== life status 0$' "$TMP/host.out" && grep -q '^1690897$' "$TMP/host.out"
tap_result $? "the host's own run is the reference: life printed its 1,690,897 bytes there" "$TMP/host.out"
program_row lua5.1-tests "$([ "$differs" = 0 ] && echo "same output as on the host" || echo fails)"
finish
