/* fligru/fixed.h - the integer primitives of the fixed-point datapath.
 *
 * docs/fixed-point.md is the specification; these helpers are its §1 and §4
 * written as C, and everything bit-exact in fligru (the reference model, the SIMD
 * kernels' tests, the SystemC model) is built from them. Each states its operand
 * range and its exact rounding and saturation rule. Values travel as int64_t so
 * that every intermediate of a valid format (docs §2.3) is exact.
 *
 *     // a Q(24,22) state times a Q(16,14) gate, back into Q(24,22), half-even:
 *     int64_t p  = (int64_t)h * z;                          // Q(40,36), exact
 *     int64_t h2 = fl_fx_sat(fl_fx_shr(p, 14, FL_FX_HALF_EVEN), 24);
 *
 *     fl_fx_shr(5, 1, FL_FX_HALF_EVEN)  ==  2      // 2.5 -> 2 (ties to even)
 *     fl_fx_shr(-5, 1, FL_FX_HALF_UP)   == -2      // -2.5 -> -2 (ties toward +inf)
 *     fl_fx_shr(-5, 1, FL_FX_TRUNCATE)  == -3      // floor, not toward zero
 *
 * Limits: shifts in [-62, 62]; right shifts need |v| < 2^62 (the rounding
 * constant is added before the shift). Left shifts wrap modulo 2^64 (callers
 * that need saturation use fl_fx_shr_sat). Right shifts of negative values are
 * arithmetic (GCC and Clang define it so; C11 leaves it to the implementation).
 */
#ifndef FLIGRU_FIXED_H
#define FLIGRU_FIXED_H

#include <stddef.h>
#include <stdint.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rounding of every right shift that drops bits (docs §1.1). */
typedef enum {
    FL_FX_TRUNCATE  = 0,   /* floor(v / 2^s): toward -inf (AP_TRN)            */
    FL_FX_HALF_UP   = 1,   /* floor(v / 2^s + 1/2): ties toward +inf (AP_RND)  */
    FL_FX_HALF_EVEN = 2    /* nearest, ties to even (AP_RND_CONV)             */
} fl_fx_round;

/* Q(bits, frac): a bits-wide two's-complement integer q meaning q * 2^-frac. */
typedef struct {
    int bits;   /* 2..32            */
    int frac;   /* 0..bits-1        */
} fl_fx_q;

/* "truncate", "half_up", "half_even"; parse returns 0 or -1. */
const char *fl_fx_round_name(fl_fx_round m);
int         fl_fx_round_parse(const char *s, fl_fx_round *m);

/* Largest and smallest values of a W-bit signed word, 1 <= W <= 63. */
static inline int64_t fl_fx_max(int W) { return (int64_t)((UINT64_C(1) << (W - 1)) - 1); }
static inline int64_t fl_fx_min(int W) { return -fl_fx_max(W) - 1; }

/* Saturation to W bits (1 <= W <= 63): clamp(v, -2^(W-1), 2^(W-1) - 1).
 * Asymmetric, as two's complement (AP_SAT). */
static inline int64_t fl_fx_sat(int64_t v, int W)
{
    const int64_t hi = fl_fx_max(W), lo = -hi - 1;
    return v > hi ? hi : v < lo ? lo : v;
}

/* Wrap-around to W bits (1 <= W <= 64): the low W bits of v as two's complement
 * (AP_WRAP). Any v; addition commutes with it, which is what makes accumulation
 * order-free (docs §2.2). */
static inline int64_t fl_fx_wrap(int64_t v, int W)
{
    if (W >= 64) return v;
    const uint64_t m = (UINT64_C(1) << W) - 1, sign = UINT64_C(1) << (W - 1);
    const uint64_t u = (uint64_t)v & m;
    return (int64_t)(u ^ sign) - (int64_t)sign;
}

/* floor(v / 2^s), 0 <= s <= 62: the arithmetic right shift, whatever the mode
 * (table indices select, they do not round). */
static inline int64_t fl_fx_floor_shr(int64_t v, int s)
{
    return v >> s;
}

/* v / 2^s rounded by mode m, for 1 <= s <= 62 and |v| < 2^62:
 *   truncate  floor(v / 2^s)
 *   half_up   floor((v + 2^(s-1)) / 2^s)
 *   half_even (v + 2^(s-1) - 1 + bit s of v) >> s
 * s == 0 returns v. s < 0 is the exact left shift v * 2^-s, wrapping modulo 2^64
 * when it does not fit (never for the operands docs §2.3 allows). */
