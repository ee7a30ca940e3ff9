/* gru_kernels.c - the elementwise GRU gate loops, forward and backward.
 *
 * Each loop runs over the H units of one row with `omp simd`; the variants
 * (activation, input kind, tape, fake quantisation) are separate always-inlined
 * instances so that no per-element branch is left in the vector loop. Every
 * exported kernel is compiled for AVX-512, AVX2 and baseline x86-64 and picked at
 * load time (target_clones): the build itself stays portable (no -march), and the
 * results are bit-identical across the three since every operation is an IEEE
 * +, -, *, / or compare (-ffp-contract=off: no FMA contraction in any of them).
 */
#include "gru_kernels.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define FL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FL_CLONES
#endif
#define FL_INLINE static inline __attribute__((always_inline))

enum { XIN_NONE = 0, XIN_RANK1 = 1, XIN_GEMM = 2 };

fl_status fl_fq1_make(fl_fq1 *q, int bits, int frac, const char *what)
{
    memset(q, 0, sizeof *q);
    if (bits == 0) return FL_OK;
    if (bits < 2 || bits > 24)
        return fl_fail(FL_E_INPUT, "fakequant.%s_bits: %d must be 0 (off) or in 2..24", what, bits);
    if (frac < -32 || frac > 64)
        return fl_fail(FL_E_INPUT, "fakequant.%s_frac: %d must be in -32..64", what, frac);
    q->on = 1;
    q->scale = 1.0f;
    for (int i = 0; i < frac; ++i) q->scale *= 2.0f;
    for (int i = 0; i > frac; --i) q->scale *= 0.5f;
    q->inv = 1.0f / q->scale;  /* exact: a power of two */
    q->qmax = (float)((1L << (bits - 1)) - 1);
    q->qmin = -(float)(1L << (bits - 1));
    return FL_OK;
}

FL_INLINE float act(int hs, float a) { return hs ? fl_gruk_hsigmoid(a) : fl_gruk_sigmoid(a); }

/* dσ/da from the activation's value: s (1 - s), or 1/2 strictly inside hard
 * sigmoid's linear part (0 at and beyond the kinks). */
FL_INLINE float dact(int hs, float s)
{
    return hs ? 0.5f * (float)((s > 0.0f) & (s < 1.0f)) : s * (1.0f - s);
}

FL_INLINE float fq(int on, const fl_fq1 *q, float v) { return on ? fl_fq1_apply(q, v) : v; }
FL_INLINE float fqp(int on, const fl_fq1 *q, float v) { return on ? fl_fq1_pass(q, v) : 1.0f; }

/* Which quantisers are on, as the compile-time pair (qa, qs) the bodies take. */
#define QSEL(fa, fs) (((fa)->on ? 1 : 0) | ((fs)->on ? 2 : 0))
#define QSWITCH(sel, CALL)                                                            \
    do {                                                                              \
        switch (sel) {                                                                \
        case 0: CALL(0, 0); break;                                                    \
        case 1: CALL(1, 0); break;                                                    \
        case 2: CALL(0, 1); break;                                                    \
        default: CALL(1, 1); break;                                                   \
        }                                                                             \
    } while (0)

/* ---- forward ------------------------------------------------------------- */

