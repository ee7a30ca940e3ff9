/* hwmodel.c - analytic timing, resource, memory and device models (hwmodel.h).
 * docs/sweep.md derives every formula; docs/rtl.md describes the schedule. */
#include "fligru_hw/hwmodel.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/yaml.h"
#include "fligru_sched.h"     /* generated from rtl/fligru_sched.svh */
#include "hw_model_yaml.h"   /* generated from configs/hw-model.yaml: fl_hw_model_yaml[] */

/* The RTL's schedule constants and context count rule come from
 * rtl/fligru_sched.svh (generated fligru_sched.h): SchedLat sizes the default
 * Interleave; SchedRetire is the distance from a phase's end to the first word
 * of its new state being final, as the scoreboard sees it: start(n + d) >=
 * start(n) + Q + SchedRetire for a phase that reads what phase n wrote
 * (h8_p24_k4_stalls in results/rtl/cycles.csv: K = 4, Delay 2, Q = 8 -> 12
 * cycles a phase). */
enum { RTL_MAX_ENGINES = 16,
       RTL_DENSE_STAGES = SchedPushStage - SchedRetStage + 1 };   /* dense head and push */

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int imax(int a, int b) { return a > b ? a : b; }

void fl_hw_point_default(fl_hw_point *p)
{
    memset(p, 0, sizeof *p);
    p->enc_hidden = p->dec_hidden = 32;
    p->layers = 1;
    p->outputs = 3;
    p->steps = 135;
    p->gate_width_ns = 0.09;
    p->lanes = 8;
    p->engines = 1;
    p->interleave = 0;
    p->reset_after = 0;
    p->input_bits = 16;  p->weight_bits = 8;  p->bias_bits = 16;
    p->acc_bits = 32;    p->mult_bits = 16;   p->gate_bits = 18;
    p->act_bits = 16;    p->state_bits = 24;  p->output_bits = 16;
    p->sigmoid = p->tanh = FL_HW_ACT_TABLE;
    p->sigmoid_size_log2 = p->tanh_size_log2 = 10;
    p->pow2 = 0;
    p->clock_mhz = 1000.0 / 4.5;
    p->frame_width = p->frame_height = 512;
    p->dataflow = FL_HW_PIXEL_MAJOR;
}

fl_status fl_hw_point_check(const fl_hw_point *p)
{
    struct { const char *name; int v, lo, hi; } f[] = {
        {"enc_hidden", p->enc_hidden, 1, 4096}, {"dec_hidden", p->dec_hidden, 1, 4096},
        {"layers", p->layers, 1, 8}, {"outputs", p->outputs, 1, 64},
        {"steps", p->steps, 1, 1 << 16}, {"lanes", p->lanes, 1, 1 << 20},
        {"engines", p->engines, 1, 1 << 12}, {"interleave", p->interleave, 0, 256},
        {"input_bits", p->input_bits, 2, 64}, {"weight_bits", p->weight_bits, 2, 64},
        {"bias_bits", p->bias_bits, 2, 64}, {"acc_bits", p->acc_bits, 2, 64},
        {"mult_bits", p->mult_bits, 1, 64}, {"gate_bits", p->gate_bits, 2, 64},
        {"act_bits", p->act_bits, 2, 64}, {"state_bits", p->state_bits, 2, 64},
        {"output_bits", p->output_bits, 2, 64},
        {"sigmoid_size_log2", p->sigmoid_size_log2, 1, 20}, {"tanh_size_log2", p->tanh_size_log2, 1, 20},
        {"frame_width", p->frame_width, 1, 1 << 16}, {"frame_height", p->frame_height, 1, 1 << 16},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; ++i)
        if (f[i].v < f[i].lo || f[i].v > f[i].hi)
            return fl_fail(FL_E_INPUT, "hw point: %s = %d is outside [%d, %d]", f[i].name, f[i].v,
                           f[i].lo, f[i].hi);
    if (!(p->clock_mhz > 0 && p->clock_mhz < 1e5))
        return fl_fail(FL_E_INPUT, "hw point: clock_mhz = %g must be in (0, 1e5)", p->clock_mhz);
    if (p->dataflow != FL_HW_PIXEL_MAJOR && p->dataflow != FL_HW_GATE_MAJOR)
        return fl_fail(FL_E_INPUT, "hw point: dataflow must be pixel_major or gate_major");
    int hmin = p->enc_hidden < p->dec_hidden ? p->enc_hidden : p->dec_hidden;
    if (p->lanes > 3 * hmin)
        return fl_fail(FL_E_INPUT, "hw point: lanes = %d exceeds 3 x hidden = %d (a beat would "
                       "touch a row twice)", p->lanes, 3 * hmin);
    return FL_OK;
}

