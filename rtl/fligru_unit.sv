// fligru_unit: one engine's post-processor datapath, docs/fixed-point.md
// §4.3-4.7 for one unit j per cycle.
//
// Inputs at P0/P1: the three row sums A_r, A_z, A_n from the row buffer
// (registered here into P1), the per-row constants (fligru_params, P1), the
// old states and the input samples (fligru_ctxmem, P1). Output at P11: the new
// state h'_j, and for reset-before the r ⊙ h word and z of part a.
//
//   P1-P3   Rh_g = sat_Wg(shr(A_g * Mh_g, Sh_g))                     (3 rescales)
//   P1-P4   Rx_g = sat_Wg(shr(wrap(shr(w_ih_g * x, D_x)) * Mx_g, Sx_g)) (encoder)
//   P4      pre_r, pre_z = sat_Wg(Rx + Bx + Rh + Bh)
//           after:  hn = sat_Wg(Rh_n + Bh_n)    before: pre_n = sat_Wg(Rx_n + Bx_n + Rh_n)
//   P5      r, z = sigmoid (tables or hard; before: n = tanh(pre_n) too)
//   P6-P7   after:  pre_n = sat_Wg(Rx_n + Bx_n + sat_Wg(shr(r * hn, F_a)))
//           before: rh = sat_Wh(shr(r * h, F_a))
//   P8      after:  n = tanh(pre_n)
//   P9-P10  h' = sat_Wh(shr(nA 2^F_a + z (hA - nA), F_1 + F_a - F_h))
// en_i (pp_en) freezes every stage.
`default_nettype none

module fligru_unit #(
  parameter int InputBits   = 16,  // input sample word
  parameter int InputFrac   = 14,  // input sample fraction bits
  parameter int WeightBits  = 8,  // weight word
  parameter int WeightFrac  = 7,  // nominal weight fraction bits F_w
  parameter int AccBits     = 32,  // MAC accumulator word
  parameter int AccFrac     = 21,  // accumulator fraction bits
  parameter int MultBits    = 16,  // rescale multiplier word
  parameter bit Pow2        = 1'b0,  // 1: every rescale multiplier is 1 (shift only)
  parameter int GateBits    = 18,  // gate pre-activation word
  parameter int GateFrac    = 12,  // gate pre-activation fraction bits
  parameter int ActBits     = 16,  // activation output word
  parameter int ActFrac     = 14,  // activation output fraction bits
  parameter int StateBits   = 24,  // hidden state word
  parameter int StateFrac   = 22,  // hidden state fraction bits
  parameter int Rounding    = 2,  // 0 truncate, 1 half_up, 2 half_even
  parameter bit ResetAfter  = 1'b1,  // 1: reset-after GRU cell; 0: reset-before
  parameter bit SigmoidHard = 1'b0,  // 0 table, 1 hard sigmoid
  parameter int SigmoidSizeLog2  = 10,  // sigmoid table entries (log2)
  parameter int SigmoidRangeLog2 = 3,  // sigmoid table input range ±2^n
  parameter bit TanhHard    = 1'b0,  // 0 table, 1 hard tanh
  parameter int TanhSizeLog2  = 10,  // tanh table entries (log2)
  parameter int TanhRangeLog2 = 2,  // tanh table input range ±2^n
  parameter InitDir  = ""  // $readmemh the memories from this `fligru vectors` directory ("": configuration port)
) (
  input  wire logic                           clk_i,
  input  wire logic                           en_i,

  // activation table writes
  input  wire logic                           sig_we_i,
  input  wire logic                           tanh_we_i,
  input  wire logic [15:0]                    tab_addr_i,
  input  wire logic [ActBits-1:0]             tab_data_i,

  // P0: row sums (semantic order r, z, n)
  input  wire logic signed [AccBits-1:0]      a_r_i,
  input  wire logic signed [AccBits-1:0]      a_z_i,
  input  wire logic signed [AccBits-1:0]      a_n_i,
  input  wire logic                           p0_deca_i,
  input  wire logic                           p0_decb_i,
  // P1: constants (gate r in the low bits) and memories
  input  wire logic [3*MultBits-1:0]          mh_i,
  input  wire logic [3*8-1:0]                 sh_i,
  input  wire logic [3*MultBits-1:0]          mx_i,
  input  wire logic [3*8-1:0]                 sx_i,
  input  wire logic [3*WeightBits-1:0]        wih_i,
  input  wire logic [3*GateBits-1:0]          bx_i,
  input  wire logic [3*GateBits-1:0]          bh_i,
  input  wire logic [StateBits-1:0]           ha_i,
  input  wire logic [StateBits-1:0]           hb_i,
  input  wire logic [ActBits-1:0]             zb_i,
  input  wire logic [InputBits-1:0]           xa_i,
  input  wire logic [InputBits-1:0]           xb_i,

  // P11
  output logic signed [StateBits-1:0]         h_o,
  output logic signed [StateBits-1:0]         rh_o,
  output logic signed [ActBits-1:0]           z_o
);

  logic unused_tab;
  assign unused_tab = ^tab_addr_i;

  localparam int DX  = WeightFrac + InputFrac - AccFrac;   // input-product shift D_x
  localparam int F1  = (ActFrac > StateFrac) ? ActFrac : StateFrac;
  localparam int GW2 = GateBits + 2;

  // ---- P1: row sums and layer flags ------------------------------------------------
  logic signed [AccBits-1:0] a_q [3];
  logic                      deca_q [1:4];
  logic                      decb_q [1:4];
  always_ff @(posedge clk_i) begin
    if (en_i) begin
      a_q[0] <= a_r_i; a_q[1] <= a_z_i; a_q[2] <= a_n_i;
      deca_q[1] <= p0_deca_i; decb_q[1] <= p0_decb_i;
      for (int k = 2; k <= 4; k++) begin
        deca_q[k] <= deca_q[k-1];
        decb_q[k] <= decb_q[k-1];
      end
    end
  end

  // ---- P1-P4: recurrent and input-part rescales -----------------------------------------
  logic signed [GateBits-1:0] rh3 [3];    // Rh at P3
  logic signed [GateBits-1:0] rh4 [3];    // Rh at P4
  logic signed [GateBits-1:0] rx4 [3];    // Rx at P4
  logic signed [GateBits-1:0] bx_q [2:4][3];
  logic signed [GateBits-1:0] bh_q [2:4][3];

  for (genvar g = 0; g < 3; g++) begin : g_gate
    logic signed [7:0] shh;
    assign shh = $signed(sh_i[g*8 +: 8]);
    fligru_rescale #(.AccBits(AccBits), .MultBits(MultBits), .OutWidth(GateBits),
                     .Rounding(Rounding), .Pow2(Pow2)) u_rh (
      .clk_i, .en_i, .acc_i(a_q[g]), .mult_i(mh_i[g*MultBits +: MultBits]),
      .shift_i(shh), .res_o(rh3[g])
    );

    // Input part: one scalar product per row (input size 1), then its rescale.
    logic signed [WeightBits+InputBits-1:0] px_q;
    logic signed [AccBits-1:0]              ax;
    logic [MultBits-1:0]                    mx_q;
    logic signed [7:0]                      sx_q;
    logic signed [InputBits-1:0]            x;
    assign x = (g == 2) ? $signed(xb_i) : $signed(xa_i);
    always_ff @(posedge clk_i) begin
      if (en_i) begin
        px_q <= $signed(wih_i[g*WeightBits +: WeightBits]) * x;
        mx_q <= mx_i[g*MultBits +: MultBits];
        sx_q <= $signed(sx_i[g*8 +: 8]);
        rh4[g] <= rh3[g];
      end
    end
    fligru_shr #(.InWidth(WeightBits + InputBits), .OutWidth(AccBits), .Shift(DX),
                 .Rounding(Rounding)) u_dx (.in_i(px_q), .out_o(ax));
    fligru_rescale #(.AccBits(AccBits), .MultBits(MultBits), .OutWidth(GateBits),
                     .Rounding(Rounding), .Pow2(Pow2)) u_rx (
      .clk_i, .en_i, .acc_i(ax), .mult_i(mx_q), .shift_i(sx_q), .res_o(rx4[g])
    );

    always_ff @(posedge clk_i) begin
      if (en_i) begin
        bx_q[2][g] <= $signed(bx_i[g*GateBits +: GateBits]);
        bh_q[2][g] <= $signed(bh_i[g*GateBits +: GateBits]);
        bx_q[3][g] <= bx_q[2][g]; bx_q[4][g] <= bx_q[3][g];
        bh_q[3][g] <= bh_q[2][g]; bh_q[4][g] <= bh_q[3][g];
      end
    end
  end

  // ---- P4: pre-activation sums --------------------------------------------------------
  logic signed [GW2-1:0]      sum_r, sum_z, sum_n, xn_sum;
  logic signed [GateBits-1:0] pre_r, pre_z, pre_n4, hn;
  logic signed [GateBits-1:0] rx_r, rx_z, rx_n;
  assign rx_r  = deca_q[4] ? '0 : rx4[0];
  assign rx_z  = deca_q[4] ? '0 : rx4[1];
  assign rx_n  = decb_q[4] ? '0 : rx4[2];
  assign sum_r = GW2'(rx_r) + GW2'(bx_q[4][0]) + GW2'(rh4[0]) + GW2'(bh_q[4][0]);
  assign sum_z = GW2'(rx_z) + GW2'(bx_q[4][1]) + GW2'(rh4[1]) + GW2'(bh_q[4][1]);
  // reset-after: W_hn h + b_hn; reset-before: the whole n pre-activation.
  assign sum_n = ResetAfter ? GW2'(rh4[2]) + GW2'(bh_q[4][2])
                            : GW2'(rx_n) + GW2'(bx_q[4][2]) + GW2'(rh4[2]);
  assign xn_sum = GW2'(rx_n) + GW2'(bx_q[4][2]);                // Rx_n + Bx_n (reset-after)
  fligru_sat #(.InWidth(GW2), .OutWidth(GateBits)) u_sat_r (.in_i(sum_r), .out_o(pre_r));
  fligru_sat #(.InWidth(GW2), .OutWidth(GateBits)) u_sat_z (.in_i(sum_z), .out_o(pre_z));
  fligru_sat #(.InWidth(GW2), .OutWidth(GateBits)) u_sat_n (.in_i(sum_n), .out_o(hn));

  logic signed [GateBits-1:0] pre_r_q, pre_z_q, hn_q [5:6];
  logic signed [GW2-1:0]      xn_q [5:7];
  always_ff @(posedge clk_i) begin
    if (en_i) begin
      pre_r_q <= pre_r;
      pre_z_q <= pre_z;
      hn_q[5] <= hn;    hn_q[6] <= hn_q[5];
      xn_q[5] <= xn_sum; xn_q[6] <= xn_q[5]; xn_q[7] <= xn_q[6];
    end
  end
  assign pre_n4 = hn_q[5];   // reset-before: pre_n at P5

  // ---- P5: sigmoid (and tanh for reset-before) --------------------------------------------
  logic signed [ActBits-1:0] r6, z6, nb6;
  fligru_act #(.GateBits(GateBits), .GateFrac(GateFrac), .ActBits(ActBits), .ActFrac(ActFrac),
               .IsTanh(1'b0), .Hard(SigmoidHard), .SizeLog2(SigmoidSizeLog2),
               .RangeLog2(SigmoidRangeLog2), .Rounding(Rounding),
               .InitFile((InitDir != "" && !SigmoidHard) ? {InitDir, "/act_sigmoid.hex"} : "")) u_sig_r (
    .clk_i, .en_i, .we_i(sig_we_i), .waddr_i(SigmoidSizeLog2'(tab_addr_i)), .wdata_i(tab_data_i),
    .g_i(pre_r_q), .y_o(r6)
  );
  fligru_act #(.GateBits(GateBits), .GateFrac(GateFrac), .ActBits(ActBits), .ActFrac(ActFrac),
               .IsTanh(1'b0), .Hard(SigmoidHard), .SizeLog2(SigmoidSizeLog2),
               .RangeLog2(SigmoidRangeLog2), .Rounding(Rounding),
               .InitFile((InitDir != "" && !SigmoidHard) ? {InitDir, "/act_sigmoid.hex"} : "")) u_sig_z (
    .clk_i, .en_i, .we_i(sig_we_i), .waddr_i(SigmoidSizeLog2'(tab_addr_i)), .wdata_i(tab_data_i),
    .g_i(pre_z_q), .y_o(z6)
  );

  // ---- P6-P8 -----------------------------------------------------------------------------
  logic signed [StateBits-1:0] ha_q [2:6];
  logic signed [StateBits-1:0] hb_q [2:9];
  logic signed [ActBits-1:0]   zb_q [2:9];
  always_ff @(posedge clk_i) begin
    if (en_i) begin
      ha_q[2] <= $signed(ha_i); hb_q[2] <= $signed(hb_i); zb_q[2] <= $signed(zb_i);
      for (int k = 3; k <= 6; k++) ha_q[k] <= ha_q[k-1];
      for (int k = 3; k <= 9; k++) begin
        hb_q[k] <= hb_q[k-1];
        zb_q[k] <= zb_q[k-1];
      end
    end
  end

  logic signed [ActBits-1:0]   n9, z9;
  logic signed [StateBits-1:0] rh8;

  if (ResetAfter) begin : g_after
    // r ⊙ (W_hn h + b_hn), back to the gate format; then pre_n and tanh.
    logic signed [ActBits+GateBits-1:0] prod_q;
    logic signed [ActBits+GateBits-1:0] rhn_w;
    logic signed [GateBits-1:0]         rhn;
    logic signed [GW2-1:0]              sum_pn;
    logic signed [GateBits-1:0]         pre_n, pre_n_q;
    logic signed [ActBits-1:0]          z_q [7:9];
    always_ff @(posedge clk_i) begin
      if (en_i) begin
        prod_q <= r6 * hn_q[6];
        z_q[7] <= z6; z_q[8] <= z_q[7]; z_q[9] <= z_q[8];
      end
    end
    fligru_shr #(.InWidth(ActBits + GateBits), .OutWidth(ActBits + GateBits), .Shift(ActFrac),
                 .Rounding(Rounding)) u_rhn (.in_i(prod_q), .out_o(rhn_w));
    fligru_sat #(.InWidth(ActBits + GateBits), .OutWidth(GateBits)) u_rhn_sat (.in_i(rhn_w), .out_o(rhn));
    assign sum_pn = xn_q[7] + GW2'(rhn);
    fligru_sat #(.InWidth(GW2), .OutWidth(GateBits)) u_pn_sat (.in_i(sum_pn), .out_o(pre_n));
    always_ff @(posedge clk_i) if (en_i) pre_n_q <= pre_n;
    fligru_act #(.GateBits(GateBits), .GateFrac(GateFrac), .ActBits(ActBits), .ActFrac(ActFrac),
                 .IsTanh(1'b1), .Hard(TanhHard), .SizeLog2(TanhSizeLog2),
                 .RangeLog2(TanhRangeLog2), .Rounding(Rounding),
                 .InitFile((InitDir != "" && !TanhHard) ? {InitDir, "/act_tanh.hex"} : "")) u_tanh (
      .clk_i, .en_i, .we_i(tanh_we_i), .waddr_i(TanhSizeLog2'(tab_addr_i)), .wdata_i(tab_data_i),
      .g_i(pre_n_q), .y_o(n9)
    );
    assign z9  = z_q[9];
    assign rh8 = '0;
    logic unused_after;
    assign unused_after = ^{pre_n4, nb6, ha_q[6], zb_q[9]};
    assign nb6 = '0;
  end else begin : g_before
    // n of part b (its n rows are this phase's), r ⊙ h of part a.
    fligru_act #(.GateBits(GateBits), .GateFrac(GateFrac), .ActBits(ActBits), .ActFrac(ActFrac),
                 .IsTanh(1'b1), .Hard(TanhHard), .SizeLog2(TanhSizeLog2),
                 .RangeLog2(TanhRangeLog2), .Rounding(Rounding),
                 .InitFile((InitDir != "" && !TanhHard) ? {InitDir, "/act_tanh.hex"} : "")) u_tanh (
      .clk_i, .en_i, .we_i(tanh_we_i), .waddr_i(TanhSizeLog2'(tab_addr_i)), .wdata_i(tab_data_i),
      .g_i(pre_n4), .y_o(nb6)
    );
    logic signed [ActBits+StateBits-1:0] prod_q;
    logic signed [ActBits+StateBits-1:0] rh_w;
    logic signed [StateBits-1:0]         rh, rh_q;
    logic signed [ActBits-1:0]           n_q [7:9];
    always_ff @(posedge clk_i) begin
      if (en_i) begin
        prod_q <= r6 * ha_q[6];
        rh_q   <= rh;
        n_q[7] <= nb6; n_q[8] <= n_q[7]; n_q[9] <= n_q[8];
      end
    end
    fligru_shr #(.InWidth(ActBits + StateBits), .OutWidth(ActBits + StateBits), .Shift(ActFrac),
                 .Rounding(Rounding)) u_rh (.in_i(prod_q), .out_o(rh_w));
    fligru_sat #(.InWidth(ActBits + StateBits), .OutWidth(StateBits)) u_rh_sat (.in_i(rh_w), .out_o(rh));
    assign rh8 = rh_q;
    assign n9  = n_q[9];
    assign z9  = zb_q[9];
    logic unused_before;
    assign unused_before = ^{xn_q[7], hn_q[6]};
  end

  // ---- P9-P10: state update -------------------------------------------------------------
  // v = nA 2^F_a + z (hA - nA), exact; h' = sat_Wh(shr(v, F_1 + F_a - F_h)).
  localparam int NAW = ActBits + F1 - ActFrac;          // nA width
  localparam int HAW = StateBits + F1 - StateFrac;      // hA width
  localparam int DW  = ((NAW > HAW) ? NAW : HAW) + 1;   // hA - nA
  localparam int VW  = ActBits + DW + 1;                // spec's U bits
  localparam int US  = F1 + ActFrac - StateFrac;
  logic signed [NAW-1:0] na;
  logic signed [HAW-1:0] ha;
  logic signed [DW-1:0]  diff;
  logic signed [VW-1:0]  v_q, v_w;
  logic signed [StateBits-1:0] hnew;
  assign na   = NAW'(n9) <<< (F1 - ActFrac);
  assign ha   = HAW'(hb_q[9]) <<< (F1 - StateFrac);
  assign diff = DW'(ha) - DW'(na);
  always_ff @(posedge clk_i) if (en_i) v_q <= (VW'(na) <<< ActFrac) + VW'(z9) * VW'(diff);
  fligru_shr #(.InWidth(VW), .OutWidth(VW), .Shift(US), .Rounding(Rounding)) u_upd (
    .in_i(v_q), .out_o(v_w)
  );
  fligru_sat #(.InWidth(VW), .OutWidth(StateBits)) u_upd_sat (.in_i(v_w), .out_o(hnew));

  // ---- P11 outputs ---------------------------------------------------------------------------
  logic signed [StateBits-1:0] rh_q9, rh_q10;
  logic signed [ActBits-1:0]   za_q [7:10];
  always_ff @(posedge clk_i) begin
    if (en_i) begin
      h_o    <= hnew;
      rh_q9  <= rh8; rh_q10 <= rh_q9; rh_o <= rh_q10;
      za_q[7] <= z6;
      for (int k = 8; k <= 10; k++) za_q[k] <= za_q[k-1];
      z_o <= za_q[10];
    end
  end

endmodule

`default_nettype wire
