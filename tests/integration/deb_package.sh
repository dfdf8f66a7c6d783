#!/usr/bin/env bash
# The Debian packages (debian/, dist/): dpkg-buildpackage -us -uc -b of a
# copy of this checkout, then the packages installed with dpkg into a fresh
# root, a copy-on-write view of this host's own Debian system (an overlay
# whose upper layer is a tmpfs, chroot) with its own /dev, /run and /tmp
# and no build tree in it. There, from the installed files only: the carve
# group and its directories; an unprivileged member of the group builds the
# hello image and runs, describes and terminates it with nitro-cli; a second
# member runs one with the same attestation CA; a user outside the group is
# refused with a clear error; the allocator unit is checked with
# systemd-analyze verify (no systemd runs here to start it) and its
# ExecStart and ExecStop are run (a pool, a member's enclave on it, the
# release); then dpkg --purge, and nothing of carve is left.
#
# Quick by default: the package is made from the release tree already built
# (CARVE_DEB_BUILD=build, debian/rules). CARVE_TEST_SLOW=1 makes it as a
# package build does, the host binary with Debian's build flags in
# build-deb/, and requires lintian to be clean.
#
# Needs root (chroot, mounts, dpkg): it runs in its own mount namespace, so
# every mount goes with it; the host's dpkg database and /etc stay untouched.
if [ "$(id -u)" -eq 0 ] && [ -z "${CARVE_DEB_NS:-}" ] && command -v unshare >/dev/null; then
	CARVE_DEB_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1

if [ -z "${CARVE_DEB_NS:-}" ]; then
	skip "deb_package" "needs root (chroot, mounts and dpkg into a fresh root)"
	finish
fi
missing=""
for t in dpkg-buildpackage dh systemd-sysusers systemd-tmpfiles systemd-analyze setpriv useradd; do
	command -v "$t" >/dev/null || missing="$missing $t"
done
if [ -n "$missing" ]; then
	skip "deb_package" "missing:$missing (scripts/setup.sh --package installs the package tools)"
	finish
fi
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
if ! grep -qw overlay /proc/filesystems; then
	skip "deb_package" "this kernel has no overlay file system for the fresh root"
	finish
fi
slow=${CARVE_TEST_SLOW:-}

# The source: this checkout as it is, without its build trees; build/ (the
# guest blobs, and the host binary in quick mode) and cache/ (Debian's
# kernel for the Linux blobs) are the checkout's own, linked.
SRC=$TMP/src/carve
mkdir -p "$SRC"
tar -C "$ROOT" --exclude-vcs --exclude=./build --exclude='./build-*' --exclude=./cache \
	--exclude='./debian/.debhelper' --exclude='./debian/tmp' -cf - . | tar -C "$SRC" -xf -
ln -s "$ROOT/build" "$SRC/build"
[ -e "$ROOT/cache" ] && ln -s "$(cd "$ROOT/cache" && pwd)" "$SRC/cache"
if [ -n "$slow" ]; then
	mkdir -p "$ROOT/build-deb" && ln -s "$ROOT/build-deb" "$SRC/build-deb"
	build_env=()
else
	# The release tree as it is, no debug-symbol package, light compression
	# (bzImage is 11 MiB): the same packages, in a third of the time.
	build_env=(CARVE_DEB_BUILD=build DEB_BUILD_OPTIONS=noautodbgsym DPKG_DEB_COMPRESSOR_TYPE=gzip
		DPKG_DEB_COMPRESSOR_LEVEL=1)
fi
(cd "$SRC" && env "${build_env[@]}" timeout 900 dpkg-buildpackage -us -uc -b) >build.log 2>&1
tap_result $? "dpkg-buildpackage -us -uc -b${slow:+ (the Debian build flags, build-deb/)}" "$(tail_of build.log 40)"
deb=$(ls "$TMP"/src/carve_*_amd64.deb 2>/dev/null | head -1)
ok "the carve package is made" test -s "$deb"
dpkg-deb -f "$deb" Depends >depends.txt
# Debian's library packages (shlibs) and what debhelper adds for sysusers.
same "carve depends on Debian packages only" \
	"$(tr ',' '\n' <depends.txt | sed 's/^ *//; s/ *(.*//' | grep -v '^lib\|^zlib1g$\|systemd' | tr '\n' ' ')" ""
