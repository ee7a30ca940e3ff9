/* fx_quant.c - post-training quantisation of a float Seq2Seq into the integer
 * model of docs/fixed-point.md: weights (§2.1), biases, per-row multipliers
 * (§3), activation tables (§2.4), the accumulator's binary point (§2.2) and
 * the static overflow check (§6). All floating point of the fixed-point flow
 * lives here and in fixed.c; the datapath never sees any. */
#include "fligru/fxmodel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- storage ------------------------------------------------------------------ */

/* Assigns every array of q a slice of base (or only counts when base is NULL),
 * so one allocation holds the model. Returns the int32 count. */
static size_t carve(int32_t **p, size_t n, int32_t *base, size_t off)
{
    *p = base && n ? base + off : NULL;
    return n;
}

static size_t carve_matrix(fl_fx_matrix *m, int rows, int cols, int32_t *base, size_t off)
{
    m->rows = rows;
    m->cols = cols;
    size_t k = carve(&m->q, (size_t)rows * (size_t)cols, base, off);
    k += carve(&m->mult, (size_t)rows, base, off + k);
    k += carve(&m->shift, (size_t)rows, base, off + k);
    return k;
}

static size_t layout(fl_fx_model *q, int32_t *base)
{
    const fl_s2s_config *c = &q->cfg;
    const int L = c->layers, E = c->enc_hidden, D = c->dec_hidden, C = c->outputs;
    const int after = c->reset == FL_RESET_AFTER;
    size_t off = 0;
    for (int l = 0; l < L; ++l) {
        fl_fx_layer *e = &q->enc[l], *d = &q->dec[l];
        e->input = l ? E : c->input;
        e->hidden = E;
        off += carve_matrix(&e->wx, 3 * E, e->input, base, off);
        off += carve_matrix(&e->wh, 3 * E, E, base, off);
        off += carve(&e->bx, 3 * (size_t)E, base, off);
        off += carve(&e->bh, after ? 3 * (size_t)E : 0, base, off);
        /* The decoder's first layer sees zeros: no input weights (docs §4.2). */
        d->input = l ? D : 1;
        d->hidden = D;
        off += carve_matrix(&d->wx, l ? 3 * D : 0, l ? D : 1, base, off);
        off += carve_matrix(&d->wh, 3 * D, D, base, off);
        off += carve(&d->bx, 3 * (size_t)D, base, off);
        off += carve(&d->bh, after ? 3 * (size_t)D : 0, base, off);
        off += carve_matrix(&q->bridge_w[l], E != D ? D : 0, E, base, off);
        off += carve(&q->bridge_b[l], E != D ? (size_t)D : 0, base, off);
    }
    off += carve_matrix(&q->dense_w, C, D, base, off);
    off += carve(&q->dense_b, (size_t)C, base, off);
    const fl_fx_format *f = &q->fmt;
    off += carve(&q->sigmoid_table, f->sigmoid.kind == FL_FX_ACT_TABLE ? (size_t)1 << f->sigmoid.size_log2 : 0,
                 base, off);
    off += carve(&q->tanh_table, f->tanh.kind == FL_FX_ACT_TABLE ? (size_t)1 << f->tanh.size_log2 : 0, base, off);
    return off;
}

fl_status fl_fx_model_init(fl_fx_model *q, const fl_s2s_config *cfg, const fl_fx_format *fmt)
{
    memset(q, 0, sizeof *q);
    fl_status st = fl_s2s_config_check(cfg);
    if (st) return st;
    if ((st = fl_fx_format_check(fmt, "format: "))) return st;
    q->cfg = *cfg;
    q->fmt = *fmt;
    size_t n = layout(q, NULL);
    q->mem_ = calloc(n ? n : 1, sizeof(int32_t));
    if (!q->mem_) return fl_fail(FL_E_NOMEM, "fixed-point model: out of memory (%zu words)", n);
    layout(q, q->mem_);
    return FL_OK;
}

void fl_fx_model_free(fl_fx_model *q)
{
    free(q->mem_);
    memset(q, 0, sizeof *q);
}

/* ---- the matrices of a model, in one list ----------------------------------------- */

/* One weight matrix to quantise: its float source, destination, the fraction its
 * MAC result goes to (F_t), and the operand that multiplies it. */
typedef struct {
    char          name[48];
    const float  *w;
    fl_fx_matrix *m;
    int           ft;
    int           input_operand;  /* 1: the input sample (encoder layer 0), else a state */
    double       *scale;          /* [rows], filled by quant_weights                   */
} fx_job;

