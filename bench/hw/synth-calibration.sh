#!/bin/sh
# synth-calibration.sh - the yosys runs the resource model is calibrated on.
#
#   bench/hw/synth-calibration.sh [NAME ...]
#
# Runs scripts/synth.sh (yosys 0.23, synth_xilinx -family xc7), niced, one
# configuration at a time, for each point below not yet in
# results/hw-calibration/synth.csv (or only the NAMEs given), appending its row.
# The points spread H, P, E, T, reset variant, activation kind and word lengths;
# the three student rows of results/rtl/synth.csv (P = 8, 32, 96) are copied in
# first. Each run takes from under a minute (H = 8) to several (H = 64).
# Then `build-hw/calibrate` (any build dir) refits configs/hw-model.yaml and writes report.md.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
csv=$root/results/hw-calibration/synth.csv
mkdir -p "$(dirname "$csv")"
if [ ! -f "$csv" ]; then
    head -1 "$root/results/rtl/synth.csv" > "$csv"
    grep -E '^student_h32_p(8|32|96),xc7,' "$root/results/rtl/synth.csv" >> "$csv"
fi
points() {
cat <<'POINTS'
cal_h8_p4 Hidden=8 DecHidden=8 Steps=32 Lanes=4
cal_h8_p24_after_hard Hidden=8 DecHidden=8 Steps=32 Lanes=24 ResetAfter=1 SigmoidHard=1 TanhHard=1
cal_h16_p4_e4_w4s8 Hidden=16 DecHidden=16 Steps=32 Lanes=4 Engines=4 WeightBits=4 WeightFrac=3 BiasBits=12 BiasFrac=8 AccBits=10 AccFrac=9 GateBits=12 GateFrac=8 ActBits=10 ActFrac=8 StateBits=8 StateFrac=7 OutputBits=12 OutputFrac=9 SigmoidHard=1 TanhHard=1
cal_h16_p16_e2 Hidden=16 DecHidden=16 Steps=32 Lanes=16 Engines=2
cal_h32_p8_t32 Steps=32
cal_h24_p24_e4_pow2 Hidden=24 DecHidden=24 Steps=32 Lanes=24 Engines=4 Pow2=1 GateBits=16 GateFrac=11 StateBits=16 StateFrac=14
cal_h32_p48_w6s12 Steps=32 Lanes=48 WeightBits=6 WeightFrac=5 MultBits=12 BiasBits=12 BiasFrac=9 AccBits=24 AccFrac=15 GateBits=14 GateFrac=9 ActBits=12 ActFrac=10 StateBits=12 StateFrac=10 OutputBits=12 OutputFrac=10
cal_h32_p16_w16s16_after Steps=32 Lanes=16 ResetAfter=1 WeightBits=16 WeightFrac=15 StateBits=16 StateFrac=14
cal_h64_p64 Hidden=64 DecHidden=64 Steps=32 Lanes=64
cal_h48_p144_e2 Hidden=48 DecHidden=48 Steps=32 Lanes=144 Engines=2
POINTS
}
points | while read -r name params; do
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    if grep -q "^$name,xc7," "$csv"; then
        echo "synth-calibration: $name already in $csv"
        continue
    fi
    # shellcheck disable=SC2086
    nice -n 10 "$root/scripts/synth.sh" "$name" --csv "$csv" $params
done