int fl_hw_rtl_supported(const fl_hw_point *p)
{
    return p->layers == 1 && p->enc_hidden == p->dec_hidden && p->lanes >= 1 &&
           p->lanes <= 3 * p->enc_hidden && p->engines <= RTL_MAX_ENGINES;
}

double fl_hw_macs_per_pixel(const fl_hw_point *p)
{
    double he = p->enc_hidden, hd = p->dec_hidden, t = p->steps, l = p->layers;
    double enc = 3 * he * he * l + 3 * he * 1 + 3 * he * he * (l - 1);   /* W_hh; W_ih (1, then H) */
    double dec = 3 * hd * hd * l + 3 * hd * hd * (l - 1) + p->outputs * hd;  /* zero input is free */
    double bridge = p->enc_hidden == p->dec_hidden ? 0 : he * hd * l;
    return t * (enc + dec) + bridge;
}

/* ---- timing ---------------------------------------------------------------- */

/* Beats of one encoder step and one decoder step (all layers), the shortest
 * phase, and the bridge's beats per pixel. Layer 0 takes W_hh only (its input
 * product is in the post-processor, the decoder's input is zero); a stacked
 * layer l >= 1 also runs its 3H x H input matrix on the lanes (extension). */
static void phases(const fl_hw_point *p, int64_t *step_beats, int64_t *qmin, int64_t *bridge)
{
    int64_t P = p->lanes, he = p->enc_hidden, hd = p->dec_hidden;
    int64_t qe0 = ceil_div(3 * he * he, P), qd0 = ceil_div(3 * hd * hd, P);
    int64_t qe1 = ceil_div(6 * he * he, P), qd1 = ceil_div(6 * hd * hd, P);
    *step_beats = qe0 + qd0 + (p->layers - 1) * (qe1 + qd1);
    *qmin = qe0 < qd0 ? qe0 : qd0;
    *bridge = he == hd ? 0 : ceil_div(he * hd * p->layers, P);
}

fl_status fl_hw_timing_eval(const fl_hw_point *p, fl_hw_timing *t)
{
    fl_status st = fl_hw_point_check(p);
    if (st) return st;
    memset(t, 0, sizeof *t);
    int64_t step_beats, q, bridge;
    phases(p, &step_beats, &q, &bridge);
    int k = p->interleave > 0 ? p->interleave : sched_ctx(q, p->reset_after);
    int delay = sched_delay(k, p->reset_after);
    t->interleave = k;
    t->delay = delay;
    t->beats_per_step = step_beats;

    /* Steady state of the in-order phase stream: a phase reading what the phase
     * d earlier wrote waits until Q + RETIRE cycles after that one started, so
     * each dependency chain of d phases needs max(d Q, Q + RETIRE) cycles.
     * Reset-after: one chain, d = K. Reset-before: part a -> part b (d = Delay)
     * and part b -> next part a (d = K - Delay). Applied to the shortest phase. */
    double qd = (double)q, per = qd;
    int chains[2] = {p->reset_after ? k : delay, p->reset_after ? 0 : k - delay};
    for (int i = 0; i < 2; ++i) {
        if (chains[i] <= 0) continue;
        double need = (qd + SchedRetire) / chains[i];
        if (need > per) per = need;
    }
    double stall = per / qd;
    t->stalls = stall > 1.0;
    t->phase_cycles = per;
    t->cycles_per_pixel_engine = (double)p->steps * (double)step_beats * stall + (double)bridge;
    t->cycles_per_pixel = t->cycles_per_pixel_engine / p->engines;

    /* Latency of one pixel (estimate, not measured by the RTL bench): its T
     * samples load, its 2T steps share the engine with K - 1 other pixels, then
     * the last step's post-processing (11 stages + H units) and the dense head. */
    t->latency_cycles = (int64_t)p->steps + (int64_t)ceil((double)k * t->cycles_per_pixel_engine) +
                        SchedRetStage + p->dec_hidden + RTL_DENSE_STAGES;
    t->latency_us = (double)t->latency_cycles / p->clock_mhz;
    t->pixels_per_s = p->clock_mhz * 1e6 / t->cycles_per_pixel;
    t->frames_per_s = t->pixels_per_s / ((double)p->frame_width * p->frame_height);
    /* lane utilisation: the MACs the lanes run (every matrix but layer 0's
     * input column and the dense head) over the lane-cycles spent */
    double lane_macs = (double)p->steps * 3.0 *
                       ((double)p->enc_hidden * p->enc_hidden + (double)p->dec_hidden * p->dec_hidden) *
                       (2.0 * p->layers - 1.0) +
                       (p->enc_hidden == p->dec_hidden ? 0.0 : (double)p->enc_hidden * p->dec_hidden * p->layers);
    t->efficiency = lane_macs / (t->cycles_per_pixel_engine * (double)p->lanes);
    return FL_OK;
}