#define MAX_JOBS (6 * FL_S2S_MAX_LAYERS + 1)

static int add_job(fx_job *j, int n, const char *name, const float *w, fl_fx_matrix *m, int ft, int in_op)
{
    if (!m->rows) return n;
    fx_job *p = &j[n];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->w = w;
    p->m = m;
    p->ft = ft;
    p->input_operand = in_op;
    return n + 1;
}

/* Names follow the model file (docs §5.1). w may be NULL (checking a loaded model). */
static int list_jobs(const fl_s2s *fm, fl_fx_model *q, fx_job *j)
{
    const int L = q->cfg.layers, fg = q->fmt.gate.frac;
    char name[48];
    int n = 0;
    for (int l = 0; l < L; ++l) {
        snprintf(name, sizeof name, "encoder.weight_ih_l%d", l);
        n = add_job(j, n, name, fm ? fm->enc[l].w_ih : NULL, &q->enc[l].wx, fg, l == 0);
        snprintf(name, sizeof name, "encoder.weight_hh_l%d", l);
        n = add_job(j, n, name, fm ? fm->enc[l].w_hh : NULL, &q->enc[l].wh, fg, 0);
        snprintf(name, sizeof name, "decoder.weight_ih_l%d", l);
        n = add_job(j, n, name, fm ? fm->dec[l].w_ih : NULL, &q->dec[l].wx, fg, 0);
        snprintf(name, sizeof name, "decoder.weight_hh_l%d", l);
        n = add_job(j, n, name, fm ? fm->dec[l].w_hh : NULL, &q->dec[l].wh, fg, 0);
        snprintf(name, sizeof name, "bridge.%d.weight", l);
        n = add_job(j, n, name, fm ? fm->bridge_w[l] : NULL, &q->bridge_w[l], fg, 0);
    }
    return add_job(j, n, "dense.weight", fm ? fm->dense_w : NULL, &q->dense_w, q->fmt.output.frac, 0);
}

/* ---- weights (docs §2.1) ------------------------------------------------------------ */

/* s rounded up to a power of two: the smallest 2^k >= s. */
static double pow2_up(double s)
{
    int e;
    double f = frexp(s, &e);
    return ldexp(1.0, f == 0.5 ? e - 1 : e);
}

static void quant_weights(const fl_fx_format *f, fx_job *job, fl_fx_report *rep)
{
    const fl_fx_matrix *m = job->m;
    const int rows = m->rows, cols = m->cols;
    const int64_t qmax = fl_fx_max(f->weight_bits);
    double tmax = 0;
    for (size_t i = 0; i < (size_t)rows * (size_t)cols; ++i) tmax = fmax(tmax, fabs((double)job->w[i]));
    for (int r = 0; r < rows; ++r) {
        const float *w = job->w + (size_t)r * cols;
        double amax = tmax, s;
        if (f->weight_scale == FL_FX_SCALE_ROW) {
            amax = 0;
            for (int k = 0; k < cols; ++k) amax = fmax(amax, fabs((double)w[k]));
        }
        if (f->weight_scale == FL_FX_SCALE_FIXED)
            s = ldexp(1.0, -f->weight_frac);
        else
            s = amax > 0 ? amax / (double)qmax : 0.0;
        if (s > 0 && f->weight_pow2) s = pow2_up(s);
        job->scale[r] = s;
        for (int k = 0; k < cols; ++k) {
            int64_t v = s > 0 ? fl_fx_round_double((double)w[k] / s) : 0;
            if (v > qmax || v < -qmax) {
                v = v > 0 ? qmax : -qmax;
                rep->weights_clipped++;
            }
            m->q[(size_t)r * cols + k] = (int32_t)v;
            rep->weight_err_max = fmax(rep->weight_err_max, fabs((double)v * s - (double)w[k]));
        }
    }
}

