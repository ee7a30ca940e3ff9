/* test_backprop.c - BPTT gradients against central finite differences of a
 * double-precision forward pass, fake quantisation with the straight-through
 * estimator, and thread-count invariance.
 *
 * The double model below is written from the equations in seq2seq.h, independent
 * of the library's kernels; it shares only the parameter layout (through the
 * views of an fl_s2s). Loss: L = sum w[i,t,c] y[i,t,c], so dL/dy = w exactly.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/backprop.h"
#include "fligru/seq2seq.h"

/* ---- the double-precision model --------------------------------------------- */

/* Finite differences need a smooth function, and hard sigmoid and fake
 * quantisation are not. Mode 1 (record, at the base point) evaluates them exactly
 * and remembers, per site, hard sigmoid's piece (0, linear, 1) and quantisation's
 * offset q(v0) - v0 and whether v0 was inside the range; mode 2 (replay, for the
 * perturbed evaluations) uses the same piece, v + (q(v0) - v0) inside the range and
 * the frozen q(v0) outside. That function is smooth, equals the model at the base
 * point, and its derivative there is the model's (straight-through for the
 * quantisers), so a wide, high-order stencil measures exactly what backward claims. */
typedef struct {
    const fl_s2s *m;
    const double *th;
    int mode;                  /* 0 plain, 1 record, 2 replay */
    int qa, qs;                /* act / state quantisers on    */
    double sa, amin, amax, ss, smin, smax;
    double *off, *frozen;
    unsigned char *pass, *piece;
    size_t site, hsite, cap, clipped, saturated;
} dmodel;

static double P(const dmodel *d, const float *view, size_t i)
{
    return d->th[(size_t)(view - d->m->params) + i];
}

static double dq(dmodel *d, int state, double v)
{
    if (!(state ? d->qs : d->qa)) return v;
    size_t k = d->site++;
    cr_assert(lt(sz, k, d->cap));
    if (d->mode == 2) return d->pass[k] ? v + d->off[k] : d->frozen[k];
    double s = state ? d->ss : d->sa, lo = state ? d->smin : d->amin, hi = state ? d->smax : d->amax;
    double a = v * s;
    int in = a >= lo && a <= hi;
    a = fmin(hi, fmax(lo, a));
    double m = fabs(a), r = trunc(m);
    if (m - r >= 0.5) r += 1;               /* half away from zero */
    double q = copysign(r, a) / s;
    if (d->mode == 1) {
        d->off[k] = q - v;
        d->frozen[k] = q;
        d->pass[k] = (unsigned char)in;
        d->clipped += !in;
    }
    return q;
}

static double dsig(dmodel *d, double a)
{
    if (d->m->cfg.act != FL_ACT_HARD_SIGMOID) return 1.0 / (1.0 + exp(-a));
    double t = 0.5 * a + 0.5;
    size_t k = d->hsite++;
    cr_assert(lt(sz, k, d->cap));
    int piece = t <= 0 ? 0 : t >= 1 ? 2 : 1;
    if (d->mode == 2) piece = d->piece[k];
    if (d->mode == 1) {
        d->piece[k] = (unsigned char)piece;
        d->saturated += piece != 1;
    }
    return piece == 0 ? 0.0 : piece == 2 ? 1.0 : t;
}

