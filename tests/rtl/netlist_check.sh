#!/bin/sh
# netlist_check.sh - run one ctest RTL configuration's bench on yosys's reading
# of the RTL instead of Verilator's: yosys 0.23 elaborates fligru_top with the
# configuration's parameters (proc; flatten; opt; memory -nomap), writes a
# Verilog netlist, Verilator compiles it with the same bench, and the bench
# runs on the configuration's vectors (run `ctest -R rtl.<config>` first).
# Catches SystemVerilog that the two tools read differently.
#   tests/rtl/netlist_check.sh BUILD_DIR CONFIG
set -eu
build=$(cd "$1" && pwd)
cfg=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$build/rtl/netlist/$cfg
vec=$build/tests/rtl/work/$cfg/vec
[ -d "$vec" ] || { echo "netlist_check: no $vec (run ctest -R rtl.$cfg first)" >&2; exit 2; }
mkdir -p "$work"
chparam=$(grep -o -- "-G[A-Za-z0-9]*=[^;]*" "$build/tests/rtl/vl/$cfg/verilator_args.txt" |
          grep -v MemInitDir | sed "s/^-G//; s/1'b//; s/=/ /" | awk '{printf "-chparam %s %s ", $1, $2}')
files=$(grep -E '^rtl/.*\.sv$' "$root/rtl/fligru.f" | sed "s|^|$root/|" | tr '\n' ' ')
yosys -q -l "$work/yosys.log" -p "read_verilog -sv -I $root/rtl $files; hierarchy -top fligru_top $chparam;
    proc; flatten; opt -fast; memory -nomap; opt_clean; write_verilog -noattr $work/netlist.v" > /dev/null
defs=$(cd "$build" && ninja -t commands "rtl/rtl_tb_$cfg" | grep "rtl_tb.cpp" | head -1 |
       grep -o -- "-DFLIGRU_TB_[A-Z0-9_]*=[^ ]*" | grep -v "HEADER\|_TOP=" | tr '\n' ' ')
verilator --cc --exe --build -j 2 --trace-fst -Wno-fatal -Wno-lint -Wno-style --top-module fligru_top \
    --prefix Vnetlist -Mdir "$work/obj" "$work/netlist.v" "$root/tests/rtl/rtl_tb.cpp" \
    -CFLAGS "-O1 -std=c++17 $defs -DFLIGRU_TB_HEADER='\"Vnetlist.h\"' -DFLIGRU_TB_TOP=Vnetlist" \
    -o netlist_tb > "$work/build.log" 2>&1 || { tail -20 "$work/build.log"; exit 2; }
"$work/obj/netlist_tb" "$vec" --name "netlist_$cfg" --trace-dir "$work"
