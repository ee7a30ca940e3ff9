/* test_fit_cli.c - `fligru fit` and `fligru compare` end to end: lifetimes of
 * synthesised data, image maps, a comparison CSV whose figures are recomputed
 * from the files beside it, and every rejection as one line, nothing written. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/lifetime.h"
#include "fligru/npy.h"
#include "testutil.h"

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

static fl_npy load(const char *dir, const char *name)
{
    char *p = path_in(dir, name);
    fl_npy a;
    cr_assert_eq(fl_npy_load(p, &a), FL_OK, "%s", fl_error());
    free(p);
    return a;
}

/* fligru synth with a small config; returns the data directory. */
static char *synth(const char *dir, const char *yaml)
{
    char *cfg = tu_write_file(dir, "synth.yaml", yaml), *data = path_in(dir, "data"), *err;
    cr_assert_eq(tu_run_cli(NULL, &err, "synth", cfg, "-o", data, NULL), 0, "%s", err);
    free(err);
    free(cfg);
    return data;
}

Test(fit_cli, noiseless_synth_data_recover_their_lifetimes)
{
    char *dir = tu_tmpdir("fitcli"), *out = path_in(dir, "out"), *so, *se;
    char *data = synth(dir, "samples: 12\nseed: 5\nchannels: 1\nnoise: {enabled: false}\n"
                            "decay: {tau1_ns: [0.25, 0.45], tau2_ns: [1.1, 1.5], fraction: [0.3, 0.7]}\n");
    char *tpsf = path_in(data, "tpsf.npy"), *irf = path_in(data, "irf.npy");
    int rc = tu_run_cli(&so, &se, "fit", tpsf, "--irf", irf, "-o", out, NULL);
    cr_assert_eq(rc, 0, "%s", se);
    cr_assert(strstr(so, "12 pixels: 12 ok, 0 mono fallback, 0 failed") != NULL, "%s", so);
    free(so);
    free(se);
    fl_npy par = load(data, "params.npy"), t1 = load(out, "tau1.npy"), t2 = load(out, "tau2.npy"),
           a = load(out, "a.npy"), tm = load(out, "tau_m.npy"), st = load(out, "status.npy");
    for (size_t i = 0; i < 12; ++i) {
        const float *p = fl_npy_f32(&par) + 3 * i;
        double m = fl_lifetime_tau_m(p[0], p[1], p[2]);
        cr_assert(fabs(fl_npy_f32(&t1)[i] - p[0]) < 0.01 * p[0], "pixel %zu tau1 %g vs %g", i, fl_npy_f32(&t1)[i], p[0]);
        cr_assert(fabs(fl_npy_f32(&t2)[i] - p[1]) < 0.01 * p[1], "pixel %zu tau2", i);
        cr_assert(fabs(fl_npy_f32(&a)[i] - p[2]) < 0.01 * p[2], "pixel %zu a", i);
        cr_assert(fabs(fl_npy_f32(&tm)[i] - m) < 0.01 * m, "pixel %zu tau_m", i);
        cr_assert_eq(((unsigned char *)st.data)[i], 0);
    }
    /* RLD on the same data: one lifetime per pixel, between tau1 and tau2. */
    char *out2 = path_in(dir, "rld");
    cr_assert_eq(tu_run_cli(NULL, NULL, "fit", tpsf, "--irf", irf, "-o", out2, "--method", "rld", NULL), 0);
    fl_npy r = load(out2, "tau_m.npy");
    for (size_t i = 0; i < 12; ++i) {
        const float *p = fl_npy_f32(&par) + 3 * i;
        cr_assert(fl_npy_f32(&r)[i] > p[0] && fl_npy_f32(&r)[i] < p[1], "pixel %zu rld %g", i, fl_npy_f32(&r)[i]);
    }
    fl_npy_free(&par);
    fl_npy_free(&t1);
    fl_npy_free(&t2);
    fl_npy_free(&a);
    fl_npy_free(&tm);
    fl_npy_free(&st);
    fl_npy_free(&r);
    free(tpsf);
    free(irf);
    free(out2);
    free(data);
    free(out);
    free(dir);
}

