// fligru_act: one sigmoid or tanh unit of docs/fixed-point.md §2.4.
//
// Table kind: the pre-activation g (Q(GateBits, GateFrac)) selects entry
//   i = clamp(floor_shr(g + 2^(GateFrac + RangeLog2), GateFrac + RangeLog2 + 1 - SizeLog2), 0, N - 1)
// of a 2^SizeLog2-entry table over [-2^RangeLog2, 2^RangeLog2), loaded through
// the write port (or $readmemh in simulation). The index is a constant add, a
// shift that drops bits (floor: it selects, it does not round) and a clamp.
// Hard kind: clip(x/2 + 1/2, 0, 1) (sigmoid) or clip(x, -1, 1) (tanh) with the
// datapath's rounding, 1.0 saturated to the activation word.
//
// One lookup per cycle, one cycle of latency (a registered, BRAM-style read);
// en_i freezes the output register.
`default_nettype none

module fligru_act #(
  parameter int GateBits  = 18,   // pre-activation word W_g
  parameter int GateFrac  = 12,   // its fraction F_g
  parameter int ActBits   = 16,   // activation word W_a
  parameter int ActFrac   = 14,   // its fraction F_a (>= 1)
  parameter bit IsTanh    = 1'b0, // 0 sigmoid, 1 tanh
  parameter bit Hard      = 1'b0, // 0 table, 1 piecewise linear
  parameter int SizeLog2  = 10,   // table of 2^SizeLog2 entries (table kind)
  parameter int RangeLog2 = 3,    // table covers [-2^RangeLog2, 2^RangeLog2) (may be < 0)
  parameter int Rounding  = 2,    // 0 truncate, 1 half_up, 2 half_even (hard kind)
  parameter InitFile = ""  // simulation: $readmemh the table from this file
) (
  input  wire logic                       clk_i,
  input  wire logic                       en_i,
  // table write port (ignored by the hard kind)
  input  wire logic                       we_i,
  input  wire logic [SizeLog2-1:0]        waddr_i,
  input  wire logic [ActBits-1:0]         wdata_i,
  // lookup
  input  wire logic signed [GateBits-1:0] g_i,
  output logic signed [ActBits-1:0]       y_o
);

  // 1.0 in Q(ActBits, ActFrac), saturated to the word.
  localparam longint OneL = (ActFrac <= ActBits - 2) ? (64'sd1 <<< ActFrac)
                                                    : ((64'sd1 <<< (ActBits - 1)) - 64'sd1);

  if (Hard) begin : g_hard
    localparam int Sh = IsTanh ? (GateFrac - ActFrac) : (GateFrac + 1 - ActFrac);
    localparam int LeftGrow = (Sh < 0) ? -Sh : 0;
    localparam int YW = ((GateBits + LeftGrow > ActFrac) ? GateBits + LeftGrow : ActFrac) + 3;
    localparam logic signed [YW-1:0] One  = YW'(OneL);
    localparam logic signed [YW-1:0] Half = YW'(64'sd1 <<< (ActFrac - 1));
    logic signed [YW-1:0] sh, y;
    fligru_shr #(.InWidth(GateBits), .OutWidth(YW), .Shift(Sh), .Rounding(Rounding)) u_shr (
      .in_i(g_i), .out_o(sh)
    );
    always_comb begin
      if (IsTanh) begin
        y = sh;
        if (y > One)       y = One;
        else if (y < -One) y = -One;
      end else begin
        y = sh + Half;
        if (y > One)        y = One;
        else if (y < 0)     y = '0;
      end
    end
    always_ff @(posedge clk_i) if (en_i) y_o <= ActBits'(y);
    logic unused_wr;
    assign unused_wr = we_i ^ (^waddr_i) ^ (^wdata_i);
  end else begin : g_table
    localparam int N   = 1 << SizeLog2;
    localparam int Off = GateFrac + RangeLog2;          // u = g + 2^Off
    localparam int K   = Off + 1 - SizeLog2;            // bits dropped (>= 0, checked at the top)
    localparam int UW  = ((GateBits > Off + 1) ? GateBits : Off + 1) + 2;
    localparam int IW  = UW - K;
    logic [ActBits-1:0]   mem [N];
    logic signed [UW-1:0] u;
    logic signed [IW-1:0] idx;
    logic [SizeLog2-1:0]  addr;
    assign u   = UW'(g_i) + (UW'(1) <<< Off);
    assign idx = IW'(u >>> K);
    always_comb begin
      if (idx < 0)                   addr = '0;
      else if (idx > IW'(N - 1))     addr = SizeLog2'(N - 1);
      else                           addr = idx[SizeLog2-1:0];
    end
    always_ff @(posedge clk_i) begin
      if (we_i) mem[waddr_i] <= wdata_i;
      if (en_i) y_o <= $signed(mem[addr]);
    end
`ifndef SYNTHESIS
    initial begin
      if (InitFile != "") $readmemh(InitFile, mem);
    end
`endif
  end

endmodule

`default_nettype wire
