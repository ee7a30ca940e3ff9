// fligru_array: the MAC array. Lanes weight banks feed one weight per lane
// per cycle to every engine (the shared weight stream); each engine multiplies
// them by its own operands and sums the terms in an accumulator ring.
//
// Schedule (docs/rtl.md): the 3H x H recurrent MACs of a phase are taken in
// column-major order, task m = k*3H + j (row j, column k); task m runs in lane
// m mod P at beat m div P, so a phase lasts Q = ceil(3H*H/P) beats and no
// lane idles except in the last beat. A beat's P tasks touch at most two
// columns (P <= 3H), so each engine needs two operand words per vector
// (window words w0 = v[k0], w1 = v[k0+1], fed by fligru_ctxmem), and each
// row at most once, so a ring of 3H accumulators that rotates by P per beat
// brings every task's row under its lane: lane p always adds into ring
// position p. At the last beat the ring holds every row's sum (wrapped to
// AccBits), and is copied, by a fixed permutation, into the row buffer (RB),
// three shift registers (gate blocks) that the post-processor reads one unit
// per cycle.
//
// Reset-before: rows [2H, 3H) (the n gate) take operand r ⊙ h of another
// context (window r0/r1) and may come from the other matrix (encoder or
// decoder), so each lane picks its own bank half per beat.
//
// Pipeline (all frozen by en_i): I (address, from fligru_ctrl) -> R (bank
// read, operand select) -> M (product) -> S (shifted term) -> ring.
`default_nettype none

module fligru_array #(
  parameter int Hidden     = 32,   // H
  parameter int Lanes      = 8,    // P, 1..3H
  parameter int Engines    = 1,    // pixel engines sharing the weight stream
  parameter int WeightBits = 8,    // weight word b
  parameter int StateBits  = 24,   // operand word W_h
  parameter int AccBits    = 32,   // accumulator word W_acc
  parameter int ProdShift  = 0,    // D_h
  parameter int Rounding   = 2,    // 0 truncate, 1 half_up, 2 half_even
  parameter bit ResetAfter = 1'b1, // 1 reset-after, 0 reset-before
  parameter InitDir = ""    // simulation: $readmemh w_hh from this vectors directory
) (
  input  wire logic                          clk_i,
  input  wire logic                          en_i,         // MAC pipeline enable

  // weight bank writes (fligru_cfg)
  input  wire logic                          bw_we_i,
  input  wire logic                          bw_dec_i,     // decoder matrix (upper half)
  input  wire logic [7:0]                    bw_lane_i,
  input  wire logic [15:0]                   bw_addr_i,
  input  wire logic [WeightBits-1:0]         bw_data_i,

  // stage I (from fligru_ctrl)
  input  wire logic [15:0]                   i_beat_i,     // beat c within the phase
  input  wire logic [8:0]                    i_rem_i,      // c*P mod 3H
  input  wire logic                          i_last_i,     // c == Q-1
  input  wire logic                          i_deca_i,     // part a from the decoder matrix
  input  wire logic                          i_decb_i,     // part b (n rows, reset-before)
  // stage R
  input  wire logic [8:0]                    r_rem_i,
  input  wire logic [Engines*StateBits-1:0]  r_h0_i,       // v[k0], v[k0+1] of part a, per engine
  input  wire logic [Engines*StateBits-1:0]  r_h1_i,
  input  wire logic [Engines*StateBits-1:0]  r_rh0_i,      // the same for part b (r ⊙ h)
  input  wire logic [Engines*StateBits-1:0]  r_rh1_i,
  // stage S
  input  wire logic                          s_valid_i,
  input  wire logic                          s_first_i,
  input  wire logic                          s_last_i,

  // row buffer: head of each gate block, per engine
  input  wire logic                          rb_shift_i,   // the post-processor took a unit
  output logic [Engines*AccBits-1:0]         rb_g0_o,
  output logic [Engines*AccBits-1:0]         rb_g1_o,
  output logic [Engines*AccBits-1:0]         rb_g2_o
);

  localparam int ROWS  = 3 * Hidden;
  localparam int TASKS = ROWS * Hidden;
  localparam int Q     = (TASKS + Lanes - 1) / Lanes;
  localparam int DEPTH = 2 * Q;                           // encoder half, decoder half
  localparam int AW    = $clog2(DEPTH);
  localparam int NULL_FROM = TASKS - (Q - 1) * Lanes;     // lanes >= this idle in the last beat
  localparam int ROT   = ((Q - 1) * Lanes) % ROWS;        // ring position of row 0 at the last beat

  logic unused_bus;
  assign unused_bus = ^{bw_addr_i, i_beat_i};

  // ---- weight banks and lane multipliers ------------------------------------
  logic signed [AccBits-1:0] term [Engines*Lanes];

  for (genvar p = 0; p < Lanes; p++) begin : g_lane
    logic [WeightBits-1:0]        mem [DEPTH];
    logic [WeightBits-1:0]        w_q;
    logic                         null_q;
    logic                         nxt_r, nblk_r;
    logic [AW-1:0]                addr;
    logic signed [WeightBits-1:0] w_eff;

    // Stage I: this lane's row in the beat decides the bank half (reset-before).
    logic [9:0] is_s, is_row;
    logic       is_dec;
    always_comb begin
      is_s   = 10'(i_rem_i) + 10'(p);
      is_row = (is_s >= 10'(ROWS)) ? is_s - 10'(ROWS) : is_s;
      is_dec = (!ResetAfter && is_row >= 10'(2 * Hidden)) ? i_decb_i : i_deca_i;
      addr   = AW'(i_beat_i) + (is_dec ? AW'(Q) : AW'(0));
    end

    always_ff @(posedge clk_i) begin
      if (bw_we_i && bw_lane_i == 8'(p)) mem[AW'(bw_addr_i) + (bw_dec_i ? AW'(Q) : AW'(0))] <= bw_data_i;
      if (en_i) begin
        w_q    <= mem[addr];
        null_q <= i_last_i && (p >= NULL_FROM);
      end
    end

    // Stage R: column (k0 or k0+1) and operand vector of this lane's task.
    logic [9:0] rs_s, rs_row;
    always_comb begin
      rs_s   = 10'(r_rem_i) + 10'(p);
      nxt_r  = rs_s >= 10'(ROWS);
      rs_row = nxt_r ? rs_s - 10'(ROWS) : rs_s;
      nblk_r = !ResetAfter && rs_row >= 10'(2 * Hidden);
    end
    assign w_eff = null_q ? '0 : $signed(w_q);

    for (genvar e = 0; e < Engines; e++) begin : g_eng
      logic signed [StateBits-1:0] v;
      always_comb begin
        unique case ({nblk_r, nxt_r})
          2'b00:   v = $signed(r_h0_i[e*StateBits +: StateBits]);
          2'b01:   v = $signed(r_h1_i[e*StateBits +: StateBits]);
          2'b10:   v = $signed(r_rh0_i[e*StateBits +: StateBits]);
          default: v = $signed(r_rh1_i[e*StateBits +: StateBits]);
        endcase
      end
      fligru_lane #(
        .WeightBits(WeightBits), .OpBits(StateBits), .AccBits(AccBits),
        .ProdShift(ProdShift), .Rounding(Rounding)
      ) u_lane (
        .clk_i, .en_i, .w_i(w_eff), .v_i(v), .term_o(term[e*Lanes+p])
      );
    end

`ifndef SYNTHESIS
    // Simulation: load both matrices from the vectors directory (natural order).
    logic [WeightBits-1:0] nat [TASKS];
    initial begin
      for (int a = 0; a < DEPTH; a++) mem[a] = '0;
      if (InitDir != "") begin
        $readmemh({InitDir, "/enc_l0_w_hh.hex"}, nat);
        for (int c = 0; c < Q; c++)
          if (c * Lanes + p < TASKS)
            mem[c] = nat[((c * Lanes + p) % ROWS) * Hidden + (c * Lanes + p) / ROWS];
        $readmemh({InitDir, "/dec_l0_w_hh.hex"}, nat);
        for (int c = 0; c < Q; c++)
          if (c * Lanes + p < TASKS)
            mem[Q + c] = nat[((c * Lanes + p) % ROWS) * Hidden + (c * Lanes + p) / ROWS];
      end
    end
