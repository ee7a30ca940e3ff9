/* seq2seq.c - the float GRU Seq2Seq model: configs, parameter layout, random init,
 * the batched forward pass (OpenBLAS + gate kernels) and its scalar reference.
 *
 * Parameter layout in fl_s2s.params (the order views are assigned, and the order
 * of the gradient buffer fl_s2s_backward fills):
 *   for each encoder layer l = 0..L-1: w_ih [3E, in_l], w_hh [3E, E], b_ih [3E],
 *                                      b_hh [3E] (reset-after only);
 *       in_0 = cfg.input, in_l = E;
 *   for each decoder layer l = 0..L-1: likewise with D; in_0 = cfg.input (the zero
 *       input: its w_ih exists, as in the PyTorch/Keras models, but never acts),
 *       in_l = D;
 *   when E != D, for each l: bridge_w[l] [D, E], bridge_b[l] [D];
 *   dense_w [C, D], dense_b [C].
 *
 * Parallelism: fl_s2s_forward splits the batch into chunks whose size depends on
 * the config and n only (fl_s2s_chunk_rows) and runs one chunk per OpenMP thread,
 * each with single-threaded OpenBLAS. The recurrent GEMMs are small ([nc, H] x
 * [H, 3H], a few MFLOP); splitting each of them over OpenBLAS's threads would pay
 * a synchronisation per step and leave the gate loops serial, while chunks keep
 * every core busy with whole, independent sequences. Because the chunks are the
 * same for any thread count, so is every floating-point operation. (They are not
 * the same for every batch size: OpenBLAS picks kernels by shape, so a sequence's
 * output may move by ~1e-8 when the batch around it changes.)
 */
#include "fligru/seq2seq.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "gru_kernels.h"

/* ---- configs ------------------------------------------------------------- */

fl_s2s_config fl_s2s_config_teacher(void)
{
    return (fl_s2s_config){.input = 1, .outputs = 3, .layers = 2, .enc_hidden = 128,
                           .dec_hidden = 128, .reset = FL_RESET_AFTER,
                           .act = FL_ACT_SIGMOID, .order = FL_GATES_RZN};
}

fl_s2s_config fl_s2s_config_student(int hidden)
{
    return (fl_s2s_config){.input = 1, .outputs = 3, .layers = 1, .enc_hidden = hidden,
                           .dec_hidden = hidden, .reset = FL_RESET_BEFORE,
                           .act = FL_ACT_SIGMOID, .order = FL_GATES_RZN};
}

#define FL_S2S_MAX_HIDDEN 4096
#define FL_S2S_MAX_IO 4096

fl_status fl_s2s_config_check(const fl_s2s_config *c)
{
    if (!c) return fl_fail(FL_E_INPUT, "model: no config");
    if (c->input < 1 || c->input > FL_S2S_MAX_IO)
        return fl_fail(FL_E_INPUT, "model.input: %d must be in 1..%d", c->input, FL_S2S_MAX_IO);
    if (c->outputs < 1 || c->outputs > FL_S2S_MAX_IO)
        return fl_fail(FL_E_INPUT, "model.outputs: %d must be in 1..%d", c->outputs,
                       FL_S2S_MAX_IO);
    if (c->layers < 1 || c->layers > FL_S2S_MAX_LAYERS)
        return fl_fail(FL_E_INPUT, "model.layers: %d must be in 1..%d", c->layers,
                       FL_S2S_MAX_LAYERS);
    if (c->enc_hidden < 1 || c->enc_hidden > FL_S2S_MAX_HIDDEN)
        return fl_fail(FL_E_INPUT, "model.enc_hidden: %d must be in 1..%d", c->enc_hidden,
                       FL_S2S_MAX_HIDDEN);
    if (c->dec_hidden < 1 || c->dec_hidden > FL_S2S_MAX_HIDDEN)
        return fl_fail(FL_E_INPUT, "model.dec_hidden: %d must be in 1..%d", c->dec_hidden,
                       FL_S2S_MAX_HIDDEN);
    if (c->reset != FL_RESET_AFTER && c->reset != FL_RESET_BEFORE)
        return fl_fail(FL_E_INPUT, "model.reset: %d is neither reset-after (0) nor "
                       "reset-before (1)", (int)c->reset);
    if (c->act != FL_ACT_SIGMOID && c->act != FL_ACT_HARD_SIGMOID)
        return fl_fail(FL_E_INPUT, "model.act: %d is neither sigmoid (0) nor hard sigmoid (1)",
                       (int)c->act);
    if (c->order != FL_GATES_RZN && c->order != FL_GATES_ZRN)
        return fl_fail(FL_E_INPUT, "model.order: %d is neither RZN (0) nor ZRN (1)",
                       (int)c->order);
    return FL_OK;
}

