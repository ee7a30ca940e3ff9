# The one expansion of an RTL test configuration's key/values into what every
# tool is given: the -G list for verilate(), the FLIGRU_TB_* definitions for the
# benches (tests/rtl/rtl_tb.cpp, systemc/cosim_main.cpp), the fx YAML for
# `fligru quantize` and the arguments of rtl_mkmodel. Included by
# rtl/CMakeLists.txt and systemc/CMakeLists.txt (each includes it; defining the
# functions twice is harmless).
#
#   fligru_config(NAME key value ...)      record a configuration (rtl/configs.cmake)
#   fligru_config_args(NAME out [key value ...])
#                                          a recorded configuration's arguments,
#                                          the given keys overriding its own
#   fligru_config_expand(NAME YAML path YAML_NAME name FOR ctest ARGS key value ...)
#                                          parse, apply defaults, derive; sets FLC_*
#
# Keys (formats are "bits frac" pairs; SIGMOID/TANH are "table size_log2
# range_log2" or "hard"): _fl_config_keys below; their defaults: in
# fligru_config_expand. The configurations themselves are global properties, so
# rtl/ and systemc/ (sibling directories) see the same ones.

# The repository root, as the functions below see it from any project that
# includes this file (the main build, or an on-demand co-simulation build).
# A cache entry: directory variables would not reach sibling directories.
get_filename_component(_fl_root ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
set(FLIGRU_ROOT ${_fl_root} CACHE INTERNAL "fligru repository root")

# The key lists, set in the calling function's scope (a macro: the functions
# below are called from either directory, whose variables the other cannot see).
macro(_fl_config_keys)
  set(_FL_OPTIONS READMEMH SWEEP)
  set(_FL_ONE HIDDEN LANES ENGINES STEPS OUTPUTS PIXELS RESET ORDER ACT ROUNDING WEIGHTS SCALE
              POW2 WFRAC MULT WSCALE BSCALE SEED INTERLEAVE THROTTLE)
  set(_FL_MULTI INPUT BIAS ACC GATE ACTIVATION STATE OUTPUT SIGMOID TANH EXPECT_SAT)
endmacro()

# fligru_config(NAME key value ...): records the configuration NAME (its
# argument list, unexpanded) for the RTL benches (every recorded one) and the
# co-simulations (those systemc/cosim_configs.cmake names).
function(fligru_config NAME)
  _fl_config_keys()
  get_property(names GLOBAL PROPERTY FLIGRU_CONFIG_NAMES)
  if(NAME IN_LIST names)
    message(FATAL_ERROR "fligru_config: configuration ${NAME} recorded twice")
  endif()
  cmake_parse_arguments(C "${_FL_OPTIONS}" "${_FL_ONE}" "${_FL_MULTI}"
                        ${ARGN})
  if(C_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "fligru_config(${NAME}): unknown arguments ${C_UNPARSED_ARGUMENTS}")
  endif()
  set_property(GLOBAL APPEND PROPERTY FLIGRU_CONFIG_NAMES ${NAME})
  set_property(GLOBAL PROPERTY FLIGRU_CONFIG_ARGS_${NAME} "${ARGN}")
endfunction()

# fligru_config_args(NAME out [key value ...]): the recorded arguments of NAME
# in `out`, with every key given here replacing the recorded one (options given
# here are added).
function(fligru_config_args NAME out)
  _fl_config_keys()
  get_property(names GLOBAL PROPERTY FLIGRU_CONFIG_NAMES)
  if(NOT NAME IN_LIST names)
    message(FATAL_ERROR "no configuration ${NAME} in rtl/configs.cmake")
  endif()
  get_property(base GLOBAL PROPERTY FLIGRU_CONFIG_ARGS_${NAME})
  cmake_parse_arguments(B "${_FL_OPTIONS}" "${_FL_ONE}" "${_FL_MULTI}"
                        ${base})
  cmake_parse_arguments(O "${_FL_OPTIONS}" "${_FL_ONE}" "${_FL_MULTI}"
                        ${ARGN})
  if(O_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "fligru_config_args(${NAME}): unknown arguments ${O_UNPARSED_ARGUMENTS}")
  endif()
  set(args "")
  foreach(k ${_FL_OPTIONS})
    if(B_${k} OR O_${k})
      list(APPEND args ${k})
    endif()
  endforeach()
  foreach(k ${_FL_ONE} ${_FL_MULTI})
    if(DEFINED O_${k})
      list(APPEND args ${k} ${O_${k}})
    elseif(DEFINED B_${k})
      list(APPEND args ${k} ${B_${k}})
    endif()
  endforeach()
  set(${out} ${args} PARENT_SCOPE)
endfunction()

function(_fl_round_code name out)
  if(name STREQUAL "truncate")
    set(${out} 0 PARENT_SCOPE)
  elseif(name STREQUAL "half_up")
    set(${out} 1 PARENT_SCOPE)
  elseif(name STREQUAL "half_even")
    set(${out} 2 PARENT_SCOPE)
  else()
    message(FATAL_ERROR "fligru_config: unknown rounding ${name}")
  endif()
endfunction()

# fligru_config_expand(NAME YAML <path> YAML_NAME <name> FOR <ctest> ARGS key value ...)
# Writes the fx YAML to <path> (`name: <name>`) and sets, in the caller's scope:
#   FLC_GARGS         the -G list for verilate() (without -GMemInitDir: the
#                     caller's, for READMEMH)
#   FLC_DEFS          the FLIGRU_TB_* compile definitions (a superset of what
#                     each bench reads; the caller adds its header/top names)
#   FLC_MKMODEL_ARGS  the rtl_mkmodel arguments (--hidden ... --steps)
#   FLC_READMEMH FLC_SWEEP (TRUE/FALSE), FLC_THROTTLE FLC_SEED FLC_PIXELS FLC_HIDDEN
#   FLC_LANES FLC_STEPS FLC_ENGINES FLC_INTERLEAVE FLC_EXPECT_SAT (the saturation
#                     counters of the RTL bench that must be non-zero: EXPECT_SAT)
function(fligru_config_expand NAME)
  _fl_config_keys()
  cmake_parse_arguments(X "" "YAML;YAML_NAME;FOR" "ARGS" ${ARGN})
  cmake_parse_arguments(C "${_FL_OPTIONS}" "${_FL_ONE}" "${_FL_MULTI}"
                        ${X_ARGS})
  if(C_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "fligru_config(${NAME}): unknown arguments ${C_UNPARSED_ARGUMENTS}")
  endif()
  foreach(k HIDDEN LANES STEPS PIXELS)
    if(NOT DEFINED C_${k})
      message(FATAL_ERROR "fligru_config(${NAME}): ${k} is required")
    endif()
  endforeach()
  foreach(kv "ENGINES;1" "OUTPUTS;3" "RESET;before" "ORDER;rzn" "ACT;sigmoid" "ROUNDING;half_even"
             "WEIGHTS;8" "SCALE;per_row" "POW2;0" "MULT;16" "WSCALE;4" "BSCALE;2" "SEED;1"
             "INTERLEAVE;0" "THROTTLE;2" "INPUT;16 14" "BIAS;16 12" "ACC;32 21" "GATE;18 12"
             "ACTIVATION;16 14" "STATE;24 22" "OUTPUT;16 14" "SIGMOID;table 10 3" "TANH;table 10 2")
    list(GET kv 0 k)
    list(GET kv 1 d)
    if(NOT DEFINED C_${k})
      separate_arguments(d UNIX_COMMAND "${d}")
      set(C_${k} ${d})
    endif()
  endforeach()
  foreach(k INPUT BIAS ACC GATE ACTIVATION STATE OUTPUT)
    list(GET C_${k} 0 ${k}_B)
    list(GET C_${k} 1 ${k}_F)
  endforeach()
  _fl_round_code(${C_ROUNDING} RCODE)
  if(C_SCALE STREQUAL "fixed")
    set(WF ${C_WFRAC})
    set(wline "{bits: ${C_WEIGHTS}, scale: fixed, frac: ${C_WFRAC}}")
    set(POW2EFF 1)      # fixed scales store M = 1 as well (docs §3)
  else()
    math(EXPR WF "${C_WEIGHTS} - 1")
    set(POW2EFF ${C_POW2})
    if(C_POW2)
      set(wline "{bits: ${C_WEIGHTS}, scale: ${C_SCALE}, pow2: true}")
    else()
      set(wline "{bits: ${C_WEIGHTS}, scale: ${C_SCALE}, pow2: false}")
    endif()
  endif()
  foreach(a SIGMOID TANH)
    list(GET C_${a} 0 kind)
    if(kind STREQUAL "hard")
      set(${a}_HARD 1)
      set(${a}_N 10)
      set(${a}_R 3)
      set(${a}_Y "{kind: hard}")
    else()
      set(${a}_HARD 0)
      list(GET C_${a} 1 ${a}_N)
      list(GET C_${a} 2 ${a}_R)
      math(EXPR size "1 << ${${a}_N}")
      math(EXPR range "1 << ${${a}_R}")
      set(${a}_Y "{kind: table, size: ${size}, range: ${range}}")
    endif()
  endforeach()
  if(C_RESET STREQUAL "after")
    set(RA 1)
  else()
    set(RA 0)
  endif()
  if(C_ORDER STREQUAL "zrn")
    set(ZRN 1)
  else()
    set(ZRN 0)
  endif()

  file(WRITE ${X_YAML}
    "# generated by rtl/fligru_config.cmake for ctest ${X_FOR}\n"
    "name: ${X_YAML_NAME}\n"
    "rounding: ${C_ROUNDING}\n"
    "input:       {bits: ${INPUT_B}, frac: ${INPUT_F}}\n"
    "weights:     ${wline}\n"
    "bias:        {bits: ${BIAS_B}, frac: ${BIAS_F}}\n"
    "accumulator: {bits: ${ACC_B}, frac: ${ACC_F}, overflow: warn}\n"
    "multiplier:  {bits: ${C_MULT}}\n"
    "gate:        {bits: ${GATE_B}, frac: ${GATE_F}}\n"
    "activation:  {bits: ${ACTIVATION_B}, frac: ${ACTIVATION_F}}\n"
    "state:       {bits: ${STATE_B}, frac: ${STATE_F}}\n"
    "output:      {bits: ${OUTPUT_B}, frac: ${OUTPUT_F}}\n"
    "sigmoid:     ${SIGMOID_Y}\n"
    "tanh:        ${TANH_Y}\n")

  set(FLC_GARGS
    -GHidden=${C_HIDDEN} -GDecHidden=${C_HIDDEN} -GOutputs=${C_OUTPUTS} -GSteps=${C_STEPS}
    -GResetAfter=1'b${RA} -GGateOrderZrn=1'b${ZRN} -GLanes=${C_LANES} -GEngines=${C_ENGINES}
    -GInterleave=${C_INTERLEAVE} -GRounding=${RCODE}
    -GInputBits=${INPUT_B} -GInputFrac=${INPUT_F} -GWeightBits=${C_WEIGHTS} -GWeightFrac=${WF}
    -GBiasBits=${BIAS_B} -GBiasFrac=${BIAS_F} -GAccBits=${ACC_B} -GAccFrac=${ACC_F}
    -GMultBits=${C_MULT} -GPow2=1'b${POW2EFF} -GGateBits=${GATE_B} -GGateFrac=${GATE_F}
    -GActBits=${ACTIVATION_B} -GActFrac=${ACTIVATION_F} -GStateBits=${STATE_B} -GStateFrac=${STATE_F}
    -GOutputBits=${OUTPUT_B} -GOutputFrac=${OUTPUT_F}
    -GSigmoidHard=1'b${SIGMOID_HARD} -GSigmoidSizeLog2=${SIGMOID_N} -GSigmoidRangeLog2=${SIGMOID_R}
    -GTanhHard=1'b${TANH_HARD} -GTanhSizeLog2=${TANH_N} -GTanhRangeLog2=${TANH_R}
    PARENT_SCOPE)
  set(FLC_DEFS
    FLIGRU_TB_HIDDEN=${C_HIDDEN} FLIGRU_TB_OUTPUTS=${C_OUTPUTS} FLIGRU_TB_STEPS=${C_STEPS}
    FLIGRU_TB_LANES=${C_LANES} FLIGRU_TB_ENGINES=${C_ENGINES} FLIGRU_TB_INTERLEAVE=${C_INTERLEAVE}
    FLIGRU_TB_RESET_AFTER=${RA} FLIGRU_TB_GATES_ZRN=${ZRN} FLIGRU_TB_ROUNDING=${RCODE}
    FLIGRU_TB_INPUT_BITS=${INPUT_B} FLIGRU_TB_INPUT_FRAC=${INPUT_F}
    FLIGRU_TB_WEIGHT_BITS=${C_WEIGHTS} FLIGRU_TB_WEIGHT_FRAC=${WF}
    FLIGRU_TB_BIAS_BITS=${BIAS_B} FLIGRU_TB_BIAS_FRAC=${BIAS_F}
    FLIGRU_TB_ACC_BITS=${ACC_B} FLIGRU_TB_ACC_FRAC=${ACC_F} FLIGRU_TB_MULT_BITS=${C_MULT}
    FLIGRU_TB_POW2=${POW2EFF}
    FLIGRU_TB_GATE_BITS=${GATE_B} FLIGRU_TB_GATE_FRAC=${GATE_F}
    FLIGRU_TB_ACT_BITS=${ACTIVATION_B} FLIGRU_TB_ACT_FRAC=${ACTIVATION_F}
    FLIGRU_TB_STATE_BITS=${STATE_B} FLIGRU_TB_STATE_FRAC=${STATE_F}
    FLIGRU_TB_OUTPUT_BITS=${OUTPUT_B} FLIGRU_TB_OUTPUT_FRAC=${OUTPUT_F}
    FLIGRU_TB_SIGMOID_HARD=${SIGMOID_HARD} FLIGRU_TB_SIGMOID_SIZE_LOG2=${SIGMOID_N}
    FLIGRU_TB_SIGMOID_RANGE_LOG2=${SIGMOID_R}
    FLIGRU_TB_TANH_HARD=${TANH_HARD} FLIGRU_TB_TANH_SIZE_LOG2=${TANH_N}
    FLIGRU_TB_TANH_RANGE_LOG2=${TANH_R}
    PARENT_SCOPE)
  set(FLC_MKMODEL_ARGS
    --hidden ${C_HIDDEN} --outputs ${C_OUTPUTS} --reset ${C_RESET} --act ${C_ACT}
    --order ${C_ORDER} --wscale ${C_WSCALE} --bscale ${C_BSCALE} --seed ${C_SEED}
    --pixels ${C_PIXELS} --steps ${C_STEPS}
    PARENT_SCOPE)
  foreach(k READMEMH SWEEP)
    if(C_${k})
      set(FLC_${k} TRUE PARENT_SCOPE)
    else()
      set(FLC_${k} FALSE PARENT_SCOPE)
    endif()
  endforeach()
  foreach(k THROTTLE SEED PIXELS HIDDEN LANES STEPS ENGINES INTERLEAVE EXPECT_SAT)
    set(FLC_${k} ${C_${k}} PARENT_SCOPE)
  endforeach()
endfunction()

# fligru_verilate(TARGET PREFIX DIR [SYSTEMC] GARGS -G...): verilates fligru_top
# (the sources of rtl/fligru.f, waivers rtl/lint.vlt, -Wall) into TARGET with
# the settings every model here shares. Build time: the generated trace code
# (used only to dump a failing run) is megabytes per model, and -O3 on it took
# minutes per configuration, so it is compiled at -O0 and the model at -O1; the
# Verilator runtime is left out of TARGET because fligru_verilated(_sc)
# compiles it once for every model.
function(fligru_verilate TARGET PREFIX DIR)
  cmake_parse_arguments(V "SYSTEMC" "" "GARGS" ${ARGN})
  file(STRINGS ${FLIGRU_ROOT}/rtl/fligru.f lines)
  set(rtl_sources "")
  foreach(line ${lines})
    if(line MATCHES "^rtl/.*\\.sv$")
      list(APPEND rtl_sources ${FLIGRU_ROOT}/${line})
    endif()
  endforeach()
  set(sc "")
  if(V_SYSTEMC)
    set(sc SYSTEMC)
  endif()
  verilate(${TARGET} ${sc}
    SOURCES ${FLIGRU_ROOT}/rtl/lint.vlt ${rtl_sources}
    TOP_MODULE fligru_top
    PREFIX ${PREFIX}
    DIRECTORY ${DIR}
    INCLUDE_DIRS ${FLIGRU_ROOT}/rtl
    TRACE_FST
    OPT_FAST -O1
    OPT_SLOW -O0
    VERILATOR_ARGS -Wall ${V_GARGS})
  if(FLIGRU_SANITIZE)
    # Verilator 5.006's headers read their thread_local context through a pointer
    # GCC's UBSan takes for null (verilated.h: Verilated::threadContextp): a false
    # report in code that is not ours; every other check stays on.
    target_compile_options(${TARGET} PRIVATE -fno-sanitize=null)
  endif()
  get_target_property(srcs ${TARGET} SOURCES)
  set(keep "")
  foreach(src ${srcs})
    if(src MATCHES "/include/verilated[a-z_]*\\.cpp$")
      continue()
    endif()
    if(src MATCHES "__Trace__")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS -O0)
    endif()
    list(APPEND keep ${src})
  endforeach()
  set_property(TARGET ${TARGET} PROPERTY SOURCES ${keep})
endfunction()
