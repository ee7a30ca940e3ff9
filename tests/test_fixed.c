/* test_fixed.c - the integer primitives of fixed.h (docs/fixed-point.md §1),
 * exactly: every rounding mode on ties, negative ties and non-ties, minimum and
 * maximum values, saturation and wrap-around at every width, table-index edges
 * and clamping; and the format rules and their one-line messages. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fligru/fixed.h"
#include "fligru/fxmodel.h"

/* ---- rounding ------------------------------------------------------------------------ */

typedef struct {
    int64_t v;
    int s;
    int64_t trunc, up, even;
} shr_case;

static const shr_case SHR[] = {
    /*   v  s  trunc half_up half_even */
    {5, 1, 2, 3, 2},      /*  2.5  */
    {7, 1, 3, 4, 4},      /*  3.5  */
    {3, 1, 1, 2, 2},      /*  1.5  */
    {1, 1, 0, 1, 0},      /*  0.5  */
    {-1, 1, -1, 0, 0},    /* -0.5  */
    {-3, 1, -2, -1, -2},  /* -1.5  */
    {-5, 1, -3, -2, -2},  /* -2.5  */
    {-7, 1, -4, -3, -4},  /* -3.5  */
    {6, 2, 1, 2, 2},      /*  1.5  */
    {10, 2, 2, 3, 2},     /*  2.5  */
    {-6, 2, -2, -1, -2},  /* -1.5  */
    {-10, 2, -3, -2, -2}, /* -2.5  */
    {9, 2, 2, 2, 2},      /*  2.25 */
    {11, 2, 2, 3, 3},     /*  2.75 */
    {-9, 2, -3, -2, -2},  /* -2.25 */
    {-11, 2, -3, -3, -3}, /* -2.75 */
    {0, 5, 0, 0, 0},
    {42, 0, 42, 42, 42},  /* s = 0: identity */
    {-42, 0, -42, -42, -42},
    {(INT64_C(1) << 62) - 1, 62, 0, 1, 1},          /* just below 1: rounds up */
    {-(INT64_C(1) << 62) + 1, 62, -1, -1, -1},      /* just above -1 */
    {INT64_C(1) << 61, 62, 0, 1, 0},                /* exactly 0.5 */
    {-(INT64_C(1) << 61), 62, -1, 0, 0},            /* exactly -0.5 */
    {3 * (INT64_C(1) << 60), 61, 1, 2, 2},          /* 1.5 at the widest shift */
    {(INT64_C(1) << 31) - 1, 16, 32767, 32768, 32768},
    {-(INT64_C(1) << 31), 16, -32768, -32768, -32768},
};

Test(fixed, shr_every_mode_on_ties_and_extremes)
{
    for (size_t i = 0; i < sizeof SHR / sizeof SHR[0]; ++i) {
        const shr_case *c = &SHR[i];
        cr_assert(eq(i64, fl_fx_shr(c->v, c->s, FL_FX_TRUNCATE), c->trunc), "truncate %lld >> %d", (long long)c->v, c->s);
        cr_assert(eq(i64, fl_fx_shr(c->v, c->s, FL_FX_HALF_UP), c->up), "half_up %lld >> %d", (long long)c->v, c->s);
        cr_assert(eq(i64, fl_fx_shr(c->v, c->s, FL_FX_HALF_EVEN), c->even), "half_even %lld >> %d", (long long)c->v,
                  c->s);
    }
}

/* The definitions in exact rational arithmetic: v / 2^s = q + r / 2^s. */
static int64_t shr_definition(int64_t v, int s, fl_fx_round m)
{
    const int64_t d = INT64_C(1) << s;
    int64_t q = v / d, r = v % d;
    if (r < 0) r += d, --q;                 /* floor division */
    if (m == FL_FX_TRUNCATE) return q;
    if (2 * r > d) return q + 1;
    if (2 * r < d) return q;
    return m == FL_FX_HALF_UP ? q + 1 : q + (q & 1);
}

