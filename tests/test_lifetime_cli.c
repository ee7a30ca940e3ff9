/* test_lifetime_cli.c - `fligru lifetime` end to end: 3- and 1-channel
 * predictions, image maps, and every rejection as one line, nothing written. */
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

#define T  135
#define DT 0.09

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

/* n decays (tau1 = 0.3 + 0.05 i, tau2 = 1.2, a = 0.5) as [.., T, c]. */
static char *save_pred(const char *dir, const char *name, int ndim, const size_t *lead, size_t c)
{
    size_t shape[4], n = 1;
    for (int d = 0; d < ndim - 2; ++d) n *= (shape[d] = lead[d]);
    shape[ndim - 2] = T;
    shape[ndim - 1] = c;
    fl_npy a;
    cr_assert_eq(fl_npy_alloc(&a, FL_F32, ndim, shape), FL_OK);
    float *v = fl_npy_f32(&a);
    for (size_t i = 0; i < n; ++i) {
        double t1 = 0.3 + 0.05 * (double)i, t2 = 1.2, w = 0.5;
        for (size_t k = 0; k < T; ++k) {
            double s = w * exp(-(double)k * DT / t1), l = (1 - w) * exp(-(double)k * DT / t2);
            float *o = v + (i * T + k) * c;
            o[0] = (float)(s + l);
            if (c == 3) o[1] = (float)s, o[2] = (float)l;
        }
    }
    char *p = path_in(dir, name);
    cr_assert_eq(fl_npy_save(p, &a), FL_OK, "%s", fl_error());
    fl_npy_free(&a);
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

static void check_lifetimes(const char *dir, size_t n)
{
    fl_npy t1 = load(dir, "tau1.npy"), t2 = load(dir, "tau2.npy"), a = load(dir, "a.npy"), tm = load(dir, "tau_m.npy");
    cr_assert_eq(tm.count, n);
    for (size_t i = 0; i < n; ++i) {
        double w1 = 0.3 + 0.05 * (double)i;
        cr_assert(fabs(fl_npy_f32(&t1)[i] - w1) < 0.01 * w1, "pixel %zu tau1 %g", i, fl_npy_f32(&t1)[i]);
        cr_assert(fabs(fl_npy_f32(&t2)[i] - 1.2) < 0.012, "pixel %zu tau2 %g", i, fl_npy_f32(&t2)[i]);
        cr_assert(fabs(fl_npy_f32(&a)[i] - 0.5) < 0.005, "pixel %zu a %g", i, fl_npy_f32(&a)[i]);
        double m = fl_lifetime_tau_m(w1, 1.2, 0.5);
        cr_assert(fabs(fl_npy_f32(&tm)[i] - m) < 0.01 * m, "pixel %zu tau_m %g", i, fl_npy_f32(&tm)[i]);
    }
    fl_npy_free(&t1);
    fl_npy_free(&t2);
    fl_npy_free(&a);
    fl_npy_free(&tm);
}

Test(lifetime_cli, three_channels_give_the_component_lifetimes)
{
    char *dir = tu_tmpdir("lifecli"), *out = path_in(dir, "out"), *so;
    size_t lead[1] = {6};
    char *p = save_pred(dir, "pred.npy", 3, lead, 3);
    cr_assert_eq(tu_run_cli(&so, NULL, "lifetime", p, "-o", out, NULL), 0);
    cr_assert(strstr(so, "6 pixels") != NULL, "%s", so);
    check_lifetimes(out, 6);
    char *st = path_in(out, "status.npy"), *png = path_in(out, "tau_m.png");
    cr_assert(tu_exists(st) == 0 && tu_exists(png) == 0);
    cr_assert_eq(tu_count_tmp(out), 0);
    free(st);
    free(png);
    free(so);
    free(p);
    free(out);
    free(dir);
}

Test(lifetime_cli, one_channel_is_fitted)
{
    char *dir = tu_tmpdir("lifecli"), *out = path_in(dir, "out");
    size_t lead[1] = {5};
    char *p = save_pred(dir, "pred.npy", 3, lead, 1);
    cr_assert_eq(tu_run_cli(NULL, NULL, "lifetime", p, "-o", out, "--threads", "2", NULL), 0);
    check_lifetimes(out, 5);
    fl_npy s = load(out, "status.npy");
    cr_assert_eq(s.dtype, FL_U8);
    for (size_t i = 0; i < 5; ++i) cr_assert_eq(((unsigned char *)s.data)[i], 0);
    fl_npy_free(&s);
    free(p);
    free(out);
    free(dir);
}

Test(lifetime_cli, images_give_maps)
{
    char *dir = tu_tmpdir("lifecli"), *out = path_in(dir, "out");
    size_t lead[2] = {2, 3};
    char *p = save_pred(dir, "pred.npy", 4, lead, 3);
    char *err;
    cr_assert_eq(tu_run_cli(NULL, &err, "lifetime", p, "-o", out, NULL), 0, "%s", err);
    free(err);
    fl_npy tm = load(out, "tau_m.npy");
    cr_assert_eq(tm.ndim, 2);
    cr_assert_eq(tm.shape[0], 2);
    cr_assert_eq(tm.shape[1], 3);
    fl_npy_free(&tm);
    check_lifetimes(out, 6);
    const char *pngs[] = {"tau1.png", "tau2.png", "a.png", "tau_m.png"};
    for (int q = 0; q < 4; ++q) {
        size_t len = 0;
        char *png = path_in(out, pngs[q]);
        unsigned char *b = tu_read_all(png, &len);
        cr_assert(b && len > 1000 && memcmp(b, "\x89PNG", 4) == 0, "%s is not a PNG", pngs[q]);
        free(b);
        free(png);
    }
    size_t len;
    char *gpath = path_in(out, "map.gp");
    char *gp = (char *)tu_read_all(gpath, &len);
    cr_assert(gp && strstr(gp, "W = 3; H = 2") && strstr(gp, "unit_tau_m = \"ns\""), "%s", gp);
    free(gp);
    free(gpath);
    cr_assert_eq(tu_count_tmp(out), 0);
    free(p);
    free(out);
    free(dir);
}

/* Exit 2, nothing on stdout, one line naming needle, no output directory. */
static void rejects(const char *out, const char *needle, const char *a0, ...)
{
    const char *argv[16];
    int n = 0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && n < 15; a = va_arg(ap, const char *)) argv[n++] = a;
    va_end(ap);
    while (n < 15) argv[n++] = NULL;
    char *so, *se;
    int rc = tu_run_cli(&so, &se, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], argv[7],
                        argv[8], argv[9], NULL);
    cr_assert_eq(rc, 2, "rc %d: %s", rc, se);
    cr_assert_str_empty(so);
    size_t len = strlen(se);
    cr_assert(len > 0 && strchr(se, '\n') == se + len - 1, "not one line: %s", se);
    cr_assert(strstr(se, needle) != NULL, "'%s' not in: %s", needle, se);
    cr_assert(tu_exists(out) == 0, "%s was created", out);
    free(so);
    free(se);
}

