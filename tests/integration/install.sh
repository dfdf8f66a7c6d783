#!/usr/bin/env bash
# make install into a temporary root, then carve from the installed files
# only: on PATH, no CARVE_BLOBS, started from / so no build tree is near. It
# builds an EIF with the installed carve kernel, describes it, runs it where
# there is a /dev/kvm, links a program with the installed libnsm through
# pkg-config, reads the manual pages; make uninstall then leaves no file.
# Installs the release tree (build/); `make` first.
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1
DEST=$TMP/root
INSTALLED=$DEST/usr/bin

ok "make install DESTDIR=... PREFIX=/usr" timeout 300 make -C "$ROOT" --no-print-directory install \
	DESTDIR="$DEST" PREFIX=/usr
ok "carve, nitro-cli and vsock-proxy in bin" test -x "$INSTALLED/carve" -a -L "$INSTALLED/nitro-cli" \
	-a -L "$INSTALLED/vsock-proxy"
ok "the carve kernel in share/carve/blobs" cmp "$DEST/usr/share/carve/blobs/carve-kernel.elf" \
	"$ROOT/build/guest/carve-kernel.elf"
(cd "$DEST" && find . \( -type f -o -type l \) | sed 's|^\.||' | LC_ALL=C sort) >found.list
same "the manifest lists exactly the installed files" \
	"$(LC_ALL=C sort "$DEST/usr/share/carve/install-manifest" | tr '\n' ' ')" "$(tr '\n' ' ' <found.list)"

# installed CMD...: run from the install alone, bounded.
installed() {
	(cd / && env -u CARVE_BLOBS -u NITRO_CLI_BLOBS PATH="$INSTALLED:/usr/bin:/bin" timeout 120 "$@")
}
same "nitro-cli on PATH is the installed one" "$(installed bash -c 'command -v nitro-cli')" "$INSTALLED/nitro-cli"
same "nitro-cli --version" "$(installed nitro-cli --version)" "Nitro CLI 1.5.0"
same "carve --version" "$(installed carve --version)" "carve $(sed -n 's/^#define CARVE_VERSION "\(.*\)"/\1/p' \
	"$ROOT/src/cli/cli.h")"
ok "vsock-proxy answers as AWS's proxy" bash -c "cd / && PATH='$INSTALLED' vsock-proxy --help | grep -q 'Vsock-TCP proxy'"

mkdir -p rootfs/bin && cp "$ROOT/build/guest/apps/hello" rootfs/bin/hello
ok "build-enclave with the installed carve kernel, no CARVE_BLOBS" installed carve build-enclave \
	--rootfs "$TMP/rootfs" --cmd "/bin/hello --port 5000" --output-file "$TMP/hello.eif"
installed nitro-cli describe-eif --eif-path "$TMP/hello.eif" >describe.json 2>describe.err
tap_result $? "nitro-cli describe-eif of it" describe.err
# The same image from the build tree (its blobs named outright): same PCR0,
# so the install's kernel is the one built here.
CARVE_BLOBS=$ROOT/build/guest "$CARVE_RELEASE" build-enclave --rootfs rootfs --cmd "/bin/hello --port 5000" \
	--output-file tree.eif >tree.json 2>/dev/null
same "PCR0 as built with the build tree's kernel" "$(json_field describe.json PCR0)" "$(json_field tree.json PCR0)"
ok "the PCR0 compared is one" test -n "$(json_field tree.json PCR0)"
# Without the install tree's kernel, the installed carve says so rather than
# take one from where a build tree's would be (<bin>/../guest).
mv "$DEST/usr/share/carve/blobs/carve-kernel.elf" kernel.moved
mkdir "$DEST/usr/guest" && cp kernel.moved "$DEST/usr/guest/carve-kernel.elf"
fails_with 52 "no kernel in the install tree: E52, not a build-tree guess" installed carve build-enclave \
	--rootfs "$TMP/rootfs" --cmd /bin/hello --output-file "$TMP/none.eif"
rm -r "$DEST/usr/guest"
mv kernel.moved "$DEST/usr/share/carve/blobs/carve-kernel.elf"

if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state
	installed nitro-cli run-enclave --eif-path "$TMP/hello.eif" --memory 128 --cpu-count 1 --debug-mode \
		--enclave-name installed >run.json 2>run.err
	tap_result $? "nitro-cli run-enclave of it (debug mode)" run.err
	same "describe-enclaves shows it running" \
		"$(installed nitro-cli describe-enclaves | json_field /dev/stdin State)" "RUNNING"
	ok "terminate-enclave" installed nitro-cli terminate-enclave --enclave-name installed
else
	skip "nitro-cli run-enclave of the installed image" "no usable /dev/kvm here"
fi

cat >nsm.c <<'C'
#include <nsm.h>
int main(void)
{
	int32_t fd = nsm_lib_init();
	if (fd >= 0)
		nsm_lib_exit(fd);
	return 0;
}
C
if command -v gcc >/dev/null && command -v pkg-config >/dev/null; then
	pc() { PKG_CONFIG_SYSROOT_DIR=$DEST PKG_CONFIG_LIBDIR=$DEST/usr/lib/pkgconfig pkg-config "$@"; }
	# shellcheck disable=SC2046 # the flags are words
	ok "a program links libnsm through pkg-config carve-nsm" gcc -static -o nsm nsm.c $(pc --cflags --libs carve-nsm)
else
	skip "a program links libnsm through pkg-config carve-nsm" "no gcc or pkg-config here"
fi
if command -v man >/dev/null; then
	ok "man nitro-cli shows carve(1)" bash -c "MANPAGER=cat man -M '$DEST/usr/share/man' nitro-cli 2>&1 |
		grep -q 'carve-run-enclave(1)'"
else
	skip "man nitro-cli shows carve(1)" "no man here"
fi

ok "make uninstall" timeout 120 make -C "$ROOT" --no-print-directory uninstall DESTDIR="$DEST" PREFIX=/usr
same "no file left behind" "$(find "$DEST" -not -type d)" ""
same "no carve directory left behind" "$(find "$DEST" -name '*carve*')" ""
fails_uninstall() { ! make -C "$ROOT" --no-print-directory uninstall DESTDIR="$DEST" PREFIX=/usr >out 2>&1 &&
	grep -q "no carve install" out; }
ok "uninstall again: nothing installed, said so" fails_uninstall
finish
