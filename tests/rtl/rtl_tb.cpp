// rtl_tb.cpp - bit-exact test bench of the fligru RTL against `fligru vectors`.
//
//   rtl_tb_<config> VECTORS_DIR [--name N] [--csv FILE] [--trace-dir DIR]
//                   [--throttle-batches B] [--seed S] [--no-cfg-port] [--expect-sat LIST]
//
// One executable per ctest configuration: the Verilated fligru_top built with
// that configuration's parameters (-G), whose values this file also receives as
// FLIGRU_TB_* macros and checks against the vectors' fx_params.h. The bench
//  1. loads every weight, constant and table through the configuration port
//     (or relies on the model's $readmemh with --no-cfg-port);
//  2. streams input.hex pixel after pixel (valid/ready), with in_last on the
//     last word;
//  3. compares every new hidden state on the debug port with enc_h_l0.hex /
//     dec_h_l0.hex and every output beat with output.hex, bit for bit, and
//     checks that each was seen exactly once;
//  4. throttles in_valid and out_ready at random during the first batches
//     (back-pressure), then runs at full rate and measures the steady-state
//     cycles per pixel against the ideal (docs/rtl.md).
// On the first mismatch it prints pixel, step, unit, expected, actual (hex)
// and cycle, re-runs the same stimulus with an FST trace around that cycle,
// and exits 1. Any setup problem exits 2.
#include FLIGRU_TB_HEADER
#include "verilated.h"
#include "verilated_fst_c.h"

#include <algorithm>
#include <cstdarg>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Top = FLIGRU_TB_TOP;

[[noreturn]] void die(const std::string &msg)
{
    std::fprintf(stderr, "rtl_tb: %s\n", msg.c_str());
    std::exit(2);
}

#include "fligru_build.h"

// Bits [lsb, lsb+w) of a Verilated port: integral types and VlWide.
template <typename V> uint64_t bits(const V &v, int lsb, int w) { return ((uint64_t)v >> lsb) & mask(w); }
template <std::size_t N> uint64_t bits(const VlWide<N> &v, int lsb, int w)
{
    uint64_t r = 0;
    for (int i = 0; i < w; ++i) {
        const int b = lsb + i;
        r |= (uint64_t)((v[b / 32] >> (b % 32)) & 1u) << i;
    }
    return r;
}




struct Options {
    std::string dir, name = "rtl", csv, trace_dir = ".";
    int throttle_batches = 2;
    uint64_t seed = 1;
    bool cfg_port = true;
    std::string expect_sat;   // counters of coverage() that must be non-zero
};

struct Mismatch {
    bool hit = false;
    uint64_t cycle = 0;
    std::string text;
};

struct Vectors {
    long n = 0;
    std::vector<uint64_t> x, enc_h, dec_h, y;
    std::vector<std::pair<int, std::vector<uint64_t>>> mems;   // (selector, words)
};

Vectors load(const Options &o)
{
    Vectors v;
    VecSet vs(o.dir);
    check_params(vs, o.dir + "/fx_params.h: ");
    v.n = vs.pixels();
    v.x = vs.read("input.hex");
    v.enc_h = vs.read("enc_h_l0.hex", (size_t)v.n * T * H);
    v.dec_h = vs.read("dec_h_l0.hex", (size_t)v.n * T * H);
    v.y = vs.read("output.hex", (size_t)v.n * T * C);
    v.mems = config_memories(vs);
    return v;
}

// The datapath's rounded shift (fixed.h), in this build's rounding mode.
int64_t shr(int64_t v, int s) { return fl_fx_shr(v, s, (fl_fx_round)FLIGRU_TB_ROUNDING); }
bool fits(int64_t v, int w) { return v >= fl_fx_min(w) && v <= fl_fx_max(w); }
bool at_rail(int64_t x, int w) { return x == fl_fx_max(w) || x == fl_fx_min(w); }

