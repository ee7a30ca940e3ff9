// fligru_top: the fixed-point GRU Seq2Seq datapath (Seq2SeqLite: one GRU layer
// in the encoder and the decoder, H units each, one input feature, C outputs),
// bit-exact to docs/fixed-point.md. Micro-architecture: docs/rtl.md.
//
//   cfg  ──► fligru_cfg ──► weight banks (fligru_array), constants (fligru_params),
//                           activation tables (fligru_unit)
//   in   ──► fligru_ctrl (loader, phase sequencer, scoreboard)
//                │ stage I
//                ▼
//   fligru_array: P lanes x E engines, accumulator rings, row buffers
//                │ row sums
//                ▼
//   fligru_ppctrl + per engine: fligru_unit (rescale, activations, update),
//                fligru_ctxmem (states, windows, samples), fligru_dense
//                │
//   out  ◄── fligru_outq        dbg ◄── new states (every unit, every step)
//
// Every word length, fraction, rounding mode, the reset variant, the gate
// order, the activation kinds and table sizes are parameters; so are the MAC
// lanes P (1..3H) per engine and the number E of engines sharing one weight
// stream. Combinations the RTL cannot build stop elaboration with a message
// naming the parameter.
`default_nettype none

module fligru_top #(
  // ---- network ----
  parameter int InputSize    = 1,     // features per encoder step (only 1 is supported)
  parameter int Layers       = 1,     // GRU layers (only 1 is supported)
  parameter int Hidden       = 32,    // H: encoder units
  parameter int DecHidden    = 32,    // D: decoder units (must equal H: no bridge)
  parameter int Outputs      = 3,     // C: dense outputs per decoder step
  parameter int Steps        = 135,   // T: time gates per pixel
  parameter bit ResetAfter   = 1'b0,  // 1: n = tanh(Wx + b + r ⊙ (U h + b_hn)); 0: reset-before
  parameter bit GateOrderZrn = 1'b0,  // storage order of the gate blocks: 0 r,z,n (PyTorch); 1 z,r,n
  // ---- micro-architecture ----
  parameter int Lanes        = 8,     // P: MAC lanes per engine, 1..3H
  parameter int Engines      = 1,     // E: pixel engines sharing the weight stream
  parameter int Interleave   = 0,     // pixels in flight per engine (0: the smallest that hides latency)
  // ---- fixed-point formats (docs/fixed-point.md §2) ----
  parameter int Rounding     = 2,     // 0 truncate, 1 half_up, 2 half_even
  parameter int InputBits    = 16,  parameter int InputFrac  = 14,  // input sample word
  parameter int WeightBits   = 8,   parameter int WeightFrac = 7,   // nominal F_w
  parameter int BiasBits     = 16,  parameter int BiasFrac   = 12,  // bias word
  parameter int AccBits      = 32,  parameter int AccFrac    = 21,  // resolved, never auto
  parameter int MultBits     = 16,                                  // rescale multipliers
  parameter bit Pow2         = 1'b0,                                // 1: every M is 1 (shift only)
  parameter int GateBits     = 18,  parameter int GateFrac   = 12,  // gate pre-activation word
  parameter int ActBits      = 16,  parameter int ActFrac    = 14,  // activation output word
  parameter int StateBits    = 24,  parameter int StateFrac  = 22,  // hidden state word
  parameter int OutputBits   = 16,  parameter int OutputFrac = 14,  // dense output word
  parameter bit SigmoidHard  = 1'b0,  // 0 table, 1 hard sigmoid
  parameter int SigmoidSizeLog2  = 10,  // sigmoid table entries (log2)
  parameter int SigmoidRangeLog2 = 3,  // sigmoid table input range ±2^n
  parameter bit TanhHard     = 1'b0,  // 0 table, 1 hard tanh
  parameter int TanhSizeLog2 = 10,  // tanh table entries (log2)
  parameter int TanhRangeLog2 = 2,  // tanh table input range ±2^n
  // ---- simulation ----
  parameter MemInitDir = ""    // $readmemh every memory from this `fligru vectors` directory
) (
  input  wire logic                             clk_i,
  input  wire logic                             rst_ni,

  // configuration write port (fligru_memmap.svh); load while idle
  input  wire logic                             cfg_valid_i,
  output logic                                  cfg_ready_o,
  input  wire logic [4:0]                       cfg_sel_i,
  input  wire logic                             cfg_first_i,
  input  wire logic [31:0]                      cfg_data_i,

  // TPSF samples in: T words per pixel, pixel after pixel
  input  wire logic                             in_valid_i,
  output logic                                  in_ready_o,
  input  wire logic [InputBits-1:0]             in_data_i,
  input  wire logic                             in_last_i,    // last word of the last pixel

  // C outputs per decoder step out, tagged with the pixel and the step
  output logic                                  out_valid_o,
  input  wire logic                             out_ready_i,
  output logic [31:0]                           out_pixel_o,
  output logic [15:0]                           out_step_o,
  output logic [Outputs*OutputBits-1:0]         out_data_o,

  // debug: every new hidden state (monitor only, no back-pressure)
  output logic [Engines-1:0]                    dbg_valid_o,  // per engine
  output logic [6:0]                            dbg_unit_o,
  output logic                                  dbg_dec_o,    // decoder step (else encoder)
  output logic [15:0]                           dbg_step_o,
  output logic [Engines*32-1:0]                 dbg_pixel_o,
  output logic [Engines*StateBits-1:0]          dbg_h_o,
  output logic                                  dbg_beat_o,   // a MAC beat issued this cycle

  output logic [7:0]                            info_ctx_o,   // pixels in flight per engine (Interleave)
  output logic                                  busy_o
);

  `include "fligru_sched.svh"

  // ---- derived -------------------------------------------------------------------
  localparam int ROWS  = 3 * Hidden;
  localparam int Q     = (ROWS * Hidden + Lanes - 1) / Lanes;   // beats per phase
  localparam int DH    = WeightFrac + StateFrac - AccFrac;      // D_h
  // Pixels in flight per engine and the part a -> b distance: the context
  // count rule of fligru_sched.svh (shared with the SystemC and analytic models).
  localparam int CTX   = (Interleave > 0) ? Interleave : sched_ctx(Q, ResetAfter ? 1 : 0);
  localparam int DELAY = sched_delay(CTX, ResetAfter ? 1 : 0);
  localparam int CTXW  = (CTX > 1) ? $clog2(CTX) : 1;
  localparam int STEPW = (Steps > 1) ? $clog2(Steps) : 1;
  localparam int ENGW  = (Engines > 1) ? $clog2(Engines) : 1;
  localparam int DESCW = 24 + 2 * (1 + Engines + CTXW + 1 + STEPW + 1 + 16);
  localparam int F1    = (ActFrac > StateFrac) ? ActFrac : StateFrac;
  localparam int UPD_BITS = ActBits + 1 + (((StateBits + F1 - StateFrac) > (ActBits + F1 - ActFrac))
                                           ? (StateBits + F1 - StateFrac) : (ActBits + F1 - ActFrac));

  `include "fligru_memmap.svh"

  // ---- parameter checks (elaboration) --------------------------------------------------
  if (InputSize != 1) begin : g_err_input
    $error("fligru_top: InputSize must be 1 (one TPSF sample per encoder step); other input sizes are not supported");
  end
  if (Layers != 1) begin : g_err_layers
    $error("fligru_top: Layers must be 1 (Seq2SeqLite); stacked GRU layers are not supported");
  end
  if (DecHidden != Hidden) begin : g_err_dec
    $error("fligru_top: DecHidden must equal Hidden; the E != D bridge is not supported");
  end
  if (Hidden < 2 || Hidden > 85) begin : g_err_hidden
    $error("fligru_top: Hidden must be in 2..85");
  end
  if (Lanes < 1 || Lanes > ROWS) begin : g_err_lanes
    $error("fligru_top: Lanes (P) must be in 1..3*Hidden");
  end
  if (Engines < 1 || Engines > 16) begin : g_err_engines
    $error("fligru_top: Engines must be in 1..16");
  end
  if (Steps < 2 || Steps > 4096) begin : g_err_steps
    $error("fligru_top: Steps must be in 2..4096");
  end
  if (Outputs < 1 || Outputs > 16) begin : g_err_outputs
    $error("fligru_top: Outputs must be in 1..16");
  end
  if (Rounding < 0 || Rounding > 2) begin : g_err_round
    $error("fligru_top: Rounding must be 0 (truncate), 1 (half_up) or 2 (half_even)");
  end
  if (InputBits < 2 || InputBits > 32) begin : g_err_ib
    $error("fligru_top: InputBits must be in 2..32");
  end
  if (InputFrac < 0 || InputFrac > InputBits - 1) begin : g_err_if
    $error("fligru_top: InputFrac must be in 0..InputBits-1 (a word narrower than its binary point)");
  end
  if (WeightBits < 2 || WeightBits > 16) begin : g_err_wb
    $error("fligru_top: WeightBits must be in 2..16");
  end
  if (WeightFrac < 0 || WeightFrac > WeightBits - 1) begin : g_err_wf
    $error("fligru_top: WeightFrac must be in 0..WeightBits-1 (a word narrower than its binary point)");
  end
  if (BiasBits < 2 || BiasBits > 32) begin : g_err_bb
    $error("fligru_top: BiasBits must be in 2..32");
  end
  if (BiasFrac < 0 || BiasFrac > BiasBits - 1) begin : g_err_bf
    $error("fligru_top: BiasFrac must be in 0..BiasBits-1 (a word narrower than its binary point)");
  end
  if (AccBits < 2 || AccBits > 32) begin : g_err_ab
    $error("fligru_top: AccBits must be in 2..32");
  end
  if (AccFrac < 0 || AccFrac > AccBits - 1) begin : g_err_af
    $error("fligru_top: AccFrac must be in 0..AccBits-1 (a word narrower than its binary point)");
  end
  if (MultBits < 2 || MultBits > 31) begin : g_err_mb
    $error("fligru_top: MultBits must be in 2..31");
  end
  if (AccBits + MultBits + 1 > 64) begin : g_err_am
    $error("fligru_top: AccBits + MultBits + 1 must be at most 64");
  end
  if (GateBits < 2 || GateBits > 32) begin : g_err_gb
    $error("fligru_top: GateBits must be in 2..32");
  end
  if (GateFrac < 0 || GateFrac > GateBits - 1) begin : g_err_gf
    $error("fligru_top: GateFrac must be in 0..GateBits-1 (a word narrower than its binary point)");
  end
  if (ActBits < 2 || ActBits > 32) begin : g_err_actb
    $error("fligru_top: ActBits must be in 2..32");
  end
  if (ActFrac < 1 || ActFrac > ActBits - 1) begin : g_err_actf
    $error("fligru_top: ActFrac must be in 1..ActBits-1 (a word narrower than its binary point)");
  end
  if (StateBits < 2 || StateBits > 32) begin : g_err_sb
    $error("fligru_top: StateBits must be in 2..32");
  end
  if (StateFrac < 0 || StateFrac > StateBits - 1) begin : g_err_sf
    $error("fligru_top: StateFrac must be in 0..StateBits-1 (a word narrower than its binary point)");
  end
  if (OutputBits < 2 || OutputBits > 32) begin : g_err_ob
    $error("fligru_top: OutputBits must be in 2..32");
  end
  if (OutputFrac < 0 || OutputFrac > OutputBits - 1) begin : g_err_of
    $error("fligru_top: OutputFrac must be in 0..OutputBits-1 (a word narrower than its binary point)");
  end
  if (UPD_BITS > 63) begin : g_err_upd
    $error("fligru_top: StateBits/StateFrac/ActBits/ActFrac: the state update needs more than 63 bits");
  end
  if (!SigmoidHard && (SigmoidSizeLog2 < 1 || SigmoidSizeLog2 > 16 || SigmoidRangeLog2 < -8 ||
                       SigmoidRangeLog2 > 16 || GateFrac + SigmoidRangeLog2 + 1 - SigmoidSizeLog2 < 0)) begin : g_err_sig
    $error("fligru_top: SigmoidSizeLog2/SigmoidRangeLog2: table of 1..16 (log2) entries over 2^-8..2^16, no finer than the gate LSB");
  end
  if (!TanhHard && (TanhSizeLog2 < 1 || TanhSizeLog2 > 16 || TanhRangeLog2 < -8 ||
                    TanhRangeLog2 > 16 || GateFrac + TanhRangeLog2 + 1 - TanhSizeLog2 < 0)) begin : g_err_tanh
    $error("fligru_top: TanhSizeLog2/TanhRangeLog2: table of 1..16 (log2) entries over 2^-8..2^16, no finer than the gate LSB");
  end
  if (Interleave != 0 && (Interleave < 2 || (!ResetAfter && (Interleave % 2 != 0 || Interleave < 4)))) begin : g_err_il
    $error("fligru_top: Interleave must be 0 (auto), >= 2, and for reset-before even and >= 4");
  end
  if (((ResetAfter ? CTX : DELAY) * Hidden) < SchedMinCtxUnits) begin : g_err_il2
    $error("fligru_top: Interleave too small for Hidden: the post-processor pipeline would overtake itself");
  end

  // ---- configuration decode -------------------------------------------------------------
  logic        c_we;
  logic [4:0]  c_sel;
  logic [15:0] c_addr, c_baddr;
  logic [31:0] c_data;
  logic [7:0]  c_lane;

  fligru_cfg #(.Hidden(Hidden), .Lanes(Lanes)) u_cfg (
    .clk_i, .rst_ni,
    .cfg_valid_i, .cfg_ready_o, .cfg_sel_i, .cfg_first_i, .cfg_data_i,
    .we_o(c_we), .sel_o(c_sel), .addr_o(c_addr), .data_o(c_data), .lane_o(c_lane), .baddr_o(c_baddr)
  );

  logic bw_we, sig_we, tanh_we;
  assign bw_we   = c_we && (32'(c_sel) == SEL_ENC_W_HH || 32'(c_sel) == SEL_DEC_W_HH);
  assign sig_we  = c_we && 32'(c_sel) == SEL_SIGMOID;
  assign tanh_we = c_we && 32'(c_sel) == SEL_TANH;

  // ---- sequencing --------------------------------------------------------------------------
  logic                     mac_en, pp_en;
  logic                     xw_we, xw_par;
  logic [ENGW-1:0]          xw_eng;
  logic [CTXW-1:0]          xw_ctx;
  logic [STEPW-1:0]         xw_t;
  logic [InputBits-1:0]     xw_data;
  logic [Engines*32-1:0]    pid;
  logic [23:0]              ret_ph;
  logic [6:0]               ret_units;
  logic [15:0]              ret_batch;
  logic                     rb_free, rb_shift;
  logic                     i_fire, i_c0, i_adv, i_zeroa, i_last, i_deca, i_decb;
  logic [6:0]               i_kidx;
  logic [CTXW-1:0]          i_ctxa, i_ctxb;
  logic [15:0]              i_beat;
  logic [8:0]               i_rem, r_rem;
  logic                     s_valid, s_first, s_last;
  logic [DESCW-1:0]         s_desc;
  logic                     ctrl_busy, pp_busy, outq_empty;

  fligru_ctrl #(
    .Hidden(Hidden), .Lanes(Lanes), .Steps(Steps), .Engines(Engines), .Ctx(CTX),
    .Delay(DELAY), .ResetAfter(ResetAfter), .InputBits(InputBits)
  ) u_ctrl (
    .clk_i, .rst_ni,
    .in_valid_i, .in_ready_o, .in_data_i, .in_last_i,
    .xw_we_o(xw_we), .xw_eng_o(xw_eng), .xw_par_o(xw_par), .xw_ctx_o(xw_ctx), .xw_t_o(xw_t),
    .xw_data_o(xw_data),
    .pid_par_i(ret_parb), .pid_ctx_i(ret_ctxb), .pid_o(pid),
    .ret_ph_i(ret_ph), .ret_units_i(ret_units), .ret_batch_i(ret_batch), .rb_free_i(rb_free),
    .mac_en_o(mac_en),
    .i_fire_o(i_fire), .i_c0_o(i_c0), .i_adv_o(i_adv), .i_kidx_o(i_kidx), .i_ctxa_o(i_ctxa),
    .i_ctxb_o(i_ctxb), .i_zeroa_o(i_zeroa), .i_beat_o(i_beat), .i_rem_o(i_rem), .i_last_o(i_last),
    .i_deca_o(i_deca), .i_decb_o(i_decb),
    .r_rem_o(r_rem),
    .s_valid_o(s_valid), .s_first_o(s_first), .s_last_o(s_last), .s_desc_o(s_desc),
    .busy_o(ctrl_busy)
  );

  logic [6:0]          p0_j, p10_j, ret_j;
  logic [CTXW-1:0]     p0_ctxa, p0_ctxb, ret_ctxa, ret_ctxb;
  logic [STEPW-1:0]    p0_ta, p0_tb, ret_tb, push_t;
  logic                p0_para, p0_parb, p0_firsta, p0_firstb, p0_deca, p0_decb;
  logic                ret_valid, ret_acta, ret_actb, ret_decb, ret_parb, ret_dense, ret_first;
  logic [Engines-1:0]  ret_vmaskb, push_mask;
  logic                push, out_full;
  logic [Engines*32-1:0] push_pid;

  fligru_ppctrl #(.Hidden(Hidden), .Engines(Engines), .Ctx(CTX), .Steps(Steps)) u_ppctrl (
    .clk_i, .rst_ni,
    .s_load_i(mac_en && s_valid && s_last), .s_desc_i(s_desc),
    .rb_free_o(rb_free), .rb_shift_o(rb_shift), .out_full_i(out_full), .pp_en_o(pp_en),
    .p0_j_o(p0_j), .p0_ctxa_o(p0_ctxa), .p0_ctxb_o(p0_ctxb), .p0_ta_o(p0_ta), .p0_tb_o(p0_tb),
    .p0_para_o(p0_para), .p0_parb_o(p0_parb), .p0_firsta_o(p0_firsta), .p0_firstb_o(p0_firstb),
    .p0_deca_o(p0_deca), .p0_decb_o(p0_decb),
    .p10_j_o(p10_j),
    .ret_valid_o(ret_valid), .ret_j_o(ret_j), .ret_acta_o(ret_acta), .ret_actb_o(ret_actb),
    .ret_ctxa_o(ret_ctxa), .ret_ctxb_o(ret_ctxb), .ret_vmaskb_o(ret_vmaskb), .ret_decb_o(ret_decb),
    .ret_tb_o(ret_tb), .ret_parb_o(ret_parb), .ret_dense_o(ret_dense), .ret_first_o(ret_first),
    .ret_ph_o(ret_ph), .ret_units_o(ret_units), .ret_batch_o(ret_batch),
    .push_o(push), .push_mask_o(push_mask), .push_t_o(push_t), .pid_i(pid), .push_pid_o(push_pid),
    .busy_o(pp_busy)
  );

  // ---- shared constants -----------------------------------------------------------------------
  logic [3*MultBits-1:0]          mh, mx;
  logic [3*8-1:0]                 sh, sx;
  logic [3*WeightBits-1:0]        wih;
  logic [3*GateBits-1:0]          bx, bh;
  logic [Outputs*WeightBits-1:0]  dw;
  logic [Outputs*MultBits-1:0]    dm;
  logic [Outputs*8-1:0]           ds;
  logic [Outputs*OutputBits-1:0]  db;

  fligru_params #(
    .Hidden(Hidden), .Outputs(Outputs), .WeightBits(WeightBits), .MultBits(MultBits),
    .BiasBits(BiasBits), .BiasFrac(BiasFrac), .GateBits(GateBits), .GateFrac(GateFrac),
    .OutputBits(OutputBits), .OutputFrac(OutputFrac), .Rounding(Rounding),
    .ResetAfter(ResetAfter), .GateOrderZrn(GateOrderZrn), .Pow2(Pow2), .InitDir(MemInitDir)
  ) u_params (
    .clk_i, .en_i(pp_en),
    .we_i(c_we), .sel_i(c_sel), .addr_i(c_addr), .data_i(c_data),
    .j_i(p0_j), .deca_i(p0_deca), .decb_i(p0_decb),
    .mh_o(mh), .sh_o(sh), .mx_o(mx), .sx_o(sx), .wih_o(wih), .bx_o(bx), .bh_o(bh),
    .jd_i(p10_j), .dw_o(dw), .dm_o(dm), .ds_o(ds), .db_o(db)
  );

  // ---- MAC array --------------------------------------------------------------------------------
  logic [Engines*StateBits-1:0] r_h0, r_h1, r_rh0, r_rh1;
  logic [Engines*AccBits-1:0]   rb_g0, rb_g1, rb_g2;

  fligru_array #(
    .Hidden(Hidden), .Lanes(Lanes), .Engines(Engines), .WeightBits(WeightBits),
    .StateBits(StateBits), .AccBits(AccBits), .ProdShift(DH), .Rounding(Rounding),
    .ResetAfter(ResetAfter), .InitDir(MemInitDir)
  ) u_array (
    .clk_i, .en_i(mac_en),
    .bw_we_i(bw_we), .bw_dec_i(32'(c_sel) == SEL_DEC_W_HH), .bw_lane_i(c_lane), .bw_addr_i(c_baddr),
    .bw_data_i(c_data[WeightBits-1:0]),
    .i_beat_i(i_beat), .i_rem_i(i_rem), .i_last_i(i_last), .i_deca_i(i_deca), .i_decb_i(i_decb),
    .r_rem_i(r_rem), .r_h0_i(r_h0), .r_h1_i(r_h1), .r_rh0_i(r_rh0), .r_rh1_i(r_rh1),
    .s_valid_i(s_valid), .s_first_i(s_first), .s_last_i(s_last),
    .rb_shift_i(rb_shift), .rb_g0_o(rb_g0), .rb_g1_o(rb_g1), .rb_g2_o(rb_g2)
  );

  // ---- engines: state memories, post-processor, dense head ----------------------------------------
  localparam int OUTW = 32 + 16 + Outputs * OutputBits;
  logic [Engines*OUTW-1:0] push_data;

  for (genvar e = 0; e < Engines; e++) begin : g_eng
    logic [StateBits-1:0]        ha, hb;
    logic [ActBits-1:0]          zb;
    logic [InputBits-1:0]        xa, xb;
    logic signed [StateBits-1:0] h_new, rh_new;
    logic signed [ActBits-1:0]   z_new;
    logic [AccBits-1:0]          g0, g1;
    logic [Outputs*OutputBits-1:0] y;

    fligru_ctxmem #(
      .Hidden(Hidden), .Steps(Steps), .Ctx(CTX), .StateBits(StateBits), .ActBits(ActBits),
      .InputBits(InputBits), .ResetAfter(ResetAfter)
    ) u_mem (
      .clk_i, .mac_en_i(mac_en), .pp_en_i(pp_en),
      .xw_we_i(xw_we && xw_eng == ENGW'(e)), .xw_par_i(xw_par), .xw_ctx_i(xw_ctx), .xw_t_i(xw_t),
      .xw_data_i(xw_data),
      .i_fire_i(i_fire), .i_c0_i(i_c0), .i_adv_i(i_adv), .i_kidx_i(i_kidx), .i_ctxa_i(i_ctxa),
      .i_ctxb_i(i_ctxb), .i_zeroa_i(i_zeroa),
      .r_h0_o(r_h0[e*StateBits +: StateBits]), .r_h1_o(r_h1[e*StateBits +: StateBits]),
      .r_rh0_o(r_rh0[e*StateBits +: StateBits]), .r_rh1_o(r_rh1[e*StateBits +: StateBits]),
      .p0_j_i(p0_j), .p0_ctxa_i(p0_ctxa), .p0_ctxb_i(p0_ctxb), .p0_ta_i(p0_ta), .p0_tb_i(p0_tb),
      .p0_para_i(p0_para), .p0_parb_i(p0_parb), .p0_firsta_i(p0_firsta), .p0_firstb_i(p0_firstb),
      .p1_ha_o(ha), .p1_hb_o(hb), .p1_zb_o(zb), .p1_xa_o(xa), .p1_xb_o(xb),
      .ret_valid_i(ret_valid), .ret_j_i(ret_j), .ret_acta_i(ret_acta), .ret_actb_i(ret_actb),
      .ret_ctxa_i(ret_ctxa), .ret_ctxb_i(ret_ctxb),
      .ret_h_i(h_new), .ret_rh_i(rh_new), .ret_z_i(z_new)
    );

    assign g0 = rb_g0[e*AccBits +: AccBits];
    assign g1 = rb_g1[e*AccBits +: AccBits];

    fligru_unit #(
      .InputBits(InputBits), .InputFrac(InputFrac), .WeightBits(WeightBits),
      .WeightFrac(WeightFrac), .AccBits(AccBits), .AccFrac(AccFrac), .MultBits(MultBits),
      .Pow2(Pow2), .GateBits(GateBits), .GateFrac(GateFrac), .ActBits(ActBits),
      .ActFrac(ActFrac), .StateBits(StateBits), .StateFrac(StateFrac), .Rounding(Rounding),
      .ResetAfter(ResetAfter), .SigmoidHard(SigmoidHard), .SigmoidSizeLog2(SigmoidSizeLog2),
      .SigmoidRangeLog2(SigmoidRangeLog2), .TanhHard(TanhHard), .TanhSizeLog2(TanhSizeLog2),
      .TanhRangeLog2(TanhRangeLog2), .InitDir(MemInitDir)
    ) u_unit (
      .clk_i, .en_i(pp_en),
      .sig_we_i(sig_we), .tanh_we_i(tanh_we), .tab_addr_i(c_addr), .tab_data_i(c_data[ActBits-1:0]),
      .a_r_i(GateOrderZrn ? g1 : g0), .a_z_i(GateOrderZrn ? g0 : g1),
      .a_n_i(rb_g2[e*AccBits +: AccBits]),
      .p0_deca_i(p0_deca), .p0_decb_i(p0_decb),
      .mh_i(mh), .sh_i(sh), .mx_i(mx), .sx_i(sx), .wih_i(wih), .bx_i(bx), .bh_i(bh),
      .ha_i(ha), .hb_i(hb), .zb_i(zb), .xa_i(xa), .xb_i(xb),
      .h_o(h_new), .rh_o(rh_new), .z_o(z_new)
    );

    fligru_dense #(
      .Outputs(Outputs), .WeightBits(WeightBits), .StateBits(StateBits), .AccBits(AccBits),
      .ProdShift(DH), .MultBits(MultBits), .Pow2(Pow2), .OutputBits(OutputBits),
      .Rounding(Rounding)
    ) u_dense (
      .clk_i, .en_i(pp_en),
      .valid_i(ret_dense), .first_i(ret_first), .last_i(ret_j == 7'(Hidden - 1)),
      .h_i(h_new), .w_i(dw), .m_i(dm), .s_i(ds), .b_i(db), .y_o(y)
    );

    assign push_data[e*OUTW +: OUTW] = {push_pid[e*32 +: 32], 16'(push_t), y};

    assign dbg_valid_o[e]                    = ret_valid && ret_actb && ret_vmaskb[e];
    assign dbg_h_o[e*StateBits +: StateBits] = h_new;
  end

  assign dbg_unit_o  = ret_j;
  assign dbg_dec_o   = ret_decb;
  assign dbg_step_o  = 16'(ret_tb);
  assign dbg_pixel_o = pid;
  assign dbg_beat_o  = i_fire;

  // ---- output ----------------------------------------------------------------------------------
  logic [OUTW-1:0] out_beat;
  fligru_outq #(.Engines(Engines), .Width(OUTW), .Depth(SchedOutqDepth)) u_outq (
    .clk_i, .rst_ni,
    .push_i(push), .push_mask_i(push_mask), .push_data_i(push_data), .full_o(out_full),
    .empty_o(outq_empty),
    .out_valid_o, .out_ready_i, .out_data_o(out_beat)
  );
  assign out_pixel_o = out_beat[OUTW-1 -: 32];
  assign out_step_o  = out_beat[Outputs*OutputBits +: 16];
  assign out_data_o  = out_beat[Outputs*OutputBits-1:0];

  assign busy_o     = ctrl_busy || pp_busy || !outq_empty;
  assign info_ctx_o = 8'(CTX);

endmodule

`default_nettype wire
