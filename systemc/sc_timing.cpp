// sc_timing.cpp - fligru_sc_timing: the SystemC model without the RTL. Timing
// only (no numbers computed: sweeps, the frame-level report), or with vectors
// (--vectors: the model's arithmetic on, every state and output checked).
//
//   fligru_sc_timing [CONFIG.yaml] [--hidden H --lanes P --engines E --steps T
//       --outputs C --reset before|after --interleave K] [--pixels N]
//       [--seed S] [--throttle-batches B] [--cfg-words W] [--json] [--name NAME]
//   fligru_sc_timing ... --frame WxH --gate-rate HZ --clock-mhz F [--frames N]
//   fligru_sc_timing ... --vectors DIR --model Q.safetensors [--arith ref|batch|fast]
//
// Bench mode (default) drives the stimulus of tests/rtl/rtl_tb.cpp (a first
// stream of B and a half batches with random gaps on in_valid and out_ready,
// seed S, then the rest at full rate) and prints one CSV line (or JSON):
// total cycles, steady-state cycles per pixel (between batch completions, as
// the RTL bench measures them), latency per pixel, stall cycles, engine
// utilisation. --cfg-words W adds the W cycles of the configuration port load
// the RTL bench spends before the stream (so totals compare with results/rtl).
//
// Frame mode puts a camera in front of the datapath: gate images (one time bin
// of every pixel of a W x H frame) arrive every clock/rate cycles; the pixel
// scheduler streams a frame's pixels (T samples each) once its last gate image
// has arrived, while the camera captures the next. It prints latency per pixel
// (last gate image -> last output), pixels/s, frames/s, and 512 x 512 frames/s
// at the clock, stall cycles and utilisation.
//
// Vectors mode (the model-only runner): bench mode on a `fligru vectors`
// directory and its quantised model, every pixel of input.hex streamed as the
// RTL bench streams it; the model computes the numbers (--arith, default fast:
// the stream is preloaded, flsc::Arith) and each debug state is checked against
// enc_h_l0.hex / dec_h_l0.hex and each output beat against output.hex, as the
// RTL bench does (first difference: one MISMATCH line, exit 1). The CSV line
// gains the columns arith, states_checked, outputs_checked; the pixel count
// is the vectors'.
//
// YAML keys (command-line flags override them): hidden, lanes, engines, steps,
// outputs, reset, interleave, pixels, seed, throttle_batches, cfg_words,
// frame_width, frame_height, frames, gate_rate_hz, clock_mhz.
// Exit 0, or 2 with one line for bad input.
#include "fligru_sc.h"
#include "fligru/fixed.h"
#include "fligru/vectors.h"
#include "fligru/yaml.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string &m)
{
    std::fprintf(stderr, "fligru_sc_timing: %s\n", m.c_str());
    std::exit(2);
}

struct Opts {
    flsc::Params p;
    std::string name = "sc";
    long pixels = 0;             // 0: 2.5 + 4 batches
    uint64_t seed = 1;
    int throttle_batches = 2;
    long cfg_words = 0;
    bool json = false;
    // frame mode
    bool frame = false;
    int fw = 16, fh = 16, frames = 2;
    double gate_rate = 0, clock_mhz = 250;
    // vectors mode
    std::string vectors, model;
};

// Vectors mode's data: the stream, the expected states and outputs.
struct Vectors {
    fl_fx_model q{};
    long n = 0;
    int wh = 0, wo = 0;
    std::vector<int32_t> x;              // [n][T], sign-extended
    std::vector<uint32_t> enc, dec, y;   // [n][T][H] x2, [n][T][C], masked words
};

// All words of a hex file of the vector set (fligru/vectors.h: strict, the
// manifest's shape), `expect` of them.
std::vector<uint32_t> read_words(const fl_vec_set &vs, const char *file, size_t expect)
{
    uint64_t *w = nullptr;
    size_t n = 0;
    if (fl_vec_read(&vs, file, &w, &n)) die(fl_error());
    std::vector<uint32_t> v(w, w + n);
    std::free(w);
    if (n != expect)
        die(std::string(vs.dir) + "/" + file + ": " + std::to_string(n) + " words, expected " + std::to_string(expect));
    return v;
}

uint32_t wmask(int w) { return w >= 32 ? ~0u : (1u << w) - 1; }

