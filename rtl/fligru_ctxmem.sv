// fligru_ctxmem: one engine's per-context memories.
//  - h  [Ctx][H]: the carried hidden state of each context's pixel;
//  - rh [Ctx][H], z [Ctx][H] (reset-before): r ⊙ h and z between part a and
//    part b of a step;
//  - x  [2][Ctx][T]: input samples by batch parity, written by the loader.
// It also keeps the MAC operand windows: the two words v[k0], v[k0+1] of h
// (part a's context) and of r ⊙ h (part b's) that the lanes of fligru_array
// select from. A window advances by one word when the beat's column k0 does,
// so each vector needs one read per beat (two at the phase start).
`default_nettype none

module fligru_ctxmem #(
  parameter int Hidden     = 32,  // H: GRU units (3H gate rows)
  parameter int Steps      = 135,  // T: time gates per pixel
  parameter int Ctx        = 2,  // pixels in flight per engine (fligru_top: Interleave or the context count rule)
  parameter int StateBits  = 24,  // hidden state word
  parameter int ActBits    = 16,  // activation output word
  parameter int InputBits  = 16,  // input sample word
  parameter bit ResetAfter = 1'b1,  // 1: reset-after GRU cell; 0: reset-before
  // derived (do not override)
  localparam int CTXW       = (Ctx > 1) ? $clog2(Ctx) : 1,  // derived: context index width
  localparam int STEPW      = (Steps > 1) ? $clog2(Steps) : 1  // derived: step index width
) (
  input  wire logic                         clk_i,
  input  wire logic                         mac_en_i,
  input  wire logic                         pp_en_i,

  // input sample writes (loader; this engine's)
  input  wire logic                         xw_we_i,
  input  wire logic                         xw_par_i,
  input  wire logic [CTXW-1:0]              xw_ctx_i,
  input  wire logic [STEPW-1:0]             xw_t_i,
  input  wire logic [InputBits-1:0]         xw_data_i,

  // stage I: windows
  input  wire logic                         i_fire_i,
  input  wire logic                         i_c0_i,
  input  wire logic                         i_adv_i,
  input  wire logic [6:0]                   i_kidx_i,
  input  wire logic [CTXW-1:0]              i_ctxa_i,
  input  wire logic [CTXW-1:0]              i_ctxb_i,
  input  wire logic                         i_zeroa_i,
  output logic [StateBits-1:0]              r_h0_o,
  output logic [StateBits-1:0]              r_h1_o,
  output logic [StateBits-1:0]              r_rh0_o,
  output logic [StateBits-1:0]              r_rh1_o,

  // P0 reads, valid at P1
  input  wire logic [6:0]                   p0_j_i,
  input  wire logic [CTXW-1:0]              p0_ctxa_i,
  input  wire logic [CTXW-1:0]              p0_ctxb_i,
  input  wire logic [STEPW-1:0]             p0_ta_i,
  input  wire logic [STEPW-1:0]             p0_tb_i,
  input  wire logic                         p0_para_i,
  input  wire logic                         p0_parb_i,
  input  wire logic                         p0_firsta_i,
  input  wire logic                         p0_firstb_i,
  output logic [StateBits-1:0]              p1_ha_o,   // h of part a's context (0 at step 0)
  output logic [StateBits-1:0]              p1_hb_o,   // h of part b's context (0 at step 0)
  output logic [ActBits-1:0]                p1_zb_o,   // z of part b's context (reset-before)
  output logic [InputBits-1:0]              p1_xa_o,
  output logic [InputBits-1:0]              p1_xb_o,

  // P11 writes
  input  wire logic                         ret_valid_i,
  input  wire logic [6:0]                   ret_j_i,
  input  wire logic                         ret_acta_i,
  input  wire logic                         ret_actb_i,
  input  wire logic [CTXW-1:0]              ret_ctxa_i,
  input  wire logic [CTXW-1:0]              ret_ctxb_i,
  input  wire logic [StateBits-1:0]         ret_h_i,
  input  wire logic [StateBits-1:0]         ret_rh_i,
  input  wire logic [ActBits-1:0]           ret_z_i
);

  localparam int N  = Ctx * Hidden;
  localparam int AW = $clog2(N);
  localparam int XN = 2 * Ctx * Steps;
  localparam int XW = $clog2(XN);

  logic [StateBits-1:0] h_mem  [N];
  logic [StateBits-1:0] rh_mem [N];
  logic [ActBits-1:0]   z_mem  [N];
  logic [InputBits-1:0] x_mem  [XN];

  function automatic logic [AW-1:0] a_of(input logic [CTXW-1:0] c, input logic [6:0] k);
    a_of = AW'(32'(c) * Hidden + 32'(k));
  endfunction
  function automatic logic [XW-1:0] x_of(input logic p, input logic [CTXW-1:0] c,
                                        input logic [STEPW-1:0] t);
    x_of = XW'((32'(p) * Ctx + 32'(c)) * Steps + 32'(t));
  endfunction

  // ---- writes ---------------------------------------------------------------------
  always_ff @(posedge clk_i) begin
    if (xw_we_i) x_mem[x_of(xw_par_i, xw_ctx_i, xw_t_i)] <= xw_data_i;
    if (ret_valid_i && ret_actb_i) h_mem[a_of(ret_ctxb_i, ret_j_i)] <= ret_h_i;
    if (!ResetAfter && ret_valid_i && ret_acta_i) begin
      rh_mem[a_of(ret_ctxa_i, ret_j_i)] <= ret_rh_i;
      z_mem[a_of(ret_ctxa_i, ret_j_i)]  <= ret_z_i;
    end
  end

  // ---- operand windows ------------------------------------------------------------
  logic [StateBits-1:0] h0_q, h1_q, rh0_q, rh1_q;
  logic [StateBits-1:0] hk, rk, hv0, hv1, rv0, rv1;
  logic                 kin;
  assign kin = i_kidx_i < 7'(Hidden);
  assign hk  = (i_zeroa_i || !kin) ? '0 : h_mem[a_of(i_ctxa_i, i_kidx_i)];
  assign rk  = kin ? rh_mem[a_of(i_ctxb_i, i_kidx_i)] : '0;
  assign hv0 = i_zeroa_i ? '0 : h_mem[a_of(i_ctxa_i, 7'd0)];
  assign hv1 = i_zeroa_i ? '0 : h_mem[a_of(i_ctxa_i, 7'd1)];
  assign rv0 = rh_mem[a_of(i_ctxb_i, 7'd0)];
  assign rv1 = rh_mem[a_of(i_ctxb_i, 7'd1)];

  always_ff @(posedge clk_i) begin
    if (mac_en_i && i_fire_i) begin
      if (i_c0_i) begin
        h0_q <= hv0; h1_q <= hv1;
        rh0_q <= rv0; rh1_q <= rv1;
      end else if (i_adv_i) begin
        h0_q <= h1_q; h1_q <= hk;
        rh0_q <= rh1_q; rh1_q <= rk;
      end
    end
  end
  assign r_h0_o  = h0_q;
  assign r_h1_o  = h1_q;
  assign r_rh0_o = rh0_q;
  assign r_rh1_o = rh1_q;

  // ---- post-processor reads -----------------------------------------------------------
  always_ff @(posedge clk_i) begin
    if (pp_en_i) begin
      p1_ha_o <= p0_firsta_i ? '0 : h_mem[a_of(p0_ctxa_i, p0_j_i)];
      p1_hb_o <= p0_firstb_i ? '0 : h_mem[a_of(p0_ctxb_i, p0_j_i)];
      p1_zb_o <= z_mem[a_of(p0_ctxb_i, p0_j_i)];
      p1_xa_o <= x_mem[x_of(p0_para_i, p0_ctxa_i, p0_ta_i)];
      p1_xb_o <= x_mem[x_of(p0_parb_i, p0_ctxb_i, p0_tb_i)];
    end
  end

endmodule

`default_nettype wire
