#!/bin/sh
# expect.sh RC REGEX LINES -- CMD... - runs CMD; passes when it exits with RC,
# its output (stdout and stderr) matches REGEX (grep -E) and, when LINES is not
# 0, has exactly LINES lines (bad input answers with one line).
set -u
rc_want=$1 re=$2 lines=$3
shift 3
[ "$1" = "--" ] && shift
out=$("$@" 2>&1)
rc=$?
echo "$out"
[ "$rc" = "$rc_want" ] || { echo "expect.sh: exit status $rc, expected $rc_want"; exit 1; }
echo "$out" | grep -Eq "$re" || { echo "expect.sh: output does not match '$re'"; exit 1; }
if [ "$lines" != 0 ]; then
    n=$(printf '%s\n' "$out" | wc -l)
    [ "$n" = "$lines" ] || { echo "expect.sh: $n lines, expected $lines"; exit 1; }
fi
exit 0
