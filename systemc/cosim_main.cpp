// cosim_main.cpp - three-way co-simulation: the Verilated RTL (verilator --sc),
// the SystemC model (flsc::FligruSc) and the C reference (fl_fx_forward_ref)
// on the same `fligru vectors` directory.
//
//   fligru_cosim_<config> VECTORS_DIR --model Q.safetensors [--name N] [--csv FILE]
//       [--trace-dir DIR] [--throttle-batches B] [--seed S] [--inject KIND:N]
//       [--arith ref|batch|fast] [+trace] [+trace-from=CYCLE] [+stop-at=CYCLE]
//
// One executable per configuration (the RTL's parameters are compile-time:
// FLIGRU_TB_* macros, the same as tests/rtl/rtl_tb.cpp's); the SystemC model
// gets the same values at run time. The bench drives one stimulus into both
// designs (the RTL bench's: memories through the configuration port, a first
// stream with random gaps on in_valid and out_ready and a partial last batch,
// then the rest at full rate) and compares, at every cycle:
//  - RTL against model: in_ready, out_valid, busy, dbg_beat, dbg_valid, and
//    when valid the output beat (pixel, step, C words) and every debug state
//    (unit, step, encoder/decoder, pixel, h);
//  - RTL against the C reference: every new state and every output.
// The first difference stops the run with one report line (pixel, step, unit,
// expected, actual, cycle) and, unless +trace was given, the same binary is
// run again with +trace over a window before that cycle: an FST of the RTL
// and a VCD of the model in --trace-dir. Exit 0 pass, 1 mismatch, 2 bad input
// (one line). --inject is a test hook that perturbs one side on purpose
// (model-h:N flips a bit of the model's N-th debug state, model-ready:N
// inverts the model's in_ready at cycle N, ref:N flips a bit of the
// reference's N-th output word). --arith chooses the model's arithmetic
// (flsc::Arith; default fast, with the input stream preloaded): every mode
// must give the same port values.
#include FLIGRU_CS_HEADER
#include "verilated.h"
#include "verilated_fst_sc.h"

#include "fligru_sc.h"
#include "vcd.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace {

using Top = FLIGRU_CS_TOP;
// Value type of a Verilated SystemC port (declared as a reference to the root's port).
template <typename Port> using port_t = typename std::remove_reference_t<Port>::data_type;


std::string g_name = "cosim";

[[noreturn]] void die(const std::string &msg)
{
    std::fprintf(stderr, "cosim %s: %s\n", g_name.c_str(), msg.c_str());
    std::exit(2);
}

#include "fligru_build.h"


// Bits [lsb, lsb+w) of a Verilated SystemC port value.
uint64_t bits(uint64_t v, int lsb, int w) { return lsb >= 64 ? 0 : (v >> lsb) & mask(w); }
template <int N> uint64_t bits(const sc_dt::sc_bv<N> &v, int lsb, int w)
{
    return v.range(lsb + w - 1, lsb).to_uint64();
}





struct Options {
    std::string dir, model, name = "cosim", csv, trace_dir = ".";
    int throttle_batches = 2;
    uint64_t seed = 1;
    bool trace = false;
    uint64_t trace_from = 0, stop_at = 0;
    std::string inject;
    long inject_n = -1;
    flsc::Arith arith = flsc::Arith::fast;
};

// The C reference over every pixel: states [n][T][H] (encoder, decoder), outputs [n][T][C].
struct Reference {
    long n = 0;
    std::vector<int32_t> x, enc_h, dec_h, y;
};

