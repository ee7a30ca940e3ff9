/* test_fit.c - reconvolution fits and RLD (fligru/fit.h): noiseless decays give
 * their lifetimes back, high-count Poisson data give the known parameters,
 * failures are flagged, and results do not depend on the thread count. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/fit.h"
#include "fligru/io.h"
#include "fligru/synth.h"

#define T  135
#define DT 0.09

/* An ideal TPSF (synth's own discretisation), peak-normalised, plus bg. */
static void ideal(double tau1, double tau2, double a, double onset, double bg, float *y, float *irf)
{
    double ir[T], v[T], mx = 0.0;
    cr_assert_eq(fl_synth_irf_emg(onset, 0.2, 0.1, DT, T, ir), FL_OK);
    fl_synth_conv(ir, T, DT, tau1, tau2, a, v);
    for (int k = 0; k < T; ++k) mx = v[k] > mx ? v[k] : mx;
    for (int k = 0; k < T; ++k) {
        y[k] = (float)(v[k] / mx + bg);
        irf[k] = (float)ir[k];
    }
}

static const double CASES[][3] = {
    {0.3, 1.2, 0.5}, {0.5, 1.0, 0.3}, {0.2, 1.5, 0.8}, {0.4, 1.4, 0.6}, {0.25, 0.9, 0.4}, {0.6, 1.5, 0.2}};
#define N_CASES (sizeof CASES / sizeof CASES[0])

static void near(double got, double want, double rel, const char *what, size_t c)
{
    cr_assert(fabs(got - want) <= rel * fabs(want), "case %zu %s: got %.6f, want %.6f", c, what, got, want);
}

Test(fit, noiseless_bi_exponential_recovers_lifetimes_within_1_percent)
{
    float y[T], irf[T];
    fl_fit_params p = {.t = T, .gate_ns = DT, .method = FL_FIT_BI, .weighting = FL_FIT_POISSON, .background = 1};
    for (size_t c = 0; c < N_CASES; ++c) {
        ideal(CASES[c][0], CASES[c][1], CASES[c][2], 1.0, 0.004, y, irf);
        fl_fit_result r;
        cr_assert_eq(fl_fit_run(&p, 1, y, irf, 0, &r), FL_OK, "%s", fl_error());
        cr_assert_eq(r.outcome, FL_FIT_OK, "case %zu: %s", c, fl_fit_outcome_name(r.outcome));
        near(r.tau1, CASES[c][0], 0.01, "tau1", c);
        near(r.tau2, CASES[c][1], 0.01, "tau2", c);
        near(r.a, CASES[c][2], 0.01, "a", c);
        near(r.tau_m, fl_lifetime_tau_m(CASES[c][0], CASES[c][1], CASES[c][2]), 0.01, "tau_m", c);
        cr_assert(fabs(r.background - 0.004) < 1e-4, "case %zu: background %g", c, r.background);
    }
}

Test(fit, noiseless_mono_exponential_by_fit_and_rld)
{
    const double taus[] = {0.2, 0.5, 1.0, 1.5, 3.0};
    float y[T], irf[T];
    for (size_t c = 0; c < 5; ++c) {
        ideal(taus[c], taus[c], 1.0, 1.5, 0.0, y, irf);
        for (int m = FL_FIT_MONO; m <= FL_FIT_RLD; ++m) {
            fl_fit_params p = {.t = T, .gate_ns = DT, .method = (fl_fit_method)m,
                               .weighting = FL_FIT_POISSON, .background = 1};
            fl_fit_result r;
            cr_assert_eq(fl_fit_run(&p, 1, y, irf, 0, &r), FL_OK);
            cr_assert_eq(r.outcome, FL_FIT_OK, "%s tau %g", fl_fit_method_name(m), taus[c]);
            near(r.tau_m, taus[c], m == FL_FIT_MONO ? 1e-4 : 0.01, fl_fit_method_name(m), c);
            cr_assert(eq(dbl, r.tau1, r.tau2));
            cr_assert(eq(dbl, r.a, 1.0));
        }
    }
}