static size_t gru_count(const fl_s2s_config *c, int in, int H)
{
    size_t h3 = 3 * (size_t)H;
    return h3 * (size_t)in + h3 * (size_t)H + h3 * (c->reset == FL_RESET_AFTER ? 2 : 1);
}

size_t fl_s2s_param_count(const fl_s2s_config *c)
{
    if (fl_s2s_config_check(c) != FL_OK) return 0;
    const int E = c->enc_hidden, D = c->dec_hidden;
    size_t n = 0;
    for (int l = 0; l < c->layers; ++l) n += gru_count(c, l ? E : c->input, E);
    for (int l = 0; l < c->layers; ++l) n += gru_count(c, l ? D : c->input, D);
    if (E != D) n += (size_t)c->layers * ((size_t)D * (size_t)E + (size_t)D);
    n += (size_t)c->outputs * (size_t)D + (size_t)c->outputs;
    return n;
}

/* ---- init ---------------------------------------------------------------- */

static float *take(float **p, size_t n)
{
    float *r = *p;
    *p += n;
    return r;
}

static void gru_views(fl_gru_layer *g, float **p, int in, int H, fl_reset reset)
{
    size_t h3 = 3 * (size_t)H;
    g->input = in;
    g->hidden = H;
    g->w_ih = take(p, h3 * (size_t)in);
    g->w_hh = take(p, h3 * (size_t)H);
    g->b_ih = take(p, h3);
    g->b_hh = reset == FL_RESET_AFTER ? take(p, h3) : NULL;
}

fl_status fl_s2s_init(fl_s2s *m, const fl_s2s_config *c)
{
    memset(m, 0, sizeof *m);
    fl_status st = fl_s2s_config_check(c);
    if (st) return st;
    m->cfg = *c;
    m->n_params = fl_s2s_param_count(c);
    m->params = calloc(m->n_params, sizeof *m->params);
    if (!m->params)
        return fl_fail(FL_E_NOMEM, "model: cannot allocate %zu parameters", m->n_params);
    const int E = c->enc_hidden, D = c->dec_hidden;
    float *p = m->params;
    for (int l = 0; l < c->layers; ++l) gru_views(&m->enc[l], &p, l ? E : c->input, E, c->reset);
    for (int l = 0; l < c->layers; ++l) gru_views(&m->dec[l], &p, l ? D : c->input, D, c->reset);
    if (E != D)
        for (int l = 0; l < c->layers; ++l) {
            m->bridge_w[l] = take(&p, (size_t)D * (size_t)E);
            m->bridge_b[l] = take(&p, (size_t)D);
        }
    m->dense_w = take(&p, (size_t)c->outputs * (size_t)D);
    m->dense_b = take(&p, (size_t)c->outputs);
    if ((size_t)(p - m->params) != m->n_params) {
        fl_s2s_free(m);
        return fl_fail(FL_E_INTERNAL, "model: parameter views cover %td of %zu values",
                       p - m->params, m->n_params);
    }
    return FL_OK;
}

void fl_s2s_free(fl_s2s *m)
{
    if (!m) return;
    free(m->params);
    memset(m, 0, sizeof *m);
}