void load_vectors(Opts &o, Vectors &v)
{
    if (o.model.empty()) die("--vectors needs --model Q.safetensors");
    if (fl_fx_load(o.model.c_str(), &v.q)) die(fl_error());
    const fl_s2s_config &c = v.q.cfg;
    if (c.layers != 1 || c.input != 1 || c.enc_hidden != o.p.hidden || c.dec_hidden != o.p.hidden ||
        c.outputs != o.p.outputs)
        die("the model does not fit the configuration (layers 1, input 1, hidden " + std::to_string(o.p.hidden) +
            ", outputs " + std::to_string(o.p.outputs) + ")");
    if ((c.reset == FL_RESET_AFTER) != o.p.reset_after) die("the model's reset variant differs from --reset");
    o.p.input_bits = v.q.fmt.input.bits;
    v.wh = v.q.fmt.state.bits;
    v.wo = v.q.fmt.output.bits;
    const int T = o.p.steps, H = o.p.hidden, C = o.p.outputs;
    fl_vec_set vs;
    if (fl_vec_open(o.vectors.c_str(), &vs)) die(fl_error());
    const fl_vec_entry *in = fl_vec_find(&vs, "input.hex");
    if (!in || in->ndims != 3 || in->dims[1] != T || in->dims[2] != 1)
        die(o.vectors + "/manifest.csv: input.hex: shape is not [pixels;" + std::to_string(T) + ";1]");
    const long n = in->dims[0];
    v.n = n;
    const auto xs = read_words(vs, "input.hex", (size_t)n * T);
    v.x.resize(xs.size());
    for (size_t i = 0; i < xs.size(); ++i) v.x[i] = (int32_t)fl_fx_wrap((int64_t)xs[i], o.p.input_bits);
    v.enc = read_words(vs, "enc_h_l0.hex", (size_t)n * T * H);
    v.dec = read_words(vs, "dec_h_l0.hex", (size_t)n * T * H);
    v.y = read_words(vs, "output.hex", (size_t)n * T * C);
    fl_vec_close(&vs);
    for (auto &w : v.enc) w &= wmask(v.wh);
    for (auto &w : v.dec) w &= wmask(v.wh);
    for (auto &w : v.y) w &= wmask(v.wo);
}

long to_long(const std::string &flag, const std::string &v, long lo, long hi)
{
    char *end = nullptr;
    const long x = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || x < lo || x > hi)
        die(flag + ": '" + v + "' is not an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
    return x;
}
double to_double(const std::string &flag, const std::string &v)
{
    char *end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || !(x > 0)) die(flag + ": '" + v + "' is not a positive number");
    return x;
}

void load_yaml(const char *path, Opts &o)
{
    fl_yaml *y;
    if (fl_yaml_load(path, &y)) die(fl_error());
    const fl_yaml_node *r = fl_yaml_root(y);
    static const char *const known[] = {"name", "hidden", "lanes", "engines", "steps", "outputs", "reset",
                                        "interleave", "pixels", "seed", "throttle_batches", "cfg_words",
                                        "frame_width", "frame_height", "frames", "gate_rate_hz", "clock_mhz",
                                        nullptr};
    static const char *const resets[] = {"before", "after", nullptr};
    int reset = o.p.reset_after, seed = (int)o.seed;
    int64_t pixels = o.pixels, cfgw = o.cfg_words;
    const char *name = nullptr;
    fl_status st = fl_yaml_check_known(y, r, known);
    if (!st) st = fl_yaml_get_str(y, r, "name", &name);
    if (!st) st = fl_yaml_get_int(y, r, "hidden", &o.p.hidden, 1, 1000);
    if (!st) st = fl_yaml_get_int(y, r, "lanes", &o.p.lanes, 1, 10000);
    if (!st) st = fl_yaml_get_int(y, r, "engines", &o.p.engines, 1, 1000);
    if (!st) st = fl_yaml_get_int(y, r, "steps", &o.p.steps, 1, 100000);
    if (!st) st = fl_yaml_get_int(y, r, "outputs", &o.p.outputs, 1, 1000);
    if (!st) st = fl_yaml_get_enum(y, r, "reset", resets, &reset);
    if (!st) st = fl_yaml_get_int(y, r, "interleave", &o.p.interleave, 0, 1000);
    if (!st) st = fl_yaml_get_i64(y, r, "pixels", &pixels, 0, INT64_C(100000000));
    if (!st) st = fl_yaml_get_int(y, r, "seed", &seed, 0, 2147483647);
    if (!st) st = fl_yaml_get_int(y, r, "throttle_batches", &o.throttle_batches, 0, 1000);
    if (!st) st = fl_yaml_get_i64(y, r, "cfg_words", &cfgw, 0, INT64_C(100000000));
    if (!st) st = fl_yaml_get_int(y, r, "frame_width", &o.fw, 1, 4096);
    if (!st) st = fl_yaml_get_int(y, r, "frame_height", &o.fh, 1, 4096);
    if (!st) st = fl_yaml_get_int(y, r, "frames", &o.frames, 1, 1000);
    if (!st) st = fl_yaml_get_f64(y, r, "gate_rate_hz", &o.gate_rate, 1e-6, 1e12);
    if (!st) st = fl_yaml_get_f64(y, r, "clock_mhz", &o.clock_mhz, 1e-6, 1e6);
    if (st) die(fl_error());
    if (name) o.name = name;
    if (fl_yaml_get(y, r, "gate_rate_hz")) o.frame = true;
    o.p.reset_after = reset == 1;
    o.seed = (uint64_t)seed;
    o.pixels = (long)pixels;
    o.cfg_words = (long)cfgw;
    fl_yaml_free(y);
}

