/* test_reference_model.c - the committed reference student still does its job:
 * it loads, has the published parameter count, and deconvolves fresh held-out
 * data (a seed it never saw) to R2 > 0.98, float and 8-bit quantised. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "fligru/model_io.h"
#include "testutil.h"

#define MODEL FLIGRU_SOURCE_DIR "/results/models/student32.safetensors"

static double score_r2(const char *pred, const char *truth)
{
    char *out, *err;
    cr_assert(eq(int, tu_run_cli(&out, &err, "score", pred, truth, "--json", NULL), 0), "%s", err);
    free(err);
    cJSON *j = cJSON_Parse(out);
    cr_assert(j != NULL);
    double r2 = cJSON_GetObjectItem(j, "r2")->valuedouble;
    cJSON_Delete(j);
    free(out);
    return r2;
}

Test(reference_model, student32_loads_and_scores_on_unseen_data, .timeout = 300)
{
    fl_s2s m;
    cr_assert_eq(fl_model_load(MODEL, &m, NULL), FL_OK, "%s", fl_error());
    cr_assert(eq(sz, m.n_params, 6627));
    fl_s2s_free(&m);

    char *dir = tu_tmpdir("refmodel");
    char data[4200], tpsf[4200], truth[4200], pred[4200], q[4200], predq[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(tpsf, sizeof tpsf, "%s/data/tpsf.npy", dir);
    snprintf(truth, sizeof truth, "%s/data/target.npy", dir);
    snprintf(pred, sizeof pred, "%s/pred.npy", dir);
    snprintf(q, sizeof q, "%s/q8.safetensors", dir);
    snprintf(predq, sizeof predq, "%s/predq.npy", dir);
    char *err;
    cr_assert(eq(int, tu_run_cli(NULL, &err, "synth", FLIGRU_SOURCE_DIR "/configs/synth-default.yaml",
                                 "-o", data, "--seed", "12345", "--samples", "1000", NULL), 0), "%s", err);
    free(err);
    cr_assert(eq(int, tu_run_cli(NULL, &err, "predict", MODEL, tpsf, pred, NULL), 0), "%s", err);
    free(err);
    double r2 = score_r2(pred, truth);
    cr_assert(r2 > 0.98, "float R2 %g", r2);
    cr_assert(eq(int, tu_run_cli(NULL, &err, "quantize", MODEL, "--config",
                                 FLIGRU_SOURCE_DIR "/configs/fx-default.yaml", "-o", q, NULL), 0), "%s", err);
    free(err);
    cr_assert(eq(int, tu_run_cli(NULL, &err, "predict", q, tpsf, predq, NULL), 0), "%s", err);
    free(err);
    double r2q = score_r2(predq, truth);
    cr_assert(r2q > 0.98, "8-bit R2 %g", r2q);
    cr_assert(r2q < r2 + 0.002, "quantised %g better than float %g by more than noise", r2q, r2);
    free(dir);
}
