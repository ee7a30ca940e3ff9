// fligru_core.h - the cycle-level state machine of the fligru datapath
// (docs/rtl.md, docs/systemc.md), with every parameter given at run time.
//
// It holds exactly the control registers of rtl/fligru_ctrl.sv (input loader,
// phase sequencer, scoreboard, MAC control pipeline I -> R -> M -> S),
// rtl/fligru_ppctrl.sv (row buffer count, post-processor stages P1..P11,
// retire position, output tags P12..P16) and rtl/fligru_outq.sv (a queue of
// four beats per engine), and advances them one clock edge per tick(), so that
// every port of fligru_top (in_ready, out_valid/pixel/step/data, dbg_*, busy)
// has the RTL's value at every cycle. The MAC lanes, rings and row buffers
// carry no control and are not modelled bit by bit: the numbers come from the
// C library (fligru/fxmodel.h), one whole GRU step of one pixel when the
// step's unit 0 reaches the retire stage P11 (its new state is then read unit
// by unit on the debug port), one dense head when a decoder step's outputs
// enter the tag pipeline. Without a model (timing only) values are zero.
// Params::arith chooses how: Arith::ref calls the scalar references
// (fl_fx_enc_step_ref ...) there; Arith::batch and Arith::fast take the step's
// state and outputs from trajectories (every state and output of every step
// of a group of pixels) computed ahead with the batched kernels
// (fl_fx_enc_step, fl_fx_dec_step, fl_fx_dense: bit-identical to the refs),
// batch: a batch's pixels once all its samples are in (at its first step),
// fast: also pixels announced by preload() (the stream the bench will drive),
// 256 at a time, and only if one batched step of 32 pixels takes less time
// than 32 reference steps on this model (else the refs: arith() says which). A trajectory is used only while the samples the core received
// equal those it was computed from; otherwise the scalar refs continue from
// the state reached, so every mode gives the same port values.
//
//     flsc::Params p;  p.hidden = 32; p.lanes = 8; p.steps = 135;
//     std::string err = flsc::check(p);          // the RTL's elaboration rules
//     flsc::Core core(p, &q);                     // q: fl_fx_model, or nullptr
//     core.reset();
//     flsc::In in{...};  core.tick(in);           // one rising clock edge
//     if (core.out_valid()) ... core.out_pixel(), core.out_data()
#ifndef FLIGRU_SC_CORE_H
#define FLIGRU_SC_CORE_H

#include "fligru/fxmodel.h"
#include "fligru_sched.h"   // generated from rtl/fligru_sched.svh

#include <cstdint>
#include <string>
#include <vector>

namespace flsc {

constexpr int kMaxEngines = 16;
constexpr int kMaxOutputs = 16;
constexpr int kMaxCtx = 64;      // Interleave limit of this model (the RTL's is 255)

// How the numbers are computed (not an RTL parameter; see the header comment).
enum class Arith { ref, batch, fast };
// "ref", "batch", "fast"; parse returns false for anything else.
const char *arith_name(Arith a);
bool arith_parse(const std::string &s, Arith *a);

struct Params {
    int hidden = 32;             // H (= D)
    int lanes = 8;               // P, 1..3H
    int steps = 135;             // T
    int engines = 1;             // E
    int outputs = 3;             // C
    int interleave = 0;          // 0: the RTL's default
    bool reset_after = false;
    int input_bits = 16;         // W_x: sign of the samples on in_data
    Arith arith = Arith::fast;   // the model's arithmetic (not an RTL parameter)
};

// The RTL's elaboration checks on these parameters (fligru_top.sv); "" when
// the RTL would build them.
std::string check(const Params &p);

// The values the RTL derives (fligru_top.sv localparams).
struct Derived {
    int rows, tasks, q, g, ctx, delay, slots;
};
Derived derive(const Params &p);

// Inputs sampled at a rising edge.
struct In {
    bool in_valid = false;
    uint32_t in_data = 0;
    bool in_last = false;
    bool out_ready = false;
};

// Counters for the timing reports (not ports).
struct Stats {
    uint64_t cycles = 0;           // rising edges since reset
    uint64_t beats = 0;            // MAC beats issued (dbg_beat)
    uint64_t active_engine_beats = 0;   // sum over beats of engines with a pixel
    uint64_t stall_operand = 0;    // beat held by the scoreboard (operands not final)
    uint64_t stall_input = 0;      // phase start held for input samples
    uint64_t stall_output = 0;     // MAC pipeline frozen by output back-pressure
    uint64_t idle = 0;             // nothing to issue (no pixels)
    uint64_t pixel_steps = 0;      // part-b units retired / H, per pixel
    // arithmetic (with a model): pixel-steps taken from batched trajectories,
    // pixel-steps computed by the scalar references, batched trajectory sets
    uint64_t steps_batched = 0, steps_ref = 0, traj_sets = 0;
};

class Core {
  public:
    Core(const Params &p, const fl_fx_model *q);
    void reset();
    void tick(const In &in);
    // Arith::fast: the samples the bench will stream, pixel after pixel (x
    // [n][T], as on in_data, sign-extended); the core computes trajectories
    // for them ahead, in groups, and checks each sample it then receives
    // against them. Kept across reset(). No effect in other modes.
    void preload(const int32_t *x, size_t n);

