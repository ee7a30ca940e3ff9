#!/usr/bin/env bash
# run-tests.sh BUILD [CTEST_ARGS...] - `make test`'s runner: every ctest entry,
# then one line with the count of skipped tests and their names, so a test that
# could not run its subject is seen, never mistaken for a pass.
set -uo pipefail
BUILD=$1
shift
log="$BUILD/ctest.log"
ctest --test-dir "$BUILD" --output-on-failure "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
skipped=$(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* \*\*\*Skipped' "$log" | sed -E 's/.*: ([^ ]+) .*/\1/' | tr '\n' ' ')
echo "skipped: $(echo "$skipped" | wc -w) ${skipped:+($skipped)}"
exit "$rc"
