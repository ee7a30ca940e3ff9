/* test_lifetime.c - lifetime estimators on sampled exponentials, failure
 * accounting, and the error summary of fl_lifetime_score. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/io.h"
#include "fligru/lifetime.h"

/* x[k] = amp * exp(-k dt / tau), k < t, as float32 (as a network would emit). */
static void sample_exp(float *x, size_t t, size_t step, double amp, double tau, double dt)
{
    for (size_t k = 0; k < t; ++k) x[k * step] = (float)(amp * exp(-(double)k * dt / tau));
}

static const double TAUS[] = {0.1, 0.2, 0.35, 0.5, 0.8, 1.0, 1.5, 2.5, 4.0};
#define N_TAUS (sizeof TAUS / sizeof TAUS[0])

Test(lifetime, exact_recovers_tau_on_every_published_grid)
{
    /* The authors' 135 x 90 ps, and 201 x 40 ps, 256 x 48.9 ps. */
    const struct { size_t t; double dt; } grids[] = {{135, 0.09}, {201, 0.04}, {256, 0.0489}};
    float x[256];
    for (size_t g = 0; g < 3; ++g)
        for (size_t i = 0; i < N_TAUS; ++i) {
            fl_lifetime_params p = {.gate_ns = grids[g].dt, .method = FL_TAU_EXACT};
            sample_exp(x, grids[g].t, 1, 0.7, TAUS[i], grids[g].dt);
            double est = fl_lifetime_tau(&p, x, grids[g].t, 1);
            cr_assert(fabs(est - TAUS[i]) <= 1e-6 * TAUS[i], "grid %zu tau %g: got %.9g", g,
                      TAUS[i], est);
        }
}

Test(lifetime, geometric_is_exact_for_a_long_window_only)
{
    /* 2000 gates of 90 ps = 180 ns: the window's end is irrelevant ... */
    static float x[2000];
    fl_lifetime_params p = {.gate_ns = 0.09, .method = FL_TAU_GEOMETRIC};
    for (size_t i = 0; i < N_TAUS; ++i) {
        sample_exp(x, 2000, 1, 1.0, TAUS[i], 0.09);
        double est = fl_lifetime_tau(&p, x, 2000, 1);
        cr_assert(fabs(est - TAUS[i]) <= 1e-6 * TAUS[i], "tau %g: got %.9g", TAUS[i], est);
    }
    /* ... but at 135 gates a 4-ns decay is cut at e^-3: the infinite-window
     * form underestimates, the exact one does not. */
    sample_exp(x, 135, 1, 1.0, 4.0, 0.09);
    double geo = fl_lifetime_tau(&p, x, 135, 1);
    p.method = FL_TAU_EXACT;
    double ex = fl_lifetime_tau(&p, x, 135, 1);
    cr_assert(geo < 3.9, "geometric %g", geo);
    cr_assert(fabs(ex - 4.0) < 4e-6, "exact %g", ex);
}

Test(lifetime, plain_formula_bias_is_half_a_gate)
{
    /* sum_k r^k dt = dt / (1 - r): tau_plain = tau + dt/2 + dt²/(12 tau) + O(dt³/tau²),
     * i.e. +46.4 ps at tau = 0.5 ns with 90-ps gates. Checked against the
     * closed form (1 - r^T) dt / (1 - r), and against dt/2 within 4 ps. */
    float x[135];
    const double dt = 0.09;
    fl_lifetime_params p = {.gate_ns = dt, .method = FL_TAU_PLAIN};
    for (size_t i = 1; i < N_TAUS - 2; ++i) {
        double tau = TAUS[i], r = exp(-dt / tau);
        sample_exp(x, 135, 1, 1.0, tau, dt);
        double est = fl_lifetime_tau(&p, x, 135, 1);
        double closed = dt * (1 - pow(r, 135)) / (1 - r);
        cr_assert(fabs(est - closed) <= 1e-6 * tau, "tau %g: %.9g vs %.9g", tau, est, closed);
        cr_assert(fabs((est - tau) - dt / 2) < 0.004, "tau %g: bias %.4f ns", tau, est - tau);
    }
    sample_exp(x, 135, 1, 1.0, 0.5, dt);
    cr_assert(fabs(fl_lifetime_tau(&p, x, 135, 1) - 0.5 - 0.0464) < 0.0002);
}

