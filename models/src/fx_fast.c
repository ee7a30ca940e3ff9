/* fx_fast.c - the batched fixed-point forward: pixels in blocks of FX_LANES
 * SIMD lanes, blocks on OpenMP threads (static schedule; each block is
 * independent, so the result cannot depend on the thread count), kernels chosen
 * at run time (fx_kern.h compiled per ISA). Also the generic-C kernel instance. */
#include "fx_internal.h"

#include <stdlib.h>
#include <string.h>

#define FX_ISA 0
#define FX_KERNELS_NAME fx_kernels_generic
#include "fx_kern.h"

/* ---- kernel selection -------------------------------------------------------- */

static fl_fx_kernel g_kernel = FL_FX_KERNEL_AUTO;

int fl_fx_kernel_supported(fl_fx_kernel k)
{
    switch (k) {
    case FL_FX_KERNEL_AUTO:
    case FL_FX_KERNEL_GENERIC: return 1;
#if FX_HAVE_X86
    case FL_FX_KERNEL_AVX2: return __builtin_cpu_supports("avx2");
    case FL_FX_KERNEL_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vnni");
#endif
    default: return 0;
    }
}

fl_fx_kernel fl_fx_get_kernel(void)
{
    if (g_kernel != FL_FX_KERNEL_AUTO) return g_kernel;
    if (fl_fx_kernel_supported(FL_FX_KERNEL_AVX512)) return FL_FX_KERNEL_AVX512;
    if (fl_fx_kernel_supported(FL_FX_KERNEL_AVX2)) return FL_FX_KERNEL_AVX2;
    return FL_FX_KERNEL_GENERIC;
}

fl_status fl_fx_set_kernel(fl_fx_kernel k)
{
    if ((unsigned)k > FL_FX_KERNEL_AVX512 || !fl_fx_kernel_supported(k))
        return fl_fail(FL_E_INPUT, "fixed-point kernel %s: not supported by this CPU", fl_fx_kernel_name(k));
    g_kernel = k;
    return FL_OK;
}

const char *fl_fx_kernel_name(fl_fx_kernel k)
{
    static const char *const names[] = {"auto", "generic", "avx2", "avx512-vnni"};
    return (unsigned)k <= FL_FX_KERNEL_AVX512 ? names[k] : "?";
}

static const fx_kernels *kernels(void)
{
#if FX_HAVE_X86
    switch (fl_fx_get_kernel()) {
    case FL_FX_KERNEL_AVX512: return &fx_kernels_avx512;
    case FL_FX_KERNEL_AVX2: return &fx_kernels_avx2;
    default: break;
    }
#endif
    return &fx_kernels_generic;
}

/* ---- preparation: matrices in kernel form, aligned biases ----------------------- */

static size_t prep_mat(const fl_fx_format *f, const fl_fx_matrix *m, int operand, fx_mat *x, int32_t *base)
{
    x->m = m;
    x->rows = m->rows;
    x->cols = m->cols;
    x->kp = (m->cols + 1) / 2;
    const fl_fx_q op = operand ? f->input : f->state;
    x->D = fl_fx_product_shift(f, op.frac);
    if (x->D > 0)
        x->path = f->weight_bits + op.bits <= 32 && x->D <= 30 ? FX_PATH_I32R : FX_PATH_I64;
    else
        x->path = x->D == 0 && op.bits <= 16 ? FX_PATH_I16 : FX_PATH_I32;
    const size_t n = x->path == FX_PATH_I16 ? (size_t)x->rows * x->kp : 0;
    x->spos = 1;
    for (int j = 0; j < m->rows; ++j) x->spos &= m->shift[j] >= 1;
    x->wp = base && n ? base : NULL;
    if (x->wp)
        for (int j = 0; j < x->rows; ++j)
            for (int k = 0; k < x->kp; ++k) {
                const int32_t *w = m->q + (size_t)j * m->cols + 2 * k;
                const uint32_t lo = (uint32_t)w[0] & 0xffffu, hi = 2 * k + 1 < m->cols ? (uint32_t)w[1] << 16 : 0;
                x->wp[(size_t)j * x->kp + k] = (int32_t)(lo | hi);
            }
    return n;
}

static size_t prep_bias(const fl_fx_format *f, const int32_t *b, int n, fl_fx_q t, int32_t **out, int32_t *base)
{
    *out = base && b ? base : NULL;
    if (*out)
        for (int i = 0; i < n; ++i) (*out)[i] = (int32_t)fl_fx_shr_sat(b[i], f->bias.frac - t.frac, f->round, t.bits);
    return b ? (size_t)n : 0;
}