Test(fixed, shr_matches_its_definition_exhaustively)
{
    for (int s = 1; s <= 6; ++s)
        for (int64_t v = -2000; v <= 2000; ++v)
            for (int m = 0; m < 3; ++m)
                cr_assert(eq(i64, fl_fx_shr(v, s, (fl_fx_round)m), shr_definition(v, s, (fl_fx_round)m)),
                          "v %lld s %d mode %s", (long long)v, s, fl_fx_round_name((fl_fx_round)m));
}

Test(fixed, shr_left_is_exact)
{
    cr_assert(eq(i64, fl_fx_shr(-3, -4, FL_FX_HALF_EVEN), -48));
    cr_assert(eq(i64, fl_fx_shr(INT64_C(1) << 30, -31, FL_FX_TRUNCATE), INT64_C(1) << 61));
    cr_assert(eq(i64, fl_fx_floor_shr(-1, 10), -1));
    cr_assert(eq(i64, fl_fx_floor_shr(-1024, 10), -1));
    cr_assert(eq(i64, fl_fx_floor_shr(-1025, 10), -2));
}

/* ---- saturation and wrap ------------------------------------------------------------------ */

ParameterizedTestParameters(fixed, sat_and_wrap_at_every_width)
{
    static int widths[31];
    for (int i = 0; i < 31; ++i) widths[i] = i + 2;
    return cr_make_param_array(int, widths, 31);
}

ParameterizedTest(int *w, fixed, sat_and_wrap_at_every_width)
{
    const int W = *w;
    const int64_t hi = (INT64_C(1) << (W - 1)) - 1, lo = -(INT64_C(1) << (W - 1));
    cr_assert(eq(i64, fl_fx_max(W), hi));
    cr_assert(eq(i64, fl_fx_min(W), lo));
    cr_assert(eq(i64, fl_fx_sat(hi, W), hi));
    cr_assert(eq(i64, fl_fx_sat(hi + 1, W), hi));
    cr_assert(eq(i64, fl_fx_sat(lo, W), lo));
    cr_assert(eq(i64, fl_fx_sat(lo - 1, W), lo));
    cr_assert(eq(i64, fl_fx_sat(INT64_MAX, W), hi));
    cr_assert(eq(i64, fl_fx_sat(INT64_MIN, W), lo));
    cr_assert(eq(i64, fl_fx_sat(0, W), 0));
    cr_assert(eq(i64, fl_fx_wrap(hi, W), hi));
    cr_assert(eq(i64, fl_fx_wrap(hi + 1, W), lo));              /* max + 1 wraps to min */
    cr_assert(eq(i64, fl_fx_wrap(lo - 1, W), hi));              /* min - 1 wraps to max */
    cr_assert(eq(i64, fl_fx_wrap(lo, W), lo));
    cr_assert(eq(i64, fl_fx_wrap(INT64_C(1) << W, W), 0));
    cr_assert(eq(i64, fl_fx_wrap(-1, W), -1));
    /* wrap is a ring homomorphism: the order of a sum cannot matter */
    const int64_t a = hi - 3, b = 7, c = lo + 2;
    cr_assert(eq(i64, fl_fx_wrap(fl_fx_wrap(a + b, W) + c, W), fl_fx_wrap(a + fl_fx_wrap(b + c, W), W)));
}

Test(fixed, wrap_examples)
{
    cr_assert(eq(i64, fl_fx_wrap(200, 8), -56));
    cr_assert(eq(i64, fl_fx_wrap(-129, 8), 127));
    cr_assert(eq(i64, fl_fx_wrap(INT64_C(0x180000000), 32), INT64_MIN / INT64_C(0x100000000)));
    cr_assert(eq(i64, fl_fx_wrap(INT64_C(1) << 31, 32), -(INT64_C(1) << 31)));
    cr_assert(eq(i64, fl_fx_wrap(INT64_MIN, 64), INT64_MIN));
    cr_assert(eq(i64, fl_fx_wrap(3, 2), -1));
}