Test(fit_cli, images_give_maps_and_threads_do_not_matter)
{
    char *dir = tu_tmpdir("fitcli"), *o1 = path_in(dir, "o1"), *o2 = path_in(dir, "o2"), *se;
    char *data = synth(dir, "seed: 3\nimage: {enabled: true, digit_size: 8, tiles: [1, 2]}\n"
                            "noise: {photons: [2000, 2000]}\n");
    char *tpsf = path_in(data, "tpsf.npy"), *irf = path_in(data, "irf.npy");
    cr_assert_eq(tu_run_cli(NULL, &se, "fit", tpsf, "--irf", irf, "-o", o1, "--threads", "1", NULL), 0, "%s", se);
    free(se);
    cr_assert_eq(tu_run_cli(NULL, NULL, "fit", tpsf, "--irf", irf, "-o", o2, "--threads", "2", "--no-plot", NULL), 0);
    const char *files[] = {"tau1.npy", "tau2.npy", "a.npy", "tau_m.npy", "status.npy"};
    for (int k = 0; k < 5; ++k) {
        size_t l1, l2;
        char *p1 = path_in(o1, files[k]), *p2 = path_in(o2, files[k]);
        unsigned char *b1 = tu_read_all(p1, &l1), *b2 = tu_read_all(p2, &l2);
        cr_assert(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0, "%s differs between 1 and 2 threads", files[k]);
        free(b1);
        free(b2);
        free(p1);
        free(p2);
    }
    fl_npy tm = load(o1, "tau_m.npy");
    cr_assert_eq(tm.ndim, 2);
    cr_assert_eq(tm.shape[0], 8);
    cr_assert_eq(tm.shape[1], 16);
    size_t len;
    char *png1 = path_in(o1, "tau_m.png"), *png2 = path_in(o2, "tau_m.png");
    unsigned char *png = tu_read_all(png1, &len);
    cr_assert(png && len > 1000 && memcmp(png, "\x89PNG", 4) == 0);
    cr_assert_eq(tu_exists(png2), 0);
    cr_assert_eq(tu_count_tmp(o1), 0);
    fl_npy_free(&tm);
    free(png);
    free(png1);
    free(png2);
    free(tpsf);
    free(irf);
    free(data);
    free(o1);
    free(o2);
    free(dir);
}

/* Exit 2, nothing on stdout, one line naming needle, out not created. */
static void rejects(const char *out, const char *needle, ...)
{
    const char *argv[12] = {0};
    int n = 0;
    va_list ap;
    va_start(ap, needle);
    for (const char *a = va_arg(ap, const char *); a && n < 11; a = va_arg(ap, const char *)) argv[n++] = a;
    va_end(ap);
    char *so, *se;
    int rc = tu_run_cli(&so, &se, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], argv[7],
                        argv[8], argv[9], argv[10], NULL);
    cr_assert_eq(rc, 2, "rc %d: %s", rc, se);
    cr_assert_str_empty(so);
    size_t len = strlen(se);
    cr_assert(len > 0 && strchr(se, '\n') == se + len - 1, "not one line: %s", se);
    cr_assert(strstr(se, needle) != NULL, "'%s' not in: %s", needle, se);
    cr_assert_eq(tu_exists(out), 0, "%s was created", out);
    free(so);
    free(se);
}

static char *save_zeros(const char *dir, const char *name, int ndim, size_t d0, size_t d1, float fill, long nan_at)
{
    size_t shape[2] = {d0, d1};
    fl_npy a;
    cr_assert_eq(fl_npy_alloc(&a, FL_F32, ndim, shape), FL_OK);
    for (size_t i = 0; i < a.count; ++i) fl_npy_f32(&a)[i] = fill;
    if (nan_at >= 0) fl_npy_f32(&a)[nan_at] = NAN;
    char *p = path_in(dir, name);
    cr_assert_eq(fl_npy_save(p, &a), FL_OK);
    fl_npy_free(&a);
    return p;
}