const std::vector<uint64_t> &mem(const Vectors &v, int sel)
{
    for (const auto &m : v.mems)
        if (m.first == sel) return m.second;
    die("no memory " + std::to_string(sel) + " in the vectors");
}

// Saturation coverage of the vectors themselves: how often the golden model
// hit each clamp and wrap, recomputed from the dumped states, gates and
// weights, so that each configuration's data is known to exercise them.
struct Coverage {
    long input = 0, acc_wrap = 0, n_acc = 0, rescale = 0, gate = 0, table = 0, state = 0, output = 0;
};

// Rails of the words the vectors hold: input, states, outputs.
void cover_words(const Vectors &v, Coverage &c)
{
    for (uint64_t w : v.x) c.input += at_rail(sext(w, W_X), W_X);
    for (uint64_t w : v.y) c.output += at_rail(sext(w, W_O), W_O);
    for (const auto *s : {&v.enc_h, &v.dec_h})
        for (uint64_t w : *s) c.state += at_rail(sext(w, W_H), W_H);
}

// Gate pre-activations (--gates vectors): rails, and beyond the sigmoid table.
void cover_gates(const VecSet &vs, long n, std::vector<uint64_t> act[2], Coverage &c)
{
    const int wg = FLIGRU_TB_GATE_BITS;
    const int64_t r = INT64_C(1) << (FLIGRU_TB_GATE_FRAC + FLIGRU_TB_SIGMOID_RANGE_LOG2);
    for (int d = 0; d < 2; ++d) {
        const std::string f = d ? "dec_l0_pre.hex" : "enc_l0_pre.hex", fa = d ? "dec_l0_act.hex" : "enc_l0_act.hex";
        if (!vs.has(f) || !vs.has(fa)) die("vectors without --gates: " + std::string(vs.vs.dir) + "/" + f);
        for (uint64_t w : vs.read(f, (size_t)n * T * 3 * H)) {
            const int64_t g = sext(w, wg);
            c.gate += at_rail(g, wg);
            c.table += g < -r || g >= r;
        }
        act[d] = vs.read(fa, (size_t)n * T * 3 * H);
    }
}

// One accumulator and its rescale to `w` bits: wrap and saturation counts
// (left_sat: a left shift that overflows counts as saturated, as the
// recurrent rescale's operands can reach that).
void cover_acc(int64_t a, uint64_t mult, uint64_t shift, int w, bool left_sat, Coverage &c)
{
    const int wa = FLIGRU_TB_ACC_BITS;
    ++c.n_acc;
    c.acc_wrap += !fits(a, wa);
    const int s = (int)sext(shift, 8);
    const int64_t prod = fl_fx_wrap(a, wa) * (FLIGRU_TB_POW2 ? 1 : (int64_t)mult);
    const int64_t res = s < 0 && left_sat ? (fits(prod, 62 + s) ? shr(prod, s) : (prod < 0 ? INT64_MIN / 2 : INT64_MAX / 2))
                              : shr(prod, s);
    c.rescale += !fits(res, w);
}

// The recurrent operand of row j's unit k: h, or r ⊙ h (reset-before n rows).
int64_t rec_operand(const std::vector<uint64_t> &act, size_t at, int64_t h, bool nrow)
{
    if (!nrow || FLIGRU_TB_RESET_AFTER) return h;
    const int64_t r = sext(act[at], FLIGRU_TB_ACT_BITS);
    return fl_fx_sat(shr(r * h, FLIGRU_TB_ACT_FRAC), W_H);
}

