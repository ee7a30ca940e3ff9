#!/usr/bin/env bash
# fx_accuracy.sh - where accuracy breaks: a float model quantised with weights of
# {16, 8, 6, 4} bits x a carried state of {8, 12, 16, 24} bits (every other width
# as configs/fx-default.yaml), each scored against the ground truth and against
# the float model with `fligru score` (RMSE pooled, R2 per sample; channel 0).
#
#   bench/fx_accuracy.sh MODEL.safetensors DATA_DIR [options]
#     DATA_DIR           a `fligru synth` directory: tpsf.npy, target.npy
#     --cli PATH         the fligru program (default: build/fligru)
#     --out DIR          results (default: results/fx-accuracy): results.csv and
#                        table.md (the configs, models and scores of the cells go
#                        to a temporary directory, kept with --keep DIR)
#     --weights "16 8 6 4"   --states "8 12 16 24"   --threads N   --keep DIR
#
# The state keeps 2 integer bits (Q(b, b-2)): |h| <= 1 needs one besides the sign.
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 2 ] || usage
model=$1; data=$2; shift 2
cli=build/fligru; out=results/fx-accuracy; weights="16 8 6 4"; states="8 12 16 24"; threads=""; keep=""
while [ $# -gt 0 ]; do
    case $1 in
        --cli) cli=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --weights) weights=$2; shift 2 ;;
        --states) states=$2; shift 2 ;;
        --threads) threads="--threads $2"; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        *) usage ;;
    esac
done
for f in "$model" "$data/tpsf.npy" "$data/target.npy" "$cli"; do
    [ -e "$f" ] || { echo "fx_accuracy: $f: not found" >&2; exit 2; }
done
mkdir -p "$out"
if [ -n "$keep" ]; then
    cells=$keep; mkdir -p "$cells"
else
    cells=$(mktemp -d); trap 'rm -rf "$cells"' EXIT
fi

# One number from `fligru score --json`.
field() { sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\([-0-9.eE+]*\),\{0,1\}$/\1/p" "$2"; }

score() {   # score PRED TRUTH JSON
    "$cli" score "$1" "$2" --json $threads > "$3"
}

"$cli" predict "$model" "$data/tpsf.npy" "$cells/float.npy" $threads > /dev/null
score "$cells/float.npy" "$data/target.npy" "$cells/float-truth.json"
f_rmse=$(field rmse "$cells/float-truth.json"); f_r2=$(field r2 "$cells/float-truth.json")

csv="$out/results.csv"
echo "weights_bits,state_bits,state_frac,acc_frac,rmse_truth,r2_truth,rmse_float,r2_float,l2_float" > "$csv"
echo "float,float,,,$f_rmse,$f_r2,0,1,0" >> "$csv"
for w in $weights; do
    for s in $states; do
        cell="w${w}s${s}"
        cfg="$cells/$cell.yaml"
        cat > "$cfg" <<EOF
# $cell: configs/fx-default.yaml with ${w}-bit weights and a ${s}-bit state.
name: $cell
rounding: half_even
input:       {bits: 16, frac: 14}
weights:     {bits: $w, scale: per_row}
bias:        {bits: 16, frac: 12}
accumulator: {bits: 32, frac: auto}
multiplier:  {bits: 16}
gate:        {bits: 18, frac: 12}
activation:  {bits: 16, frac: 14}
state:       {bits: $s, frac: $((s - 2))}
output:      {bits: 16, frac: 14}
sigmoid:     {kind: table, size: 1024, range: 8}
tanh:        {kind: table, size: 1024, range: 4}
EOF
        "$cli" quantize "$model" --config "$cfg" -o "$cells/$cell.safetensors" > "$cells/$cell.quantize.txt"
        acc=$(sed -n 's/^accumulator: Q(32,\([0-9]*\)).*/\1/p' "$cells/$cell.quantize.txt")
        "$cli" predict "$cells/$cell.safetensors" "$data/tpsf.npy" "$cells/$cell.npy" $threads > /dev/null
        score "$cells/$cell.npy" "$data/target.npy" "$cells/$cell-truth.json"
        score "$cells/$cell.npy" "$cells/float.npy" "$cells/$cell-float.json"
        echo "$w,$s,$((s - 2)),$acc,$(field rmse "$cells/$cell-truth.json"),$(field r2 "$cells/$cell-truth.json"),$(field rmse "$cells/$cell-float.json"),$(field r2 "$cells/$cell-float.json"),$(field l2 "$cells/$cell-float.json")" >> "$csv"
        rm -f "$cells/$cell.npy"
    done
done
rm -f "$cells/float.npy"

# The table: rows weights, columns state; each cell RMSE vs truth (RMSE vs float).
awk -F, -v states="$states" -v model="$model" -v data="$data" '
    NR == 2 { frmse = $5; fr2 = $6; next }
    NR > 2 { t[$1 "," $2] = sprintf("%.4f / %.3f (%.4f)", $5, $6, $7); if (!($1 in seen)) { seen[$1] = 1; order[++nw] = $1 } }
    END {
        ns = split(states, S, " ")
        printf "Fixed-point accuracy of %s on %s (channel 0).\n", model, data
        printf "Each cell: RMSE / R^2 against the ground truth (RMSE against the float model).\n"
        printf "Float model: RMSE %.4f, R^2 %.3f.\n\n", frmse, fr2
        printf "| weights \\ state |"; for (j = 1; j <= ns; ++j) printf " %s bit |", S[j]; printf "\n"
        printf "| --- |"; for (j = 1; j <= ns; ++j) printf " --- |"; printf "\n"
        for (i = 1; i <= nw; ++i) {
            printf "| %s bit |", order[i]
            for (j = 1; j <= ns; ++j) printf " %s |", t[order[i] "," S[j]]
            printf "\n"
        }
    }' "$csv" | tee "$out/table.md"
