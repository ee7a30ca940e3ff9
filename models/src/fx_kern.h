/* fx_kern.h - the batched fixed-point kernels, written once and compiled three
 * times: fx_fast.c (generic C), fx_avx2.c and fx_avx512.c (each under its
 * `#pragma GCC target`). The includer defines FX_ISA (0 generic, 1 AVX2,
 * 2 AVX-512 VNNI) and FX_KERNELS_NAME.
 *
 * Lanes are pixels: every array is [rows][FX_LANES]. Each lane runs the
 * reference's integer operations (docs/fixed-point.md §4) on its own pixel, so
 * the result is the reference's whatever the ISA; only the MAC sums are
 * reassociated, and they are exact modulo 2^32 before wrap_Wacc (docs §2.2).
 * The rounding mode is turned into a compile-time constant per loop (FX_BY_MODE)
 * so the compiler vectorises the lane loops. */
#include "fx_internal.h"

#include <string.h>
#if FX_ISA > 0
#include <immintrin.h>
#endif

#define P FX_LANES

/* Runs the statements with RM bound to the mode as a constant. */
#define FX_BY_MODE(mode, ...)                                                  \
    do {                                                                       \
        switch (mode) {                                                        \
        case FL_FX_HALF_UP: { const fl_fx_round RM = FL_FX_HALF_UP; __VA_ARGS__ } break;     \
        case FL_FX_HALF_EVEN: { const fl_fx_round RM = FL_FX_HALF_EVEN; __VA_ARGS__ } break; \
        default: { const fl_fx_round RM = FL_FX_TRUNCATE; __VA_ARGS__ } break;               \
        }                                                                      \
    } while (0)

/* fl_fx_shr for a known s >= 1 (no branch on s: vectorisable). */
static inline __attribute__((always_inline)) int64_t shr_pos(int64_t v, int s, fl_fx_round m)
{
    const int64_t h = INT64_C(1) << (s - 1);
    if (m == FL_FX_HALF_UP) return (v + h) >> s;
    if (m == FL_FX_HALF_EVEN) return (v + h - 1 + ((v >> s) & 1)) >> s;
    return v >> s;
}

static inline __attribute__((always_inline)) int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- MAC kernels: acc[j][p] = sum_k shr(w[j][k] v[k][p], D) modulo 2^32 ----------- */