/* ---- resources ------------------------------------------------------------- */

/* DSP48E1 cells yosys (mul2dsp, 25 x 18 signed) builds for an a x b signed
 * multiply: wider operands split into 24- and 17-bit unsigned chunks; a product
 * under 9 bits stays in LUTs. */
static int dsp_mult(int a, int b)
{
    if (a < b) { int s = a; a = b; b = s; }
    if (b < 2 || a + b < 9) return 0;
    int na = a <= 25 ? 1 : (int)ceil_div(a - 1, 24);
    int nb = b <= 18 ? 1 : (int)ceil_div(b - 1, 17);
    /* the other orientation may need fewer */
    int ma = b <= 25 ? 1 : (int)ceil_div(b - 1, 24);
    int mb = a <= 18 ? 1 : (int)ceil_div(a - 1, 17);
    return na * nb < ma * mb ? na * nb : ma * mb;
}

/* One memory: D words of W bits. Block RAM above min_bits (yosys's
 * memory_libmap picks LUT RAM for small ones), as 18 Kb halves (at most 36
 * bits wide); LUT RAM as RAM32M (32 x 6) or RAM64M (64 x 3) cells. */
static void memory(int64_t depth, int64_t width, int min_bits, double *bram, double *lutram)
{
    int64_t bits = depth * width;
    if (bits > min_bits) {
        /* the cheapest RAMB18 aspect ratio: 16K x 1 ... 1K x 18, 512 x 36 */
        static const int dc[] = {16384, 8192, 4096, 2048, 1024, 512}, wc[] = {1, 2, 4, 9, 18, 36};
        int64_t best = INT64_MAX;
        for (int i = 0; i < 6; ++i) {
            int64_t n = ceil_div(depth, dc[i]) * ceil_div(width, wc[i]);
            if (n < best) best = n;
        }
        *bram += (double)best;
    } else {
        *lutram += depth <= 32 ? (double)ceil_div(width, 6)
                               : (double)(ceil_div(depth, 64) * ceil_div(width, 3));
    }
}

/* LUT and FF features: lanes, ring and row buffer, the rescales' shifters,
 * the weight banks (docs/sweep.md, "Resource model"). */
static void features_logic(const fl_hw_point *p, double f[FL_HW_NRES][FL_HW_NFEAT])
{
    double E = p->engines, P = p->lanes, C = p->outputs;
    double H = imax(p->enc_hidden, p->dec_hidden);
    int pw = p->pow2 ? p->acc_bits : p->acc_bits + p->mult_bits + 1;  /* rescale product */
    double nr = 6 + C;                                                  /* rescales per engine */
    double shifter = nr * pw * ceil(log2((double)pw));
    /* LUT: lanes (adders into the ring, operand windows), ring and row buffer
     * with its three H:1 read multiplexers, the variable shifters of the
     * rescales, the weight banks' read and scatter logic. */
    f[FL_HW_LUT][0] = 1;
    f[FL_HW_LUT][1] = E * P * (p->acc_bits + p->state_bits);
    f[FL_HW_LUT][2] = E * 3 * H * p->acc_bits;
    f[FL_HW_LUT][3] = E * shifter;
    f[FL_HW_LUT][4] = P * p->weight_bits;
    /* FF: lane pipeline registers, ring + row buffer, post-processor pipeline. */
    f[FL_HW_FF][0] = 1;
    f[FL_HW_FF][1] = E * P * (p->weight_bits + p->state_bits + p->acc_bits);
    f[FL_HW_FF][2] = E * 3 * H * p->acc_bits;
    f[FL_HW_FF][3] = E * nr * pw;
    f[FL_HW_FF][4] = E * (p->state_bits + p->act_bits + p->gate_bits);  /* unit pipeline */
}

