/* fx_vectors.c - test vectors for hardware test benches (docs/fixed-point.md
 * §5.2): the quantised parameters and activation tables as $readmemh files (and
 * the tables once more as C arrays), the quantised inputs, and the reference's
 * state of every unit at every step and every output, with a manifest and a
 * provenance line. All files of a directory are staged and committed together. */
#include "fligru/fxmodel.h"
#include "fligru/io.h"
#include "fligru/vectors.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILES 256

typedef struct {
    const char *dir;
    fl_atomic   f[MAX_FILES];
    int         n;
    fl_atomic  *manifest;
} stage;

static fl_status open_file(stage *s, const char *name, FILE **fp)
{
    if (s->n >= MAX_FILES) return fl_fail(FL_E_INTERNAL, "vectors: too many files");
    char *path = fl_path_join(s->dir, name);
    if (!path) return fl_fail(FL_E_NOMEM, "vectors: out of memory");
    fl_status st = fl_atomic_open(&s->f[s->n], path);
    free(path);
    if (st) return st;
    *fp = s->f[s->n++].fp;
    return FL_OK;
}

static void manifest(stage *s, const char *file, const char *shape, int bits, int frac, int is_signed,
                     const char *what)
{
    fl_vec_manifest_row(s->manifest->fp, file, shape, bits, frac, is_signed, what);
}

static fl_status hex_file(stage *s, const char *name, const int32_t *v, size_t n, int bits, int frac, int is_signed,
                          const char *shape, const char *what)
{
    FILE *fp = NULL;
    fl_status st = open_file(s, name, &fp);
    if (st) return st;
    fl_vec_write_hex(fp, v, n, bits);
    manifest(s, name, shape, bits, frac, is_signed, what);
    return FL_OK;
}

static fl_status matrix_files(stage *s, const char *stem, const fl_fx_matrix *m, const fl_fx_format *f,
                              const char *what)
{
    if (!m->rows) return FL_OK;
    char name[96], shape[64], desc[160];
    fl_status st;
    snprintf(name, sizeof name, "%s.hex", stem);
    snprintf(shape, sizeof shape, "[%d;%d]", m->rows, m->cols);
    const int wf = fl_fx_weight_frac(f);
    if ((st = hex_file(s, name, m->q, (size_t)m->rows * m->cols, f->weight_bits, wf, 1, shape, what))) return st;
    snprintf(name, sizeof name, "%s_mult.hex", stem);
    snprintf(shape, sizeof shape, "[%d]", m->rows);
    snprintf(desc, sizeof desc, "rescale multiplier M_j of %s (unsigned)", stem);
    if ((st = hex_file(s, name, m->mult, (size_t)m->rows, f->mult_bits, 0, 0, shape, desc))) return st;
    snprintf(name, sizeof name, "%s_shift.hex", stem);
    snprintf(desc, sizeof desc, "rescale shift S_j of %s (signed; < 0: left)", stem);
    return hex_file(s, name, m->shift, (size_t)m->rows, 8, 0, 1, shape, desc);
}

static fl_status bias_file(stage *s, const char *name, const int32_t *b, int n, const fl_fx_format *f,
                           const char *what)
{
    if (!b) return FL_OK;
    char shape[32];
    snprintf(shape, sizeof shape, "[%d]", n);
    return hex_file(s, name, b, (size_t)n, f->bias.bits, f->bias.frac, 1, shape, what);
}