/* bias_ih + bias_hh on the r and z rows (exact: each is < 2^31 / 2). */
static size_t prep_bsum(const fx_prep *p, const int32_t *bx, const int32_t *bh, int H, int32_t **out, int32_t *base)
{
    *out = base;
    if (base)
        for (int i = 0; i < 3 * H; ++i) base[i] = bx[i] + (bh && i < 2 * H ? bh[i] : 0);
    (void)p;
    return 3 * (size_t)H;
}

static size_t prep_layout(fx_prep *p, int32_t *base)
{
    const fl_fx_model *q = p->q;
    const fl_fx_format *f = &q->fmt;
    size_t off = 0;
#define AT (base ? base + off : NULL)
    for (int l = 0; l < q->cfg.layers; ++l) {
        const int E3 = 3 * q->cfg.enc_hidden, D3 = 3 * q->cfg.dec_hidden;
        off += prep_mat(f, &q->enc[l].wx, l == 0, &p->enc_x[l], AT);
        off += prep_mat(f, &q->enc[l].wh, 0, &p->enc_h[l], AT);
        off += prep_mat(f, &q->dec[l].wx, 0, &p->dec_x[l], AT);
        off += prep_mat(f, &q->dec[l].wh, 0, &p->dec_h[l], AT);
        off += prep_mat(f, &q->bridge_w[l], 0, &p->bridge[l], AT);
        off += prep_bias(f, q->enc[l].bx, E3, f->gate, &p->enc_bx[l], AT);
        off += prep_bias(f, q->enc[l].bh, E3, f->gate, &p->enc_bh[l], AT);
        off += prep_bias(f, q->dec[l].bx, D3, f->gate, &p->dec_bx[l], AT);
        off += prep_bias(f, q->dec[l].bh, D3, f->gate, &p->dec_bh[l], AT);
        off += prep_bias(f, q->bridge_b[l], q->bridge_w[l].rows, f->gate, &p->bridge_b[l], AT);
        off += prep_bsum(p, p->enc_bx[l], p->enc_bh[l], q->cfg.enc_hidden, &p->enc_bsum[l], AT);
        off += prep_bsum(p, p->dec_bx[l], p->dec_bh[l], q->cfg.dec_hidden, &p->dec_bsum[l], AT);
    }
    off += prep_mat(f, &q->dense_w, 0, &p->dense, AT);
    off += prep_bias(f, q->dense_b, q->cfg.outputs, f->output, &p->dense_b, AT);
#undef AT
    return off;
}

static fl_status prep_init(fx_prep *p, const fl_fx_model *q)
{
    memset(p, 0, sizeof *p);
    p->q = q;
    p->o_r = q->cfg.order == FL_GATES_RZN ? 0 : 1;
    p->o_z = 1 - p->o_r;
    const fl_fx_format *f = &q->fmt;
    const int f1 = f->act.frac > f->state.frac ? f->act.frac : f->state.frac;
    const int da = f->state.bits + f1 - f->state.frac, db = f->act.bits + f1 - f->act.frac;
    p->ew32 = f->gate.bits <= 29 && f->sigmoid.kind == FL_FX_ACT_TABLE && f->tanh.kind == FL_FX_ACT_TABLE &&
              f->gate.frac + f->sigmoid.range_log2 <= 29 && f->gate.frac + f->tanh.range_log2 <= 29 &&
              (da > db ? da : db) + 1 <= 32;
    size_t n = prep_layout(p, NULL);
    p->mem = malloc((n ? n : 1) * sizeof(int32_t));
    if (!p->mem) return fl_fail(FL_E_NOMEM, "fixed-point forward: out of memory");
    prep_layout(p, p->mem);
    return FL_OK;
}

/* ---- per-thread block scratch ------------------------------------------------------ */