static void features_dsp(const fl_hw_point *p, double f[FL_HW_NRES][FL_HW_NFEAT])
{
    double E = p->engines, P = p->lanes, C = p->outputs;
    /* DSP: the lanes, then the post-processor's multipliers per engine:
     * 3 + 3 rescales (recurrent, input) and C (dense) of AccBits x (MultBits+1)
     * (none with pow2), 3 input products, r (.) h or r (.) (W_hn h + b_hn), the
     * update z (h - n), C dense products. */
    double lane = dsp_mult(p->weight_bits, p->state_bits);
    /* the input rescales see w_ih * x sign-extended: at most W + I bits */
    int ax = p->acc_bits < p->weight_bits + p->input_bits ? p->acc_bits : p->weight_bits + p->input_bits;
    double pp = (p->pow2 ? 0 : (3 + C) * dsp_mult(p->acc_bits, p->mult_bits + 1) +
                                3 * dsp_mult(ax, p->mult_bits + 1)) +
                3 * dsp_mult(p->weight_bits, p->input_bits) +
                dsp_mult(p->act_bits, p->reset_after ? p->gate_bits : p->state_bits) +
                dsp_mult(p->act_bits, p->state_bits + 2) +
                C * dsp_mult(p->weight_bits, p->state_bits) +
                /* x_mem addresses slot * T + t (loader, two readers): a
                 * constant multiply, a DSP unless T is a power of two */
                ((p->steps & (p->steps - 1)) ? 3 : 0);
    f[FL_HW_DSP][0] = 1;
    f[FL_HW_DSP][1] = E * P * lane;
    f[FL_HW_DSP][2] = E * pp;
}

/* Block and LUT RAM: the weight banks, per engine the context memories,
 * samples, tables and queues, the per-row constants. */
static void features_memory(const fl_hw_point *p, int bram_min_bits, double f[FL_HW_NRES][FL_HW_NFEAT])
{
    double E = p->engines;
    int hm = imax(p->enc_hidden, p->dec_hidden);
    int64_t step_beats, q, bridge;
    phases(p, &step_beats, &q, &bridge);
    int k = p->interleave > 0 ? p->interleave : sched_ctx(q, p->reset_after);
    /* Memories: P weight banks of every matrix's beats (shared by the engines);
     * per engine the states h, r (.) h (reset-before), z of K contexts and L
     * layers, the input samples of two batches, the activation tables. */
    double bram = 0, lutram = 0;
    for (int i = 0; i < p->lanes; ++i)
        memory(step_beats, p->weight_bits, bram_min_bits, &bram, &lutram);
    double eb = 0, el = 0;
    int64_t ctx_words = (int64_t)k * hm * p->layers;
    /* the state memories h (two read ports: the lanes' operand window and the
     * update, so two copies) and r (.) h stay in LUT RAM at every size the
     * calibration saw (up to 256 x 24): yosys does not move them to block RAM */
    memory(ctx_words, p->state_bits, 1 << 30, &eb, &el);
    memory(ctx_words, p->state_bits, 1 << 30, &eb, &el);
    if (!p->reset_after) memory(ctx_words, p->state_bits, 1 << 30, &eb, &el);
    memory(ctx_words, p->act_bits, bram_min_bits, &eb, &el);
    /* x_mem has two read ports (the r/z and n input products read different
     * steps): yosys builds it twice */
    for (int i = 0; i < 2; ++i)
        memory(2 * (int64_t)k * p->steps, p->input_bits, bram_min_bits, &eb, &el);
    if (p->sigmoid == FL_HW_ACT_TABLE)
        for (int i = 0; i < 2; ++i)
            memory((int64_t)1 << p->sigmoid_size_log2, p->act_bits, bram_min_bits, &eb, &el);
    if (p->tanh == FL_HW_ACT_TABLE)
        memory((int64_t)1 << p->tanh_size_log2, p->act_bits, bram_min_bits, &eb, &el);
    memory(SchedOutqDepth, (int64_t)p->outputs * p->output_bits + 48, bram_min_bits, &eb, &el);
    bram += E * eb;
    lutram += E * el;
    /* pixel ids of two batches of K x E slots */
    memory(2 * (int64_t)k * p->engines, 32, bram_min_bits, &bram, &lutram);
    /* the per-row constants, quad-port LUT RAM (the three gate rows of a unit
     * read at once): RAM32M as 32 x 2, RAM64M as 64 x 1 */
    int64_t rows = 3 * (int64_t)hm * p->layers;
    int wsum = p->weight_bits + 3 * p->mult_bits + 3 * 8 + 2 * p->gate_bits;
    double qp = rows <= 32 ? (double)ceil_div(wsum, 2) : (double)(ceil_div(rows, 64) * wsum);
    int64_t dw = p->outputs * (int64_t)hm;
    qp += dw <= 32 ? (double)ceil_div(p->weight_bits, 2) : (double)(ceil_div(dw, 64) * p->weight_bits);
    lutram += qp;
    f[FL_HW_BRAM][0] = 1;
    f[FL_HW_BRAM][1] = bram;
    f[FL_HW_LUTRAM][0] = 1;
    f[FL_HW_LUTRAM][1] = lutram;
    f[FL_HW_LUTRAM][2] = E;   /* per-engine small queues and tags */
}

