/* test_metrics.c - RMSE, R², L2 and DTW against hand-worked values; the fast
 * DTW kernel against the full-matrix reference, bit for bit. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/io.h"
#include "fligru/metrics.h"

#define TOL 1e-12

/* Two samples x four steps, worked by hand:
 *
 *   sample 0: truth 1 2 3 4, pred 1 2 3 6.  errors 0 0 0 2: SSE 4, RMSE 1, L2 2.
 *     mean 2.5, SS_tot = 2.25+0.25+0.25+2.25 = 5, R² = 1 - 4/5 = 0.2.
 *     DTW: every path ends in cell (3,3), cost (6-4)² = 4, and the diagonal
 *     costs exactly 4: DTW = sqrt 4 = 2 (abs cost: |6-4| = 2).
 *   sample 1: truth 0 1 1 0, pred 0 0 1 1.  errors 0 -1 0 1: SSE 2, RMSE sqrt .5,
 *     L2 sqrt 2. mean 0.5, SS_tot = 4 * 0.25 = 1, R² = 1 - 2 = -1.
 *     DTW: path (0,0)(1,0)(2,1)(3,2)(3,3) costs 0+0+0+0+1 = 1 and the end cell
 *     alone costs (1-0)² = 1: DTW = 1 (abs: 1).
 *
 *   pooled RMSE = sqrt(6/8); per-sample RMSE 1, .7071: mean .853553, std .146447
 *   R² mean -0.4 std 0.6; L2 mean (2+sqrt2)/2, std (2-sqrt2)/2; DTW mean 1.5 std 0.5.
 */
static const float TRUTH[8] = {1, 2, 3, 4, 0, 1, 1, 0};
static const float PRED[8] = {1, 2, 3, 6, 0, 0, 1, 1};

static fl_metrics hand_metrics(fl_dtw_cost cost)
{
    fl_metrics_params mp = {.n = 2, .t = 4, .dtw = {.band = -1, .cost = cost}};
    fl_metrics m;
    cr_assert_eq(fl_metrics_compute(&mp, fl_series_channel(PRED, 4, 1, 0),
                                    fl_series_channel(TRUTH, 4, 1, 0), &m), FL_OK);
    return m;
}

Test(metrics, hand_worked_two_by_four)
{
    fl_metrics m = hand_metrics(FL_DTW_SQ);
    cr_assert(ieee_ulp_eq(dbl, m.rmse, sqrt(0.75), 4));
    cr_assert(epsilon_eq(dbl, m.rmse_sample.mean, (1 + sqrt(0.5)) / 2, TOL));
    cr_assert(epsilon_eq(dbl, m.rmse_sample.std, (1 - sqrt(0.5)) / 2, TOL));
    cr_assert(epsilon_eq(dbl, m.r2.mean, -0.4, TOL));
    cr_assert(epsilon_eq(dbl, m.r2.std, 0.6, TOL));
    cr_assert(epsilon_eq(dbl, m.l2.mean, (2 + sqrt(2)) / 2, TOL));
    cr_assert(epsilon_eq(dbl, m.l2.std, (2 - sqrt(2)) / 2, TOL));
    cr_assert(epsilon_eq(dbl, m.dtw.mean, 1.5, TOL));
    cr_assert(epsilon_eq(dbl, m.dtw.std, 0.5, TOL));
    cr_assert_eq(m.r2_excluded, 0);
    cr_assert_eq(m.n, 2);
    cr_assert_eq(m.t, 4);
}

Test(metrics, per_sample_values)
{
    double sse[2], rmse[2], r2[2], l2[2], dtw[2];
    fl_metrics_samples s = {sse, rmse, r2, l2, dtw};
    fl_metrics_params mp = {.n = 2, .t = 4, .dtw = {.band = -1, .cost = FL_DTW_SQ}};
    cr_assert_eq(fl_metrics_samples_compute(&mp, fl_series_channel(PRED, 4, 1, 0),
                                            fl_series_channel(TRUTH, 4, 1, 0), &s), FL_OK);
    cr_assert(eq(dbl, sse[0], 4.0));
    cr_assert(eq(dbl, sse[1], 2.0));
    cr_assert(eq(dbl, r2[0], 1.0 - 4.0 / 5.0));
    cr_assert(eq(dbl, r2[1], -1.0));
    cr_assert(eq(dbl, dtw[0], 2.0));
    cr_assert(eq(dbl, dtw[1], 1.0));
}