static fl_status block_init(fx_block *b, const fl_fx_model *q)
{
    const fl_s2s_config *c = &q->cfg;
    const int L = c->layers, E = c->enc_hidden, D = c->dec_hidden, C = c->outputs;
    const int Hm = E > D ? E : D, In = c->input > Hm ? c->input : Hm;
    const int R = 3 * Hm > C ? 3 * Hm : C;
    const size_t rows = (size_t)In + (size_t)(In + 1) / 2 + 3 * (size_t)R + 4 * (size_t)Hm +
                        (size_t)L * (E + D) + (size_t)C;
    memset(b, 0, sizeof *b);
    int32_t *m = aligned_alloc(64, rows * FX_LANES * sizeof(int32_t));
    if (!m) return fl_fail(FL_E_NOMEM, "fixed-point forward: out of memory");
    memset(m, 0, rows * FX_LANES * sizeof(int32_t));
    b->mem = m;
#define TAKE(n) (m += (size_t)(n) * FX_LANES, m - (size_t)(n) * FX_LANES)
    b->v = TAKE(In);
    b->vp = (uint32_t *)TAKE((In + 1) / 2);
    b->acc = TAKE(R);
    b->Rx = TAKE(R);
    b->Rh = TAKE(R);
    b->rz = TAKE(2 * Hm);
    b->n = TAKE(Hm);
    b->rh = TAKE(Hm);
    for (int l = 0; l < L; ++l) {
        b->he[l] = TAKE(E);
        b->hd[l] = TAKE(D);
    }
    b->y = TAKE(C);
#undef TAKE
    return FL_OK;
}

/* [n][k] rows of C-order data <-> [k][lanes] for lanes i0 .. i0+nb-1 (zero padding). */
static void to_lanes(const int32_t *src, size_t stride, size_t i0, size_t nb, int k, int32_t *dst)
{
    for (int c = 0; c < k; ++c)
        for (size_t p = 0; p < FX_LANES; ++p)
            dst[(size_t)c * FX_LANES + p] = p < nb ? src[(i0 + p) * stride + c] : 0;
}

static void from_lanes(const int32_t *src, size_t i0, size_t nb, int k, int32_t *dst, size_t stride)
{
    for (int c = 0; c < k; ++c)
        for (size_t p = 0; p < nb; ++p) dst[(i0 + p) * stride + c] = src[(size_t)c * FX_LANES + p];
}

/* ---- the drivers ------------------------------------------------------------------- */

static void forward_block(const fx_kernels *K, const fx_prep *p, fx_block *b, const int32_t *xq, size_t i0,
                          size_t nb, int T, int32_t *yq)
{
    const fl_s2s_config *c = &p->q->cfg;
    const int L = c->layers, E = c->enc_hidden, D = c->dec_hidden, C = c->outputs, In = c->input;
    for (int l = 0; l < L; ++l) {
        memset(b->he[l], 0, (size_t)E * FX_LANES * sizeof(int32_t));
        memset(b->hd[l], 0, (size_t)D * FX_LANES * sizeof(int32_t));
    }
    const size_t xs = (size_t)T * In, ys = (size_t)T * C;
    for (int t = 0; t < T; ++t) {
        to_lanes(xq + (size_t)t * In, xs, i0, nb, In, b->v);
        for (int l = 0; l < L; ++l) K->step(p, b, 0, l, l ? b->he[l - 1] : b->v, b->he[l]);
    }
    for (int l = 0; l < L; ++l) K->bridge(p, b, l, b->he[l], b->hd[l]);
    for (int t = 0; t < T; ++t) {
        for (int l = 0; l < L; ++l) K->step(p, b, 1, l, l ? b->hd[l - 1] : NULL, b->hd[l]);
        K->dense(p, b, b->hd[L - 1], b->y);
        from_lanes(b->y, i0, nb, C, yq + (size_t)t * C, ys);
    }
}

typedef enum { RUN_FORWARD, RUN_ENC, RUN_DEC, RUN_DENSE } run_kind;

typedef struct {
    run_kind       kind;
    int            layer, T;
    const int32_t *in;     /* xq, or the step's input operand (may be NULL) */
    int32_t       *io;     /* yq, h, or y                                    */
    const int32_t *h;      /* dense: the state                               */
} run_args;