// Recurrent accumulators of the encoder (d = 0) and decoder, every row of every step.
void cover_recurrent(const Vectors &v, const std::vector<uint64_t> act[2], int d, Coverage &c)
{
    const int dh = FLIGRU_TB_WEIGHT_FRAC + FLIGRU_TB_STATE_FRAC - FLIGRU_TB_ACC_FRAC;
    const auto &w = mem(v, d ? SEL_DEC_W_HH : SEL_ENC_W_HH), &m = mem(v, d ? SEL_DEC_W_HH_MULT : SEL_ENC_W_HH_MULT),
               &sh = mem(v, d ? SEL_DEC_W_HH_SHIFT : SEL_ENC_W_HH_SHIFT);
    std::vector<int64_t> h(H);
    for (long p = 0; p < v.n; ++p)
        for (int t = 0; t < T; ++t) {
            const size_t prev = (size_t)p * T + t - 1, last = (size_t)p * T + T - 1;
            for (int k = 0; k < H; ++k)
                h[k] = !d ? (t ? sext(v.enc_h[prev * H + k], W_H) : 0)
                          : sext(t ? v.dec_h[prev * H + k] : v.enc_h[last * H + k], W_H);
            for (int j = 0; j < 3 * H; ++j) {
                int64_t a = 0;
                for (int k = 0; k < H; ++k) {
                    const int64_t op = rec_operand(act[d], (((size_t)p * T + t) * 3 + 0) * H + k, h[k], j >= 2 * H);
                    a += shr(sext(w[(size_t)j * H + k], FLIGRU_TB_WEIGHT_BITS) * op, dh);
                }
                cover_acc(a, m[(size_t)j], sh[(size_t)j], FLIGRU_TB_GATE_BITS, true, c);
            }
        }
}

// The encoder's input part and the dense head.
void cover_input_dense(const Vectors &v, Coverage &c)
{
    const int dh = FLIGRU_TB_WEIGHT_FRAC + FLIGRU_TB_STATE_FRAC - FLIGRU_TB_ACC_FRAC;
    const int dx = FLIGRU_TB_WEIGHT_FRAC + FLIGRU_TB_INPUT_FRAC - FLIGRU_TB_ACC_FRAC;
    const auto &wih = mem(v, SEL_ENC_W_IH), &mx = mem(v, SEL_ENC_W_IH_MULT), &sx = mem(v, SEL_ENC_W_IH_SHIFT);
    const auto &dw = mem(v, SEL_DENSE_W), &dm = mem(v, SEL_DENSE_MULT), &ds = mem(v, SEL_DENSE_SHIFT);
    for (long p = 0; p < v.n; ++p)
        for (int t = 0; t < T; ++t) {
            const int64_t x = sext(v.x[(size_t)p * T + t], W_X);
            for (int j = 0; j < 3 * H; ++j)
                cover_acc(shr(sext(wih[(size_t)j], FLIGRU_TB_WEIGHT_BITS) * x, dx), mx[(size_t)j], sx[(size_t)j],
                          FLIGRU_TB_GATE_BITS, false, c);
            for (int ch = 0; ch < C; ++ch) {
                int64_t a = 0;
                for (int k = 0; k < H; ++k)
                    a += shr(sext(dw[(size_t)ch * H + k], FLIGRU_TB_WEIGHT_BITS) *
                                 sext(v.dec_h[((size_t)p * T + t) * H + k], W_H), dh);
                cover_acc(a, dm[(size_t)ch], ds[(size_t)ch], W_O, false, c);
            }
        }
}