Opts parse(int argc, char **argv)
{
    Opts o;
    int i = 1;
    if (argc > 1 && argv[1][0] != '-') load_yaml(argv[i++], o);
    for (; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--hidden") o.p.hidden = (int)to_long(a, val(), 1, 1000);
        else if (a == "--lanes") o.p.lanes = (int)to_long(a, val(), 1, 10000);
        else if (a == "--engines") o.p.engines = (int)to_long(a, val(), 1, 1000);
        else if (a == "--steps") o.p.steps = (int)to_long(a, val(), 1, 100000);
        else if (a == "--outputs") o.p.outputs = (int)to_long(a, val(), 1, 1000);
        else if (a == "--interleave") o.p.interleave = (int)to_long(a, val(), 0, 1000);
        else if (a == "--reset") {
            const std::string v = val();
            if (v != "before" && v != "after") die("--reset: '" + v + "' is not before or after");
            o.p.reset_after = v == "after";
        } else if (a == "--pixels") o.pixels = to_long(a, val(), 1, 100000000);
        else if (a == "--seed") o.seed = (uint64_t)to_long(a, val(), 0, 2147483647);
        else if (a == "--throttle-batches") o.throttle_batches = (int)to_long(a, val(), 0, 1000);
        else if (a == "--cfg-words") o.cfg_words = to_long(a, val(), 0, 100000000);
        else if (a == "--json") o.json = true;
        else if (a == "--vectors") o.vectors = val();
        else if (a == "--model") o.model = val();
        else if (a == "--arith") {
            const std::string v = val();
            if (!flsc::arith_parse(v, &o.p.arith)) die("--arith: '" + v + "' is not ref, batch or fast");
        }
        else if (a == "--name") o.name = val();
        else if (a == "--frame") {
            const std::string v = val();
            if (std::sscanf(v.c_str(), "%dx%d", &o.fw, &o.fh) != 2 || o.fw < 1 || o.fh < 1 || o.fw > 4096 || o.fh > 4096)
                die("--frame: '" + v + "' is not WIDTHxHEIGHT (1..4096)");
            o.frame = true;
        } else if (a == "--frames") o.frames = (int)to_long(a, val(), 1, 1000);
        else if (a == "--gate-rate") o.gate_rate = to_double(a, val()), o.frame = true;
        else if (a == "--clock-mhz") o.clock_mhz = to_double(a, val());
        else if (a == "--help" || a == "-h") {
            std::puts("usage: fligru_sc_timing [CONFIG.yaml] [--hidden H --lanes P --engines E --steps T --outputs C\n"
                      "       --reset before|after --interleave K] [--pixels N] [--seed S] [--throttle-batches B]\n"
                      "       [--cfg-words W] [--json] [--frame WxH --gate-rate HZ --clock-mhz F --frames N]\n"
                      "       [--vectors DIR --model Q.safetensors [--arith ref|batch|fast]]");
            std::exit(0);
        } else die("unknown option " + a);
    }
    const std::string err = flsc::check(o.p);
    if (!err.empty()) die("the RTL does not support this configuration: " + err);
    if (o.frame && !(o.gate_rate > 0)) die("frame mode needs --gate-rate HZ (gate images per second)");
    if (o.frame && !o.vectors.empty()) die("--vectors and frame mode exclude each other");
    return o;
}

