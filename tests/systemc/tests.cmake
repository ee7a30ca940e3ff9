# tests/systemc/: ctest entries of the SystemC model besides the co-simulations
# (included by systemc/CMakeLists.txt; label systemc).
set(_ex sh ${PROJECT_SOURCE_DIR}/tests/systemc/expect.sh)
set(_timing $<TARGET_FILE:fligru_sc_timing>)

# Timing-only mode against the RTL's measured steady-state cycles per pixel,
# all fifteen configurations of results/rtl/cycles.csv.
add_test(NAME sc.cycles COMMAND sh ${PROJECT_SOURCE_DIR}/tests/systemc/cycles_check.sh ${_timing}
                                   ${PROJECT_SOURCE_DIR}/results/rtl/cycles.csv)
# Frame level: the 32-unit student (P = 8) behind a camera whose gate images
# arrive faster than the datapath takes them (datapath-bound: 8640 cycles per
# pixel with E = 12 ... here E = 1, 103,680), and a slow camera (camera-bound).
add_test(NAME sc.frame.student COMMAND ${_ex} 0 "^student,32,8,1,135,4,250.0,.*,4x4,1,16," 0 --
         ${_timing} --name student --hidden 32 --lanes 8 --steps 135 --frame 4x4 --frames 1
         --gate-rate 1e6 --clock-mhz 250)
add_test(NAME sc.timing.json COMMAND ${_ex} 0 "\"steady_cycles_per_pixel\":512.00" 1 --
         ${_timing} --hidden 8 --lanes 24 --steps 32 --pixels 163 --json)
add_test(NAME sc.timing.yaml COMMAND ${_ex} 0 ",362.67," 0 --
         ${_timing} ${PROJECT_SOURCE_DIR}/configs/cosim-timing-h16.yaml)
add_test(NAME sc.bad.timing_lanes COMMAND ${_ex} 2 "Lanes \\(P\\) must be in 1..3\\*Hidden" 1 --
         ${_timing} --hidden 8 --lanes 25)
add_test(NAME sc.bad.timing_interleave COMMAND ${_ex} 2 "Interleave must be" 1 --
         ${_timing} --hidden 8 --lanes 24 --interleave 3)
set_tests_properties(sc.cycles sc.frame.student sc.timing.json sc.timing.yaml sc.bad.timing_lanes
                     sc.bad.timing_interleave PROPERTIES LABELS systemc ENVIRONMENT "SC_COPYRIGHT_MESSAGE=DISABLE"
                     FAIL_REGULAR_EXPRESSION "MISMATCH")

