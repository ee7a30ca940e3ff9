// fligru RTL file list: the one source of files for Verilator (verilate() in
// rtl/CMakeLists.txt), lint, and yosys (scripts/synth.sh). Leaves first.
+incdir+rtl
rtl/fligru_shr.sv
rtl/fligru_sat.sv
rtl/fligru_shr_sat_var.sv
rtl/fligru_rescale.sv
rtl/fligru_bias_align.sv
rtl/fligru_act.sv
rtl/fligru_lane.sv
rtl/fligru_cfg.sv
rtl/fligru_array.sv
rtl/fligru_ctrl.sv
rtl/fligru_ppctrl.sv
rtl/fligru_params.sv
rtl/fligru_ctxmem.sv
rtl/fligru_unit.sv
rtl/fligru_dense.sv
rtl/fligru_outq.sv
rtl/fligru_top.sv
