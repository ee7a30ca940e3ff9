/* fx_ref.c - the golden model: one pixel, scalar, each line a line of
 * docs/fixed-point.md §4. Nothing here is fast on purpose; the batched kernels
 * (fx_fast.c) are tested against it, and the RTL is checked against its
 * vectors. Every value is an int64_t holding an integer of its declared width. */
#include "fligru/fxmodel.h"

#include <stdlib.h>
#include <string.h>

/* Storage block of semantic gate G (0 r, 1 z, 2 n) in a [3H] row range. */
static int gate_off(const fl_fx_model *q, int G, int H)
{
    if (G == 2) return 2 * H;
    const int rzn = q->cfg.order == FL_GATES_RZN;
    return (G == 0) == rzn ? 0 : H;
}

/* §4.2: A = wrap_Wacc(sum_k shr(w_k v_k, D)). The sum runs modulo 2^64 (left
 * shifted products may wrap there), which wrap_Wacc then reduces. */
static int64_t mac(const fl_fx_format *f, const int32_t *w, const int32_t *v, int n, int D)
{
    uint64_t a = 0;
    for (int k = 0; k < n; ++k) a += (uint64_t)fl_fx_product(w[k], v[k], D, f->round);
    return fl_fx_wrap((int64_t)a, f->acc_bits);
}

/* §4.2-4.3 for row j of m: rescale(MAC) into a W-bit target. */
static int64_t mac_rescale(const fl_fx_format *f, const fl_fx_matrix *m, int j, const int32_t *v, int D, int W)
{
    const int64_t A = mac(f, m->q + (size_t)j * m->cols, v, m->cols, D);
    return fl_fx_rescale(A, m->mult[j], m->shift[j], f->round, W);
}

/* §4.4: a bias in the target format. */
static int64_t align(const fl_fx_format *f, int32_t b, fl_fx_q t)
{
    return fl_fx_shr_sat(b, f->bias.frac - t.frac, f->round, t.bits);
}

/* §2.4 */
static int64_t sigmoid(const fl_fx_model *q, int64_t g)
{
    const fl_fx_format *f = &q->fmt;
    const fl_fx_act *a = &f->sigmoid;
    if (a->kind == FL_FX_ACT_TABLE)
        return q->sigmoid_table[fl_fx_table_index(g, f->gate.frac, a->range_log2, a->size_log2)];
    const int64_t one = (INT64_C(1) << f->act.frac) < fl_fx_max(f->act.bits) ? INT64_C(1) << f->act.frac
                                                                             : fl_fx_max(f->act.bits);
    const int64_t y = fl_fx_shr(g, f->gate.frac + 1 - f->act.frac, f->round) + (INT64_C(1) << (f->act.frac - 1));
    return y < 0 ? 0 : y > one ? one : y;
}

static int64_t tanh_fx(const fl_fx_model *q, int64_t g)
{
    const fl_fx_format *f = &q->fmt;
    const fl_fx_act *a = &f->tanh;
    if (a->kind == FL_FX_ACT_TABLE)
        return q->tanh_table[fl_fx_table_index(g, f->gate.frac, a->range_log2, a->size_log2)];
    const int64_t one = (INT64_C(1) << f->act.frac) < fl_fx_max(f->act.bits) ? INT64_C(1) << f->act.frac
                                                                             : fl_fx_max(f->act.bits);
    const int64_t y = fl_fx_shr(g, f->gate.frac - f->act.frac, f->round);
    return y < -one ? -one : y > one ? one : y;
}

/* §4.7: h' = sat(shr(nA 2^F_a + z (hA - nA), F_1 + F_a - F_h)). */
static int64_t update(const fl_fx_format *f, int64_t n, int64_t z, int64_t h)
{
    const int fa = f->act.frac, fh = f->state.frac, f1 = fa > fh ? fa : fh;
    const int64_t nA = n * (INT64_C(1) << (f1 - fa)), hA = h * (INT64_C(1) << (f1 - fh));
    const int64_t v = nA * (INT64_C(1) << fa) + z * (hA - nA);
    return fl_fx_sat(fl_fx_shr(v, f1 + fa - fh, f->round), f->state.bits);
}

/* §4.5: one GRU step. has_x: the layer has an input part (not decoder layer 0);
 * Dx its product shift. s: scratch of 5H + 3H int64 and H int32. */
