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
    "  rld   rapid lifetime determination: two equal windows after the IRF\n"
    "  phasor  g, s at the laser harmonic, calibrated with the IRF (divided by its\n"
    "        phasor), background from the gates before the IRF; tau_phi (phase)\n"
    "        and tau_mod (modulation) per pixel, no iteration\n\n"
    "TPSF.npy: [N,T] or [H,W,T] (counts or peak-normalised: the estimates do not\n"
    "depend on the scale). IRF.npy: [T] for every pixel, or one per pixel with the\n"
    "TPSF's shape (fligru synth's irf.npy); finite, >= 0, each row a positive sum\n"
    "(normalised here).\n"
    "DIR: tau1.npy, tau2.npy, a.npy, tau_m.npy (float32 [N] or [H,W], NaN where the\n"
    "fit failed), status.npy (uint8: 0 ok, 1 mono-exponential fallback, 2 failed);\n"
    "for [H,W,T] also PNG maps and map.gp. phasor also writes g.npy, s.npy,\n"
    "tau_phi.npy, tau_mod.npy and the phasor plot phasor.png (a 2-D histogram of\n"
    "(g, s) with the universal semicircle; phasor.gp re-renders it from\n"
    "phasor.dat); there tau1 = tau2 = tau_m = tau_phi, a = 1. All files appear or none.\n\n"
    "options:\n"
    "  --irf IRF.npy         the instrument response (required)\n"
    "  --method M            bi (default), mono, rld or phasor\n"
    "  --harmonic H          phasor: harmonic of the laser frequency (default 1)\n"
    "  --period-ns P         phasor: laser period (default: the window, T x gate width)\n"
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

enum { O_IRF = 256, O_METHOD, O_WEIGHT, O_NOBG, O_GATE, O_ITER, O_NOPLOT, O_THREADS, O_HARM, O_PERIOD };