ok "the carve kernel is in carve, the Linux blobs are not" bash -c "dpkg-deb -c '$deb' >c.txt &&
	grep -q 'usr/share/carve/blobs/carve-kernel.elf$' c.txt && ! grep -q bzImage c.txt"
if [ -s "$ROOT/cache/debian-kernel/version" ]; then
	ok "carve-linux-blobs holds bzImage, cmdline, bootstrap-initrd.img" bash -c "dpkg-deb -c $TMP/src/carve-linux-blobs_*_all.deb |
		grep -c 'blobs/\(bzImage\|cmdline\|bootstrap-initrd.img\)$' | grep -qx 3"
else
	skip "carve-linux-blobs" "no Debian kernel in cache/ (scripts/setup.sh fetches it), so no Linux blobs"
fi
if [ -n "$slow" ]; then
	if command -v lintian >/dev/null; then
		ok "lintian: no error or warning (debian/*.lintian-overrides say why for each)" \
			lintian --fail-on error,warning "$TMP"/src/carve_*_amd64.changes
	else
		skip "lintian" "no lintian here (scripts/setup.sh --package installs it)"
	fi
fi

# The fresh root: this host's system, copy-on-write, with nothing of carve
# (whiteouts hide any carve state the host has), its own /dev with a kvm
# node as this host's (mode and owner too, for the ACL to prove itself),
# /run, /tmp, and the checkout hidden.
R=$TMP/root
mkdir -p "$TMP/layer" "$R"
# Unmount before tap.sh removes $TMP, and never remove through a mount that
# stays (the bound /sys): the temporary directory is left then instead.
HP_NR=/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
hp_before=""
deb_cleanup() {
	# Enclaves a failed check left running in the fresh root go first.
	if [ -x "$R/usr/bin/carve" ]; then
		timeout 30 chroot "$R" /usr/bin/nitro-cli terminate-enclave --all >/dev/null 2>&1
		timeout 30 chroot "$R" /usr/bin/carve terminate-enclave --all >/dev/null 2>&1
	fi
	[ -n "$hp_before" ] && echo "$hp_before" >"$HP_NR"
	umount -R "$R" 2>/dev/null || umount -R -l "$R" 2>/dev/null
	umount "$TMP/layer" 2>/dev/null || umount -l "$TMP/layer" 2>/dev/null
	if grep -q " $TMP/" /proc/self/mounts; then
		echo "# mounts remain under $TMP; leaving it" >&2
		return
	fi
	tap_cleanup
}
trap deb_cleanup EXIT
mount -t tmpfs carve-deb-layer "$TMP/layer" && mkdir "$TMP/layer/upper" "$TMP/layer/work"
for p in etc/carve var/lib/carve var/log/nitro_enclaves usr/share/carve usr/bin/carve usr/bin/nitro-cli \
	usr/bin/vsock-proxy; do
	if [ -e "/$p" ] || [ -L "/$p" ]; then mkdir -p "$TMP/layer/upper/$(dirname $p)" && mknod "$TMP/layer/upper/$p" c 0 0; fi
done
mount -t overlay carve-deb-root -o "lowerdir=/,upperdir=$TMP/layer/upper,workdir=$TMP/layer/work" "$R"
tap_result $? "a fresh root: this host's system under an overlay"
mount -t proc proc "$R/proc" && mount --bind /sys "$R/sys" &&
	mount -t tmpfs carve-deb-dev "$R/dev" && mount -t tmpfs carve-deb-run "$R/run" &&
	mount -t tmpfs carve-deb-tmp "$R/tmp" && mount -t tmpfs carve-deb-hide "$R$ROOT"
for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
	IFS=: read -r name major minor <<<"$n"
	mknod -m 666 "$R/dev/$name" c "$major" "$minor"
done
have_kvm=0
pool_at_removal=""
if [ -c /dev/kvm ]; then
	mknod "$R/dev/kvm" c 10 232 && chown --reference=/dev/kvm "$R/dev/kvm" && chmod 600 "$R/dev/kvm"
	have_kvm=1
