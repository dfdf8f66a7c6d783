#!/usr/bin/env bash
# Command lines nitro-cli's parser refuses are refused by carve with the same
# words, on the same stream, with the same exit status (2): clap 4.5.51's
# answers for nitro-cli 1.5.0's own declaration (src/lib.rs:636-892,
# create_app!), recorded by tests/tools/clap_oracle/record.sh into
# data/nitro_parser.expected. No KVM needed.
. "$(dirname "$0")/../lib/tap.sh"
DATA=$(cd "$(dirname "$0")/data" && pwd)
cd "$TMP" || exit 1
NITRO=$(dirname "$CARVE")/nitro-cli
export CARVE_SOCKETS_DIR=$TMP/sockets CARVE_STATE_DIR=$TMP/state NITRO_CLI_LOGS_PATH=$TMP/logs

# Each recorded case: "### words", nitro-cli's stderr, "[exit N]".
case_line="" expected=""
check_case() {
	local words got
	read -r -a words <<<"$case_line"
	got=$("$NITRO" "${words[@]}" 2>&1 >"$TMP/stdout"; echo "[exit $?]")
	if [ "$got" = "$expected" ] && [ ! -s "$TMP/stdout" ]; then
		tap_result 0 "nitro-cli $case_line"
	else
		{ echo "# expected:"; printf '%s\n' "$expected"; echo "# got:"; printf '%s\n' "$got";
		  cat "$TMP/stdout"; } >"$TMP/diag"
		tap_result 1 "nitro-cli $case_line" "$TMP/diag"
	fi
}
while IFS= read -r line; do
	case $line in
	'### '*)
		[ -n "$case_line" ] && check_case
		case_line=${line#'### '} expected="" ;;
	'#'*) ;;
	*) expected=${expected:+$expected$'\n'}$line ;;
	esac
done <"$DATA/nitro_parser.expected"
[ -n "$case_line" ] && check_case
ok "every case in the cases file was recorded" \
	test "$(grep -vc '^#' "$DATA/nitro_parser.cases")" -eq "$(grep -c '^### ' "$DATA/nitro_parser.expected")"

# As carve, the same answers name carve (clap takes the name from argv[0]).
refused "carve: an unknown flag" --saying "Usage: carve run-enclave [OPTIONS]" "$CARVE" run-enclave --foo
refused "carve: a conflict" --saying "error: the argument '--kernel <kernel>' cannot be used with '--eif-path <eif-path>'" \
	"$CARVE" vmm --kernel k --eif-path e --memory 64 --cpus 1
refused "carve: a word that is no command, with carve's commands suggested" \
	--saying "tip: a similar subcommand exists: 'allocator'" "$CARVE" alocator
"$CARVE" >/dev/null 2>"$TMP/none"
same "no command at all: the help on stderr, exit 2 (arg_required_else_help)" "$?" 2
ok "... and the help names the commands" grep -q "run-enclave" "$TMP/none"
# A refusal is no failure of nitro-cli's own: no error log (its logger starts
# after the parser, src/main.rs:51-55).
ok "no error log for a refused command line" test ! -e "$TMP/logs"

# carve's own forms still parse: list flags repeat and take comma lists; the
# run then stops at the missing image (E19), after the flags were taken.
start_fails_with 19 "--cpu-ids 1,2 and --cpu-ids repeated still parse" \
	"$NITRO" run-enclave --cpu-ids 1,2 --cpu-ids 3 --memory 128 --eif-path none.eif
# carve's forms that stand in for nitro-cli's required --docker-uri.
refused "build-enclave --rootfs needs --cmd (carve's form)" \
	--saying "--cmd <cmd>" "$CARVE" build-enclave --rootfs r --output-file o.eif
finish