#if FX_ISA == 2
static void mac_i16(const int32_t *wp, int rows, int kp, const uint32_t *vp, int32_t *acc)
{
    int j = 0;
    for (; j + 4 <= rows; j += 4) {
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        const int32_t *w0 = wp + (size_t)j * kp, *w1 = w0 + kp, *w2 = w1 + kp, *w3 = w2 + kp;
        for (int k = 0; k < kp; ++k) {
            const __m512i v0 = _mm512_loadu_si512((const void *)(vp + (size_t)k * P));
            const __m512i v1 = _mm512_loadu_si512((const void *)(vp + (size_t)k * P + 16));
            __m512i w = _mm512_set1_epi32(w0[k]);
            a0 = _mm512_dpwssd_epi32(a0, v0, w);
            a1 = _mm512_dpwssd_epi32(a1, v1, w);
            w = _mm512_set1_epi32(w1[k]);
            a2 = _mm512_dpwssd_epi32(a2, v0, w);
            a3 = _mm512_dpwssd_epi32(a3, v1, w);
            w = _mm512_set1_epi32(w2[k]);
            a4 = _mm512_dpwssd_epi32(a4, v0, w);
            a5 = _mm512_dpwssd_epi32(a5, v1, w);
            w = _mm512_set1_epi32(w3[k]);
            a6 = _mm512_dpwssd_epi32(a6, v0, w);
            a7 = _mm512_dpwssd_epi32(a7, v1, w);
        }
        int32_t *o = acc + (size_t)j * P;
        _mm512_storeu_si512((void *)(o + 0), a0);
        _mm512_storeu_si512((void *)(o + 16), a1);
        _mm512_storeu_si512((void *)(o + 32), a2);
        _mm512_storeu_si512((void *)(o + 48), a3);
        _mm512_storeu_si512((void *)(o + 64), a4);
        _mm512_storeu_si512((void *)(o + 80), a5);
        _mm512_storeu_si512((void *)(o + 96), a6);
        _mm512_storeu_si512((void *)(o + 112), a7);
    }
    for (; j < rows; ++j) {
        __m512i a0 = _mm512_setzero_si512(), a1 = a0;
        const int32_t *w0 = wp + (size_t)j * kp;
        for (int k = 0; k < kp; ++k) {
            const __m512i w = _mm512_set1_epi32(w0[k]);
            a0 = _mm512_dpwssd_epi32(a0, _mm512_loadu_si512((const void *)(vp + (size_t)k * P)), w);
            a1 = _mm512_dpwssd_epi32(a1, _mm512_loadu_si512((const void *)(vp + (size_t)k * P + 16)), w);
        }
        _mm512_storeu_si512((void *)(acc + (size_t)j * P), a0);
        _mm512_storeu_si512((void *)(acc + (size_t)j * P + 16), a1);
    }
}
#elif FX_ISA == 1
static void mac_i16(const int32_t *wp, int rows, int kp, const uint32_t *vp, int32_t *acc)
{
    int j = 0;
    for (; j + 2 <= rows; j += 2) {
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        const int32_t *w0 = wp + (size_t)j * kp, *w1 = w0 + kp;
        for (int k = 0; k < kp; ++k) {
            const uint32_t *src = vp + (size_t)k * P;
            const __m256i v0 = _mm256_loadu_si256((const __m256i *)(src + 0));
            const __m256i v1 = _mm256_loadu_si256((const __m256i *)(src + 8));
            const __m256i v2 = _mm256_loadu_si256((const __m256i *)(src + 16));
            const __m256i v3 = _mm256_loadu_si256((const __m256i *)(src + 24));
            __m256i w = _mm256_set1_epi32(w0[k]);
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(v0, w));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(v1, w));
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(v2, w));
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(v3, w));
            w = _mm256_set1_epi32(w1[k]);
            a4 = _mm256_add_epi32(a4, _mm256_madd_epi16(v0, w));
            a5 = _mm256_add_epi32(a5, _mm256_madd_epi16(v1, w));
            a6 = _mm256_add_epi32(a6, _mm256_madd_epi16(v2, w));
            a7 = _mm256_add_epi32(a7, _mm256_madd_epi16(v3, w));
        }
        int32_t *o = acc + (size_t)j * P;
        _mm256_storeu_si256((__m256i *)(o + 0), a0);
        _mm256_storeu_si256((__m256i *)(o + 8), a1);
        _mm256_storeu_si256((__m256i *)(o + 16), a2);
        _mm256_storeu_si256((__m256i *)(o + 24), a3);
        _mm256_storeu_si256((__m256i *)(o + 32), a4);
        _mm256_storeu_si256((__m256i *)(o + 40), a5);
        _mm256_storeu_si256((__m256i *)(o + 48), a6);
        _mm256_storeu_si256((__m256i *)(o + 56), a7);
    }
    for (; j < rows; ++j) {
        __m256i a[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                        _mm256_setzero_si256()};
        const int32_t *w0 = wp + (size_t)j * kp;
        for (int k = 0; k < kp; ++k) {
            const __m256i w = _mm256_set1_epi32(w0[k]);
            for (int c = 0; c < 4; ++c)
                a[c] = _mm256_add_epi32(
                    a[c], _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(vp + (size_t)k * P + 8 * c)), w));
        }
        for (int c = 0; c < 4; ++c) _mm256_storeu_si256((__m256i *)(acc + (size_t)j * P + 8 * c), a[c]);
    }
}
#else
/* Portable: the pair products (int16 x int16, exact in int32) summed modulo 2^32. */
static void mac_i16(const int32_t *wp, int rows, int kp, const uint32_t *vp, int32_t *acc)
{
    for (int j = 0; j < rows; ++j) {
        uint32_t a[P] = {0};
        for (int k = 0; k < kp; ++k) {
            const uint32_t w = (uint32_t)wp[(size_t)j * kp + k];
            const int32_t wl = (int16_t)(w & 0xffff), wh = (int16_t)(w >> 16);
            const uint32_t *v = vp + (size_t)k * P;
            for (int p = 0; p < P; ++p)
                a[p] += (uint32_t)(wl * (int16_t)(v[p] & 0xffff)) + (uint32_t)(wh * (int16_t)(v[p] >> 16));
        }
        memcpy(acc + (size_t)j * P, a, sizeof a);
    }
}
#endif

/* D <= 0: products modulo 2^32 shifted left (a wrapping shift is the exact one
 * modulo 2^32). */
static void mac_i32(const int32_t *w, int rows, int cols, const int32_t *v, int D, int32_t *acc)
{
    const int sh = -D;
    for (int j = 0; j < rows; ++j) {
        uint32_t a[P] = {0};
        for (int k = 0; k < cols; ++k) {
            const uint32_t wk = (uint32_t)w[(size_t)j * cols + k];
            const int32_t *vk = v + (size_t)k * P;
            if (sh < 32)
                for (int p = 0; p < P; ++p) a[p] += (wk * (uint32_t)vk[p]) << sh;
        }
        memcpy(acc + (size_t)j * P, a, sizeof a);
    }
}

/* D > 0: every product rounded before the sum (docs §2.2). */
static void mac_i64(const int32_t *w, int rows, int cols, const int32_t *v, int D, fl_fx_round mode, int32_t *acc)
{
    FX_BY_MODE(mode, {
        for (int j = 0; j < rows; ++j) {
            uint32_t a[P] = {0};
            for (int k = 0; k < cols; ++k) {
                const int64_t wk = w[(size_t)j * cols + k];
                const int32_t *vk = v + (size_t)k * P;
                for (int p = 0; p < P; ++p) a[p] += (uint32_t)shr_pos(wk * vk[p], D, RM);
            }
            memcpy(acc + (size_t)j * P, a, sizeof a);
        }
    });
}

