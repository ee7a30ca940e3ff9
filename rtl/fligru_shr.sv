// fligru_shr: shr(v, Shift) of docs/fixed-point.md §1 for a constant shift.
//
// Shift > 0: v / 2^Shift rounded by Rounding (0 truncate = floor, 1 half_up,
// 2 half_even); Shift = 0: v; Shift < 0: the exact left shift v * 2^-Shift.
// The result is resized to OutWidth by sign extension or by dropping high
// bits (wrap): callers size OutWidth to hold it, or want the wrap (MAC terms),
// or saturate afterwards with fligru_sat. Purely combinational.
`default_nettype none

module fligru_shr #(
  parameter int InWidth  = 32,  // width of the signed input
  parameter int OutWidth = 32,  // width of the signed result (sign-extended or wrapped)
  parameter int Shift    = 0,   // signed constant shift: > 0 right (rounded), < 0 left
  parameter int Rounding = 2    // 0 truncate (floor), 1 half_up, 2 half_even
) (
  input  wire logic signed [InWidth-1:0]  in_i,
  output logic signed [OutWidth-1:0]      out_o
);

  if (Shift == 0) begin : g_none
    assign out_o = OutWidth'(in_i);
  end else if (Shift < 0) begin : g_left
    localparam int LW = InWidth - Shift;   // exact: InWidth + |Shift| bits
    logic signed [LW-1:0] wide;
    assign wide  = LW'(in_i) <<< (-Shift);
    assign out_o = OutWidth'(wide);
    logic unused_wide;
    assign unused_wide = ^wide;
  end else begin : g_right
    // Sign-extend so that bits Shift-1 and Shift exist even when Shift >= InWidth.
    localparam int XW = ((InWidth > Shift) ? InWidth : Shift) + 2;
    localparam int FW = XW - Shift;        // floor(v / 2^Shift) fits, plus a carry bit
    logic signed [XW-1:0] vx;
    logic signed [FW-1:0] fl;
    logic                 rnd, odd, sticky, inc;
    assign vx  = XW'(in_i);
    assign fl  = FW'(vx >>> Shift);
    assign rnd = vx[Shift-1];
    assign odd = vx[Shift];
    if (Shift >= 2) begin : g_sticky
      assign sticky = |vx[Shift-2:0];
    end else begin : g_nosticky
      assign sticky = 1'b0;
    end
    always_comb begin
      unique case (Rounding)
        1:       inc = rnd;                        // half_up: (v + h) >> s
        2:       inc = rnd & (sticky | odd);       // half_even: ties to the even result
        default: inc = 1'b0;                       // truncate: floor
      endcase
    end
    logic signed [FW-1:0] res;
    assign res   = fl + FW'({1'b0, inc});
    assign out_o = OutWidth'(res);
    logic unused_res;   // high bits beyond OutWidth (wrapped away by design)
    assign unused_res = ^res;
  end

endmodule

`default_nettype wire
