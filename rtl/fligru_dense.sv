// fligru_dense: one engine's dense head, docs/fixed-point.md §4.6:
//   y_c = sat_Wo(sat_Wo(shr(A_c * M_c, S_c)) + align_o(b_c)),
//   A_c = wrap_Wacc(sum_j shr(w_cj * h'_j, D_h)).
// The new decoder states arrive one unit per cycle from fligru_unit (P11), so
// the head needs one multiplier per output channel (not part of the P lanes)
// and overlaps the next phase's MACs: the decoder step costs no extra cycles.
//
//   P11 w_cj * h'_j    P12 accumulate    P13-P15 rescale    P15 + bias, sat -> P16
`default_nettype none

module fligru_dense #(
  parameter int Outputs    = 3,  // C: dense outputs per decoder step
  parameter int WeightBits = 8,  // weight word
  parameter int StateBits  = 24,  // hidden state word
  parameter int AccBits    = 32,  // MAC accumulator word
  parameter int ProdShift  = 0,     // D_h
  parameter int MultBits   = 16,  // rescale multiplier word
  parameter bit Pow2       = 1'b0,  // 1: every rescale multiplier is 1 (shift only)
  parameter int OutputBits = 16,  // dense output word
  parameter int Rounding   = 2  // 0 truncate, 1 half_up, 2 half_even
) (
  input  wire logic                             clk_i,
  input  wire logic                             en_i,
  // P11
  input  wire logic                             valid_i,  // a decoder unit
  input  wire logic                             first_i,  // unit 0
  input  wire logic                             last_i,   // unit H-1
  input  wire logic signed [StateBits-1:0]      h_i,
  input  wire logic [Outputs*WeightBits-1:0]    w_i,
  // constants
  input  wire logic [Outputs*MultBits-1:0]      m_i,
  input  wire logic [Outputs*8-1:0]             s_i,
  input  wire logic [Outputs*OutputBits-1:0]    b_i,
  // P16
  output logic [Outputs*OutputBits-1:0]         y_o
);

  localparam int OW1 = OutputBits + 1;

  logic valid_q, first_q, last_q;
  always_ff @(posedge clk_i) begin
    if (en_i) begin
      valid_q <= valid_i;
      first_q <= first_i;
      last_q  <= last_i;
    end
  end

  for (genvar c = 0; c < Outputs; c++) begin : g_out
    logic signed [WeightBits+StateBits-1:0] prod_q;
    logic signed [AccBits-1:0]              term, acc_d, acc_q, fin_q;
    logic signed [OutputBits-1:0]           res;
    logic signed [OW1-1:0]                  sum;
    logic signed [OutputBits-1:0]           y;
    logic signed [7:0]                      sft;
    assign sft = $signed(s_i[c*8 +: 8]);

    always_ff @(posedge clk_i) if (en_i) prod_q <= $signed(w_i[c*WeightBits +: WeightBits]) * h_i;
    fligru_shr #(.InWidth(WeightBits + StateBits), .OutWidth(AccBits), .Shift(ProdShift),
                 .Rounding(Rounding)) u_shr (.in_i(prod_q), .out_o(term));
    assign acc_d = (first_q ? '0 : acc_q) + term;
    always_ff @(posedge clk_i) begin
      if (en_i && valid_q) begin
        acc_q <= acc_d;
        if (last_q) fin_q <= acc_d;
      end
    end
    fligru_rescale #(.AccBits(AccBits), .MultBits(MultBits), .OutWidth(OutputBits),
                     .Rounding(Rounding), .Pow2(Pow2)) u_rs (
      .clk_i, .en_i, .acc_i(fin_q), .mult_i(m_i[c*MultBits +: MultBits]),
      .shift_i(sft), .res_o(res)
    );
    assign sum = OW1'(res) + OW1'($signed(b_i[c*OutputBits +: OutputBits]));
    fligru_sat #(.InWidth(OW1), .OutWidth(OutputBits)) u_sat (.in_i(sum), .out_o(y));
    always_ff @(posedge clk_i) if (en_i) y_o[c*OutputBits +: OutputBits] <= y;
  end

endmodule

`default_nettype wire
