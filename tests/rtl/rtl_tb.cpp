// rtl_tb.cpp - bit-exact test bench of the fligru RTL against `fligru vectors`.
//
//   rtl_tb_<config> VECTORS_DIR [--name N] [--csv FILE] [--trace-dir DIR]
//                   [--throttle-batches B] [--seed S] [--no-cfg-port]
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

#include "tb_common.h"

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




// manifest.csv: "file,shape,..." -> shape "[a;b;c]" as numbers.
std::vector<long> manifest_shape(const std::string &dir, const std::string &file)
{
    std::ifstream f(dir + "/manifest.csv");
    if (!f) die("cannot open " + dir + "/manifest.csv");
    std::string line;
    while (std::getline(f, line)) {
        if (line.compare(0, file.size() + 1, file + ",") != 0) continue;
        const size_t a = line.find('['), b = line.find(']');
        std::vector<long> d;
        std::string s = line.substr(a + 1, b - a - 1);
        std::istringstream in(s);
        std::string tok;
        while (std::getline(in, tok, ';')) d.push_back(std::atol(tok.c_str()));
        return d;
    }
    die("manifest.csv has no " + file);
}

struct Options {
    std::string dir, name = "rtl", csv, trace_dir = ".";
    int throttle_batches = 2;
    uint64_t seed = 1;
    bool cfg_port = true;
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

// Selector of fligru_memmap.svh -> file, in load order.


Vectors load(const Options &o)
{
    Vectors v;
    check_params(o.dir, o.dir + "/fx_params.h: ");
    auto shp = manifest_shape(o.dir, "input.hex");
    if (shp.size() != 3 || shp[1] != T || shp[2] != 1)
        die("input.hex: shape is not [pixels;" + std::to_string(T) + ";1]");
    v.n = shp[0];
    v.x = read_hex(o.dir + "/input.hex", (size_t)v.n * T);
    v.enc_h = read_hex(o.dir + "/enc_h_l0.hex", (size_t)v.n * T * H);
    v.dec_h = read_hex(o.dir + "/dec_h_l0.hex", (size_t)v.n * T * H);
    v.y = read_hex(o.dir + "/output.hex", (size_t)v.n * T * C);
    for (const auto &m : kMems) {
        const std::string path = o.dir + "/" + m.file;
        if (!exists(path)) {
            // Absent by design: b_hh (reset-before), tables (hard kinds).
            const bool optional = m.sel == 7 || m.sel == 12 || m.sel >= 17;
            if (!optional) die("missing " + path);
            continue;
        }
        v.mems.emplace_back(m.sel, read_hex(path, 0));
    }
    return v;
}

// docs §1.1 shr with the datapath's rounding (as fl_fx_shr); s in [-62, 62].
int64_t shr(int64_t v, int s)
{
    if (s == 0) return v;
    if (s < 0) return (int64_t)((uint64_t)v << -s);
    const int64_t h = INT64_C(1) << (s - 1);
    switch (FLIGRU_TB_ROUNDING) {
    case 1: return (v + h) >> s;
    case 2: return (v + h - 1 + ((v >> s) & 1)) >> s;
    default: return v >> s;
    }
}
bool fits(int64_t v, int w) { return v >= -(INT64_C(1) << (w - 1)) && v < (INT64_C(1) << (w - 1)); }
int64_t wrap(int64_t v, int w) { return sext((uint64_t)v, w); }

const std::vector<uint64_t> *mem(const Vectors &v, int sel)
{
    for (const auto &m : v.mems)
        if (m.first == sel) return &m.second;
    return nullptr;
}

// Saturation coverage of the vectors themselves: how often the golden model
// hit each clamp and wrap, recomputed from the dumped states, gates and
// weights, so that each configuration's data is known to exercise them.
void coverage(const Options &o, const Vectors &v)
{
    const int wg = FLIGRU_TB_GATE_BITS, wa = FLIGRU_TB_ACC_BITS;
    const int dh = FLIGRU_TB_WEIGHT_FRAC + FLIGRU_TB_STATE_FRAC - FLIGRU_TB_ACC_FRAC;
    const int dx = FLIGRU_TB_WEIGHT_FRAC + FLIGRU_TB_INPUT_FRAC - FLIGRU_TB_ACC_FRAC;
    auto at_rail = [](int64_t x, int w) { return x == (INT64_C(1) << (w - 1)) - 1 || x == -(INT64_C(1) << (w - 1)); };
    long x_sat = 0, gate_sat = 0, tab_clamp = 0, st_sat = 0, out_sat = 0, acc_wrap = 0, resc_sat = 0, n_acc = 0;
    for (uint64_t w : v.x) x_sat += at_rail(sext(w, W_X), W_X);
    for (uint64_t w : v.y) out_sat += at_rail(sext(w, W_O), W_O);
    for (const auto *s : {&v.enc_h, &v.dec_h})
        for (uint64_t w : *s) st_sat += at_rail(sext(w, W_H), W_H);
    std::vector<uint64_t> act[2];
    for (int d = 0; d < 2; ++d) {
        const std::string f = o.dir + (d ? "/dec_l0_pre.hex" : "/enc_l0_pre.hex");
        const std::string fa = o.dir + (d ? "/dec_l0_act.hex" : "/enc_l0_act.hex");
        if (!exists(f) || !exists(fa)) die("vectors without --gates: " + f);
        for (uint64_t w : read_hex(f, (size_t)v.n * T * 3 * H)) {
            const int64_t g = sext(w, wg);
            gate_sat += at_rail(g, wg);
            const int64_t r = INT64_C(1) << (FLIGRU_TB_GATE_FRAC + FLIGRU_TB_SIGMOID_RANGE_LOG2);
            tab_clamp += g < -r || g >= r;
        }
        act[d] = read_hex(fa, (size_t)v.n * T * 3 * H);
    }
    // Recurrent accumulators and their rescale, every row of every step.
    std::vector<int64_t> h(H), op(H);
    for (int d = 0; d < 2; ++d) {
        const auto *w = mem(v, d ? 8 : 3), *m = mem(v, d ? 9 : 4), *sh = mem(v, d ? 10 : 5);
        for (long p = 0; p < v.n; ++p)
            for (int t = 0; t < T; ++t) {
                for (int k = 0; k < H; ++k) {
                    if (!d) h[k] = t ? sext(v.enc_h[((size_t)p * T + t - 1) * H + k], W_H) : 0;
                    else h[k] = sext(t ? v.dec_h[((size_t)p * T + t - 1) * H + k] : v.enc_h[((size_t)p * T + T - 1) * H + k], W_H);
                }
                for (int j = 0; j < 3 * H; ++j) {
                    const bool nrow = j >= 2 * H;
                    for (int k = 0; k < H; ++k) {
                        op[k] = h[k];
                        if (nrow && !FLIGRU_TB_RESET_AFTER) {   // r ⊙ h
                            const int64_t r = sext(act[d][(((size_t)p * T + t) * 3 + 0) * H + k], FLIGRU_TB_ACT_BITS);
                            int64_t rh = shr(r * h[k], FLIGRU_TB_ACT_FRAC);
                            const int64_t hi = (INT64_C(1) << (W_H - 1)) - 1;
                            op[k] = rh > hi ? hi : rh < -hi - 1 ? -hi - 1 : rh;
                        }
                    }
                    int64_t a = 0;
                    for (int k = 0; k < H; ++k) a += shr(sext((*w)[(size_t)j * H + k], FLIGRU_TB_WEIGHT_BITS) * op[k], dh);
                    ++n_acc;
                    acc_wrap += !fits(a, wa);
                    const int s = (int)sext((*sh)[(size_t)j], 8);
                    const int64_t mm = FLIGRU_TB_POW2 ? 1 : (int64_t)(*m)[(size_t)j];
                    const int64_t prod = wrap(a, wa) * mm;
                    const int64_t res = s < 0 ? (fits(prod, 62 + s) ? shr(prod, s) : (prod < 0 ? INT64_MIN / 2 : INT64_MAX / 2))
                                              : shr(prod, s);
                    resc_sat += !fits(res, wg);
                }
            }
    }
    // Input part (encoder) and dense head.
    const auto *wih = mem(v, 0), *mx = mem(v, 1), *sx = mem(v, 2), *dw = mem(v, 13), *dm = mem(v, 14), *ds = mem(v, 15);
    for (long p = 0; p < v.n; ++p)
        for (int t = 0; t < T; ++t) {
            const int64_t x = sext(v.x[(size_t)p * T + t], W_X);
            for (int j = 0; j < 3 * H; ++j) {
                const int64_t a = shr(sext((*wih)[(size_t)j], FLIGRU_TB_WEIGHT_BITS) * x, dx);
                ++n_acc;
                acc_wrap += !fits(a, wa);
                const int s = (int)sext((*sx)[(size_t)j], 8);
                const int64_t mm = FLIGRU_TB_POW2 ? 1 : (int64_t)(*mx)[(size_t)j];
                resc_sat += !fits(shr(wrap(a, wa) * mm, s), wg);
            }
            for (int c = 0; c < C; ++c) {
                int64_t a = 0;
                for (int k = 0; k < H; ++k)
                    a += shr(sext((*dw)[(size_t)c * H + k], FLIGRU_TB_WEIGHT_BITS) *
                                 sext(v.dec_h[((size_t)p * T + t) * H + k], W_H), dh);
                ++n_acc;
                acc_wrap += !fits(a, wa);
                const int s = (int)sext((*ds)[(size_t)c], 8);
                const int64_t mm = FLIGRU_TB_POW2 ? 1 : (int64_t)(*dm)[(size_t)c];
                resc_sat += !fits(shr(wrap(a, wa) * mm, s), W_O);
            }
        }
    std::printf("rtl_tb %s: vectors: %ld pixels x %d steps; saturations and wraps in the golden data: input %ld, "
                "accumulator wraps %ld of %ld, rescale %ld, gate pre-activation %ld, beyond the sigmoid table "
                "range %ld, state %ld, output %ld\n",
                o.name.c_str(), v.n, T, x_sat, acc_wrap, n_acc, resc_sat, gate_sat, tab_clamp, st_sat, out_sat);
}

struct Result {
    uint64_t cycles = 0, steady_cycles = 0, steady_pixels = 0, beats = 0, steady_beats = 0;
    long states = 0, outputs = 0;
    int ctx = 0;
    Mismatch mm;
};

// One simulation. With trace_from >= 0, an FST trace of cycles [trace_from,
// trace_to] is written to trace_path.
Result simulate(const Options &o, const Vectors &v, int64_t trace_from, uint64_t trace_to,
                const std::string &trace_path)
{
    auto ctx = std::make_unique<VerilatedContext>();
    ctx->traceEverOn(trace_from >= 0);
    auto top = std::make_unique<Top>(ctx.get());
    std::unique_ptr<VerilatedFstC> tfp;
    Result r;
    std::mt19937_64 rng(o.seed);
    std::bernoulli_distribution coin(0.3);
    uint64_t cyc = 0;

    auto tick = [&]() {
        top->clk_i = 1;
        top->eval();
        if (tfp && (int64_t)cyc >= trace_from) tfp->dump(2 * cyc + 1);
        ++cyc;
        top->clk_i = 0;
        top->eval();
        if (trace_from >= 0 && !tfp && (int64_t)cyc >= trace_from) {
            tfp = std::make_unique<VerilatedFstC>();
            top->trace(tfp.get(), 99);
            tfp->open(trace_path.c_str());
        }
        if (tfp && (int64_t)cyc >= trace_from) tfp->dump(2 * cyc);
    };

    top->clk_i = 0;
    top->rst_ni = 0;
    top->cfg_valid_i = 0;
    top->in_valid_i = 0;
    top->out_ready_i = 0;
    top->eval();
    for (int i = 0; i < 4; ++i) tick();
    top->rst_ni = 1;
    tick();
    r.ctx = top->info_ctx_o;

    if (o.cfg_port) {
        for (const auto &m : v.mems) {
            for (size_t i = 0; i < m.second.size(); ++i) {
                top->cfg_valid_i = 1;
                top->cfg_sel_i = m.first;
                top->cfg_first_i = i == 0;
                top->cfg_data_i = (uint32_t)m.second[i];
                if (!top->cfg_ready_o) die("cfg_ready_o low");
                tick();
            }
        }
        top->cfg_valid_i = 0;
        tick();
    }

    const long n = v.n;
    const long batch = (long)r.ctx * E;
    // Two streams. The first (throttle_batches and a half batches' worth of
    // pixels) has random gaps on in_valid and out_ready and ends with in_last
    // on a partial batch; the bench then waits until busy_o falls (flush,
    // bubble rounds, idle) and sends the rest at full rate, where the
    // steady-state cycles per pixel are measured.
    const long n1 = std::min(n, (long)o.throttle_batches * batch + std::max(1L, batch / 2));
    const long throttle_words = n1 * T;
    std::vector<uint8_t> seen_h((size_t)n * 2 * T * H, 0), seen_y((size_t)n * T, 0);
    std::vector<uint64_t> done_at((size_t)n, 0);
    std::vector<int> outs_left((size_t)n, T);
    long word = 0, pixels_done = 0;
    const uint64_t limit = 400000000ull;

    while (pixels_done < n && !r.mm.hit) {
        if (cyc > limit) die("no progress: " + std::to_string(pixels_done) + " of " + std::to_string(n) +
                             " pixels done after " + std::to_string(cyc) + " cycles");
        const bool throttled = word < throttle_words;
        const bool gap = word == throttle_words && (pixels_done < n1 || top->busy_o);
        // Outputs depend on registers only: sample them, then drive the
        // inputs that the coming edge takes (Verilator settles input logic first).
        const bool in_v = word < n * T && !gap && !(throttled && coin(rng));
        const bool out_r = !(throttled && coin(rng));
        top->in_valid_i = in_v;
        top->in_data_i = word < n * T ? (uint32_t)v.x[(size_t)word] : 0;
        top->in_last_i = word == n * T - 1 || word == throttle_words - 1;
        top->out_ready_i = out_r;
        if (in_v && top->in_ready_o) ++word;
        if (top->dbg_beat_o) ++r.beats;
        for (int e = 0; e < E && !r.mm.hit; ++e) {
            if (!((top->dbg_valid_o >> e) & 1)) continue;
            const long pix = (long)bits(top->dbg_pixel_o, 32 * e, 32);
            const int dec = top->dbg_dec_o, t = top->dbg_step_o, j = top->dbg_unit_o;
            const uint64_t act = bits(top->dbg_h_o, W_H * e, W_H);
            if (pix >= n || t >= T || j >= H) {
                char b[160];
                std::snprintf(b, sizeof b, "debug port tag out of range: pixel %ld step %d unit %d", pix, t, j);
                r.mm = {true, cyc, b};
                break;
            }
            const size_t idx = ((size_t)pix * T + t) * H + j;
            const uint64_t exp = (dec ? v.dec_h : v.enc_h)[idx] & mask(W_H);
            uint8_t &s = seen_h[((size_t)pix * 2 + dec) * T * H + (size_t)t * H + j];
            if (exp != act || s) {
                char b[320];
                std::snprintf(b, sizeof b,
                              "MISMATCH %s state: pixel %ld step %d (%s) unit %d engine %d expected 0x%0*" PRIx64
                              " (%" PRId64 ") actual 0x%0*" PRIx64 " (%" PRId64 ") cycle %" PRIu64 "%s",
                              o.name.c_str(), pix, t, dec ? "decoder" : "encoder", j, e, (W_H + 3) / 4, exp,
                              sext(exp, W_H), (W_H + 3) / 4, act, sext(act, W_H), cyc,
                              s ? " (seen twice)" : "");
                r.mm = {true, cyc, b};
                break;
            }
            s = 1;
            ++r.states;
        }
        if (!r.mm.hit && top->out_valid_o && out_r) {
            const long pix = (long)top->out_pixel_o;
            const int t = top->out_step_o;
            if (pix >= n || t >= T || seen_y[(size_t)pix * T + t]) {
                char b[160];
                std::snprintf(b, sizeof b, "MISMATCH %s output tag: pixel %ld step %d %s cycle %" PRIu64,
                              o.name.c_str(), pix, t, pix < n && t < T ? "seen twice" : "out of range", cyc);
                r.mm = {true, cyc, b};
            } else {
                for (int c = 0; c < C; ++c) {
                    const uint64_t act = bits(top->out_data_o, W_O * c, W_O);
                    const uint64_t exp = v.y[((size_t)pix * T + t) * C + c] & mask(W_O);
                    if (act != exp) {
                        char b[320];
                        std::snprintf(b, sizeof b,
                                      "MISMATCH %s output: pixel %ld step %d channel %d expected 0x%0*" PRIx64
                                      " (%" PRId64 ") actual 0x%0*" PRIx64 " (%" PRId64 ") cycle %" PRIu64,
                                      o.name.c_str(), pix, t, c, (W_O + 3) / 4, exp, sext(exp, W_O),
                                      (W_O + 3) / 4, act, sext(act, W_O), cyc);
                        r.mm = {true, cyc, b};
                        break;
                    }
                }
                seen_y[(size_t)pix * T + t] = 1;
                ++r.outputs;
                if (--outs_left[(size_t)pix] == 0) {
                    done_at[(size_t)pix] = cyc;
                    ++pixels_done;
                }
            }
        }
        tick();
        if (trace_from >= 0 && cyc > trace_to) break;
    }
    r.cycles = cyc;
    if (tfp) tfp->close();
    if (r.mm.hit || trace_from >= 0) return r;

    // every state and output exactly once
    for (size_t i = 0; i < seen_h.size(); ++i)
        if (!seen_h[i]) {
            const long pix = (long)(i / (2 * T * H));
            r.mm = {true, cyc, "state never reported: pixel " + std::to_string(pix)};
            return r;
        }
    // Steady state: the second stream's full batches, measured between batch
    // completions (a batch = ctx x engines pixels finishes together).
    const long nb = (n - n1) / batch;
    if (nb >= 3) {
        uint64_t t0 = 0, t1 = 0;
        for (long p = n1; p < n1 + batch; ++p) t0 = std::max(t0, done_at[(size_t)p]);
        for (long p = n1 + (nb - 1) * batch; p < n1 + nb * batch; ++p) t1 = std::max(t1, done_at[(size_t)p]);
        r.steady_cycles = t1 - t0;
        r.steady_pixels = (uint64_t)(nb - 1) * batch;
    } else {
        std::printf("rtl_tb %s: too few pixels for a steady-state measurement\n", o.name.c_str());
    }
    return r;
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