/* One step of one GRU layer; x NULL is the zero input. */
static void dgru(dmodel *d, const fl_gru_layer *g, const double *x, double *h)
{
    const fl_s2s_config *c = &d->m->cfg;
    const int H = g->hidden, In = g->input;
    const int orr = c->order == FL_GATES_RZN ? 0 : H, oz = c->order == FL_GATES_RZN ? H : 0;
    double r[16], z[16], n[16];
    cr_assert(le(int, H, 16));
    for (int j = 0; j < H; ++j) {
        double ar = P(d, g->b_ih, orr + j), az = P(d, g->b_ih, oz + j);
        if (c->reset == FL_RESET_AFTER) {
            ar += P(d, g->b_hh, orr + j);
            az += P(d, g->b_hh, oz + j);
        }
        for (int k = 0; x && k < In; ++k) {
            ar += P(d, g->w_ih, (size_t)(orr + j) * In + k) * x[k];
            az += P(d, g->w_ih, (size_t)(oz + j) * In + k) * x[k];
        }
        for (int k = 0; k < H; ++k) {
            ar += P(d, g->w_hh, (size_t)(orr + j) * H + k) * h[k];
            az += P(d, g->w_hh, (size_t)(oz + j) * H + k) * h[k];
        }
        r[j] = dq(d, 0, dsig(d, ar));
        z[j] = dq(d, 0, dsig(d, az));
    }
    for (int j = 0; j < H; ++j) {
        int row = 2 * H + j;
        double an = P(d, g->b_ih, row);
        for (int k = 0; x && k < In; ++k) an += P(d, g->w_ih, (size_t)row * In + k) * x[k];
        if (c->reset == FL_RESET_AFTER) {
            double hn = P(d, g->b_hh, row);
            for (int k = 0; k < H; ++k) hn += P(d, g->w_hh, (size_t)row * H + k) * h[k];
            an += r[j] * hn;
        } else {
            for (int k = 0; k < H; ++k) an += P(d, g->w_hh, (size_t)row * H + k) * (r[k] * h[k]);
        }
        n[j] = dq(d, 0, tanh(an));
    }
    for (int j = 0; j < H; ++j) h[j] = dq(d, 1, n[j] + z[j] * (h[j] - n[j]));
}

/* L = sum w * y over n sequences of x [n, T, In]. */
static double dloss(dmodel *d, const float *x, size_t n, int T, const float *w)
{
    const fl_s2s *m = d->m;
    const fl_s2s_config *c = &m->cfg;
    const int L = c->layers, E = c->enc_hidden, D = c->dec_hidden, C = c->outputs, In = c->input;
    double he[4][16], hd[4][16], in[8], loss = 0;
    d->site = d->hsite = 0;
    for (size_t s = 0; s < n; ++s) {
        memset(he, 0, sizeof he);
        for (int t = 0; t < T; ++t) {
            for (int k = 0; k < In; ++k) in[k] = x[(s * (size_t)T + (size_t)t) * (size_t)In + (size_t)k];
            for (int l = 0; l < L; ++l) dgru(d, &m->enc[l], l ? he[l - 1] : in, he[l]);
        }
        for (int l = 0; l < L; ++l)
            for (int j = 0; j < D; ++j) {
                if (E == D) {
                    hd[l][j] = he[l][j];
                    continue;
                }
                double a = P(d, m->bridge_b[l], (size_t)j);
                for (int k = 0; k < E; ++k) a += P(d, m->bridge_w[l], (size_t)j * E + k) * he[l][k];
                hd[l][j] = dq(d, 1, tanh(a));
            }
        for (int t = 0; t < T; ++t) {
            for (int l = 0; l < L; ++l) dgru(d, &m->dec[l], l ? hd[l - 1] : NULL, hd[l]);
            for (int k = 0; k < C; ++k) {
                double y = P(d, m->dense_b, (size_t)k);
                for (int j = 0; j < D; ++j) y += P(d, m->dense_w, (size_t)k * D + j) * hd[L - 1][j];
                loss += w[(s * (size_t)T + (size_t)t) * (size_t)C + (size_t)k] * y;
            }
        }
    }
    return loss;
}

/* ---- helpers ------------------------------------------------------------------ */

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

static double unif(uint64_t *s) { return (double)lcg(s) * 0x1.0p-53; }

static float *rand_vec(size_t n, double lo, double hi, uint64_t seed)
{
    float *v = malloc(n * sizeof *v);
    uint64_t s = seed;
    for (size_t i = 0; i < n; ++i) v[i] = (float)(lo + (hi - lo) * unif(&s));
    return v;
}

