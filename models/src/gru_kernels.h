/* gru_kernels.h - internal to libfligru: the elementwise GRU kernels shared by
 * inference (seq2seq.c) and training (backprop.c), the chunk driver both use, and
 * the OpenBLAS thread guard. Not part of the public API.
 *
 * Layout conventions inside the kernels (all row-major, one row per sequence):
 *   gate blocks [nc, 3H] keep the order of the weight rows (cfg.order); r and z
 *   are always the first 2H columns (RZN: r at 0, z at H; ZRN: z at 0, r at H)
 *   and n is always at 2H, which is what lets reset-before run its first GEMM
 *   over a contiguous 2H block.
 *
 * Activations use fl_gruk_expf: Cephes' single-precision exp polynomial (about
 * 1 ulp) written with +, -, *, / and bit operations only, so that it vectorises
 * without -ffast-math and gives the same bits in the scalar, SSE, AVX2 and
 * AVX-512 code paths. sigmoid(a) = 1 / (1 + e^-a); tanh(a) = (e^2a - 1) / (e^2a + 1),
 * whose absolute error near 0 is ~1e-7 (the relative error there is larger; the
 * network only ever adds these values to O(1) quantities).
 */
#ifndef FLIGRU_GRU_KERNELS_H
#define FLIGRU_GRU_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fligru/backprop.h"
#include "fligru/seq2seq.h"

/* Forced: inside the large, cloned kernel functions GCC's inliner otherwise runs
 * out of budget and leaves calls in the loops, which stops vectorisation. */
#define FL_KINLINE static inline __attribute__((always_inline))

/* ---- fake quantisation of one signal ----------------------------------------
 * q(v) = clamp(round(v * 2^frac), qmin, qmax) * 2^-frac, round half away from zero,
 * qmin = -2^(bits-1), qmax = 2^(bits-1) - 1 (bits <= 24 keeps every step exact in
 * float). Straight-through gradient: 1 where qmin <= v * 2^frac <= qmax, else 0. */
typedef struct {
    int   on;
    float scale, inv;     /* 2^frac, 2^-frac */
    float qmin, qmax;
} fl_fq1;

fl_status fl_fq1_make(fl_fq1 *q, int bits, int frac, const char *what);

/* Branch-free helpers. A float compare-and-select gets turned into branches by
 * GCC's jump threading, and without -ffast-math the vectoriser may not speculate
 * the float operations that follow (they "could trap"): clamps therefore work on
 * the bit pattern with integer min/max, and conditions become 0/1 integers. */
FL_KINLINE uint32_t fl_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

