#!/bin/sh
# cycles_check.sh TIMING CYCLES_CSV - the SystemC model's timing-only mode must
# reproduce the steady-state cycles per pixel that the Verilated RTL bench
# measured for every configuration of results/rtl/cycles.csv (same parameters,
# same pixel count, same stimulus).
set -eu
timing=$1 csv=$2
fail=0 n=0
tail -n +2 "$csv" > "${TMPDIR:-/tmp}/sc_cycles.$$"
while IFS=, read -r config hidden lanes engines steps outputs reset sigmoid tanh wb sb ab rnd pow2 il pixels rest; do
    want=$(echo "$rest" | cut -d, -f6)
    got=$("$timing" --hidden "$hidden" --lanes "$lanes" --engines "$engines" --steps "$steps" --outputs "$outputs" \
          --reset "$reset" --interleave "$il" --pixels "$pixels" --name "$config" | tail -1 | cut -d, -f12)
    n=$((n + 1))
    if [ "$got" = "$want" ]; then
        echo "sc.cycles $config: $got cycles/pixel (RTL $want)"
    else
        echo "MISMATCH sc.cycles $config: SystemC model $got cycles/pixel, RTL $want"
        fail=1
    fi
done < "${TMPDIR:-/tmp}/sc_cycles.$$"
rm -f "${TMPDIR:-/tmp}/sc_cycles.$$"
[ "$n" -ge 15 ] || { echo "MISMATCH sc.cycles: only $n configurations in $csv"; exit 1; }
exit $fail
