/* cmd_lifetime.c - `fligru lifetime PRED.npy -o DIR`: per-pixel lifetimes from a
 * network's prediction, as .npy arrays and, for images, maps. */
#include "cli.h"
#include "fligru/fit.h"
#include "fligru/io.h"
#include "fligru/lifetime.h"
#include "fligru/npy.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *HELP =
    "usage: fligru lifetime PRED.npy -o DIR [options]\n\n"
    "Per-pixel lifetimes from a network's prediction (fligru predict's output):\n"
    "  C = 3 (full, short, long component): tau_k = lifetime of channel k by the\n"
    "        --tau-estimator (docs/metrics.md), a = ch1(0) / (ch1(0) + ch2(0)),\n"
    "        tau_m = (A1 tau1 + A2 tau2) / (A1 + A2)\n"
    "  C = 1 (the deconvolved decay): unweighted least-squares bi-exponential fit\n"
    "        (GSL Levenberg-Marquardt, no IRF, no background; fligru/fit.h), with a\n"
    "        mono-exponential refit when it fails; DIR/status.npy says which\n\n"
    "PRED.npy: [N,T,C] or [H,W,T,C], float32 or float64, finite.\n"
    "DIR: tau1.npy, tau2.npy, a.npy, tau_m.npy (float32 [N] or [H,W], NaN where no\n"
    "estimate exists); for [H,W,T,C] also tau1.png ... tau_m.png (gnuplot, colour\n"
    "bar in ns) and map.gp, which re-renders them. All files appear or none.\n\n"
    "options:\n"
    "  --gate-width-ns G   gate width (default 0.09)\n"
    "  --tau-estimator E   C = 3: exact (default), geometric or plain\n"
    "  --no-plot           no PNG maps\n"
    "  --threads N         worker threads (results do not depend on it)\n";

typedef struct {
    const char        *in, *dir;
    fl_lifetime_params life;
    int                no_plot, threads;
} lifetime_opts;

enum { O_GATE = 256, O_EST, O_NOPLOT, O_THREADS };

static int on_opt(void *ctx, int key, const char *arg)
{
    lifetime_opts *o = ctx;
    switch (key) {
    case 'o': o->dir = arg; return -1;
    case O_GATE:
        return cli_opt_gate_width("lifetime", arg, &o->life.gate_ns);
    case O_EST:
        return cli_opt_tau_estimator("lifetime", arg, &o->life.method);
    case O_NOPLOT: o->no_plot = 1; return -1;
    case O_THREADS:
        return cli_opt_threads("lifetime", arg, &o->threads);
    default: return cli_usage_error("lifetime", "unknown option");
    }
}

static int parse_args(int argc, char **argv, lifetime_opts *o)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},         {"gate-width-ns", required_argument, 0, O_GATE},
        {"tau-estimator", required_argument, 0, O_EST}, {"no-plot", no_argument, 0, O_NOPLOT},
        {"threads", required_argument, 0, O_THREADS},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const cli_spec spec = {"lifetime", HELP, "ho:", opts, on_opt, 1, 1, "expected one PRED.npy"};
    *o = (lifetime_opts){.life = {.gate_ns = 0.09, .method = FL_TAU_EXACT}};
    int first, rc = cli_parse_args(&spec, argc, argv, o, &first);
    if (rc >= 0) return rc;
    if (!o->dir) return cli_usage_error("lifetime", "no output: -o DIR");
    o->in = argv[first];
    return -1;
}

