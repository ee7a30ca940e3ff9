// fligru_sat: sat_W(v) of docs/fixed-point.md §1: clamp a signed InWidth-bit
// value to [-2^(OutWidth-1), 2^(OutWidth-1) - 1] (asymmetric, as AP_SAT).
// A wider output sign-extends. Purely combinational.
`default_nettype none

module fligru_sat #(
  parameter int InWidth  = 32,  // width of the signed input
  parameter int OutWidth = 16   // width of the saturated signed result
) (
  input  wire logic signed [InWidth-1:0]  in_i,
  output logic signed [OutWidth-1:0]      out_o
);

  if (OutWidth >= InWidth) begin : g_extend
    assign out_o = OutWidth'(in_i);
  end else begin : g_clamp
    localparam logic signed [OutWidth-1:0] MaxV = {1'b0, {(OutWidth-1){1'b1}}};
    localparam logic signed [OutWidth-1:0] MinV = {1'b1, {(OutWidth-1){1'b0}}};
    // In range iff the dropped high bits all equal the new sign bit.
    logic [InWidth-OutWidth:0] top;
    assign top = in_i[InWidth-1:OutWidth-1];
    always_comb begin
      if (top == '0 || top == '1) out_o = in_i[OutWidth-1:0];
      else if (in_i[InWidth-1])   out_o = MinV;
      else                        out_o = MaxV;
    end
  end

endmodule

`default_nettype wire