/* splitmix64 (Steele, Lea, Flood 2014): a seed-to-stream generator that needs no
 * state beyond one word; enough for initial weights. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fill_uniform(float *w, size_t n, double bound, uint64_t *s)
{
    for (size_t i = 0; i < n; ++i) {
        double u = (double)(splitmix64(s) >> 11) * 0x1.0p-53;   /* [0, 1) */
        w[i] = (float)((2.0 * u - 1.0) * bound);
    }
}

void fl_s2s_init_random(fl_s2s *m, uint64_t seed)
{
    if (!m || !m->params) return;
    const fl_s2s_config *c = &m->cfg;
    uint64_t s = seed;
    /* Fill in layout order, so the stream position of every tensor is fixed. */
    for (int pass = 0; pass < 2; ++pass)
        for (int l = 0; l < c->layers; ++l) {
            const fl_gru_layer *g = pass ? &m->dec[l] : &m->enc[l];
            size_t h3 = 3 * (size_t)g->hidden;
            double k = 1.0 / sqrt((double)g->hidden);
            fill_uniform(g->w_ih, h3 * (size_t)g->input, k, &s);
            fill_uniform(g->w_hh, h3 * (size_t)g->hidden, k, &s);
            fill_uniform(g->b_ih, h3, k, &s);
            if (g->b_hh) fill_uniform(g->b_hh, h3, k, &s);
        }
    const int E = c->enc_hidden, D = c->dec_hidden;
    if (E != D)
        for (int l = 0; l < c->layers; ++l) {
            double k = 1.0 / sqrt((double)E);
            fill_uniform(m->bridge_w[l], (size_t)D * (size_t)E, k, &s);
            fill_uniform(m->bridge_b[l], (size_t)D, k, &s);
        }
    double k = 1.0 / sqrt((double)D);
    fill_uniform(m->dense_w, (size_t)c->outputs * (size_t)D, k, &s);
    fill_uniform(m->dense_b, (size_t)c->outputs, k, &s);
}

/* ---- shared machinery for the fast paths ---------------------------------- */

int fl_blas_single_begin(void)
{
    int old = openblas_get_num_threads();
    if (old != 1) openblas_set_num_threads(1);
    return old;
}

void fl_blas_single_end(int old)
{
    if (old != 1) openblas_set_num_threads(old);
}