Test(fit_cli, bad_input_is_one_line_and_writes_nothing)
{
    char *dir = tu_tmpdir("fitcli"), *out = path_in(dir, "out");
    char *tpsf = save_zeros(dir, "tpsf.npy", 2, 4, 135, 0.5f, -1);
    char *irf = save_zeros(dir, "irf.npy", 2, 4, 135, 0.01f, -1);
    char *irf134 = save_zeros(dir, "irf134.npy", 2, 4, 134, 0.01f, -1);
    char *irf1 = save_zeros(dir, "irf1.npy", 1, 135, 0, 0.01f, -1);
    char *irf5 = save_zeros(dir, "irf5.npy", 2, 5, 135, 0.01f, -1);
    char *nan = save_zeros(dir, "nan.npy", 2, 4, 135, 0.5f, 17);
    char *neg = save_zeros(dir, "neg.npy", 2, 4, 135, -0.01f, -1);
    char *rank1 = save_zeros(dir, "rank1.npy", 1, 135, 0, 0.5f, -1);
    rejects(out, "--irf", "fit", tpsf, "-o", out, NULL);
    rejects(out, "irf134.npy", "fit", tpsf, "--irf", irf134, "-o", out, NULL);
    rejects(out, "T = 134", "fit", tpsf, "--irf", irf134, "-o", out, NULL);
    rejects(out, "irf5.npy", "fit", tpsf, "--irf", irf5, "-o", out, NULL);
    rejects(out, "nan.npy", "fit", nan, "--irf", irf, "-o", out, NULL);
    rejects(out, "nan.npy", "fit", tpsf, "--irf", nan, "-o", out, NULL);
    rejects(out, "neg.npy", "fit", tpsf, "--irf", neg, "-o", out, NULL);
    rejects(out, "rank1.npy", "fit", rank1, "--irf", irf1, "-o", out, NULL);
    char *missing = path_in(dir, "missing.npy");
    rejects(out, "missing.npy", "fit", tpsf, "--irf", missing, "-o", out, NULL);
    rejects(out, "--method", "fit", tpsf, "--irf", irf, "-o", out, "--method", "lm", NULL);
    /* A shared [T] IRF is fine. */
    cr_assert_eq(tu_run_cli(NULL, NULL, "fit", tpsf, "--irf", irf1, "-o", out, "--method", "mono", NULL), 0);
    free(missing);
    free(tpsf);
    free(irf);
    free(irf134);
    free(irf1);
    free(irf5);
    free(nan);
    free(neg);
    free(rank1);
    free(out);
    free(dir);
}

/* The CSV's row for method m at photons p, split into fields. */
static int csv_row(const char *csv, const char *m, const char *p, double v[17])
{
    char key[128];
    snprintf(key, sizeof key, "\n%s,%s,", m, p);
    const char *s = strstr(csv, key);
    if (!s) return 0;
    s += strlen(m) + 2;
    for (int k = 1; k < 17; ++k) {
        char *end;
        v[k] = strtod(s, &end);
        s = end + 1;
    }
    return 1;
}

/* bias, population std and failures of tau_m recomputed from est and truth. */
static void recompute(const char *dir, const char *est_name, const char *truth_name, double *bias, double *sd,
                      size_t *fails)
{
    fl_npy e = load(dir, est_name), t = load(dir, truth_name);
    size_t n = t.shape[0], k = 0;
    double s = 0, s2 = 0;
    *fails = 0;
    for (size_t i = 0; i < n; ++i) {
        const float *q = fl_npy_f32(&t) + 3 * i;
        double est = fl_npy_f32(&e)[4 * i + 3];
        if (isnan(est)) {
            ++*fails;
            continue;
        }
        double err = est - fl_lifetime_tau_m(q[0], q[1], q[2]);
        s += err;
        ++k;
    }
    *bias = s / (double)k;
    for (size_t i = 0; i < n; ++i) {
        const float *q = fl_npy_f32(&t) + 3 * i;
        double est = fl_npy_f32(&e)[4 * i + 3];
        if (!isnan(est)) s2 += pow(est - fl_lifetime_tau_m(q[0], q[1], q[2]) - *bias, 2);
    }
    *sd = sqrt(s2 / (double)k);
    fl_npy_free(&e);
    fl_npy_free(&t);
}

/* Removes the last comma-separated field of every line, in place. */
static void drop_last_column(char *s)
{
    char *w = s;
    while (*s) {
        char *nl = strchr(s, '\n'), *end = nl ? nl : s + strlen(s), *c = end;
        while (c > s && *c != ',') --c;
        size_t keep = (size_t)(c - s);
        memmove(w, s, keep);
        w += keep;
        *w++ = '\n';
        s = nl ? nl + 1 : end;
    }
    *w = '\0';
}

