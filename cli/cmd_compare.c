/* cmd_compare.c - `fligru compare --model M ... -o DIR`: networks against the
 * classical fits on the same synthetic pixels, across photon budgets. */
#include "cli.h"
#include "fligru/fit.h"
#include "fligru/io.h"
#include "fligru/lifetime.h"
#include "fligru/npy.h"
#include "fligru/synth.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *HELP =
    "usage: fligru compare --model M.safetensors [--model Q.safetensors ...] -o DIR [options]\n\n"
    "Synthesises the same pixels (decays and IRFs from --config and --seed) at each\n"
    "fixed photon budget, and estimates their lifetimes with every network (float\n"
    "or quantised: anything fligru predict runs; C = 3 via the component formulas,\n"
    "C = 1 via a fit of the decay) and with the classical methods: the Poisson\n"
    "reconvolution fit (\"fit\", fligru fit --method bi), RLD (\"rld\") and the\n"
    "IRF-calibrated phasor (\"phasor\", fligru fit --method phasor: its tau_phi is\n"
    "scored as the mean lifetime).\n\n"
    "DIR/compare.csv   one row per method and budget: failures, bias, spread of\n"
    "                  tau_m, tau1, tau2, a, and pixels/s (the only column that\n"
    "                  varies between runs and thread counts)\n"
    "DIR/compare.png   tau_m bias, spread, failure rate and speed against photons,\n"
    "                  drawn by DIR/compare.gp\n"
    "DIR/truth-P.npy   [N,3] true tau1, tau2, a at budget P\n"
    "DIR/est-M-P.npy   [N,4] method M's tau1, tau2, a, tau_m (NaN: failed)\n\n"
    "options:\n"
    "  --config SYNTH.yaml  data model (default: fligru synth's defaults, T = 135 x 90 ps)\n"
    "  --photons LIST       comma-separated budgets (default 100,300,1000,3000)\n"
    "  --samples N          pixels per budget (default 2000)\n"
    "  --seed S             override the config's seed\n"
    "  --no-plot            no compare.png / compare.gp\n"
    "  --threads N          worker threads (results do not depend on it)\n";

#define MAX_MODELS  8
#define MAX_BUDGETS 16
#define MAX_METHODS (MAX_MODELS + 3)
#define BATCH       4096

typedef struct {
    const char     *models[MAX_MODELS], *config, *dir;
    int             n_models, n_budgets, no_plot, threads, has_seed;
    double          photons[MAX_BUDGETS];
    size_t          samples;
    unsigned long long seed;
} compare_opts;

static int parse_photons(const char *s, compare_opts *o)
{
    o->n_budgets = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !(v > 0.0) || !(v <= 1e9) || o->n_budgets == MAX_BUDGETS) return -1;
        o->photons[o->n_budgets++] = v;
        if (*end == ',') ++end;
        else if (*end) return -1;
        s = end;
    }
    return o->n_budgets ? 0 : -1;
}

enum { O_MODEL = 256, O_CONFIG, O_PHOTONS, O_SAMPLES, O_SEED, O_NOPLOT, O_THREADS };

static int on_opt(void *ctx, int key, const char *arg)
{
    compare_opts *o = ctx;
    long v;
    char *end;
    switch (key) {
    case 'o': o->dir = arg; return -1;
    case O_MODEL:
        if (o->n_models == MAX_MODELS) return cli_usage_error("compare", "at most %d --model", MAX_MODELS);
        o->models[o->n_models++] = arg;
        return -1;
    case O_CONFIG: o->config = arg; return -1;
    case O_PHOTONS:
        if (parse_photons(arg, o))
            return cli_usage_error("compare", "--photons: '%s' is not a list of up to %d budgets in (0, 1e9]", arg,
                                   MAX_BUDGETS);
        return -1;
    case O_SAMPLES:
        if (cli_parse_long(arg, 1, 100000000L, &v)) return cli_usage_error("compare", "--samples: '%s' is not 1..1e8", arg);
        o->samples = (size_t)v;
        return -1;
    case O_SEED:
        errno = 0;
        o->seed = strtoull(arg, &end, 10);
        if (*arg == '\0' || *arg == '-' || *end || errno || o->seed >= (1ULL << 63))
            return cli_usage_error("compare", "--seed: '%s' is not in [0, 2^63)", arg);
        o->has_seed = 1;
        return -1;
    case O_NOPLOT: o->no_plot = 1; return -1;
    case O_THREADS:
        return cli_opt_threads("compare", arg, &o->threads);
    default: return cli_usage_error("compare", "unknown option");
    }
}

