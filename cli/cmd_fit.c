/* cmd_fit.c - `fligru fit TPSF.npy --irf IRF.npy -o DIR`: the classical baseline,
 * iterative reconvolution fits (or RLD) of every TPSF with its IRF. */
#include "cli.h"
#include "fligru/fit.h"
#include "fligru/io.h"
#include "fligru/npy.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *HELP =
    "usage: fligru fit TPSF.npy --irf IRF.npy -o DIR [options]\n\n"
    "What FLI users run today (fligru/fit.h, docs/lifetime.md): per pixel,\n"
    "  bi    iterative reconvolution: m = B + A1 IRF*exp(-t/tau1) + A2 IRF*exp(-t/tau2),\n"
    "        GSL Levenberg-Marquardt, Poisson weights 1/m re-estimated each pass\n"
    "        (IRLS: the Poisson maximum-likelihood fit); a failed or negative-\n"
    "        amplitude bi-exponential is refitted mono-exponentially\n"
    "  mono  the same with one exponential\n"
    "  rld   rapid lifetime determination: two equal windows after the IRF\n\n"
    "TPSF.npy: [N,T] or [H,W,T] (counts or peak-normalised: the estimates do not\n"
    "depend on the scale). IRF.npy: [T] for every pixel, or one per pixel with the\n"
    "TPSF's shape (fligru synth's irf.npy); finite, >= 0, each row a positive sum\n"
    "(normalised here).\n"
    "DIR: tau1.npy, tau2.npy, a.npy, tau_m.npy (float32 [N] or [H,W], NaN where the\n"
    "fit failed), status.npy (uint8: 0 ok, 1 mono-exponential fallback, 2 failed);\n"
    "for [H,W,T] also PNG maps and map.gp. All files appear or none.\n\n"
    "options:\n"
    "  --irf IRF.npy         the instrument response (required)\n"
    "  --method M            bi (default), mono or rld\n"
    "  --weighting W         poisson (default) or none (plain least squares)\n"
    "  --no-background       B = 0 instead of a fitted constant\n"
    "  --gate-width-ns G     gate width (default 0.09)\n"
    "  --max-iter N          LM iterations per pass (default 200)\n"
    "  --no-plot             no PNG maps\n"
    "  --threads N           worker threads (results do not depend on it)\n";

typedef struct {
    const char   *in, *irf, *dir;
    fl_fit_params fit;
    int           no_plot, threads;
} fit_opts;

enum { O_IRF = 256, O_METHOD, O_WEIGHT, O_NOBG, O_GATE, O_ITER, O_NOPLOT, O_THREADS };

static int on_opt(void *ctx, int key, const char *arg)
{
    fit_opts *o = ctx;
    long v;
    switch (key) {
    case 'o': o->dir = arg; return -1;
    case O_IRF: o->irf = arg; return -1;
    case O_METHOD:
        if ((v = fl_fit_method_parse(arg)) < 0) return cli_usage_error("fit", "--method: '%s' is not bi, mono or rld", arg);
        o->fit.method = (fl_fit_method)v;
        return -1;
    case O_WEIGHT:
        if (strcmp(arg, "poisson") && strcmp(arg, "none"))
            return cli_usage_error("fit", "--weighting: '%s' is not poisson or none", arg);
        o->fit.weighting = strcmp(arg, "none") ? FL_FIT_POISSON : FL_FIT_UNWEIGHTED;
        return -1;
    case O_NOBG: o->fit.background = 0; return -1;
    case O_GATE:
        if (cli_parse_positive(arg, &o->fit.gate_ns))
            return cli_usage_error("fit", "--gate-width-ns: '%s' is not a width > 0", arg);
        return -1;
    case O_ITER:
        if (cli_parse_long(arg, 1, 100000, &v)) return cli_usage_error("fit", "--max-iter: '%s' is not 1..100000", arg);
        o->fit.max_iter = (int)v;
        return -1;
    case O_NOPLOT: o->no_plot = 1; return -1;
    case O_THREADS:
        if (cli_parse_threads(arg, &o->threads)) return cli_usage_error("fit", "--threads: '%s' is not 1..1024", arg);
        return -1;
    default: return cli_usage_error("fit", "unknown option");
    }
}

static int parse_args(int argc, char **argv, fit_opts *o)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},      {"irf", required_argument, 0, O_IRF},
        {"method", required_argument, 0, O_METHOD}, {"weighting", required_argument, 0, O_WEIGHT},
        {"no-background", no_argument, 0, O_NOBG},  {"gate-width-ns", required_argument, 0, O_GATE},
        {"max-iter", required_argument, 0, O_ITER}, {"no-plot", no_argument, 0, O_NOPLOT},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const cli_spec spec = {"fit", HELP, "ho:", opts, on_opt, 1, 1, "expected one TPSF.npy"};
    *o = (fit_opts){.fit = {.gate_ns = 0.09, .method = FL_FIT_BI, .weighting = FL_FIT_POISSON,
                            .background = 1}};
    int first, rc = cli_parse_args(&spec, argc, argv, o, &first);
    if (rc >= 0) return rc;
    if (!o->irf) return cli_usage_error("fit", "no IRF: --irf IRF.npy is required (fligru synth writes irf.npy)");
    if (!o->dir) return cli_usage_error("fit", "no output: -o DIR");
    o->in = argv[first];
    return -1;
}