static fl_status parameter_files(stage *s, const fl_fx_model *q)
{
    const fl_fx_format *f = &q->fmt;
    char stem[64], name[64];
    fl_status st = FL_OK;
    for (int pass = 0; pass < 2 && !st; ++pass)
        for (int l = 0; l < q->cfg.layers && !st; ++l) {
            const fl_fx_layer *L = pass ? &q->dec[l] : &q->enc[l];
            const char *side = pass ? "dec" : "enc";
            snprintf(stem, sizeof stem, "%s_l%d_w_ih", side, l);
            if ((st = matrix_files(s, stem, &L->wx, f, "input weights [3H][in], gate blocks in gate_order"))) break;
            snprintf(stem, sizeof stem, "%s_l%d_w_hh", side, l);
            if ((st = matrix_files(s, stem, &L->wh, f, "recurrent weights [3H][H], gate blocks in gate_order"))) break;
            snprintf(name, sizeof name, "%s_l%d_b_ih.hex", side, l);
            if ((st = bias_file(s, name, L->bx, 3 * L->hidden, f, "bias_ih [3H]"))) break;
            snprintf(name, sizeof name, "%s_l%d_b_hh.hex", side, l);
            st = bias_file(s, name, L->bh, 3 * L->hidden, f, "bias_hh [3H] (reset-after)");
        }
    for (int l = 0; l < q->cfg.layers && !st; ++l) {
        snprintf(stem, sizeof stem, "bridge_l%d_w", l);
        if ((st = matrix_files(s, stem, &q->bridge_w[l], f, "bridge weights [D][E]"))) break;
        snprintf(name, sizeof name, "bridge_l%d_b.hex", l);
        st = bias_file(s, name, q->bridge_b[l], q->bridge_w[l].rows, f, "bridge bias [D]");
    }
    if (!st) st = matrix_files(s, "dense_w", &q->dense_w, f, "dense weights [C][D]");
    if (!st) st = bias_file(s, "dense_b.hex", q->dense_b, q->cfg.outputs, f, "dense bias [C]");
    return st;
}

/* The tables once as $readmemh and once as C arrays (the same numbers). */
static fl_status table_files(stage *s, const fl_fx_model *q)
{
    const fl_fx_format *f = &q->fmt;
    FILE *c = NULL;
    fl_status st = open_file(s, "act_tables.h", &c);
    if (st) return st;
    fprintf(c, "/* act_tables.h - activation tables of a fligru fixed-point model (docs/fixed-point.md 2.4);\n"
               " * the same entries as act_*.hex. Q(%d,%d) outputs. Generated by fligru vectors. */\n"
               "#include <stdint.h>\n", f->act.bits, f->act.frac);
    manifest(s, "act_tables.h", "-", f->act.bits, f->act.frac, 1, "the tables as C arrays");
    const struct {
        const char *name;
        const fl_fx_act *a;
        const int32_t *t;
    } tabs[] = {{"sigmoid", &f->sigmoid, q->sigmoid_table}, {"tanh", &f->tanh, q->tanh_table}};
    for (int k = 0; k < 2; ++k) {
        if (!tabs[k].t) continue;
        const int n = 1 << tabs[k].a->size_log2;
        char name[32], shape[32], what[160];
        snprintf(name, sizeof name, "act_%s.hex", tabs[k].name);
        snprintf(shape, sizeof shape, "[%d]", n);
        snprintf(what, sizeof what, "%s table over [-2^%d; 2^%d), index = clamp((g + 2^%d) >>> %d; 0; %d)",
                 tabs[k].name, tabs[k].a->range_log2, tabs[k].a->range_log2, f->gate.frac + tabs[k].a->range_log2,
                 f->gate.frac + tabs[k].a->range_log2 + 1 - tabs[k].a->size_log2, n - 1);
        if ((st = hex_file(s, name, tabs[k].t, (size_t)n, f->act.bits, f->act.frac, 1, shape, what))) return st;
        fprintf(c, "\n#define FL_FX_%s_SIZE_LOG2 %d\n#define FL_FX_%s_RANGE_LOG2 %d\n", k ? "TANH" : "SIGMOID",
                tabs[k].a->size_log2, k ? "TANH" : "SIGMOID", tabs[k].a->range_log2);
        fprintf(c, "static const int32_t fl_fx_%s_table[%d] = {", tabs[k].name, n);
        for (int i = 0; i < n; ++i) fprintf(c, "%s%s%d", i ? "," : "", i % 12 ? " " : "\n    ", tabs[k].t[i]);
        fprintf(c, "\n};\n");
    }
    return FL_OK;
}

