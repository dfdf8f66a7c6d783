#!/usr/bin/env bash
# make install / make uninstall: carve into an FHS tree.
#
#   scripts/install.sh install|uninstall    (make passes DESTDIR, PREFIX, BUILD)
#
# Layout, under $DESTDIR$PREFIX (PREFIX defaults to /usr/local):
#   bin/carve, bin/nitro-cli and bin/vsock-proxy (links: carve answers to each name)
#   share/carve/blobs/       carve-kernel.elf; bzImage, cmdline, bootstrap-initrd.img
#                            where they were built (the Linux enclave kernel)
#   lib/carve/libnsm.a, lib/carve/musl/libnsm.a, include/carve/nsm.h,
#   lib/pkgconfig/carve-nsm.pc and carve-nsm-musl.pc   (libnsm for enclave programs)
#   share/man/man1/          carve(1), carve-<command>(1), nitro-cli(1), vsock-proxy(1)
#   share/bash-completion/completions/carve (nitro-cli, vsock-proxy: links to it)
#   share/doc/carve/         README.md and docs/
#
# carve finds its blobs in share/carve/blobs beside its bin/ with no variable
# set (src/common/blobs.c). Every file installed is listed in
# share/carve/install-manifest; uninstall removes exactly those, then the
# directories only carve uses if they are empty. Installing again over an
# install keeps the old list too, so uninstall still removes everything.
set -euo pipefail

cd "$(dirname "$0")/.."
action=${1:-}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BUILD=${BUILD:-build}
LIBDIR=${LIBDIR:-$PREFIX/lib}

bindir=$PREFIX/bin
datadir=$PREFIX/share
blobdir=$datadir/carve/blobs
includedir=$PREFIX/include
mandir=$datadir/man/man1
docdir=$datadir/doc/carve
compdir=$datadir/bash-completion/completions
manifest=$datadir/carve/install-manifest
# The directories no other package shares, deepest first: removed when empty.
own_dirs=("$blobdir" "$datadir/carve" "$docdir/docs" "$docdir" "$includedir/carve"
	"$LIBDIR/carve/musl" "$LIBDIR/carve")

die() {
	echo "install.sh: $*" >&2
	exit 1
}

case $PREFIX in
/*) ;;
*) die "PREFIX must be an absolute path, not '$PREFIX'" ;;
esac

list=$(mktemp)
trap 'rm -f "$list"' EXIT

# put MODE SOURCE DEST: one file (DEST without DESTDIR, as the manifest keeps it).
put() {
	[[ -f $2 ]] || die "'$2' is not built: run 'make' first"
	install -D -m "$1" "$2" "$DESTDIR$3"
	echo "$3" >>"$list"
}

# link TARGET DEST: a relative symbolic link.
link() {
	mkdir -p "$(dirname "$DESTDIR$2")"
	ln -sfn "$1" "$DESTDIR$2"
	echo "$2" >>"$list"
}

# pc NAME LIBSUBDIR DESCRIPTION: a pkg-config file for libnsm.
pc() {
	local version out
	version=$(sed -n 's/^#define CARVE_VERSION "\(.*\)"/\1/p' src/cli/cli.h)
	out=$(mktemp)
	cat >"$out" <<PC
prefix=$PREFIX
libdir=$LIBDIR/$2
includedir=$includedir/carve

Name: $1
Description: $3
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lnsm
PC
	put 0644 "$out" "$LIBDIR/pkgconfig/$1.pc"
	rm -f "$out"
}

do_install() {
	put 0755 "$BUILD/bin/carve" "$bindir/carve"
	link carve "$bindir/nitro-cli"
	link carve "$bindir/vsock-proxy"

	put 0644 build/guest/carve-kernel.elf "$blobdir/carve-kernel.elf"
	local linux=(bzImage cmdline bootstrap-initrd.img) b have=0
	for b in "${linux[@]}"; do [[ -s build/guest/$b ]] && have=$((have + 1)); done
	if ((have == ${#linux[@]})); then
		for b in "${linux[@]}"; do put 0644 "build/guest/$b" "$blobdir/$b"; done
	else
		echo "note: the Linux enclave blobs are not built (scripts/setup.sh fetches the kernel);" \
			"installing the carve kernel only" >&2
	fi

	put 0644 build/guest/lib/glibc/libnsm.a "$LIBDIR/carve/libnsm.a"
	put 0644 build/guest/lib/musl/libnsm.a "$LIBDIR/carve/musl/libnsm.a"
	put 0644 guest/lib/nsm.h "$includedir/carve/nsm.h"
	pc carve-nsm carve "libnsm for enclave programs (glibc, static): the Nitro Secure Module API"
	pc carve-nsm-musl carve/musl "libnsm for enclave programs (musl-gcc, static): the Nitro Secure Module API"

	local page
	for page in "$BUILD"/man/*.1; do
		[[ -e $page ]] || die "no manual pages in $BUILD/man: run 'make man'"
		put 0644 "$page" "$mandir/$(basename "$page")"
	done
	put 0644 "$BUILD/completion/carve" "$compdir/carve"
	link carve "$compdir/nitro-cli"
	link carve "$compdir/vsock-proxy"

	put 0644 README.md "$docdir/README.md"
	local doc
	for doc in docs/*.md; do put 0644 "$doc" "$docdir/docs/$(basename "$doc")"; done

	# The manifest: this install's files and any earlier one's.
	if [[ -f $DESTDIR$manifest ]]; then
		cat "$DESTDIR$manifest" >>"$list"
	fi
	echo "$manifest" >>"$list"
	sort -u "$list" | install -D -m 0644 /dev/stdin "$DESTDIR$manifest"
	echo "installed carve under $DESTDIR$PREFIX ($(wc -l <"$DESTDIR$manifest") files; list: $manifest)"
}

do_uninstall() {
	[[ -f $DESTDIR$manifest ]] || die "no carve install under '$DESTDIR$PREFIX' (no $DESTDIR$manifest)"
	local path n=0
	while IFS= read -r path; do
		# Only what the manifest says install put under PREFIX.
		case $path in
		"$PREFIX"/*) ;;
		*) die "the manifest names '$path', outside $PREFIX; removing nothing more" ;;
		esac
		[[ $path == "$manifest" ]] && continue
		if [[ -e $DESTDIR$path || -L $DESTDIR$path ]]; then
			rm -f "$DESTDIR$path"
			n=$((n + 1))
		fi
	done <"$DESTDIR$manifest"
	rm -f "$DESTDIR$manifest"
	local dir
	for dir in "${own_dirs[@]}"; do
		[[ -d $DESTDIR$dir ]] && rmdir --ignore-fail-on-non-empty "$DESTDIR$dir"
	done
	echo "removed carve from $DESTDIR$PREFIX ($n files)"
}

case $action in
install) do_install ;;
uninstall) do_uninstall ;;
*) die "say install or uninstall" ;;
esac