static fl_status load_checked(const char *path, const char *what, fl_npy *a)
{
    fl_status st = fl_npy_load_f32(path, a);
    if (st) return st;
    if ((st = fl_npy_check_finite(a, path, what))) fl_npy_free(a);
    return st;
}

/* TPSF [N,T] / [H,W,T]; IRF [T] or the TPSF's shape; every IRF row >= 0 with
 * a positive sum. Sets *stride (0: one shared IRF). */
static fl_status check_shapes(const fit_opts *o, const fl_npy *y, const fl_npy *irf, size_t *stride)
{
    char sy[200], si[200];
    fl_npy_shape_str(y, sy, sizeof sy);
    fl_npy_shape_str(irf, si, sizeof si);
    if (y->ndim != 2 && y->ndim != 3)
        return fl_fail(FL_E_INPUT, "%s: shape %s: expected [N,T] or [H,W,T]", o->in, sy);
    size_t t = y->shape[y->ndim - 1];
    if (y->count == 0) return fl_fail(FL_E_INPUT, "%s: shape %s is empty", o->in, sy);
    if (t < 8) return fl_fail(FL_E_INPUT, "%s: shape %s: %zu gates, need at least 8", o->in, sy, t);
    size_t ti = irf->ndim >= 1 ? irf->shape[irf->ndim - 1] : 0;
    if (irf->ndim >= 1 && ti != t)
        return fl_fail(FL_E_INPUT, "%s: shape %s: T = %zu gates, but %s has T = %zu (shape %s)", o->irf, si, ti,
                       o->in, t, sy);
    int same = irf->ndim == y->ndim && !memcmp(irf->shape, y->shape, (size_t)y->ndim * sizeof *y->shape);
    if (irf->ndim != 1 && !same)
        return fl_fail(FL_E_INPUT, "%s: shape %s: expected [%zu] (one IRF) or %s (one per pixel of %s)", o->irf,
                       si, t, sy, o->in);
    *stride = irf->ndim == 1 ? 0 : t;
    const float *v = fl_npy_f32(irf);
    for (size_t r = 0; r < irf->count / t; ++r) {
        double s = 0.0;
        for (size_t k = 0; k < t; ++k) {
            if (v[r * t + k] < 0.0f)
                return fl_fail(FL_E_INPUT, "%s: IRF is negative (%g) at row %zu, gate %zu", o->irf,
                               (double)v[r * t + k], r, k);
            s += v[r * t + k];
        }
        if (!(s > 0.0)) return fl_fail(FL_E_INPUT, "%s: IRF row %zu sums to 0", o->irf, r);
    }
    return FL_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static fl_status run(fit_opts *o, const fl_npy *y, const fl_npy *irf)
{
    size_t stride = 0;
    fl_status st = check_shapes(o, y, irf, &stride);
    if (st) return st;
    size_t t = y->shape[y->ndim - 1], n = y->count / t;
    o->fit.t = t;
    fl_fit_result *r = malloc(n * sizeof *r);
    double *est = malloc(4 * n * sizeof *est);
    unsigned char *status = malloc(n);
    if (!r || !est || !status) st = fl_fail(FL_E_NOMEM, "%s: out of memory", o->in);
    double t0 = now_s(), secs = 0.0;
    if (!st) st = fl_fit_run(&o->fit, n, fl_npy_f32(y), fl_npy_f32(irf), stride, r);
    secs = now_s() - t0;
    size_t count[3] = {0, 0, 0};
    for (size_t i = 0; !st && i < n; ++i) {
        double v[4] = {r[i].tau1, r[i].tau2, r[i].a, r[i].tau_m};
        memcpy(est + 4 * i, v, sizeof v);
        status[i] = (unsigned char)r[i].outcome;
        ++count[r[i].outcome];
    }
    if (!st) {
        cli_lifetime_out out = {.dir = o->dir, .sample_axes = y->ndim - 1, .shape = y->shape, .n = n,
                                .est = est, .status = status, .plot = !o->no_plot, .source = o->in};
        st = cli_write_lifetimes(&out);
    }
    if (!st)
        printf("fit: %s (%s): %zu pixels: %zu ok, %zu mono fallback, %zu failed (%.2f%%) in %.3f s "
               "(%.0f pixels/s, %d threads)\n",
               o->in, fl_fit_method_name(o->fit.method), n, count[0], count[1], count[2],
               100.0 * (double)count[2] / (double)n, secs, secs > 0 ? (double)n / secs : 0.0, fl_get_threads());
    free(r);
    free(est);
    free(status);
    return st;
}

int cmd_fit(int argc, char **argv)
{
    fit_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    fl_set_threads(o.threads);
    fl_npy y, irf;
    fl_status st = load_checked(o.in, "TPSF", &y);
    if (st) return cli_fail(st);
    if (!(st = load_checked(o.irf, "IRF", &irf))) {
        st = run(&o, &y, &irf);
        fl_npy_free(&irf);
    }
    fl_npy_free(&y);
    return st ? cli_fail(st) : 0;
}