float *fl_falloc(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

size_t fl_s2s_chunk_rows(const fl_s2s_config *c, size_t n)
{
    /* Cap: a chunk's [nc, 3H] gate block stays ~384 KiB, inside L2; at least 4
     * chunks when n allows so that up to 4 threads have work; rows in multiples
     * of 16 (whole AVX-512 vectors in the GEMM's row panels). */
    size_t H = (size_t)(c->enc_hidden > c->dec_hidden ? c->enc_hidden : c->dec_hidden);
    size_t cap = 32768 / H;
    cap = cap < 64 ? 64 : cap > 1024 ? 1024 : cap;
    cap -= cap % 16;
    size_t want = (n + 3) / 4;
    want = (want + 15) / 16 * 16;
    if (want < 32) want = 32;
    return want < cap ? want : cap;
}

static void gemm_nn(size_t M, size_t N, size_t K, const float *A, size_t lda,
                    const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

static void transpose(const float *a, size_t rows, size_t cols, float *t)
{
    for (size_t i = 0; i < rows; ++i)
        for (size_t j = 0; j < cols; ++j) t[j * rows + i] = a[i * cols + j];
}

/* Lays the GEMM copies out from base (NULL: only measures, *off gets the size). */
static void prep_layer(fl_s2s_prep_layer *p, const fl_gru_layer *g, const fl_s2s_config *c,
                       int input_kind, float *base, size_t *off)
{
    /* input_kind: 0 zero input (decoder layer 0), 1 the TPSF, 2 a lower layer. */
    const int H = g->hidden;
    const size_t h3 = 3 * (size_t)H;
    fl_gruk_layer *k = &p->k;
    memset(p, 0, sizeof *p);
    p->in = g->input;
    k->H = H;
    k->off_r = c->order == FL_GATES_RZN ? 0 : H;
    k->off_z = c->order == FL_GATES_RZN ? H : 0;
    k->reset = c->reset;
    k->act = c->act;
    k->bhn = c->reset == FL_RESET_AFTER ? g->b_hh + 2 * (size_t)H : NULL;
    float *cb = fl_carve(base, off, h3);
    p->wt_hh = fl_carve(base, off, h3 * (size_t)H);
    if (input_kind == 1 && g->input == 1)
        k->wx = g->w_ih;                      /* [3H, 1]: already the rank-1 vector */
    else if (input_kind != 0)
        p->wt_ih = fl_carve(base, off, h3 * (size_t)g->input);
    k->cb = cb;
    if (!base) return;
    for (size_t j = 0; j < h3; ++j)
        cb[j] = g->b_ih[j] + (c->reset == FL_RESET_AFTER && j < 2 * (size_t)H ? g->b_hh[j] : 0.0f);
    transpose(g->w_hh, h3, (size_t)H, p->wt_hh);
    if (p->wt_ih) transpose(g->w_ih, h3, (size_t)g->input, p->wt_ih);
}

static void prep_layout(fl_s2s_prep *p, const fl_s2s *m, float *base, size_t *off)
{
    const fl_s2s_config *c = &m->cfg;
    for (int l = 0; l < c->layers; ++l) prep_layer(&p->enc[l], &m->enc[l], c, l ? 2 : 1, base, off);
    for (int l = 0; l < c->layers; ++l) prep_layer(&p->dec[l], &m->dec[l], c, l ? 2 : 0, base, off);
    if (c->enc_hidden != c->dec_hidden)
        for (int l = 0; l < c->layers; ++l) {
            p->bridge_wt[l] = fl_carve(base, off, (size_t)c->enc_hidden * (size_t)c->dec_hidden);
            if (base)
                transpose(m->bridge_w[l], (size_t)c->dec_hidden, (size_t)c->enc_hidden,
                          p->bridge_wt[l]);
        }
}

fl_status fl_s2s_prep_make(fl_s2s_prep *p, const fl_s2s *m)
{
    memset(p, 0, sizeof *p);
    p->m = m;
    size_t n = 0;
    prep_layout(p, m, NULL, &n);
    p->mem = fl_falloc(n);
    if (!p->mem) return fl_fail(FL_E_NOMEM, "model: cannot allocate the GEMM weight copies");
    n = 0;
    prep_layout(p, m, p->mem, &n);
    return FL_OK;
}

void fl_s2s_prep_free(fl_s2s_prep *p)
{
    free(p->mem);
    p->mem = NULL;
}

/* One layer, one step. The input is the rank-1 TPSF column (x, stride xs), a
 * matrix for the input GEMM (in, lda), or nothing (decoder layer 0). */
static void layer_step(const fl_s2s_prep_layer *P, const fl_s2s_seq *sh, const fl_s2s_seq *sg,
                       const fl_s2s_seq *sa, int t, size_t nc, const float *x, size_t xs,
                       const float *in, size_t lda, const fl_fq1 *fa, const fl_fq1 *fs,
                       float *gi, float *gh)
{
    const size_t H = (size_t)P->k.H, h3 = 3 * H;
    fl_gruk_step s = {.nc = nc, .x = x, .xs = xs, .gh = gh, .hp = fl_s2s_at(sh, t),
                      .h = fl_s2s_at(sh, t + 1), .g = fl_s2s_at(sg, t), .aux = fl_s2s_at(sa, t)};
    if (in) {
        gemm_nn(nc, h3, (size_t)P->in, in, lda, P->wt_ih, h3, 0.0f, gi, h3);
        s.gi = gi;
    }
    if (P->k.reset == FL_RESET_AFTER) {
        gemm_nn(nc, h3, H, s.hp, H, P->wt_hh, h3, 0.0f, gh, h3);
        fl_gruk_after(&P->k, &s, fa, fs);
    } else {
        /* r must exist before W_hn can act on r * h: two GEMMs. */
        gemm_nn(nc, 2 * H, H, s.hp, H, P->wt_hh, h3, 0.0f, gh, h3);
        fl_gruk_before1(&P->k, &s, fa);
        gemm_nn(nc, H, H, s.aux, H, P->wt_hh + 2 * H, h3, 0.0f, gh + 2 * H, h3);
        fl_gruk_before2(&P->k, &s, fa, fs);
    }
}

void fl_s2s_forward_chunk(const fl_s2s_prep *p, const float *x, size_t row0, size_t nc,
                          int T, const fl_fq1 *fa, const fl_fq1 *fs,
                          const fl_s2s_chunk_bufs *b, float *y)
{
    const fl_s2s *m = p->m;
    const fl_s2s_config *c = &m->cfg;
    const int L = c->layers;
    const size_t E = (size_t)c->enc_hidden, D = (size_t)c->dec_hidden;
    const size_t In = (size_t)c->input, C = (size_t)c->outputs, Tz = (size_t)T;
    const float *xr = x + row0 * Tz * In;
    float *yr = y + row0 * Tz * C;

    if (b->xt)
        for (size_t t = 0; t < Tz; ++t)
            for (size_t i = 0; i < nc; ++i)
                for (size_t f = 0; f < In; ++f) b->xt[(t * nc + i) * In + f] = xr[(i * Tz + t) * In + f];

    for (int l = 0; l < L; ++l) memset(fl_s2s_at(&b->eh[l], 0), 0, nc * E * sizeof(float));
    for (int t = 0; t < T; ++t)
        for (int l = 0; l < L; ++l) {
            const float *in = NULL, *xv = NULL;
            size_t lda = 0, xs = 0;
            if (l) {
                in = fl_s2s_at(&b->eh[l - 1], t + 1);
                lda = E;
            } else if (In == 1) {
                xv = xr + t;
                xs = Tz;
            } else {
                in = xr + (size_t)t * In;
                lda = Tz * In;
            }
            layer_step(&p->enc[l], &b->eh[l], &b->eg[l], &b->ea[l], t, nc, xv, xs, in, lda,
                       fa, fs, b->gi, b->gh);
        }

    for (int l = 0; l < L; ++l) {
        float *h0 = fl_s2s_at(&b->dh[l], 0);
        const float *he = fl_s2s_at(&b->eh[l], T);
        if (E == D) {
            memcpy(h0, he, nc * D * sizeof(float));
        } else {
            gemm_nn(nc, D, E, he, E, p->bridge_wt[l], D, 0.0f, b->bpre, D);
            fl_gruk_bridge(nc, (int)D, b->bpre, m->bridge_b[l], b->braw[l], h0, fs);
        }
    }

    for (int t = 0; t < T; ++t) {
        for (int l = 0; l < L; ++l) {
            const float *in = l ? fl_s2s_at(&b->dh[l - 1], t + 1) : NULL;
            layer_step(&p->dec[l], &b->dh[l], &b->dg[l], &b->da[l], t, nc, NULL, 0, in, D,
                       fa, fs, b->gi, b->gh);
        }
        /* Dense head straight into y's rows (ldc = T*C), then the bias. */
        float *yt = yr + (size_t)t * C;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nc, (int)C, (int)D, 1.0f,
                    fl_s2s_at(&b->dh[L - 1], t + 1), (int)D, m->dense_w, (int)D, 0.0f, yt,
                    (int)(Tz * C));
        for (size_t i = 0; i < nc; ++i)
            for (size_t k = 0; k < C; ++k) yt[i * Tz * C + k] += m->dense_b[k];
    }
}

/* ---- fl_s2s_forward -------------------------------------------------------- */

/* One thread's scratch for chunks of up to nc rows: ping-pong states for every
 * layer, gate scratch (reset-before reads z and r * h back), bridge scratch. */
static void thread_bufs(fl_s2s_chunk_bufs *b, const fl_s2s_config *c, size_t nc, float *base,
                        size_t *off)
{
    const size_t E = (size_t)c->enc_hidden, D = (size_t)c->dec_hidden, Hm = E > D ? E : D;
    memset(b, 0, sizeof *b);
    for (int l = 0; l < c->layers; ++l) {
        b->eh[l] = (fl_s2s_seq){fl_carve(base, off, 2 * nc * E), nc * E, 2};
        b->dh[l] = (fl_s2s_seq){fl_carve(base, off, 2 * nc * D), nc * D, 2};
    }
    float *g = fl_carve(base, off, nc * 3 * Hm), *a = fl_carve(base, off, nc * Hm);
    if (c->reset == FL_RESET_BEFORE)
        for (int l = 0; l < c->layers; ++l) {
            b->eg[l] = b->dg[l] = (fl_s2s_seq){g, 0, 1};
            b->ea[l] = b->da[l] = (fl_s2s_seq){a, 0, 1};
        }
    b->gi = fl_carve(base, off, nc * 3 * Hm);
    b->gh = fl_carve(base, off, nc * 3 * Hm);
    b->bpre = fl_carve(base, off, nc * D);
    float *braw = fl_carve(base, off, nc * D);
    for (int l = 0; l < c->layers; ++l) b->braw[l] = braw;
}

fl_status fl_s2s_forward(const fl_s2s *m, const float *x, size_t n, int T, float *y)
{
    if (!m || !m->params) return fl_fail(FL_E_INPUT, "forward: model not initialised");
    if (T < 1) return fl_fail(FL_E_INPUT, "forward: T = %d must be >= 1", T);
    if (n == 0) return FL_OK;
    if (!x || !y) return fl_fail(FL_E_INPUT, "forward: NULL input or output");
    const fl_s2s_config *c = &m->cfg;
    /* BLAS takes int strides: a row of x or y must fit. */
    if ((size_t)T * (size_t)(c->input > c->outputs ? c->input : c->outputs) > INT_MAX)
        return fl_fail(FL_E_INPUT, "forward: T = %d is too long", T);
    const size_t cr = fl_s2s_chunk_rows(c, n), nch = (n + cr - 1) / cr;
    const size_t nc0 = cr < n ? cr : n;

    fl_s2s_prep p;
    fl_status st = fl_s2s_prep_make(&p, m);
    if (st) return st;
    size_t per = 0;
    fl_s2s_chunk_bufs b0;
    thread_bufs(&b0, c, nc0, NULL, &per);
    int nomem = 0;
    const fl_fq1 off = {0};
    const int old = fl_blas_single_begin();
#pragma omp parallel if (nch > 1) reduction(| : nomem)
    {
        float *w = fl_falloc(per);
        fl_s2s_chunk_bufs b;
        size_t o = 0;
        if (w) thread_bufs(&b, c, nc0, w, &o);
        else nomem = 1;
        /* Every thread meets the worksharing loop; one without scratch skips its share. */
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < nch; ++k) {
            if (!w) continue;
            size_t row0 = k * cr, nc = n - row0 < cr ? n - row0 : cr;
            fl_s2s_forward_chunk(&p, x, row0, nc, T, &off, &off, &b, y);
        }
        free(w);
    }
    fl_blas_single_end(old);
    fl_s2s_prep_free(&p);
    if (nomem) return fl_fail(FL_E_NOMEM, "forward: cannot allocate per-thread scratch");
    return FL_OK;
}

