/* test_score_cli.c - `fligru score` and `fligru baseline` end to end: JSON
 * content, the shape rule, and every rejection as one line naming the file. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/npy.h"
#include "testutil.h"

/* Saves data (count floats, or doubles when dt == FL_F64) with the given shape. */
static char *save(const char *dir, const char *name, fl_dtype dt, const double *data, int ndim, ...)
{
    size_t shape[FL_NPY_MAXDIM];
    va_list ap;
    va_start(ap, ndim);
    for (int d = 0; d < ndim; ++d) shape[d] = va_arg(ap, size_t);
    va_end(ap);
    fl_npy a;
    cr_assert_eq(fl_npy_alloc(&a, dt, ndim, shape), FL_OK);
    for (size_t i = 0; i < a.count; ++i) {
        if (dt == FL_F64) fl_npy_f64(&a)[i] = data ? data[i] : 0.0;
        else fl_npy_f32(&a)[i] = data ? (float)data[i] : 0.0f;
    }
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    cr_assert_eq(fl_npy_save(p, &a), FL_OK, "%s", fl_error());
    fl_npy_free(&a);
    return p;
}

/* The hand-worked 2 x 4 example of test_metrics.c. */
static const double TRUTH[8] = {1, 2, 3, 4, 0, 1, 1, 0};
static const double PRED[8] = {1, 2, 3, 6, 0, 0, 1, 1};

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "key %s missing or not a number", key);
    return v->valuedouble;
}

/* Exit 2, nothing on stdout, exactly one line on stderr containing each needle. */
static void expect_one_line_error(int rc, const char *out, const char *err, const char *n1,
                                  const char *n2)
{
    cr_assert_eq(rc, 2, "rc %d, stderr: %s", rc, err);
    cr_assert_str_empty(out);
    size_t len = strlen(err);
    cr_assert(len > 0 && err[len - 1] == '\n' && strchr(err, '\n') == err + len - 1,
              "not one line: %s", err);
    cr_assert(strstr(err, n1) != NULL, "'%s' not named in: %s", n1, err);
    if (n2) cr_assert(strstr(err, n2) != NULL, "'%s' not named in: %s", n2, err);
}

Test(score, json_has_every_key_and_the_hand_values)
{
    char *dir = tu_tmpdir("score");
    char *p = save(dir, "pred.npy", FL_F32, PRED, 2, (size_t)2, (size_t)4);
    char *y = save(dir, "truth.npy", FL_F64, TRUTH, 2, (size_t)2, (size_t)4);
    char *out, *err;
    int rc = tu_run_cli(&out, &err, "score", p, y, "--json", NULL);
    cr_assert_eq(rc, 0, "stderr: %s", err);
    cJSON *j = cJSON_Parse(out);
    cr_assert(j != NULL, "not JSON: %s", out);
    const char *keys[] = {"pred", "truth", "pred_shape", "truth_shape", "n", "t", "channel",
                          "pred_channels", "truth_channels", "dtw_cost", "dtw_band", "rmse",
                          "rmse_std", "rmse_sample_mean", "r2", "r2_std", "r2_excluded", "l2",
                          "l2_std", "dtw", "dtw_std", "lifetime"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; ++k)
        cr_assert(cJSON_HasObjectItem(j, keys[k]), "missing key %s", keys[k]);
    cr_assert(eq(dbl, num(j, "n"), 2));
    cr_assert(eq(dbl, num(j, "t"), 4));
    cr_assert(eq(dbl, num(j, "channel"), 0));
    cr_assert(epsilon_eq(dbl, num(j, "rmse"), sqrt(0.75), 1e-12));
    cr_assert(epsilon_eq(dbl, num(j, "r2"), -0.4, 1e-12));
    cr_assert(epsilon_eq(dbl, num(j, "l2"), (2 + sqrt(2)) / 2, 1e-12));
    cr_assert(epsilon_eq(dbl, num(j, "dtw"), 1.5, 1e-12));
    cr_assert(epsilon_eq(dbl, num(j, "dtw_std"), 0.5, 1e-12));
    cr_assert_str_eq(cJSON_GetObjectItem(j, "dtw_cost")->valuestring, "sq");
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "dtw_band")));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "lifetime")));
    cJSON_Delete(j);
    free(out);
    free(err);

    /* The band and the abs cost reach the kernel: W = 0 gives L2 for sq. */
    rc = tu_run_cli(&out, NULL, "score", p, y, "--json", "--dtw-band", "0", NULL);
    cr_assert_eq(rc, 0);
    j = cJSON_Parse(out);
    cr_assert(eq(dbl, num(j, "dtw"), num(j, "l2")));
    cr_assert(eq(dbl, num(j, "dtw_band"), 0));
    cJSON_Delete(j);
    free(out);
    rc = tu_run_cli(&out, NULL, "score", p, y, "--json", "--dtw-cost", "abs", NULL);
    cr_assert_eq(rc, 0);
    j = cJSON_Parse(out);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "dtw_cost")->valuestring, "abs");
    cJSON_Delete(j);
    free(out);
    free(p);
    free(y);
    free(dir);
}

