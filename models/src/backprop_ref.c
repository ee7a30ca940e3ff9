/* backprop_ref.c - fl_s2s_backward_ref: BPTT for one sequence, in double, written
 * straight from the equations in seq2seq.h with scalar loops. It is the yardstick
 * for backprop.c (finite differences check it to ~1e-8; the float fast path is
 * checked against it), so it favours being obviously right over being fast.
 *
 * Fake quantisation as in the fast path: q(v) = clamp(round(v 2^f), qmin, qmax) 2^-f,
 * round half away from zero; gradient 1 where qmin <= v 2^f <= qmax, else 0; the
 * derivatives of σ and tanh are taken at the raw (unquantised) values.
 */
#include "fligru/backprop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int on;
    double s, lo, hi;
} qd;

static fl_status qd_make(qd *q, int bits, int frac, const char *what)
{
    memset(q, 0, sizeof *q);
    if (bits == 0) return FL_OK;
    if (bits < 2 || bits > 24)
        return fl_fail(FL_E_INPUT, "fakequant.%s_bits: %d must be 0 (off) or in 2..24", what, bits);
    if (frac < -32 || frac > 64)
        return fl_fail(FL_E_INPUT, "fakequant.%s_frac: %d must be in -32..64", what, frac);
    q->on = 1;
    q->s = ldexp(1.0, frac);
    q->hi = ldexp(1.0, bits - 1) - 1;
    q->lo = -ldexp(1.0, bits - 1);
    return FL_OK;
}

static double qv(const qd *q, double v)
{
    if (!q->on) return v;
    double a = fmin(q->hi, fmax(q->lo, v * q->s)), m = fabs(a), k = trunc(m);
    if (m - k >= 0.5) k += 1;
    return copysign(k, a) / q->s;
}

static double qpass(const qd *q, double v)
{
    return !q->on || (v * q->s >= q->lo && v * q->s <= q->hi) ? 1.0 : 0.0;
}

/* What one layer records over T steps. */
typedef struct {
    const fl_gru_layer *g;
    double *h;                  /* [T+1][H] carried states                  */
    double *r, *z, *n;          /* [T][H] raw activations                   */
    double *hraw;               /* [T][H] new state before quantisation     */
    double *hn;                 /* [T][H] W_hn h + b_hn (reset-after)       */
} rec;

typedef struct {
    const fl_s2s_config *c;
    int orr, oz;
    qd qa, qs;
} ctx;

static double sig(const ctx *k, double a)
{
    if (k->c->act == FL_ACT_HARD_SIGMOID) return fmin(1.0, fmax(0.0, 0.5 * a + 0.5));
    return 1.0 / (1.0 + exp(-a));
}

static double dsig(const ctx *k, double s)
{
    if (k->c->act == FL_ACT_HARD_SIGMOID) return s > 0.0 && s < 1.0 ? 0.5 : 0.0;
    return s * (1.0 - s);
}

/* Forward step t of one layer; x NULL is the zero input. */
static void step_fwd(const ctx *k, rec *R, int t, const double *x)
{
    const fl_gru_layer *g = R->g;
    const int H = g->hidden, In = g->input, on = 2 * H;
    const double *hp = R->h + (size_t)t * H;
    double *r = R->r + (size_t)t * H, *z = R->z + (size_t)t * H, *n = R->n + (size_t)t * H;
    double *hn = R->hn + (size_t)t * H, *hr = R->hraw + (size_t)t * H;
    double *h = R->h + (size_t)(t + 1) * H;
    const int after = k->c->reset == FL_RESET_AFTER;
    for (int j = 0; j < H; ++j) {
        int rr = k->orr + j, zz = k->oz + j;
        double ar = g->b_ih[rr] + (after ? g->b_hh[rr] : 0.0);
        double az = g->b_ih[zz] + (after ? g->b_hh[zz] : 0.0);
        for (int f = 0; x && f < In; ++f) {
            ar += (double)g->w_ih[(size_t)rr * In + f] * x[f];
            az += (double)g->w_ih[(size_t)zz * In + f] * x[f];
        }
        for (int i = 0; i < H; ++i) {
            ar += (double)g->w_hh[(size_t)rr * H + i] * hp[i];
            az += (double)g->w_hh[(size_t)zz * H + i] * hp[i];
        }
        r[j] = sig(k, ar);
        z[j] = sig(k, az);
    }
    for (int j = 0; j < H; ++j) {
        int nn = on + j;
        double an = g->b_ih[nn];
        for (int f = 0; x && f < In; ++f) an += (double)g->w_ih[(size_t)nn * In + f] * x[f];
        if (after) {
            hn[j] = g->b_hh[nn];
            for (int i = 0; i < H; ++i) hn[j] += (double)g->w_hh[(size_t)nn * H + i] * hp[i];
            an += qv(&k->qa, r[j]) * hn[j];
        } else {
            for (int i = 0; i < H; ++i)
                an += (double)g->w_hh[(size_t)nn * H + i] * (qv(&k->qa, r[i]) * hp[i]);
        }
        n[j] = tanh(an);
    }
    for (int j = 0; j < H; ++j) {
        double nq = qv(&k->qa, n[j]), zq = qv(&k->qa, z[j]);
        hr[j] = nq + zq * (hp[j] - nq);
        h[j] = qv(&k->qs, hr[j]);
    }
}

