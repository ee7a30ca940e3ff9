/* backprop.c - the training forward pass with a tape, and backpropagation through
 * time through the decoder, the bridges and the encoder.
 *
 * The tape keeps, per layer, time-major inside each chunk of sequences:
 *   h   [T+1][nc][H]  states h_0..h_T as carried (quantised when asked),
 *   g   [T][nc][3H]   raw activations r, z, n (before fake quantisation: their
 *                     derivatives are taken at the raw value, the STE),
 *   aux [T][nc][H]    reset-after: W_hn h + b_hn; reset-before: q(r) * h_prev,
 * plus the bridges' raw tanh and the input in [T][nc][In] order. Quantised r, z, n
 * and the state's pre-quantisation value are recomputed in the backward pass by the
 * same float expressions, so they come out bit-identical.
 *
 * Backward, per chunk and per layer from the top: the recurrence runs step by step
 * (one [nc,3H] x [3H,H] GEMM per step, two for reset-before), writing the gate
 * gradients of every step to dG [T][nc][3H]; the weight gradients then come from
 * single GEMMs over all T*nc rows (dW_hh = dG^T H_prev, dW_ih = dG^T X) and the
 * gradient for the layer below from one more (dX = dG W_ih).
 *
 * Threads: OpenMP over the same chunks as fl_s2s_forward (single-threaded
 * OpenBLAS inside, see seq2seq.c); each chunk accumulates into its own gradient
 * buffer and the buffers are summed in chunk order, so the result does not depend
 * on the thread count.
 */
#include "fligru/backprop.h"

#include <cblas.h>
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "gru_kernels.h"

struct fl_s2s_tape {
    fl_s2s_config cfg;
    size_t n_params, max_batch;
    int Tmax;
    /* The batch last recorded by fl_s2s_forward_tape. */
    size_t n;
    int T, valid;
    fl_fq1 fa, fs;
    float *mem;
    float *eh[FL_S2S_MAX_LAYERS], *eg[FL_S2S_MAX_LAYERS], *ea[FL_S2S_MAX_LAYERS];
    float *dh[FL_S2S_MAX_LAYERS], *dg[FL_S2S_MAX_LAYERS], *da[FL_S2S_MAX_LAYERS];
    float *braw[FL_S2S_MAX_LAYERS], *xt;
    /* Per-worker scratch and per-chunk gradients. */
    int workers;
    size_t ncmax, wfloats;
    float *wmem;
    size_t gchunks;
    float *cgrad;
};

/* One worker's scratch for a chunk (forward and backward share it). */
typedef struct {
    float *gi, *gh, *bpre;                          /* forward */
    float *dY, *dHa, *dHb, *dG, *dA, *c0, *c1, *drh; /* backward */
    float *sg, *sa;                                  /* bias sums over a layer's steps */
    float *dh0[FL_S2S_MAX_LAYERS], *dhe[FL_S2S_MAX_LAYERS];
} wbufs;

static size_t hmax(const fl_s2s_config *c)
{
    return (size_t)(c->enc_hidden > c->dec_hidden ? c->enc_hidden : c->dec_hidden);
}

/* One worker's scratch for chunks of up to nc rows and T steps (base NULL: measure). */
static void worker_layout(wbufs *b, const fl_s2s_config *c, size_t nc, size_t T, float *base,
                          size_t *off)
{
    const size_t Hm = hmax(c);
    b->gi = fl_carve(base, off, nc * 3 * Hm);
    b->gh = fl_carve(base, off, nc * 3 * Hm);
    b->bpre = fl_carve(base, off, nc * (size_t)c->dec_hidden);
    b->dY = fl_carve(base, off, T * nc * (size_t)c->outputs);
    b->dHa = fl_carve(base, off, T * nc * Hm);
    b->dHb = fl_carve(base, off, T * nc * Hm);
    b->dG = fl_carve(base, off, T * nc * 3 * Hm);
    b->dA = fl_carve(base, off, T * nc * Hm);
    b->c0 = fl_carve(base, off, nc * Hm);
    b->c1 = fl_carve(base, off, nc * Hm);
    b->drh = fl_carve(base, off, nc * Hm);
    b->sg = fl_carve(base, off, 3 * Hm);
    b->sa = fl_carve(base, off, Hm);
    for (int l = 0; l < c->layers; ++l) {
        b->dh0[l] = fl_carve(base, off, nc * (size_t)c->dec_hidden);
        b->dhe[l] = fl_carve(base, off, nc * (size_t)c->enc_hidden);
    }
}

