/* cmd_vectors.c - `fligru vectors QMODEL IN.npy -o DIR`: everything a hardware
 * test bench needs, from the bit-exact reference (docs/fixed-point.md §5.2). */
#include "cli.h"
#include "fligru/fxmodel.h"
#include "fligru/npy.h"
#include "fligru/rng.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *HELP =
    "usage: fligru vectors QMODEL.safetensors IN.npy -o DIR [options]\n\n"
    "Runs the bit-exact reference (the golden model) over some sequences of IN and\n"
    "writes, as $readmemh hex (one word per line, two's complement at its width):\n"
    "the weights, multipliers, shifts, biases and activation tables (the tables also\n"
    "as C arrays), the quantised inputs, the state of every unit after every encoder\n"
    "and decoder step, the decoder's initial state and every output; plus\n"
    "manifest.csv, fx_params.svh / fx_params.h and a provenance line (model hash,\n"
    "format, seed). IN: [N,T], [N,T,F], [H,W,T] or [H,W,T,F], float32 or float64.\n\n"
    "options:\n"
    "  -o, --output DIR   created if needed; its files are written all or none\n"
    "  --pixels N         how many sequences (default 16; 0: all of IN)\n"
    "  --seed S           pick the N sequences at random with this seed (default:\n"
    "                     the first N)\n"
    "  --gates            also the pre-activations and activations r, z, n\n";

typedef struct {
    const char *model, *in, *dir;
    size_t      pixels;
    int         seeded, gates;
    uint64_t    seed;
} vec_opts;

/* Sequences x steps of IN for a model with F input features. */
static fl_status layout(const fl_npy *a, const char *path, int F, size_t *n, size_t *T)
{
    char s[128];
    fl_npy_shape_str(a, s, sizeof s);
    int axes;
    size_t feat;
    if (a->ndim == 2) axes = 1, feat = 1;
    else if (a->ndim == 3 && F == 1 && a->shape[2] != 1) axes = 2, feat = 1;
    else if (a->ndim == 3) axes = 1, feat = a->shape[2];
    else if (a->ndim == 4) axes = 2, feat = a->shape[3];
    else return fl_fail(FL_E_INPUT, "%s: shape %s: expected [N,T], [N,T,F], [H,W,T] or [H,W,T,F]", path, s);
    if (feat != (size_t)F)
        return fl_fail(FL_E_INPUT, "%s: shape %s: %zu features per step, the model has %d", path, s, feat, F);
    *T = a->shape[axes];
    *n = axes == 1 ? a->shape[0] : a->shape[0] * a->shape[1];
    if (*T == 0 || *T > INT_MAX || *n == 0) return fl_fail(FL_E_INPUT, "%s: shape %s: no data", path, s);
    return FL_OK;
}

static fl_status run(const vec_opts *o, const char *cmd)
{
    fl_fx_model q;
    fl_status st = fl_fx_load(o->model, &q);
    if (st) return st;
    fl_npy a;
    if ((st = fl_npy_load_data(o->in, "input", &a))) {
        fl_fx_model_free(&q);
        return st;
    }
    size_t n = 0, T = 0;
    st = layout(&a, o->in, q.cfg.input, &n, &T);
    if (!st) st = fl_npy_check_finite(&a, o->in, "input");
    const size_t k = !st && o->pixels && o->pixels < n ? o->pixels : n, step = T * (size_t)q.cfg.input;
    int32_t *xq = st ? NULL : malloc((k * step + 1) * sizeof *xq);
    if (!st && !xq) st = fl_fail(FL_E_NOMEM, "vectors: out of memory");
    for (size_t i = 0; !st && i < k; ++i) {
        size_t src = i;
        if (o->seeded) {      /* k distinct sequences: a seeded partial Fisher-Yates by index */
            fl_rng r;
            fl_rng_init(&r, o->seed, i);
            src = i + (size_t)(fl_rng_u64(&r) % (n - i));
        }
        fl_fx_quantize_input(&q, fl_npy_f32(&a) + src * step, step, xq + i * step);
        if (o->seeded && src != i) {  /* swap the whole sequences so later picks stay distinct */
            float *x = fl_npy_f32(&a);
            for (size_t j = 0; j < step; ++j) {
                float t = x[i * step + j];
                x[i * step + j] = x[src * step + j];
                x[src * step + j] = t;
            }
        }
    }
    if (!st) {
        fl_fx_vectors_opts vo = {o->dir, o->model, o->in, cmd, o->seeded ? o->seed : 0, o->gates};
        st = fl_fx_vectors(&q, &vo, xq, k, (int)T);
    }
    if (!st) printf("vectors: %s on %zu of %zu sequences x %zu steps -> %s/\n", o->model, k, n, T, o->dir);
    free(xq);
    fl_npy_free(&a);
    fl_fx_model_free(&q);
    return st;
}

static int on_opt(void *ctx, int key, const char *arg)
{
    vec_opts *o = ctx;
    char *end;
    switch (key) {
    case 'o': o->dir = arg; return -1;
    case 'n':
        o->pixels = (size_t)strtoull(arg, &end, 10);
        if (!*arg || *end || *arg == '-') return cli_usage_error("vectors", "--pixels: '%s' is not a count", arg);
        return -1;
    case 's':
        o->seed = strtoull(arg, &end, 10);
        if (!*arg || *end || *arg == '-')
            return cli_usage_error("vectors", "--seed: '%s' is not a non-negative integer", arg);
        o->seeded = 1;
        return -1;
    case 'g': o->gates = 1; return -1;
    default: return cli_usage_error("vectors", "unknown option");
    }
}

int cmd_vectors(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {"pixels", required_argument, 0, 'n'},
                                         {"seed", required_argument, 0, 's'},   {"gates", no_argument, 0, 'g'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const cli_spec spec = {"vectors", HELP, "o:h", opts, on_opt, 2, 2, "expected QMODEL.safetensors IN.npy"};
    vec_opts o = {.pixels = 16};
    char cmd[2048];   /* before getopt_long permutes argv */
    cli_command_line(argc, argv, cmd, sizeof cmd);
    int first, rc = cli_parse_args(&spec, argc, argv, &o, &first);
    if (rc >= 0) return rc;
    if (!o.dir) return cli_usage_error("vectors", "-o DIR is required");
    o.model = argv[first];
    o.in = argv[first + 1];
    fl_status st = run(&o, cmd);
    return st ? cli_fail(st) : 0;
}
