// fligru_shr_sat_var: sat_W(shr(v, s)) for a run-time shift s (docs §4.3): the
// shift part of the rescale R = sat_Wt(shr(A*M, S)), with S per weight row.
//
// s >= 0 drops s bits rounded by Rounding; s < 0 is an exact left shift (only
// power-of-two scales produce it, |s| <= 31) that then saturates: v << |s|
// fits the output exactly when v lies between MinOut >>> |s| and
// MaxOut >>> |s|, so no wider intermediate is needed. The spec bounds s to
// [-31, 62]. Purely combinational: a barrel shifter, the rounding increment
// and the clamp.
`default_nettype none

module fligru_shr_sat_var #(
  parameter int InWidth  = 48,  // width of the signed input v (at most 64)
  parameter int OutWidth = 18,  // width of the saturated signed result
  parameter int Rounding = 2    // 0 truncate (floor), 1 half_up, 2 half_even
) (
  input  wire logic signed [InWidth-1:0]  in_i,
  input  wire logic signed [7:0]          shift_i,   // S, -31..62
  output logic signed [OutWidth-1:0]      out_o
);

  // Left shifts are compared in the wider of the two words.
  localparam int LW = (InWidth > OutWidth) ? InWidth : OutWidth;
  localparam logic signed [LW-1:0] MaxO = LW'({1'b0, {(OutWidth-1){1'b1}}});
  localparam logic signed [LW-1:0] MinO = -MaxO - LW'(1);

  logic [6:0]                 sr;        // right-shift amount 0..64
  logic [4:0]                 sl;        // left-shift amount 0..31
  logic signed [InWidth-1:0]  fl, res;
  logic                       rnd, odd, sticky, inc;
  logic [InWidth-1:0]         below;     // bits strictly below the rounding bit
  logic signed [LW-1:0]       vl, lo, hi;
  logic signed [OutWidth-1:0]   right_sat, left_res;

  always_comb begin
    sr = 7'd0;
    sl = 5'd0;
    if (shift_i[7]) sl = 5'(-shift_i);
    else            sr = 7'(shift_i);
  end

  // Right: floor, then the rounding increment (cannot overflow for sr >= 1).
  assign fl     = in_i >>> sr;
  logic signed [InWidth-1:0] unused_sh1;   // v >>> (s - 1): only bit 0, the rounding bit, is read
  assign unused_sh1 = in_i >>> (sr - 7'd1);
  assign rnd    = (sr != 7'd0) && unused_sh1[0];
  assign odd    = fl[0];
  assign below  = (sr > 7'd1) ? ~('1 << (sr - 7'd1)) : '0;
  assign sticky = |(in_i & below);
  always_comb begin
    unique case (Rounding)
      1:       inc = rnd;
      2:       inc = rnd & (sticky | odd);
      default: inc = 1'b0;
    endcase
  end
  assign res = fl + InWidth'({1'b0, inc});
  fligru_sat #(.InWidth(InWidth), .OutWidth(OutWidth)) u_sat (.in_i(res), .out_o(right_sat));

  // Left: saturate by comparing before the shift.
  assign vl = LW'(in_i);
  assign hi = MaxO >>> sl;
  assign lo = MinO >>> sl;
  assign left_res = (vl > hi) ? OutWidth'(MaxO) : (vl < lo) ? OutWidth'(MinO) : OutWidth'(vl <<< sl);

  assign out_o = shift_i[7] ? left_res : right_sat;

endmodule

`default_nettype wire