/* One gate row's products W_ih[row] x and W_hh[row] hidden, given the gradients
 * of their sums (di, dh): adds to both weight rows, to dL/d hidden and to dL/dx.
 * hidden is h_t, or q(r) * h_t for reset-before's n row. */
static void row_bwd(const fl_gru_layer *g, int row, double di, double dh, const double *x,
                    const double *hidden, double *gwi, double *gwh, double *dhid, double *dx)
{
    const int H = g->hidden, In = g->input;
    for (int f = 0; x && f < In; ++f) {
        gwi[(size_t)row * In + f] += di * x[f];
        if (dx) dx[f] += di * g->w_ih[(size_t)row * In + f];
    }
    for (int i = 0; i < H; ++i) {
        gwh[(size_t)row * H + i] += dh * hidden[i];
        dhid[i] += dh * g->w_hh[(size_t)row * H + i];
    }
}

/* Backward step t: dh = dL/dh_{t+1}; adds to the layer's gradients, to dhp =
 * dL/dh_t and (when x and dx) to dx = dL/dx_t. tmp holds 5H doubles. */
static void step_bwd(const ctx *k, const rec *R, int t, const double *x, const double *dh,
                     double *dhp, double *dx, const fl_s2s *m, double *grad, double *tmp)
{
    const fl_gru_layer *g = R->g;
    const int H = g->hidden, on = 2 * H;
    const int after = k->c->reset == FL_RESET_AFTER;
    const size_t o = (size_t)t * H;
    const double *hp = R->h + o, *r = R->r + o, *z = R->z + o, *n = R->n + o;
    const double *hn = R->hn + o, *hr = R->hraw + o;
    double *gwi = grad + (g->w_ih - m->params), *gwh = grad + (g->w_hh - m->params);
    double *gbi = grad + (g->b_ih - m->params), *gbh = g->b_hh ? grad + (g->b_hh - m->params) : NULL;
    /* dL/d a_n, dL/d z (quantised), dL/d q(r), dL/d (q(r) * h), q(r) * h */
    double *dan = tmp, *dzq = tmp + H, *drq = tmp + 2 * H, *drh = tmp + 3 * H, *rh = tmp + 4 * H;
    memset(tmp, 0, 5 * (size_t)H * sizeof *tmp);

    /* h' = q_s(n_q + z_q (h - n_q)) */
    for (int j = 0; j < H; ++j) {
        double nq = qv(&k->qa, n[j]), zq = qv(&k->qa, z[j]);
        double d = dh[j] * qpass(&k->qs, hr[j]);
        dhp[j] += d * zq;
        dzq[j] = d * (hp[j] - nq);
        dan[j] = d * (1.0 - zq) * qpass(&k->qa, n[j]) * (1.0 - n[j] * n[j]);
        rh[j] = qv(&k->qa, r[j]) * hp[j];
    }
    /* n = tanh(W_in x + b_in + q(r) (W_hn h + b_hn))  or  tanh(W_in x + W_hn (q(r) h) + b_n) */
    for (int j = 0; j < H; ++j) {
        int row = on + j;
        gbi[row] += dan[j];
        if (after) {
            double dhn = dan[j] * qv(&k->qa, r[j]);
            drq[j] += dan[j] * hn[j];
            gbh[row] += dhn;
            row_bwd(g, row, dan[j], dhn, x, hp, gwi, gwh, dhp, dx);
        } else {
            row_bwd(g, row, dan[j], dan[j], x, rh, gwi, gwh, drh, dx);
        }
    }
    if (!after)
        for (int i = 0; i < H; ++i) {
            drq[i] += drh[i] * hp[i];
            dhp[i] += drh[i] * qv(&k->qa, r[i]);
        }
    /* r, z = σ(W x + b_i + U h + b_h) */
    for (int j = 0; j < H; ++j) {
        double daz = dzq[j] * qpass(&k->qa, z[j]) * dsig(k, z[j]);
        double dar = drq[j] * qpass(&k->qa, r[j]) * dsig(k, r[j]);
        int zz = k->oz + j, rr = k->orr + j;
        gbi[zz] += daz;
        gbi[rr] += dar;
        if (gbh) {
            gbh[zz] += daz;
            gbh[rr] += dar;
        }
        row_bwd(g, zz, daz, daz, x, hp, gwi, gwh, dhp, dx);
        row_bwd(g, rr, dar, dar, x, hp, gwi, gwh, dhp, dx);
    }
}