typedef struct {
    char name[32];
    const float *p;
    size_t n;
} tensor;

static int list_tensors(const fl_s2s *m, tensor *t)
{
    int k = 0;
    for (int pass = 0; pass < 2; ++pass)
        for (int l = 0; l < m->cfg.layers; ++l) {
            const fl_gru_layer *g = pass ? &m->dec[l] : &m->enc[l];
            const char *who = pass ? "dec" : "enc";
            size_t h3 = 3 * (size_t)g->hidden;
            t[k++] = (tensor){"", g->w_ih, h3 * (size_t)g->input};
            snprintf(t[k - 1].name, 32, "%s%d.w_ih", who, l);
            t[k++] = (tensor){"", g->w_hh, h3 * (size_t)g->hidden};
            snprintf(t[k - 1].name, 32, "%s%d.w_hh", who, l);
            t[k++] = (tensor){"", g->b_ih, h3};
            snprintf(t[k - 1].name, 32, "%s%d.b_ih", who, l);
            if (g->b_hh) {
                t[k++] = (tensor){"", g->b_hh, h3};
                snprintf(t[k - 1].name, 32, "%s%d.b_hh", who, l);
            }
        }
    for (int l = 0; l < m->cfg.layers && m->bridge_w[l]; ++l) {
        size_t D = (size_t)m->cfg.dec_hidden;
        t[k++] = (tensor){"", m->bridge_w[l], D * (size_t)m->cfg.enc_hidden};
        snprintf(t[k - 1].name, 32, "bridge%d.w", l);
        t[k++] = (tensor){"", m->bridge_b[l], D};
        snprintf(t[k - 1].name, 32, "bridge%d.b", l);
    }
    t[k++] = (tensor){"dense.w", m->dense_w, (size_t)m->cfg.outputs * (size_t)m->cfg.dec_hidden};
    t[k++] = (tensor){"dense.b", m->dense_b, (size_t)m->cfg.outputs};
    return k;
}

/* Relative error |a - f| / max(|a|, |f|, floor), floor = 1e4 times the rounding
 * noise of the differences (~2.2e-16 |L| / h). So "< 1e-4" means: within 1e-4
 * relative, or within the differences' own noise. Without the floor a gradient that
 * is exactly 0 (e.g. through a gate saturated at 1: n + 1 (h - n) depends on n only
 * by rounding) would "fail" against differences of ~1e-13. */
static double rel_err(double a, double f, double floor)
{
    double s = fmax(fmax(fabs(a), fabs(f)), floor);
    return fabs(a - f) / s;
}

typedef struct {
    double ref_fd, fast_fd, fast_ref;   /* worst errors, see grad_check */
    double loss;
    char ref_at[128], fast_at[128], fr_at[128];
    int checked;
} gc_result;

static void note(double e, double *worst, char *at, const char *name, size_t i, double a, double b)
{
    if (e <= *worst) return;
    *worst = e;
    snprintf(at, 128, "%.31s[%zu] %.9g vs %.9g", name, i, a, b);
}

/* The double model of the test's own forward (dloss), with the fake quantisers. */
static void dmodel_init(dmodel *d, fl_s2s *m, double *th, size_t n, int T, const fl_s2s_fakequant *fq)
{
    *d = (dmodel){.m = m, .th = th, .mode = 1};
    d->cap = n * ((size_t)T * 2 * 4 + 1) * (size_t)m->cfg.layers * 16;
    d->off = malloc(d->cap * sizeof *d->off);
    d->frozen = malloc(d->cap * sizeof *d->frozen);
    d->pass = malloc(d->cap);
    d->piece = malloc(d->cap);
    if (!fq) return;
    d->qa = fq->act_bits > 0;
    d->qs = fq->state_bits > 0;
    d->sa = ldexp(1, fq->act_frac);
    d->amax = ldexp(1, fq->act_bits - 1) - 1;
    d->amin = -ldexp(1, fq->act_bits - 1);
    d->ss = ldexp(1, fq->state_frac);
    d->smax = ldexp(1, fq->state_bits - 1) - 1;
    d->smin = -ldexp(1, fq->state_bits - 1);
}

