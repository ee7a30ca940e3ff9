// fligru_ctrl: phase sequencing, the input loader and the MAC pipeline's
// control (stages I, R, M, S).
//
// Work is organised in batches of Ctx x Engines pixels: slot s = ctx*Engines +
// engine holds pixel (batch*slots + s) of the input stream. Every context of
// every engine steps through the same sequence (encoder steps 0..T-1, then
// decoder steps 0..T-1): a round is one phase per context, ctx = 0..Ctx-1, so
// consecutive phases belong to different pixels and one pixel's
// post-processing latency hides under the other contexts' MAC phases.
// Reset-before splits a step into part a (r, z rows, operand h) and part b
// (n rows, operand r ⊙ h) that runs Delay phases later, in the same pass as
// another context's part a (descriptor delay line dl_q).
//
// A beat issues when its operands are final: the words it reads from the
// state (h of part a, r ⊙ h of part b) were written by the post-processor
// (scoreboard on its retire position ret_ph_i/ret_units_i), and, for an encoder
// step, the step's input sample is loaded. The MAC pipeline freezes (mac_en_o
// low) only when a phase's last beat would overwrite a row buffer the
// post-processor has not finished reading.
//
// Input: in_data_i words, T per pixel, pixel after pixel; in_last_i on the last
// word of the last pixel closes the batch (remaining slots stay empty) and,
// for reset-before, lets bubble rounds drain the pending n passes. Each slot's
// T samples go to a per-engine buffer (two halves, by batch parity).
`default_nettype none

module fligru_ctrl #(
  parameter int Hidden     = 32,   // H
  parameter int Lanes      = 8,    // P
  parameter int Steps      = 135,  // T
  parameter int Engines    = 1,    // E
  parameter int Ctx        = 2,    // contexts (interleaved pixels) per engine
  parameter int Delay      = 0,    // reset-before: phases between part a and part b
  parameter bit ResetAfter = 1'b1,  // 1: reset-after GRU cell; 0: reset-before
  parameter int InputBits  = 16,   // W_x
  // derived (do not override)
  localparam int CTXW       = (Ctx > 1) ? $clog2(Ctx) : 1,  // derived: context index width
  localparam int STEPW      = (Steps > 1) ? $clog2(Steps) : 1,  // derived: step index width
  localparam int ENGW       = (Engines > 1) ? $clog2(Engines) : 1,  // derived: engine index width
  localparam int DESCW      = 24 + 2 * (1 + Engines + CTXW + 1 + STEPW + 1 + 16)  // derived: phase descriptor width (fligru_desc.svh)
) (
  input  wire logic                     clk_i,
  input  wire logic                     rst_ni,

  // TPSF samples in (valid/ready)
  input  wire logic                     in_valid_i,
  output logic                          in_ready_o,
  input  wire logic [InputBits-1:0]     in_data_i,
  input  wire logic                     in_last_i,

  // input buffer writes (fligru_ctxmem of engine xw_eng_o)
  output logic                          xw_we_o,
  output logic [ENGW-1:0]               xw_eng_o,
  output logic                          xw_par_o,
  output logic [CTXW-1:0]               xw_ctx_o,
  output logic [STEPW-1:0]              xw_t_o,
  output logic [InputBits-1:0]          xw_data_o,

  // pixel numbers of a context's slots (read by fligru_ppctrl)
  input  wire logic                     pid_par_i,
  input  wire logic [CTXW-1:0]          pid_ctx_i,
  output logic [Engines*32-1:0]         pid_o,

  // post-processor progress
  input  wire logic [23:0]              ret_ph_i,     // phase being retired
  input  wire logic [6:0]               ret_units_i,  // its units retired so far
  input  wire logic [15:0]              ret_batch_i,  // batch of the last retired part b
  input  wire logic                     rb_free_i,    // the row buffer may be reloaded

  output logic                          mac_en_o,

  // stage I: operand windows (fligru_ctxmem) and bank addresses (fligru_array)
  output logic                          i_fire_o,
  output logic                          i_c0_o,
  output logic                          i_adv_o,
  output logic [6:0]                    i_kidx_o,
  output logic [CTXW-1:0]               i_ctxa_o,
  output logic [CTXW-1:0]               i_ctxb_o,
  output logic                          i_zeroa_o,
  output logic [15:0]                   i_beat_o,
  output logic [8:0]                    i_rem_o,
  output logic                          i_last_o,
  output logic                          i_deca_o,
  output logic                          i_decb_o,
  // stage R
  output logic [8:0]                    r_rem_o,
  // stage S
  output logic                          s_valid_o,
  output logic                          s_first_o,
  output logic                          s_last_o,
  output logic [DESCW-1:0]              s_desc_o,

  output logic                          busy_o        // pixels loaded and not finished
);

  `include "fligru_desc.svh"

  localparam int ROWS  = 3 * Hidden;
  localparam int TASKS = ROWS * Hidden;
  localparam int Q     = (TASKS + Lanes - 1) / Lanes;
  localparam int SLOTS = Ctx * Engines;
  localparam int SLOTW = $clog2(SLOTS + 1);
  localparam int DLN   = (Delay > 0) ? Delay : 1;

  // ---- input loader ------------------------------------------------------------
  logic [15:0]      ld_b_q;          // batch being filled
  logic [SLOTW-1:0] ld_s_q;          // slot being filled
  logic [ENGW-1:0]  ld_e_q;          // its engine
  logic [CTXW-1:0]  ld_c_q;          // its context
  logic [STEPW-1:0] ld_t_q;          // next sample index
  logic [31:0]      pix_q;           // pixel number of the slot being filled
  logic [SLOTW-1:0] nvalid_q [2];    // pixels in a closed batch, by parity
  logic [31:0]      pixid_q [2*SLOTS];

  logic [15:0] batch_q;              // batch of the round being issued
  logic        in_fire;

  assign in_ready_o = (16'(ld_b_q - batch_q) <= 16'd1) && (16'(ld_b_q - ret_batch_i) <= 16'd1);
  assign in_fire    = in_valid_i && in_ready_o;

  assign xw_we_o   = in_fire;
  assign xw_eng_o  = ld_e_q;
  assign xw_par_o  = ld_b_q[0];
  assign xw_ctx_o  = ld_c_q;
  assign xw_t_o    = ld_t_q;
  assign xw_data_o = in_data_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ld_b_q <= '0; ld_s_q <= '0; ld_e_q <= '0; ld_c_q <= '0; ld_t_q <= '0; pix_q <= '0;
      nvalid_q[0] <= '0; nvalid_q[1] <= '0;
    end else if (in_fire) begin
      if (ld_t_q == STEPW'(Steps - 1)) begin
        ld_t_q <= '0;
        pix_q  <= pix_q + 32'd1;
        if (in_last_i || ld_s_q == SLOTW'(SLOTS - 1)) begin
          nvalid_q[ld_b_q[0]] <= ld_s_q + SLOTW'(1);
          ld_b_q <= ld_b_q + 16'd1;
          ld_s_q <= '0; ld_e_q <= '0; ld_c_q <= '0;
        end else begin
          ld_s_q <= ld_s_q + SLOTW'(1);
          if (ld_e_q == ENGW'(Engines - 1)) begin
            ld_e_q <= '0;
            ld_c_q <= ld_c_q + CTXW'(1);
          end else begin
            ld_e_q <= ld_e_q + ENGW'(1);
          end
        end
      end else begin
        ld_t_q <= ld_t_q + STEPW'(1);
      end
    end
  end

  // Pixel numbers by slot: entry par*SLOTS + slot.
  localparam int PIDW = $clog2(2 * SLOTS);
  always_ff @(posedge clk_i) begin
    if (in_fire && ld_t_q == '0)
      pixid_q[ld_b_q[0] ? PIDW'(SLOTS) + PIDW'(ld_s_q) : PIDW'(ld_s_q)] <= pix_q;
  end

  for (genvar e = 0; e < Engines; e++) begin : g_pid
    logic [PIDW-1:0] slot;
    assign slot = PIDW'(32'(pid_ctx_i) * Engines + e);
    assign pid_o[e*32 +: 32] = pixid_q[pid_par_i ? PIDW'(SLOTS) + slot : slot];
  end

  // ---- phase sequencing --------------------------------------------------------
  logic [23:0]      ph_q;            // global phase number
  logic [15:0]      beat_q;          // beat c within the phase
  logic [8:0]       rem_q;           // c*P mod 3H
  logic [6:0]       k0_q;            // floor(c*P / 3H)
  logic             adv_q;           // k0 moved at this beat
  logic [CTXW-1:0]  ctx_q;           // context of part a
  logic [STEPW:0]   u_q;             // step within the batch, 0..2T-1
  logic             bubble_q;        // this round carries no part a (drain)
  part_t            cur_a_q, cur_b_q;
  logic [PART_W-1:0] dl_q [DLN];     // part a descriptors of the last Delay phases (part_t)
  logic [DLN-1:0]    dl_act_q;        // their act bits

  logic  c0, last_beat, fire, issue_ok, mac_en;
  part_t a_new, b_new, a_cur, b_cur;
  logic  pend_b, start_bubble, is_bubble, enc_step, data_ok;
  logic [STEPW-1:0] t_new;

  assign c0        = beat_q == '0;
  assign last_beat = beat_q == 16'(Q - 1);
  assign enc_step  = u_q < (STEPW+1)'(Steps);
  assign t_new     = enc_step ? STEPW'(u_q) : STEPW'(u_q - (STEPW+1)'(Steps));

  always_comb begin
    pend_b = 1'b0;
    if (!ResetAfter)
      pend_b = |dl_act_q;
  end

  // Sample t_new of every slot of context ctx_q is loaded (or its batch closed).
  logic [SLOTW-1:0] ctx_last;
  logic             same_batch;
  assign ctx_last   = SLOTW'(32'(ctx_q) * Engines + Engines - 1);
  assign same_batch = ld_b_q == batch_q;
  assign data_ok    = !enc_step || !same_batch || (ld_s_q > ctx_last) ||
                      (ld_s_q == ctx_last && ld_t_q > t_new);
  // Reset-before at a batch start with no input yet: run a round without part
  // a so that the pending part-b passes (and their outputs) complete.
  assign start_bubble = !ResetAfter && !bubble_q && ctx_q == '0 && u_q == '0 && !data_ok && pend_b;
  assign is_bubble    = bubble_q || start_bubble;

  always_comb begin
    a_new = '0;
    if (!is_bubble) begin
      for (int e = 0; e < Engines; e++) begin
        // Slot ctx*E + e holds a pixel: below the count of a closed batch, or
        // already started in the batch being filled.
        if (!same_batch) a_new.vmask[e] = SLOTW'(32'(ctx_q) * Engines + e) < nvalid_q[batch_q[0]];
        else             a_new.vmask[e] = (SLOTW'(32'(ctx_q) * Engines + e) < ld_s_q) ||
                                          (SLOTW'(32'(ctx_q) * Engines + e) == ld_s_q && ld_t_q != '0);
      end
      a_new.act   = |a_new.vmask;
      a_new.ctx   = ctx_q;
      a_new.dec   = !enc_step;
      a_new.t     = t_new;
      a_new.first = u_q == '0;
      a_new.batch = batch_q;
    end
    b_new = ResetAfter ? a_new : dl_q[DLN-1];
  end

  assign a_cur = c0 ? a_new : cur_a_q;
  assign b_cur = c0 ? b_new : cur_b_q;

  // Scoreboard. Part a reads h of its context, written by the part b of the
  // phase Ctx - Delay earlier; part b reads r ⊙ h written by the part a of
  // the phase Delay earlier. A word k of phase n is final once the
  // post-processor retired unit k of phase n (or all of it).
  logic [23:0] need_h, need_rh;
  logic [6:0]  kidx;
  logic        rd, ok_h, ok_rh;
  assign need_h  = ph_q - 24'(Ctx) + 24'(Delay);
  assign need_rh = ph_q - 24'(Delay);
  assign kidx    = c0 ? 7'd1 : k0_q + 7'd1;
  assign rd      = c0 || adv_q;

  logic [23:0] dh, drh;
  assign dh    = need_h - ret_ph_i;
  assign drh   = need_rh - ret_ph_i;
  assign ok_h  = !rd || !a_cur.act || a_cur.first || kidx >= 7'(Hidden) || dh[23] ||
                 (dh == '0 && kidx < ret_units_i);
  assign ok_rh = ResetAfter || !rd || !b_cur.act || kidx >= 7'(Hidden) || drh[23] ||
                 (drh == '0 && kidx < ret_units_i);
  assign issue_ok = ok_h && ok_rh && (!c0 || is_bubble || data_ok);

  logic s_valid_q, s_last_q;
  assign mac_en   = !(s_valid_q && s_last_q && !rb_free_i);
  assign mac_en_o = mac_en;
  assign fire     = mac_en && issue_ok;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ph_q <= '0; beat_q <= '0; rem_q <= '0; k0_q <= '0; adv_q <= 1'b0;
      ctx_q <= '0; u_q <= '0; batch_q <= '0; bubble_q <= 1'b0;
      cur_a_q <= '0; cur_b_q <= '0;
      for (int i = 0; i < DLN; i++) dl_q[i] <= '0;
      dl_act_q <= '0;
    end else if (fire) begin
      if (c0) begin
        cur_a_q <= a_new;
        cur_b_q <= b_new;
        if (!ResetAfter) begin
          dl_q[0]     <= a_new;
          dl_act_q[0] <= a_new.act;
          for (int i = 1; i < DLN; i++) begin
            dl_q[i]     <= dl_q[i-1];
            dl_act_q[i] <= dl_act_q[i-1];
          end
        end
        if (start_bubble) bubble_q <= 1'b1;
      end
      if (last_beat) begin
        beat_q <= '0; rem_q <= '0; k0_q <= '0; adv_q <= 1'b0;
        ph_q   <= ph_q + 24'd1;
        if (ctx_q == CTXW'(Ctx - 1)) begin
          ctx_q <= '0;
          if (is_bubble) begin
            bubble_q <= 1'b0;
          end else if (u_q == (STEPW+1)'(2 * Steps - 1)) begin
            u_q     <= '0;
            batch_q <= batch_q + 16'd1;
          end else begin
            u_q <= u_q + (STEPW+1)'(1);
          end
        end else begin
          ctx_q <= ctx_q + CTXW'(1);
        end
      end else begin
        beat_q <= beat_q + 16'd1;
        if (10'(rem_q) + 10'(Lanes) >= 10'(ROWS)) begin
          rem_q <= 9'(10'(rem_q) + 10'(Lanes) - 10'(ROWS));
          k0_q  <= k0_q + 7'd1;
          adv_q <= 1'b1;
        end else begin
          rem_q <= 9'(10'(rem_q) + 10'(Lanes));
          adv_q <= 1'b0;
        end
      end
    end
  end

  // ---- stage I outputs -----------------------------------------------------------
  assign i_fire_o  = fire;
  assign i_c0_o    = c0;
  assign i_adv_o   = adv_q;
  assign i_kidx_o  = kidx;
  assign i_ctxa_o  = ctx_q;
  assign i_ctxb_o  = b_cur.ctx;
  assign i_zeroa_o = a_cur.first || !a_cur.act;
  assign i_beat_o  = beat_q;
  assign i_rem_o   = rem_q;
  assign i_last_o  = last_beat;
  assign i_deca_o  = a_cur.dec;
  assign i_decb_o  = b_cur.dec;

  // ---- control pipeline I -> R -> M -> S -----------------------------------------
  logic        r_valid_q, m_valid_q;
  logic        r_first_q, m_first_q, s_first_q;
  logic        r_last_q,  m_last_q;
  logic [8:0]  r_rem_q;
  desc_t       i_desc, r_desc_q, m_desc_q, s_desc_q;

  assign i_desc = {ph_q, a_cur, b_cur};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      r_valid_q <= 1'b0; m_valid_q <= 1'b0; s_valid_q <= 1'b0;
      r_first_q <= 1'b0; m_first_q <= 1'b0; s_first_q <= 1'b0;
      r_last_q  <= 1'b0; m_last_q  <= 1'b0; s_last_q  <= 1'b0;
      r_rem_q   <= '0;
      r_desc_q  <= '0; m_desc_q <= '0; s_desc_q <= '0;
    end else if (mac_en) begin
      r_valid_q <= fire;      m_valid_q <= r_valid_q; s_valid_q <= m_valid_q;
      r_first_q <= c0;        m_first_q <= r_first_q; s_first_q <= m_first_q;
      r_last_q  <= last_beat; m_last_q  <= r_last_q;  s_last_q  <= m_last_q;
      r_rem_q   <= rem_q;
      r_desc_q  <= i_desc;    m_desc_q  <= r_desc_q;  s_desc_q  <= m_desc_q;
    end
  end

  assign r_rem_o   = r_rem_q;
  assign s_valid_o = s_valid_q;
  assign s_first_o = s_first_q;
  assign s_last_o  = s_last_q;
  assign s_desc_o  = s_desc_q;

  // Busy: samples loaded for a batch the MAC has not finished, or pending part b.
  assign busy_o = (ld_b_q != batch_q) || (ld_s_q != '0) || (ld_t_q != '0) || pend_b || (u_q != '0);

endmodule

`default_nettype wire
