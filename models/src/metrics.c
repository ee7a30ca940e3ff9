/* metrics.c - per-sample RMSE, R², L2 (and DTW via dtw.c), and their summary. */
#include "fligru/metrics.h"

#include <math.h>
#include <stdlib.h>

static inline double at(fl_series s, size_t i, size_t k) { return (double)s.data[i * s.sample + k * s.step]; }

/* Squared-error sum in step order: the same order as DTW's diagonal path, so
 * DTW (sq) <= L2 holds exactly in floating point, not just in exact math. */
static double sse_of(fl_series p, fl_series y, size_t i, size_t t)
{
    double s = 0.0;
    for (size_t k = 0; k < t; ++k) {
        double d = at(p, i, k) - at(y, i, k);
        s += d * d;
    }
    return s;
}

static double r2_of(fl_series y, size_t i, size_t t, double sse)
{
    double mean = 0.0, tot = 0.0;
    for (size_t k = 0; k < t; ++k) mean += at(y, i, k);
    mean /= (double)t;
    for (size_t k = 0; k < t; ++k) {
        double d = at(y, i, k) - mean;
        tot += d * d;
    }
    return tot > 0.0 ? 1.0 - sse / tot : NAN;
}

fl_stat fl_stat_of(const double *x, size_t n, size_t *used)
{
    double sum = 0.0, ss = 0.0;
    size_t m = 0;
    for (size_t i = 0; i < n; ++i)
        if (isfinite(x[i])) { sum += x[i]; ++m; }
    fl_stat s = {NAN, NAN};
    if (used) *used = m;
    if (!m) return s;
    s.mean = sum / (double)m;
    /* Two passes: the textbook one-pass formula cancels badly for small spreads. */
    for (size_t i = 0; i < n; ++i)
        if (isfinite(x[i])) ss += (x[i] - s.mean) * (x[i] - s.mean);
    s.std = sqrt(ss / (double)m);
    return s;
}

fl_status fl_metrics_samples_compute(const fl_metrics_params *p, fl_series pred,
                                     fl_series truth, const fl_metrics_samples *out)
{
    if (p->t == 0) return fl_fail(FL_E_INPUT, "metrics: series length is 0");
    size_t n = p->n, t = p->t;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; ++i) {
        double sse = sse_of(pred, truth, i, t);
        if (out->sse) out->sse[i] = sse;
        if (out->rmse) out->rmse[i] = sqrt(sse / (double)t);
        if (out->l2) out->l2[i] = sqrt(sse);
        if (out->r2) out->r2[i] = r2_of(truth, i, t, sse);
    }
    if (!out->dtw) return FL_OK;
    fl_dtw_params dp = p->dtw;
    dp.t = t;
    return fl_dtw_batch(&dp, n, pred, truth, out->dtw);
}

fl_status fl_metrics_compute(const fl_metrics_params *p, fl_series pred, fl_series truth,
                             fl_metrics *out)
{
    size_t n = p->n;
    if (n == 0) return fl_fail(FL_E_INPUT, "metrics: no samples");
    double *buf = malloc(5 * n * sizeof *buf);
    if (!buf) return fl_fail(FL_E_NOMEM, "metrics: cannot allocate %zu samples", n);
    fl_metrics_samples s = {buf, buf + n, buf + 2 * n, buf + 3 * n, buf + 4 * n};
    fl_status st = fl_metrics_samples_compute(p, pred, truth, &s);
    if (st) {
        free(buf);
        return st;
    }
    out->n = n;
    out->t = p->t;
    double sse = 0.0;
    for (size_t i = 0; i < n; ++i) sse += s.sse[i];
    out->rmse = sqrt(sse / ((double)n * (double)p->t));
    out->rmse_sample = fl_stat_of(s.rmse, n, NULL);
    size_t r2_used;
    out->r2 = fl_stat_of(s.r2, n, &r2_used);
    out->r2_excluded = n - r2_used;
    out->l2 = fl_stat_of(s.l2, n, NULL);
    out->dtw = fl_stat_of(s.dtw, n, NULL);
    free(buf);
    return FL_OK;
}
