# shellcheck shell=bash
# Kernel modules from Debian's kernel package, for scripts to source.
#
#   install_modules MODDIR DEST NAME...
#
# copies each named module of the tree MODDIR (lib/modules/<version> as
# scripts/fetch-debian-kernel.sh --modules prints it), and every module it
# depends on, decompressed, into DEST, and writes DEST/order: one name a
# line, dependencies first, the order to load them in. The package ships no
# modules.dep (its postinst makes that), so dependencies come from each
# module's .modinfo "depends=" field.

# The .ko.xz file of a module; names use _ or - interchangeably.
module_file() { # MODDIR NAME
	find "$1/kernel" \( -name "$2.ko.xz" -o -name "${2//_/-}.ko.xz" \) | head -1
}

install_modules() { # MODDIR DEST NAME...
	local moddir=$1 dest=$2
	shift 2
	local -A seen=()
	local order=()
	_add_module() {
		local name=$1 file dep
		[ -z "${seen[$name]:-}" ] || return 0
		seen[$name]=1
		file=$(module_file "$moddir" "$name")
		if [ -z "$file" ]; then
			echo "module $name is not in $moddir" >&2
			return 1
		fi
		for dep in $(xz -dc "$file" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
			_add_module "$dep" || return 1
		done
		xz -dc "$file" >"$dest/$name.ko" || return 1
		order+=("$name")
	}
	mkdir -p "$dest"
	local m
	for m in "$@"; do _add_module "$m" || return 1; done
	printf '%s\n' "${order[@]}" >"$dest/order"
}
