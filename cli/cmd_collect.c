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

int cmd_collect(int argc, char **argv)
{
    static const struct option opts[] = {{"plots", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *plots = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': plots = optarg; break;
        case 'h': fputs(HELP, stdout); return 0;
        default: return cli_usage_error("collect", "unknown option");
        }
    }
    if (argc - optind != 1) return cli_usage_error("collect", "expected one RUN_DIR");
    const char *dir = argv[optind];
    size_t done = 0, failed = 0, missing = 0;
    fl_status st = fl_sweep_collect(dir, &done, &failed, &missing);
    if (st) return cli_fail(st);
    fprintf(stderr, "collect: %zu points done, %zu failed, %zu missing -> %s/results.csv\n", done, failed, missing, dir);
    if (plots && done) fl_sweep_plots(dir, plots);
    return missing || failed ? 1 : 0;
}