static void dmodel_free(dmodel *d)
{
    free(d->off);
    free(d->frozen);
    free(d->pass);
    free(d->piece);
}

/* The fast path's outputs and gradient (float, taped) and the reference's
 * (double, one sequence at a time), on the same inputs and output weights w. */
static void both_gradients(const fl_s2s *m, const float *x, const float *w, size_t n, int T,
                           const fl_s2s_fakequant *fq, float *y, float *grad, double *yr, double *gref)
{
    const fl_s2s_config *c = &m->cfg;
    fl_s2s_tape *tp;
    cr_assert(eq(int, fl_s2s_tape_new(m, n, T, &tp), FL_OK), "%s", fl_error());
    cr_assert(eq(int, fl_s2s_forward_tape(m, x, n, T, fq, tp, y), FL_OK), "%s", fl_error());
    cr_assert(eq(int, fl_s2s_backward(m, tp, w, grad), FL_OK), "%s", fl_error());
    fl_s2s_tape_free(tp);
    for (size_t i = 0; i < n; ++i) {
        size_t ox = i * (size_t)T * (size_t)c->input, oy = i * (size_t)T * (size_t)c->outputs;
        cr_assert(eq(int, fl_s2s_backward_ref(m, x + ox, T, fq, w + oy, yr + oy, gref), FL_OK),
                  "%s", fl_error());
    }
}

/* Every tensor: the fast path against the reference on every entry, and both
 * against five-point finite differences of dloss on all entries of small
 * tensors and 20 sampled entries of the others. */
static void compare_gradients(const fl_s2s *m, dmodel *d, double *th, const float *x, const float *w, size_t n,
                              int T, const float *grad, const double *gref, uint64_t s, gc_result *res)
{
    tensor ts[32];
    int nt = list_tensors(m, ts);
    /* Five-point stencil: truncation error ~h^4, rounding ~1e-16 |L| / h. */
    const double h = 1e-3;
    for (int k = 0; k < nt; ++k) {
        size_t base = (size_t)(ts[k].p - m->params);
        double scale = 0;
        for (size_t e = 0; e < ts[k].n; ++e) scale = fmax(scale, fabs(gref[base + e]));
        for (size_t e = 0; e < ts[k].n; ++e) {
            double a = grad[base + e], r = gref[base + e];
            note(scale > 0 ? fabs(a - r) / scale : fabs(a - r), &res->fast_ref, res->fr_at, ts[k].name, e, a, r);
        }
        int all = ts[k].n <= 48;
        for (size_t e = 0; e < (all ? ts[k].n : 20); ++e) {
            size_t i = base + (all ? e : lcg(&s) % ts[k].n);
            double keep = th[i], f[4];
            for (int q = 0; q < 4; ++q) {
                th[i] = keep + (q < 2 ? (q + 1) * h : -(q - 1) * h);   /* +h +2h -h -2h */
                f[q] = dloss(d, x, n, T, w);
            }
            th[i] = keep;
            double fd = (8 * (f[0] - f[2]) - (f[1] - f[3])) / (12 * h);
            ++res->checked;
            double floor = 1e4 * 2.2e-16 * fmax(fabs(res->loss), 1e-3) / h;
            note(rel_err(gref[i], fd, floor), &res->ref_fd, res->ref_at, ts[k].name, i - base, gref[i], fd);
            note(rel_err(grad[i], fd, floor), &res->fast_fd, res->fast_at, ts[k].name, i - base, grad[i], fd);
        }
    }
}

