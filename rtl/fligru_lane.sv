// fligru_lane: one MAC lane's multiply. term = wrap_Wacc(shr(w * v, D)),
// docs/fixed-point.md §2.2: the exact product of a weight and a state-format
// operand, shifted by the product shift D (rounded right, or exact left) and
// reduced to the accumulator word. Because the accumulator wraps, these terms
// may be summed in any order (the ring in fligru_engine does the sum).
//
// Pipeline: stage M registers the product (one DSP48), stage S the shifted,
// wrapped term. en_i freezes both.
`default_nettype none

module fligru_lane #(
  parameter int WeightBits = 8,   // weight word b
  parameter int OpBits     = 24,  // operand word (state format W_h)
  parameter int AccBits    = 32,  // accumulator word W_acc
  parameter int ProdShift  = 0,   // D_h = F_w + F_h - F_acc (signed)
  parameter int Rounding   = 2    // 0 truncate, 1 half_up, 2 half_even
) (
  input  wire logic                          clk_i,
  input  wire logic                          en_i,
  input  wire logic signed [WeightBits-1:0]  w_i,
  input  wire logic signed [OpBits-1:0]      v_i,
  output logic signed [AccBits-1:0]          term_o
);

  localparam int PW = WeightBits + OpBits;

  logic signed [PW-1:0]      prod_q;
  logic signed [AccBits-1:0] term_d;

  always_ff @(posedge clk_i) if (en_i) prod_q <= w_i * v_i;

  fligru_shr #(.InWidth(PW), .OutWidth(AccBits), .Shift(ProdShift), .Rounding(Rounding)) u_shr (
    .in_i(prod_q), .out_o(term_d)
  );

  always_ff @(posedge clk_i) if (en_i) term_o <= term_d;

endmodule

`default_nettype wire