Reference reference(const Options &o, const fl_fx_model &q)
{
    Reference r;
    const VecSet vs(o.dir);
    const long n = vs.pixels();
    r.n = n;
    auto xs = vs.read("input.hex");
    r.x.resize(xs.size());
    for (size_t i = 0; i < xs.size(); ++i) r.x[i] = (int32_t)sext(xs[i], W_X);
    r.enc_h.resize((size_t)n * T * H);
    r.dec_h.resize((size_t)n * T * H);
    r.y.resize((size_t)n * T * C);
    for (long p = 0; p < n; ++p) {
        fl_fx_trace tr;
        std::memset(&tr, 0, sizeof tr);
        tr.enc_h[0] = &r.enc_h[(size_t)p * T * H];
        tr.dec_h[0] = &r.dec_h[(size_t)p * T * H];
        if (fl_fx_forward_ref(&q, &r.x[(size_t)p * T], T, &r.y[(size_t)p * T * C], &tr))
            die(std::string("reference: ") + fl_error());
    }
    // The vectors were made from this model: their outputs are the reference's.
    auto yv = vs.read("output.hex", (size_t)n * T * C);
    for (size_t i = 0; i < yv.size(); ++i)
        if ((yv[i] & mask(W_O)) != ((uint64_t)r.y[i] & mask(W_O)))
            die("vectors from another model: output.hex word " + std::to_string(i) +
                " differs from the C reference on " + o.model);
    return r;
}

void check_provenance(const Options &o)
{
    std::ifstream f(o.dir + "/provenance.txt");
    if (!f) die("cannot open " + o.dir + "/provenance.txt");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const size_t at = text.find("fnv1a64 ");
    if (at == std::string::npos) die(o.dir + "/provenance.txt: no model hash");
    const uint64_t want = std::strtoull(text.c_str() + at + 8, nullptr, 16);
    uint64_t have = 0;
    if (fl_fx_file_hash(o.model.c_str(), &have)) die(fl_error());
    if (have != want) {
        char b[256];
        std::snprintf(b, sizeof b, "vectors from another model: %s/provenance.txt names model hash %016" PRIx64
                      ", %s hashes to %016" PRIx64, o.dir.c_str(), want, o.model.c_str(), have);
        die(b);
    }
}

void check_writable(const std::string &dir)
{
    const std::string probe = dir + "/.cosim_probe";
    FILE *f = std::fopen(probe.c_str(), "w");
    if (!f) die("trace directory " + dir + " cannot be written");
    std::fclose(f);
    std::remove(probe.c_str());
}

struct Mismatch {
    bool hit = false;
    uint64_t cycle = 0;
    std::string text;
};