static int on_opt(void *ctx, int key, const char *arg)
{
    fit_opts *o = ctx;
    long v;
    switch (key) {
    case 'o': o->dir = arg; return -1;
    case O_IRF: o->irf = arg; return -1;
    case O_METHOD:
        if ((v = fl_fit_method_parse(arg)) < 0)
            return cli_usage_error("fit", "--method: '%s' is not bi, mono, rld or phasor", arg);
        o->fit.method = (fl_fit_method)v;
        return -1;
    case O_WEIGHT:
        if (strcmp(arg, "poisson") && strcmp(arg, "none"))
            return cli_usage_error("fit", "--weighting: '%s' is not poisson or none", arg);
        o->fit.weighting = strcmp(arg, "none") ? FL_FIT_POISSON : FL_FIT_UNWEIGHTED;
        return -1;
    case O_NOBG: o->fit.background = 0; return -1;
    case O_GATE:
        return cli_opt_gate_width("fit", arg, &o->fit.gate_ns);
    case O_ITER:
        if (cli_parse_long(arg, 1, 100000, &v)) return cli_usage_error("fit", "--max-iter: '%s' is not 1..100000", arg);
        o->fit.max_iter = (int)v;
        return -1;
    case O_HARM:
        if (cli_parse_long(arg, 1, 1000, &v)) return cli_usage_error("fit", "--harmonic: '%s' is not 1..1000", arg);
        o->fit.harmonic = (int)v;
        return -1;
    case O_PERIOD:
        if (cli_parse_positive(arg, &o->fit.period_ns))
            return cli_usage_error("fit", "--period-ns: '%s' is not a period > 0", arg);
        return -1;
    case O_NOPLOT: o->no_plot = 1; return -1;
    case O_THREADS:
        return cli_opt_threads("fit", arg, &o->threads);
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
        {"threads", required_argument, 0, O_THREADS}, {"harmonic", required_argument, 0, O_HARM},
        {"period-ns", required_argument, 0, O_PERIOD}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const cli_spec spec = {"fit", HELP, "ho:", opts, on_opt, 1, 1, "expected one TPSF.npy"};
    *o = (fit_opts){.fit = {.gate_ns = 0.09, .method = FL_FIT_BI, .weighting = FL_FIT_POISSON,
                            .background = 1}};
    int first, rc = cli_parse_args(&spec, argc, argv, o, &first);
    if (rc >= 0) return rc;
    if (!o->irf) return cli_usage_error("fit", "no IRF: --irf IRF.npy is required (fligru synth writes irf.npy)");
    if (!o->dir) return cli_usage_error("fit", "no output: -o DIR");
    if ((o->fit.harmonic || o->fit.period_ns > 0.0) && o->fit.method != FL_FIT_PHASOR)
        return cli_usage_error("fit", "--harmonic and --period-ns need --method phasor");
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

/* ---- phasor outputs ------------------------------------------------------------ */

enum { PH_G, PH_S, PH_TPHI, PH_TMOD, PH_DAT, PH_GP, PH_PNG, PH_FILES };
static const char *const PH_NAME[PH_FILES] = {"g.npy", "s.npy", "tau_phi.npy", "tau_mod.npy",
                                               "phasor.dat", "phasor.gp", "phasor.png"};
#define HIST_G 220   /* bins of g over [-0.05, 1.05] and s over [-0.05, 0.6]: 0.005 wide */
#define HIST_S 130

static fl_status open_out(const char *dir, const char *name, fl_atomic *f)
{
    char *path = fl_path_join(dir, name);
    fl_status st = path ? fl_atomic_open(f, path) : fl_fail(FL_E_NOMEM, "%s: out of memory", dir);
    free(path);
    return st;
}

/* phasor.dat: "g s count" per non-empty bin of the (g, s) histogram. */
static fl_status write_hist(FILE *f, const fl_fit_result *r, size_t n, const char *path)
{
    unsigned *h = calloc((size_t)HIST_G * HIST_S, sizeof *h);
    if (!h) return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; ++i) {
        double bg = (r[i].g + 0.05) / 0.005, bs = (r[i].s + 0.05) / 0.005;
        if (!(bg >= 0.0 && bg < HIST_G && bs >= 0.0 && bs < HIST_S)) continue;
        ++h[(size_t)bs * HIST_G + (size_t)bg];
    }
    fprintf(f, "# g s pixels: histogram of the calibrated phasors, bins 0.005 wide\n");
    for (size_t b = 0; b < (size_t)HIST_G * HIST_S; ++b)
        if (h[b]) fprintf(f, "%.4f %.4f %u\n", -0.05 + 0.005 * ((double)(b % HIST_G) + 0.5),
                          -0.05 + 0.005 * ((double)(b / HIST_G) + 0.5), h[b]);
    free(h);
    return ferror(f) ? fl_fail(FL_E_IO, "%s: write failed", path) : FL_OK;
}

/* phasor.gp: the universal semicircle (mono-exponential decays), lifetimes
 * marked on it at this w, and the histogram. */
static void write_gp(FILE *f, const fit_opts *o, double omega)
{
    fprintf(f, "# phasor.gp - phasor plot written by fligru fit from %s\n"
               "# Re-render: gnuplot phasor.gp (reads phasor.dat, writes phasor.png)\n"
               "if (!exists(\"src\")) src = \"phasor.dat\"\n"
               "if (!exists(\"out\")) out = \"phasor.png\"\n"
               "w = %.9g   # rad/ns: harmonic %d of a %.6g ns period\n",
            o->in, omega, o->fit.harmonic ? o->fit.harmonic : 1,
            o->fit.period_ns > 0.0 ? o->fit.period_ns : (double)o->fit.t * o->fit.gate_ns);
    fputs("set terminal pngcairo size 760,520 font \",10\"\n"
          "set output out\n"
          "set title 'phasor plot (IRF-calibrated); semicircle: mono-exponential decays' noenhanced\n"
          "set xlabel 'g'; set ylabel 's'; set size ratio -1\n"
          "set xrange [-0.05:1.05]; set yrange [-0.05:0.6]; set grid\n"
          "set logscale cb; set cblabel 'pixels'\n"
          "set palette defined (0 '#000004', 1 '#51127c', 2 '#b73779', 3 '#fc8961', 4 '#fcfdbf')\n"
          "set parametric; set trange [0:pi]\n"
          "gt(t) = 1/(1 + (w*t)**2); st(t) = w*t/(1 + (w*t)**2)\n"
          "do for [tau in \"0.25 0.5 1 2 4\"] {\n"
          "  set label tau.' ns' at 0.5 + 1.16*(gt(real(tau)) - 0.5), 1.16*st(real(tau)) center front\n"
          "  set object circle at gt(real(tau)), st(real(tau)) size 0.006 fc rgb 'black' fs solid front\n"
          "}\n"
          "plot 0.5 + 0.5*cos(t), 0.5*sin(t) lc rgb '#404040' lw 1.5 title 'universal semicircle', \\\n"
          "     src using 1:2:3 with points pt 5 ps 0.35 lc palette title 'pixels'\n",
          f);
}

/* Every phasor file under its temporary name in ph[]; committed by the caller. */
static fl_status write_phasor(const fit_opts *o, const fl_npy *y, const fl_fit_result *r, size_t n,
                              fl_atomic ph[PH_FILES])
{
    fl_npy a = {0};
    fl_status st = fl_npy_alloc(&a, FL_F32, y->ndim - 1, y->shape);
    for (int q = PH_G; !st && q <= PH_TMOD; ++q) {
        for (size_t i = 0; i < n; ++i) {
            const double v[4] = {r[i].g, r[i].s, r[i].tau_phi, r[i].tau_mod};
            fl_npy_f32(&a)[i] = (float)v[q];
        }
        if (!(st = open_out(o->dir, PH_NAME[q], &ph[q]))) st = fl_npy_write(ph[q].fp, ph[q].path, &a);
    }
    if (a.data) fl_npy_free(&a);
    if (st || o->no_plot) return st;
    double period = o->fit.period_ns > 0.0 ? o->fit.period_ns : (double)o->fit.t * o->fit.gate_ns;
    double omega = 2.0 * 3.14159265358979323846 * (o->fit.harmonic ? o->fit.harmonic : 1) / period;
    if (!(st = open_out(o->dir, PH_NAME[PH_DAT], &ph[PH_DAT]))) st = write_hist(ph[PH_DAT].fp, r, n, ph[PH_DAT].path);
    if (!st && fflush(ph[PH_DAT].fp)) st = fl_fail(FL_E_IO, "%s: write failed", ph[PH_DAT].path);
    if (!st && !(st = open_out(o->dir, PH_NAME[PH_GP], &ph[PH_GP]))) {
        write_gp(ph[PH_GP].fp, o, omega);
        if (fflush(ph[PH_GP].fp)) st = fl_fail(FL_E_IO, "%s: write failed", ph[PH_GP].path);
    }
    if (!st) st = open_out(o->dir, PH_NAME[PH_PNG], &ph[PH_PNG]);
    if (!st && (strchr(ph[PH_DAT].tmp, '\'') || strchr(ph[PH_PNG].tmp, '\'')))
        st = fl_fail(FL_E_INPUT, "%s: a quote in the output path cannot be passed to gnuplot", o->dir);
    if (!st) {
        size_t len = strlen(ph[PH_DAT].tmp) + strlen(ph[PH_PNG].tmp) + 32;
        char *vars = malloc(len);
        if (!vars) return fl_fail(FL_E_NOMEM, "%s: out of memory", o->dir);
        snprintf(vars, len, "src='%s'; out='%s'", ph[PH_DAT].tmp, ph[PH_PNG].tmp);
        st = cli_gnuplot(vars, ph[PH_GP].tmp, ph[PH_PNG].path);
        free(vars);
    }
    return st;
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
    /* Phasor files are staged first and committed only once the lifetimes
     * are: all files appear or none. */
    fl_atomic ph[PH_FILES];
    memset(ph, 0, sizeof ph);
    if (!st && o->fit.method == FL_FIT_PHASOR) st = fl_mkdir_p(o->dir);
    if (!st && o->fit.method == FL_FIT_PHASOR) st = write_phasor(o, y, r, n, ph);
    if (!st) {
        cli_lifetime_out out = {.dir = o->dir, .sample_axes = y->ndim - 1, .shape = y->shape, .n = n,
                                .est = est, .status = status, .plot = !o->no_plot, .source = o->in};
        st = cli_write_lifetimes(&out);
    }
    for (int k = 0; k < PH_FILES && !st; ++k)
        if (ph[k].fp) st = fl_atomic_commit(&ph[k]);
    for (int k = 0; k < PH_FILES; ++k)
        if (ph[k].tmp) fl_atomic_abort(&ph[k]);
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
    fl_status st = cli_check_lifetime_outputs(o.dir, o.in, o.irf);
    for (int k = 0; o.fit.method == FL_FIT_PHASOR && k < PH_FILES && !st; ++k)
        st = cli_check_output_in(o.dir, PH_NAME[k], o.in, o.irf);
    if (!st) st = load_checked(o.in, "TPSF", &y);
    if (st) return cli_fail(st);
    if (!(st = load_checked(o.irf, "IRF", &irf))) {
        st = run(&o, &y, &irf);
        fl_npy_free(&irf);
    }
    fl_npy_free(&y);
    return st ? cli_fail(st) : 0;
}
