/* test_synth.c - synthetic FLI data: physics, reproducibility, config errors. */
#include <criterion/criterion.h>
#include <dirent.h>
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

static fl_synth *make(const fl_synth_params *p)
{
    fl_synth *s = NULL;
    fl_status st = fl_synth_create(p, &s);
    cr_assert_eq(st, FL_OK, "%s", fl_error());
    return s;
}

/* Least-squares slope of log(y[t]) over t in [t0, t1). */
static double log_slope(const float *y, size_t stride, int t0, int t1)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int n = 0;
    for (int t = t0; t < t1; ++t, ++n) {
        double x = t, v = log((double)y[(size_t)t * stride]);
        sx += x; sy += v; sxx += x * x; sxy += x * v;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

static fl_npy load(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fl_npy a;
    cr_assert_eq(fl_npy_load(path, &a), FL_OK, "%s", fl_error());
    return a;
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

/* Entries in dir (0 when it does not exist). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) ++n;
    closedir(d);
    return n;
}

/* ---- convolution and IRF ---------------------------------------------------- */

Test(synth, recursive_conv_matches_plain_sum)
{
    double irf[T135], fast[T135], ref[T135];
    cr_assert_eq(fl_synth_irf_emg(1.3, 0.25, 0.15, DT, T135, irf), FL_OK);
    const double taus[][3] = {{0.2, 1.5, 0.3}, {0.8, 0.8, 1.0}, {0.05, 3.0, 0.9}};
    for (int c = 0; c < 3; ++c) {
        fl_synth_conv(irf, T135, DT, taus[c][0], taus[c][1], taus[c][2], fast);
        fl_synth_conv_ref(irf, T135, DT, taus[c][0], taus[c][1], taus[c][2], ref);
        /* The recursion rounds at most ~T ulp away from the direct sum; values <= 1. */
        for (int t = 0; t < T135; ++t)
            cr_expect(fabs(fast[t] - ref[t]) < 1e-13, "case %d t %d: %g vs %g", c, t, fast[t], ref[t]);
    }
}

Test(synth, convolution_is_linear_not_circular)
{
    double irf[T135] = {0}, fast[T135], ref[T135];
    int spike = T135 - 3;
    irf[spike] = 1.0;
    fl_synth_conv(irf, T135, DT, 0.4, 1.2, 0.5, fast);
    fl_synth_conv_ref(irf, T135, DT, 0.4, 1.2, 0.5, ref);
    for (int t = 0; t < spike; ++t) {
        cr_expect_eq(fast[t], 0.0, "wrapped to t=%d", t);
        cr_expect_eq(ref[t], 0.0);
    }
    cr_expect_eq(fast[spike], 1.0);
    double want = 0.5 * exp(-2 * DT / 0.4) + 0.5 * exp(-2 * DT / 1.2);
    cr_expect(fabs(fast[T135 - 1] - want) < 1e-15);
    cr_expect(fabs(ref[T135 - 1] - want) < 1e-15);
}

Test(synth, irf_is_unit_sum_and_peaks_near_onset)
{
    double irf[T135];
    /* narrow (fwhm < gate), ordinary, no tail, tail far shorter than sigma */
    const double cases[][3] = {{1.0, 0.03, 0.1}, {2.0, 0.3, 0.2}, {3.0, 0.2, 0.0}, {1.5, 0.4, 1e-4}};
    for (int c = 0; c < 4; ++c) {
        cr_assert_eq(fl_synth_irf_emg(cases[c][0], cases[c][1], cases[c][2], DT, T135, irf), FL_OK);
        double sum = 0;
        int peak = 0;
        for (int t = 0; t < T135; ++t) {
            cr_assert(isfinite(irf[t]) && irf[t] >= 0.0);
            sum += irf[t];
            if (irf[t] > irf[peak]) peak = t;
        }
        cr_expect(fabs(sum - 1.0) < 1e-12, "case %d sum %.17g", c, sum);
        /* the EMG mode lies between the onset and onset + tail */
        int lo = (int)floor(cases[c][0] / DT) - 1, hi = (int)ceil((cases[c][0] + cases[c][2]) / DT) + 1;
        cr_expect(peak >= lo && peak <= hi, "case %d peak at gate %d, want [%d,%d]", c, peak, lo, hi);
    }
    cr_expect_neq(fl_synth_irf_emg(50.0, 0.1, 0.1, DT, T135, irf), FL_OK, "no mass in the window");
}

/* ---- generated data ------------------------------------------------------- */

static fl_synth_params noiseless_mono(double tau_lo, double tau_hi)
{
    fl_synth_params p;
    fl_synth_params_default(&p);
    p.model = FL_DECAY_MONO;
    p.tau1_ns[0] = tau_lo;
    p.tau1_ns[1] = tau_hi;
    p.noise = 0;
    p.samples = 64;
    return p;
}

Test(synth, noiseless_mono_decays_have_the_drawn_lifetime)
{
    fl_synth_params p = noiseless_mono(0.4, 1.5);
    fl_synth *s = make(&p);
    enum { N = 64 };
    static float x[N * T135], y[N * T135 * 3], par[N * 3];
    cr_assert_eq(fl_synth_generate(s, 0, N, x, y, par, NULL), FL_OK);
    for (int i = 0; i < N; ++i) {
        double tau = par[i * 3];
        cr_expect(tau >= 0.4 && tau <= 1.5);
        cr_expect_eq(par[i * 3 + 1], par[i * 3], "mono: tau2 = tau1");
        cr_expect_eq(par[i * 3 + 2], 1.0f, "mono: a = 1");
        /* target: exp(-t dt / tau) exactly, up to float rounding */
        double fit_y = -DT / log_slope(y + (size_t)i * T135 * 3, 3, 0, 60);
        cr_expect(fabs(fit_y / tau - 1) < 1e-5, "sample %d: target tau %g vs %g", i, fit_y, tau);
        /* TPSF tail, past the IRF (onset <= 1.18 ns, tail 0.1 ns): the
         * IRF tail's contribution is < exp(-40) there. */
        double fit_x = -DT / log_slope(x + (size_t)i * T135, 1, 60, 130);
        cr_expect(fabs(fit_x / tau - 1) < 1e-4, "sample %d: tpsf tau %g vs %g", i, fit_x, tau);
    }
    fl_synth_free(s);
}

Test(synth, channels_sum_and_start_at_one)
{
    fl_synth_params p;
    fl_synth_params_default(&p);
    p.samples = 200;
    fl_synth *s = make(&p);
    enum { N = 200 };
    static float y[N * T135 * 3], par[N * 3];
    cr_assert_eq(fl_synth_generate(s, 0, N, NULL, y, par, NULL), FL_OK);
    for (int i = 0; i < N; ++i) {
        const float *o = y + (size_t)i * T135 * 3;
        cr_expect_eq(o[0], 1.0f, "sample %d: ch0(0) = %.9g", i, o[0]);
        cr_expect(fabs(o[1] - par[i * 3 + 2]) < 1e-7, "ch1(0) = a");
        for (int t = 0; t < T135; ++t) {
            const float *c = o + t * 3;
            /* each channel is rounded to float once: 2 ulp of ch0 */
            cr_expect(fabsf(c[0] - c[1] - c[2]) <= 2.4e-7f * c[0], "sample %d t %d", i, t);
        }
    }
    fl_synth_free(s);
}

Test(synth, tpsfs_are_peak_normalised)
{
    fl_synth_params p;
    fl_synth_params_default(&p);
    p.samples = 500;
    p.photons[0] = 20;   /* include very dim pixels */
    fl_synth *s = make(&p);
    enum { N = 500 };
    static float x[N * T135];
    cr_assert_eq(fl_synth_generate(s, 0, N, x, NULL, NULL, NULL), FL_OK);
    for (int i = 0; i < N; ++i) {
        float mx = 0;
        for (int t = 0; t < T135; ++t) {
            cr_assert(x[i * T135 + t] >= 0.0f);
            mx = fmaxf(mx, x[i * T135 + t]);
        }
        cr_expect_eq(mx, 1.0f, "sample %d peak %g", i, mx);
    }
    fl_synth_free(s);

    /* zero photons and zero dark counts: the all-zero TPSF stays zero */
    p.photons[0] = p.photons[1] = 0;
    p.dark_counts = 0;
    s = make(&p);
    cr_assert_eq(fl_synth_generate(s, 0, 10, x, NULL, NULL, NULL), FL_OK);
    for (int k = 0; k < 10 * T135; ++k) cr_assert_eq(x[k], 0.0f);
    fl_synth_free(s);
}

Test(synth, photon_budget_sets_the_noise_level)
{
    /* With a budget of P photons and no dark counts, a row's counts sum to
     * Poisson(P) (the truncated-window mass is normalised into the budget). */
    fl_synth_params p;
    fl_synth_params_default(&p);
    p.samples = 400;
    p.photons[0] = p.photons[1] = 5000;
    p.dark_counts = 0;
    fl_synth *s = make(&p);
    enum { N = 400 };
    static float x[N * T135], irf[N * T135];
    cr_assert_eq(fl_synth_generate(s, 0, N, x, NULL, NULL, irf), FL_OK);
    /* x = counts / peak count, so the smallest nonzero x of a row is
     * 1/peak when some gate holds exactly one count (near-certain: the tail
     * has dozens of gates with an expected count near 1), and sum/min is the
     * row's total count. Its mean over 400 rows has a statistical error of
     * ~0.2%; the 10% tolerance covers the rare row whose smallest count is 2. */
    double rel_sum = 0;
    for (int i = 0; i < N; ++i) {
        double sum = 0;
        float minpos = 1;
        for (int t = 0; t < T135; ++t) {
            float v = x[i * T135 + t];
            sum += v;
            if (v > 0 && v < minpos) minpos = v;
        }
        rel_sum += sum / minpos;   /* = total counts when some gate holds 1 count */
    }
    double mean_counts = rel_sum / N;
    cr_expect(mean_counts > 4500 && mean_counts < 5500, "mean counts %g", mean_counts);
    fl_synth_free(s);
}

Test(synth, chunks_equal_whole_range)
{
    fl_synth_params p;
    fl_synth_params_default(&p);
    p.samples = 300;
    fl_synth *s = make(&p);
    enum { N = 300 };
    static float a[N * T135], b[N * T135];
    cr_assert_eq(fl_synth_generate(s, 0, N, a, NULL, NULL, NULL), FL_OK);
    cr_assert_eq(fl_synth_generate(s, 0, 117, b, NULL, NULL, NULL), FL_OK);
    cr_assert_eq(fl_synth_generate(s, 117, N, b + 117 * T135, NULL, NULL, NULL), FL_OK);
    cr_expect_eq(memcmp(a, b, sizeof a), 0);
    cr_expect_neq(fl_synth_generate(s, 0, N + 1, a, NULL, NULL, NULL), FL_OK);
    fl_synth_free(s);
}

Test(synth, digits_are_distinct_mnist_like_masks)
{
    enum { S = 28 };
    uint8_t m[S * S], first[10][S * S];
    for (int d = 0; d < 10; ++d) {
        for (uint64_t k = 0; k < 20; ++k) {
            size_t fg = fl_synth_digit(d, S, 9, k, m);
            double frac = (double)fg / (S * S);
            /* MNIST: ~19% foreground on average, ~8% for a thin 1 */
            cr_expect(frac > 0.04 && frac < 0.40, "digit %d jitter %lu: %.3f", d, (unsigned long)k, frac);
            if (k == 0) memcpy(first[d], m, sizeof m);
        }
    }
    for (int a = 0; a < 10; ++a)
        for (int b = a + 1; b < 10; ++b)
            cr_expect_neq(memcmp(first[a], first[b], sizeof m), 0, "digits %d and %d identical", a, b);
}

/* ---- CLI: files, reproducibility, image mode -------------------------------- */

static const char *small_cfg =
    "seed: 11\n"
    "samples: 1500\n"
    "channels: 3\n"
    "noise:\n"
    "  photons: [50, 5000]\n"
    "  dark_counts: 0.1\n";

static char *run_synth(const char *dir, const char *cfg_text, const char *sub, const char *threads)
{
    char *cfg = tu_write_file(dir, "cfg.yaml", cfg_text);
    char *out = malloc(4096);
    snprintf(out, 4096, "%s/%s", dir, sub);
    char *so = NULL, *se = NULL;
    int rc = tu_run_cli(&so, &se, "synth", cfg, "-o", out, "--threads", threads, NULL);
    cr_assert_eq(rc, 0, "rc %d: %s", rc, se);
    free(so);
    free(se);
    free(cfg);
    return out;
}

Test(synth, output_is_byte_identical_for_1_and_2_threads)
{
    char *dir = tu_tmpdir("synth-threads");
    char *o1 = run_synth(dir, small_cfg, "t1", "1");
    char *o2 = run_synth(dir, small_cfg, "t2", "2");
    const char *files[] = {"tpsf.npy", "target.npy", "params.npy", "irf.npy"};
    for (int k = 0; k < 4; ++k) {
        char a[4200], b[4200];
        snprintf(a, sizeof a, "%s/%s", o1, files[k]);
        snprintf(b, sizeof b, "%s/%s", o2, files[k]);
        cr_expect(same_file(a, b), "%s differs", files[k]);
    }
    cr_expect_eq(count_entries(o1), 4);
    fl_npy x = load(o1, "tpsf.npy"), y = load(o1, "target.npy"), q = load(o1, "params.npy");
    cr_expect(x.ndim == 2 && x.shape[0] == 1500 && x.shape[1] == 135 && x.dtype == FL_F32);
    cr_expect(y.ndim == 3 && y.shape[0] == 1500 && y.shape[1] == 135 && y.shape[2] == 3);
    cr_expect(q.ndim == 2 && q.shape[0] == 1500 && q.shape[1] == 3);
    fl_npy_free(&x);
    fl_npy_free(&y);
    fl_npy_free(&q);
    free(o1);
    free(o2);
    free(dir);
}

Test(synth, image_mode_shapes_mask_and_background)
{
    char *dir = tu_tmpdir("synth-image");
    const char *cfg =
        "seed: 5\n"
        "channels: 3\n"
        "noise:\n  dark_counts: 0.2\n"
        "image:\n  enabled: true\n  digit_size: 28\n  tiles: [2, 3]\n";
    char *o = run_synth(dir, cfg, "img", "2");
    char *o2 = run_synth(dir, cfg, "img1", "1");
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/tpsf.npy", o);
    snprintf(b, sizeof b, "%s/tpsf.npy", o2);
    cr_expect(same_file(a, b));

    fl_npy m = load(o, "mask.npy"), x = load(o, "tpsf.npy"), y = load(o, "target.npy"),
           q = load(o, "params.npy"), irf = load(o, "irf.npy");
    const size_t H = 56, W = 84;
    cr_assert(m.dtype == FL_U8 && m.ndim == 2 && m.shape[0] == H && m.shape[1] == W);
    cr_assert(x.ndim == 3 && x.shape[0] == H && x.shape[1] == W && x.shape[2] == 135);
    cr_assert(y.ndim == 4 && y.shape[0] == H && y.shape[1] == W && y.shape[2] == 135 && y.shape[3] == 3);
    cr_assert(q.ndim == 3 && q.shape[0] == H && q.shape[1] == W && q.shape[2] == 3);
    cr_assert(irf.ndim == 3 && irf.shape[0] == H && irf.shape[1] == W && irf.shape[2] == 135);

    const uint8_t *mk = m.data;
    const float *xp = fl_npy_f32(&x), *yp = fl_npy_f32(&y), *qp = fl_npy_f32(&q);
    for (size_t tr = 0; tr < 2; ++tr)
        for (size_t tc = 0; tc < 3; ++tc) {
            size_t fg = 0;
            for (size_t r = tr * 28; r < tr * 28 + 28; ++r)
                for (size_t c = tc * 28; c < tc * 28 + 28; ++c) fg += mk[r * W + c];
            double frac = fg / 784.0;
            cr_expect(frac > 0.04 && frac < 0.40, "tile %zu,%zu: %.3f", tr, tc, frac);
        }
    for (size_t i = 0; i < H * W; ++i) {
        cr_assert(mk[i] <= 1);
        if (mk[i]) {
            cr_expect(qp[i * 3] >= 0.2f && qp[i * 3] <= 0.8f && qp[i * 3 + 1] >= 0.8f);
            cr_expect_eq(yp[i * 135 * 3], 1.0f);
        } else {
            for (int k = 0; k < 3; ++k) cr_expect_eq(qp[i * 3 + k], 0.0f);
            for (int k = 0; k < 135 * 3; ++k) cr_expect_eq(yp[i * 135 * 3 + k], 0.0f);
        }
        float mx = 0;
        for (int t = 0; t < 135; ++t) mx = fmaxf(mx, xp[i * 135 + t]);
        /* dark counts 0.2/gate over 135 gates: a pixel with no count at all
         * has probability e^-27 */
        cr_expect_eq(mx, 1.0f);
    }
    fl_npy_free(&m); fl_npy_free(&x); fl_npy_free(&y); fl_npy_free(&q); fl_npy_free(&irf);
    free(o); free(o2); free(dir);
}

static void save_f32(const char *path, int ndim, const size_t *shape, const float *v)
{
    fl_npy a;
    cr_assert_eq(fl_npy_alloc(&a, FL_F32, ndim, shape), FL_OK);
    memcpy(a.data, v, a.count * sizeof(float));
    cr_assert_eq(fl_npy_save(path, &a), FL_OK, "%s", fl_error());
    fl_npy_free(&a);
}

Test(synth, irf_file_spike_near_the_end_does_not_wrap)
{
    char *dir = tu_tmpdir("synth-irffile");
    float v[T135] = {0};
    v[T135 - 5] = 3.0f;   /* not unit sum: synth normalises */
    size_t shape[1] = {T135};
    char *npy = tu_write_file(dir, "irf.npy", "");
    save_f32(npy, 1, shape, v);
    /* relative path: resolved against the config's directory, not the cwd */
    const char *cfg = "samples: 20\nnoise:\n  enabled: false\nirf:\n  kind: file\n  file: irf.npy\n";
    char *o = run_synth(dir, cfg, "out", "2");
    fl_npy x = load(o, "tpsf.npy"), irf = load(o, "irf.npy");
    const float *xp = fl_npy_f32(&x);
    for (int i = 0; i < 20; ++i) {
        for (int t = 0; t < T135 - 5; ++t) cr_expect_eq(xp[i * T135 + t], 0.0f, "sample %d t %d", i, t);
        cr_expect_eq(xp[i * T135 + T135 - 5], 1.0f);
        cr_expect_eq(fl_npy_f32(&irf)[i * T135 + T135 - 5], 1.0f);
    }
    fl_npy_free(&x);
    fl_npy_free(&irf);
    free(o); free(npy); free(dir);
}

Test(synth, cli_summary_and_help)
{
    char *dir = tu_tmpdir("synth-cli");
    char *cfg = tu_write_file(dir, "cfg.yaml", "samples: 100\ngates: 64\nchannels: 1\n");
    char out[4200];
    snprintf(out, sizeof out, "%s/o", dir);
    char *so = NULL, *se = NULL;
    int rc = tu_run_cli(&so, &se, "synth", cfg, "-o", out, "--seed", "3", "--samples", "50", NULL);
    cr_assert_eq(rc, 0, "%s", se);
    cr_expect(strstr(so, "N=50 T=64 C=1") != NULL, "%s", so);
    fl_npy y = load(out, "target.npy");
    cr_expect(y.ndim == 3 && y.shape[0] == 50 && y.shape[1] == 64 && y.shape[2] == 1);
    fl_npy_free(&y);
    free(so); free(se);
    rc = tu_run_cli(&so, NULL, "synth", "--help", NULL);
    cr_expect_eq(rc, 0);
    cr_expect(strstr(so, "usage: fligru synth") != NULL);
    free(so);
    rc = tu_run_cli(NULL, &se, "synth", cfg, NULL);
    cr_expect_eq(rc, 2, "missing -o");
    cr_expect(strstr(se, "fligru synth: ") == se, "%s", se);
    free(se);
    free(cfg); free(dir);
}

Test(synth, shipped_configs_parse)
{
    const char *names[] = {"synth-default", "synth-small", "synth-af700", "synth-image"};
    for (int k = 0; k < 4; ++k) {
        char path[4096];
        snprintf(path, sizeof path, "%s/configs/%s.yaml", FLIGRU_SOURCE_DIR, names[k]);
        fl_synth_params p;
        cr_expect_eq(fl_synth_params_from_yaml(path, &p), FL_OK, "%s", fl_error());
        if (k == 2) {
            cr_expect_eq(p.model, FL_DECAY_MONO);
            cr_expect(p.tau1_ns[0] >= 0.9 && p.tau1_ns[1] <= 1.1);
        }
        if (k == 3) cr_expect(p.image);
    }
}

/* ---- bad input: one line, exit 2, nothing left behind ------------------------ */

/* Runs synth on cfg_text; expects exit 2, a one-line "fligru: " message
 * holding every string in want (NULL-terminated), and an output directory
 * that does not exist or holds exactly `keep` entries. */
static void expect_rejected(const char *tag, const char *cfg_text, const char *const *want,
                            int precreate)
{
    char *dir = tu_tmpdir(tag);
    char *cfg = tu_write_file(dir, "cfg.yaml", cfg_text);
    char out[4200];
    snprintf(out, sizeof out, "%s/out", dir);
    if (precreate) {
        char cmd[4300];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", out);
        cr_assert_eq(system(cmd), 0);
    }
    char *se = NULL;
    int rc = tu_run_cli(NULL, &se, "synth", cfg, "-o", out, NULL);
    cr_expect_eq(rc, 2, "%s: rc %d, stderr: %s", tag, rc, se);
    cr_expect(strncmp(se, "fligru: ", 8) == 0, "%s: %s", tag, se);
    char *nl = strchr(se, '\n');
    cr_expect(nl && nl[1] == '\0', "%s: not one line: %s", tag, se);
    for (; *want; ++want) cr_expect(strstr(se, *want) != NULL, "%s: '%s' not in: %s", tag, *want, se);
    if (precreate) {
        cr_expect_eq(count_entries(out), 0, "%s: files left in the output dir", tag);
        cr_expect_eq(tu_count_tmp(out), 0);
    } else {
        cr_expect(!tu_exists(out), "%s: output dir created before validation", tag);
    }
    free(se); free(cfg); free(dir);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(synth, rejects_unknown_key_with_file_line_and_key)
{
    expect_rejected("unk", "seed: 1\ndecay:\n  tau3_ns: [1, 2]\n", WANT("cfg.yaml:3", "tau3_ns"), 0);
    expect_rejected("unktop", "sampels: 10\n", WANT("cfg.yaml:1", "sampels"), 1);
}

Test(synth, rejects_wrong_types)
{
    expect_rejected("type", "gates: many\n", WANT("cfg.yaml:1", "gates"), 0);
    expect_rejected("type2", "noise:\n  enabled: maybe\n", WANT("cfg.yaml:2", "enabled"), 0);
    expect_rejected("type3", "decay: mono\n", WANT("cfg.yaml:1", "decay"), 0);
    expect_rejected("model", "decay:\n  model: tri\n", WANT("cfg.yaml:2", "model"), 0);
}

Test(synth, rejects_out_of_range_values)
{
    expect_rejected("tau0", "decay:\n  tau1_ns: [0, 0.5]\n", WANT("cfg.yaml:2", "tau1_ns"), 0);
    expect_rejected("tauneg", "decay:\n  tau2_ns: [-0.2, 0.5]\n", WANT("cfg.yaml:2", "tau2_ns"), 0);
    expect_rejected("gates0", "gates: 0\n", WANT("cfg.yaml:1", "gates"), 0);
    expect_rejected("photons", "noise:\n  photons: [-1, 10]\n", WANT("cfg.yaml:2", "photons"), 0);
    expect_rejected("chan", "channels: 2\n", WANT("cfg.yaml:1", "channels"), 0);
    expect_rejected("onset", "irf:\n  onset_ns: 20\n", WANT("cfg.yaml:2", "onset_ns"), 0);
    expect_rejected("window", "gates: 5\n", WANT("cfg.yaml:1", "gates", "onset"), 0);
}

Test(synth, rejects_keys_the_mode_would_ignore)
{
    expect_rejected("mono", "decay:\n  model: mono\n  tau1_ns: 1.0\n  fraction: [0, 1]\n",
                    WANT("cfg.yaml:4", "fraction"), 0);
    expect_rejected("imgsamples", "samples: 10\nimage:\n  enabled: true\n", WANT("cfg.yaml:1", "samples"), 0);
    expect_rejected("irfmix", "irf:\n  kind: file\n  file: x.npy\n  fwhm_ns: 0.2\n",
                    WANT("cfg.yaml:4", "fwhm_ns"), 0);
}

Test(synth, rejects_malformed_yaml)
{
    expect_rejected("yaml", "decay: [1, 2\nseed: 3\n", WANT("cfg.yaml"), 0);
}

Test(synth, rejects_missing_and_ill_shaped_irf_files)
{
    expect_rejected("irfmissing", "irf:\n  kind: file\n  file: nope.npy\n", WANT("nope.npy"), 1);

    char *dir = tu_tmpdir("irfshape");
    char *bad = tu_write_file(dir, "bad.npy", "");
    float v[136] = {1};
    size_t s1[1] = {136};
    save_f32(bad, 1, s1, v);
    char cfg[4400];
    snprintf(cfg, sizeof cfg, "samples: 10\nirf:\n  kind: file\n  file: %s\n", bad);
    expect_rejected("irfshape", cfg, WANT("bad.npy", "[136]"), 1);

    size_t s2[2] = {11, 135};   /* 11 rows for 10 samples */
    float *w = calloc(11 * 135, sizeof *w);
    for (int i = 0; i < 11; ++i) w[i * 135 + 20] = 1;
    save_f32(bad, 2, s2, w);
    expect_rejected("irfrows", cfg, WANT("bad.npy", "[11,135]"), 1);

    w[3 * 135 + 20] = 0;        /* right shape, one row sums to 0 */
    size_t s3[2] = {10, 135};
    save_f32(bad, 2, s3, w);
    expect_rejected("irfzero", cfg, WANT("bad.npy", "row 3"), 1);
    free(w); free(bad); free(dir);
}

Test(synth, bad_command_lines)
{
    char *dir = tu_tmpdir("synth-args");
    char *cfg = tu_write_file(dir, "cfg.yaml", "samples: 10\n");
    char *img = tu_write_file(dir, "img.yaml", "image:\n  enabled: true\n");
    char *se = NULL;
    cr_expect_eq(tu_run_cli(NULL, &se, "synth", cfg, "-o", dir, "--threads", "0", NULL), 2);
    free(se);
    cr_expect_eq(tu_run_cli(NULL, &se, "synth", cfg, "-o", dir, "--samples", "-3", NULL), 2);
    free(se);
    cr_expect_eq(tu_run_cli(NULL, &se, "synth", img, "-o", dir, "--samples", "3", NULL), 2);
    free(se);
    cr_expect_eq(tu_run_cli(NULL, &se, "synth", "/nonexistent/cfg.yaml", "-o", dir, NULL), 2);
    cr_expect(strncmp(se, "fligru: ", 8) == 0, "%s", se);
    free(se);
    /* output path is a regular file: an I/O error, exit 2, no temporaries */
    cr_expect_eq(tu_run_cli(NULL, &se, "synth", cfg, "-o", cfg, NULL), 2);
    free(se);
    cr_expect_eq(tu_count_tmp(dir), 0);
    free(cfg); free(img); free(dir);
}
