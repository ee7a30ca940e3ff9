/* cli_model.c - load any fligru model file behind one forward call (the
 * float Seq2Seq and the fixed-point one), for predict and compare. */
#include "cli.h"
#include "fligru/fxmodel.h"
#include "fligru/model_io.h"
#include "fligru/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- float Seq2Seq ("fligru-seq2seq") ------------------------------------- */

static fl_status s2s_forward(void *ctx, const float *x, size_t n, int T, float *y)
{
    return fl_s2s_forward(ctx, x, n, T, y);
}

static void s2s_release(void *ctx)
{
    fl_s2s_free(ctx);
    free(ctx);
}

static fl_status s2s_open(const fl_st_file *f, const char *path, cli_predictor *p)
{
    fl_s2s *m = malloc(sizeof *m);
    if (!m) return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    fl_status st = fl_model_from_st(f, path, m);
    if (st) {
        free(m);
        return st;
    }
    *p = (cli_predictor){m->cfg.input, m->cfg.outputs, m, s2s_forward, s2s_release};
    return FL_OK;
}

/* ---- fixed-point Seq2Seq ("fligru-fx-seq2seq", fxmodel.h) ------------------ */

static fl_status fx_forward(void *ctx, const float *x, size_t n, int T, float *y)
{
    return fl_fx_predict(ctx, x, n, T, y);
}

static void fx_release(void *ctx)
{
    fl_fx_model_free(ctx);
    free(ctx);
}

static fl_status fx_open(const fl_st_file *f, const char *path, cli_predictor *p)
{
    fl_fx_model *q = malloc(sizeof *q);
    if (!q) return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    fl_status st = fl_fx_from_st(f, path, q);
    if (st) {
        free(q);
        return st;
    }
    *p = (cli_predictor){q->cfg.input, q->cfg.outputs, q, fx_forward, fx_release};
    return FL_OK;
}

/* Model kinds by "format": a new kind adds its entry here, with an open
 * function filling a predictor. */
static const struct {
    const char *format;
    fl_status (*open)(const fl_st_file *f, const char *path, cli_predictor *p);
} FORMATS[] = {
    {FL_MODEL_FORMAT, s2s_open},
    {FL_FX_FORMAT, fx_open},
};
#define N_FORMATS (sizeof FORMATS / sizeof FORMATS[0])

fl_status cli_open_model(const char *path, cli_predictor *p)
{
    fl_st_file f;
    fl_status st = fl_st_load(path, &f);
    if (st) return st;
    const char *fmt = fl_st_meta(&f, "format");
    if (!fmt) {
        st = fl_fail(FL_E_INPUT, "%s: __metadata__ has no \"format\": not a fligru model file", path);
    } else {
        size_t i = 0;
        while (i < N_FORMATS && strcmp(fmt, FORMATS[i].format)) ++i;
        if (i < N_FORMATS) {
            st = FORMATS[i].open(&f, path, p);
        } else {
            char known[256] = "";
            for (size_t k = 0; k < N_FORMATS; ++k)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "",
                         FORMATS[k].format);
            st = fl_fail(FL_E_INPUT, "%s: format \"%s\" is not a model fligru predict runs (known: %s)",
                         path, fmt, known);
        }
    }
    fl_st_free(&f);
    return st;
}