void fl_hw_features(const fl_hw_point *p, int bram_min_bits, double f[FL_HW_NRES][FL_HW_NFEAT])
{
    memset(f, 0, sizeof(double) * FL_HW_NRES * FL_HW_NFEAT);
    features_logic(p, f);
    features_dsp(p, f);
    features_memory(p, bram_min_bits, f);
}

static const char *const res_key[FL_HW_NRES] = {"lut", "ff", "dsp", "bram18", "lutram"};
static const char *const res_key_list[] = {"lut", "ff", "dsp", "bram18", "lutram", NULL};

static fl_status coefs_parse(fl_yaml *y, fl_hw_coefs *c)
{
    static const char *const known[] = {"name", "source", "bram_min_bits", "lut", "ff", "dsp",
                                        "bram18", "lutram", "max_rel_err", "mean_rel_err", NULL};
    const fl_yaml_node *root = fl_yaml_root(y);
    fl_status st = fl_yaml_check_known(y, root, known);
    if (st) return st;
    memset(c, 0, sizeof *c);
    c->bram_min_bits = 2048;
    if ((st = fl_yaml_get_int(y, root, "bram_min_bits", &c->bram_min_bits, 0, 1 << 24))) return st;
    const char *src = "";
    if ((st = fl_yaml_get_str(y, root, "source", &src))) return st;
    snprintf(c->source, sizeof c->source, "%s", src);
    for (int r = 0; r < FL_HW_NRES; ++r) {
        const fl_yaml_node *s;
        if ((st = fl_yaml_get_seq(y, root, res_key[r], &s))) return st;
        if (!s) return fl_yaml_fail(y, root, "missing key '%s' (a list of %d coefficients)",
                                    res_key[r], FL_HW_NFEAT);
        if (s->n != FL_HW_NFEAT)
            return fl_yaml_fail(y, s, "expected %d coefficients, got %zu", FL_HW_NFEAT, s->n);
        for (int i = 0; i < FL_HW_NFEAT; ++i)
            if ((st = fl_yaml_as_f64(y, s->items[i], &c->coef[r][i], -1e9, 1e9))) return st;
    }
    static const char *const err_key[] = {"mean_rel_err", "max_rel_err"};
    for (int k = 0; k < 2; ++k) {
        const fl_yaml_node *m;
        if ((st = fl_yaml_get_map(y, root, err_key[k], &m))) return st;
        if (!m) continue;
        if ((st = fl_yaml_check_known(y, m, res_key_list))) return st;
        for (int r = 0; r < FL_HW_NRES; ++r)
            if ((st = fl_yaml_get_f64(y, m, res_key[r], k ? &c->max_rel_err[r] : &c->mean_rel_err[r],
                                      0, 1e6)))
                return st;
    }
    return FL_OK;
}

fl_status fl_hw_coefs_load(const char *path, fl_hw_coefs *c)
{
    fl_yaml *y;
    fl_status st = fl_yaml_load(path, &y);
    if (st) return st;
    st = coefs_parse(y, c);
    fl_yaml_free(y);
    return st;
}

static fl_hw_coefs builtin;

static void builtin_parse(void)
{
    fl_yaml *y;
    if (fl_yaml_parse((const char *)fl_hw_model_yaml, sizeof fl_hw_model_yaml,
                      "configs/hw-model.yaml (built in)", &y) ||
        coefs_parse(y, &builtin)) {
        fprintf(stderr, "fligru_hw: %s\n", fl_error());
        abort();   /* the build embedded a broken file: a bug */
    }
    fl_yaml_free(y);
}

const fl_hw_coefs *fl_hw_coefs_builtin(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;   /* sweep workers call this concurrently */
    pthread_once(&once, builtin_parse);
    return &builtin;
}