Test(fit, deconvolved_decay_without_irf)
{
    /* A network's 1-channel output: the decay itself, from t = 0. */
    float y[T];
    fl_fit_params p = {.t = T, .gate_ns = DT, .method = FL_FIT_BI, .weighting = FL_FIT_UNWEIGHTED, .background = 0};
    for (size_t c = 0; c < N_CASES; ++c) {
        double t1 = CASES[c][0], t2 = CASES[c][1], a = CASES[c][2];
        for (int k = 0; k < T; ++k) y[k] = (float)(a * exp(-k * DT / t1) + (1 - a) * exp(-k * DT / t2));
        fl_fit_result r;
        cr_assert_eq(fl_fit_run(&p, 1, y, NULL, 0, &r), FL_OK);
        cr_assert_eq(r.outcome, FL_FIT_OK, "case %zu", c);
        near(r.tau1, t1, 0.01, "tau1", c);
        near(r.tau2, t2, 0.01, "tau2", c);
        near(r.a, a, 0.01, "a", c);
    }
}

/* n pixels of well-separated lifetimes at a fixed photon budget. */
static void poisson_set(double photons, size_t n, float *x, float *par, float *irf)
{
    fl_synth_params sp;
    fl_synth_params_default(&sp);
    sp.seed = 8;
    sp.samples = n;
    sp.tau1_ns[0] = 0.3, sp.tau1_ns[1] = 0.4;
    sp.tau2_ns[0] = 1.2, sp.tau2_ns[1] = 1.4;
    sp.fraction[0] = 0.4, sp.fraction[1] = 0.6;
    sp.photons[0] = sp.photons[1] = photons;
    fl_synth *s;
    cr_assert_eq(fl_synth_create(&sp, &s), FL_OK, "%s", fl_error());
    cr_assert_eq(fl_synth_generate(s, 0, n, x, NULL, par, irf), FL_OK);
    fl_synth_free(s);
}

Test(fit, high_count_poisson_data_give_the_known_parameters)
{
    enum { N = 64 };
    static float x[N * T], par[N * 3], irf[N * T];
    poisson_set(1e6, N, x, par, irf);
    fl_fit_params p = {.t = T, .gate_ns = DT, .method = FL_FIT_BI, .weighting = FL_FIT_POISSON, .background = 1};
    fl_fit_result r[N];
    cr_assert_eq(fl_fit_run(&p, N, x, irf, T, r), FL_OK);
    double worst[4] = {0}, bias = 0.0;
    for (size_t i = 0; i < N; ++i) {
        cr_assert_eq(r[i].outcome, FL_FIT_OK, "pixel %zu", i);
        const float *q = par + 3 * i;
        double want[4] = {q[0], q[1], q[2], fl_lifetime_tau_m(q[0], q[1], q[2])};
        double got[4] = {r[i].tau1, r[i].tau2, r[i].a, r[i].tau_m};
        for (int k = 0; k < 4; ++k) worst[k] = fmax(worst[k], fabs(got[k] - want[k]) / want[k]);
        bias += (got[3] - want[3]) / want[3] / N;
    }
    /* 10^6 photons: about 0.1% noise per gate near the peak, which the
     * correlated bi-exponential parameters amplify to a few % for tau1 and a. */
    cr_assert(worst[0] < 0.05 && worst[1] < 0.02 && worst[2] < 0.05 && worst[3] < 0.01,
              "worst relative errors tau1 %.4f tau2 %.4f a %.4f tau_m %.4f", worst[0], worst[1], worst[2], worst[3]);
    cr_assert(fabs(bias) < 0.002, "mean relative tau_m error %.5f", bias);
}

