#!/bin/sh
# run.sh BUILD_DIR SECONDS [NAME...] - runs fuzz_<NAME> (default: every harness
# in BUILD_DIR) for SECONDS each on its seeds, its dictionary and a scratch
# corpus under BUILD_DIR/corpus; fails on the first finding (the crashing input
# is kept as BUILD_DIR/artifacts/<name>-crash-*). Exit 77 when BUILD_DIR holds no
# harnesses (no clang or libFuzzer): ctest reports that as SKIPPED.
set -u
build=$1 secs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
names=${*:-$(sed -n 's/^fligru_fuzz(\([a-z0-9_]*\).*/\1/p' "$here/harnesses.cmake")}
for name in $names; do
  bin=$build/fuzz_$name
  if [ ! -x "$bin" ]; then
    echo "fuzz_$name: not built (needs clang and libclang-rt-14-dev): skipped"
    exit 77
  fi
  dict=$(sed -n "s/^fligru_fuzz($name  *\([^)]*\)).*/\1/p" "$here/harnesses.cmake")
  mkdir -p "$build/corpus/$name" "$build/artifacts"
  # -rss_limit_mb / -malloc_limit_mb: a reader that believes a header and
  # allocates gigabytes is a finding, not an out-of-memory of the machine.
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
         -print_final_stats=1 -dict="$here/$dict" -artifact_prefix="$build/artifacts/$name-" \
         "$build/corpus/$name" "$here/corpus/$name" >"$build/fuzz_$name.log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz_$name.log")
  echo "fuzz_$name: ${runs:-?} executions in ${secs} s, exit $rc"
  if [ $rc -ne 0 ]; then
    tail -40 "$build/fuzz_$name.log"
    exit 1
  fi
done
