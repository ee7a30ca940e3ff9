#!/bin/sh
# plot-sweep.sh - the four sweep plots from results/<run>/results.csv (gnuplot).
#
#   scripts/plot-sweep.sh RUN_DIR|RESULTS_CSV [OUT_DIR]
#
# Columns are looked up by name (docs/sweep.md "Columns"); rows with an
# empty value in a plotted column are skipped. Writes, as PNG and SVG, into
# OUT_DIR (default RUN_DIR/plots):
#   pareto_r2_dsp   R² vs DSP slices, every point, and the Pareto front
#                   (no point with fewer DSPs reaches a higher R²)
#   fps_dsp         512x512 frames/s vs DSP, one series per device; points
#                   that do not fit their device (fits = 0) drawn apart
#   error_bits      RMSE vs weight bits, one line per state width (quantised
#                   points; mean over the points sharing both widths)
#   kd              RMSE with and without KD for each Seq2SeqLite size and
#                   weight width present in both forms (first such row each)
set -eu
[ $# -ge 1 ] || { sed -n '2,19p' "$0"; exit 2; }
case $1 in
    *.csv) csv=$1; dir=$(dirname "$1") ;;
    *) csv=$1/results.csv; dir=$1 ;;
esac
out=${2:-$dir/plots}
[ -f "$csv" ] || { echo "plot-sweep.sh: $csv: no such file" >&2; exit 2; }
command -v gnuplot > /dev/null || { echo "plot-sweep.sh: gnuplot not found" >&2; exit 2; }
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/plot-sweep.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# One awk pass: the data files of every plot.
awk -F, -v T="$tmp" -v src="$csv" '
function col(name) { if (!(name in C)) { printf "plot-sweep.sh: %s: no column %s\n", src, name > "/dev/stderr"; bad = 1; exit 2 } return C[name] }
function v(name) { return $(C[name]) }
NR == 1 {
    for (j = 1; j <= NF; j++) C[$j] = j
    split("network enc_hidden dec_hidden weight_bits state_bits kd rmse r2 dsp frames_per_s device fits", need, " ")
    for (j in need) col(need[j])
    next
}
{
    if (v("r2") != "" && v("dsp") != "") print v("dsp"), v("r2") > (T "/pareto_all.dat")
    if (v("frames_per_s") != "" && v("dsp") != "" && v("device") != "") {
        d = v("device")
        if (!(d in DEV)) { DEV[d] = ++ndev; DNAME[ndev] = d }
        if (v("fits") == "0") print v("dsp"), v("frames_per_s") > (T "/fps_nofit.dat")
        else FPS[DEV[d]] = FPS[DEV[d]] v("dsp") " " v("frames_per_s") "\n"
    }
    if (v("weight_bits") + 0 > 0 && v("rmse") != "" && v("state_bits") != "") {
        k = v("state_bits") SUBSEP v("weight_bits"); S[k] += v("rmse"); SN[k]++
        SB[v("state_bits")] = 1
    }
    if (v("network") == "seq2seqlite" && v("rmse") != "" && (v("kd") == "0" || v("kd") == "1")) {
        k = v("enc_hidden") "×" v("dec_hidden") " " v("weight_bits") "b"
        if (!(k in KORD)) { KORD[k] = ++nk; KNAME[nk] = k; KW[nk] = v("weight_bits") + 0; KH[nk] = v("enc_hidden") + 0 }
        if (!((k, v("kd")) in KD)) KD[k, v("kd")] = v("rmse")
    }
}
END {
    if (bad) exit 2
    f = T "/fps.dat"
    for (i = 1; i <= ndev; i++) printf "\"%s\"\n%s\n\n", DNAME[i], FPS[i] > f
    printf "%d\n", ndev > (T "/ndev")
    n = 0
    for (s in SB) SS[++n] = s + 0
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (SS[j] < SS[i]) { t = SS[i]; SS[i] = SS[j]; SS[j] = t }
    f = T "/bits.dat"
    for (i = 1; i <= n; i++) {
        printf "\"state %d bits\"\n", SS[i] > f
        for (w = 1; w <= 64; w++) if (((SS[i], w) in S)) printf "%d %g\n", w, S[SS[i], w] / SN[SS[i], w] > f
        printf "\n\n" > f
    }
    printf "%d\n", n > (T "/nstate")
    f = T "/kd.dat"
    m = 0
    for (i = 1; i <= nk; i++) if (((KNAME[i], "0") in KD) && ((KNAME[i], "1") in KD)) {
        printf "\"%s\" %s %s\n", KNAME[i], KD[KNAME[i], "0"], KD[KNAME[i], "1"] > f; m++
    }
    printf "%d\n", m > (T "/nkd")
}' "$csv"