SC_MODULE(Bench)
{
    sc_core::sc_clock clk{"clk", 10, sc_core::SC_NS, 0.5, 0, sc_core::SC_NS, true};
    sc_core::sc_signal<bool> rst_n{"rst_n"}, cfg_valid{"cfg_valid"}, cfg_first{"cfg_first"}, cfg_ready{"cfg_ready"};
    sc_core::sc_signal<uint32_t> cfg_sel{"cfg_sel"}, cfg_data{"cfg_data"};
    sc_core::sc_signal<bool> in_valid{"in_valid"}, in_last{"in_last"}, out_ready{"out_ready"};
    sc_core::sc_signal<uint32_t> in_data{"in_data"};
    // RTL outputs (types as Verilator declares the ports)
    sc_core::sc_signal<bool> r_in_ready{"r_in_ready"}, r_out_valid{"r_out_valid"}, r_busy{"r_busy"},
        r_dbg_beat{"r_dbg_beat"}, r_dbg_dec{"r_dbg_dec"};
    sc_core::sc_signal<uint32_t> r_out_pixel{"r_out_pixel"}, r_out_step{"r_out_step"}, r_dbg_unit{"r_dbg_unit"},
        r_dbg_step{"r_dbg_step"}, r_info_ctx{"r_info_ctx"};
    sc_core::sc_signal<port_t<decltype(Top::out_data_o)>> r_out_data{"r_out_data"};
    sc_core::sc_signal<port_t<decltype(Top::dbg_valid_o)>> r_dbg_valid{"r_dbg_valid"};
    sc_core::sc_signal<port_t<decltype(Top::dbg_pixel_o)>> r_dbg_pixel{"r_dbg_pixel"};
    sc_core::sc_signal<port_t<decltype(Top::dbg_h_o)>> r_dbg_h{"r_dbg_h"};
    // model outputs
    sc_core::sc_signal<bool> m_in_ready{"m_in_ready"}, m_out_valid{"m_out_valid"}, m_busy{"m_busy"},
        m_dbg_beat{"m_dbg_beat"};
    sc_core::sc_signal<uint32_t> m_out_pixel{"m_out_pixel"}, m_out_step{"m_out_step"}, m_dbg_valid{"m_dbg_valid"};

    Top rtl{"rtl"};
    flsc::FligruSc model;

    const Options &o;
    const Reference &ref;
    std::vector<std::pair<int, std::vector<uint64_t>>> mems;
    Mismatch mm;
    bool done = false, ending = false;
    uint64_t cyc = 0;            // rising edges so far
    uint64_t cfg_words = 0;
    std::unique_ptr<VerilatedFstSc> fst;
    flsc::Vcd vcd;

    // stimulus (tests/rtl/rtl_tb.cpp's)
    std::mt19937_64 rng;
    std::bernoulli_distribution coin{0.3};
    size_t mem_i = 0, word_i = 0;
    int stage = 0;               // 0 reset, 1 configuration, 2 streams
    long word = 0, pixels_done = 0, n1 = 0, throttle_words = 0, batch = 0;
    long states = 0, outputs = 0, model_states = 0;
    std::vector<uint8_t> seen_h, seen_y;
    std::vector<uint64_t> done_at;
    std::vector<int> outs_left;

    Bench(sc_core::sc_module_name nm, const Options &opt, const Reference &r, const fl_fx_model *q,
          const flsc::Params &mp)
        : sc_module(nm), model("model", mp, q), o(opt), ref(r), rng(opt.seed)
    {
        rtl.clk_i(clk);
        rtl.rst_ni(rst_n);
        rtl.cfg_valid_i(cfg_valid);
        rtl.cfg_ready_o(cfg_ready);
        rtl.cfg_sel_i(cfg_sel);
        rtl.cfg_first_i(cfg_first);
        rtl.cfg_data_i(cfg_data);
        rtl.in_valid_i(in_valid);
        rtl.in_ready_o(r_in_ready);
        rtl.in_data_i(in_data);
        rtl.in_last_i(in_last);
        rtl.out_valid_o(r_out_valid);
        rtl.out_ready_i(out_ready);
        rtl.out_pixel_o(r_out_pixel);
        rtl.out_step_o(r_out_step);
        rtl.out_data_o(r_out_data);
        rtl.dbg_valid_o(r_dbg_valid);
        rtl.dbg_unit_o(r_dbg_unit);
        rtl.dbg_dec_o(r_dbg_dec);
        rtl.dbg_step_o(r_dbg_step);
        rtl.dbg_pixel_o(r_dbg_pixel);
        rtl.dbg_h_o(r_dbg_h);
        rtl.dbg_beat_o(r_dbg_beat);
        rtl.info_ctx_o(r_info_ctx);
        rtl.busy_o(r_busy);
        model.clk_i(clk);
        model.rst_ni(rst_n);
        model.in_valid_i(in_valid);
        model.in_last_i(in_last);
        model.out_ready_i(out_ready);
        model.in_data_i(in_data);
        model.in_ready_o(m_in_ready);
        model.out_valid_o(m_out_valid);
        model.dbg_beat_o(m_dbg_beat);
        model.busy_o(m_busy);
        model.out_pixel_o(m_out_pixel);
        model.out_step_o(m_out_step);
        model.dbg_valid_o(m_dbg_valid);

        const long n = ref.n;
        seen_h.assign((size_t)n * 2 * T * H, 0);
        seen_y.assign((size_t)n * T, 0);
        done_at.assign((size_t)n, 0);
        outs_left.assign((size_t)n, T);
        mems = config_memories(VecSet(o.dir));
        if (o.trace) add_vcd();
        SC_METHOD(on_negedge);
        sensitive << clk.negedge_event();
        dont_initialize();
        SC_METHOD(on_posedge);
        sensitive << clk.posedge_event();
        dont_initialize();
    }
    SC_HAS_PROCESS(Bench);

    void add_vcd()
    {
        const flsc::Core *c = &model.core();
        vcd.add("in_valid", 1, [this] { return in_valid.read(); });
        vcd.add("in_ready", 1, [c] { return c->in_ready(); });
        vcd.add("out_ready", 1, [this] { return out_ready.read(); });
        vcd.add("out_valid", 1, [c] { return c->out_valid(); });
        vcd.add("out_pixel", 32, [c] { return c->out_pixel(); });
        vcd.add("out_step", 16, [c] { return c->out_step(); });
        for (int k = 0; k < C; ++k)
            vcd.add("out_data_" + std::to_string(k), W_O, [c, k] { return (uint64_t)c->out_data()[k]; });
        vcd.add("dbg_valid", E, [c] { return c->dbg_valid(); });
        vcd.add("dbg_unit", 7, [c] { return c->dbg_unit(); });
        vcd.add("dbg_dec", 1, [c] { return c->dbg_dec(); });
        vcd.add("dbg_step", 16, [c] { return c->dbg_step(); });
        for (int e = 0; e < E; ++e) {
            vcd.add("dbg_pixel_" + std::to_string(e), 32, [c, e] { return c->dbg_pixel(e); });
            vcd.add("dbg_h_" + std::to_string(e), W_H, [c, e] { return (uint64_t)(int64_t)c->dbg_h(e); });
        }
        vcd.add("dbg_beat", 1, [c] { return c->dbg_beat(); });
        vcd.add("busy", 1, [c] { return c->busy(); });
        vcd.add("mac_en", 1, [c] { return c->mac_en(); });
        vcd.add("pp_en", 1, [c] { return c->pp_en(); });
        vcd.add("phase", 24, [c] { return c->phase(); });
        vcd.add("beat", 16, [c] { return c->beat(); });
        vcd.add("ret_phase", 24, [c] { return c->ret_phase(); });
        vcd.add("ret_units", 7, [c] { return c->ret_units(); });
    }

    void on_posedge() { ++cyc; }

    void fail(const std::string &text)
    {
        if (mm.hit) return;
        mm = {true, cyc, text};
    }

    template <typename A, typename B> void cmp(const char *sig, A rv, B mv, const std::string &tag = "")
    {
        if ((uint64_t)rv == (uint64_t)mv) return;
        char b[320];
        std::snprintf(b, sizeof b, "MISMATCH %s RTL/model: %s%s: RTL 0x%" PRIx64 " model 0x%" PRIx64 " cycle %" PRIu64,
                      o.name.c_str(), sig, tag.c_str(), (uint64_t)rv, (uint64_t)mv, cyc);
        fail(b);
    }

    // Everything both designs show in this cycle (after rising edge cyc).
    void compare()
    {
        const flsc::Core &m = model.core();
        bool m_ready = m.in_ready();
        if (o.inject == "model-ready" && (long)cyc == o.inject_n) m_ready = !m_ready;
        cmp("in_ready", r_in_ready.read(), m_ready);
        cmp("out_valid", r_out_valid.read(), m.out_valid());
        cmp("busy", r_busy.read(), m.busy());
        cmp("dbg_beat", r_dbg_beat.read(), m.dbg_beat());
        cmp("dbg_valid", bits(r_dbg_valid.read(), 0, E), m.dbg_valid());
        if (mm.hit) return;
        if (r_out_valid.read()) {
            const std::string tag = " (pixel " + std::to_string(r_out_pixel.read()) + " step " +
                                    std::to_string(r_out_step.read()) + ")";
            cmp("out_pixel", r_out_pixel.read(), m.out_pixel(), tag);
            cmp("out_step", r_out_step.read(), m.out_step(), tag);
            for (int k = 0; k < C && !mm.hit; ++k)
                cmp(("out_data channel " + std::to_string(k)).c_str(), bits(r_out_data.read(), W_O * k, W_O),
                    (uint64_t)m.out_data()[k] & mask(W_O), tag);
        }
        const uint64_t dv = bits(r_dbg_valid.read(), 0, E);
        for (int e = 0; e < E && !mm.hit; ++e) {
            if (!((dv >> e) & 1)) continue;
            const std::string tag = " engine " + std::to_string(e) + " (pixel " +
                                    std::to_string(bits(r_dbg_pixel.read(), 32 * e, 32)) + " step " +
                                    std::to_string(r_dbg_step.read()) + (r_dbg_dec.read() ? " decoder" : " encoder") +
                                    " unit " + std::to_string(r_dbg_unit.read()) + ")";
            cmp("dbg_unit", r_dbg_unit.read(), m.dbg_unit(), tag);
            cmp("dbg_dec", r_dbg_dec.read(), m.dbg_dec(), tag);
            cmp("dbg_step", r_dbg_step.read(), m.dbg_step(), tag);
            cmp("dbg_pixel", bits(r_dbg_pixel.read(), 32 * e, 32), m.dbg_pixel(e), tag);
            uint64_t mh = (uint64_t)(int64_t)m.dbg_h(e) & mask(W_H);
            if (o.inject == "model-h" && model_states++ == o.inject_n) mh ^= 1;
            cmp("dbg_h", bits(r_dbg_h.read(), W_H * e, W_H), mh, tag);
        }
    }

    // RTL against the C reference (as tests/rtl/rtl_tb.cpp checks the golden vectors).
    void check_reference(bool out_r)
    {
        const long n = ref.n;
        const uint64_t dv = bits(r_dbg_valid.read(), 0, E);
        for (int e = 0; e < E && !mm.hit; ++e) {
            if (!((dv >> e) & 1)) continue;
            const long pix = (long)bits(r_dbg_pixel.read(), 32 * e, 32);
            const int dec = r_dbg_dec.read(), t = (int)r_dbg_step.read(), j = (int)r_dbg_unit.read();
            if (pix >= n || t >= T || j >= H) {
                fail("MISMATCH " + o.name + " debug tag out of range: pixel " + std::to_string(pix) + " step " +
                     std::to_string(t) + " unit " + std::to_string(j) + " cycle " + std::to_string(cyc));
                return;
            }
            const size_t idx = ((size_t)pix * T + t) * H + j;
            const uint64_t exp = (uint64_t)(dec ? ref.dec_h : ref.enc_h)[idx] & mask(W_H);
            const uint64_t act = bits(r_dbg_h.read(), W_H * e, W_H);
            uint8_t &s = seen_h[((size_t)pix * 2 + dec) * T * H + (size_t)t * H + j];
            if (exp != act || s) {
                char b[400];
                std::snprintf(b, sizeof b,
                              "MISMATCH %s RTL/reference state: pixel %ld step %d (%s) unit %d engine %d "
                              "expected 0x%0*" PRIx64 " (%" PRId64 ") actual 0x%0*" PRIx64 " (%" PRId64
                              ") cycle %" PRIu64 "%s",
                              o.name.c_str(), pix, t, dec ? "decoder" : "encoder", j, e, (W_H + 3) / 4, exp,
                              sext(exp, W_H), (W_H + 3) / 4, act, sext(act, W_H), cyc, s ? " (seen twice)" : "");
                fail(b);
                return;
            }
            s = 1;
            ++states;
        }
        if (mm.hit || !(r_out_valid.read() && out_r)) return;
        const long pix = (long)r_out_pixel.read();
        const int t = (int)r_out_step.read();
        if (pix >= n || t >= T || seen_y[(size_t)pix * T + t]) {
            fail("MISMATCH " + o.name + " output tag: pixel " + std::to_string(pix) + " step " + std::to_string(t) +
                 (pix < n && t < T ? " seen twice" : " out of range") + " cycle " + std::to_string(cyc));
            return;
        }
        for (int k = 0; k < C; ++k) {
            const size_t wi = ((size_t)pix * T + t) * C + k;
            const uint64_t act = bits(r_out_data.read(), W_O * k, W_O);
            uint64_t exp = (uint64_t)ref.y[wi] & mask(W_O);
            if (o.inject == "ref" && (long)wi == o.inject_n) exp ^= 1;
            if (act != exp) {
                char b[400];
                std::snprintf(b, sizeof b,
                              "MISMATCH %s RTL/reference output: pixel %ld step %d channel %d expected 0x%0*" PRIx64
                              " (%" PRId64 ") actual 0x%0*" PRIx64 " (%" PRId64 ") cycle %" PRIu64,
                              o.name.c_str(), pix, t, k, (W_O + 3) / 4, exp, sext(exp, W_O), (W_O + 3) / 4, act,
                              sext(act, W_O), cyc);
                fail(b);
                return;
            }
        }
        seen_y[(size_t)pix * T + t] = 1;
        ++outputs;
        if (--outs_left[(size_t)pix] == 0) {
            done_at[(size_t)pix] = cyc;
            ++pixels_done;
        }
    }

    void trace_window()
    {
        if (!o.trace || cyc != std::max<uint64_t>(o.trace_from, 1)) return;
        if (!vcd.open(o.trace_dir + "/" + o.name + ".model.vcd", "model"))
            die("trace " + o.trace_dir + "/" + o.name + ".model.vcd cannot be written");
    }

    void finish()
    {
        done = true;
        sc_core::sc_stop();
    }

    // Sample what the rising edge produced, then drive the next edge's inputs.
    void on_negedge()
    {
        if (done) return;
        trace_window();
        if (vcd.is_open()) vcd.dump((uint64_t)sc_core::sc_time_stamp().value() / 1000);
        if (ending || (o.stop_at && cyc >= o.stop_at)) return finish();
        if (stage == 0) {                       // reset: four edges low, one high
            if (cyc == 4) rst_n.write(true);
            if (cyc == 5) stage = 1;
            if (stage == 0) return;
        }
        if (stage == 1) {                       // memories through the configuration port
            if (mem_i < mems.size()) {
                const auto &m = mems[mem_i];
                if (!cfg_ready.read()) die("cfg_ready_o low");
                cfg_valid.write(true);
                cfg_sel.write((uint32_t)m.first);
                cfg_first.write(word_i == 0);
                cfg_data.write((uint32_t)m.second[word_i]);
                ++cfg_words;
                if (++word_i == m.second.size()) word_i = 0, ++mem_i;
                return;
            }
            cfg_valid.write(false);
            stage = 2;
            batch = (long)r_info_ctx.read() * E;
            n1 = std::min(ref.n, (long)o.throttle_batches * batch + std::max(1L, batch / 2));
            throttle_words = n1 * T;
            return;
        }
        compare();
        if (!mm.hit) {
            const long n = ref.n;
            const bool throttled = word < throttle_words;
            const bool gap = word == throttle_words && (pixels_done < n1 || r_busy.read());
            const bool in_v = word < n * T && !gap && !(throttled && coin(rng));
            const bool out_r = !(throttled && coin(rng));
            check_reference(out_r);
            in_valid.write(in_v);
            in_data.write(word < n * T ? (uint32_t)ref.x[(size_t)word] & (uint32_t)mask(W_X) : 0u);
            in_last.write(word == n * T - 1 || word == throttle_words - 1);
            out_ready.write(out_r);
            if (in_v && r_in_ready.read()) ++word;
            // The RTL bench stops after the edge that follows the last output.
            if (pixels_done >= n) ending = true;
        }
        if (mm.hit) {
            if (!o.trace) return finish();
            // traced run: keep going to the requested stop cycle
        }
        if (cyc > 400000000ull) die("no progress after 4e8 cycles");
    }
};