FL_KINLINE float fl_from_bits(uint32_t u)
{
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Clamps v to [-neg, pos] (neg, pos >= 0) on sign and magnitude; NaN goes to a bound. */
FL_KINLINE float fl_clamp_mag(float v, float neg, float pos)
{
    uint32_t u = fl_bits(v), sign = u & 0x80000000u, mag = u & 0x7FFFFFFFu;
    uint32_t lp = fl_bits(pos), ln = fl_bits(neg);
    uint32_t lim = lp ^ ((lp ^ ln) & (0u - (sign >> 31)));
    mag = mag < lim ? mag : lim;
    return fl_from_bits(sign | mag);
}

FL_KINLINE float fl_fq1_apply(const fl_fq1 *q, float v)
{
    float a = fl_clamp_mag(v * q->scale, -q->qmin, q->qmax);
    uint32_t sign = fl_bits(a) & 0x80000000u;
    float m = fl_from_bits(fl_bits(a) & 0x7FFFFFFFu);   /* m <= 2^23: exact in int32 */
    int32_t k = (int32_t)m;
    k += (m - (float)k >= 0.5f);                         /* exact: m - k is the fraction */
    return fl_from_bits(fl_bits((float)k) | sign) * q->inv;
}

FL_KINLINE float fl_fq1_pass(const fl_fq1 *q, float v)
{
    float a = v * q->scale;
    return (float)((a >= q->qmin) & (a <= q->qmax));
}

/* ---- activations --------------------------------------------------------- */
FL_KINLINE float fl_gruk_expf(float x)
{
    /* +-87 keeps 2^k normal (k in -126..126) and sigmoid's result above FLT_MIN. */
    x = fl_clamp_mag(x, 87.0f, 87.0f);
    const float magic = 12582912.0f;          /* 1.5 * 2^23: adding it rounds to an integer */
    float t = x * 1.44269504088896341f + magic;
    float k = t - magic;
    float s = fl_from_bits((fl_bits(t) - 0x4B400000u + 127u) << 23);  /* 2^k */
    float r = x - k * 0.693359375f;           /* Cody-Waite: ln 2 = C1 + C2, C1 exact */
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    return p * s;
}

FL_KINLINE float fl_gruk_sigmoid(float a) { return 1.0f / (1.0f + fl_gruk_expf(-a)); }

FL_KINLINE float fl_gruk_hsigmoid(float a)
{
    int32_t b = (int32_t)fl_bits(0.5f * a + 0.5f);   /* negative floats: negative ints */
    b = b > 0 ? b : 0;
    b = b < 0x3F800000 ? b : 0x3F800000;             /* 1.0f */
    return fl_from_bits((uint32_t)b);
}

FL_KINLINE float fl_gruk_tanh(float a)
{
    float e = fl_gruk_expf(2.0f * a);
    return (e - 1.0f) / (e + 1.0f);
}

/* ---- one layer, one step, nc rows ------------------------------------------- */
typedef struct {
    int H, off_r, off_z;         /* n block at 2H                                    */
    fl_reset reset;
    fl_recur_act act;
    const float *cb;   /* [3H] constant pre-activation bias, weight-row order: r, z get
                          b_ih + b_hh (reset-after) or b_ih (reset-before); n gets b_in */
    const float *bhn;  /* [H] b_hn, inside r * (.) (reset-after only)                 */
    const float *wx;   /* [3H] rank-1 input weights (input size 1) or NULL            */
} fl_gruk_layer;

typedef struct {
    size_t nc;
    const float *x;    /* rank-1 input: row i's value at x[i * xs]; NULL when none   */
    size_t xs;
    const float *gi;   /* [nc, 3H] input products (no bias), or NULL                  */
    float *gh;         /* [nc, 3H] recurrent products (no bias), from the GEMM        */
    const float *hp;   /* [nc, H] previous state                                      */
    float *h;          /* [nc, H] new state (quantised when fs is on)                 */
    float *g;          /* [nc, 3H] raw r, z, n (tape; scratch for reset-before) or NULL */
    float *aux;        /* [nc, H] reset-after: W_hn h + b_hn (tape) or NULL;
                          reset-before: q(r) * h_prev, the second GEMM's input         */
} fl_gruk_step;

/* Reset-after: the whole step after the GEMM(s). */
void fl_gruk_after(const fl_gruk_layer *L, const fl_gruk_step *s,
                   const fl_fq1 *fa, const fl_fq1 *fs);
/* Reset-before, phase 1 (gh holds the r, z products): r, z, aux = q(r) * h_prev. */
void fl_gruk_before1(const fl_gruk_layer *L, const fl_gruk_step *s, const fl_fq1 *fa);
/* Reset-before, phase 2 (gh's n block holds W_hn (r * h)): n and the new state. */
void fl_gruk_before2(const fl_gruk_layer *L, const fl_gruk_step *s,
                     const fl_fq1 *fa, const fl_fq1 *fs);

/* Backward of one step. dh [nc,H] is dL/dh_t for the quantised state (from the
 * layer above and from step t+1). Writes:
 *   after : dg [nc,3H] = dL/d(gh + b_hh) (r, z, r*da_n), dan [nc,H] = dL/d a_n,
 *           dhd [nc,H] = the direct part of dL/dh_{t-1} (the GEMM adds dg W_hh);
 *   before: bwd1 writes dg's z and n blocks and dhd; after the GEMM drh = dg_n W_hn,
 *           bwd2 writes dg's r block and adds drh * q(r) to dhd. */
void fl_gruk_after_bwd(const fl_gruk_layer *L, size_t nc, const float *dh,
                       const float *hp, const float *g,
                       const float *aux, const fl_fq1 *fa, const fl_fq1 *fs,
                       float *dg, float *dan, float *dhd);
void fl_gruk_before_bwd1(const fl_gruk_layer *L, size_t nc, const float *dh,
                         const float *hp, const float *g,
                         const fl_fq1 *fa, const fl_fq1 *fs, float *dg, float *dhd);
void fl_gruk_before_bwd2(const fl_gruk_layer *L, size_t nc, const float *hp,
                         const float *g, const float *drh, const fl_fq1 *fa,
                         float *dg, float *dhd);

/* Bridge: raw[i] = tanh(a[i] + b[i % D]), out = q_state(raw); backward turns
 * dL/d out into dL/d a in place. */
void fl_gruk_bridge(size_t nc, int D, const float *a, const float *b, float *raw,
                    float *out, const fl_fq1 *fs);
void fl_gruk_bridge_bwd(size_t nc, int D, const float *raw, const fl_fq1 *fs, float *d);

/* ---- the chunked forward shared by fl_s2s_forward and fl_s2s_forward_tape -------- */

/* Weights in the layout the GEMMs want, built once per call. */
typedef struct {
    fl_gruk_layer k;
    int in;
    float *wt_hh;       /* [H, 3H] = W_hh^T                                */
    float *wt_ih;       /* [in, 3H] = W_ih^T; NULL for rank-1 / zero input   */
} fl_s2s_prep_layer;

typedef struct {
    const fl_s2s *m;
    fl_s2s_prep_layer enc[FL_S2S_MAX_LAYERS], dec[FL_S2S_MAX_LAYERS];
    float *bridge_wt[FL_S2S_MAX_LAYERS];   /* [E, D] = bridge_w^T           */
    float *mem;
} fl_s2s_prep;

fl_status fl_s2s_prep_make(fl_s2s_prep *p, const fl_s2s *m);
void      fl_s2s_prep_free(fl_s2s_prep *p);

/* Where one layer's per-step buffers live: row block t at base + (t % wrap) * stride
 * (wrap 0: the tape keeps every step; 2: ping-pong states; 1: one scratch block;
 * base NULL: not kept). */
typedef struct {
    float *base;
    size_t stride;
    int wrap;
} fl_s2s_seq;

static inline float *fl_s2s_at(const fl_s2s_seq *s, int t)
{
    if (!s->base) return NULL;
    return s->base + (size_t)(s->wrap ? t % s->wrap : t) * s->stride;
}

/* One chunk of nc sequences, rows row0.. of x [n, T, I] and y [n, T, C]. */
typedef struct {
    fl_s2s_seq eh[FL_S2S_MAX_LAYERS], eg[FL_S2S_MAX_LAYERS], ea[FL_S2S_MAX_LAYERS];
    fl_s2s_seq dh[FL_S2S_MAX_LAYERS], dg[FL_S2S_MAX_LAYERS], da[FL_S2S_MAX_LAYERS];
    float *braw[FL_S2S_MAX_LAYERS];  /* [nc, D] bridge tanh before quantisation     */
    float *bpre;                     /* [nc, D] bridge pre-activation scratch       */
    float *gi, *gh;                  /* [nc, 3 Hmax] scratch                        */
    float *xt;                       /* [T, nc, I] copy of the input (tape) or NULL */
} fl_s2s_chunk_bufs;

void fl_s2s_forward_chunk(const fl_s2s_prep *p, const float *x, size_t row0, size_t nc,
                          int T, const fl_fq1 *fa, const fl_fq1 *fs,
                          const fl_s2s_chunk_bufs *b, float *y);

/* Buffers: fl_falloc gives 64-byte-aligned floats (release with free()); fl_carve
 * cuts pieces out of one allocation, each starting on a 64-byte line, so rows whose
 * length is a multiple of 16 floats stay line-aligned for the vector loops. A
 * layout runs once with base NULL to measure, then on the allocation. */
float *fl_falloc(size_t n);

static inline float *fl_carve(float *base, size_t *off, size_t n)
{
    float *p = base ? base + *off : NULL;
    *off += (n + 15) & ~(size_t)15;
    return p;
}

/* Rows per chunk: depends on the config and n only, never on the thread count, so
 * the arithmetic (GEMM shapes included) is the same whatever runs it. */
size_t fl_s2s_chunk_rows(const fl_s2s_config *c, size_t n);

/* Our parallel loops run OpenMP over chunks with OpenBLAS single-threaded inside
 * (2 cores: nested pools only fight). begin() sets OpenBLAS to 1 thread and returns
 * the old count for end(). Not reentrant with a concurrent BLAS user elsewhere in
 * the process that relies on the thread count; fligru has none. */
int  fl_blas_single_begin(void);
void fl_blas_single_end(int old);

#endif