FL_INLINE void after_body(const fl_gruk_layer *L, const fl_gruk_step *s, const fl_fq1 *fa0,
                          const fl_fq1 *fs0, const int hs, const int xin, const int tape,
                          const int qa, const int qs)
{
    const fl_fq1 fa = *fa0, fs = *fs0;
    const int H = L->H;
    const size_t H3 = 3 * (size_t)H;
    const int orr = L->off_r, oz = L->off_z, on = 2 * H;
    const float *restrict cb = L->cb, *restrict bhn = L->bhn, *restrict wx = L->wx;
    for (size_t i = 0; i < s->nc; ++i) {
        const float *restrict gh = s->gh + i * H3;
        const float *restrict gi = xin == XIN_GEMM ? s->gi + i * H3 : NULL;
        const float xv = xin == XIN_RANK1 ? s->x[i * s->xs] : 0.0f;
        const float *restrict hp = s->hp + i * (size_t)H;
        float *restrict h = s->h + i * (size_t)H;
        float *restrict g = tape ? s->g + i * H3 : NULL;
        float *restrict aux = tape ? s->aux + i * (size_t)H : NULL;
#pragma omp simd
        for (int j = 0; j < H; ++j) {
            float ar = gh[orr + j] + cb[orr + j];
            float az = gh[oz + j] + cb[oz + j];
            float ain = cb[on + j];
            float hn = gh[on + j] + bhn[j];
            if (xin == XIN_RANK1) {
                ar += xv * wx[orr + j];
                az += xv * wx[oz + j];
                ain += xv * wx[on + j];
            } else if (xin == XIN_GEMM) {
                ar += gi[orr + j];
                az += gi[oz + j];
                ain += gi[on + j];
            }
            float r = act(hs, ar), z = act(hs, az);
            float rq = fq(qa, &fa, r), zq = fq(qa, &fa, z);
            float n = fl_gruk_tanh(ain + rq * hn);
            float nq = fq(qa, &fa, n);
            h[j] = fq(qs, &fs, nq + zq * (hp[j] - nq));
            if (tape) {
                g[orr + j] = r;
                g[oz + j] = z;
                g[on + j] = n;
                aux[j] = hn;
            }
        }
    }
}

FL_CLONES void fl_gruk_after(const fl_gruk_layer *L, const fl_gruk_step *s,
                             const fl_fq1 *fa, const fl_fq1 *fs)
{
    const int hs = L->act == FL_ACT_HARD_SIGMOID;
    const int xin = s->x ? XIN_RANK1 : s->gi ? XIN_GEMM : XIN_NONE;
    const int sel = QSEL(fa, fs);
    /* Expanded by hand so that each combination is its own vector loop. Without a
     * tape (inference) there is no quantisation. */
#define A(QA, QS) after_body(L, s, fa, fs, HS, X, 1, QA, QS)
#define AX()                                                                          \
    do {                                                                              \
        if (!s->g) after_body(L, s, fa, fs, HS, X, 0, 0, 0);                          \
        else QSWITCH(sel, A);                                                         \
    } while (0)
#define HS 1
#define X XIN_RANK1
    if (hs && xin == XIN_RANK1) AX();
#undef X
#define X XIN_GEMM
    if (hs && xin == XIN_GEMM) AX();
#undef X
#define X XIN_NONE
    if (hs && xin == XIN_NONE) AX();
#undef X
#undef HS
#define HS 0
#define X XIN_RANK1
    if (!hs && xin == XIN_RANK1) AX();
#undef X
#define X XIN_GEMM
    if (!hs && xin == XIN_GEMM) AX();
#undef X
#define X XIN_NONE
    if (!hs && xin == XIN_NONE) AX();
#undef X
#undef HS
#undef AX
#undef A
}

FL_INLINE void before1_body(const fl_gruk_layer *L, const fl_gruk_step *s, const fl_fq1 *fa0,
                            const int hs, const int xin, const int qa)
{
    const fl_fq1 fa = *fa0;
    const int H = L->H;
    const size_t H3 = 3 * (size_t)H;
    const int orr = L->off_r, oz = L->off_z;
    const float *restrict cb = L->cb, *restrict wx = L->wx;
    for (size_t i = 0; i < s->nc; ++i) {
        const float *restrict gh = s->gh + i * H3;
        const float *restrict gi = xin == XIN_GEMM ? s->gi + i * H3 : NULL;
        const float xv = xin == XIN_RANK1 ? s->x[i * s->xs] : 0.0f;
        const float *restrict hp = s->hp + i * (size_t)H;
        float *restrict g = s->g + i * H3;
        float *restrict rh = s->aux + i * (size_t)H;
#pragma omp simd
        for (int j = 0; j < H; ++j) {
            float ar = gh[orr + j] + cb[orr + j];
            float az = gh[oz + j] + cb[oz + j];
            if (xin == XIN_RANK1) {
                ar += xv * wx[orr + j];
                az += xv * wx[oz + j];
            } else if (xin == XIN_GEMM) {
                ar += gi[orr + j];
                az += gi[oz + j];
            }
            float r = act(hs, ar);
            g[orr + j] = r;
            g[oz + j] = act(hs, az);
            rh[j] = fq(qa, &fa, r) * hp[j];
        }
    }
}