/* D > 0 in 32-bit lanes: |w v| < 2^(b-1) 2^(W-1) <= 2^30 and the rounding
 * constant <= 2^29, so nothing below overflows an int32. */
static void mac_i32r(const int32_t *w, int rows, int cols, const int32_t *v, int D, fl_fx_round mode, int32_t *acc)
{
    const int32_t h = 1 << (D - 1);
    FX_BY_MODE(mode, {
        for (int j = 0; j < rows; ++j) {
            uint32_t a[P] = {0};
            for (int k = 0; k < cols; ++k) {
                const int32_t wk = w[(size_t)j * cols + k];
                const int32_t *vk = v + (size_t)k * P;
                for (int p = 0; p < P; ++p) {
                    const int32_t x = wk * vk[p];
                    int32_t q;
                    if (RM == FL_FX_HALF_UP) q = (x + h) >> D;
                    else if (RM == FL_FX_HALF_EVEN) q = (x + h - 1 + ((x >> D) & 1)) >> D;
                    else q = x >> D;
                    a[p] += (uint32_t)q;
                }
            }
            memcpy(acc + (size_t)j * P, a, sizeof a);
        }
    });
}

/* v [cols][P] -> pairs [ceil(cols/2)][P]: low half v[2k], high half v[2k+1]. */
static void pack_pairs(const int32_t *v, int cols, uint32_t *vp)
{
    for (int k = 0; 2 * k < cols; ++k) {
        const int32_t *lo = v + (size_t)2 * k * P, *hi = 2 * k + 1 < cols ? lo + P : NULL;
        uint32_t *o = vp + (size_t)k * P;
        if (hi)
            for (int p = 0; p < P; ++p) o[p] = ((uint32_t)lo[p] & 0xffffu) | ((uint32_t)hi[p] << 16);
        else
            for (int p = 0; p < P; ++p) o[p] = (uint32_t)lo[p] & 0xffffu;
    }
}

/* Rows [row0, row0 + rows) of m times operand v [cols][P] -> acc [rows][P]. */
static void mac(const fx_mat *m, int row0, int rows, const int32_t *v, fx_block *b, fl_fx_round mode)
{
    switch (m->path) {
    case FX_PATH_I16:
        pack_pairs(v, m->cols, b->vp);
        mac_i16(m->wp + (size_t)row0 * m->kp, rows, m->kp, b->vp, b->acc);
        break;
    case FX_PATH_I32:
        mac_i32(m->m->q + (size_t)row0 * m->cols, rows, m->cols, v, m->D, b->acc);
        break;
    case FX_PATH_I32R:
        mac_i32r(m->m->q + (size_t)row0 * m->cols, rows, m->cols, v, m->D, mode, b->acc);
        break;
    default:
        mac_i64(m->m->q + (size_t)row0 * m->cols, rows, m->cols, v, m->D, mode, b->acc);
        break;
    }
}

#if FX_ISA == 2
/* ---- AVX-512 forms of the elementwise operations --------------------------------------
 * 16 int32 lanes per zmm; products go to 64 bits in even and odd halves
 * (vpmuldq), are rounded, saturated and blended back. Same integers as the C
 * loops below, which remain the fallback for formats beyond 32-bit lanes. */

/* shr(v, s) per 64-bit lane for s >= 1 (count in cnt, h = 2^(s-1)). */
static inline __attribute__((always_inline)) __m512i sra_round(__m512i v, __m128i cnt, __m512i h, fl_fx_round m)
{
    if (m == FL_FX_HALF_UP) return _mm512_sra_epi64(_mm512_add_epi64(v, h), cnt);
    if (m == FL_FX_HALF_EVEN) {
        const __m512i bit = _mm512_and_si512(_mm512_sra_epi64(v, cnt), _mm512_set1_epi64(1));
        const __m512i hm1 = _mm512_sub_epi64(h, _mm512_set1_epi64(1));
        return _mm512_sra_epi64(_mm512_add_epi64(_mm512_add_epi64(v, hm1), bit), cnt);
    }
    return _mm512_sra_epi64(v, cnt);
}

/* Even and odd 64-bit results, each saturated to [lo, hi] (W <= 32 bits), as 16 int32. */
static inline __attribute__((always_inline)) __m512i pack_sat(__m512i pe, __m512i po, __m512i lo, __m512i hi)
{
    pe = _mm512_min_epi64(_mm512_max_epi64(pe, lo), hi);
    po = _mm512_min_epi64(_mm512_max_epi64(po, lo), hi);
    return _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
}

/* sat_W(shr(x y, s)) for 16 lanes of int32 x, y; s >= 1. */
static inline __attribute__((always_inline)) __m512i mul_shr16(__m512i x, __m512i y, __m128i cnt, __m512i h,
                                                             __m512i lo, __m512i hi, fl_fx_round m)
{
    const __m512i pe = _mm512_mul_epi32(x, y);
    const __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(y, 32));
    return pack_sat(sra_round(pe, cnt, h, m), sra_round(po, cnt, h, m), lo, hi);
}

