#!/bin/sh
# mutant_check.sh - the bench must fail on a wrong golden value: copy a
# configuration's vectors (ctest rtl.<config> made them), flip one bit of one
# expected hidden state (FILE, line LINE) and run the bench on the copy. Passes
# only if the bench exits non-zero and names the mismatch at the flipped word.
#   mutant_check.sh TB VEC_DIR WORK FILE LINE WHAT
set -eu
tb=$1 vec=$2 work=$3 file=$4 line=$5 what=$6
rm -rf "$work"
mkdir -p "$work"
cp -r "$vec" "$work/vec"
old=$(sed -n "${line}p" "$vec/$file")
new=$(printf "%0${#old}x" $(( 0x$old ^ 1 )))
sed "${line}s/.*/$new/" "$vec/$file" > "$work/vec/$file"
cmp -s "$vec/$file" "$work/vec/$file" && { echo "mutant_check: $file:$line unchanged" >&2; exit 1; }
if "$tb" "$work/vec" --name mutant --trace-dir "$work" > "$work/log" 2>&1; then
    echo "mutant_check: the bench passed a corrupted $file (line $line)" >&2
    exit 1
fi
grep "MISMATCH" "$work/log" | head -1
grep -q "MISMATCH.*$what" "$work/log" || { echo "mutant_check: no '$what' mismatch reported" >&2; tail -5 "$work/log"; exit 1; }
[ -s "$work/mutant.fst" ] || ls "$work"/*.fst > /dev/null 2>&1 || { echo "mutant_check: no FST trace written" >&2; exit 1; }
echo "mutant_check: corrupted $file:$line detected"
