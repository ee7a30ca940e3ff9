/* fligru/fit.h - the classical lifetime baseline: iterative reconvolution fits
 * and rapid lifetime determination (RLD), what FLI users run today.
 *
 * Reconvolution fit (FL_FIT_BI): per TPSF y[t], with the pixel's IRF,
 *     m[t] = B + A1 c1[t] + A2 c2[t],   ck = IRF (*) exp(-t/tau_k),
 * the convolution discretised exactly as fligru synth does (docs/data.md), fitted
 * by GSL's trust-region Levenberg-Marquardt (gsl_multifit_nlinear) in
 * (ln tau1, ln tau2, A1, A2, B). Poisson-aware: Pearson weights 1/m[t] from the
 * previous pass's model (iteratively reweighted least squares), whose fixed point
 * solves the Poisson maximum-likelihood equations sum (y - m)/m dm/dtheta = 0.
 * Started from RLD; a bi-exponential that does not converge or has a negative
 * amplitude is refitted mono-exponentially (FL_FIT_FALLBACK). FL_FIT_MONO fits
 * (ln tau, A, B) only. FL_FIT_RLD: two equal contiguous windows after the IRF,
 * tau = W dt / ln(D0 / D1), background from the gates before the IRF.
 * FL_FIT_PHASOR: no iteration. Per pixel the phasor at harmonic h of the laser
 * frequency w = 2 pi / period (flimlib's GCI_Phasor, PhasorPy's
 * phasor_from_signal): g + i s = sum (y - B) e^(i h w t) / sum (y - B), divided
 * (as complex numbers) by the IRF's phasor, which removes the instrument: the
 * phasor of a convolution is the product of the phasors. tau_phi and tau_mod
 * invert the phase and the modulation for a sampled mono-exponential (the
 * continuous tau_phi = s / (w g), tau_mod = sqrt(1/(g^2+s^2) - 1) / w are
 * their dt -> 0 limit); both equal tau for a mono-exponential decay.
 *
 *     fl_fit_params fp = {.t = 135, .gate_ns = 0.09, .method = FL_FIT_BI,
 *                         .weighting = FL_FIT_POISSON, .background = 1};
 *     fl_fit_result *r = malloc(n * sizeof *r);
 *     fl_fit_run(&fp, n, tpsf, irf, 135, r);     // irf [n][135]; stride 0: one shared IRF
 *     printf("tau_m %.3f ns (%s)\n", r[0].tau_m, fl_fit_outcome_name(r[0].outcome));
 *
 * With irf == NULL the data are a deconvolved decay (a network's 1-channel
 * output): the IRF is a unit impulse. Use FL_FIT_UNWEIGHTED and background 0 there.
 * Results do not depend on the thread count (each pixel is fitted alone, from a
 * start computed from its own data only). Limits: no IRF shift is fitted (the
 * IRF given is taken as the pixel's true one), a constant background, T >= 8.
 * Choices and measured figures: docs/lifetime.md.
 */
#ifndef FLIGRU_FIT_H
#define FLIGRU_FIT_H

#include <stddef.h>
#include "fligru/lifetime.h"
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FL_FIT_BI = 0, FL_FIT_MONO, FL_FIT_RLD, FL_FIT_PHASOR } fl_fit_method;
typedef enum { FL_FIT_POISSON = 0, FL_FIT_UNWEIGHTED } fl_fit_weighting;

typedef struct {
    size_t           t;           /* gates per TPSF (>= 8)                               */
    double           gate_ns;     /* gate width dt                                      */
    fl_fit_method    method;
    fl_fit_weighting weighting;
    int              background;  /* 1: fit a constant background B; 0: B = 0            */
    int              max_iter;    /* per LM pass; 0: 200                                */
    int              passes;      /* IRLS passes (Poisson); 0: 3                        */
    int              harmonic;    /* phasor: harmonic of the laser frequency; 0: 1       */
    double           period_ns;   /* phasor: laser period; 0: the window, t * gate_ns    */
} fl_fit_params;

typedef enum {
    FL_FIT_OK = 0,        /* the method asked for converged                               */
    FL_FIT_FALLBACK = 1,  /* bi-exponential failed, the mono-exponential refit did not    */
    FL_FIT_FAILED = 2     /* no estimate: lifetimes are NaN                               */
} fl_fit_outcome;

typedef struct {
    double tau1, tau2;     /* ns, tau1 <= tau2; mono and RLD: tau1 = tau2 = tau           */
    double a;              /* A1 / (A1 + A2); mono and RLD: 1                             */
    double tau_m;          /* (A1 tau1 + A2 tau2) / (A1 + A2)                             */
    double amp1, amp2;     /* in the units of the data                                    */
    double background;     /* per gate, data units                                        */
    double chi2_red;       /* sum (y - m)^2 / m over gates with m > 0, / (T - params)     */
    int    iterations;     /* LM iterations, all passes                                   */
    fl_fit_outcome outcome;
    /* FL_FIT_PHASOR (NaN for the other methods): the IRF-calibrated phasor
     * and its two apparent lifetimes; tau1 = tau2 = tau_m = tau_phi, a = 1. */
    double g, s;           /* at the harmonic, background subtracted                      */
    double tau_phi;        /* ns: the sampled mono-exponential with the phasor's phase    */
    double tau_mod;        /* ns: ... with its modulation                                 */
} fl_fit_result;

/* Range checks of p (messages name the field). */
fl_status fl_fit_params_check(const fl_fit_params *p);

/* Fits n TPSFs y [n][t]. irf: [n][irf_stride] rows of t values (irf_stride = t),
 * one IRF for all (irf_stride = 0), or NULL (a unit impulse). IRF rows are
 * normalised to unit sum; a row with a negative value or no positive sum fails
 * its pixel. OpenMP over pixels, static schedule. */
fl_status fl_fit_run(const fl_fit_params *p, size_t n, const float *y, const float *irf,
                     size_t irf_stride, fl_fit_result *out);

/* Rapid lifetime determination of one TPSF (irf may be NULL: windows start at
 * the peak); NaN when D0 <= D1 or D1 <= 0. *bg (may be NULL) gets the background. */
double fl_fit_rld(const fl_fit_params *p, const float *y, const float *irf, double *bg);

/* Error summary of fitted (or any) estimates est [n][4] = tau1, tau2, a, tau_m
 * (NaN = failure) against truth [n][3] = tau1, tau2, a; as fl_lifetime_score. */
fl_status fl_fit_score(const double *est, const float *truth, size_t n, fl_lifetime_report *out);

/* Phasor lifetimes of one calibrated phasor (g, s) at w = 2 pi h / period:
 * *tau_phi, *tau_mod (NaN when the phasor is outside the semicircle's reach). */
void fl_fit_phasor_lifetimes(double g, double s, double omega_ns, double dt_ns,
                             double *tau_phi, double *tau_mod);

const char *fl_fit_method_name(fl_fit_method m);   /* "bi", "mono", "rld", "phasor" */
int         fl_fit_method_parse(const char *s);    /* -1 when unknown     */
const char *fl_fit_outcome_name(fl_fit_outcome o); /* "ok", "fallback", "failed" */

#ifdef __cplusplus
}
#endif
#endif