Test(fit, results_do_not_depend_on_the_thread_count)
{
    enum { N = 48 };
    static float x[N * T], par[N * 3], irf[N * T];
    poisson_set(300, N, x, par, irf);
    fl_fit_params p = {.t = T, .gate_ns = DT, .method = FL_FIT_BI, .weighting = FL_FIT_POISSON, .background = 1};
    fl_fit_result r1[N], r2[N];
    fl_set_threads(1);
    cr_assert_eq(fl_fit_run(&p, N, x, irf, T, r1), FL_OK);
    fl_set_threads(2);
    cr_assert_eq(fl_fit_run(&p, N, x, irf, T, r2), FL_OK);
    for (size_t i = 0; i < N; ++i) {
        cr_assert(memcmp(&r1[i].tau1, &r2[i].tau1, 8 * sizeof(double)) == 0, "pixel %zu differs", i);
        cr_assert_eq(r1[i].outcome, r2[i].outcome);
        cr_assert_eq(r1[i].iterations, r2[i].iterations);
    }
}

Test(fit, failures_are_flagged_not_invented)
{
    float y[T], irf[T], zero[T] = {0};
    ideal(0.5, 1.0, 0.5, 1.0, 0.0, y, irf);
    fl_fit_params p = {.t = T, .gate_ns = DT, .method = FL_FIT_BI, .weighting = FL_FIT_POISSON, .background = 1};
    fl_fit_result r;
    /* No signal at all. */
    cr_assert_eq(fl_fit_run(&p, 1, zero, irf, 0, &r), FL_OK);
    cr_assert_eq(r.outcome, FL_FIT_FAILED);
    cr_assert(isnan(r.tau1) && isnan(r.tau_m) && isnan(r.a));
    /* An IRF that is all zeros, or negative somewhere. */
    cr_assert_eq(fl_fit_run(&p, 1, y, zero, 0, &r), FL_OK);
    cr_assert_eq(r.outcome, FL_FIT_FAILED);
    irf[3] = -0.1f;
    cr_assert_eq(fl_fit_run(&p, 1, y, irf, 0, &r), FL_OK);
    cr_assert_eq(r.outcome, FL_FIT_FAILED);
    /* RLD of a rising signal has no lifetime. */
    float rising[T];
    for (int k = 0; k < T; ++k) rising[k] = (float)k;
    cr_assert(isnan(fl_fit_rld(&p, rising, NULL, NULL)));
    /* Parameter checks. */
    p.t = 4;
    cr_assert_eq(fl_fit_run(&p, 1, y, NULL, 0, &r), FL_E_INPUT);
    cr_assert(strstr(fl_error(), "gates") != NULL, "%s", fl_error());
}

Test(fit, score_matches_hand_values)
{
    /* Two pixels: errors of tau_m are +0.1 and -0.3; the second has no tau1. */
    const float truth[6] = {0.5f, 1.0f, 0.5f, 0.4f, 1.2f, 0.25f};
    double tm0 = 0.75, tm1 = 0.25 * 0.4 + 0.75 * 1.2;
    const double est[8] = {0.6, 1.0, 0.5, tm0 + 0.1, NAN, 1.2, 0.25, tm1 - 0.3};
    fl_lifetime_report rep;
    cr_assert_eq(fl_fit_score(est, truth, 2, &rep), FL_OK);
    cr_assert_eq(rep.n, 2);
    cr_assert(epsilon_eq(dbl, rep.tau_m.bias, -0.1, 1e-6));
    cr_assert(epsilon_eq(dbl, rep.tau_m.std, 0.2, 1e-6));
    cr_assert(epsilon_eq(dbl, rep.tau_m.mae, 0.2, 1e-6));
    cr_assert_eq(rep.tau1.failures, 1);
    cr_assert_eq(rep.tau1.n, 1);
    cr_assert(epsilon_eq(dbl, rep.tau1.bias, 0.1, 1e-6));
    cr_assert(epsilon_eq(dbl, rep.tau_m.mre, (0.1 / tm0 + 0.3 / tm1) / 2, 1e-6));
}

Test(fit, method_names_round_trip)
{
    for (int m = FL_FIT_BI; m <= FL_FIT_RLD; ++m)
        cr_assert_eq(fl_fit_method_parse(fl_fit_method_name((fl_fit_method)m)), m);
    cr_assert_eq(fl_fit_method_parse("lm"), -1);
}
