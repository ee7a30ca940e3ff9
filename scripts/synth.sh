#!/bin/sh
# synth.sh - resource estimate of one RTL configuration with yosys 0.23.
#
#   scripts/synth.sh NAME [--family xc7|ice40] [--csv FILE] [Param=value ...]
#
# Reads the file list rtl/fligru.f, sets fligru_top's parameters (defaults: the
# 32-unit, 8-bit-weight Seq2SeqLite student of configs/fx-default.yaml at
# T = 135, P = 8, one engine), runs `synth_xilinx -family xc7 -noiopad` (or
# `synth_ice40`), flattened, and appends one row to results/rtl/synth.csv (or --csv):
# LUTs, flip-flops, DSP48E1 (SB_MAC16), block RAMs (RAMB18/RAMB36 halves
# counted as 18 Kb units; SB_RAM40_4K), LUT RAM and SRL cells, CARRY4.
# The yosys log goes to build/synth/NAME-FAMILY.log. Estimates only: no place
# and route, no timing.
#
#   scripts/synth.sh student_p32 Lanes=32
#   scripts/synth.sh student_p8_ice40 --family ice40
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n '2,20p' "$0"; exit 2; }
name=$1
shift
family=xc7
csv=$root/results/rtl/synth.csv
params="Hidden=32 DecHidden=32 Outputs=3 Steps=135 Lanes=8 Engines=1 ResetAfter=0"
while [ $# -gt 0 ]; do
    case $1 in
        --family) family=$2; shift 2 ;;
        --csv) csv=$2; shift 2 ;;
        *=*) params="$(echo "$params" | tr ' ' '\n' | grep -v "^${1%%=*}=" | tr '\n' ' ')$1"; shift ;;
        *) echo "synth.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case $family in xc7|ice40) ;; *) echo "synth.sh: --family xc7|ice40" >&2; exit 2 ;; esac

files=$(grep -E '^rtl/.*\.sv$' "$root/rtl/fligru.f" | sed "s|^|$root/|" | tr '\n' ' ')
chparam=""
for p in $params; do
    k=${p%%=*}
    v=${p#*=}
    chparam="$chparam -chparam $k $v"
done
if [ "$family" = xc7 ]; then
    synth="synth_xilinx -family xc7 -noiopad -flatten -top fligru_top"
else
    synth="synth_ice40 -top fligru_top"
fi
logdir=$root/build/synth
mkdir -p "$logdir" "$(dirname "$csv")"
log=$logdir/$name-$family.log
start=$(date +%s)
yosys -q -l "$log" -p "read_verilog -sv -I $root/rtl $files; hierarchy -top fligru_top $chparam; $synth; stat" \
    > /dev/null 2>&1 || { echo "synth.sh: yosys failed, see $log" >&2; tail -5 "$log" >&2; exit 1; }
secs=$(( $(date +%s) - start ))

# The last `stat` block of the top (flattened by synth_*): "  CELLTYPE   count".
cells=$(awk '/Printing statistics/ {s = 1; delete c} s && $1 ~ /^[A-Z$][A-Za-z0-9_$]*$/ && $2 ~ /^[0-9]+$/ {c[$1] = $2}
             END {for (k in c) print k, c[k]}' "$log")
sum() { echo "$cells" | awk -v re="$1" '$1 ~ re {n += $2} END {print n + 0}'; }
if [ "$family" = xc7 ]; then
    lut=$(sum '^LUT[1-6](_2)?$')
    ff=$(sum '^FD[RSCP]E$')
    dsp=$(sum '^DSP48E1$')
    b18=$(sum '^RAMB18E1$')
    b36=$(sum '^RAMB36E1$')
    bram=$((b18 + 2 * b36))
    lutram=$(sum '^RAM(32M|64M|32X1D|64X1D|128X1D|256X1S|32X1S|64X1S|128X1S)$')
    srl=$(sum '^SRL(16E|C32E)$')
    carry=$(sum '^CARRY4$')
else
    lut=$(sum '^SB_LUT4$')
    ff=$(sum '^SB_DFF')
    dsp=$(sum '^SB_MAC16$')
    bram=$(sum '^SB_RAM40_4K$')
    lutram=0
    srl=0
    carry=$(sum '^SB_CARRY$')
fi
[ -f "$csv" ] || echo "config,family,params,lut,ff,dsp,bram18,lutram,srl,carry,yosys_seconds" > "$csv"
echo "$name,$family,\"$params\",$lut,$ff,$dsp,$bram,$lutram,$srl,$carry,$secs" >> "$csv"
echo "synth.sh $name ($family): LUT $lut, FF $ff, DSP $dsp, BRAM18 $bram, LUTRAM $lutram, SRL $srl, CARRY $carry ($secs s)"