fl_status fl_hw_coefs_save(const char *path, const fl_hw_coefs *c, const char *provenance)
{
    static const char *const what[FL_HW_NRES] = {
        "1, E*P*(acc+state), E*3H*acc, E*rescale shifters, P*weight",
        "1, E*P*(weight+state+acc), E*3H*acc, E*(6+C)*rescale width, E*(state+act+gate)",
        "1, E*P*lane DSPs, E*post-processor DSPs, -, -",
        "1, structural 18 Kb blocks, -, -, -",
        "1, structural LUT-RAM cells, E, -, -"};
    FILE *fp = fopen(path, "w");
    if (!fp) return fl_fail(FL_E_IO, "%s: %s", path, strerror(errno));
    fprintf(fp, "# hw-model.yaml - coefficients of the resource model (bench/hw/hwmodel.c,\n"
                "# fl_hw_features: resource = sum_i coef[i] * feature[i]). Written by\n"
                "# bench/hw/calibrate from results/hw-calibration/synth.csv; refit, do not\n"
                "# edit by hand. Compiled into fligru_hw as the built-in coefficients.\n"
                "name: hw-model\n"
                "source: \"%s\"\n"
                "bram_min_bits: %d   # a memory of more bits maps to block RAM\n",
            provenance, c->bram_min_bits);
    for (int r = 0; r < FL_HW_NRES; ++r) {
        fprintf(fp, "%s: [", res_key[r]);
        for (int i = 0; i < FL_HW_NFEAT; ++i)
            fprintf(fp, "%s%.9g", i ? ", " : "", c->coef[r][i]);
        fprintf(fp, "]   # %s\n", what[r]);
    }
    fprintf(fp, "# relative error |model - yosys| / yosys over the calibration rows\n");
    for (int k = 0; k < 2; ++k) {
        fprintf(fp, "%s: {", k ? "max_rel_err" : "mean_rel_err");
        for (int r = 0; r < FL_HW_NRES; ++r)
            fprintf(fp, "%s%s: %.4f", r ? ", " : "", res_key[r],
                    k ? c->max_rel_err[r] : c->mean_rel_err[r]);
        fprintf(fp, "}\n");
    }
    if (fclose(fp)) return fl_fail(FL_E_IO, "%s: %s", path, strerror(errno));
    return FL_OK;
}

/* ---- devices --------------------------------------------------------------- */

static fl_status get_i64_req(fl_yaml *y, const fl_yaml_node *m, const char *key, int64_t *out)
{
    if (!fl_yaml_get(y, m, key)) return fl_yaml_fail(y, m, "missing key '%s'", key);
    return fl_yaml_get_i64(y, m, key, out, 0, INT64_C(1) << 40);
}

static fl_status get_f64_req(fl_yaml *y, const fl_yaml_node *m, const char *key, double *out)
{
    if (!fl_yaml_get(y, m, key)) return fl_yaml_fail(y, m, "missing key '%s'", key);
    return fl_yaml_get_f64(y, m, key, out, 0, 1e9);
}

static fl_status get_str_req(fl_yaml *y, const fl_yaml_node *m, const char *key, char *out,
                             size_t len)
{
    const char *s = NULL;
    if (!fl_yaml_get(y, m, key)) return fl_yaml_fail(y, m, "missing key '%s'", key);
    fl_status st = fl_yaml_get_str(y, m, key, &s);
    if (st) return st;
    if (strlen(s) >= len) return fl_yaml_fail(y, fl_yaml_get(y, m, key), "longer than %zu characters", len - 1);
    snprintf(out, len, "%s", s);
    return FL_OK;
}

fl_status fl_hw_devices_load(const char *path, fl_hw_devices **out)
{
    static const char *const top_known[] = {"dram_efficiency", "devices", NULL};
    static const char *const dev_known[] = {"family", "part", "lut", "ff", "dsp", "bram18", "uram",
                                            "board", "dram_gbs", "dram_gb", NULL};
    *out = NULL;
    fl_yaml *y;
    fl_status st = fl_yaml_load(path, &y);
    if (st) return st;
    fl_hw_devices *d = calloc(1, sizeof *d);
    if (!d) { fl_yaml_free(y); return fl_fail(FL_E_NOMEM, "%s: out of memory", path); }
    snprintf(d->path, sizeof d->path, "%s", path);
    d->dram_efficiency = 0.7;
    const fl_yaml_node *root = fl_yaml_root(y), *devs = NULL;
    if ((st = fl_yaml_check_known(y, root, top_known))) goto fail;
    if ((st = fl_yaml_get_f64(y, root, "dram_efficiency", &d->dram_efficiency, 0.01, 1.0))) goto fail;
    if ((st = fl_yaml_get_map(y, root, "devices", &devs))) goto fail;
    if (!devs || devs->n == 0) { st = fl_yaml_fail(y, root, "missing key 'devices' (a map of devices)"); goto fail; }
    d->dev = calloc(devs->n, sizeof *d->dev);
    if (!d->dev) { st = fl_fail(FL_E_NOMEM, "%s: out of memory", path); goto fail; }
    for (size_t i = 0; i < devs->n; ++i) {
        const fl_yaml_node *m = devs->items[i];
        fl_hw_device *v = &d->dev[i];
        if (m->kind != FL_YAML_MAP) { st = fl_yaml_fail(y, m, "expected a mapping of the device's capacities"); goto fail; }
        if (strlen(devs->keys[i]) >= sizeof v->name) { st = fl_yaml_fail(y, m, "device name too long"); goto fail; }
        snprintf(v->name, sizeof v->name, "%s", devs->keys[i]);
        if ((st = fl_yaml_check_known(y, m, dev_known))) goto fail;
        if ((st = get_str_req(y, m, "family", v->family, sizeof v->family)) ||
            (st = get_str_req(y, m, "part", v->part, sizeof v->part)) ||
            (st = get_str_req(y, m, "board", v->board, sizeof v->board)) ||
            (st = get_i64_req(y, m, "lut", &v->lut)) || (st = get_i64_req(y, m, "ff", &v->ff)) ||
            (st = get_i64_req(y, m, "dsp", &v->dsp)) || (st = get_i64_req(y, m, "bram18", &v->bram18)) ||
            (st = get_i64_req(y, m, "uram", &v->uram)) ||
            (st = get_f64_req(y, m, "dram_gbs", &v->dram_gbs)) ||
            (st = get_f64_req(y, m, "dram_gb", &v->dram_gb)))
            goto fail;
        if (v->lut <= 0 || v->ff <= 0) { st = fl_yaml_fail(y, m, "lut and ff must be > 0"); goto fail; }
        d->n++;
    }
    fl_yaml_free(y);
    *out = d;
    return FL_OK;
fail:
    fl_yaml_free(y);
    fl_hw_devices_free(d);
    return st;
}