FL_CLONES void fl_gruk_before1(const fl_gruk_layer *L, const fl_gruk_step *s, const fl_fq1 *fa)
{
    const int hs = L->act == FL_ACT_HARD_SIGMOID;
    const int xin = s->x ? XIN_RANK1 : s->gi ? XIN_GEMM : XIN_NONE;
    /* g is the tape or, in inference, scratch: phase 2 reads z back from it. */
#define B1(HS, X)                                                                     \
    do {                                                                              \
        if (!fa->on) before1_body(L, s, fa, HS, X, 0);                                \
        else before1_body(L, s, fa, HS, X, 1);                                        \
    } while (0)
    if (hs) {
        if (xin == XIN_RANK1) B1(1, XIN_RANK1);
        else if (xin == XIN_GEMM) B1(1, XIN_GEMM);
        else B1(1, XIN_NONE);
    } else {
        if (xin == XIN_RANK1) B1(0, XIN_RANK1);
        else if (xin == XIN_GEMM) B1(0, XIN_GEMM);
        else B1(0, XIN_NONE);
    }
#undef B1
}

FL_INLINE void before2_body(const fl_gruk_layer *L, const fl_gruk_step *s, const fl_fq1 *fa0,
                            const fl_fq1 *fs0, const int xin, const int qa, const int qs)
{
    const fl_fq1 fa = *fa0, fs = *fs0;
    const int H = L->H;
    const size_t H3 = 3 * (size_t)H;
    const int oz = L->off_z, on = 2 * H;
    const float *restrict cb = L->cb, *restrict wx = L->wx;
    for (size_t i = 0; i < s->nc; ++i) {
        const float *restrict gh = s->gh + i * H3;
        const float *restrict gi = xin == XIN_GEMM ? s->gi + i * H3 : NULL;
        const float xv = xin == XIN_RANK1 ? s->x[i * s->xs] : 0.0f;
        const float *restrict hp = s->hp + i * (size_t)H;
        float *restrict h = s->h + i * (size_t)H;
        float *restrict g = s->g + i * H3;
#pragma omp simd
        for (int j = 0; j < H; ++j) {
            float an = gh[on + j] + cb[on + j];
            if (xin == XIN_RANK1) an += xv * wx[on + j];
            else if (xin == XIN_GEMM) an += gi[on + j];
            float n = fl_gruk_tanh(an);
            float nq = fq(qa, &fa, n), zq = fq(qa, &fa, g[oz + j]);
            h[j] = fq(qs, &fs, nq + zq * (hp[j] - nq));
            g[on + j] = n;
        }
    }
}

FL_CLONES void fl_gruk_before2(const fl_gruk_layer *L, const fl_gruk_step *s,
                               const fl_fq1 *fa, const fl_fq1 *fs)
{
    const int xin = s->x ? XIN_RANK1 : s->gi ? XIN_GEMM : XIN_NONE;
    const int sel = QSEL(fa, fs);
#define B2(QA, QS) before2_body(L, s, fa, fs, X, QA, QS)
#define X XIN_RANK1
    if (xin == XIN_RANK1) QSWITCH(sel, B2);
#undef X
#define X XIN_GEMM
    if (xin == XIN_GEMM) QSWITCH(sel, B2);
#undef X
#define X XIN_NONE
    if (xin == XIN_NONE) QSWITCH(sel, B2);
#undef X
#undef B2
}

/* ---- backward ------------------------------------------------------------ */