// Prints the counts; exits 1 when a counter named in --expect-sat is zero (a
// configuration meant to drive saturation whose data reaches none tests nothing).
void coverage(const Options &o, const Vectors &v)
{
    Coverage c;
    std::vector<uint64_t> act[2];
    cover_words(v, c);
    cover_gates(VecSet(o.dir), v.n, act, c);
    for (int d = 0; d < 2; ++d) cover_recurrent(v, act, d, c);
    cover_input_dense(v, c);
    std::printf("rtl_tb %s: vectors: %ld pixels x %d steps; saturations and wraps in the golden data: input %ld, "
                "accumulator wraps %ld of %ld, rescale %ld, gate pre-activation %ld, beyond the sigmoid table "
                "range %ld, state %ld, output %ld\n",
                o.name.c_str(), v.n, T, c.input, c.acc_wrap, c.n_acc, c.rescale, c.gate, c.table, c.state, c.output);
    const std::pair<const char *, long> named[] = {{"input", c.input}, {"acc_wrap", c.acc_wrap},
                                                   {"rescale", c.rescale}, {"gate", c.gate},
                                                   {"table", c.table}, {"state", c.state}, {"output", c.output}};
    std::istringstream want(o.expect_sat);
    for (std::string k; std::getline(want, k, ',');) {
        bool known = false;
        for (const auto &n : named) {
            if (k != n.first) continue;
            known = true;
            if (n.second == 0) {
                std::printf("FAIL %s: --expect-sat %s, but the vectors reach no %s saturation\n", o.name.c_str(),
                            k.c_str(), k.c_str());
                std::exit(1);
            }
        }
        if (!known) die("--expect-sat: unknown counter '" + k + "' (input, acc_wrap, rescale, gate, table, state, output)");
    }
}

struct Result {
    uint64_t cycles = 0, steady_cycles = 0, steady_pixels = 0, beats = 0, steady_beats = 0;
    long states = 0, outputs = 0;
    int ctx = 0;
    Mismatch mm;
};

// One simulation: the Verilated model, its clock and trace, the stimulus and
// the scoreboard. With trace_from >= 0, an FST trace of cycles [trace_from,
// trace_to] is written to trace_path.
class Sim {
  public:
    Sim(const Options &o, const Vectors &v, int64_t trace_from, const std::string &trace_path)
        : o_(o), v_(v), trace_from_(trace_from), trace_path_(trace_path), rng_(o.seed),
          seen_h_((size_t)v.n * 2 * T * H, 0), seen_y_((size_t)v.n * T, 0), done_at_((size_t)v.n, 0),
          outs_left_((size_t)v.n, T)
    {
        ctx_->traceEverOn(trace_from >= 0);
        top_ = std::make_unique<Top>(ctx_.get());
    }

    Result run(uint64_t trace_to)
    {
        reset();
        if (o_.cfg_port) load_config();
        stream(trace_to);
        r_.cycles = cyc_;
        if (tfp_) tfp_->close();
        if (!r_.mm.hit && trace_from_ < 0) check_complete();
        return r_;
    }

  private:
    void tick()
    {
        top_->clk_i = 1;
        top_->eval();
        if (tfp_ && (int64_t)cyc_ >= trace_from_) tfp_->dump(2 * cyc_ + 1);
        ++cyc_;
        top_->clk_i = 0;
        top_->eval();
        if (trace_from_ >= 0 && !tfp_ && (int64_t)cyc_ >= trace_from_) {
            tfp_ = std::make_unique<VerilatedFstC>();
            top_->trace(tfp_.get(), 99);
            tfp_->open(trace_path_.c_str());
        }
        if (tfp_ && (int64_t)cyc_ >= trace_from_) tfp_->dump(2 * cyc_);
    }

    void reset()
    {
        top_->clk_i = 0;
        top_->rst_ni = 0;
        top_->cfg_valid_i = 0;
        top_->in_valid_i = 0;
        top_->out_ready_i = 0;
        top_->eval();
        for (int i = 0; i < 4; ++i) tick();
        top_->rst_ni = 1;
        tick();
        r_.ctx = top_->info_ctx_o;
    }

    // Every memory through the configuration port, word by word.
    void load_config()
    {
        for (const auto &m : v_.mems) {
            for (size_t i = 0; i < m.second.size(); ++i) {
                top_->cfg_valid_i = 1;
                top_->cfg_sel_i = m.first;
                top_->cfg_first_i = i == 0;
                top_->cfg_data_i = (uint32_t)m.second[i];
                if (!top_->cfg_ready_o) die("cfg_ready_o low");
                tick();
            }
        }
        top_->cfg_valid_i = 0;
        tick();
    }