Test(lifetime_cli, bad_input_is_one_line_and_writes_nothing)
{
    char *dir = tu_tmpdir("lifecli"), *out = path_in(dir, "out");
    size_t lead[1] = {3};
    char *two = save_pred(dir, "c2.npy", 3, lead, 3);
    /* Two channels. */
    fl_npy a;
    size_t shape[3] = {3, T, 2};
    cr_assert_eq(fl_npy_alloc(&a, FL_F32, 3, shape), FL_OK);
    char *c2 = path_in(dir, "two.npy");
    fl_npy_save(c2, &a);
    /* A NaN. */
    fl_npy_f32(&a)[7] = NAN;
    char *nan = path_in(dir, "nan.npy");
    fl_npy_save(nan, &a);
    fl_npy_free(&a);
    /* Rank 2. */
    size_t s2[2] = {3, T};
    cr_assert_eq(fl_npy_alloc(&a, FL_F32, 2, s2), FL_OK);
    char *r2 = path_in(dir, "rank2.npy");
    fl_npy_save(r2, &a);
    fl_npy_free(&a);
    rejects(out, "two.npy", "lifetime", c2, "-o", out, NULL);
    rejects(out, "channels", "lifetime", c2, "-o", out, NULL);
    rejects(out, "nan.npy", "lifetime", nan, "-o", out, NULL);
    rejects(out, "rank2.npy", "lifetime", r2, "-o", out, NULL);
    char *missing = path_in(dir, "missing.npy");
    rejects(out, "missing.npy", "lifetime", missing, "-o", out, NULL);
    rejects(out, "--gate-width-ns", "lifetime", two, "-o", out, "--gate-width-ns", "-1", NULL);
    rejects(out, "-o", "lifetime", two, NULL);
    free(missing);
    free(two);
    free(c2);
    free(nan);
    free(r2);
    free(out);
    free(dir);
}