/* The reference pass's records and scratch, in one block. */
typedef struct {
    const fl_s2s *m;
    int    T, L, E, D, C, In, Hm;
    ctx    k, ke, kd;                              /* quantisers; gate offsets per side */
    rec    er[FL_S2S_MAX_LAYERS], dr[FL_S2S_MAX_LAYERS];
    double *mem, *braw, *xd, *dtop, *carry, *nextc, *din, *dxb, *tmp;
} ref_pass;

static fl_status pass_alloc(ref_pass *w)
{
    const size_t Tz = (size_t)w->T, E = (size_t)w->E, D = (size_t)w->D, L = (size_t)w->L, Hm = (size_t)w->Hm;
    size_t per_e = (Tz + 1) * E + 5 * Tz * E, per_d = (Tz + 1) * D + 5 * Tz * D;
    size_t total = L * (per_e + per_d) + L * D + Tz * (size_t)w->In + Tz * D + L * 2 * Hm + 7 * Hm;
    double *q = w->mem = calloc(total, sizeof *w->mem);
    if (!q) return fl_fail(FL_E_NOMEM, "backward_ref: out of memory");
    for (int pass = 0; pass < 2; ++pass)
        for (int l = 0; l < w->L; ++l) {
            rec *R = pass ? &w->dr[l] : &w->er[l];
            size_t H = pass ? D : E;
            R->g = pass ? &w->m->dec[l] : &w->m->enc[l];
            R->h = q, q += (Tz + 1) * H;
            R->r = q, q += Tz * H;
            R->z = q, q += Tz * H;
            R->n = q, q += Tz * H;
            R->hraw = q, q += Tz * H;
            R->hn = q, q += Tz * H;
        }
    w->braw = q;  q += L * D;
    w->xd = q;    q += Tz * (size_t)w->In;
    w->dtop = q;  q += Tz * D;
    w->carry = q; q += L * Hm;
    w->nextc = q; q += L * Hm;
    w->din = q, w->dxb = q + Hm, w->tmp = q + 2 * Hm;
    return FL_OK;
}

/* Encoder, bridge (tanh when E != D) and decoder, recording every step. */
static void pass_forward(ref_pass *w, const float *x)
{
    const fl_s2s *m = w->m;
    const int T = w->T, L = w->L, E = w->E, D = w->D;
    const size_t Tz = (size_t)T;
    for (size_t i = 0; i < Tz * w->In; ++i) w->xd[i] = x[i];
    for (int t = 0; t < T; ++t)
        for (int l = 0; l < L; ++l)
            step_fwd(&w->ke, &w->er[l], t, l ? w->er[l - 1].h + (size_t)(t + 1) * E : w->xd + (size_t)t * w->In);
    for (int l = 0; l < L; ++l)
        for (int j = 0; j < D; ++j) {
            const double *he = w->er[l].h + Tz * E;
            if (E == D) {
                w->dr[l].h[j] = he[j];
                continue;
            }
            double a = m->bridge_b[l][j];
            for (int i = 0; i < E; ++i) a += (double)m->bridge_w[l][(size_t)j * E + i] * he[i];
            w->braw[(size_t)l * D + j] = tanh(a);
            w->dr[l].h[j] = qv(&w->k.qs, tanh(a));
        }
    for (int t = 0; t < T; ++t)
        for (int l = 0; l < L; ++l)
            step_fwd(&w->kd, &w->dr[l], t, l ? w->dr[l - 1].h + (size_t)(t + 1) * D : NULL);
}

/* The dense head: outputs y (optional), its gradients, dL/d(top state) in dtop. */
static void pass_dense(ref_pass *w, const float *dy, double *y, double *grad)
{
    const fl_s2s *m = w->m;
    const int D = w->D, C = w->C;
    double *gdw = grad + (m->dense_w - m->params), *gdb = grad + (m->dense_b - m->params);
    for (size_t t = 0; t < (size_t)w->T; ++t) {
        const double *top = w->dr[w->L - 1].h + (t + 1) * D;
        for (int o = 0; o < C; ++o) {
            double a = m->dense_b[o], g = dy[t * C + o];
            for (int j = 0; j < D; ++j) {
                a += (double)m->dense_w[(size_t)o * D + j] * top[j];
                gdw[(size_t)o * D + j] += g * top[j];
                w->dtop[t * D + j] += g * m->dense_w[(size_t)o * D + j];
            }
            gdb[o] += g;
            if (y) y[t * C + o] = a;
        }
    }
}

