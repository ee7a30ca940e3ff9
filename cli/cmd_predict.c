/* cmd_predict.c - `fligru predict MODEL.safetensors IN.npy OUT.npy`: run a saved
 * model over TPSFs. The model kind is chosen by the file's "format" metadata. */
#include "cli.h"
#include "fligru/io.h"
#include "fligru/npy.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *HELP =
    "usage: fligru predict MODEL.safetensors IN.npy OUT.npy [options]\n\n"
    "Runs a saved model (docs/model-files.md) over every sequence of IN and writes\n"
    "its outputs, float32, to OUT (atomically: on any error OUT is not created).\n\n"
    "Shapes (F: the model's input features per step, C: its outputs per step):\n"
    "  [N,T]    -> [N,T,C]        [H,W,T]    -> [H,W,T,C]      (F = 1)\n"
    "  [N,T,F]  -> [N,T,C]        [H,W,T,F]  -> [H,W,T,C]\n"
    "With F = 1 a 3-d input is [H,W,T] unless its last axis is 1 ([N,T,1]).\n"
    "IN is float32 or float64 and finite; any T works (the network is recurrent).\n\n"
    "options:\n"
    "  --batch B     sequences per forward call (default 4096; bounds the memory)\n"
    "  --threads N   worker threads (results do not depend on it)\n";

#define DEFAULT_BATCH 4096

/* ---- input ------------------------------------------------------------------ */

typedef struct {
    size_t n, T;
    int    sample_axes;   /* 1: [N,...], 2: [H,W,...] */
} layout;

static fl_status input_layout(const fl_npy *a, const char *in, const char *model, int F, layout *l)
{
    char s[200];
    fl_npy_shape_str(a, s, sizeof s);
    size_t feat;
    switch (a->ndim) {
    case 2: l->sample_axes = 1; feat = 1; break;
    case 3:
        /* F = 1: [N,T,1] or [H,W,T]; F > 1: [N,T,F]. */
        if (F == 1 && a->shape[2] != 1) { l->sample_axes = 2; feat = 1; }
        else { l->sample_axes = 1; feat = a->shape[2]; }
        break;
    case 4: l->sample_axes = 2; feat = a->shape[3]; break;
    default:
        return fl_fail(FL_E_INPUT, "%s: shape %s: expected [N,T], [H,W,T], [N,T,F] or [H,W,T,F]", in, s);
    }
    if (feat != (size_t)F)
        return fl_fail(FL_E_INPUT, "%s: shape %s: %zu feature%s per step, but %s expects %d", in, s,
                       feat, feat == 1 ? "" : "s", model, F);
    l->T = a->shape[l->sample_axes];
    l->n = 1;
    for (int d = 0; d < l->sample_axes; ++d) l->n *= a->shape[d];
    if (l->T == 0) return fl_fail(FL_E_INPUT, "%s: shape %s: no time steps", in, s);
    if (l->T > INT_MAX) return fl_fail(FL_E_INPUT, "%s: shape %s: too many time steps", in, s);
    return FL_OK;
}

/* ---- command ---------------------------------------------------------------- */

typedef struct {
    const char *model, *in, *out;
    size_t      batch;
    int         threads;
} predict_opts;

enum { O_BATCH = 256, O_THREADS };

static int on_opt(void *ctx, int key, const char *arg)
{
    predict_opts *o = ctx;
    long v;
    switch (key) {
    case O_BATCH:
        if (cli_parse_long(arg, 1, 1L << 30, &v)) return cli_usage_error("predict", "--batch: '%s' is not a count >= 1", arg);
        o->batch = (size_t)v;
        return -1;
    case O_THREADS:
        return cli_opt_threads("predict", arg, &o->threads);
    default: return cli_usage_error("predict", "unknown option");
    }
}

static int parse_args(int argc, char **argv, predict_opts *o)
{
    static const struct option opts[] = {{"batch", required_argument, 0, O_BATCH},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const cli_spec spec = {"predict", HELP, "h", opts, on_opt, 3, 3, "expected MODEL.safetensors IN.npy OUT.npy"};
    *o = (predict_opts){.batch = DEFAULT_BATCH};
    int first, rc = cli_parse_args(&spec, argc, argv, o, &first);
    if (rc >= 0) return rc;
    o->model = argv[first];
    o->in = argv[first + 1];
    o->out = argv[first + 2];
    return -1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static fl_status run(const predict_opts *o, const cli_predictor *p, const fl_npy *x, double *secs)
{
    layout l = {0, 0, 0};
    fl_status st = input_layout(x, o->in, o->model, p->input, &l);
    if (st) return st;
    size_t shape[4] = {x->shape[0], x->shape[1], 0, 0};
    shape[l.sample_axes] = l.T;
    shape[l.sample_axes + 1] = (size_t)p->outputs;
    fl_npy y;
    if ((st = fl_npy_alloc(&y, FL_F32, l.sample_axes + 2, shape))) return st;
    size_t in_step = l.T * (size_t)p->input, out_step = l.T * (size_t)p->outputs;
    double t0 = now_s();
    for (size_t i = 0; !st && i < l.n; i += o->batch) {
        size_t b = l.n - i < o->batch ? l.n - i : o->batch;
        st = p->forward(p->ctx, fl_npy_f32(x) + i * in_step, b, (int)l.T, fl_npy_f32(&y) + i * out_step);
    }
    *secs = now_s() - t0;
    if (!st) st = fl_npy_save(o->out, &y);
    if (!st) {
        char s[200];
        fl_npy_shape_str(&y, s, sizeof s);
        printf("predict: %s -> %s %s: %zu sequences x %zu steps in %.3f s (%.0f sequences/s, %d threads)\n",
               o->in, o->out, s, l.n, l.T, *secs, *secs > 0 ? (double)l.n / *secs : 0.0, fl_get_threads());
    }
    fl_npy_free(&y);
    return st;
}

int cmd_predict(int argc, char **argv)
{
    predict_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    fl_set_threads(o.threads);
    cli_predictor p = {0};
    fl_status st = fl_check_output(o.out, o.model, o.in, NULL);
    if (!st) st = cli_open_model(o.model, &p);
    if (st) return cli_fail(st);
    fl_npy x;
    if ((st = fl_npy_load_data(o.in, "input", &x))) {
        p.release(p.ctx);
        return cli_fail(st);
    }
    double secs = 0;
    st = run(&o, &p, &x, &secs);
    fl_npy_free(&x);
    p.release(p.ctx);
    return st ? cli_fail(st) : 0;
}