static int parse_args(int argc, char **argv, compare_opts *o)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},        {"model", required_argument, 0, O_MODEL},
        {"config", required_argument, 0, O_CONFIG},   {"photons", required_argument, 0, O_PHOTONS},
        {"samples", required_argument, 0, O_SAMPLES}, {"seed", required_argument, 0, O_SEED},
        {"no-plot", no_argument, 0, O_NOPLOT},        {"threads", required_argument, 0, O_THREADS},
        {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};
    const cli_spec spec = {"compare", HELP, "ho:", opts, on_opt, 0, 0, "takes no positional argument"};
    *o = (compare_opts){.n_budgets = 4, .photons = {100, 300, 1000, 3000}, .samples = 2000};
    int first, rc = cli_parse_args(&spec, argc, argv, o, &first);
    if (rc >= 0) return rc;
    if (!o->dir) return cli_usage_error("compare", "no output: -o DIR");
    return -1;
}

/* One estimator: a network or a classical method. */
typedef struct {
    char          name[64];
    cli_predictor net;   /* .ctx NULL for the classical methods */
    fl_fit_method fit;
} method;

/* One CSV row. */
typedef struct {
    double             photons, pixels_per_s;
    size_t             fallbacks;
    fl_lifetime_report rep;
} row;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The file's stem ("results/models/student32.safetensors" -> "student32"),
 * made safe for file names and CSV; a repeated stem gets "-2", "-3", ... */
static void method_name(const char *path, const method *m, int n, char *out, size_t len)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t k = 0;
    for (; b[k] && b[k] != '.' && k + 4 < len; ++k)
        out[k] = (b[k] == ',' || b[k] == ' ' || b[k] == '"' || b[k] == '\'') ? '_' : b[k];
    out[k] = '\0';
    if (!k || !strcmp(out, "fit") || !strcmp(out, "rld") || !strcmp(out, "phasor")) snprintf(out, len, "net");
    int dup = 1;
    for (int i = 0; i < n; ++i)
        if (!strncmp(m[i].name, out, strlen(out))) ++dup;
    if (dup > 1) snprintf(out + strlen(out), len - strlen(out), "-%d", dup);
}

/* est [n][4] and the fit fallbacks of one method on x [n][t] with IRFs irf. */
static fl_status estimate(const method *m, const fl_synth_params *sp, size_t n, const float *x,
                          const float *irf, double *est, size_t *fallbacks, double *secs)
{
    size_t t = (size_t)sp->gates;
    fl_status st = FL_OK;
    fl_fit_result *r = malloc(n * sizeof *r);
    float *y = m->net.ctx ? malloc(n * t * (size_t)m->net.outputs * sizeof *y) : NULL;
    if (!r || (m->net.ctx && !y)) {
        free(r);
        free(y);
        return fl_fail(FL_E_NOMEM, "compare: out of memory for %zu pixels", n);
    }
    double t0 = now_s();
    if (!m->net.ctx) {
        fl_fit_params fp = {.t = t, .gate_ns = sp->gate_width_ns, .method = m->fit,
                            .weighting = FL_FIT_POISSON, .background = 1};
        st = fl_fit_run(&fp, n, x, irf, t, r);
    } else {
        size_t c = (size_t)m->net.outputs;
        for (size_t i = 0; !st && i < n; i += BATCH) {
            size_t b = n - i < BATCH ? n - i : BATCH;
            st = m->net.forward(m->net.ctx, x + i * t, b, (int)t, y + i * t * c);
        }
        if (!st && c >= 3) {
            fl_lifetime_params lp = {.gate_ns = sp->gate_width_ns, .method = FL_TAU_EXACT};
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < n; ++i) {
                fl_lifetimes e;
                fl_lifetime_from_components(&lp, y + i * t * c, t, c, &e);
                r[i] = (fl_fit_result){.tau1 = e.tau1, .tau2 = e.tau2, .a = e.a, .tau_m = e.tau_m};
            }
        } else if (!st) {
            fl_fit_params fp = {.t = t, .gate_ns = sp->gate_width_ns, .method = FL_FIT_BI,
                                .weighting = FL_FIT_UNWEIGHTED, .background = 0};
            st = fl_fit_run(&fp, n, y, NULL, 0, r);
        }
    }
    *secs = now_s() - t0;
    *fallbacks = 0;
    for (size_t i = 0; !st && i < n; ++i) {
        double v[4] = {r[i].tau1, r[i].tau2, r[i].a, r[i].tau_m};
        memcpy(est + 4 * i, v, sizeof v);
        *fallbacks += r[i].outcome == FL_FIT_FALLBACK;
    }
    free(r);
    free(y);
    return st;
}