/* One side's steps backwards in time; within a step, the top layer first (its
 * input gradient is the output gradient of the layer below at the same step).
 * dec: the decoder (fed dtop, no input); else the encoder (fed zero, input x).
 * carry[l] ends as dL/d(initial state of layer l). */
static void pass_backward(ref_pass *w, int dec, double *grad)
{
    const int H = dec ? w->D : w->E, Hm = w->Hm;
    const ctx *k = dec ? &w->kd : &w->ke;
    rec *R = dec ? w->dr : w->er;
    for (int t = w->T - 1; t >= 0; --t) {
        if (dec) memcpy(w->din, w->dtop + (size_t)t * H, (size_t)H * sizeof *w->din);
        else memset(w->din, 0, (size_t)H * sizeof *w->din);
        for (int l = w->L - 1; l >= 0; --l) {
            double *cl = w->carry + (size_t)l * Hm, *nl = w->nextc + (size_t)l * Hm;
            for (int j = 0; j < H; ++j) w->din[j] += cl[j];
            memset(nl, 0, (size_t)H * sizeof *nl);
            memset(w->dxb, 0, (size_t)H * sizeof *w->dxb);
            const double *in = l ? R[l - 1].h + (size_t)(t + 1) * H : dec ? NULL : w->xd + (size_t)t * w->In;
            step_bwd(k, &R[l], t, in, w->din, nl, l ? w->dxb : NULL, w->m, grad, w->tmp);
            memcpy(cl, nl, (size_t)H * sizeof *cl);
            memcpy(w->din, w->dxb, (size_t)H * sizeof *w->din);
        }
    }
}

/* carry[l] = dL/d(decoder h_0 of layer l), through the bridge to the encoder. */
static void pass_bridge(ref_pass *w, double *grad)
{
    const fl_s2s *m = w->m;
    const int E = w->E, D = w->D;
    if (E == D) return;
    for (int l = 0; l < w->L; ++l) {
        double *cl = w->carry + (size_t)l * w->Hm;
        const double *he = w->er[l].h + (size_t)w->T * E;
        double *gbw = grad + (m->bridge_w[l] - m->params), *gbb = grad + (m->bridge_b[l] - m->params);
        double *de = w->tmp;
        memset(de, 0, (size_t)E * sizeof *de);
        for (int j = 0; j < D; ++j) {
            double s = w->braw[(size_t)l * D + j], da = cl[j] * qpass(&w->k.qs, s) * (1.0 - s * s);
            gbb[j] += da;
            for (int i = 0; i < E; ++i) {
                gbw[(size_t)j * E + i] += da * he[i];
                de[i] += da * m->bridge_w[l][(size_t)j * E + i];
            }
        }
        memcpy(cl, de, (size_t)E * sizeof *cl);
    }
}

fl_status fl_s2s_backward_ref(const fl_s2s *m, const float *x, int T,
                              const fl_s2s_fakequant *fq, const float *dy, double *y,
                              double *grad)
{
    if (!m || !m->params) return fl_fail(FL_E_INPUT, "backward_ref: model not initialised");
    if (T < 1) return fl_fail(FL_E_INPUT, "backward_ref: T = %d must be >= 1", T);
    const fl_s2s_config *c = &m->cfg;
    ref_pass w = {.m = m, .T = T, .L = c->layers, .E = c->enc_hidden, .D = c->dec_hidden, .C = c->outputs,
                  .In = c->input, .Hm = c->enc_hidden > c->dec_hidden ? c->enc_hidden : c->dec_hidden};
    w.k = (ctx){.c = c, .orr = c->order == FL_GATES_RZN ? 0 : c->enc_hidden,
                .oz = c->order == FL_GATES_RZN ? c->enc_hidden : 0};
    fl_status st;
    if ((st = qd_make(&w.k.qa, fq ? fq->act_bits : 0, fq ? fq->act_frac : 0, "act")) ||
        (st = qd_make(&w.k.qs, fq ? fq->state_bits : 0, fq ? fq->state_frac : 0, "state")))
        return st;
    /* The gate offsets depend on H: the encoder's and decoder's differ when E != D. */
    w.ke = w.kd = w.k;
    w.kd.orr = c->order == FL_GATES_RZN ? 0 : w.D;
    w.kd.oz = c->order == FL_GATES_RZN ? w.D : 0;
    if ((st = pass_alloc(&w))) return st;
    pass_forward(&w, x);
    pass_dense(&w, dy, y, grad);
    pass_backward(&w, 1, grad);
    pass_bridge(&w, grad);
    pass_backward(&w, 0, grad);
    free(w.mem);
    return FL_OK;
}
