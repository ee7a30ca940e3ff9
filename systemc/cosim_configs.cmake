# The ctest co-simulation configurations (cosim.<name>), included by
# systemc/CMakeLists.txt. Each is a copy of an rtl/configs.cmake configuration
# (same keys, same values; some with fewer pixels to bound the test time): the
# Verilated RTL, the SystemC model and the C reference must agree on every
# state, every output and every handshake at every cycle.
#
# reset-before, the shortest phase (Q = 8), 31-bit multipliers, 4096-entry tanh
fligru_cosim_config(h8_p24_w16_m31
  HIDDEN 8 LANES 24 STEPS 32 PIXELS 163 WEIGHTS 16 MULT 31 ACC 32 24
  SIGMOID table 9 3 TANH table 12 1)
# P = 1, four engines, hard units, narrow state and a wrapping accumulator
fligru_cosim_config(h8_p1_e4_w4s8_hard
  HIDDEN 8 LANES 1 ENGINES 4 STEPS 32 PIXELS 163 ACT hard ROUNDING half_up
  WEIGHTS 4 BIAS 12 8 ACC 10 9 GATE 12 8 ACTIVATION 10 8 STATE 8 7 OUTPUT 12 9
  SIGMOID hard TANH hard)
# three engines, reset-after, Keras gate order, truncation
fligru_cosim_config(h16_p47_e3_zrn_w6s12
  HIDDEN 16 LANES 47 ENGINES 3 STEPS 32 PIXELS 163 RESET after ORDER zrn ACT hard
  ROUNDING truncate WEIGHTS 6 MULT 12 BIAS 12 9 ACC 24 15 GATE 14 9 ACTIVATION 12 10
  STATE 12 10 OUTPUT 12 10 SIGMOID hard TANH table 8 1)
# power-of-two scales, two engines, reset-before
fligru_cosim_config(h24_p25_e2_pow2
  HIDDEN 24 LANES 25 ENGINES 2 STEPS 32 PIXELS 163 ROUNDING half_up POW2 1
  ACC 32 21 GATE 16 11 STATE 16 14)
# Interleave 4 where the default is 8: scoreboard stalls
fligru_cosim_config(h8_p24_k4_stalls
  HIDDEN 8 LANES 24 STEPS 32 PIXELS 163 INTERLEAVE 4 SEED 5)
# P = 2, two engines, reset-after with Keras order, hard units (fewer pixels than rtl.*)
fligru_cosim_config(h16_p2_e2_zrn_w12_hard
  HIDDEN 16 LANES 2 ENGINES 2 STEPS 32 PIXELS 61 RESET after ORDER zrn ACT hard
  WEIGHTS 12 ACC 32 26 SIGMOID hard TANH hard)