static inline int64_t fl_fx_shr(int64_t v, int s, fl_fx_round m)
{
    if (s == 0) return v;
    if (s < 0) return (int64_t)((uint64_t)v << -s);
    const int64_t h = INT64_C(1) << (s - 1);
    switch (m) {
    case FL_FX_HALF_UP: return (v + h) >> s;
    case FL_FX_HALF_EVEN: return (v + h - 1 + ((v >> s) & 1)) >> s;
    default: return v >> s;
    }
}

/* sat_W(shr(v, s)) with left shifts (s < 0) saturating instead of wrapping:
 * any v with |v| < 2^62, -62 <= s <= 62, 1 <= W <= 63. */
static inline int64_t fl_fx_shr_sat(int64_t v, int s, fl_fx_round m, int W)
{
    if (s < 0) {
        const int64_t lim = INT64_C(1) << (62 + s);      /* |v| < lim: v << -s fits */
        if (v >= lim) return fl_fx_max(W);
        if (v <= -lim) return fl_fx_min(W);
    }
    return fl_fx_sat(fl_fx_shr(v, s, m), W);
}

/* Rescale (docs §4.3): sat_W(shr(A * M, S)). A: an accumulator value
 * (|A| <= 2^31), M: a multiplier 0 <= M < 2^31, so A*M is exact in 63 bits;
 * -62 <= S <= 62 (S < 0: saturating left shift). */
static inline int64_t fl_fx_rescale(int64_t A, int64_t M, int S, fl_fx_round m, int W)
{
    return fl_fx_shr_sat(A * M, S, m, W);
}

/* One MAC term (docs §4.2): shr(w * v, D), the product shifted by the product
 * shift D (rounded right, or exact/wrapping left). |w| < 2^16, |v| < 2^32. */
static inline int64_t fl_fx_product(int64_t w, int64_t v, int D, fl_fx_round m)
{
    return fl_fx_shr(w * v, D, m);
}

/* Activation table lookup (docs §2.4): pre-activation g with gate fraction fg,
 * a table of 2^size_log2 entries over [-2^range_log2, 2^range_log2).
 * index = clamp(floor_shr(g + 2^(fg + range_log2), fg + range_log2 + 1 - size_log2),
 *               0, 2^size_log2 - 1); requires that shift >= 0. */
static inline int64_t fl_fx_table_index(int64_t g, int fg, int range_log2, int size_log2)
{
    const int e = fg + range_log2;      /* >= 0 for a valid format (checked) */
    const int64_t u = g + (INT64_C(1) << e);
    const int64_t i = fl_fx_floor_shr(u, e + 1 - size_log2);
    const int64_t last = (INT64_C(1) << size_log2) - 1;
    return i < 0 ? 0 : i > last ? last : i;
}

/* Offline rounding of a double to the nearest integer, ties to even (PTQ,
 * tables, multipliers: docs §1.1), independent of the FPU rounding mode.
 * |x| < 2^62. */
int64_t fl_fx_round_double(double x);

/* The boundary conversion of a float sample (docs §4.1): sat_W(round_m(x*2^F))
 * for the datapath's mode m. NaN gives 0; +-Inf saturate. */
int64_t fl_fx_from_double(double x, fl_fx_q q, fl_fx_round m);

/* q * 2^-F as a double (exact for W <= 53). */
static inline double fl_fx_to_double(int64_t v, int frac)
{
    double s = 1.0;
    for (int i = 0; i < frac; ++i) s *= 0.5;
    return (double)v * s;
}

/* Normalised multiplier for a positive real factor m (docs §3): M < 2^mult_bits,
 * M * 2^-S ~= m with S clamped to [-31, 62]. m == 0 gives M = 0, S = 0.
 * Returns FL_E_INPUT when m needs S < -31 (a format whose binary points make
 * the factor absurd); the caller names the tensor. */
fl_status fl_fx_multiplier(double m, int mult_bits, int32_t *M, int *S);

/* Exact power-of-two factor m = 2^k (pow2 / fixed scales): M = 1, S = -k.
 * Fails when -k is outside [-31, 62]. */
fl_status fl_fx_multiplier_pow2(int k, int32_t *M, int *S);

#ifdef __cplusplus
}
#endif
#endif
