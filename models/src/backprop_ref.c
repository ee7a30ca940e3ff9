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

fl_status fl_s2s_backward_ref(const fl_s2s *m, const float *x, int T,
                              const fl_s2s_fakequant *fq, const float *dy, double *y,
                              double *grad)
{
    if (!m || !m->params) return fl_fail(FL_E_INPUT, "backward_ref: model not initialised");
    if (T < 1) return fl_fail(FL_E_INPUT, "backward_ref: T = %d must be >= 1", T);
    const fl_s2s_config *c = &m->cfg;
    ctx k = {.c = c, .orr = c->order == FL_GATES_RZN ? 0 : c->enc_hidden,
             .oz = c->order == FL_GATES_RZN ? c->enc_hidden : 0};
    fl_status st;
    if ((st = qd_make(&k.qa, fq ? fq->act_bits : 0, fq ? fq->act_frac : 0, "act")) ||
        (st = qd_make(&k.qs, fq ? fq->state_bits : 0, fq ? fq->state_frac : 0, "state")))
        return st;
    const int L = c->layers, E = c->enc_hidden, D = c->dec_hidden, C = c->outputs;
    const int In = c->input, Hm = E > D ? E : D;
    const size_t Tz = (size_t)T;

    /* One block: records of every layer, bridge values, input, scratch. */
    size_t per_e = (Tz + 1) * E + 5 * Tz * E, per_d = (Tz + 1) * D + 5 * Tz * D;
    size_t total = (size_t)L * (per_e + per_d) + (size_t)L * D + Tz * In + Tz * D +
                   (size_t)L * 2 * Hm + 7 * (size_t)Hm;
    double *mem = calloc(total, sizeof *mem);
    if (!mem) return fl_fail(FL_E_NOMEM, "backward_ref: out of memory");
    double *q = mem;
    rec er[FL_S2S_MAX_LAYERS], dr[FL_S2S_MAX_LAYERS];
    for (int pass = 0; pass < 2; ++pass)
        for (int l = 0; l < L; ++l) {
            rec *R = pass ? &dr[l] : &er[l];
            size_t H = (size_t)(pass ? D : E);
            R->g = pass ? &m->dec[l] : &m->enc[l];
            R->h = q, q += (Tz + 1) * H;
            R->r = q, q += Tz * H;
            R->z = q, q += Tz * H;
            R->n = q, q += Tz * H;
            R->hraw = q, q += Tz * H;
            R->hn = q, q += Tz * H;
        }
    double *braw = q;          q += (size_t)L * D;
    double *xd = q;            q += Tz * In;
    double *dtop = q;          q += Tz * D;
    double *carry = q;         q += (size_t)L * Hm;
    double *nextc = q;         q += (size_t)L * Hm;
    double *din = q, *dxb = q + Hm, *tmp = q + 2 * Hm;

    for (size_t i = 0; i < Tz * In; ++i) xd[i] = x[i];
    /* The gate offsets depend on H: the encoder's and decoder's differ when E != D. */
    ctx ke = k, kd = k;
    kd.orr = c->order == FL_GATES_RZN ? 0 : D;
    kd.oz = c->order == FL_GATES_RZN ? D : 0;

    for (int t = 0; t < T; ++t)
        for (int l = 0; l < L; ++l)
            step_fwd(&ke, &er[l], t, l ? er[l - 1].h + (size_t)(t + 1) * E : xd + (size_t)t * In);
    for (int l = 0; l < L; ++l)
        for (int j = 0; j < D; ++j) {
            const double *he = er[l].h + Tz * E;
            if (E == D) {
                dr[l].h[j] = he[j];
                continue;
            }
            double a = m->bridge_b[l][j];
            for (int i = 0; i < E; ++i) a += (double)m->bridge_w[l][(size_t)j * E + i] * he[i];
            braw[(size_t)l * D + j] = tanh(a);
            dr[l].h[j] = qv(&k.qs, tanh(a));
        }
    for (int t = 0; t < T; ++t)
        for (int l = 0; l < L; ++l)
            step_fwd(&kd, &dr[l], t, l ? dr[l - 1].h + (size_t)(t + 1) * D : NULL);

    /* Dense head. */
    double *gdw = grad + (m->dense_w - m->params), *gdb = grad + (m->dense_b - m->params);
    for (size_t t = 0; t < Tz; ++t) {
        const double *top = dr[L - 1].h + (t + 1) * D;
        for (int o = 0; o < C; ++o) {
            double a = m->dense_b[o], g = dy[t * C + o];
            for (int j = 0; j < D; ++j) {
                a += (double)m->dense_w[(size_t)o * D + j] * top[j];
                gdw[(size_t)o * D + j] += g * top[j];
                dtop[t * D + j] += g * m->dense_w[(size_t)o * D + j];
            }
            gdb[o] += g;
            if (y) y[t * C + o] = a;
        }
    }

    /* Decoder: time backwards; within a step, the top layer first (its input
     * gradient is the output gradient of the layer below at the same step). */
    for (int t = T - 1; t >= 0; --t) {
        memcpy(din, dtop + (size_t)t * D, (size_t)D * sizeof *din);
        for (int l = L - 1; l >= 0; --l) {
            double *cl = carry + (size_t)l * Hm, *nl = nextc + (size_t)l * Hm;
            for (int j = 0; j < D; ++j) din[j] += cl[j];
            memset(nl, 0, (size_t)D * sizeof *nl);
            memset(dxb, 0, (size_t)D * sizeof *dxb);
            step_bwd(&kd, &dr[l], t, l ? dr[l - 1].h + (size_t)(t + 1) * D : NULL, din, nl,
                     l ? dxb : NULL, m, grad, tmp);
            memcpy(cl, nl, (size_t)D * sizeof *cl);
            memcpy(din, dxb, (size_t)D * sizeof *din);
        }
    }
    /* carry[l] = dL/d(decoder h_0 of layer l); through the bridge to the encoder. */
    for (int l = 0; l < L; ++l) {
        double *cl = carry + (size_t)l * Hm;
        if (E == D) continue;
        const double *he = er[l].h + Tz * E;
        double *gbw = grad + (m->bridge_w[l] - m->params), *gbb = grad + (m->bridge_b[l] - m->params);
        double *de = tmp;
        memset(de, 0, (size_t)E * sizeof *de);
        for (int j = 0; j < D; ++j) {
            double s = braw[(size_t)l * D + j], da = cl[j] * qpass(&k.qs, s) * (1.0 - s * s);
            gbb[j] += da;
            for (int i = 0; i < E; ++i) {
                gbw[(size_t)j * E + i] += da * he[i];
                de[i] += da * m->bridge_w[l][(size_t)j * E + i];
            }
        }
        memcpy(cl, de, (size_t)E * sizeof *cl);
    }
    /* Encoder: the final states carry the decoder's gradient in. */
    for (int t = T - 1; t >= 0; --t) {
        memset(din, 0, (size_t)E * sizeof *din);
        for (int l = L - 1; l >= 0; --l) {
            double *cl = carry + (size_t)l * Hm, *nl = nextc + (size_t)l * Hm;
            for (int j = 0; j < E; ++j) din[j] += cl[j];
            memset(nl, 0, (size_t)E * sizeof *nl);
            memset(dxb, 0, (size_t)E * sizeof *dxb);
            step_bwd(&ke, &er[l], t, l ? er[l - 1].h + (size_t)(t + 1) * E : xd + (size_t)t * In,
                     din, nl, l ? dxb : NULL, m, grad, tmp);
            memcpy(cl, nl, (size_t)E * sizeof *cl);
            memcpy(din, dxb, (size_t)E * sizeof *din);
        }
    }
    free(mem);
    return FL_OK;
}