/* Saves a float32 array of doubles [n][k] as DIR/<name>. */
static fl_status save_f32(const char *dir, const char *name, const double *v, size_t n, size_t k)
{
    size_t shape[2] = {n, k};
    fl_npy a;
    fl_status st = fl_npy_alloc(&a, FL_F32, 2, shape);
    if (st) return st;
    for (size_t i = 0; i < n * k; ++i) fl_npy_f32(&a)[i] = (float)v[i];
    char *path = fl_path_join(dir, name);
    st = path ? fl_npy_save(path, &a) : fl_fail(FL_E_NOMEM, "compare: out of memory");
    free(path);
    fl_npy_free(&a);
    return st;
}

static void csv_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, ",%.6g", v);
    else fputs(",nan", f);
}

static const char *CSV_HEADER =
    "method,photons,n,failures,failure_rate,fallbacks,tau_m_bias,tau_m_std,tau_m_mae,tau_m_mre,"
    "tau1_bias,tau1_std,tau2_bias,tau2_std,a_bias,a_std,pixels_per_s\n";

static void csv_row(FILE *f, const char *name, const row *r)
{
    const fl_lifetime_report *p = &r->rep;
    fprintf(f, "%s,%.6g,%zu,%zu", name, r->photons, p->n, p->tau_m.failures);
    csv_num(f, (double)p->tau_m.failures / (double)p->n);
    fprintf(f, ",%zu", r->fallbacks);
    const double v[] = {p->tau_m.bias, p->tau_m.std, p->tau_m.mae, p->tau_m.mre, p->tau1.bias, p->tau1.std,
                        p->tau2.bias, p->tau2.std, p->a.bias, p->a.std};
    for (size_t k = 0; k < sizeof v / sizeof *v; ++k) csv_num(f, v[k]);
    fprintf(f, ",%.0f\n", r->pixels_per_s);
}

static fl_status write_plot(const compare_opts *o, const method *m, int n_methods, const char *csv_tmp)
{
    fl_atomic gp = {0}, png = {0};
    char *gpath = fl_path_join(o->dir, "compare.gp"), *ppath = fl_path_join(o->dir, "compare.png");
    fl_status st = gpath && ppath ? FL_OK : fl_fail(FL_E_NOMEM, "compare: out of memory");
    if (!st) st = fl_atomic_open(&gp, gpath);
    if (!st) {
        fprintf(gp.fp, "# compare.gp - networks vs classical fits, written by fligru compare.\n"
                       "# Re-render: gnuplot compare.gp (reads compare.csv, writes compare.png)\n"
                       "if (!exists(\"src\")) src = \"compare.csv\"\n"
                       "if (!exists(\"out\")) out = \"compare.png\"\n"
                       "methods = \"");
        for (int i = 0; i < n_methods; ++i) fprintf(gp.fp, "%s%s", i ? " " : "", m[i].name);
        fputs("\"\n"
              "set datafile separator ','\n"
              "set terminal pngcairo size 1100,800 font \",10\"\n"
              "set output out\n"
              "set multiplot layout 2,2 title 'lifetime estimates against photons per pixel' noenhanced\n"
              "set logscale x; set xlabel 'photons per pixel'; set grid; set key top right noenhanced\n"
              "sel(c) = strcol(1) eq word(methods, i) ? column(c) : NaN\n"
              "set title 'mean lifetime: bias (estimate - truth)'; set ylabel 'ns'\n"
              "plot for [i=1:words(methods)] src skip 1 using 2:(sel(7)) with linespoints title word(methods, i)\n"
              "set title 'mean lifetime: spread (std of the error)'; set ylabel 'ns'\n"
              "plot for [i=1:words(methods)] src skip 1 using 2:(sel(8)) with linespoints title word(methods, i)\n"
              "set title 'failure rate (no estimate)'; set ylabel 'fraction of pixels'\n"
              "plot for [i=1:words(methods)] src skip 1 using 2:(sel(5)) with linespoints title word(methods, i)\n"
              "set title 'speed'; set ylabel 'pixels/s'; set logscale y\n"
              "plot for [i=1:words(methods)] src skip 1 using 2:(sel(17)) with linespoints title word(methods, i)\n"
              "unset multiplot\n",
              gp.fp);
        if (fflush(gp.fp)) st = fl_fail(FL_E_IO, "%s: write failed", gpath);
    }
    if (!st) st = fl_atomic_open(&png, ppath);
    if (!st) {
        size_t len = strlen(csv_tmp) + strlen(png.tmp) + 32;
        char *vars = malloc(len);
        if (!vars) st = fl_fail(FL_E_NOMEM, "compare: out of memory");
        else if (strchr(csv_tmp, '\'') || strchr(png.tmp, '\''))
            st = fl_fail(FL_E_INPUT, "%s: a quote in the output path cannot be passed to gnuplot", o->dir);
        if (!st) {
            snprintf(vars, len, "src='%s'; out='%s'", csv_tmp, png.tmp);
            st = cli_gnuplot(vars, gp.tmp, ppath);
        }
        free(vars);
    }
    if (!st) st = fl_atomic_commit(&gp);
    if (!st) st = fl_atomic_commit(&png);
    fl_atomic_abort(&gp);
    fl_atomic_abort(&png);
    free(gpath);
    free(ppath);
    return st;
}