Test(metrics, abs_cost_hand_worked)
{
    /* x = 0 3, y = 1 1. sq costs 1 1 / 4 4: D = 1 2 / 5 4+min(2,5,1)=5 -> sqrt 5.
     * abs costs 1 1 / 2 2: D = 1 2 / 3 2+min(2,3,1)=3 -> 3. */
    const float x[2] = {0, 3}, y[2] = {1, 1};
    fl_dtw_params p = {.t = 2, .band = -1, .cost = FL_DTW_SQ};
    double d;
    cr_assert_eq(fl_dtw_ref(&p, x, y, &d), FL_OK);
    cr_assert(eq(dbl, d, sqrt(5.0)));
    p.cost = FL_DTW_ABS;
    cr_assert_eq(fl_dtw_ref(&p, x, y, &d), FL_OK);
    cr_assert(eq(dbl, d, 3.0));
    fl_metrics m = hand_metrics(FL_DTW_ABS);   /* sample 0: 2, sample 1: 1 */
    cr_assert(epsilon_eq(dbl, m.dtw.mean, 1.5, TOL));
}

Test(metrics, band_hand_worked)
{
    /* Sample 1 above: the optimal path leaves the diagonal by one step. */
    fl_dtw_params p = {.t = 4, .band = 0, .cost = FL_DTW_SQ};
    double d;
    cr_assert_eq(fl_dtw_ref(&p, PRED + 4, TRUTH + 4, &d), FL_OK);
    cr_assert(eq(dbl, d, sqrt(2.0)));          /* W = 0: the diagonal, = L2 */
    p.band = 1;
    cr_assert_eq(fl_dtw_ref(&p, PRED + 4, TRUTH + 4, &d), FL_OK);
    cr_assert(eq(dbl, d, 1.0));
}

Test(metrics, constant_truth_excluded_from_r2)
{
    const float y[6] = {1, 2, 4, 5, 5, 5}, p[6] = {1, 2, 3, 5, 5, 4};
    fl_metrics_params mp = {.n = 2, .t = 3, .dtw = {.band = -1}};
    fl_metrics m;
    cr_assert_eq(fl_metrics_compute(&mp, fl_series_channel(p, 3, 1, 0),
                                    fl_series_channel(y, 3, 1, 0), &m), FL_OK);
    /* sample 0: SSE 1, mean 7/3, SS_tot = 16/9+1/9+25/9 = 42/9. */
    cr_assert_eq(m.r2_excluded, 1);
    cr_assert(epsilon_eq(dbl, m.r2.mean, 1.0 - 9.0 / 42.0, TOL));
    cr_assert(eq(dbl, m.r2.std, 0.0));
}

Test(metrics, channel_view_reads_strided)
{
    /* [2][4][3] with the hand data in channel 2. */
    float p3[24], y3[24];
    for (int i = 0; i < 24; ++i) p3[i] = y3[i] = (float)(100 + i);
    for (int k = 0; k < 8; ++k) {
        p3[k * 3 + 2] = PRED[k];
        y3[k * 3 + 2] = TRUTH[k];
    }
    fl_metrics_params mp = {.n = 2, .t = 4, .dtw = {.band = -1}};
    fl_metrics m, ref = hand_metrics(FL_DTW_SQ);
    cr_assert_eq(fl_metrics_compute(&mp, fl_series_channel(p3, 4, 3, 2),
                                    fl_series_channel(y3, 4, 3, 2), &m), FL_OK);
    cr_assert(eq(dbl, m.rmse, ref.rmse));
    cr_assert(eq(dbl, m.dtw.mean, ref.dtw.mean));
    cr_assert(eq(dbl, m.r2.mean, ref.r2.mean));
}