Options parse(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) die("option " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--name") o.name = g_name = val();
        else if (a == "--model") o.model = val();
        else if (a == "--csv") o.csv = val();
        else if (a == "--trace-dir") o.trace_dir = val();
        else if (a == "--throttle-batches") o.throttle_batches = std::atoi(val().c_str());
        else if (a == "--seed") o.seed = std::strtoull(val().c_str(), nullptr, 10);
        else if (a == "--inject") {
            const std::string v = val();
            const size_t c = v.find(':');
            if (c == std::string::npos) die("--inject KIND:N");
            o.inject = v.substr(0, c);
            o.inject_n = std::atol(v.c_str() + c + 1);
            if (o.inject != "model-h" && o.inject != "model-ready" && o.inject != "ref")
                die("--inject: unknown kind " + o.inject);
        } else if (a == "--arith") {
            const std::string v = val();
            if (!flsc::arith_parse(v, &o.arith)) die("--arith: '" + v + "' is not ref, batch or fast");
        } else if (a == "+trace") o.trace = true;
        else if (a.rfind("+trace-from=", 0) == 0) o.trace_from = std::strtoull(a.c_str() + 12, nullptr, 10);
        else if (a.rfind("+stop-at=", 0) == 0) o.stop_at = std::strtoull(a.c_str() + 9, nullptr, 10);
        else if (a[0] == '+') continue;
        else if (a[0] == '-') die("unknown option " + a);
        else if (o.dir.empty()) o.dir = a;
        else die("unexpected argument " + a);
    }
    if (o.dir.empty() || o.model.empty()) die("usage: fligru_cosim VECTORS_DIR --model Q.safetensors [options]");
    return o;
}

