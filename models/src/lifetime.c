/* lifetime.c - lifetimes from sampled decay components (formulas in lifetime.h). */
#include "fligru/lifetime.h"
#include "fligru/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *fl_tau_method_name(fl_tau_method m)
{
    switch (m) {
    case FL_TAU_EXACT:     return "exact";
    case FL_TAU_GEOMETRIC: return "geometric";
    case FL_TAU_PLAIN:     return "plain";
    }
    return "?";
}

int fl_tau_method_parse(const char *s)
{
    for (int m = FL_TAU_EXACT; m <= FL_TAU_PLAIN; ++m)
        if (!strcmp(s, fl_tau_method_name((fl_tau_method)m))) return m;
    return -1;
}

/* For r in [0, 1), h(r) = (1 - r^T) - q (1 - r) is concave, negative at 0 and
 * zero at 1; its other root r* is where sum_{k<T} r^k = q. Newton from r = 0
 * climbs monotonically to r* (the tangent of a concave function never crosses
 * it), and its first step is 1 - 1/q, the infinite-window solution. Stop when
 * rounding stops the climb. */
static double solve_window(double q, size_t t)
{
    double r = 0.0, T = (double)t;
    for (int it = 0; it < 200; ++it) {
        double h = -expm1(T * log(r)) - q * (1.0 - r);
        double dh = q - T * pow(r, T - 1.0);
        if (!(dh > 0.0)) break;
        double next = r - h / dh;
        if (!(next > r)) break;
        r = next;
    }
    return r < 1.0 ? r : NAN;
}

double fl_lifetime_tau(const fl_lifetime_params *p, const float *x, size_t t, size_t step)
{
    double x0 = x[0], sum = 0.0;
    if (!(x0 > 0.0) || t < 2) return NAN;
    for (size_t k = 0; k < t; ++k) sum += (double)x[k * step];
    double q = sum / x0, dt = p->gate_ns;   /* q = S / (x0 dt) */
    if (!isfinite(q)) return NAN;
    switch (p->method) {
    case FL_TAU_PLAIN:
        return q > 0.0 ? q * dt : NAN;
    case FL_TAU_GEOMETRIC:
        return q > 1.0 ? -dt / log1p(-1.0 / q) : q == 1.0 ? 0.0 : NAN;
    case FL_TAU_EXACT:
        if (q == 1.0) return 0.0;                 /* a lone spike */
        if (!(q > 1.0 && q < (double)t)) return NAN;  /* negative tail, or no decay */
        return -dt / log(solve_window(q, t));
    }
    return NAN;
}

void fl_lifetime_from_components(const fl_lifetime_params *p, const float *decay, size_t t,
                                 size_t channels, fl_lifetimes *out)
{
    double a1 = decay[1], a2 = decay[2], sum = a1 + a2;
    out->tau1 = fl_lifetime_tau(p, decay + 1, t, channels);
    out->tau2 = fl_lifetime_tau(p, decay + 2, t, channels);
    out->a = sum > 0.0 ? a1 / sum : NAN;
    if (!(sum > 0.0) || a1 < 0.0 || a2 < 0.0) {
        out->tau_m = NAN;
        return;
    }
    /* A zero-amplitude component is absent, and its NaN lifetime irrelevant. */
    double w1 = a1 > 0.0 ? a1 * out->tau1 : 0.0, w2 = a2 > 0.0 ? a2 * out->tau2 : 0.0;
    out->tau_m = (w1 + w2) / sum;
}

/* Error summary of one quantity from per-sample estimate and truth; scratch
 * holds 2n doubles. */
static void summarise(const double *est, const double *truth, size_t n, double *scratch,
                      fl_lifetime_err *e)
{
    double *err = scratch, *aux = scratch + n;
    for (size_t i = 0; i < n; ++i) err[i] = est[i] - truth[i];   /* NaN where failed */
    fl_stat s = fl_stat_of(err, n, &e->n);
    e->failures = n - e->n;
    e->bias = s.mean;
    e->std = s.std;
    for (size_t i = 0; i < n; ++i) aux[i] = fabs(err[i]);
    e->mae = fl_stat_of(aux, n, NULL).mean;
    for (size_t i = 0; i < n; ++i) aux[i] = truth[i] != 0.0 ? fabs(err[i]) / fabs(truth[i]) : NAN;
    e->mre = fl_stat_of(aux, n, &e->mre_n).mean;
}

fl_status fl_lifetime_score(const fl_lifetime_params *p, const float *pred, size_t n, size_t t,
                            size_t channels, const float *truth, fl_lifetime_report *out)
{
    if (channels < 3) return fl_fail(FL_E_INPUT, "lifetimes need 3 channels, prediction has %zu", channels);
    if (!(p->gate_ns > 0.0)) return fl_fail(FL_E_INPUT, "gate width %g ns must be > 0", p->gate_ns);
    if (n == 0) return fl_fail(FL_E_INPUT, "lifetimes: no samples");
    /* est[q][i], tru[q][i] for the 4 quantities, then 2n of scratch. */
    double *buf = malloc(10 * n * sizeof *buf);
    if (!buf) return fl_fail(FL_E_NOMEM, "lifetimes: cannot allocate %zu samples", n);
    double *est = buf, *tru = buf + 4 * n;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; ++i) {
        fl_lifetimes e;
        fl_lifetime_from_components(p, pred + i * t * channels, t, channels, &e);
        const float *y = truth + 3 * i;
        double vals[4] = {e.tau1, e.tau2, e.a, e.tau_m};
        double want[4] = {y[0], y[1], y[2], fl_lifetime_tau_m(y[0], y[1], y[2])};
        for (int q = 0; q < 4; ++q) {
            est[q * n + i] = vals[q];
            tru[q * n + i] = want[q];
        }
    }
    fl_lifetime_err *dst[4] = {&out->tau1, &out->tau2, &out->a, &out->tau_m};
    for (int q = 0; q < 4; ++q) summarise(est + q * n, tru + q * n, n, buf + 8 * n, dst[q]);
    out->n = n;
    free(buf);
    return FL_OK;
}