/* Rows of accumulators -> sat_W(shr(wrap_Wacc(A) M_j, S_j)); rows with S_j <= 0
 * (power-of-two scales only) take the scalar form. */
static void rescale_rows512(const fl_fx_matrix *m, int row0, int rows, const int32_t *acc, int32_t *out,
                            const fl_fx_format *f, int W)
{
    const int up = 32 - f->acc_bits;
    const __m512i lo = _mm512_set1_epi64(fl_fx_min(W)), hi = _mm512_set1_epi64(fl_fx_max(W));
    const __m128i ucnt = _mm_cvtsi32_si128(up);
    FX_BY_MODE(f->round, {
        for (int i = 0; i < rows; ++i) {
            const int32_t M = m->mult[row0 + i];
            const int S = m->shift[row0 + i];
            const int32_t *a = acc + (size_t)i * P;
            int32_t *o = out + (size_t)i * P;
            if (S <= 0) {
                for (int p = 0; p < P; ++p)
                    o[p] = (int32_t)fl_fx_rescale((int32_t)((uint32_t)a[p] << up) >> up, M, S, RM, W);
                continue;
            }
            const __m512i Mv = _mm512_set1_epi32(M), h = _mm512_set1_epi64(INT64_C(1) << (S - 1));
            const __m128i cnt = _mm_cvtsi32_si128(S);
            for (int p = 0; p < P; p += 16) {
                __m512i A = _mm512_loadu_si512((const void *)(a + p));
                if (up) A = _mm512_sra_epi32(_mm512_sll_epi32(A, ucnt), ucnt);     /* wrap_Wacc */
                _mm512_storeu_si512((void *)(o + p), mul_shr16(A, Mv, cnt, h, lo, hi, RM));
            }
        }
    });
}

static void mul_shr512(const int32_t *x, const int32_t *y, int s, int W, fl_fx_round mode, int32_t *out, int n)
{
    const __m512i lo = _mm512_set1_epi64(fl_fx_min(W)), hi = _mm512_set1_epi64(fl_fx_max(W));
    const __m128i cnt = _mm_cvtsi32_si128(s);
    const __m512i h = _mm512_set1_epi64(INT64_C(1) << (s - 1));
    FX_BY_MODE(mode, {
        for (int p = 0; p < n; p += 16) {
            const __m512i r = mul_shr16(_mm512_loadu_si512((const void *)(x + p)),
                                        _mm512_loadu_si512((const void *)(y + p)), cnt, h, lo, hi, RM);
            _mm512_storeu_si512((void *)(out + p), r);
        }
    });
}

/* pre = sat_W(a + ba + c + bc) (a may be NULL), then the table: 32-bit lanes
 * (ew32: every term < 2^28, the offset < 2^30). */
static void sum_table512(const int32_t *a, int32_t ba, const int32_t *c, int32_t bc, int W, const fl_fx_format *f,
                         const fl_fx_act *act, const int32_t *table, int32_t *out)
{
    const int e = f->gate.frac + act->range_log2;
    const __m128i k = _mm_cvtsi32_si128(e + 1 - act->size_log2);
    const __m512i b = _mm512_set1_epi32(ba + bc), lo = _mm512_set1_epi32((int32_t)fl_fx_min(W));
    const __m512i hi = _mm512_set1_epi32((int32_t)fl_fx_max(W)), off = _mm512_set1_epi32(1 << e);
    const __m512i zero = _mm512_setzero_si512(), last = _mm512_set1_epi32((1 << act->size_log2) - 1);
    for (int p = 0; p < P; p += 16) {
        __m512i s = _mm512_add_epi32(b, _mm512_loadu_si512((const void *)(c + p)));
        if (a) s = _mm512_add_epi32(s, _mm512_loadu_si512((const void *)(a + p)));
        s = _mm512_min_epi32(_mm512_max_epi32(s, lo), hi);
        __m512i i = _mm512_sra_epi32(_mm512_add_epi32(s, off), k);
        i = _mm512_min_epi32(_mm512_max_epi32(i, zero), last);
        _mm512_storeu_si512((void *)(out + p), _mm512_i32gather_epi32(i, (const void *)table, 4));
    }
}

