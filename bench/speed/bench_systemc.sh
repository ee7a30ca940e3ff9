#!/bin/sh
# bench_systemc.sh - simulation speed of the SystemC model against the Verilated
# RTL at identical cycle counts (docs/systemc.md).
#
#   bench/bench_systemc.sh [RTL_BUILD] [SC_BUILD] [CONFIG...]
#
# RTL_BUILD holds the RTL benches and their vectors (default build/: rtl/rtl_tb_<c>,
# tests/rtl/work/<c>/vec and q.safetensors; ctest -L rtl makes them); SC_BUILD holds
# fligru_sc_timing (default build-sc/). For each configuration the RTL bench
# runs its stream (checking every state and output against the vectors) and
# reports cycles and Mcycles/s. The SystemC model then runs the same stimulus
# with the configuration-port cycles added (--cfg-words), so that both simulate
# exactly the same number of cycles (checked), four ways:
#   timing  timing only (no numbers: what sweeps use);
#   ref     the vectors and the model file, the scalar reference per pixel-step
#           (--arith ref), every state and output checked against the vectors
#           as the RTL bench checks them;
#   batch   the same with batched kernels, one batch's trajectories at a time
#           once its samples are in (--arith batch);
#   fast    the same with the stream preloaded, trajectories 256 pixels at a
#           time (--arith fast, the default).
# One CSV line per configuration: pixel-steps per second of each and the ratio
# of each model run to the RTL. Each SystemC figure is the best of REPS runs
# (default 3; the RTL runs once: it takes 10-50x longer, and its rate is
# steady).
set -eu
rtlb=${1:-build}
scb=${2:-build-sc}
[ $# -ge 2 ] && shift 2 || shift $#
configs=${*:-student_h32_p8 h32_p96_e2_after_hls h8_p1_e4_w4s8_hard h8_p24_w16_m31 h24_p25_e2_pow2 h64_p13_before_c1}
reps=${REPS:-3}
csv=results/rtl/cycles.csv
timing=$scb/systemc/fligru_sc_timing
export SC_COPYRIGHT_MESSAGE=DISABLE
echo "config,cycles,pixel_steps,rtl_mcycles_per_s,rtl_pixel_steps_per_s,timing_pixel_steps_per_s,ref_pixel_steps_per_s,batch_pixel_steps_per_s,fast_pixel_steps_per_s,ratio_timing,ratio_ref,ratio_batch,ratio_fast"
for c in $configs; do
    row=$(grep "^$c," "$csv") || { echo "bench_systemc: $c not in $csv" >&2; exit 2; }
    IFS=, read -r _ hidden lanes engines steps outputs reset _ _ _ _ _ _ _ il pixels _ <<EOR
$row
EOR
    seed=1
    [ "$c" = h8_p24_k4_stalls ] && seed=5
    tb=$rtlb/rtl/rtl_tb_$c
    vec=$rtlb/tests/rtl/work/$c/vec
    q=$rtlb/tests/rtl/work/$c/q.safetensors
    [ -x "$tb" ] && [ -d "$vec" ] && [ -f "$q" ] ||
        { echo "bench_systemc: no $tb, $vec or $q (run ctest -L rtl in $rtlb)" >&2; exit 2; }
    extra=""
    [ "$c" = h16_p5_readmemh_k3 ] && extra=--no-cfg-port
    line=$("$tb" "$vec" --name "$c" --seed $seed $extra --trace-dir "${TMPDIR:-/tmp}" | grep "PASS")
    cycles=$(echo "$line" | sed 's/.*mismatches; \([0-9]*\) cycles.*/\1/')
    mcps=$(echo "$line" | sed 's/.*(\([0-9.]*\) Mcycles\/s).*/\1/')
    psteps=$(echo "$line" | sed 's/.*pixels, \([0-9]*\) pixel-steps.*/\1/')
    args="--hidden $hidden --lanes $lanes --engines $engines --steps $steps --outputs $outputs --reset $reset
          --interleave $il --pixels $pixels --seed $seed"
    # shellcheck disable=SC2086
    base=$("$timing" $args | tail -1 | cut -d, -f11)
    args="$args --cfg-words $((cycles - base))"
    best() {   # best pixel-steps/s of $reps runs; checks the cycle count
        b=0
        i=0
        while [ $i -lt "$reps" ]; do
            # shellcheck disable=SC2086
            out=$("$timing" $args "$@" | tail -1)
            case "$out" in MISMATCH*) echo "bench_systemc: $c: $out" >&2; exit 1 ;; esac
            [ "$(echo "$out" | cut -d, -f11)" = "$cycles" ] ||
                { echo "bench_systemc: $c: model cycles $(echo "$out" | cut -d, -f11), RTL $cycles" >&2; exit 1; }
            ps=$(echo "$out" | cut -d, -f20)
            b=$(awk -v a="$b" -v x="$ps" 'BEGIN { print (x > a ? x : a) }')
            i=$((i + 1))
        done
        echo "$b"
    }
    t_ps=$(best)
    r_ps=$(best --vectors "$vec" --model "$q" --arith ref)
    b_ps=$(best --vectors "$vec" --model "$q" --arith batch)
    f_ps=$(best --vectors "$vec" --model "$q" --arith fast)
    awk -v c="$c" -v cy="$cycles" -v ps="$psteps" -v m="$mcps" -v t="$t_ps" -v r="$r_ps" -v b="$b_ps" -v f="$f_ps" 'BEGIN {
        rtl = ps / (cy / (m * 1e6));
        printf "%s,%d,%d,%.2f,%.0f,%.0f,%.0f,%.0f,%.0f,%.1f,%.1f,%.1f,%.1f\n", c, cy, ps, m, rtl, t, r, b, f,
               t / rtl, r / rtl, b / rtl, f / rtl }'
done