Test(fixed, shr_sat_saturates_left_shifts)
{
    cr_assert(eq(i64, fl_fx_shr_sat(1, -40, FL_FX_TRUNCATE, 32), INT32_MAX));
    cr_assert(eq(i64, fl_fx_shr_sat(-1, -40, FL_FX_TRUNCATE, 32), INT32_MIN));
    cr_assert(eq(i64, fl_fx_shr_sat(INT64_C(1) << 40, -30, FL_FX_HALF_UP, 16), 32767));   /* beyond int64 */
    cr_assert(eq(i64, fl_fx_shr_sat(-(INT64_C(1) << 40), -30, FL_FX_HALF_UP, 16), -32768));
    cr_assert(eq(i64, fl_fx_shr_sat(3, -2, FL_FX_HALF_EVEN, 8), 12));
    cr_assert(eq(i64, fl_fx_shr_sat(40, -2, FL_FX_HALF_EVEN, 8), 127));
    cr_assert(eq(i64, fl_fx_shr_sat(-1000, 2, FL_FX_HALF_EVEN, 8), -128));
    cr_assert(eq(i64, fl_fx_shr_sat(-510, 2, FL_FX_HALF_EVEN, 8), -128));   /* -127.5 -> -128 (even) */
    cr_assert(eq(i64, fl_fx_shr_sat(-510, 2, FL_FX_HALF_UP, 8), -127));     /* -127.5 -> -127 */
    cr_assert(eq(i64, fl_fx_shr_sat(510, 2, FL_FX_HALF_UP, 8), 127));       /* 127.5 -> 128 -> saturates */
}

Test(fixed, rescale_extremes)
{
    /* A = -2^31, M = 2^31 - 1: the largest product, -2^62 + 2^31, exact. */
    const int64_t A = INT32_MIN, M = INT32_MAX;
    cr_assert(eq(i64, fl_fx_rescale(A, M, 62, FL_FX_HALF_EVEN, 32), -1));
    cr_assert(eq(i64, fl_fx_rescale(A, M, 31, FL_FX_TRUNCATE, 32), -(INT64_C(1) << 31) + 1));
    cr_assert(eq(i64, fl_fx_rescale(A, M, 31, FL_FX_TRUNCATE, 16), -32768));
    cr_assert(eq(i64, fl_fx_rescale(-A - 1, M, 0, FL_FX_TRUNCATE, 32), INT32_MAX));
    cr_assert(eq(i64, fl_fx_rescale(100, 3, 2, FL_FX_HALF_UP, 32), 75));
    cr_assert(eq(i64, fl_fx_rescale(-2, 1, -3, FL_FX_HALF_UP, 32), -16));           /* pow2: a left shift */
    cr_assert(eq(i64, fl_fx_rescale(-2, 1, -20, FL_FX_HALF_UP, 18), -131072));      /* saturated */
    cr_assert(eq(i64, fl_fx_rescale(12345, 0, 5, FL_FX_HALF_UP, 32), 0));           /* a zero row */
}

Test(fixed, product_shift_rounds_each_product)
{
    cr_assert(eq(i64, fl_fx_product(-3, 5, 2, FL_FX_HALF_EVEN), -4));   /* -15/4 = -3.75 */
    cr_assert(eq(i64, fl_fx_product(-3, 2, 2, FL_FX_HALF_EVEN), -2));   /* -1.5 -> -2 */
    cr_assert(eq(i64, fl_fx_product(-3, 2, 2, FL_FX_HALF_UP), -1));     /* -1.5 -> -1 */
    cr_assert(eq(i64, fl_fx_product(-3, 2, 2, FL_FX_TRUNCATE), -2));
    cr_assert(eq(i64, fl_fx_product(-32767, INT32_MIN, 0, FL_FX_TRUNCATE), INT64_C(32767) << 31));
    cr_assert(eq(i64, fl_fx_product(7, 9, -3, FL_FX_TRUNCATE), 504));
}

