/* cmd_collect.c - `fligru collect RUN_DIR`: results.csv from a sweep's per-point
 * files (after a Slurm job array, or any partial run). */
#include "cli.h"
#include "fligru_sweep/sweep.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char *HELP =
    "usage: fligru collect RUN_DIR [--plots SCRIPT]\n\n"
    "Merges RUN_DIR/points/<id>.json (and <id>.failed.json) into RUN_DIR/results.csv\n"
    "in grid order (the manifest RUN_DIR/points.csv), atomically. Points not yet\n"
    "evaluated are left out and counted; the exit status is 1 while any is missing\n"
    "or failed. --plots SCRIPT runs `sh SCRIPT RUN_DIR` afterwards.\n";

/* --plots SCRIPT (the only option). */
static int on_opt(void *ctx, int key, const char *arg)
{
    if (key != 'p') return cli_usage_error("collect", "unknown option");
    *(const char **)ctx = arg;
    return -1;
}

int cmd_collect(int argc, char **argv)
{
    static const struct option opts[] = {{"plots", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const cli_spec spec = {"collect", HELP, "h", opts, on_opt, 1, 1, "expected one RUN_DIR"};
    const char *plots = NULL;
    int first, rc = cli_parse_args(&spec, argc, argv, &plots, &first);
    if (rc >= 0) return rc;
    const char *dir = argv[first];
    size_t done = 0, failed = 0, missing = 0;
    fl_status st = fl_sweep_collect(dir, &done, &failed, &missing);
    if (st) return cli_fail(st);
    fprintf(stderr, "collect: %zu points done, %zu failed, %zu missing -> %s/results.csv\n", done, failed, missing, dir);
    if (plots && done) fl_sweep_plots(dir, plots);
    return missing || failed ? 1 : 0;
}
