#!/usr/bin/env bash
# Static checks the test command runs (scripts/test.sh counts each as one
# test). Exit status 0 when all pass; what failed is printed.
#   shellcheck   every shell script in the repository, warnings and errors
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
exit $status