    const Params &params() const { return p_; }
    // The arithmetic in use: Params::arith, or ref where batching does not
    // pay (fast measures both on this model's format when constructed) or
    // cannot be used (no model, samples wider than the model's input).
    Arith arith() const { return arith_; }
    const Derived &derived() const { return d_; }
    const Stats &stats() const { return st_; }

    // ports after the last edge (fligru_top names without _o)
    bool in_ready() const { return c_.in_ready; }
    bool out_valid() const { return c_.out_valid; }
    uint32_t out_pixel() const { return head().pixel; }
    uint32_t out_step() const { return head().step; }
    const int32_t *out_data() const { return head().y; }
    uint32_t dbg_valid() const { return c_.ret_valid && c_.r->d.b.act ? c_.r->d.b.vmask : 0u; }
    uint32_t dbg_unit() const { return c_.r->j; }
    bool dbg_dec() const { return c_.r->d.b.dec; }
    uint32_t dbg_step() const { return c_.r->d.b.t; }
    uint32_t dbg_pixel(int e) const { return c_.pid[e]; }
    int32_t dbg_h(int e) const;
    bool dbg_beat() const { return c_.fire; }
    bool busy() const { return c_.busy; }
    uint32_t info_ctx() const { return (uint32_t)d_.ctx; }
    // internal state for traces
    uint32_t phase() const { return ph_; }
    uint32_t beat() const { return beat_; }
    uint32_t ret_phase() const { return ret_ph_; }
    uint32_t ret_units() const { return ret_units_; }
    bool mac_en() const { return c_.mac_en; }
    bool pp_en() const { return c_.pp_en; }

  private:
    struct Part {
        uint16_t batch = 0, vmask = 0, t = 0;
        uint8_t ctx = 0;
        bool act = false, dec = false, first = false;
    };
    struct Desc {
        uint32_t ph = 0;
        Part a, b;
    };
    struct Stage {
        bool valid = false;
        uint8_t j = 0;
        Desc d;
    };
    struct Tag {
        bool v = false;
        uint16_t mask = 0, t = 0;
        uint32_t pid[kMaxEngines] = {};
        int32_t y[kMaxEngines][kMaxOutputs] = {};
    };
    struct Beat {
        uint32_t pixel = 0, step = 0;
        int32_t y[kMaxOutputs] = {};
    };
    // Combinational values of the current state (computed once per cycle).
    struct Comb {
        bool in_ready, c0, last_beat, is_bubble, start_bubble, issue_ok, mac_en, fire;
        bool data_wait;
        Part a_new, b_new, a_cur, b_cur;
        bool p0_valid, pp_en, rb_free, ret_valid, ret_dense, push, out_valid, busy;
        int head_e;
        const Stage *r;     // stage P11
        const Tag *t16;     // stage P16
        uint32_t pid[kMaxEngines];
    };