Test(score, table_by_default)
{
    char *dir = tu_tmpdir("score");
    char *p = save(dir, "pred.npy", FL_F32, PRED, 2, (size_t)2, (size_t)4);
    char *y = save(dir, "truth.npy", FL_F32, TRUTH, 2, (size_t)2, (size_t)4);
    char *out;
    cr_assert_eq(tu_run_cli(&out, NULL, "score", p, y, NULL), 0);
    cr_assert(strstr(out, "RMSE") && strstr(out, "R2") && strstr(out, "DTW") && strstr(out, "0.866025"),
              "%s", out);
    free(out);
    cr_assert_eq(tu_run_cli(&out, NULL, "score", "--help", NULL), 0);
    cr_assert(strstr(out, "--dtw-cost") != NULL);
    free(out);
    free(p);
    free(y);
    free(dir);
}

Test(score, shape_rule_channel_axis_and_images)
{
    /* pred [2,4,3] with the hand data in channels 0 and 1, vs truth [2,4] (rank
     * one lower: C = 1, so only channel 0 exists in both) and vs truth [2,4,3]
     * with the data in channel 1. */
    double p3[24] = {0}, y3[24] = {0};
    for (int k = 0; k < 8; ++k) {
        p3[3 * k] = p3[3 * k + 1] = PRED[k];
        y3[3 * k + 1] = TRUTH[k];
    }
    char *dir = tu_tmpdir("score");
    char *p = save(dir, "p3.npy", FL_F32, p3, 3, (size_t)2, (size_t)4, (size_t)3);
    char *y = save(dir, "y2.npy", FL_F32, TRUTH, 2, (size_t)2, (size_t)4);
    char *y3p = save(dir, "y3.npy", FL_F32, y3, 3, (size_t)2, (size_t)4, (size_t)3);
    char *out, *err;
    int rc = tu_run_cli(&out, &err, "score", p, y, "--json", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cJSON *j = cJSON_Parse(out);
    cr_assert(epsilon_eq(dbl, num(j, "rmse"), sqrt(0.75), 1e-12));
    cr_assert(eq(dbl, num(j, "pred_channels"), 3));
    cr_assert(eq(dbl, num(j, "truth_channels"), 1));
    cJSON_Delete(j);
    free(out);
    free(err);
    rc = tu_run_cli(&out, &err, "score", p, y3p, "--json", "--channel", "1", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    j = cJSON_Parse(out);
    cr_assert(epsilon_eq(dbl, num(j, "dtw"), 1.5, 1e-12));
    cr_assert(eq(dbl, num(j, "channel"), 1));
    cJSON_Delete(j);
    free(out);
    free(err);
    free(p);
    free(y);

    /* Image-shaped: pred [1,2,4,1] vs truth [1,2,4]: the same two samples. */
    p = save(dir, "pimg.npy", FL_F32, PRED, 4, (size_t)1, (size_t)2, (size_t)4, (size_t)1);
    y = save(dir, "yimg.npy", FL_F32, TRUTH, 3, (size_t)1, (size_t)2, (size_t)4);
    rc = tu_run_cli(&out, &err, "score", p, y, "--json", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    j = cJSON_Parse(out);
    cr_assert(eq(dbl, num(j, "n"), 2));
    cr_assert(epsilon_eq(dbl, num(j, "dtw"), 1.5, 1e-12));
    cJSON_Delete(j);
    free(out);
    free(err);

    /* Two [H,W,T] images need --no-channel (else [1,2,4] reads as [N,T,C]). */
    rc = tu_run_cli(&out, &err, "score", y, y, "--json", "--no-channel", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    j = cJSON_Parse(out);
    cr_assert(eq(dbl, num(j, "n"), 2));
    cr_assert(eq(dbl, num(j, "t"), 4));
    cr_assert(eq(dbl, num(j, "rmse"), 0));
    cJSON_Delete(j);
    free(out);
    free(err);
    free(p);
    free(y);
    free(y3p);
    free(dir);
}

Test(score, shape_mismatch_names_both_files)
{
    char *dir = tu_tmpdir("score");
    char *p = save(dir, "predA.npy", FL_F32, NULL, 2, (size_t)2, (size_t)4);
    char *y = save(dir, "truthB.npy", FL_F32, NULL, 2, (size_t)2, (size_t)5);
    char *z = save(dir, "truthC.npy", FL_F32, NULL, 4, (size_t)2, (size_t)4, (size_t)1, (size_t)1);
    char *out, *err;
    int rc = tu_run_cli(&out, &err, "score", p, y, NULL);
    expect_one_line_error(rc, out, err, "predA.npy", "truthB.npy");
    cr_assert(strstr(err, "[2,4]") && strstr(err, "[2,5]"), "%s", err);
    free(out);
    free(err);
    rc = tu_run_cli(&out, &err, "score", p, z, NULL);          /* ranks 2 and 4 */
    expect_one_line_error(rc, out, err, "predA.npy", "truthC.npy");
    free(out);
    free(err);
    free(p);
    free(y);
    free(z);
    free(dir);
}

Test(score, missing_channel_names_both_files)
{
    char *dir = tu_tmpdir("score");
    char *p = save(dir, "predA.npy", FL_F32, NULL, 3, (size_t)2, (size_t)4, (size_t)3);
    char *y = save(dir, "truthB.npy", FL_F32, NULL, 2, (size_t)2, (size_t)4);
    char *out, *err;
    int rc = tu_run_cli(&out, &err, "score", p, y, "--channel", "1", NULL);
    expect_one_line_error(rc, out, err, "predA.npy", "truthB.npy");
    cr_assert(strstr(err, "channel 1") != NULL, "%s", err);
    free(out);
    free(err);
    free(p);
    free(y);
    free(dir);
}

Test(score, nan_in_either_input_is_named)
{
    char *dir = tu_tmpdir("score");
    double bad[8];
    memcpy(bad, PRED, sizeof bad);
    bad[6] = NAN;
    char *pn = save(dir, "predNaN.npy", FL_F32, bad, 2, (size_t)2, (size_t)4);
    char *yn = save(dir, "truthNaN.npy", FL_F64, bad, 2, (size_t)2, (size_t)4);
    char *p = save(dir, "pred.npy", FL_F32, PRED, 2, (size_t)2, (size_t)4);
    char *y = save(dir, "truth.npy", FL_F32, TRUTH, 2, (size_t)2, (size_t)4);
    char *out, *err;
    int rc = tu_run_cli(&out, &err, "score", pn, y, NULL);
    expect_one_line_error(rc, out, err, "predNaN.npy", "[1,2]");
    free(out);
    free(err);
    rc = tu_run_cli(&out, &err, "score", p, yn, NULL);
    expect_one_line_error(rc, out, err, "truthNaN.npy", "NaN");
    free(out);
    free(err);
    free(yn);
    bad[6] = INFINITY;
    yn = save(dir, "truthInf.npy", FL_F64, bad, 2, (size_t)2, (size_t)4);
    rc = tu_run_cli(&out, &err, "score", p, yn, NULL);
    expect_one_line_error(rc, out, err, "truthInf.npy", "Inf");
    free(out);
    free(err);
    free(yn);
    free(pn);
    free(p);
    free(y);
    free(dir);
}

Test(score, truncated_npy_is_named)
{
    char *dir = tu_tmpdir("score");
    char *p = save(dir, "pred.npy", FL_F32, PRED, 2, (size_t)2, (size_t)4);
    char *y = save(dir, "truth.npy", FL_F32, TRUTH, 2, (size_t)2, (size_t)4);
    size_t len;
    unsigned char *bytes = tu_read_all(y, &len);
    char cut[4096];
    snprintf(cut, sizeof cut, "%s/truthCut.npy", dir);
    FILE *f = fopen(cut, "wb");
    fwrite(bytes, 1, len - 5, f);
    fclose(f);
    free(bytes);
    char *out, *err;
    int rc = tu_run_cli(&out, &err, "score", p, cut, NULL);
    expect_one_line_error(rc, out, err, "truthCut.npy", "truncated");
    free(out);
    free(err);
    rc = tu_run_cli(&out, &err, "score", cut, y, NULL);
    expect_one_line_error(rc, out, err, "truthCut.npy", NULL);
    free(out);
    free(err);
    free(p);
    free(y);
    free(dir);
}

Test(score, usage_errors_exit_2)
{
    char *out, *err;
    cr_assert_eq(tu_run_cli(&out, &err, "score", "only-one.npy", NULL), 2);
    free(out);
    free(err);
    cr_assert_eq(tu_run_cli(&out, &err, "score", "a", "b", "--dtw-cost", "l1", NULL), 2);
    free(out);
    free(err);
    cr_assert_eq(tu_run_cli(&out, &err, "score", "a", "b", "--dtw-band", "-1", NULL), 2);
    free(out);
    free(err);
    cr_assert_eq(tu_run_cli(&out, &err, "score", "a", "b", "--threads", "0", NULL), 2);
    free(out);
    free(err);
    cr_assert_eq(tu_run_cli(&out, &err, "score", "a", "b", "--gate-width-ns", "0", NULL), 2);
    free(out);
    free(err);
    cr_assert_eq(tu_run_cli(&out, &err, "score", "missing.npy", "b", NULL), 2);
    cr_assert(strstr(err, "missing.npy") != NULL, "%s", err);
    free(out);
    free(err);
}

/* ---- lifetimes through the CLI, with the baseline as the prediction -------- */

enum { N_LT = 6, T_LT = 135 };

/* Truth components [N][T][3] and params [N][3]; TPSFs = the full decay after a
 * rising edge of 5 gates (what the baseline cuts away). */
static void lifetime_fixture(const char *dir, char **truth, char **params, char **tpsf)
{
    static double dec[N_LT * T_LT * 3], par[N_LT * 3], tp[N_LT * T_LT];
    for (int i = 0; i < N_LT; ++i) {
        double t1 = 0.25 + 0.1 * i, t2 = 0.9 + 0.1 * i, a = 0.2 + 0.1 * i;
        par[3 * i] = t1;
        par[3 * i + 1] = t2;
        par[3 * i + 2] = a;
        for (int k = 0; k < T_LT; ++k) {
            double s = a * exp(-k * 0.09 / t1), l = (1 - a) * exp(-k * 0.09 / t2);
            double *d = dec + (i * T_LT + k) * 3;
            d[0] = s + l;
            d[1] = s;
            d[2] = l;
        }
        for (int k = 0; k < T_LT; ++k)
            tp[i * T_LT + k] = k < 5 ? 0.2 * k : 2.0 * dec[(i * T_LT + k - 5) * 3];
    }
    *truth = save(dir, "decay.npy", FL_F32, dec, 3, (size_t)N_LT, (size_t)T_LT, (size_t)3);
    *params = save(dir, "params.npy", FL_F32, par, 2, (size_t)N_LT, (size_t)3);
    *tpsf = save(dir, "tpsf.npy", FL_F32, tp, 2, (size_t)N_LT, (size_t)T_LT);
}

Test(score, lifetimes_of_exact_components_and_of_the_baseline)
{
    char *dir = tu_tmpdir("score");
    char *truth, *params, *tpsf, *out, *err;
    lifetime_fixture(dir, &truth, &params, &tpsf);
    int rc = tu_run_cli(&out, &err, "score", truth, truth, "--params", params, "--json", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    cJSON *j = cJSON_Parse(out);
    const cJSON *lt = cJSON_GetObjectItem(j, "lifetime");
    cr_assert(cJSON_IsObject(lt));
    cr_assert_str_eq(cJSON_GetObjectItem(lt, "estimator")->valuestring, "exact");
    const char *qs[] = {"tau1", "tau2", "a", "tau_m"};
    for (int q = 0; q < 4; ++q) {
        const cJSON *e = cJSON_GetObjectItem(lt, qs[q]);
        cr_assert(cJSON_IsObject(e), "%s", qs[q]);
        cr_assert(fabs(num(e, "bias")) < 1e-5 && num(e, "mae") < 1e-5, "%s: %s", qs[q], out);
        cr_assert(eq(dbl, num(e, "failures"), 0));
        cr_assert(eq(dbl, num(e, "n"), N_LT));
        num(e, "std");
        num(e, "mre");
        num(e, "mre_n");
    }
    cJSON_Delete(j);
    free(out);
    free(err);

    /* The plain estimator's +dt/2 shows in the same data. */
    rc = tu_run_cli(&out, &err, "score", truth, truth, "--params", params, "--json",
                    "--tau-estimator", "plain", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    j = cJSON_Parse(out);
    double b = num(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "lifetime"), "tau1"), "bias");
    cr_assert(b > 0.045 && b < 0.05, "plain tau1 bias %g", b);
    cJSON_Delete(j);
    free(out);
    free(err);

    /* The baseline: tau2 fails everywhere (counted), tau_m is the tail's lifetime. */
    char pred[4096];
    snprintf(pred, sizeof pred, "%s/base.npy", dir);
    rc = tu_run_cli(&out, &err, "baseline", tpsf, "-o", pred, "--channels", "3", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    free(out);
    free(err);
    rc = tu_run_cli(&out, &err, "score", pred, truth, "--params", params, "--json", NULL);
    cr_assert_eq(rc, 0, "%s", err);
    j = cJSON_Parse(out);
    lt = cJSON_GetObjectItem(j, "lifetime");
    cr_assert(eq(dbl, num(cJSON_GetObjectItem(lt, "tau2"), "failures"), N_LT));
    cr_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(lt, "tau2"), "bias")));
    cr_assert(eq(dbl, num(cJSON_GetObjectItem(lt, "tau_m"), "failures"), 0));
    /* The tail is the decay, but for the 5 zero-padded last gates. */
    cr_assert(epsilon_eq(dbl, num(j, "rmse"), 0, 1e-4), "%s", out);
    cJSON_Delete(j);
    free(out);
    free(err);
    free(truth);
    free(params);
    free(tpsf);
    free(dir);
}

Test(score, params_rejections)
{
    char *dir = tu_tmpdir("score");
    char *truth, *params, *tpsf, *out, *err;
    lifetime_fixture(dir, &truth, &params, &tpsf);
    char *badp = save(dir, "paramsBad.npy", FL_F32, NULL, 2, (size_t)N_LT + 1, (size_t)3);
    int rc = tu_run_cli(&out, &err, "score", truth, truth, "--params", badp, NULL);
    expect_one_line_error(rc, out, err, "paramsBad.npy", "decay.npy");
    free(out);
    free(err);
    rc = tu_run_cli(&out, &err, "score", tpsf, tpsf, "--params", params, NULL);
    expect_one_line_error(rc, out, err, "tpsf.npy", "3-channel");
    free(out);
    free(err);
    double nanp[N_LT * 3] = {NAN};
    char *nanpar = save(dir, "paramsNaN.npy", FL_F32, nanp, 2, (size_t)N_LT, (size_t)3);
    rc = tu_run_cli(&out, &err, "score", truth, truth, "--params", nanpar, NULL);
    expect_one_line_error(rc, out, err, "paramsNaN.npy", "NaN");
    free(out);
    free(err);
    free(badp);
    free(nanpar);
    free(truth);
    free(params);
    free(tpsf);
    free(dir);
}

Test(score, output_identical_for_one_and_two_threads)
{
    char *dir = tu_tmpdir("score");
    char *truth, *params, *tpsf, *pred, *o1, *o2;
    lifetime_fixture(dir, &truth, &params, &tpsf);
    pred = malloc(4096);
    snprintf(pred, 4096, "%s/base.npy", dir);
    cr_assert_eq(tu_run_cli(NULL, NULL, "baseline", tpsf, "-o", pred, "--channels", "3", NULL), 0);
    cr_assert_eq(tu_run_cli(&o1, NULL, "score", pred, truth, "--params", params, "--json",
                            "--threads", "1", NULL), 0);
    cr_assert_eq(tu_run_cli(&o2, NULL, "score", pred, truth, "--params", params, "--json",
                            "--threads", "2", NULL), 0);
    cr_assert_str_eq(o1, o2);
    free(o1);
    free(o2);
    free(pred);
    free(truth);
    free(params);
    free(tpsf);
    free(dir);
}

/* ---- baseline -------------------------------------------------------------- */

Test(baseline, tail_from_peak_normalised_and_padded)
{
    /* [2,3,5] images of 5 gates: peak at gate 2 (value 4) or none at all. */
    double tp[30] = {0};
    for (int i = 0; i < 5; ++i) {
        double *x = tp + 5 * i;
        x[0] = 1, x[1] = 2, x[2] = 4, x[3] = 2, x[4] = 1;
    }
    char *dir = tu_tmpdir("baseline");
    char *in = save(dir, "tpsf.npy", FL_F64, tp, 3, (size_t)2, (size_t)3, (size_t)5);
    char out[4096];
    snprintf(out, sizeof out, "%s/pred.npy", dir);
    char *so, *se;
    int rc = tu_run_cli(&so, &se, "baseline", in, "-o", out, "--channels", "3", NULL);
    cr_assert_eq(rc, 0, "%s", se);
    cr_assert(strstr(se, "1 TPSFs without a positive peak") != NULL, "%s", se);
    free(so);
    free(se);
    cr_assert_eq(tu_count_tmp(dir), 0);
    fl_npy a;
    cr_assert_eq(fl_npy_load(out, &a), FL_OK);
    cr_assert_eq(a.dtype, FL_F32);
    cr_assert_eq(a.ndim, 4);
    cr_assert(a.shape[0] == 2 && a.shape[1] == 3 && a.shape[2] == 5 && a.shape[3] == 3);
    const float *y = fl_npy_f32(&a);
    const float want[5] = {1, 0.5f, 0.25f, 0, 0};
    for (int k = 0; k < 5; ++k) {
        cr_assert(eq(flt, y[3 * k], want[k]));
        cr_assert(eq(flt, y[3 * k + 1], want[k]));
        cr_assert(eq(flt, y[3 * k + 2], 0.0f));
    }
    for (int k = 0; k < 15; ++k) cr_assert(eq(flt, y[5 * 15 + k], 0.0f));  /* the empty TPSF */
    fl_npy_free(&a);

    rc = tu_run_cli(NULL, &se, "baseline", in, "-o", out, NULL);   /* default: 1 channel */
    cr_assert_eq(rc, 0, "%s", se);
    free(se);
    cr_assert_eq(fl_npy_load(out, &a), FL_OK);
    cr_assert(a.ndim == 4 && a.shape[3] == 1);
    cr_assert(eq(flt, fl_npy_f32(&a)[1], 0.5f));
    fl_npy_free(&a);
    free(in);
    free(dir);
}

Test(baseline, rejections)
{
    char *dir = tu_tmpdir("baseline");
    double bad[4] = {1, NAN, 0, 0};
    char *nan = save(dir, "tpsfNaN.npy", FL_F32, bad, 2, (size_t)1, (size_t)4);
    char *one = save(dir, "tpsf1d.npy", FL_F32, NULL, 1, (size_t)4);
    char out[4096], *so, *se;
    snprintf(out, sizeof out, "%s/pred.npy", dir);
    int rc = tu_run_cli(&so, &se, "baseline", nan, "-o", out, NULL);
    expect_one_line_error(rc, so, se, "tpsfNaN.npy", "NaN");
    free(so);
    free(se);
    rc = tu_run_cli(&so, &se, "baseline", one, "-o", out, NULL);
    expect_one_line_error(rc, so, se, "tpsf1d.npy", "[4]");
    free(so);
    free(se);
    cr_assert(not(tu_exists(out)));
    cr_assert_eq(tu_run_cli(NULL, NULL, "baseline", nan, NULL), 2);               /* no -o */
    cr_assert_eq(tu_run_cli(NULL, NULL, "baseline", nan, "-o", out, "--channels", "2", NULL), 2);
    free(nan);
    free(one);
    free(dir);
}