/* M_j, S_j with M_j 2^-S_j ~= s_j 2^(F_w + F_t - F_acc) (docs §3). */
static fl_status quant_multipliers(const fl_fx_format *f, const fx_job *job)
{
    const fl_fx_matrix *m = job->m;
    const int base = fl_fx_weight_frac(f) + job->ft - f->acc_frac;
    const int exact = f->weight_pow2 || f->weight_scale == FL_FX_SCALE_FIXED;
    for (int r = 0; r < m->rows; ++r) {
        const double s = job->scale[r];
        int S = 0;
        fl_status st = FL_OK;
        if (!(s > 0)) {
            m->mult[r] = 0;
        } else if (exact) {
            int e;
            frexp(s, &e);                              /* s = 2^(e-1) exactly */
            st = fl_fx_multiplier_pow2(e - 1 + base, &m->mult[r], &S);
        } else {
            st = fl_fx_multiplier(ldexp(s, base), f->mult_bits, &m->mult[r], &S);
        }
        if (st && exact && ceil(log2(s)) + base < -62)   /* S_j > 62: the exact kinds cannot round M_j */
            return fl_fail(FL_E_INPUT, "%s: row %d: rescale factor 2^%d needs a right shift beyond 62 "
                           "(weights.scale %s keeps M_j = 1): the row's scale is too small for accumulator.frac %d; "
                           "use per_row or per_tensor scales", job->name, r, (int)ceil(log2(s)) + base,
                           f->weight_pow2 ? "pow2" : "fixed", f->acc_frac);
        if (st)
            return fl_fail(FL_E_INPUT, "%s: row %d: rescale factor 2^%d is too large for a right shift: "
                           "gate/output fraction too fine for accumulator.frac %d", job->name, r,
                           (int)ceil(log2(s)) + base, f->acc_frac);
        m->shift[r] = S;
    }
    return FL_OK;
}

/* ---- accumulator (docs §2.2, §6) --------------------------------------------------- */

/* Bound on |operand| of a matrix's MACs (docs §4.8) as a power of two. */
static int operand_log2(const fl_fx_format *f, int input_operand)
{
    if (input_operand) return f->input.bits - 1;
    return f->state.frac < f->state.bits - 1 ? f->state.frac : f->state.bits - 1;
}

/* Largest |A| a row can reach (double: exact below 2^53, where it matters). */
static double row_worst(const fl_fx_format *f, const fl_fx_matrix *m, int r, int input_operand, int acc_frac)
{
    const int frac = input_operand ? f->input.frac : f->state.frac;
    const int D = fl_fx_weight_frac(f) + frac - acc_frac, b = operand_log2(f, input_operand);
    double sum = 0;
    for (int k = 0; k < m->cols; ++k) {
        const double a = fabs((double)m->q[(size_t)r * m->cols + k]);
        sum += b - D >= 0 ? ldexp(a, b - D) : ceil(ldexp(a, b - D));
    }
    return sum;
}

static int bits_for(double v)
{
    int n = 1;
    while (n < 200 && ldexp(1.0, n - 1) - 1 < v) ++n;
    return n;
}

/* Worst row over the model for a given F_acc; returns how many rows overflow. */
static int scan(const fl_fx_format *f, const fx_job *jobs, int nj, int acc_frac, fl_fx_report *rep)
{
    const double lim = ldexp(1.0, f->acc_bits - 1) - 1;
    double worst = -1;
    int over = 0;
    for (int i = 0; i < nj; ++i)
        for (int r = 0; r < jobs[i].m->rows; ++r) {
            double w = row_worst(f, jobs[i].m, r, jobs[i].input_operand, acc_frac);
            over += w > lim;
            if (rep && w > worst) {
                worst = w;
                snprintf(rep->worst_tensor, sizeof rep->worst_tensor, "%.63s", jobs[i].name);
                rep->worst_row = r;
            }
        }
    if (rep) {
        rep->acc_frac = acc_frac;
        rep->acc_bits_needed = bits_for(worst);
        rep->overflow_rows = over;
    }
    return over;
}

/* Largest F_acc <= min(F_w + F_h, W_acc - 1) without overflow (docs §2.2);
 * 0 when none is safe (the check then reports it). */
static int auto_acc_frac(fl_fx_format *f, const fx_job *jobs, int nj)
{
    int hi = fl_fx_weight_frac(f) + f->state.frac;
    if (hi > f->acc_bits - 1) hi = f->acc_bits - 1;
    for (int fr = hi; fr >= 0; --fr) {
        f->acc_frac = fr;
        if (fl_fx_format_check(f, "") == FL_OK && scan(f, jobs, nj, fr, NULL) == 0) return fr;
    }
    return 0;
}

/* ---- biases and tables ---------------------------------------------------------------- */