void fl_hw_devices_free(fl_hw_devices *d)
{
    if (!d) return;
    free(d->dev);
    free(d);
}

const fl_hw_device *fl_hw_device_find(const fl_hw_devices *d, const char *name)
{
    char known[512] = "";
    size_t len = 0;
    for (int i = 0; i < d->n; ++i) {
        if (!strcmp(d->dev[i].name, name)) return &d->dev[i];
        len += (size_t)snprintf(known + len, len < sizeof known ? sizeof known - len : 0, "%s%s",
                                i ? ", " : "", d->dev[i].name);
        if (len >= sizeof known) len = sizeof known - 1;
    }
    fl_fail(FL_E_INPUT, "%s: device '%s' is not in the catalog (known: %s)", d->path, name, known);
    return NULL;
}

static double pct(int64_t used, int64_t cap) { return cap > 0 ? 100.0 * (double)used / (double)cap : (used > 0 ? 1e9 : 0); }

void fl_hw_fits(const fl_hw_device *d, const fl_hw_resources *r, fl_hw_fit *f)
{
    f->lut_pct = pct(r->lut + 4 * r->lutram, d->lut);   /* RAM32M/RAM64M: four LUTs of a SLICEM */
    f->ff_pct = pct(r->ff, d->ff);
    f->dsp_pct = pct(r->dsp, d->dsp);
    f->bram_pct = pct(r->bram18, d->bram18);
    f->max_pct = f->lut_pct;
    if (f->ff_pct > f->max_pct) f->max_pct = f->ff_pct;
    if (f->dsp_pct > f->max_pct) f->max_pct = f->dsp_pct;
    if (f->bram_pct > f->max_pct) f->max_pct = f->bram_pct;
    f->fits = f->max_pct <= 100.0;
}

fl_status fl_hw_point_from_params(const char *params, fl_hw_point *p)
{
    struct { const char *name; int *v; } map[] = {
        {"Hidden", &p->enc_hidden}, {"DecHidden", &p->dec_hidden}, {"Layers", &p->layers},
        {"Outputs", &p->outputs}, {"Steps", &p->steps}, {"Lanes", &p->lanes},
        {"Engines", &p->engines}, {"Interleave", &p->interleave}, {"ResetAfter", &p->reset_after},
        {"InputBits", &p->input_bits}, {"WeightBits", &p->weight_bits}, {"BiasBits", &p->bias_bits},
        {"AccBits", &p->acc_bits}, {"MultBits", &p->mult_bits}, {"GateBits", &p->gate_bits},
        {"ActBits", &p->act_bits}, {"StateBits", &p->state_bits}, {"OutputBits", &p->output_bits},
        {"Pow2", &p->pow2}, {"SigmoidSizeLog2", &p->sigmoid_size_log2},
        {"TanhSizeLog2", &p->tanh_size_log2},
    };
    const char *s = params;
    while (*s) {
        while (isspace((unsigned char)*s)) ++s;
        if (!*s) break;
        const char *eq = s;
        while (*eq && *eq != '=' && !isspace((unsigned char)*eq)) ++eq;
        if (*eq != '=') return fl_fail(FL_E_INPUT, "params '%s': expected Name=value at '%s'", params, s);
        char *end;
        errno = 0;
        long v = strtol(eq + 1, &end, 10);
        if (end == eq + 1 || errno || (*end && !isspace((unsigned char)*end)))
            return fl_fail(FL_E_INPUT, "params '%s': '%.*s' needs an integer value", params,
                           (int)(eq - s), s);
        size_t n = (size_t)(eq - s);
        int hit = 0;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; ++i)
            if (strlen(map[i].name) == n && !strncmp(map[i].name, s, n)) { *map[i].v = (int)v; hit = 1; }
        if (n == 11 && !strncmp(s, "SigmoidHard", n)) { p->sigmoid = v ? FL_HW_ACT_HARD : FL_HW_ACT_TABLE; hit = 1; }
        if (n == 8 && !strncmp(s, "TanhHard", n)) { p->tanh = v ? FL_HW_ACT_HARD : FL_HW_ACT_TABLE; hit = 1; }
        (void)hit;   /* formats' binary points, rounding, gate order: no resource effect modelled */
        s = end;
    }
    return FL_OK;
}

