/* synth_irf.c - the instrument response and the IRF-decay convolution.
 *
 * IRF: exponentially modified Gaussian (Gaussian onset convolved with an
 * exponential tail), integrated over each gate from its analytic CDF, so a
 * pulse narrower than a gate is still sampled correctly.
 * Convolution: the decay is a sum of exponentials, so convolving with it is a
 * first-order recursive filter per component: O(T) instead of O(T^2).
 */
#include "fligru/synth.h"

#include <math.h>
#include <stdlib.h>

#define SQRT1_2    0.70710678118654752   /* 1/sqrt(2)  */
#define INV_SQRTPI 0.56418958354775629   /* 1/sqrt(pi) */
#define FWHM_PER_SIGMA 2.3548200450309493 /* 2 sqrt(2 ln 2) */

/* exp(x^2) erfc(x) for x >= 0 without overflow: directly while exp(x^2)
 * stays finite (x < 25: erfc is accurate to a few ulp there), else the
 * asymptotic series, whose first omitted term (945/32 x^-10) is < 4e-13. */
static double erfcx_pos(double x)
{
    if (x < 25.0) return exp(x * x) * erfc(x);
    double y = 1.0 / (x * x);
    return INV_SQRTPI / x * (1.0 - y * (0.5 - y * (0.75 - y * (1.875 - y * 6.5625))));
}

/* CDF of Gaussian(mu, sigma) + Exponential(mean tau):
 *   F(x) = Phi(u) - exp(-u v + v^2/2) Phi(u - v),  u = (x-mu)/sigma, v = sigma/tau.
 * When u - v < 0 the product exp(..) Phi(..) is rewritten as
 * 0.5 exp(-u^2/2) erfcx((v-u)/sqrt 2), which neither overflows nor underflows
 * to 0*inf for a tail much shorter than the Gaussian. */
static double emg_cdf(double x, double mu, double sigma, double tau)
{
    double u = (x - mu) / sigma;
    double phi_u = 0.5 * erfc(-u * SQRT1_2);
    if (tau <= 0.0) return phi_u;
    double v = sigma / tau, w = u - v, tail;
    if (w >= 0.0)
        tail = exp(-u * v + 0.5 * v * v) * 0.5 * erfc(-w * SQRT1_2);
    else
        tail = 0.5 * exp(-0.5 * u * u) * erfcx_pos(-w * SQRT1_2);
    return phi_u - tail;
}

double fl_synth_irf_emg_mass(double onset_ns, double fwhm_ns, double tail_ns,
                             double dt_ns, int T, double *out)
{
    double sigma = fwhm_ns / FWHM_PER_SIGMA;
    double lo = emg_cdf(-0.5 * dt_ns, onset_ns, sigma, tail_ns), sum = 0.0;
    for (int i = 0; i < T; ++i) {
        double hi = emg_cdf((i + 0.5) * dt_ns, onset_ns, sigma, tail_ns);
        double m = hi - lo;
        out[i] = m > 0.0 ? m : 0.0;   /* the CDF is monotone; rounding is not */
        sum += out[i];
        lo = hi;
    }
    return sum;
}

fl_status fl_synth_irf_emg(double onset_ns, double fwhm_ns, double tail_ns,
                           double dt_ns, int T, double *out)
{
    if (!(fwhm_ns > 0.0) || !(dt_ns > 0.0) || !(tail_ns >= 0.0) || T < 1)
        return fl_fail(FL_E_INPUT, "synth: irf: need fwhm > 0, tail >= 0, gate width > 0, T >= 1");
    double sum = fl_synth_irf_emg_mass(onset_ns, fwhm_ns, tail_ns, dt_ns, T, out);
    if (!(sum > 1e-300) || !isfinite(sum))
        return fl_fail(FL_E_INPUT, "synth: irf: onset %g ns, fwhm %g ns puts no mass inside the "
                       "%d gates", onset_ns, fwhm_ns, T);
    for (int i = 0; i < T; ++i) out[i] /= sum;
    return FL_OK;
}

/* CDF of the piecewise-uniform density of irf (gate k covers [k-1/2, k+1/2)
 * in gate units) at x. */
static double pw_cdf(const double *cum, int T, double x)
{
    double u = x + 0.5;
    if (u <= 0.0) return 0.0;
    if (u >= T) return cum[T];
    int k = (int)u;
    return cum[k] + (u - k) * (cum[k + 1] - cum[k]);
}

fl_status fl_synth_irf_warp(const double *irf, int T, double dt_ns, double shift_ns,
                            double width, double *out)
{
    if (!(width > 0.0) || !(dt_ns > 0.0) || T < 1 || !isfinite(shift_ns))
        return fl_fail(FL_E_INPUT, "synth: irf warp: need width > 0, gate width > 0, T >= 1");
    /* irf and out must not overlap. */
    double stack[1025], *cum = T < 1024 ? stack : malloc(((size_t)T + 1) * sizeof *cum);
    if (!cum) return fl_fail(FL_E_NOMEM, "synth: irf warp: out of memory");
    double c = 0.0;
    cum[0] = 0.0;
    for (int k = 0; k < T; ++k) {
        cum[k + 1] = cum[k] + irf[k];
        c += k * irf[k];
    }
    c /= cum[T] > 0.0 ? cum[T] : 1.0;
    double s = shift_ns / dt_ns, sum = 0.0;
    /* Gate i of the output takes the input mass over the pre-image of its
     * edges: x -> (x - c - s) / width + c. */
    double lo = pw_cdf(cum, T, (-0.5 - c - s) / width + c);
    for (int i = 0; i < T; ++i) {
        double hi = pw_cdf(cum, T, (i + 0.5 - c - s) / width + c);
        out[i] = hi > lo ? hi - lo : 0.0;
        sum += out[i];
        lo = hi;
    }
    if (cum != stack) free(cum);
    if (!(sum > 1e-300))
        return fl_fail(FL_E_INPUT, "synth: irf: a shift of %g ns moves the whole IRF out of the %d gates",
                       shift_ns, T);
    for (int i = 0; i < T; ++i) out[i] /= sum;
    return FL_OK;
}

/* y_t = r y_{t-1} + irf_t equals sum_{k<=t} irf_k r^(t-k) exactly in real
 * arithmetic; rounding grows at most ~T ulp relative. */
void fl_synth_conv(const double *irf, int T, double dt_ns,
                   double tau1_ns, double tau2_ns, double a, double *out)
{
    double r1 = exp(-dt_ns / tau1_ns), r2 = exp(-dt_ns / tau2_ns);
    double y1 = 0.0, y2 = 0.0, b = 1.0 - a;
    for (int t = 0; t < T; ++t) {
        y1 = r1 * y1 + irf[t];
        y2 = r2 * y2 + irf[t];
        out[t] = a * y1 + b * y2;
    }
}

void fl_synth_conv_ref(const double *irf, int T, double dt_ns,
                       double tau1_ns, double tau2_ns, double a, double *out)
{
    for (int t = 0; t < T; ++t) {
        double s = 0.0;
        for (int k = 0; k <= t; ++k) {
            double age = (t - k) * dt_ns;
            s += irf[k] * (a * exp(-age / tau1_ns) + (1.0 - a) * exp(-age / tau2_ns));
        }
        out[t] = s;
    }
}
