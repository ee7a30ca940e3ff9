/* test_fit_phasor.c - the phasor baseline (fl_fit_run with FL_FIT_PHASOR):
 * IRF calibration, apparent lifetimes, background, linearity, failures,
 * thread-count invariance. */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/fit.h"
#include "fligru/npy.h"
#include "fligru/synth.h"
#include "testutil.h"

#define T135 135
#define DT 0.09
#define PI 3.14159265358979323846

/* The stated accuracy on noiseless mono-exponential decays convolved with
 * fligru synth's per-pixel IRFs (docs/lifetime.md): relative error of
 * tau_phi and tau_mod, for tau in the training range and up to 2 ns. What
 * remains is the decay cut off at the window's end (the phasor assumes a
 * periodic signal) and signal in the background window. */
#define NOISELESS_REL_TOL   1e-3   /* tau in [0.2, 1.5] ns */
#define NOISELESS_REL_TOL_2 6e-3   /* tau in [1.5, 2.0] ns */

static fl_fit_params phasor_params(void)
{
    return (fl_fit_params){.t = T135, .gate_ns = DT, .method = FL_FIT_PHASOR, .background = 1};
}

/* Noiseless mono-exponential TPSFs over tau in [lo, hi] with fligru synth's
 * default IRFs (onset and width jitter per pixel). */
static void mono_set(size_t n, double lo, double hi, float *x, float *par, float *irf)
{
    fl_synth_params p;
    fl_synth_params_default(&p);
    p.samples = n;
    p.model = FL_DECAY_MONO;
    p.tau1_ns[0] = lo;
    p.tau1_ns[1] = hi;
    p.noise = 0;
    fl_synth *s = NULL;
    cr_assert_eq(fl_synth_create(&p, &s), FL_OK, "%s", fl_error());
    cr_assert_eq(fl_synth_generate(s, 0, n, x, NULL, par, irf), FL_OK);
    fl_synth_free(s);
}

static double worst_noiseless_error(double lo, double hi, double tol)
{
    enum { N = 400 };
    float *x = malloc(N * T135 * sizeof *x), *irf = malloc(N * T135 * sizeof *irf), par[3 * N];
    fl_fit_result *r = malloc(N * sizeof *r);
    mono_set(N, lo, hi, x, par, irf);
    fl_fit_params p = phasor_params();
    cr_assert_eq(fl_fit_run(&p, N, x, irf, T135, r), FL_OK, "%s", fl_error());
    double worst = 0;
    for (int i = 0; i < N; ++i) {
        double tau = par[3 * i];
        cr_assert_eq(r[i].outcome, FL_FIT_OK, "pixel %d", i);
        double e1 = fabs(r[i].tau_phi / tau - 1), e2 = fabs(r[i].tau_mod / tau - 1);
        cr_expect(e1 < tol && e2 < tol, "tau %g: tau_phi %g tau_mod %g", tau, r[i].tau_phi, r[i].tau_mod);
        cr_expect_eq(r[i].tau_m, r[i].tau_phi);
        worst = fmax(worst, fmax(e1, e2));
    }
    free(x); free(irf); free(r);
    return worst;
}

Test(fit_phasor, noiseless_mono_exponentials_come_back_within_the_stated_tolerance)
{
    double w1 = worst_noiseless_error(0.2, 1.5, NOISELESS_REL_TOL);
    double w2 = worst_noiseless_error(1.5, 2.0, NOISELESS_REL_TOL_2);
    cr_log_info("worst relative error: %.2e (0.2-1.5 ns), %.2e (1.5-2 ns)", w1, w2);
}

/* The exact inversion tends to the continuous formulas of GCI_Phasor as dt -> 0. */
Test(fit_phasor, lifetimes_tend_to_the_continuous_formulas)
{
    double w = 2 * PI / 12.15, tau = 0.8;
    double g = 1 / (1 + w * w * tau * tau), s = w * tau / (1 + w * w * tau * tau), tp, tm;
    fl_fit_phasor_lifetimes(g, s, w, 1e-6, &tp, &tm);
    cr_expect(fabs(tp - tau) < 1e-6 && fabs(tm - tau) < 1e-6, "%g %g", tp, tm);
    cr_expect(fabs(tp - s / (w * g)) < 1e-6);
    /* outside the semicircle's reach: no lifetime */
    fl_fit_phasor_lifetimes(0.5, -0.1, w, DT, &tp, &tm);
    cr_expect(isnan(tp));
    fl_fit_phasor_lifetimes(1.2, 0.1, w, DT, &tp, &tm);
    cr_expect(isnan(tm));
}

