/* cmd_info.c - `fligru info FILE...`: dtype, shape and value range of .npy files. */
#include "cli.h"
#include "fligru/npy.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *HELP =
    "usage: fligru info FILE.npy...\n\n"
    "Prints, per file: dtype, shape, and min / max / mean of the values, and\n"
    "counts NaN and Inf. Exits 2 on the first unreadable file.\n";

static void summary(const char *path, const fl_npy *a)
{
    char shape[160];
    fl_npy_shape_str(a, shape, sizeof shape);
    fl_npy f;
    /* Statistics in double whatever the dtype: convert a float32 copy. */
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    size_t bad = 0, good = 0;
    if (fl_npy_load_f32(path, &f) == FL_OK) {
        const float *x = fl_npy_f32(&f);
        for (size_t i = 0; i < f.count; ++i) {
            if (!isfinite(x[i])) { ++bad; continue; }
            ++good;
            sum += x[i];
            if (x[i] < lo) lo = x[i];
            if (x[i] > hi) hi = x[i];
        }
        fl_npy_free(&f);
    }
    printf("%s: %s %s", path, fl_dtype_name(a->dtype), shape);
    if (good) printf("  min %.6g  max %.6g  mean %.6g", lo, hi, sum / (double)good);
    if (bad) printf("  non-finite %zu", bad);
    printf("\n");
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const cli_spec spec = {"info", HELP, "h", opts, NULL, 1, -1, "no file given"};
    int first, rc = cli_parse_args(&spec, argc, argv, NULL, &first);
    if (rc >= 0) return rc;
    for (int i = first; i < argc; ++i) {
        fl_npy a;
        fl_status st = fl_npy_load(argv[i], &a);
        if (st) return cli_fail(st);
        summary(argv[i], &a);
        fl_npy_free(&a);
    }
    return 0;
}