/* h = sat(shr(nA 2^Fa + z (hA - nA), F1 + Fa - Fh)); ew32: nA, hA, hA - nA fit 32 bits. */
static void update512(const fl_fx_format *f, const int32_t *n, const int32_t *z, int32_t *h, int count)
{
    const int fa = f->act.frac, fh = f->state.frac, f1 = fa > fh ? fa : fh, s = f1 + fa - fh;
    const __m128i ln = _mm_cvtsi32_si128(f1 - fa), lh = _mm_cvtsi32_si128(f1 - fh), cfa = _mm_cvtsi32_si128(fa);
    const __m128i cnt = _mm_cvtsi32_si128(s);
    const __m512i hh = _mm512_set1_epi64(INT64_C(1) << (s - 1));
    const __m512i lo = _mm512_set1_epi64(fl_fx_min(f->state.bits)), hi = _mm512_set1_epi64(fl_fx_max(f->state.bits));
    FX_BY_MODE(f->round, {
        for (int p = 0; p < count; p += 16) {
            const __m512i nA = _mm512_sll_epi32(_mm512_loadu_si512((const void *)(n + p)), ln);
            const __m512i hA = _mm512_sll_epi32(_mm512_loadu_si512((const void *)(h + p)), lh);
            const __m512i zz = _mm512_loadu_si512((const void *)(z + p)), d = _mm512_sub_epi32(hA, nA);
            const __m512i ne = _mm512_sll_epi64(_mm512_srai_epi64(_mm512_slli_epi64(nA, 32), 32), cfa);
            const __m512i no = _mm512_sll_epi64(_mm512_srai_epi64(nA, 32), cfa);
            const __m512i ve = _mm512_add_epi64(ne, _mm512_mul_epi32(zz, d));
            const __m512i vo = _mm512_add_epi64(no, _mm512_mul_epi32(_mm512_srli_epi64(zz, 32), _mm512_srli_epi64(d, 32)));
            _mm512_storeu_si512((void *)(h + p), pack_sat(sra_round(ve, cnt, hh, RM), sra_round(vo, cnt, hh, RM), lo, hi));
        }
    });
}
#endif

/* ---- rescale (docs §4.3): out = sat_W(shr(wrap_Wacc(acc) M, S)) ------------------------- */

static void rescale(const fx_mat *m, int row0, int rows, const int32_t *acc, int32_t *out, const fl_fx_format *f,
                    int W)
{
#if FX_ISA == 2
    rescale_rows512(m->m, row0, rows, acc, out, f, W);
    return;
#endif
    const int up = 32 - f->acc_bits;
    const int64_t hi = fl_fx_max(W), lo = -hi - 1;
    for (int i = 0; i < rows; ++i) {
        const int32_t M = m->m->mult[row0 + i];
        const int S = m->m->shift[row0 + i];
        const int32_t *a = acc + (size_t)i * P;
        int32_t *o = out + (size_t)i * P;
        if (S <= 0) {           /* exact or left shifts: pow2 scales only, not hot */
            for (int p = 0; p < P; ++p) {
                const int64_t A = (int32_t)((uint32_t)a[p] << up) >> up;
                o[p] = (int32_t)fl_fx_rescale(A, M, S, f->round, W);
            }
            continue;
        }
        FX_BY_MODE(f->round, {
            for (int p = 0; p < P; ++p) {
                const int32_t A = (int32_t)((uint32_t)a[p] << up) >> up;
                o[p] = (int32_t)clamp64(shr_pos((int64_t)A * M, S, RM), lo, hi);
            }
        });
    }
}

/* ---- activations (docs §2.4) ------------------------------------------------------------ */

static void act_table(const fl_fx_format *f, const fl_fx_act *a, const int32_t *table, const int32_t *pre,
                      int32_t *out, int n)
{
    const int e = f->gate.frac + a->range_log2, k = e + 1 - a->size_log2;
    const int32_t last = (1 << a->size_log2) - 1;
    if (f->gate.bits <= 31 && e <= 30) {    /* u = g + 2^e fits an int32 */
        const int32_t off = 1 << e;
        for (int p = 0; p < n; ++p) {
            int32_t i = (pre[p] + off) >> k;
            i = i < 0 ? 0 : i > last ? last : i;
            out[p] = table[i];
        }
    } else {
        for (int p = 0; p < n; ++p) out[p] = table[fl_fx_table_index(pre[p], f->gate.frac, a->range_log2, a->size_log2)];
    }
}

static int64_t act_one(const fl_fx_format *f)
{
    const int64_t one = INT64_C(1) << f->act.frac, mx = fl_fx_max(f->act.bits);
    return one < mx ? one : mx;
}

static void act_sigmoid(const fl_fx_model *q, const int32_t *pre, int32_t *out, int n)
{
    const fl_fx_format *f = &q->fmt;
    if (f->sigmoid.kind == FL_FX_ACT_TABLE) {
        act_table(f, &f->sigmoid, q->sigmoid_table, pre, out, n);
        return;
    }
    const int64_t one = act_one(f), half = INT64_C(1) << (f->act.frac - 1);
    const int s = f->gate.frac + 1 - f->act.frac;
    for (int p = 0; p < n; ++p) out[p] = (int32_t)clamp64(fl_fx_shr(pre[p], s, f->round) + half, 0, one);
}

static void act_tanh(const fl_fx_model *q, const int32_t *pre, int32_t *out, int n)
{
    const fl_fx_format *f = &q->fmt;
    if (f->tanh.kind == FL_FX_ACT_TABLE) {
        act_table(f, &f->tanh, q->tanh_table, pre, out, n);
        return;
    }
    const int64_t one = act_one(f);
    const int s = f->gate.frac - f->act.frac;
    for (int p = 0; p < n; ++p) out[p] = (int32_t)clamp64(fl_fx_shr(pre[p], s, f->round), -one, one);
}

/* ---- one GRU step (docs §4.5) ---------------------------------------------------------- */