Test(lifetime, estimates_that_do_not_exist_are_nan)
{
    fl_lifetime_params p = {.gate_ns = 0.09, .method = FL_TAU_EXACT};
    float zero[8] = {0}, neg[8] = {-1, -0.5f, -0.25f, 0, 0, 0, 0, 0};
    float rising[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
    float flat[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    float dip[8] = {1, -2, 0, 0, 0, 0, 0, 0};     /* negative tail sum */
    float spike[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    for (int m = FL_TAU_EXACT; m <= FL_TAU_PLAIN; ++m) {
        p.method = (fl_tau_method)m;
        cr_assert(isnan(fl_lifetime_tau(&p, zero, 8, 1)));
        cr_assert(isnan(fl_lifetime_tau(&p, neg, 8, 1)));
        cr_assert(isnan(fl_lifetime_tau(&p, dip, 8, 1)));
        cr_assert(isnan(fl_lifetime_tau(&p, spike, 1, 1)));   /* one gate: nothing to see */
    }
    p.method = FL_TAU_EXACT;
    cr_assert(isnan(fl_lifetime_tau(&p, rising, 8, 1)));
    cr_assert(isnan(fl_lifetime_tau(&p, flat, 8, 1)));
    cr_assert(eq(dbl, fl_lifetime_tau(&p, spike, 8, 1), 0.0));
}

Test(lifetime, components_give_tau_a_and_mean)
{
    /* [t][3]: full, short (a = 0.3, 0.4 ns), long (0.7, 1.2 ns). */
    enum { T = 135 };
    float d[T * 3];
    sample_exp(d + 1, T, 3, 0.3, 0.4, 0.09);
    sample_exp(d + 2, T, 3, 0.7, 1.2, 0.09);
    for (int k = 0; k < T; ++k) d[3 * k] = d[3 * k + 1] + d[3 * k + 2];
    fl_lifetime_params p = {.gate_ns = 0.09, .method = FL_TAU_EXACT};
    fl_lifetimes e;
    fl_lifetime_from_components(&p, d, T, 3, &e);
    cr_assert(fabs(e.tau1 - 0.4) < 1e-6);
    cr_assert(fabs(e.tau2 - 1.2) < 2e-6);
    cr_assert(fabs(e.a - 0.3) < 1e-7);
    cr_assert(fabs(e.tau_m - fl_lifetime_tau_m(0.4, 1.2, 0.3)) < 2e-6);
    cr_assert(fabs(fl_lifetime_tau_m(0.4, 1.2, 0.3) - 0.96) < 1e-12);

    /* A mono-exponential prediction: long channel all zero. */
    for (int k = 0; k < T; ++k) d[3 * k + 2] = 0;
    fl_lifetime_from_components(&p, d, T, 3, &e);
    cr_assert(isnan(e.tau2));
    cr_assert(eq(dbl, e.a, 1.0));
    cr_assert(eq(dbl, e.tau_m, e.tau1));

    /* A negative amplitude: a is still a number, tau_m is not. */
    d[2] = -0.01f;
    fl_lifetime_from_components(&p, d, T, 3, &e);
    cr_assert(isnan(e.tau2));
    cr_assert(e.a > 1.0);
    cr_assert(isnan(e.tau_m));
}

/* n samples [n][T][3] with exact components from truth rows. */
static float *make_pred(size_t n, size_t t, const float *truth)
{
    float *d = calloc(n * t * 3, sizeof *d);
    for (size_t i = 0; i < n; ++i) {
        const float *y = truth + 3 * i;
        sample_exp(d + i * t * 3 + 1, t, 3, y[2], y[0], 0.09);
        sample_exp(d + i * t * 3 + 2, t, 3, 1 - y[2], y[1], 0.09);
    }
    return d;
}

Test(lifetime, score_counts_failures_and_summarises_errors)
{
    enum { T = 135 };
    const float truth[9] = {0.3f, 1.0f, 0.5f,  0.6f, 1.4f, 0.25f,  0.5f, 1.2f, 0.6f};
    float *pred = make_pred(3, T, truth);
    /* Sample 2: short component predicted absent -> tau1 fails, a = 0, tau_m = tau2. */
    for (int k = 0; k < T; ++k) pred[2 * T * 3 + 3 * k + 1] = 0;
    fl_lifetime_params p = {.gate_ns = 0.09, .method = FL_TAU_EXACT};
    fl_lifetime_report r;
    cr_assert_eq(fl_lifetime_score(&p, pred, 3, T, 3, truth, &r), FL_OK);
    cr_assert_eq(r.n, 3);
    cr_assert_eq(r.tau1.failures, 1);
    cr_assert_eq(r.tau1.n, 2);
    cr_assert(fabs(r.tau1.bias) < 1e-6 && r.tau1.mae < 1e-6);
    cr_assert_eq(r.tau2.failures, 0);
    cr_assert(r.tau2.mae < 2e-6);
    /* a errors: 0, 0, 0 - 0.6 -> bias -0.2, MAE 0.2, std sqrt(0.08), MRE (1/3)(0+0+1). */
    cr_assert_eq(r.a.failures, 0);
    cr_assert(fabs(r.a.bias + 0.2) < 1e-6, "a bias %g", r.a.bias);
    cr_assert(fabs(r.a.mae - 0.2) < 1e-6);
    cr_assert(fabs(r.a.std - sqrt(0.08)) < 1e-6);
    cr_assert(fabs(r.a.mre - 1.0 / 3) < 1e-6);
    cr_assert_eq(r.a.mre_n, 3);
    /* tau_m of sample 2: predicted 1.2 (the long one alone), true 0.6*0.5+0.4*1.2 = 0.78. */
    cr_assert_eq(r.tau_m.failures, 0);
    cr_assert(fabs(r.tau_m.bias - (1.2 - 0.78) / 3) < 1e-5, "tau_m bias %g", r.tau_m.bias);
    free(pred);
}

Test(lifetime, score_is_thread_count_invariant_and_checks_input)
{
    enum { N = 301, T = 135 };
    float *truth = malloc(N * 3 * sizeof *truth);
    for (int i = 0; i < N; ++i) {
        truth[3 * i] = 0.2f + 0.6f * (float)i / N;
        truth[3 * i + 1] = 0.8f + 0.7f * (float)(N - i) / N;
        truth[3 * i + 2] = (float)(i % 11) / 10.0f;   /* includes a = 0 and a = 1 */
    }
    float *pred = make_pred(N, T, truth);
    for (int i = 0; i < N * T * 3; i += 7) pred[i] *= 1.01f;   /* not exact any more */
    fl_lifetime_params p = {.gate_ns = 0.09, .method = FL_TAU_EXACT};
    fl_lifetime_report r1, r2;
    fl_set_threads(1);
    cr_assert_eq(fl_lifetime_score(&p, pred, N, T, 3, truth, &r1), FL_OK);
    fl_set_threads(2);
    cr_assert_eq(fl_lifetime_score(&p, pred, N, T, 3, truth, &r2), FL_OK);
    cr_assert(memcmp(&r1, &r2, sizeof r1) == 0);
    cr_assert(r1.tau1.failures > 0);                 /* the a = 0 samples */
    cr_assert_eq(r1.a.mre_n, N - r1.a.failures - (N + 10) / 11);   /* a = 0 has no relative error */
    cr_assert_eq(fl_lifetime_score(&p, pred, N, T, 1, truth, &r1), FL_E_INPUT);
    p.gate_ns = 0;
    cr_assert_eq(fl_lifetime_score(&p, pred, N, T, 3, truth, &r1), FL_E_INPUT);
    free(pred);
    free(truth);
}

Test(lifetime, method_names_round_trip)
{
    for (int m = FL_TAU_EXACT; m <= FL_TAU_PLAIN; ++m)
        cr_assert_eq(fl_tau_method_parse(fl_tau_method_name((fl_tau_method)m)), m);
    cr_assert_eq(fl_tau_method_parse("trapezoid"), -1);
}