/* ---- the reference --------------------------------------------------------- */

static double sigm_ref(const fl_s2s_config *c, double a)
{
    if (c->act == FL_ACT_HARD_SIGMOID) return fmin(1.0, fmax(0.0, 0.5 * a + 0.5));
    return 1.0 / (1.0 + exp(-a));
}

/* h <- GRU(h, x) for one layer, straight from the equations in seq2seq.h. x NULL:
 * the zero input. tmp holds 3H doubles. */
static void gru_ref(const fl_s2s_config *c, const fl_gru_layer *g, const double *x,
                    double *h, double *tmp)
{
    const int H = g->hidden, In = g->input;
    const int orr = c->order == FL_GATES_RZN ? 0 : H, oz = c->order == FL_GATES_RZN ? H : 0;
    const int on = 2 * H;
    double *r = tmp, *z = tmp + H, *n = tmp + 2 * H;
    for (int j = 0; j < H; ++j) {
        double ar = g->b_ih[orr + j], az = g->b_ih[oz + j];
        if (c->reset == FL_RESET_AFTER) {
            ar += g->b_hh[orr + j];
            az += g->b_hh[oz + j];
        }
        for (int k = 0; x && k < In; ++k) {
            ar += (double)g->w_ih[(size_t)(orr + j) * In + k] * x[k];
            az += (double)g->w_ih[(size_t)(oz + j) * In + k] * x[k];
        }
        for (int k = 0; k < H; ++k) {
            ar += (double)g->w_hh[(size_t)(orr + j) * H + k] * h[k];
            az += (double)g->w_hh[(size_t)(oz + j) * H + k] * h[k];
        }
        r[j] = sigm_ref(c, ar);
        z[j] = sigm_ref(c, az);
    }
    for (int j = 0; j < H; ++j) {
        double an = g->b_ih[on + j];
        for (int k = 0; x && k < In; ++k) an += (double)g->w_ih[(size_t)(on + j) * In + k] * x[k];
        double hn = 0.0;
        if (c->reset == FL_RESET_AFTER) {
            hn = g->b_hh[on + j];
            for (int k = 0; k < H; ++k) hn += (double)g->w_hh[(size_t)(on + j) * H + k] * h[k];
            an += r[j] * hn;
        } else {
            for (int k = 0; k < H; ++k)
                hn += (double)g->w_hh[(size_t)(on + j) * H + k] * (r[k] * h[k]);
            an += hn;
        }
        n[j] = tanh(an);
    }
    for (int j = 0; j < H; ++j) h[j] = (1.0 - z[j]) * n[j] + z[j] * h[j];
}