if(FLIGRU_COSIM)
  # The scoreboard itself: one side perturbed on purpose must stop the run with
  # a report naming it (and write the traces), exit 1.
  set(_w ${CMAKE_CURRENT_BINARY_DIR}/work)
  set(_a h8_p24_w16_m31)
  set(_cs $<TARGET_FILE:fligru_cosim_${_a}> ${_w}/${_a}/vec --model ${_w}/${_a}/q.safetensors --name mutant
          --trace-dir ${_w}/${_a})
  add_test(NAME sc.mutant.model_state COMMAND ${_ex} 1
           "MISMATCH mutant RTL/model: dbg_h engine 0 \\(pixel [0-9]+ step [0-9]+ (en|de)coder unit [0-9]+\\): RTL 0x[0-9a-f]+ model 0x[0-9a-f]+ cycle [0-9]+" 0 --
           ${_cs} --inject model-h:20000)
  add_test(NAME sc.mutant.model_handshake COMMAND ${_ex} 1 "MISMATCH mutant RTL/model: in_ready: RTL 0x. model 0x. cycle 20000" 0 --
           ${_cs} --inject model-ready:20000)
  add_test(NAME sc.mutant.reference COMMAND ${_ex} 1 "MISMATCH mutant RTL/reference output: pixel [0-9]+ step [0-9]+ channel [0-9] expected" 0 --
           ${_cs} --inject ref:3000)
  # Bad input: one line, exit 2.
  add_test(NAME sc.bad.unsupported_config COMMAND ${_ex} 2 "this RTL build does not support the model: FL_FX_ENC_HIDDEN = 16" 1 --
           $<TARGET_FILE:fligru_cosim_${_a}> ${_w}/h16_p47_e3_zrn_w6s12/vec --model ${_w}/h16_p47_e3_zrn_w6s12/q.safetensors)
  add_test(NAME sc.bad.other_model COMMAND ${_ex} 2 "vectors from another model" 1 --
           $<TARGET_FILE:fligru_cosim_${_a}> ${_w}/${_a}/vec --model ${_w}/h8_p24_k4_stalls/q.safetensors)
  add_test(NAME sc.bad.trace_dir COMMAND ${_ex} 2 "trace directory /nonexistent/traces cannot be written" 1 --
           ${_cs} --trace-dir /nonexistent/traces +trace)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/cfg/bad_rtl.yaml "rtl: h99_p1\nmodel: q.safetensors\ninput: in.npy\n")
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/cfg/bad_key.yaml "rtl: ${_a}\nmodel: q.safetensors\ninput: in.npy\nlanes: 4\n")
  add_test(NAME sc.bad.cli_no_build COMMAND ${_ex} 2 "no co-simulation build for RTL configuration 'h99_p1'" 1 --
           $<TARGET_FILE:fligru-cli> cosim ${CMAKE_CURRENT_BINARY_DIR}/cfg/bad_rtl.yaml)
  add_test(NAME sc.bad.cli_unknown_key COMMAND ${_ex} 2 "bad_key.yaml:4: lanes: unknown key" 1 --
           $<TARGET_FILE:fligru-cli> cosim ${CMAKE_CURRENT_BINARY_DIR}/cfg/bad_key.yaml)
  # The model's arithmetic modes give the same port values: the co-simulation
  # (RTL = model at every cycle) with the scalar references and with batched
  # trajectories per batch (cosim.* itself runs the default, fast).
  foreach(_ar ref batch)
    foreach(_c h8_p24_w16_m31 h24_p25_e2_pow2)
      add_test(NAME sc.arith.${_ar}.${_c} COMMAND ${_ex} 0 "PASS: .*0 mismatches" 0 --
               $<TARGET_FILE:fligru_cosim_${_c}> ${_w}/${_c}/vec --model ${_w}/${_c}/q.safetensors
               --name arith-${_ar} --trace-dir ${_w}/${_c} --arith ${_ar})
      set_tests_properties(sc.arith.${_ar}.${_c} PROPERTIES LABELS systemc ENVIRONMENT "SC_COPYRIGHT_MESSAGE=DISABLE"
                           FIXTURES_REQUIRED cosim_work_${_c} FAIL_REGULAR_EXPRESSION "MISMATCH")
    endforeach()
  endforeach()
  # The model-only runner (fligru_sc_timing --vectors): every state and output
  # against the vectors, the RTL's cycle count (cosim.h8_p24_w16_m31 and
  # results/rtl/cycles.csv: 91,774 with the configuration port's 5,241 words),
  # each arithmetic mode.
  foreach(_ar ref batch fast)
    add_test(NAME sc.vectors.${_ar} COMMAND ${_ex} 0 ",91774,512.00,.*,${_ar}(:ref)?,83456,5216," 0 --
             ${_timing} --name vec --hidden 8 --lanes 24 --steps 32 --cfg-words 5241
             --vectors ${_w}/${_a}/vec --model ${_w}/${_a}/q.safetensors --arith ${_ar})
    set_tests_properties(sc.vectors.${_ar} PROPERTIES LABELS systemc ENVIRONMENT "SC_COPYRIGHT_MESSAGE=DISABLE"
                         FIXTURES_REQUIRED cosim_work_${_a} FAIL_REGULAR_EXPRESSION "MISMATCH")
  endforeach()
  add_test(NAME sc.vectors.other_model COMMAND ${_ex} 1 "MISMATCH vec model/vectors: dbg_h engine 0 \\(pixel [0-9]+ step [0-9]+ (en|de)coder unit [0-9]+\\): expected [0-9]+ model [0-9]+ cycle [0-9]+" 1 --
           ${_timing} --name vec --hidden 8 --lanes 24 --steps 32
           --vectors ${_w}/${_a}/vec --model ${_w}/h8_p24_k4_stalls/q.safetensors)
  set_tests_properties(sc.vectors.other_model PROPERTIES LABELS systemc ENVIRONMENT "SC_COPYRIGHT_MESSAGE=DISABLE"
                       FIXTURES_REQUIRED "cosim_work_${_a};cosim_work_h8_p24_k4_stalls")
  set(_mut sc.mutant.model_state sc.mutant.model_handshake sc.mutant.reference sc.bad.unsupported_config
           sc.bad.other_model sc.bad.trace_dir)
  set_tests_properties(${_mut} PROPERTIES LABELS systemc ENVIRONMENT "SC_COPYRIGHT_MESSAGE=DISABLE"
                       FIXTURES_REQUIRED "cosim_work_${_a};cosim_work_h16_p47_e3_zrn_w6s12;cosim_work_h8_p24_k4_stalls")
  set_tests_properties(sc.bad.cli_no_build sc.bad.cli_unknown_key PROPERTIES LABELS systemc)
endif()
