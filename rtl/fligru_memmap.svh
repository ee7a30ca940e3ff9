// fligru_memmap.svh: memory selectors of the configuration write port
// (cfg_sel_i of fligru_top). Each memory is written in the C order of its
// `fligru vectors` hex file (docs/fixed-point.md §5.2), one word per beat,
// cfg_first_i on the first word. Included inside the modules that decode it.
localparam int SEL_ENC_W_IH       = 0;   // enc_l0_w_ih        [3H]     weights
localparam int SEL_ENC_W_IH_MULT  = 1;   // enc_l0_w_ih_mult   [3H]     M_j
localparam int SEL_ENC_W_IH_SHIFT = 2;   // enc_l0_w_ih_shift  [3H]     S_j
localparam int SEL_ENC_W_HH       = 3;   // enc_l0_w_hh        [3H][H]  weights
localparam int SEL_ENC_W_HH_MULT  = 4;   // enc_l0_w_hh_mult   [3H]
localparam int SEL_ENC_W_HH_SHIFT = 5;   // enc_l0_w_hh_shift  [3H]
localparam int SEL_ENC_B_IH       = 6;   // enc_l0_b_ih        [3H]
localparam int SEL_ENC_B_HH       = 7;   // enc_l0_b_hh        [3H]     optional: reset-after only
localparam int SEL_DEC_W_HH       = 8;   // dec_l0_w_hh        [3H][H]
localparam int SEL_DEC_W_HH_MULT  = 9;   // dec_l0_w_hh_mult   [3H]
localparam int SEL_DEC_W_HH_SHIFT = 10;  // dec_l0_w_hh_shift  [3H]
localparam int SEL_DEC_B_IH       = 11;  // dec_l0_b_ih        [3H]
localparam int SEL_DEC_B_HH       = 12;  // dec_l0_b_hh        [3H]     optional: reset-after only
localparam int SEL_DENSE_W        = 13;  // dense_w            [C][H]
localparam int SEL_DENSE_MULT     = 14;  // dense_w_mult       [C]
localparam int SEL_DENSE_SHIFT    = 15;  // dense_w_shift      [C]
localparam int SEL_DENSE_B        = 16;  // dense_b            [C]
localparam int SEL_SIGMOID        = 17;  // act_sigmoid        [2^n]    optional: table kind only
localparam int SEL_TANH           = 18;  // act_tanh           [2^n]    optional: table kind only