// Pixel completion and latency bookkeeping shared by both modes.
struct Tally {
    std::vector<uint64_t> first_in, done_at;
    std::vector<int> outs_left;
    long done = 0;
    void init(long n, int T)
    {
        first_in.assign((size_t)n, 0);
        done_at.assign((size_t)n, 0);
        outs_left.assign((size_t)n, T);
    }
    void output(uint32_t pix, uint64_t cyc)
    {
        if (pix < outs_left.size() && --outs_left[pix] == 0) done_at[pix] = cyc, ++done;
    }
};

// The model in a SystemC process: the clock is kept as simulated time, but the
// process advances the core a quantum of cycles per wait (temporal decoupling;
// the core itself is cycle by cycle).
SC_MODULE(TimingTop)
{
    static constexpr int kQuantum = 4096;
    static constexpr double kPeriodNs = 10.0;
    flsc::Core core;
    const Opts &o;
    Tally tally;
    uint64_t cyc = 0;
    long n = 0, n1 = 0, batch = 0;
    double steady = 0;
    uint64_t steady_pixels = 0;
    // frame mode
    double gate_period = 0;          // cycles per gate image
    uint64_t starved = 0;            // cycles the scheduler had no complete pixel to send

    const Vectors *vec;
    long states_checked = 0, outputs_checked = 0;

    TimingTop(sc_core::sc_module_name nm, const Opts &opt, const Vectors *v)
        : sc_module(nm), core(opt.p, v ? &v->q : nullptr), o(opt), vec(v)
    {
        if (vec) core.preload(vec->x.data(), (size_t)vec->n);
        SC_THREAD(run);
    }

    [[noreturn]] void mismatch(const std::string &what)
    {
        std::printf("MISMATCH %s model/vectors: %s cycle %" PRIu64 "\n", o.name.c_str(), what.c_str(), cyc);
        std::exit(1);
    }

    // The edge's debug states and the beat taken now against the vectors.
    void check(bool out_taken)
    {
        const int T = o.p.steps, H = o.p.hidden, C = o.p.outputs;
        const uint32_t dv = core.dbg_valid();
        if (dv) {
            const uint32_t t = core.dbg_step(), j = core.dbg_unit();
            const std::vector<uint32_t> &want = core.dbg_dec() ? vec->dec : vec->enc;
            for (int e = 0; e < o.p.engines; ++e) {
                if (!((dv >> e) & 1)) continue;
                const uint32_t pix = core.dbg_pixel(e);
                if (pix >= (uint32_t)vec->n || t >= (uint32_t)T || j >= (uint32_t)H)
                    mismatch("debug tag out of range: pixel " + std::to_string(pix));
                const uint32_t w = want[((size_t)pix * T + t) * H + j], got = (uint32_t)core.dbg_h(e) & wmask(vec->wh);
                if (w != got)
                    mismatch("dbg_h engine " + std::to_string(e) + " (pixel " + std::to_string(pix) + " step " +
                             std::to_string(t) + (core.dbg_dec() ? " decoder" : " encoder") + " unit " +
                             std::to_string(j) + "): expected " + std::to_string(w) + " model " + std::to_string(got));
                ++states_checked;
            }
        }
        if (out_taken) {
            const uint32_t pix = core.out_pixel(), t = core.out_step();
            if (pix >= (uint32_t)vec->n || t >= (uint32_t)T) mismatch("output tag out of range: pixel " + std::to_string(pix));
            for (int k = 0; k < C; ++k) {
                const uint32_t w = vec->y[((size_t)pix * T + t) * C + k], got = (uint32_t)core.out_data()[k] & wmask(vec->wo);
                if (w != got)
                    mismatch("out_data channel " + std::to_string(k) + " (pixel " + std::to_string(pix) + " step " +
                             std::to_string(t) + "): expected " + std::to_string(w) + " model " + std::to_string(got));
            }
            ++outputs_checked;
        }
    }
    SC_HAS_PROCESS(TimingTop);

    void tick(const flsc::In &in)
    {
        core.tick(in);
        if (++cyc % kQuantum == 0) wait(kQuantum * kPeriodNs, sc_core::SC_NS);
    }

    // Reset (four edges), release, the configuration words, one idle edge:
    // the RTL bench's preamble.
    void preamble()
    {
        core.reset();
        cyc = 4;
        flsc::In idle;
        for (long i = 0; i < 2 + o.cfg_words; ++i) tick(idle);
    }

    void run()
    {
        if (o.frame) run_frame();
        else run_bench();
        sc_core::sc_stop();
    }

    void run_bench()
    {
        const int T = o.p.steps, E = o.p.engines;
        batch = (long)core.derived().ctx * E;
        n = o.pixels ? o.pixels : (long)(o.throttle_batches * batch + std::max(1L, batch / 2) + 4 * batch);
        if (vec) n = vec->n;
        tally.init(n, T);
        preamble();
        std::mt19937_64 rng(o.seed);
        std::bernoulli_distribution coin(0.3);
        n1 = std::min(n, (long)o.throttle_batches * batch + std::max(1L, batch / 2));
        const long throttle_words = n1 * T;
        long word = 0;
        bool ending = false;
        while (!ending) {
            if (cyc > 4000000000ull) die("no progress");
            const bool throttled = word < throttle_words;
            const bool gap = word == throttle_words && (tally.done < n1 || core.busy());
            flsc::In in;
            in.in_valid = word < n * T && !gap && !(throttled && coin(rng));
            in.out_ready = !(throttled && coin(rng));
            in.in_last = word == n * T - 1 || word == throttle_words - 1;
            if (vec) {
                check(core.out_valid() && in.out_ready);
                if (word < n * T) in.in_data = (uint32_t)vec->x[(size_t)word];
            }
            if (core.out_valid() && in.out_ready) tally.output(core.out_pixel(), cyc);
            if (in.in_valid && core.in_ready()) {
                if (word % T == 0) tally.first_in[(size_t)(word / T)] = cyc;
                ++word;
            }
            ending = tally.done >= n;
            tick(in);
        }
        const long nb = (n - n1) / batch;
        if (nb >= 3) {
            uint64_t t0 = 0, t1 = 0;
            for (long p = n1; p < n1 + batch; ++p) t0 = std::max(t0, tally.done_at[(size_t)p]);
            for (long p = n1 + (nb - 1) * batch; p < n1 + nb * batch; ++p) t1 = std::max(t1, tally.done_at[(size_t)p]);
            steady_pixels = (uint64_t)(nb - 1) * batch;
            steady = (double)(t1 - t0) / (double)steady_pixels;
        }
    }

    void run_frame()
    {
        const int T = o.p.steps;
        const long fp = (long)o.fw * o.fh;
        n = fp * o.frames;
        batch = (long)core.derived().ctx * o.p.engines;
        tally.init(n, T);
        preamble();
        gate_period = o.clock_mhz * 1e6 / o.gate_rate;
        const uint64_t t_start = cyc;
        // frame f is complete (its last gate image in) at t_start + (f + 1) T gate periods
        auto avail = [&](long pix) { return t_start + (uint64_t)((double)((pix / fp) + 1) * T * gate_period); };
        long word = 0;
        bool ending = false;
        while (!ending) {
            const bool have = word < n * T && cyc >= avail(word / T);
            flsc::In in;
            in.in_valid = have;
            in.out_ready = true;
            in.in_last = word == n * T - 1;
            if (word < n * T && !have && core.in_ready()) ++starved;
            if (core.out_valid()) tally.output(core.out_pixel(), cyc);
            if (in.in_valid && core.in_ready()) {
                if (word % T == 0) tally.first_in[(size_t)(word / T)] = cyc;
                ++word;
            }
            ending = tally.done >= n;
            if (!ending && !have && word < n * T && !core.busy() && avail(word / T) > cyc + 1) {
                // nothing in flight until the next frame: jump to it (idle cycles, counted)
                const uint64_t skip = avail(word / T) - cyc - 1;
                starved += skip;
                flsc::In idle;
                for (uint64_t k = 0; k < skip; ++k) tick(idle);
                continue;
            }
            tick(in);
        }
        for (long p = 0; p < n; ++p) tally.first_in[(size_t)p] = avail(p);   // latency from the camera
    }
};