static void quant_bias(const fl_fx_format *f, const float *b, int32_t *out, int n, fl_fx_report *rep)
{
    if (!out) return;
    for (int i = 0; i < n; ++i) {
        const int64_t v = fl_fx_round_double(ldexp((double)b[i], f->bias.frac));
        const int64_t s = fl_fx_sat(v, f->bias.bits);
        rep->biases_saturated += s != v;
        out[i] = (int32_t)s;
    }
}

static double hard_sigmoid(double x)
{
    return fmin(1.0, fmax(0.0, 0.5 * x + 0.5));
}

static double logistic(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* T[i] = sat(round(f(-R + (i + 1/2) Δ) 2^F_a)) (docs §2.4). */
static void make_table(const fl_fx_format *f, const fl_fx_act *a, double (*fn)(double), int32_t *t)
{
    if (!t) return;
    const size_t n = (size_t)1 << a->size_log2;
    const double R = ldexp(1.0, a->range_log2), delta = 2.0 * R / (double)n;
    for (size_t i = 0; i < n; ++i) {
        const double x = -R + ((double)i + 0.5) * delta;
        t[i] = (int32_t)fl_fx_sat(fl_fx_round_double(ldexp(fn(x), f->act.frac)), f->act.bits);
    }
}

/* ---- PTQ ------------------------------------------------------------------------------ */

static fl_status quantize_all(const fl_s2s *m, fl_fx_model *q, fl_fx_report *rep, double *scales)
{
    fl_fx_format *f = &q->fmt;
    fx_job jobs[MAX_JOBS];
    const int nj = list_jobs(m, q, jobs);
    size_t used = 0;
    for (int i = 0; i < nj; ++i) {
        jobs[i].scale = scales + used;
        used += (size_t)jobs[i].m->rows;
        quant_weights(f, &jobs[i], rep);
    }
    if (f->acc_auto) {
        f->acc_frac = auto_acc_frac(f, jobs, nj);
        f->acc_auto = 0;
    }
    f->weight_frac = fl_fx_weight_frac(f);    /* as the file stores it */
    fl_status st = fl_fx_format_check(f, "format: ");
    if (st) return st;
    scan(f, jobs, nj, f->acc_frac, rep);
    if (rep->overflow_rows && f->overflow_error)
        return fl_fail(FL_E_INPUT, "accumulator: %s row %d can reach %d bits, the accumulator has %d "
                       "(%d rows can overflow; frac %d; overflow: error)", rep->worst_tensor, rep->worst_row,
                       rep->acc_bits_needed, f->acc_bits, rep->overflow_rows, f->acc_frac);
    for (int i = 0; i < nj; ++i)
        if ((st = quant_multipliers(f, &jobs[i]))) return st;
    for (int l = 0; l < q->cfg.layers; ++l) {
        const int E = q->cfg.enc_hidden, D = q->cfg.dec_hidden;
        quant_bias(f, m->enc[l].b_ih, q->enc[l].bx, 3 * E, rep);
        quant_bias(f, m->enc[l].b_hh, q->enc[l].bh, 3 * E, rep);
        quant_bias(f, m->dec[l].b_ih, q->dec[l].bx, 3 * D, rep);
        quant_bias(f, m->dec[l].b_hh, q->dec[l].bh, 3 * D, rep);
        quant_bias(f, m->bridge_b[l], q->bridge_b[l], E != D ? D : 0, rep);
    }
    quant_bias(f, m->dense_b, q->dense_b, q->cfg.outputs, rep);
    make_table(f, &f->sigmoid, q->cfg.act == FL_ACT_HARD_SIGMOID ? hard_sigmoid : logistic, q->sigmoid_table);
    make_table(f, &f->tanh, tanh, q->tanh_table);
    return FL_OK;
}

fl_status fl_fx_quantize(const fl_s2s *m, const fl_fx_format *fmt, fl_fx_model *q, fl_fx_report *rep)
{
    fl_fx_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    fl_status st = fl_fx_model_init(q, &m->cfg, fmt);
    if (st) return st;
    size_t rows = 0;
    fx_job jobs[MAX_JOBS];
    const int nj = list_jobs(m, q, jobs);
    for (int i = 0; i < nj; ++i) rows += (size_t)jobs[i].m->rows;
    double *scales = calloc(rows ? rows : 1, sizeof *scales);
    if (!scales) {
        fl_fx_model_free(q);
        return fl_fail(FL_E_NOMEM, "quantize: out of memory");
    }
    st = quantize_all(m, q, rep, scales);
    free(scales);
    if (st) fl_fx_model_free(q);
    return st;
}
