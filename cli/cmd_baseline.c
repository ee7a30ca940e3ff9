/* cmd_baseline.c - `fligru baseline TPSF.npy -o PRED.npy`: the trivial,
 * IRF-blind deconvolution (fligru/baseline.h), for scale. */
#include "cli.h"
#include "fligru/baseline.h"
#include "fligru/io.h"
#include "fligru/npy.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *HELP =
    "usage: fligru baseline TPSF.npy -o PRED.npy [--channels 1|3] [--threads N]\n\n"
    "The trivial deconvolution a network must beat: each TPSF from its peak\n"
    "onward, shifted to t = 0, divided by the peak (channel 0 starts at 1),\n"
    "zero-padded at the end. No IRF, no fit.\n\n"
    "TPSF.npy: [..., T] (e.g. [N,T] or [H,W,T]); the last axis is time.\n"
    "PRED.npy: float32 [..., T, C]. With --channels 3 (default 1): channel 0 =\n"
    "channel 1 = the decay, channel 2 = 0: the whole decay is taken as the short\n"
    "component (score --params then reports tau2 failures and tau_m = tau1).\n"
    "TPSFs without a positive peak give zeros and are counted on stderr.\n";

typedef struct {
    const char *in, *out;
    size_t      channels;
    int         threads;
} baseline_opts;

enum { O_CHANNELS = 256, O_THREADS };

static int on_opt(void *ctx, int key, const char *arg)
{
    baseline_opts *o = ctx;
    switch (key) {
    case 'o': o->out = arg; return -1;
    case O_CHANNELS:
        if (strcmp(arg, "1") && strcmp(arg, "3")) return cli_usage_error("baseline", "--channels: '%s' is not 1 or 3", arg);
        o->channels = (size_t)atoi(arg);
        return -1;
    case O_THREADS:
        return cli_opt_threads("baseline", arg, &o->threads);
    default: return cli_usage_error("baseline", "unknown option");
    }
}

static int parse_args(int argc, char **argv, baseline_opts *o)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'}, {"channels", required_argument, 0, O_CHANNELS},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const cli_spec spec = {"baseline", HELP, "ho:", opts, on_opt, 1, 1, "expected one TPSF.npy"};
    *o = (baseline_opts){.channels = 1};
    int first, rc = cli_parse_args(&spec, argc, argv, o, &first);
    if (rc >= 0) return rc;
    if (!o->out) return cli_usage_error("baseline", "no output: -o PRED.npy");
    o->in = argv[first];
    return -1;
}

static fl_status run(const baseline_opts *o, const fl_npy *in, size_t *empty)
{
    char s[160];
    fl_npy_shape_str(in, s, sizeof s);
    if (in->ndim < 2 || in->ndim >= FL_NPY_MAXDIM)
        return fl_fail(FL_E_INPUT, "%s: shape %s: expected [..., T] with 2 to %d axes", o->in, s,
                       FL_NPY_MAXDIM - 1);
    size_t t = in->shape[in->ndim - 1], shape[FL_NPY_MAXDIM];
    if (t == 0 || in->count == 0) return fl_fail(FL_E_INPUT, "%s: shape %s is empty", o->in, s);
    memcpy(shape, in->shape, (size_t)in->ndim * sizeof *shape);
    shape[in->ndim] = o->channels;
    fl_npy out;
    fl_status st = fl_npy_alloc(&out, FL_F32, in->ndim + 1, shape);
    if (st) return st;
    fl_baseline_params bp = {.t = t, .channels = o->channels};
    st = fl_baseline_run(&bp, in->count / t, fl_npy_f32(in), fl_npy_f32(&out), empty);
    if (!st) st = fl_npy_save(o->out, &out);
    fl_npy_free(&out);
    return st;
}

int cmd_baseline(int argc, char **argv)
{
    baseline_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    fl_set_threads(o.threads);
    fl_npy in;
    fl_status st = fl_check_output(o.out, o.in, NULL);
    if (!st) st = fl_npy_load_f32(o.in, &in);
    if (st) return cli_fail(st);
    size_t empty = 0;
    if (!(st = fl_npy_check_finite(&in, o.in, "TPSF"))) st = run(&o, &in, &empty);
    fl_npy_free(&in);
    if (st) return cli_fail(st);
    if (empty)
        fprintf(stderr, "fligru baseline: %s: %zu TPSFs without a positive peak written as zeros\n",
                o.in, empty);
    return 0;
}
