// fligru_bias_align: B = sat_Wt(shr(b, F_b - F_t)), docs/fixed-point.md §4.4:
// a bias in Q(BiasBits, BiasFrac) moved to the target format Q(TargetBits,
// TargetFrac); a left shift (F_b < F_t) is exact and then saturates, a right
// shift rounds by the datapath's mode. A function of constants: the hardware
// could store biases pre-aligned; here it is a few LUTs after the read.
`default_nettype none

module fligru_bias_align #(
  parameter int BiasBits   = 16,  // W_b
  parameter int BiasFrac   = 12,  // F_b
  parameter int TargetBits = 18,  // W_t
  parameter int TargetFrac = 12,  // F_t
  parameter int Rounding   = 2    // 0 truncate, 1 half_up, 2 half_even
) (
  input  wire logic [BiasBits-1:0]          b_i,
  output logic signed [TargetBits-1:0]      b_o
);

  localparam int Sh = BiasFrac - TargetFrac;
  localparam int XW = BiasBits + ((Sh < 0) ? -Sh : 0) + 1;

  logic signed [BiasBits-1:0] b;
  logic signed [XW-1:0]       x;
  assign b = $signed(b_i);
  fligru_shr #(.InWidth(BiasBits), .OutWidth(XW), .Shift(Sh), .Rounding(Rounding)) u_shr (
    .in_i(b), .out_o(x)
  );
  fligru_sat #(.InWidth(XW), .OutWidth(TargetBits)) u_sat (.in_i(x), .out_o(b_o));

endmodule

`default_nettype wire
