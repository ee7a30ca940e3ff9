// fligru_outq: the output stream. Each engine pushes one beat per decoder
// step of each of its pixels (C outputs, the pixel number and the step) into
// its own small queue; the queues drain onto out_* one beat per cycle, lowest
// engine first. A full queue stops the post-processor (full_o), which in turn
// stops the MAC array: out_ready_i back-pressure reaches the input.
`default_nettype none

module fligru_outq #(
  parameter int Engines = 1,  // E: pixel engines sharing the weight stream
  parameter int Width   = 64,   // one beat: {pixel, step, outputs}
  parameter int Depth   = 4     // queue entries per engine (power of two)
) (
  input  wire logic                     clk_i,
  input  wire logic                     rst_ni,
  input  wire logic                     push_i,
  input  wire logic [Engines-1:0]       push_mask_i,
  input  wire logic [Engines*Width-1:0] push_data_i,
  output logic                          full_o,
  output logic                          empty_o,

  output logic                          out_valid_o,
  input  wire logic                     out_ready_i,
  output logic [Width-1:0]              out_data_o
);

  localparam int AW = $clog2(Depth);

  logic [Engines-1:0] nonempty, full, pop;
  logic [Width-1:0]   head [Engines];

  for (genvar e = 0; e < Engines; e++) begin : g_q
    logic [Width-1:0] mem [Depth];
    logic [AW:0]      wp_q, rp_q;
    assign nonempty[e] = wp_q != rp_q;
    assign full[e]     = (wp_q ^ rp_q) == {1'b1, {AW{1'b0}}};
    assign head[e]     = mem[rp_q[AW-1:0]];
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        wp_q <= '0;
        rp_q <= '0;
      end else begin
        if (push_i && push_mask_i[e]) wp_q <= wp_q + 1'b1;
        if (pop[e])                   rp_q <= rp_q + 1'b1;
      end
    end
    always_ff @(posedge clk_i) begin
      if (push_i && push_mask_i[e]) mem[wp_q[AW-1:0]] <= push_data_i[e*Width +: Width];
    end
  end

  // Lowest non-empty engine first.
  always_comb begin
    pop        = '0;
    out_data_o = head[0];
    for (int e = Engines - 1; e >= 0; e--) begin
      if (nonempty[e]) begin
        pop        = Engines'(1) << e;
        out_data_o = head[e];
      end
    end
    if (!out_ready_i) pop = '0;
  end

  assign out_valid_o = |nonempty;
  assign full_o      = |full;
  assign empty_o     = !(|nonempty);

endmodule

`default_nettype wire
