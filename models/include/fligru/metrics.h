/* fligru/metrics.h - RMSE, R², L2 and DTW between predicted and true decays.
 *
 * The figures the paper's authors report, computed the way they compute them:
 * RMSE pooled over every sample and step; R² per sample over its own sequence,
 * then averaged; L2 (Euclidean distance) per sample, averaged; DTW distance per
 * sample, averaged. DTW is exact dynamic programming, not an approximation.
 *
 *     fl_series p = fl_series_channel(pred, t, 3, 0);    // [n][t][3], channel 0
 *     fl_series y = fl_series_channel(truth, t, 1, 0);   // [n][t]
 *     fl_metrics_params mp = {.n = n, .t = t, .dtw = {.band = -1, .cost = FL_DTW_SQ}};
 *     fl_metrics m;
 *     if (fl_metrics_compute(&mp, p, y, &m) != FL_OK) die(fl_error());
 *     printf("RMSE %g  R2 %g  DTW %g\n", m.rmse, m.r2.mean, m.dtw.mean);
 *
 * Every sum is accumulated in double. The per-sample loops run on OpenMP
 * threads (static schedule) into per-sample arrays that are reduced serially in
 * sample order, so every figure is bit-identical for any thread count.
 * Standard deviations are population deviations (numpy's default ddof = 0).
 *
 * DTW: fl_dtw_ref is the obvious full-matrix O(T²) recurrence; fl_dtw_batch
 * runs FL_DTW_LANES pairs at once in SIMD lanes (AVX-512 / AVX2 / generic,
 * chosen at run time) and gives bit-identical results, because each lane does
 * the reference's operations in the reference's order (no FMA contraction).
 * Limits: both series of a pair have the same length; the reference holds a
 * (T+1)² matrix of doubles, so it is for tests and small T.
 */
#ifndef FLIGRU_METRICS_H
#define FLIGRU_METRICS_H

#include <stddef.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A batch of float series read in place: step s of sample i is
 * data[i * sample + s * step]. */
typedef struct {
    const float *data;
    size_t step;     /* floats between consecutive steps (the channel count)  */
    size_t sample;   /* floats between consecutive samples                    */
} fl_series;

/* Channel k of a C-order [n][t][channels] array. */
static inline fl_series fl_series_channel(const float *base, size_t t, size_t channels, size_t k)
{
    fl_series s = {base + k, channels, t * channels};
    return s;
}

/* ---- DTW ------------------------------------------------------------------ */

/* Local cost and final transform. SQ: c = (x-y)², result sqrt(accumulated)
 * (tslearn / dtaidistance; DTW <= L2 always). ABS: c = |x-y|, result the plain
 * accumulated sum (fastdtw). */
typedef enum { FL_DTW_SQ = 0, FL_DTW_ABS = 1 } fl_dtw_cost;

typedef struct {
    size_t      t;      /* length of both series of a pair                        */
    long        band;   /* Sakoe-Chiba half-width W: only |i-j| <= W; < 0: none    */
    fl_dtw_cost cost;
} fl_dtw_params;

/* Pairs per SIMD block of fl_dtw_batch. */
#define FL_DTW_LANES 16

/* Reference: full (t+1)² matrix, scalar. x and y are contiguous, length p->t. */
fl_status fl_dtw_ref(const fl_dtw_params *p, const float *x, const float *y, double *out);

/* out[i] = DTW(x sample i, y sample i) for i < n; OpenMP over blocks of pairs.
 * Bit-identical to fl_dtw_ref, for any thread count. */
fl_status fl_dtw_batch(const fl_dtw_params *p, size_t n, fl_series x, fl_series y, double *out);

/* The kernel fl_dtw_batch uses: "avx512f", "avx2" or "generic" (the best
 * this CPU supports, unless fl_dtw_use_kernel chose another). */
const char *fl_dtw_kernel_name(void);

/* Forces a kernel (NULL: back to automatic), so tests and benchmarks can check
 * every one; fails when this CPU lacks it. Process-wide, not thread-safe. */
fl_status fl_dtw_use_kernel(const char *name);

/* "sq" / "abs", and back (-1 when unknown). */
const char *fl_dtw_cost_name(fl_dtw_cost c);
int         fl_dtw_cost_parse(const char *s);

/* ---- per-sample metrics and their summary ---------------------------------- */

typedef struct {
    size_t        n;    /* samples                                    */
    size_t        t;    /* steps per sample                           */
    fl_dtw_params dtw;  /* .t is ignored (taken from t above)         */
} fl_metrics_params;

/* Per-sample figures, each an array of n doubles; NULL skips that metric
 * (a NULL dtw skips the DTW computation entirely). sse is the sum of squared
 * errors over the sample's steps. r2 is NaN where the sample's truth is
 * constant (SS_tot = 0: R² undefined). */
typedef struct {
    double *sse, *rmse, *r2, *l2, *dtw;
} fl_metrics_samples;

typedef struct { double mean, std; } fl_stat;

typedef struct {
    size_t  n, t;
    double  rmse;          /* sqrt(sum of squared errors / (n t)), pooled            */
    fl_stat rmse_sample;   /* mean and std of the per-sample RMSE                    */
    fl_stat r2;            /* over samples with a defined R² (see r2_excluded)      */
    fl_stat l2;
    fl_stat dtw;
    size_t  r2_excluded;   /* samples with constant truth, left out of r2 (counted) */
} fl_metrics;

fl_status fl_metrics_samples_compute(const fl_metrics_params *p, fl_series pred,
                                     fl_series truth, const fl_metrics_samples *out);

fl_status fl_metrics_compute(const fl_metrics_params *p, fl_series pred, fl_series truth,
                             fl_metrics *out);

/* Mean and population std of the finite entries of x (in index order);
 * *used (may be NULL) gets their count. NaN mean/std when none. */
fl_stat fl_stat_of(const double *x, size_t n, size_t *used);

#ifdef __cplusplus
}
#endif
#endif