/* ---- tables ---------------------------------------------------------------------------------- */

Test(fixed, table_index_edges_and_clamping)
{
    /* Gate Q(18,12), 1024 entries over [-8, 8): bins of 1/64 = 64 LSBs, shift 6. */
    const int fg = 12, e = 3, n = 10;
    const int64_t R = INT64_C(8) << fg, bin = 64;
    cr_assert(eq(i64, fl_fx_table_index(-R, fg, e, n), 0));              /* -8: the first bin */
    cr_assert(eq(i64, fl_fx_table_index(-R - 1, fg, e, n), 0));          /* below: clamped   */
    cr_assert(eq(i64, fl_fx_table_index(-(INT64_C(1) << 17), fg, e, n), 0));   /* the gate's min */
    cr_assert(eq(i64, fl_fx_table_index(-R + bin - 1, fg, e, n), 0));    /* last LSB of bin 0 */
    cr_assert(eq(i64, fl_fx_table_index(-R + bin, fg, e, n), 1));
    cr_assert(eq(i64, fl_fx_table_index(-1, fg, e, n), 511));            /* just below 0: floor */
    cr_assert(eq(i64, fl_fx_table_index(0, fg, e, n), 512));
    cr_assert(eq(i64, fl_fx_table_index(R - 1, fg, e, n), 1023));        /* last LSB below 8 */
    cr_assert(eq(i64, fl_fx_table_index(R, fg, e, n), 1023));            /* 8: clamped */
    cr_assert(eq(i64, fl_fx_table_index((INT64_C(1) << 17) - 1, fg, e, n), 1023));
    /* A table exactly as fine as the LSB: shift 0, every code its own entry. */
    cr_assert(eq(i64, fl_fx_table_index(-3, 2, 1, 4), 5));               /* [-2,2) in 16 bins of 1/4 */
    /* A range below one: [-1/2, 1/2) with 8 entries on Q(8,6): shift 2. */
    cr_assert(eq(i64, fl_fx_table_index(-32, 6, -1, 3), 0));
    cr_assert(eq(i64, fl_fx_table_index(31, 6, -1, 3), 7));
    cr_assert(eq(i64, fl_fx_table_index(4, 6, -1, 3), 4));     /* bins of 8 LSBs: (4 + 32) >> 3 */
    cr_assert(eq(i64, fl_fx_table_index(-25, 6, -1, 3), 0));
    cr_assert(eq(i64, fl_fx_table_index(-24, 6, -1, 3), 1));
}

/* ---- offline rounding, boundary conversion, multipliers ----------------------------------------- */

Test(fixed, round_double_ties_to_even)
{
    const double in[] = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 2.5000000000000004, -7.0, 1e15 + 0.5};
    const int64_t out[] = {0, 2, 2, 0, -2, -2, 0, 3, -7, 1000000000000000};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; ++i)
        cr_assert(eq(i64, fl_fx_round_double(in[i]), out[i]), "round(%.17g)", in[i]);
}