fi
mkdir -p "$R/dev/shm" "$R/dev/pts"
mkdir -p "$R/tmp/debs" && cp "$TMP"/src/*.deb "$R/tmp/debs/"
rm -f "$R"/tmp/debs/*dbgsym*
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
same "no carve in the fresh root before" "$(in_root sh -c 'command -v carve; ls -d /var/lib/carve /etc/carve 2>/dev/null')" ""
(cd "$TMP/layer/upper" && find . | LC_ALL=C sort) >before.list

in_root sh -c 'dpkg -i /tmp/debs/carve_*_amd64.deb /tmp/debs/carve-nsm-dev_*.deb' >install.log 2>&1
tap_result $? "dpkg -i carve carve-nsm-dev" install.log
if ls "$R"/tmp/debs/carve-linux-blobs_*.deb >/dev/null 2>&1; then
	ok "dpkg -i carve-linux-blobs" in_root sh -c 'dpkg -i /tmp/debs/carve-linux-blobs_*.deb'
fi
ok "the carve group exists (sysusers.d)" in_root getent group carve
same "/run/carve, /run/nitro_enclaves: 2775 root:carve (tmpfiles.d)" \
	"$(in_root stat -c '%a %U:%G' /run/carve /run/nitro_enclaves | sort -u)" "2775 root:carve"
same "/var/lib/carve 0755, its pki 2775, both root:carve" \
	"$(in_root stat -c '%n %a %U:%G' /var/lib/carve /var/lib/carve/pki | tr '\n' ' ')" \
	"/var/lib/carve 755 root:carve /var/lib/carve/pki 2775 root:carve "
same "the locks every start takes are the group's (0660)" \
	"$(in_root stat -c '%a %G' /run/carve/.lock /run/nitro_enclaves/.lock /var/lib/carve/pki/lock | sort -u)" "660 carve"
ok "/etc/carve/allocator.yaml is a conffile" in_root sh -c 'dpkg-query -W -f="\${Conffiles}" carve | grep -q /etc/carve/allocator.yaml'
ok "nitro-cli, vsock-proxy and the manual pages are installed" in_root sh -c \
	'test -L /usr/bin/nitro-cli && test -L /usr/bin/vsock-proxy && test -e /usr/share/man/man1/carve-run-enclave.1.gz'
ok "pkg-config carve-nsm finds the installed libnsm" in_root sh -c \
	'command -v pkg-config >/dev/null || exit 0; pkg-config --libs carve-nsm | grep -q -- "-L/usr/lib/x86_64-linux-gnu/carve"'

# --man=no: man would write a formatted copy of the page into man-db's cache.
# The udev rule's command, as udev would run it when kvm makes the device
# again: a new node without the entry gets it back.
if [ "$have_kvm" -eq 1 ]; then
	rm "$R/dev/kvm" && mknod "$R/dev/kvm" c 10 232 && chown --reference=/dev/kvm "$R/dev/kvm" && chmod 600 "$R/dev/kvm"
	run=$(sed -n 's/.*KERNEL=="kvm".*RUN+="\([^"]*\)".*/\1/p' "$R/lib/udev/rules.d/60-carve.rules")
	ok "the udev rule's command (${run%% *}) gives a new /dev/kvm the group's entry" bash -c \
		"[ -n '$run' ] && chroot '$R' $run && ls -l '$R/dev/kvm' | cut -c11 | grep -qx '+'"
fi
ok "systemd-analyze verify carve-allocator.service" in_root systemd-analyze verify --man=no carve-allocator.service
unit=$R/lib/systemd/system/carve-allocator.service
ok "the unit: oneshot, RemainAfterExit, reserves on start and releases on stop" bash -c \
	"grep -qx 'Type=oneshot' '$unit' && grep -qx 'RemainAfterExit=yes' '$unit' &&
	 grep -qx 'ExecStart=/usr/bin/carve allocator' '$unit' && grep -qx 'ExecStop=/usr/bin/carve allocator --release' '$unit'"
ok "the unit is installed, not enabled (the administrator's call)" in_root sh -c \
	'! ls /etc/systemd/system/multi-user.target.wants/carve-allocator.service 2>/dev/null'