/* Gradient check of every tensor:
 *  ref_fd : fl_s2s_backward_ref (double) against central differences of the test's
 *           own double forward: relative error on all entries of small tensors
 *           (biases, dense) and 20 sampled entries of each other one;
 *  fast_fd: the float fast path against the same differences, same entries;
 *  fast_ref: the fast path against the reference on EVERY entry, as |fast - ref|
 *           over the tensor's largest |ref| (float rounding is relative to the
 *           scale of the sums a gradient entry comes from, not to the entry). */
static gc_result grad_check(const fl_s2s_config *c, size_t n, int T, uint64_t seed,
                            double wscale, const fl_s2s_fakequant *fq)
{
    fl_s2s m;
    cr_assert(eq(int, fl_s2s_init(&m, c), FL_OK), "%s", fl_error());
    fl_s2s_init_random(&m, seed);
    for (size_t i = 0; i < m.n_params; ++i) m.params[i] *= (float)wscale;
    const size_t nx = n * (size_t)T * (size_t)c->input, ny = n * (size_t)T * (size_t)c->outputs;
    float *x = rand_vec(nx, 0.0, 1.0, seed + 1), *w = rand_vec(ny, -1.0, 1.0, seed + 2);
    float *y = malloc(ny * sizeof *y), *grad = calloc(m.n_params, sizeof *grad);
    double *yr = malloc(ny * sizeof *yr), *gref = calloc(m.n_params, sizeof *gref);
    both_gradients(&m, x, w, n, T, fq, y, grad, yr, gref);
    for (size_t i = 0; i < ny; ++i)
        cr_assert(lt(dbl, fabs(y[i] - yr[i]), 1e-5), "y[%zu] %g vs ref %g", i, y[i], yr[i]);

    double *th = malloc(m.n_params * sizeof *th);
    for (size_t i = 0; i < m.n_params; ++i) th[i] = m.params[i];
    dmodel d;
    dmodel_init(&d, &m, th, n, T, fq);
    double l0 = dloss(&d, x, n, T, w), lr = 0;
    for (size_t i = 0; i < ny; ++i) lr += (double)w[i] * yr[i];
    cr_assert(lt(dbl, fabs(lr - l0), 1e-12 * (1 + fabs(l0))), "loss: ref %.17g, test %.17g", lr, l0);
    /* Not vacuous: the pieces whose gradient is zero or straight-through occur. */
    if (fq) cr_assert(gt(sz, d.clipped, 0), "the quantisers must clip somewhere");
    if (c->act == FL_ACT_HARD_SIGMOID) cr_assert(gt(sz, d.saturated, 0), "no gate saturates");
    d.mode = 2;
    cr_assert(lt(dbl, fabs(dloss(&d, x, n, T, w) - l0), 1e-13 * (1 + fabs(l0))), "replay");

    gc_result res = {.loss = l0};
    compare_gradients(&m, &d, th, x, w, n, T, grad, gref, seed + 3, &res);
    dmodel_free(&d);
    free(th);
    free(x);
    free(w);
    free(y);
    free(yr);
    free(grad);
    free(gref);
    fl_s2s_free(&m);
    return res;
}

/* The bar for the reference: relative error against double finite differences. */
#define GRAD_TOL 1e-4
/* The float fast path against the reference, relative to each tensor's scale. */
#define FAST_TOL 1e-5

static void check(const char *what, gc_result r)
{
    cr_log_info("%s: |L| %.3g, %d entries; ref vs fd %.2g (%s); fast vs fd %.2g (%s); fast vs ref %.2g "
                "of scale (%s)", what, fabs(r.loss), r.checked, r.ref_fd, r.ref_at, r.fast_fd, r.fast_at,
                r.fast_ref, r.fr_at);
    cr_assert(lt(dbl, r.ref_fd, GRAD_TOL), "%s: reference vs finite differences %.3g at %s",
              what, r.ref_fd, r.ref_at);
    cr_assert(lt(dbl, r.fast_ref, FAST_TOL), "%s: fast vs reference %.3g of scale at %s", what,
              r.fast_ref, r.fr_at);
}