/* out = sat_Wg(a + ba + c + bc) per lane (a, c: [P] or NULL for 0; ba, bc scalars). */
static void sum4(const int32_t *a, int32_t ba, const int32_t *c, int32_t bc, int32_t *out, int W)
{
    const int64_t hi = fl_fx_max(W), lo = -hi - 1;
    for (int p = 0; p < P; ++p) {
        const int64_t s = (int64_t)(a ? a[p] : 0) + ba + (c ? c[p] : 0) + bc;
        out[p] = (int32_t)clamp64(s, lo, hi);
    }
}

/* out = sat_W(shr(x y, s)), s >= 1. */
static void mul_shr(const int32_t *x, const int32_t *y, int s, int W, fl_fx_round mode, int32_t *out, int n)
{
#if FX_ISA == 2
    mul_shr512(x, y, s, W, mode, out, n);
    return;
#endif
    const int64_t hi = fl_fx_max(W), lo = -hi - 1;
    FX_BY_MODE(mode, {
        for (int p = 0; p < n; ++p) out[p] = (int32_t)clamp64(shr_pos((int64_t)x[p] * y[p], s, RM), lo, hi);
    });
}

/* h = sat_Wh(shr(nA 2^Fa + z (hA - nA), F1 + Fa - Fh)) (docs §4.7). */
static void update(const fx_prep *pp, const int32_t *n, const int32_t *z, int32_t *h, int count)
{
    const fl_fx_format *f = &pp->q->fmt;
#if FX_ISA == 2
    if (pp->ew32) {
        update512(f, n, z, h, count);
        return;
    }
#endif
    const int fa = f->act.frac, fh = f->state.frac, f1 = fa > fh ? fa : fh, s = f1 + fa - fh;
    const int ln = f1 - fa, lh = f1 - fh;
    const int64_t hi = fl_fx_max(f->state.bits), lo = -hi - 1;
    FX_BY_MODE(f->round, {
        for (int p = 0; p < count; ++p) {
            const int64_t nA = (int64_t)n[p] * (INT64_C(1) << ln), hA = (int64_t)h[p] * (INT64_C(1) << lh);
            const int64_t v = nA * (INT64_C(1) << fa) + (int64_t)z[p] * (hA - nA);
            h[p] = (int32_t)clamp64(shr_pos(v, s, RM), lo, hi);
        }
    });
}

/* out = act(sat_Wg(a + ba + c + bc)); pre is scratch [P]. */
static void sum_act(const fx_prep *pp, int sig, const int32_t *a, int32_t ba, const int32_t *c, int32_t bc,
                    int32_t *pre, int32_t *out)
{
    const fl_fx_model *q = pp->q;
    const fl_fx_format *f = &q->fmt;
#if FX_ISA == 2
    if (pp->ew32) {
        sum_table512(a, ba, c, bc, f->gate.bits, f, sig ? &f->sigmoid : &f->tanh,
                     sig ? q->sigmoid_table : q->tanh_table, out);
        return;
    }
#endif
    sum4(a, ba, c, bc, pre, f->gate.bits);
    if (sig)
        act_sigmoid(q, pre, out, P);
    else
        act_tanh(q, pre, out, P);
}

#if FX_ISA == 2
/* ---- the fused AVX-512 path: MAC + rescale + x-part + bias + table in registers ------- */

typedef struct {
    const int32_t *M, *S;      /* rows' multipliers and shifts (all S >= 1)             */
    const int32_t *Rx;         /* [rows][P] rescaled input part, or NULL                */
    const int32_t *bias;       /* [rows] aligned bias sum                               */
    const int32_t *table;
    __m512i lo64, hi64, lo32, hi32, off, last;
    __m128i ucnt, k;
    int     up;
    int32_t *out;              /* [rows][P]                                             */
} fx_epi;

/* Row i's two accumulator halves -> act(sat(sat(rescale(A)) + Rx + bias)). */
static inline __attribute__((always_inline)) void epi_row(const fx_epi *e, int i, __m512i a0, __m512i a1,
                                                         fl_fx_round RM)
{
    const __m512i Mv = _mm512_set1_epi32(e->M[i]), h = _mm512_set1_epi64(INT64_C(1) << (e->S[i] - 1));
    const __m512i bias = _mm512_set1_epi32(e->bias[i]), zero = _mm512_setzero_si512();
    const __m128i cnt = _mm_cvtsi32_si128(e->S[i]);
    __m512i A[2] = {a0, a1};
    for (int half = 0; half < 2; ++half) {
        __m512i x = A[half];
        if (e->up) x = _mm512_sra_epi32(_mm512_sll_epi32(x, e->ucnt), e->ucnt);     /* wrap_Wacc */
        __m512i s = _mm512_add_epi32(mul_shr16(x, Mv, cnt, h, e->lo64, e->hi64, RM), bias);
        if (e->Rx) s = _mm512_add_epi32(s, _mm512_loadu_si512((const void *)(e->Rx + (size_t)i * P + 16 * half)));
        s = _mm512_min_epi32(_mm512_max_epi32(s, e->lo32), e->hi32);
        __m512i idx = _mm512_sra_epi32(_mm512_add_epi32(s, e->off), e->k);
        idx = _mm512_min_epi32(_mm512_max_epi32(idx, zero), e->last);
        _mm512_storeu_si512((void *)(e->out + (size_t)i * P + 16 * half),
                            _mm512_i32gather_epi32(idx, (const void *)e->table, 4));
    }
}

