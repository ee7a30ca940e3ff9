/* cmd_sweep.c - `fligru sweep CONFIG.yaml`: a design-space grid -> results/<run>/
 * (bench/sweep/include/fligru_sweep/sweep.h; docs/sweep-run.md). */
#include "cli.h"
#include "fligru_sweep/sweep.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *HELP =
    "usage: fligru sweep CONFIG.yaml [-j N] [--threads N] [--out DIR] [--cache DIR]\n"
    "                    [--executor local|slurm] [--sbatch-args ARGS] [--wait] [--no-submit]\n"
    "                    [--progress auto|lines|bar|quiet] [--no-plots] [--dry-run]\n"
    "       fligru sweep CONFIG.yaml --point K [--out DIR] [--cache DIR] [--threads N]\n\n"
    "Evaluates every design point of the grid in CONFIG (docs/sweep-run.md): trains\n"
    "what the model cache lacks (hardware axes never retrain), scores the bit-exact\n"
    "fixed-point model, adds timing, resources and memory from bench/hw, and writes\n"
    "DIR/<run>/points/<id>.json per point and DIR/<run>/results.csv (docs/sweep.md).\n"
    "Finished points are skipped when run again, also after a crash or a kill.\n\n"
    "options:\n"
    "  -j, --jobs N        points in parallel (local executor; default 1)\n"
    "  --threads N         threads per point (default: cores / jobs)\n"
    "  --out DIR           where the run directory goes (default results)\n"
    "  --cache DIR         trained models and training sets (default out/sweep-cache)\n"
    "  --executor E        local (default) or slurm: an sbatch job array, one task a point\n"
    "  --sbatch-args ARGS  extra sbatch options (partition, time, account)\n"
    "  --wait              slurm: wait for the array (sbatch --wait), then collect\n"
    "  --no-submit         slurm: write RUN/slurm/sweep.sbatch but do not submit it\n"
    "  --progress MODE     auto (a bar on a terminal, else lines), lines, bar, quiet\n"
    "  --no-plots          do not run the plot and table scripts at the end\n"
    "  --dry-run           check the config, write the manifest, print the grid size\n"
    "  --point K           evaluate point K only, in this process (what the executors run)\n";

static int self_exe(char *buf, size_t n)
{
    ssize_t k = readlink("/proc/self/exe", buf, n - 1);
    if (k <= 0) return -1;
    buf[k] = 0;
    return 0;
}

typedef struct {
    fl_sweep_opts o;
    const char   *executor, *sbatch_args;
    int           wait, submit, dry;
    long          point;   /* --point k: evaluate one point here; -1: the whole run */
} sweep_args;

static int on_opt(void *ctx, int key, const char *arg)
{
    sweep_args *a = ctx;
    switch (key) {
    case 'j':
        if (cli_parse_threads(arg, &a->o.jobs)) return cli_usage_error("sweep", "-j: expected 1..1024");
        return -1;
    case 't':
        if (cli_parse_threads(arg, &a->o.threads)) return cli_usage_error("sweep", "--threads: expected 1..1024");
        return -1;
    case 'o': a->o.out_root = arg; return -1;
    case 'c': a->o.cache = arg; return -1;
    case 'e':
        if (strcmp(arg, "local") && strcmp(arg, "slurm")) return cli_usage_error("sweep", "--executor: expected local or slurm");
        a->executor = arg;
        return -1;
    case 'a': a->sbatch_args = arg; return -1;
    case 'w': a->wait = 1; return -1;
    case 'n': a->submit = 0; return -1;
    case 'p':
        if (fl_progress_parse(arg, &a->o.progress))
            return cli_usage_error("sweep", "--progress: expected auto, lines, bar or quiet");
        return -1;
    case 'P': a->o.no_plots = 1; return -1;
    case 'd': a->dry = 1; return -1;
    case 'k':
        if (cli_parse_long(arg, 0, FL_SWEEP_MAX_POINTS, &a->point))
            return cli_usage_error("sweep", "--point: expected an index >= 0");
        return -1;
    default: return cli_usage_error("sweep", "unknown option");
    }
}

/* Distinct trained models of the run (points that share a model id share the model). */
static size_t count_models(const fl_sweep *s)
{
    size_t models = 0;
    for (size_t i = 0; i < s->n_points; ++i) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; ++j) seen = !strcmp(s->points[i].model_id, s->points[j].model_id);
        models += !seen;
    }
    return models;
}

/* Submits the job array. Returns -1 to go on and collect (--wait), with
 * *failed set when the submission or a task failed; else the exit status. */