// The model's run-time parameters: this build's compile-time ones.
flsc::Params model_params(const Options &o)
{
    flsc::Params mp;
    mp.hidden = H;
    mp.lanes = P;
    mp.steps = T;
    mp.engines = E;
    mp.outputs = C;
    mp.interleave = FLIGRU_TB_INTERLEAVE;
    mp.reset_after = FLIGRU_TB_RESET_AFTER;
    mp.input_bits = W_X;
    mp.arith = o.arith;
    const std::string perr = flsc::check(mp);
    if (!perr.empty()) die("SystemC model: " + perr);
    return mp;
}

// Runs the bench to its end. With +trace, Verilator's trace attaches after the
// simulation has started: run to the window, then add the FST (the model's VCD
// opens at the same cycle). Returns the wall-clock seconds.
double run_bench(Bench &bench, const Options &o)
{
    const auto t0 = std::chrono::steady_clock::now();
    if (o.trace) {
        const double t_from = (double)std::max<uint64_t>(o.trace_from, 1) * 10.0 - 2.0;
        if (t_from > 0) sc_core::sc_start(t_from, sc_core::SC_NS);
        if (!bench.done) {
            bench.fst = std::make_unique<VerilatedFstSc>();
            bench.rtl.trace(bench.fst.get(), 99);
            bench.fst->open((o.trace_dir + "/" + o.name + ".rtl.fst").c_str());
        }
    }
    sc_core::sc_start();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bench.rtl.final();
    if (bench.fst) bench.fst->close();
    bench.vcd.close();
    return secs;
}

