// fligru_params: the per-row constants of the post-processor, shared by all
// engines (they step in lockstep): rescale multipliers and shifts, biases
// (aligned to the gate format, docs §4.4), the encoder's input weights, and
// the dense head. Written through the configuration port (natural order) or
// $readmemh in simulation.
//
// Unit j of a phase reads rows j, H+j, 2H+j; the r and z rows (part a) come
// from the matrix of part a's layer (encoder or decoder), the n row from part
// b's. Outputs are in semantic order r, z, n (GateOrderZrn maps the storage
// blocks), registered: issued at P0, valid at P1.
`default_nettype none

module fligru_params #(
  parameter int Hidden       = 32,  // H: GRU units (3H gate rows)
  parameter int Outputs      = 3,  // C: dense outputs per decoder step
  parameter int WeightBits   = 8,  // weight word
  parameter int MultBits     = 16,  // rescale multiplier word
  parameter int BiasBits     = 16,  // bias word
  parameter int BiasFrac     = 12,  // bias fraction bits
  parameter int GateBits     = 18,  // gate pre-activation word
  parameter int GateFrac     = 12,  // gate pre-activation fraction bits
  parameter int OutputBits   = 16,  // dense output word
  parameter int OutputFrac   = 14,  // dense output fraction bits
  parameter int Rounding     = 2,  // 0 truncate, 1 half_up, 2 half_even
  parameter bit ResetAfter   = 1'b1,  // 1: reset-after GRU cell; 0: reset-before
  parameter bit GateOrderZrn = 1'b0,  // storage order of the gate blocks: 0 r,z,n; 1 z,r,n
  parameter bit Pow2         = 1'b0,  // 1: every rescale multiplier is 1 (shift only)
  parameter InitDir   = ""  // $readmemh the memories from this `fligru vectors` directory ("": configuration port)
) (
  input  wire logic                            clk_i,
  input  wire logic                            en_i,

  // configuration writes (fligru_cfg)
  input  wire logic                            we_i,
  input  wire logic [4:0]                      sel_i,
  input  wire logic [15:0]                     addr_i,
  input  wire logic [31:0]                     data_i,

  // P0 read
  input  wire logic [6:0]                      j_i,
  input  wire logic                            deca_i,
  input  wire logic                            decb_i,
  // P1: per gate (r, z, n) concatenated, gate r in the low bits
  output logic [3*MultBits-1:0]                mh_o,    // recurrent rescale
  output logic [3*8-1:0]                       sh_o,
  output logic [3*MultBits-1:0]                mx_o,    // input-part rescale (encoder)
  output logic [3*8-1:0]                       sx_o,
  output logic [3*WeightBits-1:0]              wih_o,   // encoder input weights
  output logic [3*GateBits-1:0]                bx_o,    // aligned bias_ih
  output logic [3*GateBits-1:0]                bh_o,    // aligned bias_hh (reset-after; else 0)

  // dense head: weights of unit jd (read at P10, valid at P11), constants
  input  wire logic [6:0]                      jd_i,
  output logic [Outputs*WeightBits-1:0]        dw_o,
  output logic [Outputs*MultBits-1:0]          dm_o,
  output logic [Outputs*8-1:0]                 ds_o,
  output logic [Outputs*OutputBits-1:0]        db_o     // aligned dense bias
);

  `include "fligru_memmap.svh"

  localparam int ROWS = 3 * Hidden;
  localparam int RW   = $clog2(ROWS);
  localparam int DW   = $clog2(Outputs * Hidden);
  localparam int CW   = (Outputs > 1) ? $clog2(Outputs) : 1;

  // ---- memories -------------------------------------------------------------------
  logic [WeightBits-1:0] enc_wih [ROWS];
  logic [MultBits-1:0]   enc_mx  [ROWS];
  logic [7:0]            enc_sx  [ROWS];
  logic [MultBits-1:0]   enc_mh  [ROWS], dec_mh [ROWS];
  logic [7:0]            enc_sh  [ROWS], dec_sh [ROWS];
  logic [BiasBits-1:0]   enc_bx  [ROWS], dec_bx [ROWS];
  logic [BiasBits-1:0]   enc_bh  [ROWS], dec_bh [ROWS];
  logic [WeightBits-1:0] dense_w [Outputs*Hidden];
  logic [MultBits-1:0]   dense_m [Outputs];
  logic [7:0]            dense_s [Outputs];
  logic [BiasBits-1:0]   dense_b [Outputs];

  logic [RW-1:0] wa;
  logic [DW-1:0] wd;
  logic [CW-1:0] wc;
  assign wa = RW'(addr_i);
  assign wd = DW'(addr_i);
  assign wc = CW'(addr_i);
  logic unused_cfg;
  assign unused_cfg = ^{addr_i, data_i, j_i, jd_i};

  always_ff @(posedge clk_i) begin
    if (we_i) begin
      unique case (32'(sel_i))
        SEL_ENC_W_IH:       enc_wih[wa] <= data_i[WeightBits-1:0];
        SEL_ENC_W_IH_MULT:  enc_mx[wa]  <= data_i[MultBits-1:0];
        SEL_ENC_W_IH_SHIFT: enc_sx[wa]  <= data_i[7:0];
        SEL_ENC_W_HH_MULT:  enc_mh[wa]  <= data_i[MultBits-1:0];
        SEL_ENC_W_HH_SHIFT: enc_sh[wa]  <= data_i[7:0];
        SEL_ENC_B_IH:       enc_bx[wa]  <= data_i[BiasBits-1:0];
        SEL_ENC_B_HH:       enc_bh[wa]  <= data_i[BiasBits-1:0];
        SEL_DEC_W_HH_MULT:  dec_mh[wa]  <= data_i[MultBits-1:0];
        SEL_DEC_W_HH_SHIFT: dec_sh[wa]  <= data_i[7:0];
        SEL_DEC_B_IH:       dec_bx[wa]  <= data_i[BiasBits-1:0];
        SEL_DEC_B_HH:       dec_bh[wa]  <= data_i[BiasBits-1:0];
        SEL_DENSE_W:        dense_w[wd] <= data_i[WeightBits-1:0];
        SEL_DENSE_MULT:     dense_m[wc] <= data_i[MultBits-1:0];
        SEL_DENSE_SHIFT:    dense_s[wc] <= data_i[7:0];
        SEL_DENSE_B:        dense_b[wc] <= data_i[BiasBits-1:0];
        default: ;
      endcase
    end
  end

`ifndef SYNTHESIS
  initial begin
    if (InitDir != "") begin
      $readmemh({InitDir, "/enc_l0_w_ih.hex"}, enc_wih);
      $readmemh({InitDir, "/enc_l0_b_ih.hex"}, enc_bx);
      $readmemh({InitDir, "/dec_l0_b_ih.hex"}, dec_bx);
      $readmemh({InitDir, "/dense_w.hex"}, dense_w);
      $readmemh({InitDir, "/dense_b.hex"}, dense_b);
      $readmemh({InitDir, "/enc_l0_w_ih_shift.hex"}, enc_sx);
      $readmemh({InitDir, "/enc_l0_w_hh_shift.hex"}, enc_sh);
      $readmemh({InitDir, "/dec_l0_w_hh_shift.hex"}, dec_sh);
      $readmemh({InitDir, "/dense_w_shift.hex"}, dense_s);
      if (!Pow2) begin
        $readmemh({InitDir, "/enc_l0_w_ih_mult.hex"}, enc_mx);
        $readmemh({InitDir, "/enc_l0_w_hh_mult.hex"}, enc_mh);
        $readmemh({InitDir, "/dec_l0_w_hh_mult.hex"}, dec_mh);
        $readmemh({InitDir, "/dense_w_mult.hex"}, dense_m);
      end
      if (ResetAfter) begin
        $readmemh({InitDir, "/enc_l0_b_hh.hex"}, enc_bh);
        $readmemh({InitDir, "/dec_l0_b_hh.hex"}, dec_bh);
      end
    end
  end
`endif

  // ---- P0 reads ----------------------------------------------------------------------
  localparam int BR = GateOrderZrn ? 1 : 0;   // storage block of r
  localparam int BZ = GateOrderZrn ? 0 : 1;   // storage block of z

  logic [RW-1:0] row [3];
  logic          dec [3];
  assign row[0] = RW'(BR * Hidden) + RW'(j_i);
  assign row[1] = RW'(BZ * Hidden) + RW'(j_i);
  assign row[2] = RW'(2 * Hidden) + RW'(j_i);
  assign dec[0] = deca_i;
  assign dec[1] = deca_i;
  assign dec[2] = decb_i;

  for (genvar g = 0; g < 3; g++) begin : g_gate
    logic [BiasBits-1:0] bx_q, bh_q;
    always_ff @(posedge clk_i) begin
      if (en_i) begin
        mh_o[g*MultBits +: MultBits]     <= dec[g] ? dec_mh[row[g]] : enc_mh[row[g]];
        sh_o[g*8 +: 8]                   <= dec[g] ? dec_sh[row[g]] : enc_sh[row[g]];
        mx_o[g*MultBits +: MultBits]     <= enc_mx[row[g]];
        sx_o[g*8 +: 8]                   <= enc_sx[row[g]];
        wih_o[g*WeightBits +: WeightBits] <= enc_wih[row[g]];
        bx_q <= dec[g] ? dec_bx[row[g]] : enc_bx[row[g]];
        bh_q <= dec[g] ? dec_bh[row[g]] : enc_bh[row[g]];
      end
    end
    fligru_bias_align #(.BiasBits(BiasBits), .BiasFrac(BiasFrac), .TargetBits(GateBits),
                        .TargetFrac(GateFrac), .Rounding(Rounding)) u_bx (
      .b_i(bx_q), .b_o(bx_o[g*GateBits +: GateBits])
    );
    if (ResetAfter) begin : g_bh
      fligru_bias_align #(.BiasBits(BiasBits), .BiasFrac(BiasFrac), .TargetBits(GateBits),
                          .TargetFrac(GateFrac), .Rounding(Rounding)) u_bh (
        .b_i(bh_q), .b_o(bh_o[g*GateBits +: GateBits])
      );
    end else begin : g_nobh
      assign bh_o[g*GateBits +: GateBits] = '0;
      logic unused_bh;
      assign unused_bh = ^bh_q;
    end
  end

  for (genvar c = 0; c < Outputs; c++) begin : g_dense
    always_ff @(posedge clk_i) begin
      if (en_i) dw_o[c*WeightBits +: WeightBits] <= dense_w[DW'(c * Hidden) + DW'(jd_i)];
    end
    assign dm_o[c*MultBits +: MultBits] = dense_m[c];
    assign ds_o[c*8 +: 8]               = dense_s[c];
    fligru_bias_align #(.BiasBits(BiasBits), .BiasFrac(BiasFrac), .TargetBits(OutputBits),
                        .TargetFrac(OutputFrac), .Rounding(Rounding)) u_db (
      .b_i(dense_b[c]), .b_o(db_o[c*OutputBits +: OutputBits])
    );
  end

endmodule

`default_nettype wire
