// fligru_ppctrl: control of the post-processor (shared by all engines).
//
// The row buffer (RB) of fligru_array receives a phase's 3H row sums at its
// last beat; this block hands them to the post-processing pipeline one unit
// per cycle (P0: unit j, rows j, H+j, 2H+j), carries the phase descriptor
// along the stages P1..P16, and reports:
//  - rb_free_o: the RB may take the next phase (its H units are read, or the
//    last one is being read now);
//  - the retire position (ret_ph_o, ret_units_o): units whose new state, r ⊙ h
//    and z are written (stage P11), which fligru_ctrl's scoreboard compares
//    against the words a MAC beat is about to read;
//  - the debug and output tags.
// The whole pipeline (pp_en_o) stops only when an output is due (P16) and an
// engine's output queue is full: back-pressure from out_ready_i.
`default_nettype none

module fligru_ppctrl #(
  parameter int Hidden   = 32,  // H: GRU units (3H gate rows)
  parameter int Engines  = 1,  // E: pixel engines sharing the weight stream
  parameter int Ctx      = 2,  // pixels in flight per engine (fligru_top: Interleave or the context count rule)
  parameter int Steps    = 135,  // T: time gates per pixel
  // derived (do not override)
  localparam int CTXW     = (Ctx > 1) ? $clog2(Ctx) : 1,  // derived: context index width
  localparam int STEPW    = (Steps > 1) ? $clog2(Steps) : 1,  // derived: step index width
  localparam int DESCW    = 24 + 2 * (1 + Engines + CTXW + 1 + STEPW + 1 + 16)  // derived: phase descriptor width (fligru_desc.svh)
) (
  input  wire logic                   clk_i,
  input  wire logic                   rst_ni,

  input  wire logic                   s_load_i,     // the ring's last beat loads the RB
  input  wire logic [DESCW-1:0]       s_desc_i,
  output logic                        rb_free_o,
  output logic                        rb_shift_o,
  input  wire logic                   out_full_i,   // some engine's output queue is full
  output logic                        pp_en_o,

  // P0: reads of the state memories and parameters for unit j
  output logic [6:0]                  p0_j_o,
  output logic [CTXW-1:0]             p0_ctxa_o,
  output logic [CTXW-1:0]             p0_ctxb_o,
  output logic [STEPW-1:0]            p0_ta_o,
  output logic [STEPW-1:0]            p0_tb_o,
  output logic                        p0_para_o,
  output logic                        p0_parb_o,
  output logic                        p0_firsta_o,
  output logic                        p0_firstb_o,
  output logic                        p0_deca_o,
  output logic                        p0_decb_o,
  // P10: dense weight read index
  output logic [6:0]                  p10_j_o,
  // P11: retire (state writes), debug
  output logic                        ret_valid_o,
  output logic [6:0]                  ret_j_o,
  output logic                        ret_acta_o,
  output logic                        ret_actb_o,
  output logic [CTXW-1:0]             ret_ctxa_o,
  output logic [CTXW-1:0]             ret_ctxb_o,
  output logic [Engines-1:0]          ret_vmaskb_o,
  output logic                        ret_decb_o,
  output logic [STEPW-1:0]            ret_tb_o,
  output logic                        ret_parb_o,
  output logic                        ret_dense_o,  // a decoder unit enters the dense head
  output logic                        ret_first_o,  // ... unit 0
  // scoreboard
  output logic [23:0]                 ret_ph_o,
  output logic [6:0]                  ret_units_o,
  output logic [15:0]                 ret_batch_o,
  // P16: one output per engine in vmask (pixel tags come from fligru_ctrl at P11)
  output logic                        push_o,
  output logic [Engines-1:0]          push_mask_o,
  output logic [STEPW-1:0]            push_t_o,
  input  wire logic [Engines*32-1:0]  pid_i,        // pixel numbers of ret_ctxb/ret_parb
  output logic [Engines*32-1:0]       push_pid_o,
  output logic                        busy_o
);

  `include "fligru_desc.svh"

  `include "fligru_sched.svh"
  localparam int RET  = SchedRetStage;    // stage of the state writes
  localparam int PUSH = SchedPushStage;   // stage of the output push

  typedef struct packed {
    logic       valid;
    logic [6:0] j;
    desc_t      d;
  } stage_t;
  localparam int STAGEW = 1 + 7 + DESCW;

  logic [6:0] rb_cnt_q;
  desc_t      rb_desc_q;
  stage_t     p0;
  logic [STAGEW-1:0] pipe_q [1:RET];   // stage_t, kept as vectors (yosys: no arrays of structs)
  logic       pp_en;

  // Output tags: captured when the last unit of a decoder phase retires.
  logic [PUSH:RET+1]            tag_v_q;
  logic [Engines-1:0]           tag_m_q [RET+1:PUSH];
  logic [STEPW-1:0]             tag_t_q [RET+1:PUSH];
  logic [Engines*32-1:0]        tag_p_q [RET+1:PUSH];

  assign p0.valid = rb_cnt_q != '0;
  assign p0.j     = 7'(Hidden) - rb_cnt_q;
  assign p0.d     = rb_desc_q;

  assign pp_en      = !(tag_v_q[PUSH] && out_full_i);
  assign pp_en_o    = pp_en;
  assign rb_free_o  = (rb_cnt_q == '0) || (rb_cnt_q == 7'd1 && pp_en);
  assign rb_shift_o = p0.valid && pp_en;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rb_cnt_q  <= '0;
      rb_desc_q <= '0;
    end else begin
      if (s_load_i) begin
        rb_cnt_q  <= 7'(Hidden);
        rb_desc_q <= s_desc_i;
      end else if (p0.valid && pp_en) begin
        rb_cnt_q  <= rb_cnt_q - 7'd1;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int k = 1; k <= RET; k++) pipe_q[k] <= '0;
    end else if (pp_en) begin
      pipe_q[1] <= p0;
      for (int k = 2; k <= RET; k++) pipe_q[k] <= pipe_q[k-1];
    end
  end

  assign p0_j_o      = p0.j;
  assign p0_ctxa_o   = p0.d.a.ctx;
  assign p0_ctxb_o   = p0.d.b.ctx;
  assign p0_ta_o     = p0.d.a.t;
  assign p0_tb_o     = p0.d.b.t;
  assign p0_para_o   = p0.d.a.batch[0];
  assign p0_parb_o   = p0.d.b.batch[0];
  assign p0_firsta_o = p0.d.a.first;
  assign p0_firstb_o = p0.d.b.first;
  assign p0_deca_o   = p0.d.a.dec;
  assign p0_decb_o   = p0.d.b.dec;
  stage_t unused_p10;   // only its unit index is read
  assign unused_p10  = pipe_q[10];
  assign p10_j_o     = unused_p10.j;

  stage_t r;
  assign r = pipe_q[RET];
  assign ret_valid_o  = r.valid && pp_en;
  assign ret_j_o      = r.j;
  assign ret_acta_o   = r.d.a.act;
  assign ret_actb_o   = r.d.b.act;
  assign ret_ctxa_o   = r.d.a.ctx;
  assign ret_ctxb_o   = r.d.b.ctx;
  assign ret_vmaskb_o = r.d.b.vmask;
  assign ret_decb_o   = r.d.b.dec;
  assign ret_tb_o     = r.d.b.t;
  assign ret_parb_o   = r.d.b.batch[0];
  assign ret_dense_o  = r.valid && r.d.b.act && r.d.b.dec;
  assign ret_first_o  = r.j == '0;

  // Retire position: phase ret_ph_q has ret_units_q units written.
  logic [23:0] ret_ph_q;
  logic [6:0]  ret_units_q;
  logic [15:0] ret_batch_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ret_ph_q <= '0; ret_units_q <= '0; ret_batch_q <= '0;
    end else if (r.valid && pp_en) begin
      if (r.j == 7'(Hidden - 1)) begin
        ret_ph_q    <= r.d.ph + 24'd1;
        ret_units_q <= '0;
      end else begin
        ret_ph_q    <= r.d.ph;
        ret_units_q <= r.j + 7'd1;
      end
      if (r.d.b.act) ret_batch_q <= r.d.b.batch;
    end
  end
  assign ret_ph_o    = ret_ph_q;
  assign ret_units_o = ret_units_q;
  assign ret_batch_o = ret_batch_q;

  // Output tag pipeline P12..P16, aligned with fligru_dense.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tag_v_q <= '0;
      for (int k = RET + 1; k <= PUSH; k++) begin
        tag_m_q[k] <= '0; tag_t_q[k] <= '0; tag_p_q[k] <= '0;
      end
    end else if (pp_en) begin
      tag_v_q[RET+1] <= ret_dense_o && r.j == 7'(Hidden - 1);
      tag_m_q[RET+1] <= r.d.b.vmask;
      tag_t_q[RET+1] <= r.d.b.t;
      tag_p_q[RET+1] <= pid_i;
      for (int k = RET + 2; k <= PUSH; k++) begin
        tag_v_q[k] <= tag_v_q[k-1];
        tag_m_q[k] <= tag_m_q[k-1];
        tag_t_q[k] <= tag_t_q[k-1];
        tag_p_q[k] <= tag_p_q[k-1];
      end
    end
  end

  assign push_o      = tag_v_q[PUSH] && pp_en;
  assign push_mask_o = tag_m_q[PUSH];
  assign push_t_o    = tag_t_q[PUSH];
  assign push_pid_o  = tag_p_q[PUSH];

  always_comb begin
    busy_o = p0.valid || (|tag_v_q);
    for (int k = 1; k <= RET; k++) busy_o = busy_o | pipe_q[k][STAGEW-1];
  end

endmodule

`default_nettype wire