    void fail(const char *fmt, ...) __attribute__((format(printf, 2, 3)))
    {
        char b[320];
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(b, sizeof b, fmt, ap);
        va_end(ap);
        r_.mm = {true, cyc_, b};
    }

    // The debug port's new states of this cycle, each once and equal to the vectors'.
    void check_states()
    {
        const long n = v_.n;
        for (int e = 0; e < E && !r_.mm.hit; ++e) {
            if (!((top_->dbg_valid_o >> e) & 1)) continue;
            const long pix = (long)bits(top_->dbg_pixel_o, 32 * e, 32);
            const int dec = top_->dbg_dec_o, t = top_->dbg_step_o, j = top_->dbg_unit_o;
            const uint64_t act = bits(top_->dbg_h_o, W_H * e, W_H);
            if (pix >= n || t >= T || j >= H)
                return fail("debug port tag out of range: pixel %ld step %d unit %d", pix, t, j);
            const size_t idx = ((size_t)pix * T + t) * H + j;
            const uint64_t exp = (dec ? v_.dec_h : v_.enc_h)[idx] & mask(W_H);
            uint8_t &s = seen_h_[((size_t)pix * 2 + dec) * T * H + (size_t)t * H + j];
            if (exp != act || s)
                return fail("MISMATCH %s state: pixel %ld step %d (%s) unit %d engine %d expected 0x%0*" PRIx64
                            " (%" PRId64 ") actual 0x%0*" PRIx64 " (%" PRId64 ") cycle %" PRIu64 "%s",
                            o_.name.c_str(), pix, t, dec ? "decoder" : "encoder", j, e, (W_H + 3) / 4, exp,
                            sext(exp, W_H), (W_H + 3) / 4, act, sext(act, W_H), cyc_, s ? " (seen twice)" : "");
            s = 1;
            ++r_.states;
        }
    }

    // The output beat taken this cycle: its tag once, every channel equal to the vectors'.
    void check_output()
    {
        const long n = v_.n, pix = (long)top_->out_pixel_o;
        const int t = top_->out_step_o;
        if (pix >= n || t >= T || seen_y_[(size_t)pix * T + t])
            return fail("MISMATCH %s output tag: pixel %ld step %d %s cycle %" PRIu64, o_.name.c_str(), pix, t,
                        pix < n && t < T ? "seen twice" : "out of range", cyc_);
        for (int c = 0; c < C; ++c) {
            const uint64_t act = bits(top_->out_data_o, W_O * c, W_O);
            const uint64_t exp = v_.y[((size_t)pix * T + t) * C + c] & mask(W_O);
            if (act != exp) {
                fail("MISMATCH %s output: pixel %ld step %d channel %d expected 0x%0*" PRIx64 " (%" PRId64
                     ") actual 0x%0*" PRIx64 " (%" PRId64 ") cycle %" PRIu64,
                     o_.name.c_str(), pix, t, c, (W_O + 3) / 4, exp, sext(exp, W_O), (W_O + 3) / 4, act,
                     sext(act, W_O), cyc_);
                break;
            }
        }
        seen_y_[(size_t)pix * T + t] = 1;
        ++r_.outputs;
        if (--outs_left_[(size_t)pix] == 0) {
            done_at_[(size_t)pix] = cyc_;
            ++pixels_done_;
        }
    }