static wbufs worker_bufs(const fl_s2s_tape *t, int w)
{
    wbufs b;
    size_t off = 0;
    worker_layout(&b, &t->cfg, t->ncmax, (size_t)t->Tmax, t->wmem + (size_t)w * t->wfloats, &off);
    return b;
}

/* The tape's arrays for B sequences of T steps (base NULL: measure). */
static void tape_layout(fl_s2s_tape *t, size_t B, size_t T, float *base, size_t *off)
{
    const fl_s2s_config *c = &t->cfg;
    const size_t E = (size_t)c->enc_hidden, D = (size_t)c->dec_hidden;
    for (int l = 0; l < c->layers; ++l) {
        t->eh[l] = fl_carve(base, off, B * (T + 1) * E);
        t->eg[l] = fl_carve(base, off, B * T * 3 * E);
        t->ea[l] = fl_carve(base, off, B * T * E);
        t->dh[l] = fl_carve(base, off, B * (T + 1) * D);
        t->dg[l] = fl_carve(base, off, B * T * 3 * D);
        t->da[l] = fl_carve(base, off, B * T * D);
        t->braw[l] = E != D ? fl_carve(base, off, B * D) : NULL;
    }
    t->xt = fl_carve(base, off, B * T * (size_t)c->input);
}

static int same_config(const fl_s2s_config *a, const fl_s2s_config *b)
{
    return a->input == b->input && a->outputs == b->outputs && a->layers == b->layers &&
           a->enc_hidden == b->enc_hidden && a->dec_hidden == b->dec_hidden &&
           a->reset == b->reset && a->act == b->act && a->order == b->order;
}

fl_status fl_s2s_tape_new(const fl_s2s *m, size_t max_batch, int T, fl_s2s_tape **out)
{
    *out = NULL;
    if (!m || !m->params) return fl_fail(FL_E_INPUT, "tape: model not initialised");
    if (max_batch < 1) return fl_fail(FL_E_INPUT, "tape: max_batch must be >= 1");
    if (T < 1) return fl_fail(FL_E_INPUT, "tape: T = %d must be >= 1", T);
    const fl_s2s_config *c = &m->cfg;
    const size_t Tz = (size_t)T, B = max_batch;
    const size_t L = (size_t)c->layers, E = (size_t)c->enc_hidden, D = (size_t)c->dec_hidden;
    /* Per sequence: states (T+1)H, gates 3TH, aux TH per layer; bridges; input. */
    double per_seq = (double)L * (double)((Tz + 1) * (E + D) + 4 * Tz * (E + D)) +
                     (double)(L * D) + (double)Tz * c->input;
    if (per_seq * (double)B * sizeof(float) > 0x1p46)
        return fl_fail(FL_E_INPUT, "tape: %zu sequences x %d steps is too large", B, T);

    /* BLAS takes int sizes: the weight-gradient GEMMs run over K = T * rows per chunk. */
    const size_t cr = fl_s2s_chunk_rows(c, B), ncmax = cr < B ? cr : B;
    const size_t io = (size_t)(c->input > c->outputs ? c->input : c->outputs);
    if (Tz * ncmax > INT_MAX / 4 || Tz * io > INT_MAX)
        return fl_fail(FL_E_INPUT, "tape: T = %d is too long", T);

    fl_s2s_tape *t = calloc(1, sizeof *t);
    if (!t) return fl_fail(FL_E_NOMEM, "tape: out of memory");
    t->cfg = *c;
    t->n_params = m->n_params;
    t->max_batch = B;
    t->Tmax = T;
    t->ncmax = ncmax;
    size_t tsize = 0;
    t->workers = omp_get_max_threads();
    wbufs w;
    worker_layout(&w, c, t->ncmax, Tz, NULL, &t->wfloats);
    tape_layout(t, B, Tz, NULL, &tsize);
    t->mem = fl_falloc(tsize);
    t->wmem = fl_falloc((size_t)t->workers * t->wfloats);
    if (!t->mem || !t->wmem) {
        double mib = ((double)tsize + (double)t->workers * (double)t->wfloats) * 4 / 1048576.0;
        fl_s2s_tape_free(t);
        return fl_fail(FL_E_NOMEM, "tape: cannot allocate %.0f MiB for %zu sequences x %d steps",
                       mib, B, T);
    }
    tsize = 0;
    tape_layout(t, B, Tz, t->mem, &tsize);
    *out = t;
    return FL_OK;
}