Test(fixed, from_double_rounds_by_mode_and_saturates)
{
    const fl_fx_q q = {8, 2};   /* LSB 1/4, range [-32, 31.75] */
    cr_assert(eq(i64, fl_fx_from_double(0.125, q, FL_FX_HALF_EVEN), 0));
    cr_assert(eq(i64, fl_fx_from_double(0.375, q, FL_FX_HALF_EVEN), 2));
    cr_assert(eq(i64, fl_fx_from_double(-0.125, q, FL_FX_HALF_UP), 0));
    cr_assert(eq(i64, fl_fx_from_double(-0.125, q, FL_FX_TRUNCATE), -1));
    cr_assert(eq(i64, fl_fx_from_double(-0.375, q, FL_FX_HALF_EVEN), -2));
    cr_assert(eq(i64, fl_fx_from_double(31.75, q, FL_FX_HALF_EVEN), 127));
    cr_assert(eq(i64, fl_fx_from_double(31.9, q, FL_FX_HALF_EVEN), 127));
    cr_assert(eq(i64, fl_fx_from_double(-32.0, q, FL_FX_HALF_EVEN), -128));
    cr_assert(eq(i64, fl_fx_from_double(-1e30, q, FL_FX_HALF_EVEN), -128));
    cr_assert(eq(i64, fl_fx_from_double(INFINITY, q, FL_FX_TRUNCATE), 127));
    cr_assert(eq(i64, fl_fx_from_double(NAN, q, FL_FX_TRUNCATE), 0));
    const fl_fx_q w = {32, 31};
    cr_assert(eq(i64, fl_fx_from_double(1.0, w, FL_FX_HALF_EVEN), INT32_MAX));    /* I = 1: 1.0 saturates */
    cr_assert(eq(i64, fl_fx_from_double(-1.0, w, FL_FX_HALF_EVEN), INT32_MIN));
}

Test(fixed, multipliers_normalised)
{
    int32_t M;
    int S;
    cr_assert(eq(int, fl_fx_multiplier(1.0, 16, &M, &S), FL_OK));
    cr_assert(eq(i32, M, 32768));
    cr_assert(eq(int, S, 15));
    cr_assert(eq(int, fl_fx_multiplier(0.75, 2, &M, &S), FL_OK));   /* 0.75 = 3 * 2^-2 */
    cr_assert(eq(i32, M, 3));
    cr_assert(eq(int, S, 2));
    /* 0.999 with 4 bits: 15.98 rounds to 16 = 2^4, renormalised to 8 * 2^-3 */
    cr_assert(eq(int, fl_fx_multiplier(0.999, 4, &M, &S), FL_OK));
    cr_assert(eq(i32, M, 8));
    cr_assert(eq(int, S, 3));
    cr_assert(eq(int, fl_fx_multiplier(ldexp(1.0, -50), 16, &M, &S), FL_OK));   /* S capped at 62 */
    cr_assert(eq(int, S, 62));
    cr_assert(eq(i32, M, 4096));
    cr_assert(eq(int, fl_fx_multiplier(ldexp(1.0, -80), 16, &M, &S), FL_OK));   /* underflows to a zero row */
    cr_assert(eq(i32, M, 0));
    cr_assert(eq(int, S, 0));
    cr_assert(eq(int, fl_fx_multiplier(0.0, 16, &M, &S), FL_OK));
    cr_assert(eq(i32, M, 0));
    cr_assert(eq(int, fl_fx_multiplier(ldexp(1.0, 60), 16, &M, &S), FL_E_INPUT));
    cr_assert(eq(int, fl_fx_multiplier_pow2(-5, &M, &S), FL_OK));
    cr_assert(eq(i32, M, 1));
    cr_assert(eq(int, S, 5));
    const double m = 0.123456789;
    cr_assert(eq(int, fl_fx_multiplier(m, 31, &M, &S), FL_OK));
    cr_assert(fabs(ldexp((double)M, -S) - m) <= ldexp(m, -31));
}

/* ---- formats and configs --------------------------------------------------------------------- */

static void expect_bad(const char *yaml, const char *needle)
{
    fl_fx_format f;
    cr_assert(eq(int, fl_fx_format_parse(yaml, strlen(yaml), "fx.yaml", &f), FL_E_INPUT), "accepted: %s", yaml);
    cr_assert(strstr(fl_error(), needle) != NULL, "message '%s' lacks '%s'", fl_error(), needle);
    cr_assert(strchr(fl_error(), '\n') == NULL, "one line: '%s'", fl_error());
}