// A mismatch: its report, then this binary again with traces over a window
// before it (unless this run traced already). Returns the exit status 1.
int report_mismatch(const Bench &bench, const Options &o, int argc, char **argv)
{
    std::printf("%s\n", bench.mm.text.c_str());
    if (o.trace) {
        std::printf("cosim %s: FAIL; traces in %s/%s.rtl.fst and %s/%s.model.vcd\n", o.name.c_str(),
                    o.trace_dir.c_str(), o.name.c_str(), o.trace_dir.c_str(), o.name.c_str());
        return 1;
    }
    const uint64_t qb = (3ull * H * H + P - 1) / P;
    const uint64_t window = std::max<uint64_t>(2000, 3ull * bench.model.core().info_ctx() * qb + 200);
    const uint64_t from = bench.mm.cycle > window ? bench.mm.cycle - window : 1;
    std::fflush(stdout);
    std::vector<std::string> args(argv, argv + argc);
    args.push_back("+trace");
    args.push_back("+trace-from=" + std::to_string(from));
    args.push_back("+stop-at=" + std::to_string(bench.mm.cycle + 4));
    std::string cmd;
    for (const auto &a : args) cmd += "'" + a + "' ";
    cmd += ">/dev/null 2>&1";
    const int rc = std::system(cmd.c_str());
    std::printf("cosim %s: FAIL; traces of cycles %" PRIu64 "..%" PRIu64 " in %s/%s.rtl.fst and %s/%s.model.vcd%s\n",
                o.name.c_str(), from, bench.mm.cycle + 4, o.trace_dir.c_str(), o.name.c_str(), o.trace_dir.c_str(),
                o.name.c_str(), rc == -1 ? " (re-run failed)" : "");
    return 1;
}

