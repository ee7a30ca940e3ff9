#!/bin/sh
# run_config.sh - one RTL test configuration (ctest rtl.<name>): a random float
# model and inputs (rtl_mkmodel), PTQ with the configuration's format (fligru
# quantize), the golden vectors (fligru vectors --gates), then the Verilated
# bench. Work files go to WORK (inside the build tree).
#   run_config.sh FLIGRU MKMODEL TB FX_YAML WORK NAME CSV [TB_ARGS...] -- [MKMODEL_ARGS...]
set -eu
cli=$1 mk=$2 tb=$3 yaml=$4 work=$5 name=$6 csv=$7
shift 7
tbargs=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do tbargs="$tbargs $1"; shift; done
[ $# -gt 0 ] && shift
rm -rf "$work"
mkdir -p "$work"
"$mk" "$@" -o "$work/model.safetensors" --input "$work/in.npy"
"$cli" quantize "$work/model.safetensors" --config "$yaml" -o "$work/q.safetensors" > "$work/quantize.log" 2>&1 ||
    { cat "$work/quantize.log"; exit 2; }
grep -i "warning" "$work/quantize.log" || true
"$cli" vectors "$work/q.safetensors" "$work/in.npy" -o "$work/vec" --pixels 0 --gates > "$work/vectors.log" 2>&1 ||
    { cat "$work/vectors.log"; exit 2; }
# shellcheck disable=SC2086
exec "$tb" "$work/vec" --name "$name" --csv "$csv" --trace-dir "$work" $tbargs
