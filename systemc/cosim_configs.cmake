# The ctest co-simulation configurations (cosim.<name>), included by
# systemc/CMakeLists.txt. Each names an rtl/configs.cmake configuration (its
# values are written there, once); keys given here override them (fewer pixels
# to bound the test time). The Verilated RTL, the SystemC model and the C
# reference must agree on every state, every output and every handshake at
# every cycle.
#
# reset-before, the shortest phase (Q = 8), 31-bit multipliers, 4096-entry tanh
fligru_cosim_config(h8_p24_w16_m31)
# P = 1, four engines, hard units, narrow state and a wrapping accumulator
fligru_cosim_config(h8_p1_e4_w4s8_hard)
# three engines, reset-after, Keras gate order, truncation
fligru_cosim_config(h16_p47_e3_zrn_w6s12)
# power-of-two scales, two engines, reset-before
fligru_cosim_config(h24_p25_e2_pow2)
# Interleave 4 where the default is 8: scoreboard stalls
fligru_cosim_config(h8_p24_k4_stalls)
# P = 2, two engines, reset-after with Keras order, hard units (fewer pixels than rtl.*)
fligru_cosim_config(h16_p2_e2_zrn_w12_hard PIXELS 61)