// Steady state: the second stream's full batches, measured between batch
// completions. Returns cycles per pixel (0: too few pixels), *pixels measured.
double steady_state(const Bench &bench, long n, uint64_t *pixels)
{
    const long batch = bench.batch, n1 = bench.n1, nb = (n - n1) / batch;
    *pixels = 0;
    if (nb < 3) return 0;
    uint64_t t0 = 0, t1 = 0;
    for (long p = n1; p < n1 + batch; ++p) t0 = std::max(t0, bench.done_at[(size_t)p]);
    for (long p = n1 + (nb - 1) * batch; p < n1 + nb * batch; ++p) t1 = std::max(t1, bench.done_at[(size_t)p]);
    *pixels = (uint64_t)(nb - 1) * batch;
    return (double)(t1 - t0) / (double)*pixels;
}

// The PASS lines, and the CSV row when asked for.
void report_pass(Bench &bench, const Options &o, long n, double secs)
{
    uint64_t sp = 0;
    const double cpp = steady_state(bench, n, &sp);
    const flsc::Stats &s = bench.model.core().stats();
    std::printf("cosim %s: PASS: %ld pixels, %ld pixel-steps, %ld states and %ld outputs: RTL = SystemC model = "
                "C reference, 0 mismatches; %" PRIu64 " cycles (RTL and model), %.1f s\n",
                o.name.c_str(), n, n * 2 * T, bench.states, bench.outputs, bench.cyc, secs);
    std::printf("cosim %s: H=%d P=%d E=%d T=%d C=%d Interleave %u; steady state %.2f cycles/pixel over %" PRIu64
                " pixels; model: %" PRIu64 " beats, stalls: operand %" PRIu64 " input %" PRIu64 " output %" PRIu64
                "; arithmetic %s: %" PRIu64 " pixel-steps from %" PRIu64 " batched sets, %" PRIu64 " by the refs\n",
                o.name.c_str(), H, P, E, T, C, bench.model.core().info_ctx(), cpp, sp, s.beats, s.stall_operand,
                s.stall_input, s.stall_output, flsc::arith_name(o.arith), s.steps_batched, s.traj_sets, s.steps_ref);
    if (o.csv.empty()) return;
    FILE *f = std::fopen(o.csv.c_str(), "w");
    if (!f) die("cannot write " + o.csv);
    std::fprintf(f, "config,hidden,lanes,engines,steps,outputs,interleave,pixels,pixel_steps,states_checked,"
                    "outputs_checked,mismatches,cycles,steady_cycles_per_pixel,seconds\n");
    std::fprintf(f, "%s,%d,%d,%d,%d,%d,%u,%ld,%ld,%ld,%ld,0,%" PRIu64 ",%.2f,%.2f\n", o.name.c_str(), H, P, E, T,
                 C, bench.model.core().info_ctx(), n, n * 2 * T, bench.states, bench.outputs, bench.cyc, cpp, secs);
    std::fclose(f);
}

}  // namespace