// Latency of every pixel, first sample in -> last output out: mean, max
// (cycles); and the MAC lanes' utilisation (active engine-beats per engine-cycle).
void summary(const TimingTop &top, double *mean, double *max, double *util)
{
    const flsc::Stats &s = top.core.stats();
    *util = s.cycles ? (double)s.active_engine_beats / ((double)top.o.p.engines * (double)s.cycles) : 0;
    double sum = 0;
    *max = 0;
    for (long i = 0; i < top.n; ++i) {
        const double l = (double)(top.tally.done_at[(size_t)i] - top.tally.first_in[(size_t)i]);
        sum += l;
        *max = std::max(*max, l);
    }
    *mean = top.n ? sum / (double)top.n : 0;
}

// Vectors mode: every state and output was compared; the extra columns (CSV
// header and row, JSON fields) that say so.
void vector_columns(TimingTop &top, std::string &head, std::string &row, std::string &json)
{
    const flsc::Params &p = top.o.p;
    const flsc::Stats &s = top.core.stats();
    const long want_states = top.n * 2L * p.steps * p.hidden, want_outputs = top.n * (long)p.steps;
    if (top.states_checked != want_states || top.outputs_checked != want_outputs)
        top.mismatch(std::to_string(top.states_checked) + " states and " + std::to_string(top.outputs_checked) +
                     " outputs reported, expected " + std::to_string(want_states) + " and " +
                     std::to_string(want_outputs));
    char b[400];
    head = ",arith,states_checked,outputs_checked,steps_batched,steps_ref";
    const std::string an = std::string(flsc::arith_name(p.arith)) +
                           (top.core.arith() != p.arith ? std::string(":") + flsc::arith_name(top.core.arith()) : "");
    std::snprintf(b, sizeof b, ",%s,%ld,%ld,%" PRIu64 ",%" PRIu64, an.c_str(), top.states_checked,
                  top.outputs_checked, s.steps_batched, s.steps_ref);
    row = b;
    std::snprintf(b, sizeof b, ",\"arith\":\"%s\",\"states_checked\":%ld,\"outputs_checked\":%ld,"
                  "\"steps_batched\":%" PRIu64 ",\"steps_ref\":%" PRIu64, an.c_str(), top.states_checked,
                  top.outputs_checked, s.steps_batched, s.steps_ref);
    json = b;
}

