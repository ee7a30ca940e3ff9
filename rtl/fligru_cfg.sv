// fligru_cfg: decodes the configuration write port into memory writes.
//
// A memory (cfg_sel_i, fligru_memmap.svh) is written word by word in the C
// order of its hex file; cfg_first_i marks the word at index 0. Every memory
// but the recurrent weights takes the natural index. The recurrent weights
// w_hh [3H][H] are scattered over the Lanes weight banks of fligru_array:
// task m = k*3H + j (column-major, see docs/rtl.md) goes to lane m mod Lanes,
// address m div Lanes. Walking the file in row-major order, the (lane,
// address) pair is updated incrementally (add 3H per column, 1 per row), so no
// divider is needed. One word per cycle; cfg_ready_o is always 1.
`default_nettype none

module fligru_cfg #(
  parameter int Hidden = 32,   // H
  parameter int Lanes  = 8     // P, 1..3H
) (
  input  wire logic        clk_i,
  input  wire logic        rst_ni,

  // configuration stream (valid/ready)
  input  wire logic        cfg_valid_i,
  output logic             cfg_ready_o,
  input  wire logic [4:0]  cfg_sel_i,
  input  wire logic        cfg_first_i,
  input  wire logic [31:0] cfg_data_i,

  // decoded write (valid in the cycle of the accepted beat)
  output logic             we_o,
  output logic [4:0]       sel_o,
  output logic [15:0]      addr_o,     // natural index in the file
  output logic [31:0]      data_o,
  output logic [7:0]       lane_o,     // w_hh: bank (lane) index
  output logic [15:0]      baddr_o     // w_hh: address within the bank's half
);

  localparam int ROWS = 3 * Hidden;
  localparam int STEP_LANE = ROWS % Lanes;   // 3H mod P
  localparam int STEP_ADDR = ROWS / Lanes;   // 3H div P

  logic [15:0] addr_q, k_q, baddr_q, raddr_q;
  logic [7:0]  lane_q, rlane_q;
  logic [15:0] addr_c, k_c, baddr_c, raddr_c;
  logic [7:0]  lane_c, rlane_c;

  assign cfg_ready_o = 1'b1;

  // The pointer of the current word: restarted by cfg_first_i.
  always_comb begin
    if (cfg_first_i) begin
      addr_c = '0; k_c = '0; baddr_c = '0; raddr_c = '0; lane_c = '0; rlane_c = '0;
    end else begin
      addr_c = addr_q; k_c = k_q; baddr_c = baddr_q; raddr_c = raddr_q;
      lane_c = lane_q; rlane_c = rlane_q;
    end
  end

  assign we_o    = cfg_valid_i;
  assign sel_o   = cfg_sel_i;
  assign data_o  = cfg_data_i;
  assign addr_o  = addr_c;
  assign lane_o  = lane_c;
  assign baddr_o = baddr_c;

  // Advance to the next word: next column (m += 3H) or next row (row start + 1).
  logic [8:0] lane_sum;
  logic [7:0] rlane_n;
  logic [15:0] raddr_n;
  always_comb begin
    lane_sum = 9'(lane_c) + 9'(STEP_LANE);
    rlane_n  = rlane_c + 8'd1;
    raddr_n  = raddr_c;
    if (rlane_n == 8'(Lanes)) begin
      rlane_n = '0;
      raddr_n = raddr_c + 16'd1;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      addr_q <= '0; k_q <= '0; baddr_q <= '0; raddr_q <= '0; lane_q <= '0; rlane_q <= '0;
    end else if (cfg_valid_i) begin
      addr_q <= addr_c + 16'd1;
      if (k_c == 16'(Hidden - 1)) begin
        k_q     <= '0;
        rlane_q <= rlane_n;
        raddr_q <= raddr_n;
        lane_q  <= rlane_n;
        baddr_q <= raddr_n;
      end else begin
        k_q <= k_c + 16'd1;
        if (lane_sum >= 9'(Lanes)) begin
          lane_q  <= 8'(lane_sum - 9'(Lanes));
          baddr_q <= baddr_c + 16'(STEP_ADDR) + 16'd1;
        end else begin
          lane_q  <= 8'(lane_sum);
          baddr_q <= baddr_c + 16'(STEP_ADDR);
        end
        rlane_q <= rlane_c;
        raddr_q <= raddr_c;
      end
    end
  end

endmodule

`default_nettype wire
