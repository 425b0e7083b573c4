#!/usr/bin/env bash
# check_format: every C source and header of the tree is as .clang-format lays it out, so the style is
# kept by the suite rather than by review. Fails listing the files clang-format would change; fix with
#   clang-format -i $(git ls-files 'lib/*.[ch]' 'daemon/*.[ch]' 'cli/*.[ch]' 'tests/*.[ch]')
set -euo pipefail
cd "$1"
command -v clang-format >/dev/null || { echo "check_format: clang-format is not installed (deploy/install-deps.sh)" >&2; exit 1; }
bad=0
for f in lib/*.[ch] daemon/*.[ch] cli/*.[ch] tests/*/*.[ch]; do
  [ -f "$f" ] || continue
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f"
    bad=1
  fi
done
exit $bad
