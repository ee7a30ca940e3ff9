/* fligru/lifetime.h - fluorescence lifetimes from decay components, and their errors.
 *
 * The 3-channel networks predict, per pixel, the full decay (channel 0), the
 * short component (channel 1) and the long component (channel 2). The authors
 * read lifetimes off them as
 *     tau_k = (integral of ch_k dt) / ch_k(0),    a = ch1(0) / (ch1(0) + ch2(0)).
 * With the integral taken as a sum over gates of width dt, that formula
 * ("plain") overestimates the lifetime of a sampled exponential by about dt/2
 * (+46 ps for tau = 0.5 ns at 90-ps gates): sum_k r^k = 1/(1-r), r = e^(-dt/tau),
 * so dt * sum / x0 = dt / (1 - e^(-dt/tau)) = tau + dt/2 + dt²/(12 tau) + ...
 * Inverting that geometric series instead is exact for a sampled exponential:
 *     geometric:  tau = -dt / ln(1 - x0 dt / S),   S = dt * sum_k x[k]
 * (which tends to S/x0 as dt -> 0), and "exact" (the default) also accounts for
 * the finite window of T gates, solving sum_{k<T} r^k = S / (x0 dt) for r
 * (Newton; the geometric form is its first step), tau = -dt / ln r.
 *
 *     fl_lifetime_params lp = {.gate_ns = 0.09, .method = FL_TAU_EXACT};
 *     fl_lifetimes e;
 *     fl_lifetime_from_components(&lp, decay, t, 3, &e);   // decay: [t][3]
 *     printf("tau1 %.3f ns  tau2 %.3f ns  a %.3f\n", e.tau1, e.tau2, e.a);
 *
 * An estimate that does not exist is NaN: amplitude x0 <= 0, a tail sum that
 * is negative or does not decay within the window, fewer than 2 gates. Callers
 * count those as failures; fl_lifetime_score does.
 */
#ifndef FLIGRU_LIFETIME_H
#define FLIGRU_LIFETIME_H

#include <stddef.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FL_TAU_EXACT = 0,   /* sampled exponential over a window of T gates: unbiased     */
    FL_TAU_GEOMETRIC,   /* sampled exponential, infinite window                        */
    FL_TAU_PLAIN        /* the authors' (sum * dt) / x0: biased by about +dt/2         */
} fl_tau_method;

typedef struct {
    double        gate_ns;   /* gate width dt in ns (0.09 in the authors' set-up) */
    fl_tau_method method;
} fl_lifetime_params;

/* Lifetime in ns of one component: x[k * step] for k < t. NaN when none exists. */
double fl_lifetime_tau(const fl_lifetime_params *p, const float *x, size_t t, size_t step);

/* One pixel's lifetimes; NaN marks a failure. */
typedef struct {
    double tau1, tau2;  /* short and long lifetime, ns                           */
    double a;           /* short amplitude fraction A1 / (A1 + A2), Ak = ch_k(0)  */
    double tau_m;       /* amplitude-weighted mean (A1 tau1 + A2 tau2)/(A1 + A2) */
} fl_lifetimes;

/* From a [t][channels] decay (channels >= 3: 1 = short, 2 = long component).
 * a fails only when A1 + A2 <= 0. tau_m fails also when an amplitude is
 * negative or a component with Ak > 0 has no lifetime; a component with Ak = 0
 * is absent and contributes nothing (a mono-exponential prediction). */
void fl_lifetime_from_components(const fl_lifetime_params *p, const float *decay, size_t t,
                                 size_t channels, fl_lifetimes *out);

/* True amplitude-weighted mean lifetime from (tau1, tau2, a). */
static inline double fl_lifetime_tau_m(double tau1, double tau2, double a)
{
    return a * tau1 + (1.0 - a) * tau2;
}

/* Errors (estimate - truth) of one quantity over the samples. */
typedef struct {
    size_t n;          /* samples with an estimate                                */
    size_t failures;   /* samples without one: counted, never silently dropped    */
    double bias;       /* mean error                                              */
    double mae;        /* mean absolute error                                     */
    double std;        /* population std of the error                             */
    double mre;        /* mean |error| / |truth|, over the samples with truth != 0 */
    size_t mre_n;      /* how many those were                                     */
} fl_lifetime_err;

typedef struct {
    size_t          n;           /* samples scored                              */
    fl_lifetime_err tau1, tau2, a, tau_m;
} fl_lifetime_report;

/* pred: [n][t][channels] decays (channels >= 3); truth: [n][3] = tau1, tau2, a.
 * OpenMP over samples; reduced in sample order (thread-count invariant). */
fl_status fl_lifetime_score(const fl_lifetime_params *p, const float *pred, size_t n, size_t t,
                            size_t channels, const float *truth, fl_lifetime_report *out);

/* "exact" / "geometric" / "plain", and back (-1 when unknown). */
const char *fl_tau_method_name(fl_tau_method m);
int         fl_tau_method_parse(const char *s);

#ifdef __cplusplus
}
#endif
#endif