static void run_block(const fx_kernels *K, const fx_prep *p, fx_block *b, const run_args *a, size_t i0, size_t nb)
{
    const fl_s2s_config *c = &p->q->cfg;
    if (a->kind == RUN_FORWARD) {
        forward_block(K, p, b, a->in, i0, nb, a->T, a->io);
        return;
    }
    if (a->kind == RUN_DENSE) {
        to_lanes(a->h, (size_t)c->dec_hidden, i0, nb, c->dec_hidden, b->hd[0]);
        K->dense(p, b, b->hd[0], b->y);
        from_lanes(b->y, i0, nb, c->outputs, a->io, (size_t)c->outputs);
        return;
    }
    const int dec = a->kind == RUN_DEC;
    const fl_fx_layer *L = dec ? &p->q->dec[a->layer] : &p->q->enc[a->layer];
    const int H = L->hidden;
    int32_t *h = dec ? b->hd[0] : b->he[0];
    const int has_x = dec ? a->layer > 0 : 1;
    if (has_x) to_lanes(a->in, (size_t)L->input, i0, nb, L->input, b->v);
    to_lanes(a->io, (size_t)H, i0, nb, H, h);
    K->step(p, b, dec, a->layer, has_x ? b->v : NULL, h);
    from_lanes(h, i0, nb, H, a->io, (size_t)H);
}

static fl_status run(const fl_fx_model *q, size_t n, const run_args *a)
{
    if (n == 0) return FL_OK;
    fx_prep p;
    fl_status st = prep_init(&p, q);
    if (st) return st;
    const fx_kernels *K = kernels();
    const size_t nblocks = (n + FX_LANES - 1) / FX_LANES;
    int nomem = 0;
#pragma omp parallel reduction(| : nomem)
    {
        fx_block b;
        const int ok = block_init(&b, q) == FL_OK;
        nomem |= !ok;
#pragma omp for schedule(static)
        for (size_t k = 0; k < nblocks; ++k) {
            if (!ok) continue;
            const size_t i0 = k * FX_LANES, nb = n - i0 < FX_LANES ? n - i0 : FX_LANES;
            run_block(K, &p, &b, a, i0, nb);
        }
        free(b.mem);
    }
    free(p.mem);
    if (nomem) return fl_fail(FL_E_NOMEM, "fixed-point forward: cannot allocate per-thread scratch");
    return FL_OK;
}

static fl_status check_layer(const fl_fx_model *q, int layer, const char *what)
{
    if (layer < 0 || layer >= q->cfg.layers)
        return fl_fail(FL_E_INPUT, "%s: layer %d outside 0..%d", what, layer, q->cfg.layers - 1);
    return FL_OK;
}

fl_status fl_fx_enc_step(const fl_fx_model *q, int layer, size_t n, const int32_t *v, int32_t *h)
{
    fl_status st = check_layer(q, layer, "fl_fx_enc_step");
    if (st) return st;
    run_args a = {RUN_ENC, layer, 0, v, h, NULL};
    return run(q, n, &a);
}

fl_status fl_fx_dec_step(const fl_fx_model *q, int layer, size_t n, const int32_t *v, int32_t *h)
{
    fl_status st = check_layer(q, layer, "fl_fx_dec_step");
    if (st) return st;
    run_args a = {RUN_DEC, layer, 0, v, h, NULL};
    return run(q, n, &a);
}

fl_status fl_fx_dense(const fl_fx_model *q, size_t n, const int32_t *h, int32_t *y)
{
    run_args a = {RUN_DENSE, 0, 0, NULL, y, h};
    return run(q, n, &a);
}

fl_status fl_fx_forward(const fl_fx_model *q, const int32_t *xq, size_t n, int T, int32_t *yq)
{
    if (T < 1) return fl_fail(FL_E_INPUT, "fixed-point forward: T = %d, need at least one step", T);
    run_args a = {RUN_FORWARD, 0, T, xq, yq, NULL};
    return run(q, n, &a);
}

fl_status fl_fx_predict(const fl_fx_model *q, const float *x, size_t n, int T, float *y)
{
    const size_t nx = n * (size_t)T * (size_t)q->cfg.input, ny = n * (size_t)T * (size_t)q->cfg.outputs;
    int32_t *xq = malloc((nx ? nx : 1) * sizeof *xq), *yq = malloc((ny ? ny : 1) * sizeof *yq);
    fl_status st = xq && yq ? FL_OK : fl_fail(FL_E_NOMEM, "fixed-point predict: out of memory");
    if (!st) {
        fl_fx_quantize_input(q, x, nx, xq);
        st = fl_fx_forward(q, xq, n, T, yq);
    }
    const double lsb = fl_fx_to_double(1, q->fmt.output.frac);     /* exact: a power of two */
    if (!st)
#pragma omp parallel for schedule(static) if (ny > 65536)
        for (size_t i = 0; i < ny; ++i) y[i] = (float)((double)yq[i] * lsb);
    free(xq);
    free(yq);
    return st;
}