static void gru_step(const fl_fx_model *q, const fl_fx_layer *L, int has_x, int Dx, const int32_t *v,
                     int32_t *h, fl_fx_gates *g, int64_t *s, int32_t *rh)
{
    const fl_fx_format *f = &q->fmt;
    const int H = L->hidden, Dh = fl_fx_product_shift(f, f->state.frac), Wg = f->gate.bits;
    const int after = q->cfg.reset == FL_RESET_AFTER;
    const int o_r = gate_off(q, 0, H), o_z = gate_off(q, 1, H), o_n = gate_off(q, 2, H);
    int64_t *Rx = s, *Rh = s + 3 * H, *r = s + 6 * H, *z = s + 7 * H;
    for (int i = 0; i < 3 * H; ++i) {
        Rx[i] = has_x ? mac_rescale(f, &L->wx, i, v, Dx, Wg) : 0;
        const int is_n = i >= o_n && i < o_n + H;
        Rh[i] = !is_n || after ? mac_rescale(f, &L->wh, i, h, Dh, Wg) : 0;
    }
    for (int j = 0; j < H; ++j) {
        const int64_t bhr = after ? align(f, L->bh[o_r + j], f->gate) : 0;
        const int64_t bhz = after ? align(f, L->bh[o_z + j], f->gate) : 0;
        const int64_t pr = fl_fx_sat(Rx[o_r + j] + align(f, L->bx[o_r + j], f->gate) + Rh[o_r + j] + bhr, Wg);
        const int64_t pz = fl_fx_sat(Rx[o_z + j] + align(f, L->bx[o_z + j], f->gate) + Rh[o_z + j] + bhz, Wg);
        r[j] = sigmoid(q, pr);
        z[j] = sigmoid(q, pz);
        if (g && g->pre) g->pre[j] = (int32_t)pr, g->pre[H + j] = (int32_t)pz;
    }
    if (!after)      /* reset-before: r ⊙ h into the state format, every k */
        for (int k = 0; k < H; ++k)
            rh[k] = (int32_t)fl_fx_sat(fl_fx_shr(r[k] * h[k], f->act.frac, f->round), f->state.bits);
    int64_t *n = s + 8 * H;   /* n is kept apart: every unit reads the old h */
    for (int j = 0; j < H; ++j) {
        int64_t hpart;
        if (after) {
            const int64_t hn = fl_fx_sat(Rh[o_n + j] + align(f, L->bh[o_n + j], f->gate), Wg);
            hpart = fl_fx_sat(fl_fx_shr(r[j] * hn, f->act.frac, f->round), Wg);
        } else {
            hpart = mac_rescale(f, &L->wh, o_n + j, rh, Dh, Wg);
        }
        const int64_t pn = fl_fx_sat(Rx[o_n + j] + align(f, L->bx[o_n + j], f->gate) + hpart, Wg);
        n[j] = tanh_fx(q, pn);
        if (g && g->pre) g->pre[2 * H + j] = (int32_t)pn;
    }
    for (int j = 0; j < H; ++j) {
        if (g && g->act) {
            g->act[j] = (int32_t)r[j];
            g->act[H + j] = (int32_t)z[j];
            g->act[2 * H + j] = (int32_t)n[j];
        }
        h[j] = (int32_t)update(f, n[j], z[j], h[j]);
    }
}

static size_t scratch_words(int H)
{
    return 9 * (size_t)H;
}

static fl_status step_alloc(const fl_fx_model *q, const fl_fx_layer *L, int has_x, int Dx, const int32_t *v,
                            int32_t *h, fl_fx_gates *g)
{
    int64_t *s = malloc(scratch_words(L->hidden) * sizeof *s);
    int32_t *rh = malloc((size_t)L->hidden * sizeof *rh);
    if (!s || !rh) {
        free(s);
        free(rh);
        return fl_fail(FL_E_NOMEM, "fixed-point step: out of memory");
    }
    gru_step(q, L, has_x, Dx, v, h, g, s, rh);
    free(s);
    free(rh);
    return FL_OK;
}

static int enc_dx(const fl_fx_model *q, int layer)
{
    const fl_fx_format *f = &q->fmt;
    return fl_fx_product_shift(f, layer ? f->state.frac : f->input.frac);
}

fl_status fl_fx_enc_step_ref(const fl_fx_model *q, int layer, const int32_t *v, int32_t *h, fl_fx_gates *g)
{
    return step_alloc(q, &q->enc[layer], 1, enc_dx(q, layer), v, h, g);
}

fl_status fl_fx_dec_step_ref(const fl_fx_model *q, int layer, const int32_t *v, int32_t *h, fl_fx_gates *g)
{
    return step_alloc(q, &q->dec[layer], layer > 0, fl_fx_product_shift(&q->fmt, q->fmt.state.frac), v, h, g);
}