    // Every state and output of n pixels with consecutive numbers from first.
    struct Traj {
        uint32_t first = 0, n = 0;
        std::vector<int32_t> x, enc, dec, y;   // [n][T], [n][T][H] x2, [n][T][C]
    };
    struct Rec {
        const Traj *s = nullptr;
        uint32_t i = 0;
    };

    void comb();
    void comb_ctrl();                  // fligru_ctrl's combinational values
    void comb_pp();                    // fligru_ppctrl's and fligru_outq's
    void count_cycle(const Comb &c);
    void tick_outq(const In &in, const Comb &c);
    void tick_tags(const Comb &c, const Stage &r);
    void tick_retire(const Comb &c, const Stage &r);
    void tick_mac_pipe(const Comb &c);
    void tick_sequencer(const Comb &c);
    void tick_loader(const In &in, const Comb &c);
    void step_values(const Part &b);   // arithmetic of a part b reaching the retire stage (unit 0)
    Rec lookup(uint32_t pixel) const;
    bool make_traj(uint32_t first, uint32_t n, const int32_t *x);
    bool batched() const { return q_model_ && arith_ != Arith::ref; }
    const Beat &head() const { return q_[c_.head_e][qrp_[c_.head_e] & 3]; }
    // Post-processor stage k (1..SchedRetStage) and output tag of stage k
    // (SchedRetStage+1..SchedPushStage), rtl/fligru_sched.svh's numbering.
    Stage &stage(int k) { return pipe_[(pc_ - k) & 15]; }
    Tag &tag(int k) { return tags_[(tc_ - (k - SchedRetStage)) & 7]; }

    Params p_;
    Derived d_;
    const fl_fx_model *q_model_;
    int dln_;
    Stats st_;

    // fligru_ctrl: loader
    uint16_t ld_b_ = 0;
    uint32_t ld_s_ = 0, ld_e_ = 0, ld_c_ = 0, ld_t_ = 0, pix_ = 0;
    uint32_t nvalid_[2] = {0, 0};
    std::vector<uint32_t> pixid_;
    // sequencer
    uint16_t batch_ = 0;
    uint32_t ph_ = 0, beat_ = 0, rem_ = 0, k0_ = 0, ctx_ = 0, u_ = 0;
    bool adv_ = false, bubble_ = false;
    Part cur_a_, cur_b_;
    std::vector<Part> dl_;
    uint64_t dl_act_ = 0;
    // MAC control pipeline
    bool r_valid_ = false, m_valid_ = false, s_valid_ = false;
    bool r_first_ = false, m_first_ = false, s_first_ = false;
    bool r_last_ = false, m_last_ = false, s_last_ = false;
    Desc r_desc_, m_desc_, s_desc_;
    // fligru_ppctrl
    uint32_t rb_cnt_ = 0;
    Desc rb_desc_;
    static_assert(SchedRetStage < 16 && SchedPushStage - SchedRetStage < 8, "ring sizes of pipe_ and tags_");
    Stage pipe_[16];
    uint32_t pc_ = 0;
    Tag tags_[8];
    uint32_t tc_ = 0;
    uint32_t ret_ph_ = 0, ret_units_ = 0;
    uint16_t ret_batch_ = 0;
    // fligru_outq
    Beat q_[kMaxEngines][4];
    uint32_t qwp_[kMaxEngines] = {}, qrp_[kMaxEngines] = {};
    // values: x [2][ctx][E][T], h [ctx][E][H]
    std::vector<int32_t> x_, h_;
    std::vector<int32_t> tmp_;
    // batched arithmetic
    Arith arith_;
    std::vector<Traj> traj_;            // at most kTrajSets, oldest first
    std::vector<uint8_t> on_;           // [ctx][E]: the slot's pixel follows a trajectory
    std::vector<int32_t> pre_x_;        // preload(): [pixels][T]
    uint32_t pre_n_ = 0;

    Comb c_;
};

}  // namespace flsc

#endif