static fl_status write_csv(const compare_opts *o, const method *m, int n_methods, const row *rows)
{
    fl_atomic f = {0};
    char *path = fl_path_join(o->dir, "compare.csv");
    fl_status st = path ? fl_atomic_open(&f, path) : fl_fail(FL_E_NOMEM, "compare: out of memory");
    if (!st) {
        fputs(CSV_HEADER, f.fp);
        /* By method, then budget: each method's rows are one line in the plot. */
        for (int k = 0; k < n_methods; ++k)
            for (int b = 0; b < o->n_budgets; ++b) csv_row(f.fp, m[k].name, &rows[b * n_methods + k]);
        if (fflush(f.fp)) st = fl_fail(FL_E_IO, "%s: write failed", path);
    }
    /* The plot reads the CSV under its temporary name: the figure can never
     * show other numbers than the file next to it. */
    if (!st && !o->no_plot) st = write_plot(o, m, n_methods, f.tmp);
    if (!st) st = fl_atomic_commit(&f);
    fl_atomic_abort(&f);
    free(path);
    return st;
}

static void print_table(const compare_opts *o, const method *m, int n_methods, const row *rows)
{
    printf("%-14s %8s %9s %10s %10s %10s %12s\n", "method", "photons", "failed", "tau_m bias", "tau_m std",
           "tau_m MRE", "pixels/s");
    for (int b = 0; b < o->n_budgets; ++b)
        for (int k = 0; k < n_methods; ++k) {
            const row *r = &rows[b * n_methods + k];
            printf("%-14s %8.0f %8.2f%% %+10.4f %10.4f %9.2f%% %12.0f\n", m[k].name, r->photons,
                   100.0 * (double)r->rep.tau_m.failures / (double)r->rep.n, r->rep.tau_m.bias,
                   r->rep.tau_m.std, 100.0 * r->rep.tau_m.mre, r->pixels_per_s);
        }
}

