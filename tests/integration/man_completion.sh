#!/usr/bin/env bash
# The manual pages (carve help-man) and the bash completion (carve
# help-completion) against what --help says: every command has a page, each
# page's flags are exactly the flags its --help lists, and completing a
# command name, a flag and a flag's value in bash gives the right words.
. "$(dirname "$0")/../lib/tap.sh"
cd "$TMP" || exit 1

# The commands carve --help lists.
commands() { "$CARVE" --help | sed -n '/^Commands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p'; }
# The flags a --help text or a page defines: the lines that start with one
# ("  --name ...", "  -4, --ipv4 ...", a page's ".TP" line "\fB\-\-name\fR"),
# not the flags named inside a description. roff's \fX and \- are undone.
defined_flags() {
	sed 's/\\f[BIRP]//g; s/\\-/-/g' "$1" |
		sed -n -E 's/^ *(-[A-Za-z0-9], )?--([A-Za-z0-9_-]+).*/--\2/p' | LC_ALL=C sort -u | tr '\n' ' '
}

mapfile -t cmds < <(commands)
ok "carve --help lists commands" test "${#cmds[@]}" -gt 10
ok "help-man writes the pages" "$CARVE" help-man "$TMP/man"
refused_man() { "$CARVE" help-man >/dev/null 2>&1; [ $? -eq 2 ]; }
ok "help-man without a directory is a usage error (exit 2)" refused_man

missing="" differ=""
for c in "${cmds[@]}"; do
	page=$TMP/man/carve-$c.1
	if [ ! -s "$page" ]; then
		missing="$missing $c"
		continue
	fi
	"$CARVE" "$c" --help >"help-$c.txt" 2>&1
	if [ "$(defined_flags "help-$c.txt")" != "$(defined_flags "$page")" ]; then
		differ="$differ $c"
		{ echo "# $c --help: $(defined_flags "help-$c.txt")"; echo "# page: $(defined_flags "$page")"; } >>flags.diag
	fi
done
same "every command has a page" "$missing" ""
[ -f flags.diag ] || : >flags.diag
tap_result "$([ -z "$differ" ] && echo 0 || echo 1)" "each page's flags are its --help flags" flags.diag
same "run-enclave's page has its flags (the check compares something)" \
	"$(defined_flags "$TMP/man/carve-run-enclave.1" | tr ' ' '\n' | grep -cx -e --eif-path -e --memory)" 2
same "vsock-proxy's page has AWS's options" \
	"$(defined_flags "$TMP/man/carve-vsock-proxy.1" | tr ' ' '\n' |
		grep -cx -e --config -e --help -e --ipv4 -e --ipv6 -e --num_workers)" 5
same "carve(1) lists every command" "$(grep -cE '^\\fB[a-z\\-]+\\fR$' "$TMP/man/carve.1")" "${#cmds[@]}"
same "nitro-cli(1) and vsock-proxy(1) are the carve pages" \
	"$(cat "$TMP/man/nitro-cli.1" "$TMP/man/vsock-proxy.1")" \
	"$(printf '.so man1/carve.1\n.so man1/carve-vsock-proxy.1')"
if command -v groff >/dev/null; then
	# From a man1/ parent, as man runs it, so the .so pages resolve.
	mkdir -p mantree && ln -s ../man mantree/man1
	(cd mantree && groff -man -ww -z man1/*.1) >groff.out 2>&1
	tap_result "$([ ! -s groff.out ] && echo 0 || echo 1)" "groff reads every page without a warning" groff.out
else
	skip "groff reads every page without a warning" "no groff here"
fi

# --- bash completion ---------------------------------------------------------
ok "help-completion prints the script" bash -c "'$CARVE' help-completion >'$TMP/carve.bash'"
if command -v shellcheck >/dev/null; then
	ok "the script passes shellcheck" shellcheck "$TMP/carve.bash"
else
	skip "the script passes shellcheck" "no shellcheck here"
fi
# complete WORD...: what bash offers for the last word, as the completion
# function named for the first word (complete -p) computes it.
complete_words() {
	bash -c '
		. "$1"; shift
		fn=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		"$fn"; printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | tr "\n" " "' _ "$TMP/carve.bash" "$@"
}
same "a command name: carve run-en" "$(complete_words carve run-en)" "run-enclave "
same "as nitro-cli: nitro-cli describe-e" "$(complete_words nitro-cli describe-e)" "describe-eif describe-enclaves "
same "a flag: carve describe-eif --e" "$(complete_words carve describe-eif --e)" "--eif-path "
same "a flag after --verbose: carve --verbose terminate-enclave --a" \
	"$(complete_words carve --verbose terminate-enclave --a)" "--all "
touch "$TMP/some.eif"
same "a flag's value is a file: describe-eif --eif-path $TMP/some" \
	"$(complete_words carve describe-eif --eif-path "$TMP/some")" "$TMP/some.eif "
same "vsock-proxy's own flags: vsock-proxy --num" "$(complete_words vsock-proxy --num)" "--num_workers "

# The completion's flags for every command are the --help flags (--help added).
differ=""
: >comp.diag
for c in "${cmds[@]}"; do
	got=$(bash -c '. "$1"; _carve_flags "$2"; printf "%s\n" $flags --help | LC_ALL=C sort -u | tr "\n" " "' \
		_ "$TMP/carve.bash" "$c")
	want=$( { defined_flags "help-$c.txt" | tr ' ' '\n'; echo --help; } | grep . | LC_ALL=C sort -u | tr '\n' ' ')
	want_short=$(sed -n -E 's/^ *(-[A-Za-z0-9]),.*/\1/p' "help-$c.txt" | tr '\n' ' ')
	if [ -n "$want_short" ]; then
		want=$( { echo "$want" | tr ' ' '\n'; echo "$want_short" | tr ' ' '\n'; } | grep . | LC_ALL=C sort -u |
			tr '\n' ' ')
	fi
	if [ "$got" != "$want" ]; then
		differ="$differ $c"
		printf '# %s: completion %s\n#   --help %s\n' "$c" "$got" "$want" >>comp.diag
	fi
done
tap_result "$([ -z "$differ" ] && echo 0 || echo 1)" "each command's completed flags are its --help flags" comp.diag
finish
