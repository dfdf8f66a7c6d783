#!/usr/bin/env bash
# Installs the Debian packages carve needs to build, test and run its demo.
# Does nothing when they are all present. Run as root (or with sudo available).
#   scripts/setup.sh [--quiet] [--package]
# --package adds the Debian package tools (dpkg-buildpackage -us -uc -b,
# lintian): about 140 packages, mostly Perl, that the demo does not need;
# scripts/test.sh asks for them (tests/integration/deb_package.sh).
# The benchmarks (bench/) need nothing more.
set -u
quiet=0
package=0
for a in "$@"; do
	case "$a" in
	--quiet) quiet=1 ;;
	--package) package=1 ;;
	*) echo "usage: scripts/setup.sh [--quiet] [--package]" >&2; exit 2 ;;
	esac
done

packages=(
	# build
	gcc make pkg-config clang libclang-rt-14-dev
	# libraries (see DESIGN.md, Dependencies)
	libssl-dev libcbor-dev zlib1g-dev libjson-c-dev libarchive-dev
	libseccomp-dev
	# tests and guest programs
	libcmocka-dev musl-tools openssl cpio faketime socat
	# tools: ACPI table checks, image compression, the static checks
	acpica-tools zstd xz-utils shellcheck clang-tidy clang-format
	# build-enclave --docker-dir: Dockerfiles built without a daemon (a
	# Dockerfile with RUN also needs a runtime: apt-get install crun)
	buildah
	# the hardware-KVM test bed (tests/hwkvm): QEMU's emulator runs L1 with
	# SVM; busybox-static is L1's and the L2 test guests' toolbox
	qemu-system-x86 busybox-static python3
	# runtimes nobody here wrote, on the carve kernel (kernel_programs.sh,
	# kernel_lua.sh: Lua's test programs run by Debian's lua5.1)
	golang-go lua5.1
)
# A Rust program with threads, too: the machine's rustc, else Debian's.
command -v rustc >/dev/null || packages+=(rustc)
# The Debian package (debian/): its build and its checks. No fakeroot:
# debian/control says Rules-Requires-Root: no.
[ "$package" -eq 0 ] || packages+=(dpkg-dev debhelper lintian)

# Debian's cloud kernel for Linux enclaves and the hardware-KVM bed: fetched
# (never installed) into cache/ once apt works; make turns it into blobs.
fetch_kernel() {
	"$(dirname "$0")/fetch-debian-kernel.sh" --quiet >/dev/null ||
		echo "setup: could not fetch Debian's cloud kernel; Linux enclaves and tests/hwkvm need it" >&2
}

# Lua's test programs from Debian's lua5.1 source package, into cache/.
fetch_lua_tests() {
	"$(dirname "$0")/fetch-lua-tests.sh" --quiet >/dev/null ||
		echo "setup: could not fetch Lua's test programs; tests/integration/kernel_lua.sh needs them" >&2
}

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	[ "$quiet" -eq 1 ] || echo "setup: all ${#packages[@]} packages present"
	fetch_kernel
	fetch_lua_tests
	exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "setup: need root to install ${missing[*]}" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# An apt index older than a day (or none) is refreshed first; installs fail on
# a fresh machine without it.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mtime -1 2>/dev/null | head -1)" ]; then
	$SUDO apt-get update -q >/dev/null || { echo "setup: apt-get update failed" >&2; exit 1; }
fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/carve-setup.log 2>&1 || {
	tail -20 /tmp/carve-setup.log >&2
	echo "setup: apt-get install failed (log: /tmp/carve-setup.log)" >&2
	exit 1
}
fetch_kernel
fetch_lua_tests
echo "setup: done"
