#!/usr/bin/env bash
# carve-init (build/guest/init) on the host: it must be a static program (no
# PT_INTERP, no shared libraries), refuse to run as anything but PID 1 except
# in --dry-run, and read the application ramdisk that carve build-enclave
# lays out: the words of --cmd and the --env entries must come out of its
# parser unchanged. Broken inputs must end with init's documented statuses
# (guest/init/README.md). Booting it needs a Linux-capable KVM (the nested
# bed, DESIGN.md), not this script.
. "$(dirname "$0")/../lib/tap.sh"
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
CARVE=${CARVE:-$ROOT/build-san/bin/carve}
INIT=${INIT:-$ROOT/build/guest/init}
cd "$TMP" || exit 1

ok "init is built" test -x "$INIT"
readelf -lW "$INIT" >phdrs.txt 2>&1
same "init has no PT_INTERP" "$(grep -c 'INTERP' phdrs.txt)" 0
same "init needs no shared library" "$(readelf -dW "$INIT" 2>/dev/null | grep -c NEEDED)" 0
same "init is an x86-64 executable" "$(readelf -hW "$INIT" | grep -c 'Advanced Micro Devices X86-64')" 1

"$INIT" >out.txt 2>&1
same "not PID 1 and no --dry-run: exit 2" "$?" 2
ok "it says what it is" grep -q 'PID 1 of a carve Linux enclave' out.txt

# The application ramdisk of a real build, unpacked.
mkdir -p root/bin
printf '#!/bin/sh\n' >root/bin/app && chmod 0755 root/bin/app
head -c 1000 /dev/urandom >kernel
ok "build an enclave image" $CARVE build-enclave --kernel kernel --cmdline "console=ttyS0" \
	--rootfs root --cmd "/bin/app --greet 'two words' '' \"q\\\"x\"" --env A=1 --env "B=x y" --env PATH=/bin \
	--output-file app.eif --name app
n=$(od -An -tu2 --endian=big -j26 -N2 app.eif | tr -d ' ')
last=$((n - 1))
off=$(od -An -tu8 --endian=big -j$((28 + 8 * last)) -N8 app.eif | tr -d ' ')
size=$(od -An -tu8 --endian=big -j$((284 + 8 * last)) -N8 app.eif | tr -d ' ')
tail -c +$((off + 12 + 1)) app.eif | head -c "$size" >app.cpio
mkdir x && (cd x && cpio -idm --quiet <../app.cpio)

"$INIT" --dry-run x >dry.txt 2>&1
same "dry run of the built ramdisk: exit 0" "$?" 0
same "argv as --cmd gave it" "$(grep -o 'argv\[[0-9]*\] = .*' dry.txt)" \
	"$(printf 'argv[0] = "/bin/app"\nargv[1] = "--greet"\nargv[2] = "two words"\nargv[3] = ""\nargv[4] = "q"x"')"
same "env as --env gave it" "$(grep -o 'env\[[0-9]*\] = .*' dry.txt)" \
	"$(printf 'env[0] = "A=1"\nenv[1] = "B=x y"\nenv[2] = "PATH=/bin"')"
same "the program is looked up on the image's PATH" "$(grep -o 'lookup PATH = .*' dry.txt)" "lookup PATH = /bin"
same "default working directory" "$(grep -o 'working directory = .*' dry.txt)" "working directory = /"
same "every line starts with carve-init:" "$(grep -vc '^carve-init: ' dry.txt)" 0
ok "the dry run leaves cmd and env in place" test -f x/cmd -a -f x/env

# Modules: the order list and Nitro's /nsm.ko.
mkdir -p x/lib/carve-modules
printf 'virtio_mmio.ko\n# comment\n\nvsock.ko\n' >x/lib/carve-modules/order
touch x/lib/carve-modules/virtio_mmio.ko x/lib/carve-modules/vsock.ko x/nsm.ko
printf '/srv/app\n' >x/workdir
"$INIT" --dry-run x >dry.txt 2>&1
same "modules in list order, then /nsm.ko" "$(grep -o 'would load [a-z_]*' dry.txt | tr '\n' ' ')" \
	"would load virtio_mmio would load vsock would load nsm "
same "/workdir is the working directory" "$(grep -o 'working directory = .*' dry.txt)" "working directory = /srv/app"

# Failures: one line naming the file and why, and init's status for it.
expect_status() { # status description grep-pattern
	"$INIT" --dry-run x >bad.txt 2>&1
	local rc=$?
	if [ "$rc" -eq "$1" ] && grep -q "$3" bad.txt; then
		tap_result 0 "$2"
	else
		{ echo "# exit $rc, expected $1 and '$3'"; cat bad.txt; } >diag.txt
		tap_result 1 "$2" diag.txt
	fi
}
printf 'missing.ko\n' >x/lib/carve-modules/order
expect_status 242 "a listed module that is missing: 242" "open module .*missing.ko: No such file"
printf '../evil.ko\n' >x/lib/carve-modules/order
expect_status 244 "a module path with /: 244" "line 1: '../evil.ko' is not the file name of a .ko"
printf 'nsm.ko.xz\n' >x/lib/carve-modules/order
expect_status 244 "a compressed module name: 244" "is not the file name of a .ko"
rm x/lib/carve-modules/order
printf '/srv/a\n/srv/b\n' >x/workdir
expect_status 244 "a two-line /workdir: 244" "workdir: 2 lines, expected one"
rm x/workdir
printf '/bin/app\0x\n' >x/cmd
expect_status 244 "a NUL byte in /cmd: 244" "cmd: line 1 has a NUL byte"
printf '\n/bin/app\n' >x/cmd
expect_status 244 "an empty first line in /cmd: 244" "cmd names no program"
head -c 131072 /dev/zero | tr '\0' 'a' >x/cmd
expect_status 244 "a 128 KiB argument: 244" "cmd: line 1 is 131072 bytes long"
printf '/bin/app' >x/cmd
printf 'A=1\nnot-an-entry\n' >x/env
"$INIT" --dry-run x >dry.txt 2>&1
same "an env line without = is left out, with a warning" "$?:$(grep -c 'left out 1 line' dry.txt)" "0:1"
rm x/env
"$INIT" --dry-run x >dry.txt 2>&1
same "no /env: PATH only, as Nitro's init" "$(grep -o 'env\[[0-9]*\] = .*' dry.txt)" 'env[0] = "PATH=/sbin:/usr/sbin:/bin:/usr/bin"'
rm x/cmd
"$INIT" --dry-run x >dry.txt 2>&1
same "no /cmd: sh, as Nitro's init" "$(grep -o 'argv\[[0-9]*\] = .*' dry.txt)" 'argv[0] = "sh"'
finish