Test(metrics, stat_of_skips_non_finite)
{
    const double x[4] = {1, NAN, 3, INFINITY};
    size_t used;
    fl_stat s = fl_stat_of(x, 4, &used);
    cr_assert_eq(used, 2);
    cr_assert(eq(dbl, s.mean, 2.0));
    cr_assert(eq(dbl, s.std, 1.0));
    s = fl_stat_of(x + 1, 1, &used);
    cr_assert_eq(used, 0);
    cr_assert(isnan(s.mean));
}

/* ---- random inputs --------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static float urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 11) * 0x1.0p-53);
}

/* n decays of length t with random lifetimes, shifts and noise. */
static float *random_decays(size_t n, size_t t)
{
    float *x = malloc(n * t * sizeof *x);
    for (size_t i = 0; i < n; ++i) {
        double tau = 3 + 30 * urand(), shift = 4 * urand();
        for (size_t k = 0; k < t; ++k)
            x[i * t + k] = (float)(k >= shift ? exp(-((double)k - shift) / tau) : 0) + 0.05f * (urand() - 0.5f);
    }
    return x;
}

static void check_fast_against_ref(void)
{
    const size_t lens[] = {1, 2, 7, 16, 17, 33, 135};
    const size_t counts[] = {1, 5, 8, 17, 37};
    const long bands[] = {-1, 0, 1, 5, 200};
    for (size_t a = 0; a < sizeof lens / sizeof *lens; ++a)
        for (size_t b = 0; b < sizeof counts / sizeof *counts; ++b) {
            size_t t = lens[a], n = counts[b];
            float *x = random_decays(n, t), *y = random_decays(n, t);
            double *fast = malloc(n * sizeof *fast);
            for (size_t c = 0; c < sizeof bands / sizeof *bands; ++c)
                for (int cost = FL_DTW_SQ; cost <= FL_DTW_ABS; ++cost) {
                    fl_dtw_params p = {.t = t, .band = bands[c], .cost = (fl_dtw_cost)cost};
                    cr_assert_eq(fl_dtw_batch(&p, n, fl_series_channel(x, t, 1, 0),
                                              fl_series_channel(y, t, 1, 0), fast), FL_OK);
                    for (size_t i = 0; i < n; ++i) {
                        double ref;
                        cr_assert_eq(fl_dtw_ref(&p, x + i * t, y + i * t, &ref), FL_OK);
                        cr_assert(memcmp(&ref, &fast[i], sizeof ref) == 0,
                                  "%s t=%zu n=%zu band=%ld cost=%d pair %zu: ref %.17g fast %.17g",
                                  fl_dtw_kernel_name(), t, n, bands[c], cost, i, ref, fast[i]);
                    }
                }
            free(x);
            free(y);
            free(fast);
        }
}

Test(metrics, fast_dtw_bit_identical_to_reference)
{
    /* Every kernel this CPU can run, not only the one dispatched to. */
    const char *names[] = {"generic", "avx2", "avx512f"};
    int ran = 0;
    for (int k = 0; k < 3; ++k) {
        if (fl_dtw_use_kernel(names[k]) != FL_OK) continue;
        check_fast_against_ref();
        ++ran;
    }
    cr_assert(ran >= 1);
    cr_assert_eq(fl_dtw_use_kernel(NULL), FL_OK);
    cr_assert_eq(fl_dtw_use_kernel("neon"), FL_E_INPUT);
}

