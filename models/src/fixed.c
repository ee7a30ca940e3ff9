/* fixed.c - the offline halves of fixed.h: names, double -> integer rounding,
 * multipliers. Everything here runs in `fligru quantize` or at the float
 * boundary, never inside the integer datapath. */
#include "fligru/fixed.h"

#include <math.h>
#include <string.h>

static const char *const ROUND_NAMES[] = {"truncate", "half_up", "half_even"};

const char *fl_fx_round_name(fl_fx_round m)
{
    return (unsigned)m < 3 ? ROUND_NAMES[m] : "?";
}

int fl_fx_round_parse(const char *s, fl_fx_round *m)
{
    for (int i = 0; i < 3; ++i)
        if (!strcmp(s, ROUND_NAMES[i])) {
            *m = (fl_fx_round)i;
            return 0;
        }
    return -1;
}

int64_t fl_fx_round_double(double x)
{
    /* floor and the comparison are exact in double; no dependence on fesetround. */
    double f = floor(x), d = x - f;
    int64_t q = (int64_t)f;
    if (d > 0.5 || (d == 0.5 && (q & 1))) ++q;
    return q;
}

int64_t fl_fx_from_double(double x, fl_fx_q q, fl_fx_round m)
{
    if (x != x) return 0;
    const double v = ldexp(x, q.frac);           /* exact: a power-of-two scaling */
    const double hi = (double)fl_fx_max(q.bits), lo = (double)fl_fx_min(q.bits);
    if (v >= hi) return fl_fx_max(q.bits);
    if (v <= lo) return fl_fx_min(q.bits);
    double r;
    switch (m) {
    case FL_FX_HALF_UP: r = floor(v + 0.5); break;   /* exact: |v| < 2^31 */
    case FL_FX_HALF_EVEN: return fl_fx_sat(fl_fx_round_double(v), q.bits);
    default: r = floor(v); break;
    }
    return fl_fx_sat((int64_t)r, q.bits);
}

fl_status fl_fx_multiplier(double m, int mult_bits, int32_t *M, int *S)
{
    *M = 0;
    *S = 0;
    if (!(m > 0)) return FL_OK;
    int e;
    double f = frexp(m, &e);                       /* m = f 2^e, f in [1/2, 1) */
    int64_t q = fl_fx_round_double(ldexp(f, mult_bits));
    if (q == (INT64_C(1) << mult_bits)) {
        q >>= 1;
        ++e;
    }
    int s = mult_bits - e;
    if (s > 62) {                                  /* a tiny factor: lose low bits of M */
        q = fl_fx_round_double(ldexp((double)q, 62 - s));
        s = 62;
    }
    if (s < -31) return FL_E_INPUT;
    *M = (int32_t)q;
    *S = q ? s : 0;
    return FL_OK;
}

fl_status fl_fx_multiplier_pow2(int k, int32_t *M, int *S)
{
    if (-k < -31 || -k > 62) return FL_E_INPUT;
    *M = 1;
    *S = -k;
    return FL_OK;
}