/* Every width, fraction and size as SystemVerilog localparams and C macros. */
static fl_status param_files(stage *s, const fl_fx_model *q)
{
    const fl_fx_format *f = &q->fmt;
    const fl_s2s_config *c = &q->cfg;
    const struct {
        const char *name;
        long value;
    } p[] = {
        {"INPUTS", c->input}, {"OUTPUTS", c->outputs}, {"LAYERS", c->layers}, {"ENC_HIDDEN", c->enc_hidden},
        {"DEC_HIDDEN", c->dec_hidden}, {"RESET_AFTER", c->reset == FL_RESET_AFTER},
        {"HARD_SIGMOID_MODEL", c->act == FL_ACT_HARD_SIGMOID}, {"GATES_ZRN", c->order == FL_GATES_ZRN},
        {"ROUNDING", (long)f->round}, {"IN_BITS", f->input.bits}, {"IN_FRAC", f->input.frac},
        {"W_BITS", f->weight_bits}, {"W_FRAC", fl_fx_weight_frac(f)}, {"B_BITS", f->bias.bits},
        {"B_FRAC", f->bias.frac}, {"ACC_BITS", f->acc_bits}, {"ACC_FRAC", f->acc_frac},
        {"D_X", fl_fx_product_shift(f, f->input.frac)}, {"D_H", fl_fx_product_shift(f, f->state.frac)},
        {"MULT_BITS", f->mult_bits}, {"GATE_BITS", f->gate.bits}, {"GATE_FRAC", f->gate.frac},
        {"ACT_BITS", f->act.bits}, {"ACT_FRAC", f->act.frac}, {"STATE_BITS", f->state.bits},
        {"STATE_FRAC", f->state.frac}, {"OUT_BITS", f->output.bits}, {"OUT_FRAC", f->output.frac},
        {"SIGMOID_TABLE", f->sigmoid.kind == FL_FX_ACT_TABLE}, {"SIGMOID_SIZE_LOG2", f->sigmoid.size_log2},
        {"SIGMOID_RANGE_LOG2", f->sigmoid.range_log2}, {"TANH_TABLE", f->tanh.kind == FL_FX_ACT_TABLE},
        {"TANH_SIZE_LOG2", f->tanh.size_log2}, {"TANH_RANGE_LOG2", f->tanh.range_log2},
    };
    const int np = (int)(sizeof p / sizeof p[0]);
    FILE *sv = NULL, *h = NULL;
    fl_status st = open_file(s, "fx_params.svh", &sv);
    if (!st) st = open_file(s, "fx_params.h", &h);
    if (st) return st;
    fprintf(sv, "// fx_params.svh - the format of a fligru fixed-point model (docs/fixed-point.md).\n"
                "// ROUNDING: 0 truncate, 1 half_up, 2 half_even. Generated by fligru vectors.\n");
    fprintf(h, "/* fx_params.h - the format of a fligru fixed-point model (docs/fixed-point.md).\n"
               " * ROUNDING: 0 truncate, 1 half_up, 2 half_even. Generated by fligru vectors. */\n");
    for (int i = 0; i < np; ++i) {
        fprintf(sv, "localparam int FX_%s = %ld;\n", p[i].name, p[i].value);
        fprintf(h, "#define FL_FX_%s %ld\n", p[i].name, p[i].value);
    }
    manifest(s, "fx_params.svh", "-", 0, 0, 0, "format as SystemVerilog localparams");
    manifest(s, "fx_params.h", "-", 0, 0, 0, "format as C macros");
    return FL_OK;
}

/* ---- the reference's trace of every pixel ------------------------------------------------ */

typedef struct {
    int32_t *enc_h[FL_S2S_MAX_LAYERS], *dec_init[FL_S2S_MAX_LAYERS], *dec_h[FL_S2S_MAX_LAYERS];
    int32_t *enc_pre[FL_S2S_MAX_LAYERS], *enc_act[FL_S2S_MAX_LAYERS];
    int32_t *dec_pre[FL_S2S_MAX_LAYERS], *dec_act[FL_S2S_MAX_LAYERS];
    int32_t *y;
} traces;