    // Two streams. The first (throttle_batches and a half batches' worth of
    // pixels) has random gaps on in_valid and out_ready and ends with in_last
    // on a partial batch; the bench then waits until busy_o falls (flush,
    // bubble rounds, idle) and sends the rest at full rate, where the
    // steady-state cycles per pixel are measured.
    void stream(uint64_t trace_to)
    {
        const long n = v_.n;
        batch_ = (long)r_.ctx * E;
        n1_ = std::min(n, (long)o_.throttle_batches * batch_ + std::max(1L, batch_ / 2));
        const long throttle_words = n1_ * T;
        std::bernoulli_distribution coin(0.3);
        const uint64_t limit = 400000000ull;
        long word = 0;
        while (pixels_done_ < n && !r_.mm.hit) {
            if (cyc_ > limit)
                die("no progress: " + std::to_string(pixels_done_) + " of " + std::to_string(n) +
                    " pixels done after " + std::to_string(cyc_) + " cycles");
            const bool throttled = word < throttle_words;
            const bool gap = word == throttle_words && (pixels_done_ < n1_ || top_->busy_o);
            // Outputs depend on registers only: sample them, then drive the
            // inputs that the coming edge takes (Verilator settles input logic first).
            const bool in_v = word < n * T && !gap && !(throttled && coin(rng_));
            const bool out_r = !(throttled && coin(rng_));
            top_->in_valid_i = in_v;
            top_->in_data_i = word < n * T ? (uint32_t)v_.x[(size_t)word] : 0;
            top_->in_last_i = word == n * T - 1 || word == throttle_words - 1;
            top_->out_ready_i = out_r;
            if (in_v && top_->in_ready_o) ++word;
            if (top_->dbg_beat_o) ++r_.beats;
            check_states();
            if (!r_.mm.hit && top_->out_valid_o && out_r) check_output();
            tick();
            if (trace_from_ >= 0 && cyc_ > trace_to) break;
        }
    }

    // Every state reported; the steady state: the second stream's full batches,
    // measured between batch completions (a batch = ctx x engines pixels
    // finishes together).
    void check_complete()
    {
        for (size_t i = 0; i < seen_h_.size(); ++i)
            if (!seen_h_[i]) {
                r_.mm = {true, cyc_, "state never reported: pixel " + std::to_string((long)(i / (2 * T * H)))};
                return;
            }
        const long nb = (v_.n - n1_) / batch_;
        if (nb < 3) {
            std::printf("rtl_tb %s: too few pixels for a steady-state measurement\n", o_.name.c_str());
            return;
        }
        uint64_t t0 = 0, t1 = 0;
        for (long p = n1_; p < n1_ + batch_; ++p) t0 = std::max(t0, done_at_[(size_t)p]);
        for (long p = n1_ + (nb - 1) * batch_; p < n1_ + nb * batch_; ++p) t1 = std::max(t1, done_at_[(size_t)p]);
        r_.steady_cycles = t1 - t0;
        r_.steady_pixels = (uint64_t)(nb - 1) * batch_;
    }

    const Options &o_;
    const Vectors &v_;
    const int64_t trace_from_;
    const std::string trace_path_;
    std::unique_ptr<VerilatedContext> ctx_ = std::make_unique<VerilatedContext>();
    std::unique_ptr<Top> top_;
    std::unique_ptr<VerilatedFstC> tfp_;
    std::mt19937_64 rng_;
    uint64_t cyc_ = 0;
    Result r_;
    std::vector<uint8_t> seen_h_, seen_y_;
    std::vector<uint64_t> done_at_;
    std::vector<int> outs_left_;
    long pixels_done_ = 0, batch_ = 0, n1_ = 0;
};

Result simulate(const Options &o, const Vectors &v, int64_t trace_from, uint64_t trace_to,
                const std::string &trace_path)
{
    return Sim(o, v, trace_from, trace_path).run(trace_to);
}

}  // namespace

