# The RTL test configurations, included by rtl/CMakeLists.txt: the one place
# their values are written. fligru_config() (rtl/fligru_config.cmake) records
# each; rtl/CMakeLists.txt makes a ctest rtl.<name> of every one (unless
# FLIGRU_RTL_BENCHES is OFF), systemc/cosim_configs.cmake names those that are
# also co-simulated (cosim.<name>). Keys and defaults: rtl/fligru_config.cmake.
# Each is one Verilated fligru_top + a random float model quantised with the
# listed format; pixels x 2T >= 10,000 pixel-steps (every state of every
# encoder and decoder step is compared). Pixel counts are not multiples of the
# batch (Interleave x Engines), so the last batch is partial (in_last flush).
# EXPECT_SAT names the saturation counters of the bench (rtl_tb --expect-sat)
# that a configuration meant to drive saturation must reach.
# Formats: "bits frac"; ACC frac is explicit because the RTL is built before
# the weights exist (quantize's `auto` would pick it from them).
#
# name                           H   P   E   T   what it covers

# 1. the authors' student: 32 units, 8-bit weights, 24-bit state, T = 135
fligru_config(student_h32_p8
  HIDDEN 32 LANES 8 STEPS 135 PIXELS 41)
# 2. P = 3H, two engines, reset-after, the HLS types (fixed Q(8,7) weights: shift-only rescale), truncation
fligru_config(h32_p96_e2_after_hls
  HIDDEN 32 LANES 96 ENGINES 2 STEPS 32 PIXELS 157 RESET after ROUNDING truncate
  WEIGHTS 8 SCALE fixed WFRAC 7 BIAS 8 7 ACC 32 22 ACTIVATION 18 16)
# 3. P = 1, four engines, 4-bit weights, 8-bit state Q(8,7) (1.0 saturates), a
#    10-bit accumulator that wraps, hard sigmoid and tanh, half_up
fligru_config(h8_p1_e4_w4s8_hard
  HIDDEN 8 LANES 1 ENGINES 4 STEPS 32 PIXELS 163 ACT hard ROUNDING half_up
  WEIGHTS 4 BIAS 12 8 ACC 10 9 GATE 12 8 ACTIVATION 10 8 STATE 8 7 OUTPUT 12 9
  SIGMOID hard TANH hard EXPECT_SAT acc_wrap state gate rescale output)
# 4. H = 64, P = 3H, 16-bit weights and state, reset-after
fligru_config(h64_p192_after_w16s16
  HIDDEN 64 LANES 192 STEPS 40 PIXELS 127 RESET after
  WEIGHTS 16 ACC 32 21 STATE 16 14)
# 5. H = 64 with P = 13 (no divisor of 3H*H): the flattened schedule; C = 1 (the paper's text)
fligru_config(h64_p13_before_c1
  HIDDEN 64 LANES 13 STEPS 16 PIXELS 313 OUTPUTS 1 SIGMOID table 11 4)
# 6. three engines, Keras gate order, hard sigmoid + small tanh table, truncation, 6-bit weights
fligru_config(h16_p47_e3_zrn_w6s12
  HIDDEN 16 LANES 47 ENGINES 3 STEPS 32 PIXELS 163 RESET after ORDER zrn ACT hard
  ROUNDING truncate WEIGHTS 6 MULT 12 BIAS 12 9 ACC 24 15 GATE 14 9 ACTIVATION 12 10
  STATE 12 10 OUTPUT 12 10 SIGMOID hard TANH table 8 1)
# 7. power-of-two scales (every rescale a shift), two engines, half_up (configs/fx-pow2.yaml)
fligru_config(h24_p25_e2_pow2
  HIDDEN 24 LANES 25 ENGINES 2 STEPS 32 PIXELS 163 ROUNDING half_up POW2 1
  ACC 32 21 GATE 16 11 STATE 16 14)
# 8. saturation everywhere: narrow gate/output/state (1 integer bit), 12-bit
#    accumulator that can wrap, 8-bit multipliers, large weights and biases
fligru_config(h32_p33_saturate
  HIDDEN 32 LANES 33 STEPS 32 PIXELS 163 RESET after WSCALE 16 BSCALE 8
  MULT 8 BIAS 10 6 ACC 12 9 GATE 10 6 ACTIVATION 10 8 STATE 12 11 OUTPUT 8 6
  SIGMOID table 8 2 TANH table 7 3 EXPECT_SAT acc_wrap state gate table rescale output)
# 9. the shortest phase (H = 8, P = 3H: 8 beats), 16-bit weights, 31-bit multipliers, 4096-entry tanh
fligru_config(h8_p24_w16_m31
  HIDDEN 8 LANES 24 STEPS 32 PIXELS 163 WEIGHTS 16 MULT 31 ACC 32 24
  SIGMOID table 9 3 TANH table 12 1)
# 10. four engines at P = 3H, 5-bit weights, negative input-product shift, hard tanh
fligru_config(h40_p120_e4_w5s20
  HIDDEN 40 LANES 120 ENGINES 4 STEPS 32 PIXELS 163 ROUNDING half_up
  WEIGHTS 5 ACC 32 22 STATE 20 18 TANH hard)
# 11. memories from $readmemh (no configuration port), truncation, 16-bit state,
#     Interleave 3 instead of the default 2
fligru_config(h16_p5_readmemh_k3
  HIDDEN 16 LANES 5 STEPS 32 PIXELS 157 RESET after ROUNDING truncate STATE 16 14 READMEMH
  INTERLEAVE 3)
# 12. P = 2, two engines, Keras order, 12-bit weights, hard units
fligru_config(h16_p2_e2_zrn_w12_hard
  HIDDEN 16 LANES 2 ENGINES 2 STEPS 32 PIXELS 157 RESET after ORDER zrn ACT hard
  WEIGHTS 12 ACC 32 26 SIGMOID hard TANH hard)
# 13. per-tensor weight scales, P = 2H
fligru_config(h32_p64_tensor
  HIDDEN 32 LANES 64 STEPS 48 PIXELS 107 SCALE per_tensor)
# 14. 3H/2 < P < 3H, 10-bit weights, 22-bit state, two engines, reset-before with Keras order
fligru_config(h48_p100_e2_w10s22_zrn
  HIDDEN 48 LANES 100 ENGINES 2 STEPS 32 PIXELS 163 ROUNDING half_up ORDER zrn
  WEIGHTS 10 ACC 32 24 STATE 22 20)
# 15. Interleave forced to 4 where the default is 8 (Q = 8 beats per phase): the
#     scoreboard stalls beats until their operands are final. Bit-exactness under
#     stalls; its cycle ratio measures the stalls, not the schedule.
fligru_config(h8_p24_k4_stalls
  HIDDEN 8 LANES 24 STEPS 32 PIXELS 163 INTERLEAVE 4 SEED 5)