Test(fixed, config_errors_name_file_line_and_field)
{
    expect_bad("state: {bits: 40, frac: 20}\n", "fx.yaml:1: state.bits: word length 40 is outside 2..32");
    expect_bad("input:\n  bits: 1\n", "fx.yaml:2: input.bits: word length 1 is outside 2..32");
    expect_bad("state:\n  bits: 16\n  frac: 16\n", "fx.yaml:3: state.frac: binary point 16 is beyond the 16-bit word");
    expect_bad("gate: {bits: 18, frac: -1}\n", "gate.frac: binary point -1 is beyond");
    expect_bad("sigmoid: {kind: table, size: 1000}\n", "fx.yaml:1: sigmoid.size: 1000 is not a power of two");
    expect_bad("tanh: {range: 3}\n", "tanh.range: 3 is not a power of two");
    expect_bad("gate: {bits: 8, frac: 2}\nsigmoid: {size: 1024, range: 8}\n", "sigmoid.size");
    expect_bad("weights: {bits: 17}\n", "weights.bits: 17 is outside 2..16");
    expect_bad("weights: {bits: 8, frac: 7}\n", "weights.frac: only with scale: fixed");
    expect_bad("weights: {bits: 8, scale: fixed}\n", "needs frac");
    expect_bad("accumulator: {bits: 33}\n", "accumulator.bits: word length 33 is outside 2..32");
    expect_bad("accumulator: {bits: 32, frac: 32}\n", "accumulator.frac: binary point 32 is beyond");
    expect_bad("multiplier: {bits: 32}\n", "multiplier.bits: 32 is outside 2..31");
    expect_bad("rounding: nearest\n", "rounding");
    expect_bad("statee: {bits: 8}\n", "unknown key");
    expect_bad("state: {bits: 8, fraction: 6}\n", "unknown key");
    expect_bad("activation: {bits: 32, frac: 31}\nstate: {bits: 32, frac: 1}\n", "the update needs");
    expect_bad("activation: {bits: 8, frac: 0}\n", "activation.frac");
}

Test(fixed, configs_in_the_repository_load)
{
    const char *names[] = {"fx-default.yaml", "fx-hls.yaml", "fx-w8s16.yaml", "fx-w8s8.yaml", "fx-pow2.yaml"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        char path[512];
        snprintf(path, sizeof path, "%s/configs/%s", FLIGRU_SOURCE_DIR, names[i]);
        fl_fx_format f;
        cr_assert(eq(int, fl_fx_format_load(path, &f), FL_OK), "%s: %s", names[i], fl_error());
    }
    /* The defaults are configs/fx-default.yaml. */
    fl_fx_format a, b;
    char path[512];
    snprintf(path, sizeof path, "%s/configs/fx-default.yaml", FLIGRU_SOURCE_DIR);
    cr_assert(eq(int, fl_fx_format_load(path, &a), FL_OK));
    fl_fx_format_default(&b);
    char sa[512], sb[512];
    fl_fx_format_str(&a, sa, sizeof sa);
    fl_fx_format_str(&b, sb, sizeof sb);
    cr_assert(eq(str, sa, sb));
}

Test(fixed, format_check_names_the_field)
{
    fl_fx_format f;
    fl_fx_format_default(&f);
    f.output = (fl_fx_q){16, 20};
    cr_assert(eq(int, fl_fx_format_check(&f, "q.safetensors: "), FL_E_INPUT));
    cr_assert(eq(str, (char *)fl_error(),
                 "q.safetensors: output.frac: binary point 20 is beyond the 16-bit word (0..15: at least the sign bit "
                 "stays left of the point)"));
    fl_fx_format_default(&f);
    f.tanh.size_log2 = 17;
    cr_assert(eq(int, fl_fx_format_check(&f, ""), FL_E_INPUT));
    cr_assert(strstr(fl_error(), "tanh.size") != NULL);
}