void fl_s2s_tape_free(fl_s2s_tape *t)
{
    if (!t) return;
    free(t->mem);
    free(t->wmem);
    free(t->cgrad);
    free(t);
}

/* The tape's view of chunk [row0, row0 + nc) for a batch of T steps. */
static void chunk_bufs(const fl_s2s_tape *t, size_t row0, size_t nc, int T, const wbufs *w,
                       fl_s2s_chunk_bufs *b)
{
    const fl_s2s_config *c = &t->cfg;
    const size_t E = (size_t)c->enc_hidden, D = (size_t)c->dec_hidden, Tz = (size_t)T;
    memset(b, 0, sizeof *b);
    for (int l = 0; l < c->layers; ++l) {
        b->eh[l] = (fl_s2s_seq){t->eh[l] + row0 * (Tz + 1) * E, nc * E, 0};
        b->eg[l] = (fl_s2s_seq){t->eg[l] + row0 * Tz * 3 * E, nc * 3 * E, 0};
        b->ea[l] = (fl_s2s_seq){t->ea[l] + row0 * Tz * E, nc * E, 0};
        b->dh[l] = (fl_s2s_seq){t->dh[l] + row0 * (Tz + 1) * D, nc * D, 0};
        b->dg[l] = (fl_s2s_seq){t->dg[l] + row0 * Tz * 3 * D, nc * 3 * D, 0};
        b->da[l] = (fl_s2s_seq){t->da[l] + row0 * Tz * D, nc * D, 0};
        b->braw[l] = t->braw[l] ? t->braw[l] + row0 * D : NULL;
    }
    b->xt = t->xt + row0 * Tz * (size_t)c->input;
    b->gi = w->gi;
    b->gh = w->gh;
    b->bpre = w->bpre;
}

static int threads_for(const fl_s2s_tape *t, size_t nch)
{
    int nt = omp_get_max_threads();
    if (nt > t->workers) nt = t->workers;   /* scratch exists for that many */
    if ((size_t)nt > nch) nt = (int)nch;
    return nt < 1 ? 1 : nt;
}

fl_status fl_s2s_forward_tape(const fl_s2s *m, const float *x, size_t n, int T,
                              const fl_s2s_fakequant *fq, fl_s2s_tape *t, float *y)
{
    if (!t) return fl_fail(FL_E_INPUT, "forward_tape: no tape");
    t->valid = 0;
    if (!m || !m->params) return fl_fail(FL_E_INPUT, "forward_tape: model not initialised");
    if (!same_config(&m->cfg, &t->cfg))
        return fl_fail(FL_E_INPUT, "forward_tape: the tape was made for another model config");
    if (n > t->max_batch)
        return fl_fail(FL_E_INPUT, "forward_tape: batch %zu exceeds the tape's %zu", n,
                       t->max_batch);
    if (T < 1 || T > t->Tmax)
        return fl_fail(FL_E_INPUT, "forward_tape: T = %d must be in 1..%d (the tape's)", T,
                       t->Tmax);
    if (n && (!x || !y)) return fl_fail(FL_E_INPUT, "forward_tape: NULL input or output");
    fl_status st;
    if ((st = fl_fq1_make(&t->fa, fq ? fq->act_bits : 0, fq ? fq->act_frac : 0, "act")) ||
        (st = fl_fq1_make(&t->fs, fq ? fq->state_bits : 0, fq ? fq->state_frac : 0, "state")))
        return st;
    t->n = n;
    t->T = T;
    if (n == 0) {
        t->valid = 1;
        return FL_OK;
    }
    fl_s2s_prep p;
    if ((st = fl_s2s_prep_make(&p, m))) return st;
    const size_t cr = fl_s2s_chunk_rows(&m->cfg, n), nch = (n + cr - 1) / cr;
    const int old = fl_blas_single_begin();
#pragma omp parallel num_threads(threads_for(t, nch))
    {
        wbufs w = worker_bufs(t, omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < nch; ++k) {
            size_t row0 = k * cr, nc = n - row0 < cr ? n - row0 : cr;
            fl_s2s_chunk_bufs b;
            chunk_bufs(t, row0, nc, T, &w, &b);
            fl_s2s_forward_chunk(&p, x, row0, nc, T, &t->fa, &t->fs, &b, y);
        }
    }
    fl_blas_single_end(old);
    fl_s2s_prep_free(&p);
    t->valid = 1;
    return FL_OK;
}