static void free_traces(traces *t, int L)
{
    for (int l = 0; l < L; ++l) {
        free(t->enc_h[l]);
        free(t->dec_init[l]);
        free(t->dec_h[l]);
        free(t->enc_pre[l]);
        free(t->enc_act[l]);
        free(t->dec_pre[l]);
        free(t->dec_act[l]);
    }
    free(t->y);
}

static fl_status run_traces(const fl_fx_model *q, const int32_t *xq, size_t n, int T, int gates, traces *t)
{
    const fl_s2s_config *c = &q->cfg;
    const size_t E = (size_t)c->enc_hidden, D = (size_t)c->dec_hidden, nT = n * (size_t)T;
    int bad = 0;
    memset(t, 0, sizeof *t);
    for (int l = 0; l < c->layers; ++l) {
        bad |= !(t->enc_h[l] = malloc(nT * E * sizeof(int32_t)));
        bad |= !(t->dec_init[l] = malloc(n * D * sizeof(int32_t)));
        bad |= !(t->dec_h[l] = malloc(nT * D * sizeof(int32_t)));
        if (gates) {
            bad |= !(t->enc_pre[l] = malloc(nT * 3 * E * sizeof(int32_t)));
            bad |= !(t->enc_act[l] = malloc(nT * 3 * E * sizeof(int32_t)));
            bad |= !(t->dec_pre[l] = malloc(nT * 3 * D * sizeof(int32_t)));
            bad |= !(t->dec_act[l] = malloc(nT * 3 * D * sizeof(int32_t)));
        }
    }
    bad |= !(t->y = malloc(nT * (size_t)c->outputs * sizeof(int32_t)));
    if (bad) return fl_fail(FL_E_NOMEM, "vectors: out of memory for %zu pixels x %d steps", n, T);
    fl_status st = FL_OK;
    for (size_t i = 0; i < n && !st; ++i) {
        fl_fx_trace tr;
        memset(&tr, 0, sizeof tr);
        for (int l = 0; l < c->layers; ++l) {
            tr.enc_h[l] = t->enc_h[l] + i * T * E;
            tr.dec_init[l] = t->dec_init[l] + i * D;
            tr.dec_h[l] = t->dec_h[l] + i * T * D;
            if (gates) {
                tr.enc_pre[l] = t->enc_pre[l] + i * T * 3 * E;
                tr.enc_act[l] = t->enc_act[l] + i * T * 3 * E;
                tr.dec_pre[l] = t->dec_pre[l] + i * T * 3 * D;
                tr.dec_act[l] = t->dec_act[l] + i * T * 3 * D;
            }
        }
        st = fl_fx_forward_ref(q, xq + i * T * c->input, T, t->y + i * T * c->outputs, &tr);
    }
    return st;
}