static inline __attribute__((always_inline)) void mac_fused_rm(const int32_t *wp, int rows, int kp, const uint32_t *vp,
                                                              const fx_epi *e, fl_fx_round RM)
{
    int j = 0;
    for (; j + 4 <= rows; j += 4) {
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        const int32_t *w0 = wp + (size_t)j * kp, *w1 = w0 + kp, *w2 = w1 + kp, *w3 = w2 + kp;
        for (int k = 0; k < kp; ++k) {
            const __m512i v0 = _mm512_loadu_si512((const void *)(vp + (size_t)k * P));
            const __m512i v1 = _mm512_loadu_si512((const void *)(vp + (size_t)k * P + 16));
            __m512i w = _mm512_set1_epi32(w0[k]);
            a0 = _mm512_dpwssd_epi32(a0, v0, w);
            a1 = _mm512_dpwssd_epi32(a1, v1, w);
            w = _mm512_set1_epi32(w1[k]);
            a2 = _mm512_dpwssd_epi32(a2, v0, w);
            a3 = _mm512_dpwssd_epi32(a3, v1, w);
            w = _mm512_set1_epi32(w2[k]);
            a4 = _mm512_dpwssd_epi32(a4, v0, w);
            a5 = _mm512_dpwssd_epi32(a5, v1, w);
            w = _mm512_set1_epi32(w3[k]);
            a6 = _mm512_dpwssd_epi32(a6, v0, w);
            a7 = _mm512_dpwssd_epi32(a7, v1, w);
        }
        epi_row(e, j, a0, a1, RM);
        epi_row(e, j + 1, a2, a3, RM);
        epi_row(e, j + 2, a4, a5, RM);
        epi_row(e, j + 3, a6, a7, RM);
    }
    for (; j < rows; ++j) {
        __m512i a0 = _mm512_setzero_si512(), a1 = a0;
        const int32_t *w0 = wp + (size_t)j * kp;
        for (int k = 0; k < kp; ++k) {
            const __m512i w = _mm512_set1_epi32(w0[k]);
            a0 = _mm512_dpwssd_epi32(a0, _mm512_loadu_si512((const void *)(vp + (size_t)k * P)), w);
            a1 = _mm512_dpwssd_epi32(a1, _mm512_loadu_si512((const void *)(vp + (size_t)k * P + 16)), w);
        }
        epi_row(e, j, a0, a1, RM);
    }
}

/* Rows [row0, row0 + rows) of m on the packed operand vp, straight into the
 * activation act: out = act(sat(sat(rescale(MAC)) + Rx + bias)). */
static void mac_fused(const fx_prep *pp, const fx_mat *m, int row0, int rows, const uint32_t *vp, const int32_t *Rx,
                      const int32_t *bias, int sig, int32_t *out)
{
    const fl_fx_model *q = pp->q;
    const fl_fx_format *f = &q->fmt;
    const fl_fx_act *a = sig ? &f->sigmoid : &f->tanh;
    const int e = f->gate.frac + a->range_log2, W = f->gate.bits;
    fx_epi ep;
    ep.M = m->m->mult + row0;
    ep.S = m->m->shift + row0;
    ep.Rx = Rx;
    ep.bias = bias;
    ep.table = sig ? q->sigmoid_table : q->tanh_table;
    ep.lo64 = _mm512_set1_epi64(fl_fx_min(W));
    ep.hi64 = _mm512_set1_epi64(fl_fx_max(W));
    ep.lo32 = _mm512_set1_epi32((int32_t)fl_fx_min(W));
    ep.hi32 = _mm512_set1_epi32((int32_t)fl_fx_max(W));
    ep.off = _mm512_set1_epi32(1 << e);
    ep.last = _mm512_set1_epi32((1 << a->size_log2) - 1);
    ep.up = 32 - f->acc_bits;
    ep.ucnt = _mm_cvtsi32_si128(ep.up);
    ep.k = _mm_cvtsi32_si128(e + 1 - a->size_log2);
    ep.out = out;
    const int32_t *wp = m->wp + (size_t)row0 * m->kp;
    FX_BY_MODE(f->round, { mac_fused_rm(wp, rows, m->kp, vp, &ep, RM); });
}
#endif