void fl_fx_bridge_ref(const fl_fx_model *q, int layer, const int32_t *he, int32_t *hd)
{
    const fl_fx_format *f = &q->fmt;
    const fl_fx_matrix *m = &q->bridge_w[layer];
    if (!m->rows) {
        memcpy(hd, he, (size_t)q->cfg.dec_hidden * sizeof *hd);
        return;
    }
    const int Dh = fl_fx_product_shift(f, f->state.frac);
    for (int j = 0; j < m->rows; ++j) {
        const int64_t pre = fl_fx_sat(mac_rescale(f, m, j, he, Dh, f->gate.bits) +
                                          align(f, q->bridge_b[layer][j], f->gate), f->gate.bits);
        const int64_t a = tanh_fx(q, pre);
        hd[j] = (int32_t)fl_fx_sat(fl_fx_shr(a, f->act.frac - f->state.frac, f->round), f->state.bits);
    }
}

void fl_fx_dense_ref(const fl_fx_model *q, const int32_t *h, int32_t *y)
{
    const fl_fx_format *f = &q->fmt;
    const int Dh = fl_fx_product_shift(f, f->state.frac);
    for (int c = 0; c < q->dense_w.rows; ++c)
        y[c] = (int32_t)fl_fx_sat(mac_rescale(f, &q->dense_w, c, h, Dh, f->output.bits) +
                                      align(f, q->dense_b[c], f->output), f->output.bits);
}

/* ---- one pixel, the whole sequence (§4.6) ------------------------------------- */

static fl_fx_gates trace_gates(int32_t *pre, int32_t *act, int t, int H)
{
    fl_fx_gates g = {pre ? pre + (size_t)t * 3 * H : NULL, act ? act + (size_t)t * 3 * H : NULL};
    return g;
}

fl_status fl_fx_forward_ref(const fl_fx_model *q, const int32_t *xq, int T, int32_t *yq, const fl_fx_trace *tr)
{
    const fl_s2s_config *c = &q->cfg;
    const int L = c->layers, E = c->enc_hidden, D = c->dec_hidden, C = c->outputs;
    const int Hm = E > D ? E : D;
    int32_t *he = calloc((size_t)L * (E + D) + Hm, sizeof *he);
    int64_t *s = malloc(scratch_words(Hm) * sizeof *s);
    if (!he || !s) {
        free(he);
        free(s);
        return fl_fail(FL_E_NOMEM, "fixed-point forward: out of memory");
    }
    int32_t *hd = he + (size_t)L * E, *rh = hd + (size_t)L * D;
    fl_fx_trace none;
    memset(&none, 0, sizeof none);
    if (!tr) tr = &none;
    for (int t = 0; t < T; ++t)
        for (int l = 0; l < L; ++l) {
            int32_t *h = he + (size_t)l * E;
            fl_fx_gates g = trace_gates(tr->enc_pre[l], tr->enc_act[l], t, E);
            gru_step(q, &q->enc[l], 1, enc_dx(q, l), l ? h - E : xq + (size_t)t * c->input, h, &g, s, rh);
            if (tr->enc_h[l]) memcpy(tr->enc_h[l] + (size_t)t * E, h, (size_t)E * sizeof *h);
        }
    for (int l = 0; l < L; ++l) {
        fl_fx_bridge_ref(q, l, he + (size_t)l * E, hd + (size_t)l * D);
        if (tr->dec_init[l]) memcpy(tr->dec_init[l], hd + (size_t)l * D, (size_t)D * sizeof *hd);
    }
    const int Dh = fl_fx_product_shift(&q->fmt, q->fmt.state.frac);
    for (int t = 0; t < T; ++t) {
        for (int l = 0; l < L; ++l) {
            int32_t *h = hd + (size_t)l * D;
            fl_fx_gates g = trace_gates(tr->dec_pre[l], tr->dec_act[l], t, D);
            gru_step(q, &q->dec[l], l > 0, Dh, l ? h - D : NULL, h, &g, s, rh);
            if (tr->dec_h[l]) memcpy(tr->dec_h[l] + (size_t)t * D, h, (size_t)D * sizeof *h);
        }
        fl_fx_dense_ref(q, hd + (size_t)(L - 1) * D, yq + (size_t)t * C);
    }
    free(he);
    free(s);
    return FL_OK;
}

void fl_fx_quantize_input(const fl_fx_model *q, const float *x, size_t count, int32_t *xq)
{
    /* elementwise: any split over threads gives the same integers */
#pragma omp parallel for schedule(static) if (count > 65536)
    for (size_t i = 0; i < count; ++i) xq[i] = (int32_t)fl_fx_from_double(x[i], q->fmt.input, q->fmt.round);
}