/* ---- gradient checks ------------------------------------------------------------ */

Test(backprop, grad_reset_after_sigmoid_two_layers)
{
    fl_s2s_config c = {.input = 1, .outputs = 3, .layers = 2, .enc_hidden = 4, .dec_hidden = 4,
                       .reset = FL_RESET_AFTER, .act = FL_ACT_SIGMOID, .order = FL_GATES_RZN};
    check("after/sigmoid/L2/4x4", grad_check(&c, 3, 6, 101, 1.0, NULL));
}

Test(backprop, grad_reset_before_sigmoid_bridged_zrn)
{
    fl_s2s_config c = {.input = 1, .outputs = 3, .layers = 1, .enc_hidden = 5, .dec_hidden = 3,
                       .reset = FL_RESET_BEFORE, .act = FL_ACT_SIGMOID, .order = FL_GATES_ZRN};
    check("before/sigmoid/ZRN/5x3", grad_check(&c, 2, 7, 202, 1.0, NULL));
}

Test(backprop, grad_reset_after_hard_sigmoid_bridged_two_layers)
{
    fl_s2s_config c = {.input = 2, .outputs = 3, .layers = 2, .enc_hidden = 6, .dec_hidden = 4,
                       .reset = FL_RESET_AFTER, .act = FL_ACT_HARD_SIGMOID, .order = FL_GATES_RZN};
    /* Larger weights push some gates into hard sigmoid's flat parts. */
    check("after/hard/L2/6x4/in2", grad_check(&c, 2, 5, 303, 2.5, NULL));
}

Test(backprop, grad_reset_before_hard_sigmoid_two_layers)
{
    fl_s2s_config c = {.input = 1, .outputs = 1, .layers = 2, .enc_hidden = 3, .dec_hidden = 3,
                       .reset = FL_RESET_BEFORE, .act = FL_ACT_HARD_SIGMOID, .order = FL_GATES_RZN};
    check("before/hard/L2/3x3", grad_check(&c, 3, 8, 404, 2.5, NULL));
}

Test(backprop, grad_reset_before_two_layers_bridged_zrn)
{
    fl_s2s_config c = {.input = 1, .outputs = 3, .layers = 2, .enc_hidden = 4, .dec_hidden = 6,
                       .reset = FL_RESET_BEFORE, .act = FL_ACT_SIGMOID, .order = FL_GATES_ZRN};
    check("before/sigmoid/L2/4x6/ZRN", grad_check(&c, 2, 6, 505, 1.5, NULL));
}

Test(backprop, grad_straight_through_fake_quant)
{
    /* 8-bit activations in [-1, 127/128] and a 7-bit state in [-1, 63/64]: tanh and
     * z near 1 clip, the rest passes straight through. */
    fl_s2s_fakequant fq = {.state_bits = 7, .state_frac = 6, .act_bits = 8, .act_frac = 7};
    fl_s2s_config a = {.input = 1, .outputs = 3, .layers = 2, .enc_hidden = 5, .dec_hidden = 3,
                       .reset = FL_RESET_AFTER, .act = FL_ACT_SIGMOID, .order = FL_GATES_RZN};
    check("fq after/L2/5x3", grad_check(&a, 2, 6, 606, 3.0, &fq));
    fl_s2s_config b = {.input = 1, .outputs = 3, .layers = 1, .enc_hidden = 4, .dec_hidden = 4,
                       .reset = FL_RESET_BEFORE, .act = FL_ACT_HARD_SIGMOID, .order = FL_GATES_ZRN};
    check("fq before/hard/4x4", grad_check(&b, 3, 6, 707, 3.0, &fq));
}

/* ---- behaviour ---------------------------------------------------------------- */

typedef struct {
    fl_s2s m;
    float *x, *y, *w, *g;
    size_t n;
    int T;
} setup;

