#!/usr/bin/env bash
# Fetches the test programs of Debian's lua5.1 source package (the test/
# directory of upstream's lua-5.1.5 tarball) into the cache, for
# tests/integration/kernel_lua.sh. Prints the directory; exits non-zero if
# the source package is not reachable. A second run reuses the cache.
#
#   scripts/fetch-lua-tests.sh [--quiet]
#
# Why lua5.1: none of Debian's Lua source packages carries Lua's full test
# suite (lua.org ships it as a separate lua-5.x.y-tests tarball, which no
# Debian package has); lua5.1's upstream tarball is the only one with a
# test/ directory, 19 programs run by the interpreter they came with.
#
# The host's apt configuration is left alone: the deb-src index is kept in
# the cache (a sources file and lists of its own), and `apt-get source
# --download-only` checks the files against that signed index (Release
# signature, Sources hashes) as any apt download does.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${CARVE_CACHE:-$PWD/cache}/lua-tests
PACKAGE=lua5.1
quiet=0
for a in "$@"; do
	case "$a" in
	--quiet) quiet=1 ;;
	*) echo "usage: scripts/fetch-lua-tests.sh [--quiet]" >&2; exit 2 ;;
	esac
done
say() { [ "$quiet" -eq 1 ] || echo "fetch-lua-tests: $*" >&2; }

if [ -f "$CACHE/test/README" ] && [ -f "$CACHE/test/life.lua" ]; then
	echo "$CACHE/test"
	exit 0
fi
command -v apt-get >/dev/null || { echo "fetch-lua-tests: no apt-get here" >&2; exit 1; }

# The archive and suite the host's own Debian sources name (deb822 or
# one-line format), as deb-src.
uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
[ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
uri=${uri:-http://deb.debian.org/debian}
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")

apt=$CACHE/apt
rm -rf "$apt"
mkdir -p "$apt/lists/partial" "$CACHE/download"
cat >"$apt/sources.list" <<SRC
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main
SRC
opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=-"
	-o "Dir::State::Lists=$apt/lists" -o "APT::Sandbox::User=root" -q)
say "the $suite deb-src index from $uri"
apt-get "${opts[@]}" update >"$CACHE/apt.log" 2>&1 || {
	tail -5 "$CACHE/apt.log" >&2
	echo "fetch-lua-tests: apt-get update of the deb-src index failed" >&2
	exit 1
}
say "apt-get source --download-only $PACKAGE"
(cd "$CACHE/download" && apt-get "${opts[@]}" source --download-only "$PACKAGE") >>"$CACHE/apt.log" 2>&1 || {
	tail -5 "$CACHE/apt.log" >&2
	echo "fetch-lua-tests: could not download the $PACKAGE source package" >&2
	exit 1
}
orig=$(ls "$CACHE"/download/"${PACKAGE}"_*.orig.tar.gz 2>/dev/null | head -1)
[ -n "$orig" ] || { echo "fetch-lua-tests: no upstream tarball in the $PACKAGE source package" >&2; exit 1; }
top=$(tar tzf "$orig" | sed -n "1s,/.*,,p") # sed reads it all: no SIGPIPE under pipefail
rm -rf "$CACHE/test.new"
mkdir -p "$CACHE/test.new"
tar xzf "$orig" -C "$CACHE/test.new" --strip-components=2 "$top/test"
[ -f "$CACHE/test.new/life.lua" ] || { echo "fetch-lua-tests: $orig has no test/life.lua" >&2; exit 1; }
rm -rf "$CACHE/test" && mv "$CACHE/test.new" "$CACHE/test"
rm -rf "$apt" "$CACHE/download"
echo "$CACHE/test"