void fl_s2s_forward_ref(const fl_s2s *m, const float *x, int T, float *y)
{
    const fl_s2s_config *c = &m->cfg;
    const int L = c->layers, E = c->enc_hidden, D = c->dec_hidden, C = c->outputs;
    const int In = c->input, Hm = E > D ? E : D;
    /* States of every layer, one input vector, gate scratch. */
    double *buf = calloc((size_t)L * (size_t)(E + D) + (size_t)(In + Hm) + 3 * (size_t)Hm,
                         sizeof *buf);
    if (!buf) {   /* a reference has no status: make the failure impossible to miss */
        for (size_t i = 0; i < (size_t)T * (size_t)C; ++i) y[i] = NAN;
        return;
    }
    double *he = buf, *hd = he + (size_t)L * E, *in = hd + (size_t)L * D, *tmp = in + In + Hm;
    for (int t = 0; t < T; ++t) {
        for (int k = 0; k < In; ++k) in[k] = x[(size_t)t * In + k];
        for (int l = 0; l < L; ++l)
            gru_ref(c, &m->enc[l], l ? he + (size_t)(l - 1) * E : in, he + (size_t)l * E, tmp);
    }
    for (int l = 0; l < L; ++l)
        for (int j = 0; j < D; ++j) {
            double *d = hd + (size_t)l * D, *e = he + (size_t)l * E;
            if (E == D) {
                d[j] = e[j];
                continue;
            }
            double a = m->bridge_b[l][j];
            for (int k = 0; k < E; ++k) a += (double)m->bridge_w[l][(size_t)j * E + k] * e[k];
            d[j] = tanh(a);
        }
    for (int t = 0; t < T; ++t) {
        for (int l = 0; l < L; ++l)
            gru_ref(c, &m->dec[l], l ? hd + (size_t)(l - 1) * D : NULL, hd + (size_t)l * D, tmp);
        const double *top = hd + (size_t)(L - 1) * D;
        for (int k = 0; k < C; ++k) {
            double a = m->dense_b[k];
            for (int j = 0; j < D; ++j) a += (double)m->dense_w[(size_t)k * D + j] * top[j];
            y[(size_t)t * C + k] = (float)a;
        }
    }
    free(buf);
}
