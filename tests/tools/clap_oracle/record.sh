#!/usr/bin/env bash
# Records how nitro-cli 1.5.0's parser answers each command line of
# tests/integration/data/nitro_parser.cases, into nitro_parser.expected
# beside it, which tests/integration/nitro_parser.sh holds carve to.
#
#   tests/tools/clap_oracle/record.sh NITRO_CLI_CHECKOUT
#
# NITRO_CLI_CHECKOUT: a git checkout (or bare repository) of
# aws-nitro-enclaves-cli at v1.5.0; its src/lib.rs gives the create_app!
# macro, nitro-cli's whole command-line declaration. Builds main.rs with
# cargo against clap 4.5.51: from crates.io, or offline from source trees
# named by CLAP_SRC, ANSTYLE_SRC and STRSIM_SRC (clap's repository at
# v4.5.51, anstyle's crate at 1.0.10, strsim at 0.11.1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
nitro=${1:?usage: record.sh NITRO_CLI_CHECKOUT}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cp "$here/main.rs" "$work/src/main.rs"
cp "$here/Cargo.toml" "$work/Cargo.toml"
git -C "$nitro" show v1.5.0:src/lib.rs >"$work/lib.rs" 2>/dev/null ||
	git -C "$nitro" show HEAD:src/lib.rs >"$work/lib.rs"
sed -n '/^macro_rules! create_app/,/^}/p' "$work/lib.rs" >"$work/src/app.rs"
[ -s "$work/src/app.rs" ] || { echo "no create_app! in $nitro's src/lib.rs" >&2; exit 1; }
offline=()
if [ -n "${CLAP_SRC:-}" ]; then
	sed -i "s|^clap = { version = \"=4.5.51\",|clap = { path = \"$CLAP_SRC\",|" "$work/Cargo.toml"
	printf '\n[patch.crates-io]\nanstyle = { path = "%s" }\nstrsim = { path = "%s" }\n' \
		"${ANSTYLE_SRC:?}" "${STRSIM_SRC:?}" >>"$work/Cargo.toml"
	offline=(--offline)
fi
(cd "$work" && cargo build -q "${offline[@]}")
# clap takes its name for usage lines from argv[0].
ln -s "$work/target/debug/clap-oracle" "$work/nitro-cli"
cases=$root/tests/integration/data/nitro_parser.cases
out=$root/tests/integration/data/nitro_parser.expected
{
	echo "# Recorded by tests/tools/clap_oracle/record.sh from nitro-cli 1.5.0's create_app!"
	echo "# under clap 4.5.51: each case, what nitro-cli writes on stderr, its exit status."
	grep -v '^#' "$cases" | while IFS= read -r line; do
		[ -n "$line" ] || continue
		read -r -a words <<<"$line"
		echo "### $line"
		status=0
		# stderr only (stdout discarded): where clap writes its refusals.
		{ "$work/nitro-cli" "${words[@]}" >/dev/null; } 2>&1 || status=$?
		echo "[exit $status]"
	done
} >"$out"
echo "recorded $(grep -c '^###' "$out") cases into $out"