// Bench mode's report: one CSV row (or JSON object).
void print_bench(const TimingTop &top, const Opts &o, double secs, const std::string &vhead,
                 const std::string &vline, const std::string &vjson)
{
    const flsc::Params &p = o.p;
    const flsc::Derived &d = top.core.derived();
    const flsc::Stats &s = top.core.stats();
    double lat_mean, lat_max, util;
    summary(top, &lat_mean, &lat_max, &util);
    const double sim_ps = secs > 0 ? (double)top.n * 2.0 * p.steps / secs : 0;   // pixel-steps per second simulated
    if (o.json) {
        std::printf("{\"config\":\"%s\",\"hidden\":%d,\"lanes\":%d,\"engines\":%d,\"steps\":%d,\"outputs\":%d,"
                    "\"reset\":\"%s\",\"interleave\":%d,\"beats_per_phase\":%d,\"pixels\":%ld,\"cycles\":%" PRIu64
                    ",\"steady_cycles_per_pixel\":%.2f,\"latency_mean\":%.1f,\"latency_max\":%.0f,"
                    "\"stall_operand\":%" PRIu64 ",\"stall_input\":%" PRIu64 ",\"stall_output\":%" PRIu64
                    ",\"idle\":%" PRIu64 ",\"utilisation\":%.4f,\"sim_pixel_steps_per_s\":%.0f%s}\n",
                    o.name.c_str(), p.hidden, p.lanes, p.engines, p.steps, p.outputs,
                    p.reset_after ? "after" : "before", d.ctx, d.q, top.n, top.cyc, top.steady, lat_mean, lat_max,
                    s.stall_operand, s.stall_input, s.stall_output, s.idle, util, sim_ps, vjson.c_str());
        return;
    }
    std::printf("config,hidden,lanes,engines,steps,outputs,reset,interleave,beats_per_phase,pixels,cycles,"
                "steady_cycles_per_pixel,latency_mean,latency_max,stall_operand,stall_input,stall_output,idle,"
                "utilisation,sim_pixel_steps_per_s%s\n", vhead.c_str());
    std::printf("%s,%d,%d,%d,%d,%d,%s,%d,%d,%ld,%" PRIu64 ",%.2f,%.1f,%.0f,%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%" PRIu64 ",%.4f,%.0f%s\n",
                o.name.c_str(), p.hidden, p.lanes, p.engines, p.steps, p.outputs,
                p.reset_after ? "after" : "before", d.ctx, d.q, top.n, top.cyc, top.steady, lat_mean, lat_max,
                s.stall_operand, s.stall_input, s.stall_output, s.idle, util, sim_ps, vline.c_str());
}