/* Synthesises budget b, runs every method, saves truth and estimates. */
static fl_status run_budget(const compare_opts *o, fl_synth_params sp, int b, const method *m, int n_methods,
                            row *rows, float *x, float *par, float *irf, double *est)
{
    size_t n = o->samples, t = (size_t)sp.gates;
    sp.noise = 1;
    sp.photons[0] = sp.photons[1] = o->photons[b];
    fl_synth *s = NULL;
    fl_status st = fl_synth_create(&sp, &s);
    if (!st) st = fl_synth_generate(s, 0, n, x, NULL, par, irf);
    fl_synth_free(s);
    char name[160];
    double *tr = malloc(3 * n * sizeof *tr);
    if (!st && !tr) st = fl_fail(FL_E_NOMEM, "compare: out of memory");
    for (size_t i = 0; !st && i < 3 * n; ++i) tr[i] = par[i];
    snprintf(name, sizeof name, "truth-%.0f.npy", o->photons[b]);
    if (!st) st = save_f32(o->dir, name, tr, n, 3);
    free(tr);
    for (int k = 0; !st && k < n_methods; ++k) {
        row *r = &rows[b * n_methods + k];
        double secs = 0.0;
        *r = (row){.photons = o->photons[b]};
        st = estimate(&m[k], &sp, n, x, irf, est, &r->fallbacks, &secs);
        if (!st) st = fl_fit_score(est, par, n, &r->rep);
        r->pixels_per_s = secs > 0.0 ? (double)n / secs : 0.0;
        snprintf(name, sizeof name, "est-%.64s-%.0f.npy", m[k].name, o->photons[b]);
        if (!st) st = save_f32(o->dir, name, est, n, 4);
    }
    (void)t;
    return st;
}

static fl_status run(const compare_opts *o, method *m, int n_methods)
{
    fl_synth_params sp;
    fl_status st = FL_OK;
    if (o->config) st = fl_synth_params_from_yaml(o->config, &sp);
    else fl_synth_params_default(&sp);
    if (st) return st;
    if (sp.image)
        return fl_fail(FL_E_INPUT, "%s: image.enabled: compare needs independent pixels (vector mode)", o->config);
    if (o->has_seed) sp.seed = o->seed;
    sp.samples = o->samples;
    if (sp.gates < 8)
        return fl_fail(FL_E_INPUT, "%s: gates: %d, the fits need at least 8", o->config ? o->config : "defaults",
                       sp.gates);
    sp.noise = 1;
    sp.photons[0] = sp.photons[1] = o->photons[0];
    if ((st = fl_synth_params_check(&sp))) return st;
    size_t n = o->samples, t = (size_t)sp.gates;
    float *x = malloc(n * t * sizeof *x), *irf = malloc(n * t * sizeof *irf), *par = malloc(3 * n * sizeof *par);
    double *est = malloc(4 * n * sizeof *est);
    row *rows = calloc((size_t)(o->n_budgets * n_methods), sizeof *rows);
    if (!x || !irf || !par || !est || !rows) st = fl_fail(FL_E_NOMEM, "compare: out of memory for %zu pixels", n);
    if (!st) st = fl_mkdir_p(o->dir);
    for (int b = 0; !st && b < o->n_budgets; ++b) st = run_budget(o, sp, b, m, n_methods, rows, x, par, irf, est);
    if (!st) st = write_csv(o, m, n_methods, rows);
    if (!st) {
        printf("compare: %zu pixels per budget, T = %d x %g ns, seed %llu, %d threads -> %s\n", n, sp.gates,
               sp.gate_width_ns, (unsigned long long)sp.seed, fl_get_threads(), o->dir);
        print_table(o, m, n_methods, rows);
    }
    free(x);
    free(irf);
    free(par);
    free(est);
    free(rows);
    return st;
}

int cmd_compare(int argc, char **argv)
{
    compare_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    fl_set_threads(o.threads);
    method m[MAX_METHODS];
    memset(m, 0, sizeof m);
    int n = 0;
    fl_status st = FL_OK;
    for (int i = 0; !st && i < o.n_models; ++i) {
        method_name(o.models[i], m, n, m[n].name, sizeof m[n].name);
        if (!(st = cli_open_model(o.models[i], &m[n].net))) {
            if (m[n].net.input != 1)
                st = fl_fail(FL_E_INPUT, "%s: input: %d features per step, compare feeds TPSFs (1)", o.models[i],
                             m[n].net.input);
            ++n;
        }
    }
    snprintf(m[n].name, sizeof m[n].name, "fit");
    m[n++].fit = FL_FIT_BI;
    snprintf(m[n].name, sizeof m[n].name, "rld");
    m[n++].fit = FL_FIT_RLD;
    snprintf(m[n].name, sizeof m[n].name, "phasor");
    m[n++].fit = FL_FIT_PHASOR;
    if (!st) st = run(&o, m, n);
    for (int i = 0; i < n; ++i)
        if (m[i].net.ctx) m[i].net.release(m[i].net.ctx);
    return st ? cli_fail(st) : 0;
}