fl_status fl_hw_resources_eval(const fl_hw_point *p, const fl_hw_coefs *c, fl_hw_resources *r)
{
    fl_status st = fl_hw_point_check(p);
    if (st) return st;
    if (!c) c = fl_hw_coefs_builtin();
    double f[FL_HW_NRES][FL_HW_NFEAT], v[FL_HW_NRES];
    fl_hw_features(p, c->bram_min_bits, f);
    for (int k = 0; k < FL_HW_NRES; ++k) {
        v[k] = 0;
        for (int i = 0; i < FL_HW_NFEAT; ++i) v[k] += c->coef[k][i] * f[k][i];
        if (v[k] < 0) v[k] = 0;
    }
    r->lut = llround(v[FL_HW_LUT]);
    r->ff = llround(v[FL_HW_FF]);
    r->dsp = llround(v[FL_HW_DSP]);
    r->bram18 = llround(v[FL_HW_BRAM]);
    r->lutram = llround(v[FL_HW_LUTRAM]);
    return FL_OK;
}

/* ---- memory system ----------------------------------------------------------- */

fl_status fl_hw_memory_eval(const fl_hw_point *p, const fl_hw_timing *t,
                            const fl_hw_resources *r, const fl_hw_device *d,
                            double dram_efficiency, fl_hw_memory *m)
{
    fl_status st = fl_hw_point_check(p);
    if (st) return st;
    if (!(dram_efficiency > 0 && dram_efficiency <= 1))
        return fl_fail(FL_E_INPUT, "hw memory: dram_efficiency = %g must be in (0, 1]", dram_efficiency);
    memset(m, 0, sizeof *m);
    int64_t pixels = (int64_t)p->frame_width * p->frame_height;
    int64_t in_b = ceil_div(p->input_bits, 8), out_b = ceil_div(p->output_bits, 8);
    m->frame_bytes = pixels * p->steps * in_b;
    /* every pixel's encoder state, all layers, packed at StateBits */
    m->state_bytes = ceil_div(pixels * p->layers * p->enc_hidden * (int64_t)p->state_bits, 8);
    int64_t out_frame = pixels * p->steps * p->outputs * out_b;   /* the C decoded curves */
    /* on-chip RAM left over: block RAM the design does not use, plus UltraRAM */
    int64_t free_bram = d->bram18 - r->bram18;
    if (free_bram < 0) free_bram = 0;
    int64_t onchip_free = free_bram * 18432 / 8 + d->uram * 294912 / 8;
    double per_frame;   /* off-chip bytes per frame */
    if (p->dataflow == FL_HW_PIXEL_MAJOR) {
        /* double buffer: frame f + 1 streams in gate by gate while frame f is
         * read turned, pixel by pixel (all T samples of a pixel together) */
        m->buffer_bytes = 2 * m->frame_bytes;
        m->onchip = m->buffer_bytes <= onchip_free;
        per_frame = (double)out_frame + (m->onchip ? 0.0 : 2.0 * (double)m->frame_bytes);
    } else {
        /* every pixel's state stays resident while the T gate images stream
         * in; each gate image updates every state once (read + write) */
        m->buffer_bytes = m->state_bytes;
        m->onchip = m->buffer_bytes <= onchip_free;
        per_frame = (double)out_frame +
                    (m->onchip ? 0.0 : 2.0 * (double)p->steps * (double)m->state_bytes);
    }
    m->offchip_gbs = per_frame * t->frames_per_s / 1e9;
    m->dram_limit_gbs = d->dram_gbs * dram_efficiency;
    int in_dram = m->onchip || (double)m->buffer_bytes <= d->dram_gb * 1073741824.0;
    m->sustained = in_dram && m->offchip_gbs <= m->dram_limit_gbs;
    return FL_OK;
}