FL_INLINE void after_bwd_body(const fl_gruk_layer *L, size_t nc, const float *dh0,
                              const float *hp0, const float *g0, const float *aux0,
                              const fl_fq1 *fa0, const fl_fq1 *fs0, float *dg0, float *dan0,
                              float *dhd0, const int hs, const int qa, const int qs)
{
    const fl_fq1 fa = *fa0, fs = *fs0;
    const int H = L->H;
    const size_t H3 = 3 * (size_t)H;
    const int orr = L->off_r, oz = L->off_z, on = 2 * H;
    for (size_t i = 0; i < nc; ++i) {
        const float *restrict dhi = dh0 + i * (size_t)H;
        const float *restrict hp = hp0 + i * (size_t)H;
        const float *restrict g = g0 + i * H3;
        const float *restrict hn = aux0 + i * (size_t)H;
        float *restrict dg = dg0 + i * H3;
        float *restrict dan = dan0 + i * (size_t)H;
        float *restrict dhd = dhd0 + i * (size_t)H;
#pragma omp simd
        for (int j = 0; j < H; ++j) {
            float r = g[orr + j], z = g[oz + j], n = g[on + j];
            float rq = fq(qa, &fa, r), zq = fq(qa, &fa, z), nq = fq(qa, &fa, n);
            float dh = dhi[j] * fqp(qs, &fs, nq + zq * (hp[j] - nq));
            float dn = dh * (1.0f - zq) * fqp(qa, &fa, n);
            float dz = dh * (hp[j] - nq) * fqp(qa, &fa, z);
            dhd[j] = dh * zq;
            float da_n = dn * (1.0f - n * n);
            float dr = da_n * hn[j] * fqp(qa, &fa, r);
            dg[orr + j] = dr * dact(hs, r);
            dg[oz + j] = dz * dact(hs, z);
            dg[on + j] = da_n * rq;
            dan[j] = da_n;
        }
    }
}

FL_CLONES void fl_gruk_after_bwd(const fl_gruk_layer *L, size_t nc, const float *dh,
                                 const float *hp, const float *g, const float *aux,
                                 const fl_fq1 *fa, const fl_fq1 *fs, float *dg, float *dan,
                                 float *dhd)
{
    const int sel = QSEL(fa, fs);
#define AB(QA, QS) after_bwd_body(L, nc, dh, hp, g, aux, fa, fs, dg, dan, dhd, HS, QA, QS)
    if (L->act == FL_ACT_HARD_SIGMOID) {
#define HS 1
        QSWITCH(sel, AB);
#undef HS
    } else {
#define HS 0
        QSWITCH(sel, AB);
#undef HS
    }
#undef AB
}

FL_INLINE void before_bwd1_body(const fl_gruk_layer *L, size_t nc, const float *dh0,
                                const float *hp0, const float *g0, const fl_fq1 *fa0,
                                const fl_fq1 *fs0, float *dg0, float *dhd0, const int hs,
                                const int qa, const int qs)
{
    const fl_fq1 fa = *fa0, fs = *fs0;
    const int H = L->H;
    const size_t H3 = 3 * (size_t)H;
    const int oz = L->off_z, on = 2 * H;
    for (size_t i = 0; i < nc; ++i) {
        const float *restrict dhi = dh0 + i * (size_t)H;
        const float *restrict hp = hp0 + i * (size_t)H;
        const float *restrict g = g0 + i * H3;
        float *restrict dg = dg0 + i * H3;
        float *restrict dhd = dhd0 + i * (size_t)H;
#pragma omp simd
        for (int j = 0; j < H; ++j) {
            float z = g[oz + j], n = g[on + j];
            float zq = fq(qa, &fa, z), nq = fq(qa, &fa, n);
            float dh = dhi[j] * fqp(qs, &fs, nq + zq * (hp[j] - nq));
            float dn = dh * (1.0f - zq) * fqp(qa, &fa, n);
            float dz = dh * (hp[j] - nq) * fqp(qa, &fa, z);
            dhd[j] = dh * zq;
            dg[on + j] = dn * (1.0f - n * n);
            dg[oz + j] = dz * dact(hs, z);
        }
    }
}