/* ---- backward ----------------------------------------------------------------- */

static void gemm(int ta, size_t M, size_t N, size_t K, const float *A, size_t lda,
                 const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, CblasNoTrans, (int)M, (int)N,
                (int)K, 1.0f, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/* C [M, N] += A^T X with A [K, M] (lda) and X [K, N] (ldx): a weight gradient over
 * all K = T*nc rows at once. N = 1 (the TPSF input) is a GEMV. */
static void wgrad(size_t M, size_t N, size_t K, const float *A, size_t lda, const float *X,
                  size_t ldx, float *C)
{
    if (N == 1)
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)K, (int)M, 1.0f, A, (int)lda, X, (int)ldx,
                    1.0f, C, 1);
    else
        gemm(1, M, N, K, A, lda, X, ldx, 1.0f, C, N);
}

/* out[j] += sum_r A[r, j], rows in order. */
static void colsum(const float *A, size_t rows, size_t cols, size_t lda, float *out)
{
    for (size_t r = 0; r < rows; ++r) {
        const float *a = A + r * lda;
#pragma omp simd
        for (size_t j = 0; j < cols; ++j) out[j] += a[j];
    }
}

static fl_gruk_layer kernel_layer(const fl_s2s_config *c, int H)
{
    fl_gruk_layer k = {.H = H, .off_r = c->order == FL_GATES_RZN ? 0 : H,
                       .off_z = c->order == FL_GATES_RZN ? H : 0, .reset = c->reset,
                       .act = c->act};
    return k;
}

typedef struct {
    const fl_gru_layer *g;
    fl_gruk_layer k;
    float *gw_ih, *gw_hh, *gb_ih, *gb_hh;  /* this chunk's gradient views         */
    const float *h, *gs, *aux;             /* tape, as in the file comment        */
    const float *X;                        /* [T][nc][in] input; NULL: zero input */
} bwd_layer_args;

/* BPTT through one layer of one chunk. din [T][nc][H]: dL/d(output at step t)
 * from above (NULL: none); carry0 [nc][H]: dL/dh_T from outside (NULL: zero).
 * Writes dx [T][nc][in] (when not NULL) and dh0 = dL/dh_0 (when not NULL). */
