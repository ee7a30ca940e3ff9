/* test_demo.c - the `make demo` pipeline end to end, against the committed
 * reference results/demo/score.json: synth -> baseline -> score. A change in
 * the data generator, the baseline or any metric shows up here as a diff. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Walks both JSON trees; numbers must agree to 1e-9 relative (libm may differ in
 * the last bit across machines), strings and nulls exactly, paths excepted. */
static void compare(const cJSON *want, const cJSON *got, const char *where)
{
    cr_assert(got != NULL, "%s: missing in the new output", where);
    if (cJSON_IsNumber(want)) {
        cr_assert(cJSON_IsNumber(got), "%s: not a number", where);
        double a = want->valuedouble, b = got->valuedouble;
        cr_assert(fabs(a - b) <= 1e-9 * fmax(1.0, fabs(a)), "%s: reference %.17g, now %.17g", where, a, b);
    } else if (cJSON_IsNull(want)) {
        cr_assert(cJSON_IsNull(got), "%s: reference null", where);
    } else if (cJSON_IsObject(want) || cJSON_IsArray(want)) {
        const cJSON *w;
        int i = 0;
        cJSON_ArrayForEach(w, want) {
            char sub[512];
            if (w->string && (!strcmp(w->string, "pred") || !strcmp(w->string, "truth") ||
                              !strcmp(w->string, "params")))
                continue; /* file paths differ between runs */
            snprintf(sub, sizeof sub, "%s.%s", where, w->string ? w->string : "[]");
            const cJSON *g = cJSON_IsObject(want) ? cJSON_GetObjectItemCaseSensitive(got, w->string)
                                                  : cJSON_GetArrayItem(got, i);
            compare(w, g, sub);
            ++i;
        }
    }
}

Test(demo, pipeline_reproduces_reference_scores, .timeout = 300)
{
    char *dir = tu_tmpdir("demo");
    char data[4200], pred[4200], tpsf[4200], target[4200], params[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(pred, sizeof pred, "%s/baseline.npy", dir);
    snprintf(tpsf, sizeof tpsf, "%s/data/tpsf.npy", dir);
    snprintf(target, sizeof target, "%s/data/target.npy", dir);
    snprintf(params, sizeof params, "%s/data/params.npy", dir);
    char *out, *err;
    cr_assert(eq(int, tu_run_cli(NULL, &err, "synth", FLIGRU_SOURCE_DIR "/configs/synth-small.yaml",
                                 "-o", data, NULL), 0), "%s", err);
    free(err);
    cr_assert(eq(int, tu_run_cli(NULL, &err, "baseline", tpsf, "-o", pred, "--channels", "3", NULL), 0),
              "%s", err);
    free(err);
    cr_assert(eq(int, tu_run_cli(&out, &err, "score", pred, target, "--params", params, "--json", NULL), 0),
              "%s", err);
    free(err);
    size_t len;
    char *ref = (char *)tu_read_all(FLIGRU_SOURCE_DIR "/results/demo/score.json", &len);
    cr_assert(ref != NULL, "results/demo/score.json missing");
    ref = realloc(ref, len + 1);
    ref[len] = '\0';
    cJSON *want = cJSON_Parse(ref), *got = cJSON_Parse(out);
    cr_assert(want != NULL && got != NULL, "unparsable JSON");
    /* The figures must be real: a baseline that beats nothing would have R2 < 0.5. */
    cr_assert(cJSON_GetObjectItem(got, "r2")->valuedouble > 0.5);
    cr_assert(eq(int, cJSON_GetObjectItem(got, "n")->valueint, 2000));
    compare(want, got, "score");
    cJSON_Delete(want);
    cJSON_Delete(got);
    free(ref);
    free(out);
    free(dir);
}