# Two members of the group and one outsider; none of them root.
in_root useradd -M -N -g nogroup -G carve -s /bin/sh carve-alice &&
	in_root useradd -M -N -g nogroup -G carve -s /bin/sh carve-bob &&
	in_root useradd -M -N -g nogroup -s /bin/sh carve-outsider
tap_result $? "two members of the carve group and one outsider"
as() { # USER CMD...: the command as that user, its groups only, bounded
	local user=$1
	shift
	chroot "$R" setpriv --reuid="$user" --regid=nogroup --init-groups --inh-caps=-all \
		env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 timeout 120 "$@"
}
mkdir -p "$R/tmp/hello/bin" && cp "$ROOT/build/guest/apps/hello" "$R/tmp/hello/bin/hello" && chmod -R a+rX "$R/tmp/hello"
chmod 1777 "$R/tmp"
ok "a member builds the hello image with the installed carve kernel" as carve-alice nitro-cli build-enclave \
	--rootfs /tmp/hello --cmd "/bin/hello --port 5000" --output-file /tmp/hello.eif
if [ "$have_kvm" -eq 1 ]; then
	# This host's node is root's, 0600: the group's entry alone opens it.
	same "/dev/kvm: its owner and group as before, plus an ACL entry (ls: +)" \
		"$(in_root stat -c '%U:%G' /dev/kvm) $(in_root ls -l /dev/kvm | cut -c11)" "$(stat -c '%U:%G' /dev/kvm) +"
	as carve-alice nitro-cli run-enclave --eif-path /tmp/hello.eif --memory 128 --cpu-count 1 \
		--debug-mode --enclave-name alice >run.json 2>run.err
	tap_result $? "a member runs it (nitro-cli run-enclave, not root)" run.err
	same "describe-enclaves: RUNNING" "$(as carve-alice nitro-cli describe-enclaves | json_field /dev/stdin State)" RUNNING
	same "the enclave process is the member's" \
		"$(ps -o uid= -p "$(json_field run.json ProcessID)" 2>/dev/null | tr -d ' ')" \
		"$(in_root id -u carve-alice)"
	ok "its console" bash -c "chroot '$R' setpriv --reuid=carve-alice --regid=nogroup --init-groups \
		env -i PATH=/usr/bin:/bin timeout 3 nitro-cli console --enclave-name alice >console.txt; grep -q . console.txt"
	same "the CA keys are the group's, 0640, the certificate 0644" \
		"$(in_root stat -c '%a %G' /var/lib/carve/pki/root.key /var/lib/carve/pki/intermediate.key \
			/var/lib/carve/pki/root.pem | tr '\n' ' ')" "640 carve 640 carve 644 carve "
	cp "$R/var/lib/carve/pki/root.pem" root.pem
	# A CA from before the package (root's, 0600) is given to the group by
	# the tmpfiles.d line that runs at every boot and install.
	in_root sh -c 'chown root:root /var/lib/carve/pki/*.key && chmod 600 /var/lib/carve/pki/*.key &&
		systemd-tmpfiles --create carve.conf'
	same "tmpfiles.d gives a root-only CA key to the group (0640)" \
		"$(in_root stat -c '%a %G' /var/lib/carve/pki/root.key)" "640 carve"
	as carve-bob nitro-cli run-enclave --eif-path /tmp/hello.eif --memory 128 --cpu-count 1 \
		--enclave-name bob >bob.json 2>bob.err
	tap_result $? "another member runs one too" bob.err
	ok "... signing with the same CA (the root unchanged)" cmp "$R/var/lib/carve/pki/root.pem" root.pem
	fails_with 18 "a member may not terminate another member's enclave (E18)" as carve-bob \
		nitro-cli terminate-enclave --enclave-name alice
	ok "the owner terminates it" as carve-alice nitro-cli terminate-enclave --enclave-name alice
	ok "and the other member theirs" as carve-bob nitro-cli terminate-enclave --enclave-name bob
	same "describe-enclaves: none left" "$(as carve-alice nitro-cli describe-enclaves)" "[]"

	as carve-outsider nitro-cli run-enclave --eif-path /tmp/hello.eif --memory 128 --cpu-count 1 \
		>out.json 2>out.err
	rc=$?
	ok "a user outside the group is refused, with an Exx code" bash -c "[ $rc -ne 0 ] && grep -q '^\[ E[0-9][0-9] \]' out.err"
	ok "... and the message says the carve group" bash -c "grep -q 'carve group' out.err || { cat out.err; false; }"
	ok "... and the outsider may still list enclaves" as carve-outsider nitro-cli describe-enclaves

	# The allocator's ExecStart and ExecStop, as systemd would run them
	# (root), with the conffile set to what this host can give.
	NR=$HP_NR
	if [ "$(nproc)" -ge 2 ] && [ -w "$NR" ]; then
		hp_before=$(cat "$NR")
		printf -- '---\nmemory_mib: 128\ncpu_count: 1\n' >"$R/etc/carve/allocator.yaml"
		ok "ExecStart: the pool is reserved" in_root sh -c "$(sed -n 's/^ExecStart=//p' "$unit")"
		ok "pool.json is root's and readable" in_root sh -c 'test "$(stat -c %U /var/lib/carve/pool.json)" = root'
		as carve-alice nitro-cli run-enclave --eif-path /tmp/hello.eif --memory 64 --cpu-count 1 \
			--enclave-name pooled >pool.json 2>pool.err
		tap_result $? "a member runs an enclave on the pool (hugepages, a dedicated CPU)" pool.err
		ok "... without the development-mode notice" bash -c "! grep -q 'development mode' pool.err"
		fails_with 38 "ExecStop while an enclave runs: E38, the pool stays" in_root \
			sh -c "$(sed -n 's/^ExecStop=//p' "$unit")"
		ok "terminate it" as carve-alice nitro-cli terminate-enclave --enclave-name pooled
		ok "ExecStop: the pool is released" in_root sh -c "$(sed -n 's/^ExecStop=//p' "$unit")"
		same "the host's hugepages as before" "$(cat "$NR")" "$hp_before"
		# Reserved again, for the removal to give back (prerm, no systemd).
		ok "ExecStart again, before the removal" in_root sh -c "$(sed -n 's/^ExecStart=//p' "$unit")"
		pool_at_removal=1
	else
		skip "the allocator's ExecStart and ExecStop" "needs 2 CPUs and a writable $NR"
	fi