/* A constant background under the decay is measured before the IRF and removed. */
Test(fit_phasor, constant_background_is_removed)
{
    enum { N = 50 };
    float *x = malloc(N * T135 * sizeof *x), *irf = malloc(N * T135 * sizeof *irf), par[3 * N];
    fl_fit_result *r0 = malloc(N * sizeof *r0), *r1 = malloc(N * sizeof *r1);
    mono_set(N, 0.3, 1.5, x, par, irf);
    fl_fit_params p = phasor_params();
    cr_assert_eq(fl_fit_run(&p, N, x, irf, T135, r0), FL_OK);
    for (int k = 0; k < N * T135; ++k) x[k] += 0.03f;
    cr_assert_eq(fl_fit_run(&p, N, x, irf, T135, r1), FL_OK);
    for (int i = 0; i < N; ++i) {
        cr_expect(fabs(r1[i].tau_phi / r0[i].tau_phi - 1) < 1e-4, "%g vs %g", r1[i].tau_phi, r0[i].tau_phi);
        cr_expect(fabs(r1[i].background - 0.03) < 1e-5, "background %g", r1[i].background);
    }
    /* without the subtraction the phasor moves towards the origin: tau_mod grows */
    p.background = 0;
    cr_assert_eq(fl_fit_run(&p, N, x, irf, T135, r1), FL_OK);
    for (int i = 0; i < N; ++i) cr_expect(r1[i].tau_mod > 1.1 * r0[i].tau_mod);
    free(x); free(irf); free(r0); free(r1);
}

/* Phasors add with the intensity fractions: a bi-exponential lies on the
 * chord between its components' phasors. */
Test(fit_phasor, bi_exponential_lies_on_the_chord_of_its_components)
{
    double irf[T135], y1[T135], y2[T135];
    fl_synth_irf_emg(1.0, 0.2, 0.1, DT, T135, irf);
    fl_synth_conv(irf, T135, DT, 0.3, 0.3, 1.0, y1);
    fl_synth_conv(irf, T135, DT, 1.4, 1.4, 1.0, y2);
    float x[3 * T135], fi[T135];
    double s1 = 0, s2 = 0;
    for (int t = 0; t < T135; ++t) {
        s1 += y1[t];
        s2 += y2[t];
        fi[t] = (float)irf[t];
    }
    double f = 0.35;   /* intensity fraction of component 1 */
    for (int t = 0; t < T135; ++t) {
        x[t] = (float)(y1[t] / s1);
        x[T135 + t] = (float)(y2[t] / s2);
        x[2 * T135 + t] = (float)(f * y1[t] / s1 + (1 - f) * y2[t] / s2);
    }
    fl_fit_result r[3];
    fl_fit_params p = phasor_params();
    p.background = 0;
    cr_assert_eq(fl_fit_run(&p, 3, x, fi, 0, r), FL_OK);
    cr_expect(fabs(r[2].g - (f * r[0].g + (1 - f) * r[1].g)) < 1e-5);
    cr_expect(fabs(r[2].s - (f * r[0].s + (1 - f) * r[1].s)) < 1e-5);
    /* apparent lifetimes of a mixture: tau_phi < tau_mod, both inside [tau1, tau2] */
    cr_expect(r[2].tau_phi < r[2].tau_mod && r[2].tau_phi > 0.3 && r[2].tau_mod < 1.4, "%g %g", r[2].tau_phi,
              r[2].tau_mod);
}

Test(fit_phasor, failures_are_flagged_and_threads_do_not_matter)
{
    enum { N = 301 };
    float *x = malloc(N * T135 * sizeof *x), *irf = malloc(N * T135 * sizeof *irf), par[3 * N];
    fl_fit_result *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    mono_set(N, 0.2, 1.5, x, par, irf);
    memset(x + 7 * T135, 0, T135 * sizeof *x);     /* no counts */
    memset(irf + 9 * T135, 0, T135 * sizeof *irf);  /* an unusable IRF */
    fl_fit_params p = phasor_params();
    omp_set_num_threads(1);
    cr_assert_eq(fl_fit_run(&p, N, x, irf, T135, a), FL_OK);
    omp_set_num_threads(2);
    cr_assert_eq(fl_fit_run(&p, N, x, irf, T135, b), FL_OK);
    cr_expect_eq(memcmp(a, b, N * sizeof *a), 0, "results depend on the thread count");
    cr_expect_eq(a[7].outcome, FL_FIT_FAILED);
    cr_expect(isnan(a[7].tau_m));
    cr_expect_eq(a[9].outcome, FL_FIT_FAILED);
    cr_expect_eq(a[8].outcome, FL_FIT_OK);
    cr_expect(fl_fit_method_parse("phasor") == FL_FIT_PHASOR);
    free(x); free(irf); free(a); free(b);
}

