#!/bin/sh
# ondemand.sh FLIGRU WORK MODEL FX [cosim options...] - `fligru cosim --model` on
# a committed float model quantised with FX (ctest cosim.ondemand.*): the
# quantised file goes to WORK, the build to FLIGRU's cosim cache.
set -eu
cli=$1 work=$2 model=$3 fx=$4
shift 4
mkdir -p "$work"
"$cli" quantize "$model" --config "$fx" -o "$work/q.safetensors" > "$work/quantize.log" 2>&1 ||
    { cat "$work/quantize.log"; exit 2; }
exec "$cli" cosim --model "$work/q.safetensors" --work "$work/run" "$@"
