#!/usr/bin/env bash
# Static checks the test command runs (scripts/test.sh counts each as one
# test). Exit status 0 when all pass; what failed is printed.
#   - ShellCheck over every shell script in the repository: warnings, errors
#   - clang-tidy, the bugprone checks (.clang-tidy says which, and why not the
#     rest), over every C file of the library and the CLI
#   - clang-format: every tracked C file as .clang-format lays it out
set -u
cd "$(dirname "$0")/.." || exit 1
status=0

# Every tracked shell script: *.sh, and the extension-less ones by shebang.
mapfile -t scripts < <(git ls-files '*.sh' 2>/dev/null; for f in $(git ls-files 2>/dev/null | grep -v '\.[a-z]*$'); do
	head -c 64 "$f" 2>/dev/null | head -1 | grep -q '^#!.*\(bash\|/sh\)' && echo "$f"; done)
if [ ${#scripts[@]} -eq 0 ]; then
	mapfile -t scripts < <(find scripts tests bench .ci -name '*.sh' -o -name run -o -name init | sort)
fi
if shellcheck -S warning -f gcc "${scripts[@]}"; then
	echo "ok - shellcheck: ${#scripts[@]} scripts"
else
	echo "not ok - shellcheck: warnings above"
	status=1
fi
mapfile -t sources < <(git ls-files 'src/*.c' 2>/dev/null)
[ ${#sources[@]} -gt 0 ] || mapfile -t sources < <(find src -name '*.c' | sort)
flags=(-std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Iinclude -Isrc)
read -r -a pkg <<<"$(pkg-config --cflags json-c 2>/dev/null)"
if clang-tidy --quiet "${sources[@]}" -- "${flags[@]}" "${pkg[@]}" >"${TMPDIR:-/tmp}/carve-tidy.$$" 2>&1; then
	echo "ok - clang-tidy (bugprone): ${#sources[@]} files"
else
	grep -A3 'warning:\|error:' "${TMPDIR:-/tmp}/carve-tidy.$$" | head -60
	echo "not ok - clang-tidy (bugprone): findings above"
	status=1
fi
rm -f "${TMPDIR:-/tmp}/carve-tidy.$$"

# Layout: clang-format 14 (Debian 12's) with the checked-in .clang-format.
# Fix with: clang-format -i $(git ls-files '*.c' '*.h')
mapfile -t csrc < <(git ls-files '*.c' '*.h' 2>/dev/null)
[ ${#csrc[@]} -gt 0 ] || mapfile -t csrc < <(find src include guest tests tools bench -name '*.[ch]' | sort)
unformatted=()
for f in "${csrc[@]}"; do
	clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if [ ${#unformatted[@]} -eq 0 ]; then
	echo "ok - clang-format: ${#csrc[@]} files"
else
	printf '  not laid out as .clang-format says: %s\n' "${unformatted[@]}" | head -20
	echo "not ok - clang-format: ${#unformatted[@]} files (run clang-format -i on them)"
	status=1
fi
exit $status