static void bwd_layer(const bwd_layer_args *a, size_t nc, int T, const float *din,
                      const float *carry0, const fl_fq1 *fa, const fl_fq1 *fs, const wbufs *w,
                      float *dx, float *dh0)
{
    const size_t H = (size_t)a->k.H, h3 = 3 * H, in = (size_t)a->g->input;
    const size_t K = (size_t)T * nc, blk = nc * H;
    const float *W = a->g->w_hh;
    float *carry = w->c0, *next = w->c1;
    if (carry0) memcpy(carry, carry0, blk * sizeof(float));
    else memset(carry, 0, blk * sizeof(float));
    /* Bias gradients are column sums of dG and dA: taken step by step while the
     * block is still in cache, rather than in one more pass over all T*nc rows. */
    memset(w->sg, 0, h3 * sizeof(float));
    memset(w->sa, 0, H * sizeof(float));
    for (int t = T - 1; t >= 0; --t) {
        const size_t tz = (size_t)t;
        const float *hp = a->h + tz * blk, *gt = a->gs + tz * nc * h3, *at = a->aux + tz * blk;
        float *dGt = w->dG + tz * nc * h3, *dAt = w->dA + tz * blk;
        if (din) {   /* the gradient from above joins the one from step t+1 */
            const float *di = din + tz * blk;
#pragma omp simd
            for (size_t i = 0; i < blk; ++i) carry[i] += di[i];
        }
        if (a->k.reset == FL_RESET_AFTER) {
            fl_gruk_after_bwd(&a->k, nc, carry, hp, gt, at, fa, fs, dGt, dAt, next);
            gemm(0, nc, H, h3, dGt, h3, W, H, 1.0f, next, H);
            colsum(dAt, nc, H, H, w->sa);
        } else {
            fl_gruk_before_bwd1(&a->k, nc, carry, hp, gt, fa, fs, dGt, next);
            gemm(0, nc, H, H, dGt + 2 * H, h3, W + 2 * H * H, H, 0.0f, w->drh, H);
            fl_gruk_before_bwd2(&a->k, nc, hp, gt, w->drh, fa, dGt, next);
            gemm(0, nc, H, 2 * H, dGt, h3, W, H, 1.0f, next, H);
        }
        colsum(dGt, nc, h3, h3, w->sg);
        float *s = carry;
        carry = next;
        next = s;
    }
    if (dh0) memcpy(dh0, carry, blk * sizeof(float));

    /* Weight and bias gradients over all steps at once; H_prev = states 0..T-1. */
    const float *Wih = a->g->w_ih;
    if (a->k.reset == FL_RESET_AFTER) {
        /* Hidden side: dG (n block already times r). Input side: dG's r, z blocks and
         * dA = dL/da_n. r and z are the first 2H rows in both gate orders. */
        gemm(1, h3, H, K, w->dG, h3, a->h, H, 1.0f, a->gw_hh, H);
        for (size_t j = 0; j < h3; ++j) a->gb_hh[j] += w->sg[j];
        for (size_t j = 0; j < 2 * H; ++j) a->gb_ih[j] += w->sg[j];
        for (size_t j = 0; j < H; ++j) a->gb_ih[2 * H + j] += w->sa[j];
        if (a->X) {
            wgrad(2 * H, in, K, w->dG, h3, a->X, in, a->gw_ih);
            wgrad(H, in, K, w->dA, H, a->X, in, a->gw_ih + 2 * H * in);
        }
        if (dx) {
            gemm(0, K, in, 2 * H, w->dG, h3, Wih, in, 0.0f, dx, in);
            gemm(0, K, in, H, w->dA, H, Wih + 2 * H * in, in, 1.0f, dx, in);
        }
    } else {
        gemm(1, 2 * H, H, K, w->dG, h3, a->h, H, 1.0f, a->gw_hh, H);
        gemm(1, H, H, K, w->dG + 2 * H, h3, a->aux, H, 1.0f, a->gw_hh + 2 * H * H, H);
        for (size_t j = 0; j < h3; ++j) a->gb_ih[j] += w->sg[j];
        if (a->X) wgrad(h3, in, K, w->dG, h3, a->X, in, a->gw_ih);
        if (dx) gemm(0, K, in, h3, w->dG, h3, Wih, in, 0.0f, dx, in);
    }
}

static bwd_layer_args layer_args(const fl_s2s *m, const fl_gru_layer *g, float *cg,
                                 const fl_s2s_seq *h, const fl_s2s_seq *gs,
                                 const fl_s2s_seq *aux, const float *X)
{
    bwd_layer_args a = {.g = g, .k = kernel_layer(&m->cfg, g->hidden),
                        .gw_ih = cg + (g->w_ih - m->params), .gw_hh = cg + (g->w_hh - m->params),
                        .gb_ih = cg + (g->b_ih - m->params),
                        .gb_hh = g->b_hh ? cg + (g->b_hh - m->params) : NULL,
                        .h = h->base, .gs = gs->base, .aux = aux->base, .X = X};
    return a;
}

