/* test_synth_instrument.c - a real instrument's variation in fligru synth:
 * IRF families (ex-Gaussian, reflections, diffusion tail, measured IRFs with
 * per-pixel shift and width), background (dark counts, ambient, afterpulsing),
 * low photon budgets; defaults that leave today's data unchanged; bad input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/npy.h"
#include "fligru/synth.h"
#include "testutil.h"

#define T135 135
#define DT 0.09

/* ---- helpers ---------------------------------------------------------------- */

static fl_synth_params base(size_t n)
{
    fl_synth_params p;
    fl_synth_params_default(&p);
    p.samples = n;
    p.model = FL_DECAY_MONO;
    p.tau1_ns[0] = p.tau1_ns[1] = 0.5;
    p.onset_jitter_ns = 0.0;
    p.fwhm_jitter = 0.0;
    p.noise = 0;
    return p;
}

/* Generates n samples of p: tpsf and irf [n][T] (either may be NULL). */
static void gen(const fl_synth_params *p, float *tpsf, float *irf)
{
    fl_synth *s = NULL;
    cr_assert_eq(fl_synth_create(p, &s), FL_OK, "%s", fl_error());
    cr_assert_eq(fl_synth_generate(s, 0, fl_synth_count(s), tpsf, NULL, NULL, irf), FL_OK, "%s", fl_error());
    fl_synth_free(s);
}

static double centroid(const float *v, int T)
{
    double m = 0, s = 0;
    for (int t = 0; t < T; ++t) {
        m += t * (double)v[t];
        s += v[t];
    }
    return m / s;
}