static fl_status trace_files(stage *s, const fl_fx_model *q, const int32_t *xq, size_t n, int T, int gates,
                             const traces *t)
{
    const fl_s2s_config *c = &q->cfg;
    const fl_fx_format *f = &q->fmt;
    const size_t nT = n * (size_t)T;
    char name[64], shape[64];
    snprintf(shape, sizeof shape, "[%zu;%d;%d]", n, T, c->input);
    fl_status st = hex_file(s, "input.hex", xq, nT * c->input, f->input.bits, f->input.frac, 1, shape,
                            "quantised input x_q [pixel][t][feature]");
    for (int l = 0; l < c->layers && !st; ++l) {
        snprintf(name, sizeof name, "enc_h_l%d.hex", l);
        snprintf(shape, sizeof shape, "[%zu;%d;%d]", n, T, c->enc_hidden);
        if ((st = hex_file(s, name, t->enc_h[l], nT * c->enc_hidden, f->state.bits, f->state.frac, 1, shape,
                           "encoder state after step t [pixel][t][unit]")))
            break;
        snprintf(name, sizeof name, "dec_init_l%d.hex", l);
        snprintf(shape, sizeof shape, "[%zu;%d]", n, c->dec_hidden);
        if ((st = hex_file(s, name, t->dec_init[l], n * c->dec_hidden, f->state.bits, f->state.frac, 1, shape,
                           "decoder initial state (bridge output or copy) [pixel][unit]")))
            break;
        snprintf(name, sizeof name, "dec_h_l%d.hex", l);
        snprintf(shape, sizeof shape, "[%zu;%d;%d]", n, T, c->dec_hidden);
        if ((st = hex_file(s, name, t->dec_h[l], nT * c->dec_hidden, f->state.bits, f->state.frac, 1, shape,
                           "decoder state after step t [pixel][t][unit]")))
            break;
        if (!gates) continue;
        for (int dec = 0; dec < 2 && !st; ++dec) {
            const int H = dec ? c->dec_hidden : c->enc_hidden;
            snprintf(shape, sizeof shape, "[%zu;%d;3;%d]", n, T, H);
            snprintf(name, sizeof name, "%s_l%d_pre.hex", dec ? "dec" : "enc", l);
            if ((st = hex_file(s, name, dec ? t->dec_pre[l] : t->enc_pre[l], nT * 3 * H, f->gate.bits, f->gate.frac,
                               1, shape, "pre-activations r; z; n [pixel][t][gate][unit]")))
                break;
            snprintf(name, sizeof name, "%s_l%d_act.hex", dec ? "dec" : "enc", l);
            st = hex_file(s, name, dec ? t->dec_act[l] : t->enc_act[l], nT * 3 * H, f->act.bits, f->act.frac, 1,
                          shape, "activations r; z; n [pixel][t][gate][unit]");
        }
    }
    snprintf(shape, sizeof shape, "[%zu;%d;%d]", n, T, c->outputs);
    if (!st)
        st = hex_file(s, "output.hex", t->y, nT * c->outputs, f->output.bits, f->output.frac, 1, shape,
                      "dense head output [pixel][t][c]");
    return st;
}

static fl_status provenance(stage *s, const fl_fx_model *q, const fl_fx_vectors_opts *o, size_t n, int T)
{
    uint64_t hash = 0;
    fl_status st = o->model_path ? fl_fx_file_hash(o->model_path, &hash) : FL_OK;
    if (st) return st;
    FILE *fp = NULL;
    if ((st = open_file(s, "provenance.txt", &fp))) return st;
    char fmt[512];
    fl_fx_format_str(&q->fmt, fmt, sizeof fmt);
    fprintf(fp, "fligru vectors %s: model %s fnv1a64 %016" PRIx64 " format \"%s\" (%s) input %s pixels %zu T %d "
                "seed %" PRIu64 "%s%s\n",
            FLIGRU_VERSION, o->model_path ? o->model_path : "(memory)", hash, q->fmt.name, fmt,
            o->input_path ? o->input_path : "(memory)", n, T, o->seed, o->command ? " command: " : "",
            o->command ? o->command : "");
    manifest(s, "provenance.txt", "-", 0, 0, 0, "generator; model hash; format; input; seed");
    return FL_OK;
}

fl_status fl_fx_vectors(const fl_fx_model *q, const fl_fx_vectors_opts *o, const int32_t *xq, size_t n, int T)
{
    if (n == 0 || T < 1) return fl_fail(FL_E_INPUT, "vectors: no pixels or no steps");
    fl_status st = fl_mkdir_p(o->dir);
    if (st) return st;
    stage s;
    memset(&s, 0, sizeof s);
    s.dir = o->dir;
    FILE *mf = NULL;
    if ((st = open_file(&s, "manifest.csv", &mf))) return st;
    s.manifest = &s.f[0];
    fl_vec_manifest_header(mf);
    traces t;
    st = run_traces(q, xq, n, T, o->gates, &t);
    if (!st) st = provenance(&s, q, o, n, T);
    if (!st) st = param_files(&s, q);
    if (!st) st = table_files(&s, q);
    if (!st) st = parameter_files(&s, q);
    if (!st) st = trace_files(&s, q, xq, n, T, o->gates, &t);
    free_traces(&t, q->cfg.layers);
    for (int i = 0; i < s.n; ++i) {
        if (st) {
            fl_atomic_abort(&s.f[i]);
            continue;
        }
        st = fl_atomic_commit(&s.f[i]);
        /* a failed commit leaves earlier files: abort the rest at least */
    }
    return st;
}