/* ---- fligru fit --method phasor ----------------------------------------------- */

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static fl_npy load_npy(const char *dir, const char *name)
{
    char *p = path_in(dir, name);
    fl_npy a;
    cr_assert_eq(fl_npy_load(p, &a), FL_OK, "%s", fl_error());
    free(p);
    return a;
}

Test(fit_phasor, cli_writes_lifetimes_phasors_and_the_plot, .timeout = 60)
{
    char *dir = tu_tmpdir("phasor-cli"), *data = path_in(dir, "d"), *out = path_in(dir, "f");
    char *cfg = tu_write_file(dir, "s.yaml", "samples: 300\ndecay: {model: mono, tau1_ns: [0.3, 1.5]}\n"
                                             "noise: {enabled: false}\n");
    cr_assert_eq(tu_run_cli(NULL, NULL, "synth", cfg, "-o", data, NULL), 0);
    char *tpsf = path_in(data, "tpsf.npy"), *irf = path_in(data, "irf.npy"), *so = NULL, *se = NULL;
    int rc = tu_run_cli(&so, &se, "fit", tpsf, "--irf", irf, "--method", "phasor", "-o", out, NULL);
    cr_assert_eq(rc, 0, "%s", se);
    cr_expect(strstr(so, "(phasor): 300 pixels: 300 ok") != NULL, "%s", so);
    fl_npy par = load_npy(data, "params.npy"), tp = load_npy(out, "tau_phi.npy"), tm = load_npy(out, "tau_m.npy");
    fl_npy g = load_npy(out, "g.npy"), st = load_npy(out, "status.npy");
    for (int i = 0; i < 300; ++i) {
        double tau = fl_npy_f32(&par)[3 * i];
        cr_expect(fabs(fl_npy_f32(&tp)[i] / tau - 1) < NOISELESS_REL_TOL, "pixel %d", i);
        cr_expect_eq(fl_npy_f32(&tm)[i], fl_npy_f32(&tp)[i]);
        cr_expect(fl_npy_f32(&g)[i] > 0 && fl_npy_f32(&g)[i] < 1);
        cr_expect_eq(((unsigned char *)st.data)[i], 0);
    }
    size_t len = 0;
    char *png = path_in(out, "phasor.png");
    unsigned char *b = tu_read_all(png, &len);
    cr_expect(b && len > 1000 && memcmp(b, "\x89PNG", 4) == 0);
    cr_expect_eq(tu_count_tmp(out), 0);
    fl_npy_free(&par); fl_npy_free(&tp); fl_npy_free(&tm); fl_npy_free(&g); fl_npy_free(&st);
    free(b); free(png); free(so); free(se);

    /* phasor options without the phasor, and a bad harmonic: usage errors */
    cr_expect_eq(tu_run_cli(NULL, NULL, "fit", tpsf, "--irf", irf, "--harmonic", "2", "-o", out, NULL), 2);
    cr_expect_eq(tu_run_cli(NULL, NULL, "fit", tpsf, "--irf", irf, "--method", "phasor", "--harmonic", "0", "-o",
                            out, NULL), 2);
    free(tpsf); free(irf); free(cfg); free(data); free(out); free(dir);
}

Test(fit_phasor, compare_has_a_phasor_row, .timeout = 60)
{
    char *dir = tu_tmpdir("phasor-cmp"), *out = path_in(dir, "c"), *se = NULL;
    int rc = tu_run_cli(NULL, &se, "compare", "--samples", "100", "--photons", "50,1000", "-o", out, "--no-plot",
                        NULL);
    cr_assert_eq(rc, 0, "%s", se);
    char *csv = path_in(out, "compare.csv");
    size_t len;
    char *text = (char *)tu_read_all(csv, &len);
    cr_expect(strstr(text, "\nphasor,50,100,") && strstr(text, "\nphasor,1000,100,"), "%s", text);
    free(text); free(csv); free(se); free(out); free(dir);
}