FL_CLONES void fl_gruk_before_bwd1(const fl_gruk_layer *L, size_t nc, const float *dh,
                                   const float *hp, const float *g, const fl_fq1 *fa,
                                   const fl_fq1 *fs, float *dg, float *dhd)
{
    const int sel = QSEL(fa, fs);
#define BB(QA, QS) before_bwd1_body(L, nc, dh, hp, g, fa, fs, dg, dhd, HS, QA, QS)
    if (L->act == FL_ACT_HARD_SIGMOID) {
#define HS 1
        QSWITCH(sel, BB);
#undef HS
    } else {
#define HS 0
        QSWITCH(sel, BB);
#undef HS
    }
#undef BB
}

FL_INLINE void before_bwd2_body(const fl_gruk_layer *L, size_t nc, const float *hp0,
                                const float *g0, const float *drh0, const fl_fq1 *fa0,
                                float *dg0, float *dhd0, const int hs, const int qa)
{
    const fl_fq1 fa = *fa0;
    const int H = L->H;
    const size_t H3 = 3 * (size_t)H;
    const int orr = L->off_r;
    for (size_t i = 0; i < nc; ++i) {
        const float *restrict hp = hp0 + i * (size_t)H;
        const float *restrict g = g0 + i * H3;
        const float *restrict drh = drh0 + i * (size_t)H;
        float *restrict dg = dg0 + i * H3;
        float *restrict dhd = dhd0 + i * (size_t)H;
#pragma omp simd
        for (int j = 0; j < H; ++j) {
            float r = g[orr + j];
            dhd[j] += drh[j] * fq(qa, &fa, r);
            dg[orr + j] = drh[j] * hp[j] * fqp(qa, &fa, r) * dact(hs, r);
        }
    }
}

FL_CLONES void fl_gruk_before_bwd2(const fl_gruk_layer *L, size_t nc, const float *hp,
                                   const float *g, const float *drh, const fl_fq1 *fa,
                                   float *dg, float *dhd)
{
    const int hs = L->act == FL_ACT_HARD_SIGMOID;
    if (hs) {
        if (fa->on) before_bwd2_body(L, nc, hp, g, drh, fa, dg, dhd, 1, 1);
        else before_bwd2_body(L, nc, hp, g, drh, fa, dg, dhd, 1, 0);
    } else {
        if (fa->on) before_bwd2_body(L, nc, hp, g, drh, fa, dg, dhd, 0, 1);
        else before_bwd2_body(L, nc, hp, g, drh, fa, dg, dhd, 0, 0);
    }
}

/* ---- bridge -------------------------------------------------------------- */

FL_CLONES void fl_gruk_bridge(size_t nc, int D, const float *a, const float *b, float *raw,
                              float *out, const fl_fq1 *fs0)
{
    const fl_fq1 fs = *fs0;
    for (size_t i = 0; i < nc; ++i) {
        const float *restrict ai = a + i * (size_t)D;
        float *restrict ri = raw + i * (size_t)D, *restrict oi = out + i * (size_t)D;
        if (fs.on) {
#pragma omp simd
            for (int j = 0; j < D; ++j) {
                float v = fl_gruk_tanh(ai[j] + b[j]);
                ri[j] = v;
                oi[j] = fl_fq1_apply(&fs, v);
            }
        } else {
#pragma omp simd
            for (int j = 0; j < D; ++j) {
                float v = fl_gruk_tanh(ai[j] + b[j]);
                ri[j] = v;
                oi[j] = v;
            }
        }
    }
}

void fl_gruk_bridge_bwd(size_t nc, int D, const float *raw, const fl_fq1 *fs0, float *d)
{
    const fl_fq1 fs = *fs0;
    for (size_t i = 0; i < nc * (size_t)D; ++i)
        d[i] *= fqp(fs.on, &fs, raw[i]) * (1.0f - raw[i] * raw[i]);
}