Test(metrics, dtw_never_exceeds_l2_and_band_zero_is_l2)
{
    size_t n = 203, t = 135;
    float *x = random_decays(n, t), *y = random_decays(n, t);
    double l2[203], dtw[203], diag[203];
    fl_metrics_params mp = {.n = n, .t = t, .dtw = {.band = -1, .cost = FL_DTW_SQ}};
    fl_metrics_samples s = {.l2 = l2, .dtw = dtw};
    fl_series xs = fl_series_channel(x, t, 1, 0), ys = fl_series_channel(y, t, 1, 0);
    cr_assert_eq(fl_metrics_samples_compute(&mp, xs, ys, &s), FL_OK);
    mp.dtw.band = 0;
    s.dtw = diag;
    cr_assert_eq(fl_metrics_samples_compute(&mp, xs, ys, &s), FL_OK);
    for (size_t i = 0; i < n; ++i) {
        cr_assert(dtw[i] <= l2[i], "pair %zu: DTW %.17g > L2 %.17g", i, dtw[i], l2[i]);
        cr_assert(eq(dbl, diag[i], l2[i]), "pair %zu", i);
    }
    free(x);
    free(y);
}

Test(metrics, dtw_of_shifted_copy_below_l2)
{
    enum { T = 135, SHIFT = 3 };
    float x[T], y[T];
    for (int k = 0; k < T; ++k) {
        x[k] = k >= 10 ? (float)exp(-(k - 10) / 12.0) : 0.0f;
        y[k] = k >= 10 + SHIFT ? (float)exp(-(k - 10 - SHIFT) / 12.0) : 0.0f;
    }
    fl_metrics_params mp = {.n = 1, .t = T, .dtw = {.band = -1, .cost = FL_DTW_SQ}};
    fl_metrics m;
    cr_assert_eq(fl_metrics_compute(&mp, fl_series_channel(x, T, 1, 0),
                                    fl_series_channel(y, T, 1, 0), &m), FL_OK);
    cr_assert(m.dtw.mean < 0.5 * m.l2.mean, "DTW %g, L2 %g", m.dtw.mean, m.l2.mean);
}

Test(metrics, identical_for_one_and_two_threads)
{
    size_t n = 1001, t = 135;
    float *x = random_decays(n, t), *y = random_decays(n, t);
    fl_metrics_params mp = {.n = n, .t = t, .dtw = {.band = 7, .cost = FL_DTW_SQ}};
    fl_series xs = fl_series_channel(x, t, 1, 0), ys = fl_series_channel(y, t, 1, 0);
    fl_metrics m1, m2;
    double d1[1001], d2[1001];
    fl_dtw_params dp = {.t = t, .band = -1, .cost = FL_DTW_ABS};
    fl_set_threads(1);
    cr_assert_eq(fl_metrics_compute(&mp, xs, ys, &m1), FL_OK);
    cr_assert_eq(fl_dtw_batch(&dp, n, xs, ys, d1), FL_OK);
    fl_set_threads(2);
    cr_assert_eq(fl_get_threads(), 2);
    cr_assert_eq(fl_metrics_compute(&mp, xs, ys, &m2), FL_OK);
    cr_assert_eq(fl_dtw_batch(&dp, n, xs, ys, d2), FL_OK);
    cr_assert(memcmp(&m1, &m2, sizeof m1) == 0);
    cr_assert(memcmp(d1, d2, sizeof d1) == 0);
    free(x);
    free(y);
}

Test(metrics, rejects_empty_and_names_kernel)
{
    fl_dtw_params p = {.t = 0, .band = -1};
    double d;
    cr_assert_eq(fl_dtw_ref(&p, NULL, NULL, &d), FL_E_INPUT);
    fl_metrics_params mp = {.n = 0, .t = 4};
    fl_metrics m;
    cr_assert_eq(fl_metrics_compute(&mp, fl_series_channel(PRED, 4, 1, 0),
                                    fl_series_channel(TRUTH, 4, 1, 0), &m), FL_E_INPUT);
    const char *k = fl_dtw_kernel_name();
    int known = !strcmp(k, "avx512f") || !strcmp(k, "avx2") || !strcmp(k, "generic");
    cr_assert(known);
    cr_assert_eq(fl_dtw_cost_parse("abs"), FL_DTW_ABS);
    cr_assert_eq(fl_dtw_cost_parse("l1"), -1);
}