static int run_slurm(const fl_sweep *s, const sweep_args *a, const char *run_dir, const char *self, int *failed)
{
    char job[128], args[2048];
    snprintf(args, sizeof args, "%s%s", a->wait ? "--wait " : "", a->sbatch_args);
    fl_status st = fl_sweep_run_slurm(s, &a->o, run_dir, self, args, a->submit, job, sizeof job);
    *failed = st != FL_OK;
    if (st) {
        fprintf(stderr, "fligru: %s\n", fl_error());
        return a->wait ? -1 : 1;
    }
    if (!a->submit) {
        fprintf(stderr, "sweep: wrote %s/slurm/sweep.sbatch (not submitted)\n", run_dir);
        return 0;
    }
    if (!job[0]) fprintf(stderr, "sweep: every point is finished; nothing to submit\n");
    else if (!a->wait) {
        fprintf(stderr, "sweep: submitted job array %s; when it ends: fligru collect %s\n", job, run_dir);
        return 0;
    } else fprintf(stderr, "sweep: job array %s finished\n", job);
    return -1;
}

/* results.csv from what finished, then the plots; 1 when a point is missing. */
static int collect(const fl_sweep *s, const sweep_args *a, const char *run_dir, int rc)
{
    size_t done, nfailed, missing;
    fl_status st = fl_sweep_collect(run_dir, &done, &nfailed, &missing);
    if (st) return cli_fail(st);
    fprintf(stderr, "sweep %s: %zu of %zu points done, %zu failed, %zu missing -> %s/results.csv\n", s->name, done,
            s->n_points, nfailed, missing, run_dir);
    for (int i = 0; !a->o.no_plots && done > 0 && i < s->n_plots; ++i) fl_sweep_plots(run_dir, s->plots[i]);
    return done < s->n_points ? 1 : rc;
}

/* The whole run: manifest, points (local children or Slurm), collection. */
static int run_all(const fl_sweep *s, const sweep_args *a)
{
    char run_dir[FL_SWEEP_PATH_MAX + 256];
    fl_status st = fl_sweep_prepare(s, &a->o, run_dir, sizeof run_dir);
    if (st) return cli_fail(st);
    fprintf(stderr, "sweep %s: %zu points (%zu in the grid before constraints), %zu models -> %s\n", s->name,
            s->n_points, s->n_before_constraints, count_models(s), run_dir);
    if (a->dry) return 0;
    char self[FL_SWEEP_PATH_MAX];
    if (self_exe(self, sizeof self)) {
        fprintf(stderr, "fligru: cannot find my own executable (/proc/self/exe)\n");
        return 1;
    }
    /* marks the points this invocation evaluates (status ok vs cached) */
    char tok[64];
    snprintf(tok, sizeof tok, "%ld-%ld", (long)getpid(), (long)time(NULL));
    setenv("FLIGRU_SWEEP_TOKEN", tok, 1);
    int rc = 0;
    if (!strcmp(a->executor, "slurm")) {
        int failed = 0;
        if ((rc = run_slurm(s, a, run_dir, self, &failed)) >= 0) return rc;
        rc = failed;
    } else {
        size_t failed = 0;
        if ((st = fl_sweep_run_local(s, &a->o, run_dir, self, &failed))) return cli_fail(st);
    }
    return collect(s, a, run_dir, rc);
}

int cmd_sweep(int argc, char **argv)
{
    static const struct option opts[] = {
        {"jobs", required_argument, 0, 'j'},     {"threads", required_argument, 0, 't'},
        {"out", required_argument, 0, 'o'},      {"cache", required_argument, 0, 'c'},
        {"executor", required_argument, 0, 'e'}, {"sbatch-args", required_argument, 0, 'a'},
        {"wait", no_argument, 0, 'w'},           {"no-submit", no_argument, 0, 'n'},
        {"progress", required_argument, 0, 'p'}, {"no-plots", no_argument, 0, 'P'},
        {"dry-run", no_argument, 0, 'd'},        {"point", required_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const cli_spec spec = {"sweep", HELP, "j:o:h", opts, on_opt, 1, 1, "expected one CONFIG.yaml"};
    sweep_args a = {.o = {.out_root = "results", .cache = "out/sweep-cache", .jobs = 1},
                    .executor = "local", .sbatch_args = "", .submit = 1, .point = -1};
    int first, rc = cli_parse_args(&spec, argc, argv, &a, &first);
    if (rc >= 0) return rc;
    fl_sweep *s;
    fl_status st = fl_sweep_load(argv[first], &s);
    if (st) return cli_fail(st);
    if (a.o.threads == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        a.o.threads = nc > a.o.jobs ? (int)(nc / a.o.jobs) : 1;
    }
    if (a.point >= 0) {
        char run_dir[FL_SWEEP_PATH_MAX + 256];
        snprintf(run_dir, sizeof run_dir, "%s/%s", a.o.out_root, s->name);
        st = fl_sweep_run_point(s, &a.o, run_dir, (size_t)a.point);
        rc = st ? cli_fail(st) : 0;
    } else rc = run_all(s, &a);
    fl_sweep_free(s);
    return rc;
}