/* est [n][4] from a [n][t][c] prediction; status [n] for C = 1 (fit outcome). */
static fl_status estimate(const lifetime_opts *o, const float *pred, size_t n, size_t t, size_t c,
                          double *est, unsigned char *status)
{
    if (c == 3) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; ++i) {
            fl_lifetimes e;
            fl_lifetime_from_components(&o->life, pred + i * t * c, t, c, &e);
            double v[4] = {e.tau1, e.tau2, e.a, e.tau_m};
            memcpy(est + 4 * i, v, sizeof v);
        }
        return FL_OK;
    }
    fl_fit_params fp = {.t = t, .gate_ns = o->life.gate_ns, .method = FL_FIT_BI,
                        .weighting = FL_FIT_UNWEIGHTED, .background = 0};
    fl_fit_result *r = malloc(n * sizeof *r);
    if (!r) return fl_fail(FL_E_NOMEM, "%s: out of memory", o->in);
    fl_status st = fl_fit_run(&fp, n, pred, NULL, 0, r);
    for (size_t i = 0; !st && i < n; ++i) {
        double v[4] = {r[i].tau1, r[i].tau2, r[i].a, r[i].tau_m};
        memcpy(est + 4 * i, v, sizeof v);
        status[i] = (unsigned char)r[i].outcome;
    }
    free(r);
    return st;
}

static void summary(const lifetime_opts *o, const double *est, size_t n, size_t c)
{
    static const char *names[4] = {"tau1", "tau2", "a", "tau_m"};
    printf("lifetime: %s: %zu pixels, C = %zu (%s)\n", o->in, n, c,
           c == 3 ? fl_tau_method_name(o->life.method) : "bi-exponential fit of the decay");
    for (int q = 0; q < 4; ++q) {
        double s = 0.0;
        size_t k = 0;
        for (size_t i = 0; i < n; ++i)
            if (isfinite(est[4 * i + (size_t)q])) {
                s += est[4 * i + (size_t)q];
                ++k;
            }
        printf("  %-5s mean %.4f%s  (%zu without an estimate)\n", names[q], k ? s / (double)k : NAN,
               q == 2 ? "   " : " ns", n - k);
    }
}

static fl_status run(const lifetime_opts *o, const fl_npy *in)
{
    char s[200];
    fl_npy_shape_str(in, s, sizeof s);
    if (in->ndim != 3 && in->ndim != 4)
        return fl_fail(FL_E_INPUT, "%s: shape %s: expected [N,T,C] or [H,W,T,C]", o->in, s);
    int axes = in->ndim - 2;
    size_t t = in->shape[axes], c = in->shape[axes + 1], n = in->count / (t && c ? t * c : 1);
    if (c != 1 && c != 3)
        return fl_fail(FL_E_INPUT, "%s: shape %s: %zu channels, expected 3 (full, short, long) or 1 (decay)",
                       o->in, s, c);
    if (in->count == 0) return fl_fail(FL_E_INPUT, "%s: shape %s is empty", o->in, s);
    size_t tmin = c == 3 ? 2 : 8;
    if (t < tmin) return fl_fail(FL_E_INPUT, "%s: shape %s: %zu time steps, need at least %zu", o->in, s, t, tmin);
    double *est = malloc(4 * n * sizeof *est);
    unsigned char *status = c == 1 ? malloc(n) : NULL;
    fl_status st = !est || (c == 1 && !status) ? fl_fail(FL_E_NOMEM, "%s: out of memory", o->in) : FL_OK;
    if (!st) st = estimate(o, fl_npy_f32(in), n, t, c, est, status);
    if (!st) {
        cli_lifetime_out out = {.dir = o->dir, .sample_axes = axes, .shape = in->shape, .n = n, .est = est,
                                .status = status, .plot = !o->no_plot, .source = o->in};
        st = cli_write_lifetimes(&out);
    }
    if (!st) summary(o, est, n, c);
    free(est);
    free(status);
    return st;
}

int cmd_lifetime(int argc, char **argv)
{
    lifetime_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    fl_set_threads(o.threads);
    fl_npy in;
    fl_status st = cli_check_lifetime_outputs(o.dir, o.in, NULL);
    if (!st) st = fl_npy_load_f32(o.in, &in);
    if (st) return cli_fail(st);
    if (!(st = fl_npy_check_finite(&in, o.in, "prediction"))) st = run(&o, &in);
    fl_npy_free(&in);
    return st ? cli_fail(st) : 0;
}