[ -s "$tmp/pareto_all.dat" ] || { echo "plot-sweep.sh: $csv: no row with r2 and dsp" >&2; exit 1; }
# Pareto front: ascending DSP, keep a point only if its R² beats every cheaper one.
sort -k1,1n -k2,2gr "$tmp/pareto_all.dat" | awk 'NR == 1 || $2 > best { print; best = $2 }' > "$tmp/pareto_front.dat"
touch "$tmp/fps_nofit.dat" "$tmp/kd.dat"
ndev=$(cat "$tmp/ndev"); nstate=$(cat "$tmp/nstate"); nkd=$(cat "$tmp/nkd")
nofit=""
[ -s "$tmp/fps_nofit.dat" ] && nofit=", '$tmp/fps_nofit.dat' using 1:2 with points pt 2 ps 0.8 lc rgb '#808080' title 'does not fit its device'"

cat > "$tmp/body.gp" <<EOF
set datafile separator whitespace
set key top left box opaque
set grid
set output OUTDIR.'/pareto_r2_dsp'.EXT
set title 'R² vs DSP slices: the Pareto front'
set xlabel 'DSP slices'; set ylabel 'R² (test set)'
set logscale x
set key bottom right box opaque
plot '$tmp/pareto_all.dat' using 1:2 with points pt 7 ps 0.6 lc rgb '#a0a0a0' title 'design points', \
     '$tmp/pareto_front.dat' using 1:2 with linespoints pt 7 lw 2 lc rgb '#c00000' title 'Pareto front'
set output OUTDIR.'/fps_dsp'.EXT
set title '512×512 frames/s vs DSP slices, per device'
set ylabel 'frames/s'; set logscale y
set key top left box opaque
plot for [i=0:$ndev-1] '$tmp/fps.dat' index i using 1:2 with points pt 5+2*(i%5) ps 1.4-0.25*(i%4) title columnheader(1)$nofit
unset logscale
set output OUTDIR.'/error_bits'.EXT
set title 'RMSE vs weight and state word lengths'
set xlabel 'weight bits'; set ylabel 'RMSE (mean over points)'
set logscale y
plot for [i=0:$nstate-1] '$tmp/bits.dat' index i using 1:2 with linespoints pt 7 lw 2 title columnheader(1)
unset logscale
set output OUTDIR.'/kd'.EXT
set title 'Knowledge distillation: RMSE with and without KD (Seq2SeqLite)'
set xlabel ''; set ylabel 'RMSE'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -30
set yrange [0:*]
set key above
if ($nkd > 0) {
  plot '$tmp/kd.dat' using 2:xtic(1) title 'without KD' lc rgb '#4060c0', '' using 3 title 'with KD' lc rgb '#c04040'
} else {
  set label 1 'no Seq2SeqLite size with both KD and no-KD points' at graph 0.5, 0.5 center
  plot [0:1] NaN notitle
}
EOF
gnuplot -e "OUTDIR='$out'; EXT='.png'; set terminal pngcairo size 900,600 font 'sans,11' enhanced" "$tmp/body.gp"
gnuplot -e "OUTDIR='$out'; EXT='.svg'; set terminal svg size 900,600 font 'sans,11' enhanced" "$tmp/body.gp"
echo "plot-sweep.sh: wrote $out/{pareto_r2_dsp,fps_dsp,error_bits,kd}.{png,svg}"