`endif
  end

  // ---- accumulator rings and row buffers, one per engine ----------------------
  for (genvar e = 0; e < Engines; e++) begin : g_ring
    logic signed [AccBits-1:0] ring_q [ROWS];
    logic signed [AccBits-1:0] sum    [ROWS];
    logic signed [AccBits-1:0] rb_q   [ROWS];    // block g, unit j at g*H + j

    for (genvar i = 0; i < ROWS; i++) begin : g_pos
      logic signed [AccBits-1:0] base;
      assign base = s_first_i ? '0 : ring_q[i];
      if (i < Lanes) begin : g_add
        assign sum[i] = base + term[e*Lanes+i];
      end else begin : g_keep
        assign sum[i] = base;
      end
      always_ff @(posedge clk_i) begin
        if (en_i && s_valid_i) ring_q[i] <= sum[(i + Lanes) % ROWS];
      end
    end

    // Row buffer: loaded at the last beat (row r sits at ring position
    // (r - ROT) mod 3H), then shifted one unit per post-processor read.
    for (genvar g = 0; g < 3; g++) begin : g_blk
      for (genvar j = 0; j < Hidden; j++) begin : g_unit
        localparam int R = g * Hidden + j;
        logic signed [AccBits-1:0] next;
        if (j + 1 < Hidden) begin : g_mid
          assign next = rb_q[R+1];
        end else begin : g_end
          assign next = rb_q[R];
        end
        always_ff @(posedge clk_i) begin
          if (en_i && s_valid_i && s_last_i) rb_q[R] <= sum[(R - ROT + ROWS) % ROWS];
          else if (rb_shift_i)               rb_q[R] <= next;
        end
      end
    end

    assign rb_g0_o[e*AccBits +: AccBits] = rb_q[0];
    assign rb_g1_o[e*AccBits +: AccBits] = rb_q[Hidden];
    assign rb_g2_o[e*AccBits +: AccBits] = rb_q[2*Hidden];
  end

endmodule

`default_nettype wire