else
	skip "members run enclaves" "no /dev/kvm here"
fi

in_root userdel carve-alice && in_root userdel carve-bob && in_root userdel carve-outsider
in_root dpkg --purge carve-linux-blobs carve-nsm-dev carve >purge.log 2>&1
tap_result $? "dpkg --purge" purge.log
if [ -n "${pool_at_removal:-}" ]; then
	same "the removal released the pool (prerm): the host's hugepages as before" "$(cat "$HP_NR")" "$hp_before"
fi
same "no carve package left, not even its configuration" "$(in_root dpkg-query -W -f='${Package} ${Status}\n' 'carve*' 2>/dev/null)" ""
same "nothing of carve left in /run" "$(find "$R/run" -maxdepth 1 \( -iname "*carve*" -o -iname "*nitro*" \))" ""
rm -rf "$R/tmp/debs" "$R/tmp/hello" "$R/tmp/hello.eif"
# What the purge leaves in the fresh root's upper layer beyond what was
# there before: dpkg's own records, and the carve group (kept, as Debian
# keeps system groups: a new group must not inherit files with its id).
(cd "$TMP/layer/upper" && find . | LC_ALL=C sort) >after.list
# Directories copied up from this host's system (their times changed) are
# not new; dpkg's own records, man-db's index (remade at every package
# change) and the kept group are left out.
comm -13 before.list after.list | while IFS= read -r p; do [ -d "/$p" ] && [ -d "$TMP/layer/upper/$p" ] || echo "$p"; done |
	grep -v '^\./var/lib/dpkg\(/\|$\)\|^\./var/log\(/dpkg.log\)\?$\|^\./var/cache/debconf\|^\./var/cache/man\(/\|$\)\|^\./etc/\(group\|gshadow\|passwd\|shadow\|subuid\|subgid\)-\?$\|^\./etc/\.pwd\.lock$\|^\./etc$\|^\./var$\|^\./var/lib$\|^\./var/cache$' >left.list
same "nothing else left behind" "$(cat left.list)" ""
ok "the carve group stays" in_root getent group carve
finish