int sc_main(int argc, char **argv)
{
    Verilated::commandArgs(argc, argv);
    const Options o = parse(argc, argv);
    check_params(VecSet(o.dir), "this RTL build does not support the model: ");
    check_provenance(o);
    fl_fx_model q;
    if (fl_fx_load(o.model.c_str(), &q)) die(fl_error());
    if (q.cfg.layers != 1 || q.cfg.input != 1 || q.cfg.enc_hidden != H || q.cfg.dec_hidden != H || q.cfg.outputs != C)
        die("this RTL build does not support the model's network (layers, input, hidden or outputs differ)");
    check_writable(o.trace_dir);
    const Reference ref = reference(o, q);
    const flsc::Params mp = model_params(o);

    Verilated::traceEverOn(o.trace);
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    Bench bench("bench", o, ref, &q, mp);
    bench.model.core().preload(ref.x.data(), (size_t)ref.n);
    const double secs = run_bench(bench, o);
    if (bench.mm.hit) return report_mismatch(bench, o, argc, argv);
    if (o.stop_at) return 0;
    for (size_t i = 0; i < bench.seen_h.size(); ++i)
        if (!bench.seen_h[i]) {
            std::printf("MISMATCH %s: state never reported: pixel %zu\n", o.name.c_str(), i / (2 * T * H));
            return 1;
        }
    report_pass(bench, o, ref.n, secs);
    fl_fx_model_free(&q);
    return 0;
}