static void step(const fx_prep *pp, fx_block *b, int dec, int layer, const int32_t *v, int32_t *h)
{
    const fl_fx_model *q = pp->q;
    const fl_fx_format *f = &q->fmt;
    const fl_fx_layer *L = dec ? &q->dec[layer] : &q->enc[layer];
    const fx_mat *mx = dec ? &pp->dec_x[layer] : &pp->enc_x[layer];
    const fx_mat *mh = dec ? &pp->dec_h[layer] : &pp->enc_h[layer];
    const int32_t *bs = dec ? pp->dec_bsum[layer] : pp->enc_bsum[layer];
    const int32_t *bh = dec ? pp->dec_bh[layer] : pp->enc_bh[layer];
    const int H = L->hidden, Wg = f->gate.bits, after = q->cfg.reset == FL_RESET_AFTER;
    const int o_n = 2 * H;
    int32_t *r = b->rz + (size_t)pp->o_r * H * P, *z = b->rz + (size_t)pp->o_z * H * P, *pre = b->acc;
    const int32_t *Rx = mx->rows > 0 ? b->Rx : NULL;
    if (Rx) {
        mac(mx, 0, 3 * H, v, b, f->round);
        rescale(mx, 0, 3 * H, b->acc, b->Rx, f, Wg);
    }
#if FX_ISA == 2
    const int fused = pp->ew32 && mh->path == FX_PATH_I16 && mh->spos;
#else
    const int fused = 0;
#endif
    /* r and z: the first 2H rows in either gate order; n is always third. */
    if (fused) {
#if FX_ISA == 2
        pack_pairs(h, H, b->vp);
        mac_fused(pp, mh, 0, 2 * H, b->vp, Rx, bs, 1, b->rz);
        if (after) {
            mac_i16(mh->wp + (size_t)o_n * mh->kp, H, mh->kp, b->vp, b->acc);
            rescale(mh, o_n, H, b->acc, b->Rh + (size_t)o_n * P, f, Wg);
        }
#endif
    } else {
        const int rows_h = after ? 3 * H : 2 * H;
        mac(mh, 0, rows_h, h, b, f->round);
        rescale(mh, 0, rows_h, b->acc, b->Rh, f, Wg);
        for (int i = 0; i < 2 * H; ++i)
            sum_act(pp, 1, Rx ? Rx + (size_t)i * P : NULL, bs[i], b->Rh + (size_t)i * P, 0, pre, b->rz + (size_t)i * P);
    }
    if (after) {            /* n = tanh(x part + b_in + r (W_hn h + b_hn)) */
        for (int j = 0; j < H; ++j) {
            int32_t *hn = b->Rh + (size_t)(o_n + j) * P;
            sum4(hn, bh[o_n + j], NULL, 0, hn, Wg);
            mul_shr(r + (size_t)j * P, hn, f->act.frac, Wg, f->round, hn, P);
        }
    } else {                /* n = tanh(x part + W_hn (r h) + b_n) */
        mul_shr(r, h, f->act.frac, f->state.bits, f->round, b->rh, H * P);
        if (fused) {
#if FX_ISA == 2
            pack_pairs(b->rh, H, b->vp);
            mac_fused(pp, mh, o_n, H, b->vp, Rx ? Rx + (size_t)o_n * P : NULL, bs + o_n, 0, b->n);
#endif
        } else {
            mac(mh, o_n, H, b->rh, b, f->round);
            rescale(mh, o_n, H, b->acc, b->Rh + (size_t)o_n * P, f, Wg);
        }
    }
    if (after || !fused)
        for (int j = 0; j < H; ++j)
            sum_act(pp, 0, Rx ? Rx + (size_t)(o_n + j) * P : NULL, bs[o_n + j], b->Rh + (size_t)(o_n + j) * P, 0, pre,
                    b->n + (size_t)j * P);
    update(pp, b->n, z, h, H * P);
}

/* ---- bridge and dense head (docs §4.6) --------------------------------------------------- */

static void bridge(const fx_prep *pp, fx_block *b, int layer, const int32_t *he, int32_t *hd)
{
    const fl_fx_model *q = pp->q;
    const fl_fx_format *f = &q->fmt;
    const fx_mat *m = &pp->bridge[layer];
    if (!m->rows) {
        memcpy(hd, he, (size_t)q->cfg.dec_hidden * P * sizeof *hd);
        return;
    }
    mac(m, 0, m->rows, he, b, f->round);
    rescale(m, 0, m->rows, b->acc, b->Rx, f, f->gate.bits);
    for (int j = 0; j < m->rows; ++j) {
        int32_t *row = b->Rx + (size_t)j * P;
        sum4(row, pp->bridge_b[layer][j], NULL, 0, row, f->gate.bits);
        act_tanh(q, row, row, P);
        for (int p = 0; p < P; ++p)
            hd[(size_t)j * P + p] =
                (int32_t)fl_fx_sat(fl_fx_shr(row[p], f->act.frac - f->state.frac, f->round), f->state.bits);
    }
}

static void dense(const fx_prep *pp, fx_block *b, const int32_t *h, int32_t *y)
{
    const fl_fx_format *f = &pp->q->fmt;
    const fx_mat *m = &pp->dense;
    mac(m, 0, m->rows, h, b, f->round);
    rescale(m, 0, m->rows, b->acc, y, f, f->output.bits);
    for (int c = 0; c < m->rows; ++c) sum4(y + (size_t)c * P, pp->dense_b[c], NULL, 0, y + (size_t)c * P, f->output.bits);
}

const fx_kernels FX_KERNELS_NAME = {step, bridge, dense};

#undef P