static double centroid_d(const double *v, int T)
{
    double m = 0, s = 0;
    for (int t = 0; t < T; ++t) {
        m += t * v[t];
        s += v[t];
    }
    return m / s;
}

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *x = tu_read_all(a, &na), *y = tu_read_all(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static char *synth_cli(const char *dir, const char *cfg_name, const char *cfg_text, const char *out_name,
                       const char *threads)
{
    char *cfg = tu_write_file(dir, cfg_name, cfg_text);
    char *out = malloc(4200);
    snprintf(out, 4200, "%s/%s", dir, out_name);
    char *se = NULL;
    int rc = tu_run_cli(NULL, &se, "synth", cfg, "-o", out, "--threads", threads, NULL);
    cr_assert_eq(rc, 0, "rc %d: %s", rc, se);
    free(se);
    free(cfg);
    return out;
}

static void expect_same_dirs(const char *a, const char *b)
{
    const char *files[] = {"tpsf.npy", "target.npy", "params.npy", "irf.npy"};
    for (int k = 0; k < 4; ++k) {
        char x[4300], y[4300];
        snprintf(x, sizeof x, "%s/%s", a, files[k]);
        snprintf(y, sizeof y, "%s/%s", b, files[k]);
        cr_expect(same_file(x, y), "%s differs between %s and %s", files[k], a, b);
    }
}

static void save_f32(const char *path, int ndim, const size_t *shape, const float *v)
{
    fl_npy a;
    cr_assert_eq(fl_npy_alloc(&a, FL_F32, ndim, shape), FL_OK);
    memcpy(a.data, v, a.count * sizeof(float));
    cr_assert_eq(fl_npy_save(path, &a), FL_OK, "%s", fl_error());
    fl_npy_free(&a);
}

/* ---- defaults: today's data, byte for byte ------------------------------------ */

Test(synth_instrument, defaults_are_off)
{
    fl_synth_params p;
    fl_synth_params_default(&p);
    cr_expect_eq(fl_synth_has_instrument(&p), 0);
    const char *cfgs[] = {"synth-default", "synth-small", "synth-af700", "synth-image"};
    for (int k = 0; k < 4; ++k) {
        char path[4096];
        snprintf(path, sizeof path, "%s/configs/%s.yaml", FLIGRU_SOURCE_DIR, cfgs[k]);
        cr_assert_eq(fl_synth_params_from_yaml(path, &p), FL_OK, "%s", fl_error());
        cr_expect_eq(fl_synth_has_instrument(&p), 0, "%s draws instrument variation", cfgs[k]);
    }
}

/* Every new key written out at its default value gives the files of the
 * config without them. */
Test(synth_instrument, explicit_defaults_are_byte_identical)
{
    char *dir = tu_tmpdir("instr-defaults");
    const char *plain = "samples: 300\nseed: 5\n";
    const char *spelled = "samples: 300\nseed: 5\n"
                          "irf:\n  tail_ns: [0.1, 0.1]\n  reflections: []\n  diffusion: {fraction: 0}\n"
                          "noise:\n  dark_counts: [0.05, 0.05]\n  ambient: 0\n  afterpulsing: [0, 0]\n";
    char *a = synth_cli(dir, "a.yaml", plain, "a", "2");
    char *b = synth_cli(dir, "b.yaml", spelled, "b", "1");
    expect_same_dirs(a, b);
    free(a); free(b); free(dir);
}

Test(synth_instrument, every_feature_on_is_thread_count_invariant)
{
    char *dir = tu_tmpdir("instr-threads");
    const char *cfg = "samples: 700\nseed: 9\n"
                      "irf:\n  tail_ns: [0.05, 0.4]\n"
                      "  reflections:\n    - {delay_ns: [1.5, 2.5], amplitude: [0.02, 0.1]}\n"
                      "    - {delay_ns: 4.0, amplitude: [0, 0.03]}\n"
                      "  diffusion: {fraction: [0, 0.2], tau_ns: [0.8, 2.0]}\n"
                      "noise:\n  photons: [50, 5000]\n  dark_counts: [0, 0.5]\n  ambient: [0, 0.03]\n"
                      "  afterpulsing: [0, 0.05]\n  afterpulse_delay_ns: [0.2, 2.0]\n";
    char *a = synth_cli(dir, "c.yaml", cfg, "t1", "1");
    char *b = synth_cli(dir, "c.yaml", cfg, "t2", "2");
    expect_same_dirs(a, b);
    free(a); free(b); free(dir);
}

/* The decays, parametric jitter and photon budget come from the sample's own
 * stream: switching the instrument on leaves the decay parameters alone. */
Test(synth_instrument, instrument_draws_do_not_move_the_sample_stream)
{
    fl_synth_params p;
    fl_synth_params_default(&p);
    p.samples = 200;
    fl_synth_params q = p;
    q.ambient[1] = 0.02;
    q.tail_hi_ns = 0.3;
    float par_p[600], par_q[600];
    fl_synth *s = NULL;
    cr_assert_eq(fl_synth_create(&p, &s), FL_OK);
    cr_assert_eq(fl_synth_generate(s, 0, 200, NULL, NULL, par_p, NULL), FL_OK);
    fl_synth_free(s);
    cr_assert_eq(fl_synth_create(&q, &s), FL_OK, "%s", fl_error());
    cr_assert_eq(fl_synth_generate(s, 0, 200, NULL, NULL, par_q, NULL), FL_OK);
    fl_synth_free(s);
    cr_expect_eq(memcmp(par_p, par_q, sizeof par_p), 0);
}

/* ---- IRF families ----------------------------------------------------------- */

Test(synth_instrument, ex_gaussian_tail_is_drawn_per_pixel)
{
    enum { N = 200 };
    fl_synth_params p = base(N);
    p.tail_ns = 0.05;
    p.tail_hi_ns = 0.5;
    float *irf = malloc(N * T135 * sizeof *irf);
    gen(&p, NULL, irf);
    double lo[T135], hi[T135];
    fl_synth_irf_emg(p.onset_ns, p.fwhm_ns, 0.05, DT, T135, lo);
    fl_synth_irf_emg(p.onset_ns, p.fwhm_ns, 0.5, DT, T135, hi);
    double c_lo = centroid_d(lo, T135), c_hi = centroid_d(hi, T135), cmin = 1e9, cmax = -1e9;
    for (int i = 0; i < N; ++i) {
        double c = centroid(irf + i * T135, T135);
        cr_expect(c >= c_lo - 1e-9 && c <= c_hi + 1e-9, "pixel %d centroid %g not in [%g, %g]", i, c, c_lo, c_hi);
        cmin = c < cmin ? c : cmin;
        cmax = c > cmax ? c : cmax;
    }
    /* the tail's mean is the centroid's shift: uniform over 0.45 ns = 5 gates */
    cr_expect(cmax - cmin > 0.8 * (c_hi - c_lo), "spread %g of %g", cmax - cmin, c_hi - c_lo);
    free(irf);
}

Test(synth_instrument, reflection_carries_its_share_of_the_mass_at_its_delay)
{
    fl_synth_params p = base(4);
    p.tail_ns = 0.0;
    p.n_reflections = 1;
    p.refl_delay_ns[0][0] = p.refl_delay_ns[0][1] = 3.0;
    p.refl_amplitude[0][0] = p.refl_amplitude[0][1] = 0.1;
    float irf[4 * T135];
    gen(&p, NULL, irf);
    /* pulse at 1.0 ns, its copy at 4.0 ns: gates 34..55 hold 0.1 / 1.1 */
    double bump = 0, total = 0;
    for (int t = 0; t < T135; ++t) {
        total += irf[t];
        if (t > 34 && t < 55) bump += irf[t];
    }
    cr_expect(fabs(total - 1.0) < 1e-5);
    cr_expect(fabs(bump - 0.1 / 1.1) < 1e-5, "reflection mass %g, want %g", bump, 0.1 / 1.1);
}

Test(synth_instrument, diffusion_tail_moves_its_fraction_into_a_slow_exponential)
{
    fl_synth_params p = base(3);
    p.gates = 400;   /* 36 ns: the slow tail fits the window */
    p.tail_ns = 0.1;
    p.diffusion_fraction[0] = p.diffusion_fraction[1] = 0.25;
    p.diffusion_tau_ns[0] = p.diffusion_tau_ns[1] = 2.0;
    float *irf = malloc(3 * 400 * sizeof *irf);
    gen(&p, NULL, irf);
    /* mean of an EMG = onset + tail; of the mixture, onset + 0.75 0.1 + 0.25 2.0 */
    double want = (1.0 + 0.75 * 0.1 + 0.25 * 2.0) / DT;
    cr_expect(fabs(centroid(irf, 400) - want) < 0.01 * want, "centroid %g gates, want %g", centroid(irf, 400), want);
    /* late gates decay with the slow constant */
    double slope = log(irf[200] / irf[100]) / 100.0;
    cr_expect(fabs(slope + DT / 2.0) < 1e-3, "log slope %g, want %g", slope, -DT / 2.0);
    free(irf);
}

Test(synth_instrument, warp_is_exact_for_identity_and_integer_shifts)
{
    double g[T135], out[T135];
    fl_synth_irf_emg(2.0, 0.3, 0.2, DT, T135, g);
    cr_assert_eq(fl_synth_irf_warp(g, T135, DT, 0.0, 1.0, out), FL_OK);
    for (int t = 0; t < T135; ++t) cr_expect(fabs(out[t] - g[t]) < 1e-15, "t %d", t);
    cr_assert_eq(fl_synth_irf_warp(g, T135, DT, 3 * DT, 1.0, out), FL_OK);
    for (int t = 3; t < T135; ++t) cr_expect(fabs(out[t] - g[t - 3]) < 1e-12, "t %d", t);
    /* stretched about the centroid: the centroid stays, the spread scales */
    cr_assert_eq(fl_synth_irf_warp(g, T135, DT, 0.0, 1.5, out), FL_OK);
    double c0 = centroid_d(g, T135), c1 = centroid_d(out, T135), v0 = 0, v1 = 0;
    for (int t = 0; t < T135; ++t) {
        v0 += (t - c0) * (t - c0) * g[t];
        v1 += (t - c1) * (t - c1) * out[t];
    }
    cr_expect(fabs(c1 - c0) < 1e-6, "centroid %g -> %g", c0, c1);
    /* a piecewise-uniform density of variance v + 1/12 stretches to w^2 (v + 1/12) */
    cr_expect(fabs((v1 + 1.0 / 12) / (v0 + 1.0 / 12) - 2.25) < 0.02, "variance %g -> %g", v0, v1);
    cr_expect_neq(fl_synth_irf_warp(g, T135, DT, 100.0, 1.0, out), FL_OK, "shifted out of the window");
}

Test(synth_instrument, measured_irf_gets_per_pixel_shift_and_width)
{
    enum { N = 300 };
    char *dir = tu_tmpdir("instr-measured");
    double g[T135];
    fl_synth_irf_emg(3.0, 0.25, 0.15, DT, T135, g);
    float v[T135];
    for (int t = 0; t < T135; ++t) v[t] = (float)(7.0 * g[t]);   /* any scale */
    char *npy = tu_write_file(dir, "irf.npy", "");
    size_t shape[1] = {T135};
    save_f32(npy, 1, shape, v);
    char cfg[4600];
    snprintf(cfg, sizeof cfg, "samples: %d\nnoise: {enabled: false}\n"
                              "irf:\n  kind: file\n  file: irf.npy\n  shift_jitter_ns: 0.45\n  width_jitter: 0.3\n", N);
    char *out = synth_cli(dir, "cfg.yaml", cfg, "out", "2");
    char path[4400];
    snprintf(path, sizeof path, "%s/irf.npy", out);
    fl_npy a;
    cr_assert_eq(fl_npy_load_f32(path, &a), FL_OK, "%s", fl_error());
    const float *x = fl_npy_f32(&a);
    double c0 = centroid_d(g, T135), smin = 1e9, smax = -1e9;
    for (int i = 0; i < N; ++i) {
        double s = centroid(x + i * T135, T135) - c0;   /* the shift, in gates */
        cr_expect(fabs(s) <= 5.0 + 1e-3, "pixel %d shifted %g gates, limit 5", i, s);
        smin = s < smin ? s : smin;
        smax = s > smax ? s : smax;
    }
    cr_expect(smax - smin > 8.0, "shifts span %g gates of 10", smax - smin);
    fl_npy_free(&a);
    free(out); free(npy); free(dir);
}

/* ---- background and photon budgets ------------------------------------------ */

/* Noisy TPSFs of one fixed decay at a high photon count, averaged over N
 * pixels, against the expected counts the model says: signal + dark +
 * ambient x peak + afterpulsing (expectation of the recursion). */
Test(synth_instrument, background_matches_its_expected_counts)
{
    enum { N = 400 };
    const double photons = 2e5, dark = 3.0, amb = 0.02, ap = 0.04, apd = 1.0;
    fl_synth_params p = base(N);
    float *ideal = malloc(T135 * sizeof *ideal), *x = malloc(N * T135 * sizeof *x);
    p.samples = 1;
    gen(&p, ideal, NULL);
    p.samples = N;
    p.noise = 1;
    p.photons[0] = p.photons[1] = photons;
    p.dark_counts = dark;
    p.ambient[0] = p.ambient[1] = amb;
    p.afterpulsing[0] = p.afterpulsing[1] = ap;
    p.afterpulse_delay_ns[0] = p.afterpulse_delay_ns[1] = apd;
    gen(&p, x, NULL);
    double sum = 0, peak = 0, want[T135], a = 0, prev = 0, q = exp(-DT / apd);
    for (int t = 0; t < T135; ++t) {
        sum += ideal[t];
        peak = ideal[t] > peak ? ideal[t] : peak;
    }
    double scale = photons / sum, wpeak = 0;
    for (int t = 0; t < T135; ++t) {
        a = q * a + (1 - q) * prev;
        want[t] = scale * ideal[t] + dark + amb * scale * peak + ap * a;
        prev = want[t];
        wpeak = want[t] > wpeak ? want[t] : wpeak;
    }
    for (int t = 0; t < T135; ++t) {
        double m = 0;
        for (int i = 0; i < N; ++i) m += x[i * T135 + t];
        m /= N;
        /* each pixel is divided by its own (noisy, ~0.2 %) peak */
        cr_expect(fabs(m - want[t] / wpeak) < 0.01 * want[t] / wpeak + 2e-4, "gate %d: %g, want %g", t, m,
                  want[t] / wpeak);
    }
    free(ideal);
    free(x);
}

/* A peak-normalised row of counts n_t / n_max back in counts: the smallest
 * k that makes every k x_t an integer (n_max unless all counts share a factor). */
static double counts_of(const float *x, int T)
{
    for (int k = 1; k < 100000; ++k) {
        int all = 1;
        for (int t = 0; t < T && all; ++t) all = fabs(x[t] * (double)k - nearbyint(x[t] * (double)k)) < 1e-3;
        if (all) {
            double s = 0;
            for (int t = 0; t < T; ++t) s += nearbyint(x[t] * (double)k);
            return s;
        }
    }
    return NAN;
}

Test(synth_instrument, dark_counts_are_drawn_per_pixel)
{
    enum { N = 200 };
    fl_synth_params p = base(N);
    p.noise = 1;
    p.photons[0] = p.photons[1] = 0.0;   /* dark counts only */
    p.dark_counts = 5.0;
    p.dark_hi = 15.0;
    float *x = malloc(N * T135 * sizeof *x);
    gen(&p, x, NULL);
    /* per pixel, counts per gate: the drawn level +- 3 sigma (0.33 at 15) */
    double lmin = 1e9, lmax = 0;
    for (int i = 0; i < N; ++i) {
        double l = counts_of(x + i * T135, T135) / T135;
        cr_expect(l > 5.0 - 1.0 && l < 15.0 + 1.0, "pixel %d: %g dark counts per gate", i, l);
        lmin = l < lmin ? l : lmin;
        lmax = l > lmax ? l : lmax;
    }
    cr_expect(lmin < 6.0 && lmax > 14.0, "levels [%g, %g] do not span [5, 15]", lmin, lmax);
    free(x);
}

Test(synth_instrument, photon_budget_of_50_is_honoured)
{
    enum { N = 2000 };
    fl_synth_params p;
    fl_synth_params_default(&p);
    p.samples = N;
    p.dark_counts = 0.0;
    p.photons[0] = p.photons[1] = 50.0;
    float *x = malloc(N * T135 * sizeof *x);
    gen(&p, x, NULL);
    double total = 0;
    for (int i = 0; i < N; ++i) total += counts_of(x + i * T135, T135);
    /* Poisson(50) per pixel: the mean of 2000 within 0.16 (1 sigma) */
    cr_expect(fabs(total / N - 50.0) < 0.8, "mean photons %g, want 50", total / N);
    free(x);
}

/* ---- bad input ------------------------------------------------------------- */

static void expect_rejected(const char *tag, const char *cfg_text, const char *const *want)
{
    char *dir = tu_tmpdir(tag);
    char *cfg = tu_write_file(dir, "cfg.yaml", cfg_text);
    char out[4200];
    snprintf(out, sizeof out, "%s/out", dir);
    char *se = NULL;
    int rc = tu_run_cli(NULL, &se, "synth", cfg, "-o", out, NULL);
    cr_expect_eq(rc, 2, "%s: rc %d, stderr: %s", tag, rc, se);
    cr_expect(strncmp(se, "fligru: ", 8) == 0, "%s: %s", tag, se);
    char *nl = strchr(se, '\n');
    cr_expect(nl && nl[1] == '\0', "%s: not one line: %s", tag, se);
    for (; *want; ++want) cr_expect(strstr(se, *want) != NULL, "%s: '%s' not in: %s", tag, *want, se);
    cr_expect(!tu_exists(out), "%s: output created", tag);
    free(se); free(cfg); free(dir);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(synth_instrument, background_outside_0_1_of_the_peak_is_refused)
{
    expect_rejected("amb1", "noise:\n  ambient: 1.0\n", WANT("cfg.yaml:2", "ambient", "[0, 1)"));
    expect_rejected("ambneg", "noise:\n  ambient: [-0.1, 0.2]\n", WANT("cfg.yaml:2", "ambient"));
    expect_rejected("ap", "noise:\n  photons: 100\n  afterpulsing: [0.1, 1.5]\n",
                    WANT("cfg.yaml:3", "afterpulsing"));
    expect_rejected("apd", "noise:\n  afterpulse_delay_ns: 2\n", WANT("cfg.yaml:2", "afterpulse_delay_ns"));
    expect_rejected("apd0", "noise:\n  afterpulsing: 0.01\n  afterpulse_delay_ns: 0\n",
                    WANT("cfg.yaml:3", "afterpulse_delay_ns"));
    expect_rejected("darkrev", "noise:\n  dark_counts: [2, 1]\n", WANT("cfg.yaml:2", "dark_counts"));
    expect_rejected("offbg", "noise:\n  enabled: false\n  ambient: 0.01\n", WANT("cfg.yaml:3", "ambient"));
}

Test(synth_instrument, bad_irf_family_keys_are_refused)
{
    expect_rejected("diff1", "irf:\n  diffusion: {fraction: 1.0}\n", WANT("cfg.yaml:2", "fraction"));
    expect_rejected("diffnof", "irf:\n  diffusion: {tau_ns: 1.0}\n", WANT("cfg.yaml:2", "diffusion"));
    expect_rejected("refl", "irf:\n  reflections:\n    - {delay_ns: 1.0}\n", WANT("cfg.yaml:3", "amplitude"));
    expect_rejected("reflamp", "irf:\n  reflections:\n    - {delay_ns: 1.0, amplitude: 2}\n",
                    WANT("cfg.yaml:3", "amplitude"));
    expect_rejected("reflfile", "irf:\n  kind: file\n  file: x.npy\n  reflections: []\n",
                    WANT("cfg.yaml:4", "reflections"));
    expect_rejected("shiftparam", "irf:\n  shift_jitter_ns: 0.1\n", WANT("cfg.yaml:2", "shift_jitter_ns"));
    expect_rejected("tailrange", "irf:\n  tail_ns: [0.3, 0.1]\n", WANT("cfg.yaml:2", "tail_ns"));
}

Test(synth_instrument, bad_measured_irfs_name_the_file)
{
    char *dir = tu_tmpdir("instr-badirf");
    char *npy = tu_write_file(dir, "m.npy", "");
    char cfg[4600];
    snprintf(cfg, sizeof cfg, "samples: 4\nirf:\n  kind: file\n  file: %s\n  shift_jitter_ns: 0.2\n", npy);
    float v[T135 + 1];
    for (int t = 0; t <= T135; ++t) v[t] = t == 40 ? 1.0f : 0.0f;
    size_t s_long[1] = {T135 + 1}, s_ok[1] = {T135};
    save_f32(npy, 1, s_long, v);
    expect_rejected("len", cfg, WANT("m.npy", "[136]"));
    v[12] = -0.5f;
    save_f32(npy, 1, s_ok, v);
    expect_rejected("neg", cfg, WANT("m.npy", "gate 12", ">= 0"));
    memset(v, 0, sizeof v);
    save_f32(npy, 1, s_ok, v);
    expect_rejected("zero", cfg, WANT("m.npy", "sums to 0"));
    free(npy); free(dir);
}

/* A single measurement saved as [1,T] is every pixel's IRF, as [T] is. */
Test(synth_instrument, one_row_measured_irf_is_shared)
{
    char *dir = tu_tmpdir("instr-1row");
    double g[T135];
    fl_synth_irf_emg(2.0, 0.3, 0.2, DT, T135, g);
    float v[T135];
    for (int t = 0; t < T135; ++t) v[t] = (float)g[t];
    char *a = tu_write_file(dir, "a.npy", ""), *b = tu_write_file(dir, "b.npy", "");
    size_t s1[1] = {T135}, s2[2] = {1, T135};
    save_f32(a, 1, s1, v);
    save_f32(b, 2, s2, v);
    const char *fmt = "samples: 50\nirf:\n  kind: file\n  file: %s\n  shift_jitter_ns: 0.1\n";
    char ca[4300], cb[4300];
    snprintf(ca, sizeof ca, fmt, "a.npy");
    snprintf(cb, sizeof cb, fmt, "b.npy");
    char *oa = synth_cli(dir, "a.yaml", ca, "oa", "2");
    char *ob = synth_cli(dir, "b.yaml", cb, "ob", "1");
    expect_same_dirs(oa, ob);
    free(oa); free(ob); free(a); free(b); free(dir);
}
