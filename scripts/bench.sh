#!/usr/bin/env bash
# Runs every benchmark binary built from bench/ and prints its figures.
# Figures depend on the machine: each bench prints its CPU, kernel and threads.
set -euo pipefail
BUILD=${1:-build}
for b in "$BUILD"/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b"
done