static setup make(const fl_s2s_config *c, size_t n, int T, uint64_t seed)
{
    setup s = {.n = n, .T = T};
    cr_assert(eq(int, fl_s2s_init(&s.m, c), FL_OK));
    fl_s2s_init_random(&s.m, seed);
    size_t ny = n * (size_t)T * (size_t)c->outputs;
    s.x = rand_vec(n * (size_t)T * (size_t)c->input, 0, 1, seed + 1);
    s.w = rand_vec(ny, -1, 1, seed + 2);
    s.y = malloc(ny * sizeof *s.y);
    s.g = calloc(s.m.n_params, sizeof *s.g);
    return s;
}

static void unmake(setup *s)
{
    free(s->x);
    free(s->y);
    free(s->w);
    free(s->g);
    fl_s2s_free(&s->m);
}

static void run(setup *s, const fl_s2s_fakequant *fq, int threads)
{
    int old = omp_get_max_threads();
    omp_set_num_threads(threads);
    fl_s2s_tape *tp;
    cr_assert(eq(int, fl_s2s_tape_new(&s->m, s->n, s->T, &tp), FL_OK));
    cr_assert(eq(int, fl_s2s_forward_tape(&s->m, s->x, s->n, s->T, fq, tp, s->y), FL_OK));
    memset(s->g, 0, s->m.n_params * sizeof *s->g);
    cr_assert(eq(int, fl_s2s_backward(&s->m, tp, s->w, s->g), FL_OK));
    fl_s2s_tape_free(tp);
    omp_set_num_threads(old);
}

Test(backprop, tape_forward_equals_inference_forward)
{
    fl_s2s_config cs[3] = {fl_s2s_config_teacher(), fl_s2s_config_student(32),
                           fl_s2s_config_student(0)};
    cs[2].enc_hidden = 64;
    cs[2].dec_hidden = 16;
    for (int k = 0; k < 3; ++k) {
        setup s = make(&cs[k], 70, 30, 9);
        size_t ny = s.n * 30 * 3;
        float *y2 = malloc(ny * sizeof *y2);
        run(&s, NULL, 2);
        cr_assert(eq(int, fl_s2s_forward(&s.m, s.x, s.n, 30, y2), FL_OK));
        cr_assert(eq(int, memcmp(s.y, y2, ny * sizeof *y2), 0), "config %d", k);
        free(y2);
        unmake(&s);
    }
}

Test(backprop, bit_identical_for_one_and_two_threads)
{
    fl_s2s_config cs[2] = {fl_s2s_config_student(32), fl_s2s_config_teacher()};
    cs[1].dec_hidden = 64;
    fl_s2s_fakequant fq = {.state_bits = 16, .state_frac = 12, .act_bits = 8, .act_frac = 7};
    for (int k = 0; k < 2; ++k) {
        setup a = make(&cs[k], 300, 40, 31), b = make(&cs[k], 300, 40, 31);
        run(&a, k ? &fq : NULL, 1);
        run(&b, k ? &fq : NULL, 2);
        cr_assert(eq(int, memcmp(a.y, b.y, 300 * 40 * 3 * sizeof(float)), 0), "y, config %d", k);
        cr_assert(eq(int, memcmp(a.g, b.g, a.m.n_params * sizeof(float)), 0), "grad, config %d", k);
        unmake(&a);
        unmake(&b);
    }
}

Test(backprop, backward_adds_to_grad)
{
    fl_s2s_config c = fl_s2s_config_student(8);
    setup s = make(&c, 5, 12, 41);
    fl_s2s_tape *tp;
    cr_assert(eq(int, fl_s2s_tape_new(&s.m, 8, 20, &tp), FL_OK));
    cr_assert(eq(int, fl_s2s_forward_tape(&s.m, s.x, 5, 12, NULL, tp, s.y), FL_OK));
    cr_assert(eq(int, fl_s2s_backward(&s.m, tp, s.w, s.g), FL_OK));
    float *once = malloc(s.m.n_params * sizeof *once);
    memcpy(once, s.g, s.m.n_params * sizeof *once);
    cr_assert(eq(int, fl_s2s_backward(&s.m, tp, s.w, s.g), FL_OK));
    for (size_t i = 0; i < s.m.n_params; ++i) cr_assert(eq(flt, s.g[i], 2 * once[i]));
    free(once);
    fl_s2s_tape_free(tp);
    unmake(&s);
}