// Frame mode's report: throughput of the camera stream, and what bounds it.
void print_frame(const TimingTop &top, const Opts &o, double secs)
{
    const flsc::Params &p = o.p;
    const flsc::Derived &d = top.core.derived();
    const flsc::Stats &s = top.core.stats();
    double lat_mean, lat_max, util;
    summary(top, &lat_mean, &lat_max, &util);
    const double fclk = o.clock_mhz * 1e6;
    const uint64_t t0 = top.tally.first_in.empty() ? 0 : top.tally.first_in[0] - (uint64_t)(p.steps * top.gate_period);
    uint64_t t_end = 0;
    for (uint64_t t : top.tally.done_at) t_end = std::max(t_end, t);
    const double span_s = (double)(t_end - t0) / fclk;
    const double pix_s = (double)top.n / span_s;
    // Datapath capacity: the schedule's 2T ceil(3H^2/P) / E cycles per pixel,
    // which bench mode measures (ctest sc.cycles checks it against the RTL).
    const double cpp_formula = 2.0 * p.steps * d.q / p.engines;
    const double camera_fps = o.gate_rate / p.steps;
    const double dp_fps512 = fclk / (cpp_formula * 512.0 * 512.0);
    const double fps512 = std::min(camera_fps, dp_fps512);
    std::printf("config,hidden,lanes,engines,steps,interleave,clock_mhz,gate_rate_hz,frame,frames,pixels,cycles,"
                "latency_mean_cycles,latency_max_cycles,latency_mean_us,pixels_per_s,frames_per_s,"
                "cycles_per_pixel_datapath,frames512_per_s_datapath,frames512_per_s_camera,frames512_per_s,"
                "stall_input,stall_operand,stall_output,starved,utilisation,sim_seconds\n");
    std::printf("%s,%d,%d,%d,%d,%d,%.1f,%.1f,%dx%d,%d,%ld,%" PRIu64 ",%.1f,%.0f,%.2f,%.1f,%.4f,%.1f,%.4f,%.4f,%.4f,"
                "%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.4f,%.2f\n",
                o.name.c_str(), p.hidden, p.lanes, p.engines, p.steps, d.ctx, o.clock_mhz, o.gate_rate, o.fw, o.fh,
                o.frames, top.n, top.cyc, lat_mean, lat_max, lat_mean / o.clock_mhz, pix_s,
                pix_s / ((double)o.fw * o.fh), cpp_formula, dp_fps512, camera_fps, fps512, s.stall_input,
                s.stall_operand, s.stall_output, top.starved, util, secs);
}

}  // namespace

int sc_main(int argc, char **argv)
{
    Opts o = parse(argc, argv);
    Vectors vec;
    if (!o.vectors.empty()) load_vectors(o, vec);
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    TimingTop top("timing", o, o.vectors.empty() ? nullptr : &vec);
    const auto w0 = std::chrono::steady_clock::now();
    sc_core::sc_start();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    std::string vhead, vline, vjson;
    if (!o.vectors.empty()) {
        vector_columns(top, vhead, vline, vjson);
        fl_fx_model_free(&vec.q);
    }
    if (o.frame) print_frame(top, o, secs);
    else print_bench(top, o, secs, vhead, vline, vjson);
    return 0;
}
