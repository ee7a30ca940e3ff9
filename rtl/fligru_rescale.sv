// fligru_rescale: R = sat_W(shr(A * M, S)), docs/fixed-point.md §4.3.
//
// A: a wrapped accumulator value (AccBits, signed); M: the row's unsigned
// multiplier (MultBits); S: the row's shift (-31..62). A*M is exact in
// AccBits + MultBits + 1 bits. Pow2 = 1 (power-of-two scales: every M is 1)
// drops the multiplier and keeps the shift alone.
//
// Pipeline: stage 1 registers the product (a DSP multiply), stage 2 the
// rounded, saturated shift. Two cycles of latency, one result per cycle;
// en_i freezes both stages.
`default_nettype none

module fligru_rescale #(
  parameter int AccBits  = 32,  // accumulator width W_acc
  parameter int MultBits = 16,  // multiplier width m_b (unsigned)
  parameter int OutWidth = 18,  // target width W_t (gate or output)
  parameter int Rounding = 2,   // 0 truncate, 1 half_up, 2 half_even
  parameter bit Pow2     = 1'b0 // 1: M == 1 for every row; no multiplier
) (
  input  wire logic                       clk_i,
  input  wire logic                       en_i,
  input  wire logic signed [AccBits-1:0]  acc_i,
  input  wire logic [MultBits-1:0]        mult_i,
  input  wire logic signed [7:0]          shift_i,
  output logic signed [OutWidth-1:0]      res_o
);

  localparam int PW = Pow2 ? AccBits : AccBits + MultBits + 1;

  logic signed [PW-1:0]       prod_q;
  logic signed [7:0]          shift_q;
  logic signed [OutWidth-1:0] res_d;

  if (Pow2) begin : g_pow2
    always_ff @(posedge clk_i) if (en_i) prod_q <= acc_i;
    logic unused_mult;
    assign unused_mult = ^mult_i;
  end else begin : g_mult
    always_ff @(posedge clk_i) if (en_i) prod_q <= acc_i * $signed({1'b0, mult_i});
  end

  always_ff @(posedge clk_i) if (en_i) shift_q <= shift_i;

  fligru_shr_sat_var #(.InWidth(PW), .OutWidth(OutWidth), .Rounding(Rounding)) u_shr (
    .in_i(prod_q), .shift_i(shift_q), .out_o(res_d)
  );

  always_ff @(posedge clk_i) if (en_i) res_o <= res_d;

endmodule

`default_nettype wire
