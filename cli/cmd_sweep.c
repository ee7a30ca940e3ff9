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
    fl_sweep_opts o = {.out_root = "results", .cache = "out/sweep-cache", .jobs = 1};
    const char *executor = "local", *sbatch_args = "";
    int wait = 0, submit = 1, dry = 0;
    long point = -1;
    int c;
    while ((c = getopt_long(argc, argv, "j:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (cli_parse_threads(optarg, &o.jobs)) return cli_usage_error("sweep", "-j: expected 1..1024");
            break;
        case 't':
            if (cli_parse_threads(optarg, &o.threads)) return cli_usage_error("sweep", "--threads: expected 1..1024");
            break;
        case 'o': o.out_root = optarg; break;
        case 'c': o.cache = optarg; break;
        case 'e':
            if (strcmp(optarg, "local") && strcmp(optarg, "slurm"))
                return cli_usage_error("sweep", "--executor: expected local or slurm");
            executor = optarg;
            break;
        case 'a': sbatch_args = optarg; break;
        case 'w': wait = 1; break;
        case 'n': submit = 0; break;
        case 'p':
            if (!strcmp(optarg, "auto")) o.progress = 0;
            else if (!strcmp(optarg, "lines")) o.progress = 1;
            else if (!strcmp(optarg, "bar")) o.progress = 2;
            else if (!strcmp(optarg, "quiet")) o.progress = 3;
            else return cli_usage_error("sweep", "--progress: expected auto, lines, bar or quiet");
            break;
        case 'P': o.no_plots = 1; break;
        case 'd': dry = 1; break;
        case 'k': {
            char *end;
            point = strtol(optarg, &end, 10);
            if (!*optarg || *end || point < 0) return cli_usage_error("sweep", "--point: expected an index >= 0");
            break;
        }
        case 'h': fputs(HELP, stdout); return 0;
        default: return cli_usage_error("sweep", "unknown option");
        }
    }
    if (argc - optind != 1) return cli_usage_error("sweep", "expected one CONFIG.yaml");
    fl_sweep *s;
    fl_status st = fl_sweep_load(argv[optind], &s);
    if (st) return cli_fail(st);
    if (o.threads == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = nc > o.jobs ? (int)(nc / o.jobs) : 1;
    }
    char run_dir[FL_SWEEP_PATH_MAX + 256];
    if (point >= 0) {
        snprintf(run_dir, sizeof run_dir, "%s/%s", o.out_root, s->name);
        st = fl_sweep_run_point(s, &o, run_dir, (size_t)point);
        fl_sweep_free(s);
        return st ? cli_fail(st) : 0;
    }
    if ((st = fl_sweep_prepare(s, &o, run_dir, sizeof run_dir))) {
        fl_sweep_free(s);
        return cli_fail(st);
    }
    size_t models = 0;
    for (size_t i = 0; i < s->n_points; ++i) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; ++j) seen = !strcmp(s->points[i].model_id, s->points[j].model_id);
        models += !seen;
    }
    fprintf(stderr, "sweep %s: %zu points (%zu in the grid before constraints), %zu models -> %s\n", s->name,
            s->n_points, s->n_before_constraints, models, run_dir);
    if (dry) {
        fl_sweep_free(s);
        return 0;
    }
    char self[FL_SWEEP_PATH_MAX];
    if (self_exe(self, sizeof self)) {
        fl_sweep_free(s);
        fprintf(stderr, "fligru: cannot find my own executable (/proc/self/exe)\n");
        return 1;
    }
    /* marks the points this invocation evaluates (status ok vs cached) */
    char tok[64];
    snprintf(tok, sizeof tok, "%ld-%ld", (long)getpid(), (long)time(NULL));
    setenv("FLIGRU_SWEEP_TOKEN", tok, 1);
    size_t failed = 0;
    int rc = 0;
    if (!strcmp(executor, "slurm")) {
        char job[128], args[2048];
        snprintf(args, sizeof args, "%s%s", wait ? "--wait " : "", sbatch_args);
        st = fl_sweep_run_slurm(s, &o, run_dir, self, args, submit, job, sizeof job);
        if (st) {
            fprintf(stderr, "fligru: %s\n", fl_error());
            rc = 1;
            if (!wait) {
                fl_sweep_free(s);
                return rc;
            }
        } else if (!submit) {
            fprintf(stderr, "sweep: wrote %s/slurm/sweep.sbatch (not submitted)\n", run_dir);
            fl_sweep_free(s);
            return 0;
        } else if (!job[0]) fprintf(stderr, "sweep: every point is finished; nothing to submit\n");
        else if (!wait) {
            fprintf(stderr, "sweep: submitted job array %s; when it ends: fligru collect %s\n", job, run_dir);
            fl_sweep_free(s);
            return 0;
        } else fprintf(stderr, "sweep: job array %s finished\n", job);
    } else if ((st = fl_sweep_run_local(s, &o, run_dir, self, &failed))) {
        fl_sweep_free(s);
        return cli_fail(st);
    }
    size_t done, nfailed, missing;
    if ((st = fl_sweep_collect(run_dir, &done, &nfailed, &missing))) {
        fl_sweep_free(s);
        return cli_fail(st);
    }
    fprintf(stderr, "sweep %s: %zu of %zu points done, %zu failed, %zu missing -> %s/results.csv\n", s->name, done,
            s->n_points, nfailed, missing, run_dir);
    for (int i = 0; !o.no_plots && done > 0 && i < s->n_plots; ++i) fl_sweep_plots(run_dir, s->plots[i]);
    if (done < s->n_points) rc = 1;
    (void)failed;
    fl_sweep_free(s);
    return rc;
}