static void bwd_chunk(const fl_s2s *m, const fl_s2s_tape *t, size_t row0, size_t nc,
                      const float *dy, const wbufs *w, float *cg)
{
    const fl_s2s_config *c = &m->cfg;
    const int L = c->layers, T = t->T;
    const size_t E = (size_t)c->enc_hidden, D = (size_t)c->dec_hidden, C = (size_t)c->outputs;
    const size_t Tz = (size_t)T, K = Tz * nc;
    fl_s2s_chunk_bufs b;
    chunk_bufs(t, row0, nc, T, w, &b);
    memset(cg, 0, m->n_params * sizeof *cg);

    /* Dense head: dY in the tape's [T][nc][C] order. */
    const float *dyr = dy + row0 * Tz * C;
    for (size_t tt = 0; tt < Tz; ++tt)
        for (size_t i = 0; i < nc; ++i)
            memcpy(w->dY + (tt * nc + i) * C, dyr + (i * Tz + tt) * C, C * sizeof(float));
    const float *top = b.dh[L - 1].base + nc * D;   /* states 1..T of the top layer */
    gemm(1, C, D, K, w->dY, C, top, D, 1.0f, cg + (m->dense_w - m->params), D);
    colsum(w->dY, K, C, C, cg + (m->dense_b - m->params));
    float *din = w->dHa, *dxb = w->dHb;
    gemm(0, K, D, C, w->dY, C, m->dense_w, D, 0.0f, din, D);

    for (int l = L - 1; l >= 0; --l) {
        bwd_layer_args a = layer_args(m, &m->dec[l], cg, &b.dh[l], &b.dg[l], &b.da[l],
                                      l ? b.dh[l - 1].base + nc * D : NULL);
        bwd_layer(&a, nc, T, din, NULL, &t->fa, &t->fs, w, l ? dxb : NULL, w->dh0[l]);
        float *s = din;
        din = dxb;
        dxb = s;
    }

    for (int l = 0; l < L; ++l) {
        if (E == D) continue;   /* the encoder's final state is the decoder's h_0 */
        float *d = w->dh0[l];
        const float *he = b.eh[l].base + Tz * nc * E;
        fl_gruk_bridge_bwd(nc, (int)D, b.braw[l], &t->fs, d);
        gemm(1, D, E, nc, d, D, he, E, 1.0f, cg + (m->bridge_w[l] - m->params), E);
        colsum(d, nc, D, D, cg + (m->bridge_b[l] - m->params));
        gemm(0, nc, E, D, d, D, m->bridge_w[l], E, 0.0f, w->dhe[l], E);
    }

    din = NULL;
    dxb = w->dHa;
    for (int l = L - 1; l >= 0; --l) {
        bwd_layer_args a = layer_args(m, &m->enc[l], cg, &b.eh[l], &b.eg[l], &b.ea[l],
                                      l ? b.eh[l - 1].base + nc * E : b.xt);
        bwd_layer(&a, nc, T, din, E == D ? w->dh0[l] : w->dhe[l], &t->fa, &t->fs, w,
                  l ? dxb : NULL, NULL);
        float *s = din ? din : w->dHb;
        din = dxb;
        dxb = s;
    }
}

fl_status fl_s2s_backward(const fl_s2s *m, fl_s2s_tape *t, const float *dy, float *grad)
{
    if (!t || !t->valid) return fl_fail(FL_E_INPUT, "backward: no forward_tape recorded");
    if (!m || !m->params) return fl_fail(FL_E_INPUT, "backward: model not initialised");
    if (!same_config(&m->cfg, &t->cfg))
        return fl_fail(FL_E_INPUT, "backward: the tape was made for another model config");
    const size_t n = t->n;
    if (n == 0) return FL_OK;
    if (!dy || !grad) return fl_fail(FL_E_INPUT, "backward: NULL dy or grad");
    const size_t cr = fl_s2s_chunk_rows(&m->cfg, n), nch = (n + cr - 1) / cr;
    const size_t P = m->n_params;
    if (t->gchunks < nch) {   /* grows once, to the most chunks a batch has needed */
        free(t->cgrad);
        t->gchunks = 0;
        t->cgrad = fl_falloc(nch * P);
        if (!t->cgrad)
            return fl_fail(FL_E_NOMEM, "backward: cannot allocate %zu gradient buffers", nch);
        t->gchunks = nch;
    }
    const int old = fl_blas_single_begin();
#pragma omp parallel num_threads(threads_for(t, nch))
    {
        wbufs w = worker_bufs(t, omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < nch; ++k) {
            size_t row0 = k * cr, nc = n - row0 < cr ? n - row0 : cr;
            bwd_chunk(m, t, row0, nc, dy, &w, t->cgrad + k * P);
        }
    }
    fl_blas_single_end(old);
    /* Chunk order, whatever thread computed which chunk. */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < P; ++i) {
        float s = t->cgrad[i];
        for (size_t k = 1; k < nch; ++k) s += t->cgrad[k * P + i];
        grad[i] += s;
    }
    return FL_OK;
}