Test(fit_cli, compare_csv_holds_the_figures_it_claims, .timeout = 60)
{
    char *dir = tu_tmpdir("fitcli"), *o1 = path_in(dir, "c1"), *o2 = path_in(dir, "c2"), *se;
    char model[4096];
    snprintf(model, sizeof model, "%s/results/models/student32.safetensors", FLIGRU_SOURCE_DIR);
    int rc = tu_run_cli(NULL, &se, "compare", "--model", model, "--samples", "120", "--photons", "300,3000", "-o",
                        o1, "--threads", "2", NULL);
    cr_assert_eq(rc, 0, "%s", se);
    free(se);
    size_t len;
    char *csv1 = path_in(o1, "compare.csv");
    char *csv = (char *)tu_read_all(csv1, &len);
    const char *head = "method,photons,n,failures,failure_rate,fallbacks,tau_m_bias,tau_m_std,";
    cr_assert(csv && strncmp(csv, head, strlen(head)) == 0, "%s", csv);
    const char *methods[] = {"student32", "fit", "rld"};
    const char *budgets[] = {"300", "3000"};
    for (int m = 0; m < 3; ++m)
        for (int b = 0; b < 2; ++b) {
            double v[17];
            cr_assert(csv_row(csv, methods[m], budgets[b], v), "no row %s,%s in\n%s", methods[m], budgets[b], csv);
            char en[64], tn[64];
            snprintf(en, sizeof en, "est-%s-%s.npy", methods[m], budgets[b]);
            snprintf(tn, sizeof tn, "truth-%s.npy", budgets[b]);
            double bias, sd;
            size_t fails;
            recompute(o1, en, tn, &bias, &sd, &fails);
            cr_assert(eq(dbl, v[2], 120));
            cr_assert(eq(dbl, v[3], (double)fails), "%s %s failures", methods[m], budgets[b]);
            cr_assert(fabs(v[4] - (double)fails / 120) < 1e-6);
            cr_assert(fabs(v[6] - bias) <= 1e-5 * fmax(1.0, fabs(bias)) + 1e-6, "%s %s bias %g vs %g", methods[m],
                      budgets[b], v[6], bias);
            cr_assert(fabs(v[7] - sd) <= 1e-5 * sd + 1e-6, "%s %s std %g vs %g", methods[m], budgets[b], v[7], sd);
            cr_assert(v[16] > 0, "pixels/s");
        }
    /* The fit is better at 3000 photons than at 300. */
    double lo[17], hi[17];
    csv_row(csv, "fit", "300", lo);
    csv_row(csv, "fit", "3000", hi);
    cr_assert(hi[7] < lo[7], "fit spread %g at 3000 vs %g at 300", hi[7], lo[7]);
    size_t plen;
    char *png1 = path_in(o1, "compare.png");
    unsigned char *png = tu_read_all(png1, &plen);
    cr_assert(png && plen > 1000 && memcmp(png, "\x89PNG", 4) == 0);

    /* One thread: the same CSV but for pixels/s (the last column). */
    cr_assert_eq(tu_run_cli(NULL, NULL, "compare", "--model", model, "--samples", "120", "--photons", "300,3000",
                            "-o", o2, "--threads", "1", "--no-plot", NULL), 0);
    char *csv2p = path_in(o2, "compare.csv"), *png2 = path_in(o2, "compare.png");
    char *csv2 = (char *)tu_read_all(csv2p, &len);
    drop_last_column(csv);
    drop_last_column(csv2);
    cr_assert_str_eq(csv, csv2);
    cr_assert_eq(tu_exists(png2), 0);
    free(csv);
    free(csv2);
    free(png);
    free(csv1);
    free(csv2p);
    free(png1);
    free(png2);
    free(o1);
    free(o2);
    free(dir);
}

Test(fit_cli, compare_rejects_bad_input)
{
    char *dir = tu_tmpdir("fitcli"), *out = path_in(dir, "out");
    char *missing = path_in(dir, "missing.safetensors");
    rejects(out, "missing.safetensors", "compare", "--model", missing, "-o", out, NULL);
    rejects(out, "--photons", "compare", "-o", out, "--photons", "300,abc", NULL);
    char *img = tu_write_file(dir, "img.yaml", "image: {enabled: true}\n");
    rejects(out, "img.yaml", "compare", "--config", img, "-o", out, NULL);
    free(missing);
    free(img);
    free(out);
    free(dir);
}