Test(backprop, fine_fake_quant_is_nearly_transparent_and_coarse_is_not)
{
    fl_s2s_config c = fl_s2s_config_student(16);
    setup a = make(&c, 40, 50, 51), b = make(&c, 40, 50, 51);
    run(&a, NULL, 2);
    fl_s2s_fakequant fine = {.state_bits = 24, .state_frac = 21, .act_bits = 24, .act_frac = 22};
    run(&b, &fine, 2);
    double dy = 0, dg = 0, gmax = 0;
    for (size_t i = 0; i < 40 * 50 * 3; ++i) dy = fmax(dy, fabs(a.y[i] - b.y[i]));
    for (size_t i = 0; i < a.m.n_params; ++i) {
        dg = fmax(dg, fabs(a.g[i] - b.g[i]));
        gmax = fmax(gmax, fabs(a.g[i]));
    }
    cr_assert(lt(dbl, dy, 1e-5), "24-bit fake quantisation moved y by %g", dy);
    cr_assert(lt(dbl, dg, 1e-4 * gmax), "and the gradient by %g (max %g)", dg, gmax);
    fl_s2s_fakequant coarse = {.state_bits = 4, .state_frac = 3, .act_bits = 0};
    run(&b, &coarse, 2);
    dy = 0;
    for (size_t i = 0; i < 40 * 50 * 3; ++i) dy = fmax(dy, fabs(a.y[i] - b.y[i]));
    cr_assert(gt(dbl, dy, 1e-2), "a 4-bit state must show (moved y by %g)", dy);
    unmake(&a);
    unmake(&b);
}

Test(backprop, rejects_mismatches)
{
    fl_s2s_config c = fl_s2s_config_student(8), o = fl_s2s_config_student(9);
    setup s = make(&c, 4, 10, 61);
    fl_s2s other;
    cr_assert(eq(int, fl_s2s_init(&other, &o), FL_OK));
    fl_s2s_tape *tp;
    cr_assert(eq(int, fl_s2s_tape_new(&s.m, 4, 10, &tp), FL_OK));
    cr_assert(eq(int, fl_s2s_backward(&s.m, tp, s.w, s.g), FL_E_INPUT), "nothing recorded");
    cr_assert(eq(int, fl_s2s_forward_tape(&s.m, s.x, 5, 10, NULL, tp, s.y), FL_E_INPUT));
    cr_assert(strstr(fl_error(), "batch") != NULL);
    cr_assert(eq(int, fl_s2s_forward_tape(&s.m, s.x, 4, 11, NULL, tp, s.y), FL_E_INPUT));
    cr_assert(eq(int, fl_s2s_forward_tape(&other, s.x, 4, 10, NULL, tp, s.y), FL_E_INPUT));
    fl_s2s_fakequant bad = {.state_bits = 30, .state_frac = 8};
    cr_assert(eq(int, fl_s2s_forward_tape(&s.m, s.x, 4, 10, &bad, tp, s.y), FL_E_INPUT));
    cr_assert(strstr(fl_error(), "fakequant.state_bits") != NULL, "%s", fl_error());
    cr_assert(eq(int, fl_s2s_forward_tape(&s.m, s.x, 4, 10, NULL, tp, s.y), FL_OK));
    cr_assert(eq(int, fl_s2s_backward(&other, tp, s.w, s.g), FL_E_INPUT));
    cr_assert(eq(int, fl_s2s_backward(&s.m, tp, s.w, s.g), FL_OK));
    fl_s2s_tape_free(tp);
    fl_s2s_free(&other);
    unmake(&s);
}