int main(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) die("option " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--name") o.name = val();
        else if (a == "--csv") o.csv = val();
        else if (a == "--trace-dir") o.trace_dir = val();
        else if (a == "--throttle-batches") o.throttle_batches = std::atoi(val().c_str());
        else if (a == "--seed") o.seed = std::strtoull(val().c_str(), nullptr, 10);
        else if (a == "--no-cfg-port") o.cfg_port = false;
        else if (a == "--expect-sat") o.expect_sat = val();
        else if (a[0] == '+') continue;   // plusargs
        else if (o.dir.empty()) o.dir = a;
        else die("unexpected argument " + a);
    }
    if (o.dir.empty()) die("usage: rtl_tb VECTORS_DIR [--name N] [--csv FILE] [--trace-dir DIR]");

    const Vectors v = load(o);
    coverage(o, v);
    const auto t0 = std::chrono::steady_clock::now();
    Result r = simulate(o, v, -1, 0, "");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    if (r.mm.hit) {
        std::printf("%s\n", r.mm.text.c_str());
        // A window of a few rounds (every context's phase) before the mismatch.
        const uint64_t q = (3ull * H * H + P - 1) / P, window = std::max<uint64_t>(2000, 3ull * r.ctx * q + 200);
        const uint64_t from = r.mm.cycle > window ? r.mm.cycle - window : 0;
        const std::string path = o.trace_dir + "/" + o.name + ".fst";
        simulate(o, v, (int64_t)from, r.mm.cycle + 4, path);
        std::printf("rtl_tb %s: FAIL; trace of cycles %" PRIu64 "..%" PRIu64 " in %s\n", o.name.c_str(), from,
                    r.mm.cycle + 4, path.c_str());
        return 1;
    }

    const double macs = (double)T * (3.0 * H * H + 3.0 * H) + (double)T * (3.0 * H * H + (double)C * H);
    const double ideal = macs / P;                        // cycles per pixel, one engine
    const double ideal_rec = 2.0 * T * 3.0 * H * H / P;   // recurrent MACs only
    const double cpp = r.steady_pixels ? (double)r.steady_cycles / r.steady_pixels : 0.0;
    const double ratio = cpp * E / ideal, ratio_rec = cpp * E / ideal_rec;
    std::printf("rtl_tb %s: PASS: %ld pixels, %ld pixel-steps, %ld states and %ld outputs bit-exact, "
                "0 mismatches; %" PRIu64 " cycles, %.1f s (%.2f Mcycles/s)\n",
                o.name.c_str(), v.n, v.n * 2 * T, r.states, r.outputs, r.cycles, secs, r.cycles / secs / 1e6);
    std::printf("rtl_tb %s: H=%d P=%d E=%d T=%d C=%d, %d pixels in flight per engine; steady state %.1f "
                "cycles/pixel over %" PRIu64 " pixels; ideal (MACs/P per engine) %.1f -> ratio %.4f "
                "(recurrent MACs only: %.4f)\n",
                o.name.c_str(), H, P, E, T, C, r.ctx, cpp, r.steady_pixels, ideal / E, ratio, ratio_rec);
    if (!o.csv.empty()) {
        FILE *f = std::fopen(o.csv.c_str(), "w");
        if (!f) die("cannot write " + o.csv);
        std::fprintf(f, "config,hidden,lanes,engines,steps,outputs,reset,sigmoid,tanh,weight_bits,state_bits,"
                        "acc_bits,rounding,pow2,interleave,pixels,pixel_steps,states_checked,outputs_checked,"
                        "mismatches,cycles,steady_cycles_per_pixel,ideal_cycles_per_pixel,ratio,ratio_recurrent\n");
        std::fprintf(f, "%s,%d,%d,%d,%d,%d,%s,%s,%s,%d,%d,%d,%d,%d,%d,%ld,%ld,%ld,%ld,0,%" PRIu64 ",%.2f,%.2f,%.4f,%.4f\n",
                     o.name.c_str(), H, P, E, T, C, FLIGRU_TB_RESET_AFTER ? "after" : "before",
                     FLIGRU_TB_SIGMOID_HARD ? "hard" : "table", FLIGRU_TB_TANH_HARD ? "hard" : "table",
                     FLIGRU_TB_WEIGHT_BITS, W_H, FLIGRU_TB_ACC_BITS, FLIGRU_TB_ROUNDING, FLIGRU_TB_POW2, r.ctx,
                     v.n, v.n * 2 * T, r.states, r.outputs, r.cycles, cpp, ideal / E, ratio, ratio_rec);
        std::fclose(f);
    }
    return 0;
}
