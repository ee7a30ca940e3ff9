/* cmd_synth.c - `fligru synth CONFIG.yaml -o DIR`: synthetic FLI data. */
#include "cli.h"

#include "fligru/io.h"
#include "fligru/synth.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char HELP[] =
        "usage: fligru synth CONFIG.yaml -o DIR [--threads N] [--seed S] [--samples N]\n\n"
        "Generates synthetic time-gated FLI data from a YAML config (see docs/data.md):\n"
        "  DIR/tpsf.npy    float32 [N,T] (image mode [H,W,T]): noisy TPSFs / peak\n"
        "  DIR/target.npy  float32 [N,T,C]: noiseless decay (C=3: full, short, long)\n"
        "  DIR/params.npy  float32 [N,3]: tau1_ns, tau2_ns, a\n"
        "  DIR/irf.npy     float32 [N,T]: the unit-sum IRF of each pixel\n"
        "  DIR/mask.npy    uint8 [H,W] (image mode only)\n"
        "All files appear together or not at all. Output is byte-identical for any\n"
        "thread count.\n\n"
        "options:\n"
        "  -o, --output DIR   output directory (created if missing)\n"
        "  -j, --threads N    worker threads (default: OMP_NUM_THREADS or all cores)\n"
        "      --seed S       override the config's seed\n"
        "      --samples N    override the config's sample count (not in image mode)\n"
        "  -h, --help         this text\n";

static int parse_u64(const char *s, unsigned long long max, unsigned long long *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*s == '\0' || *s == '-' || *end != '\0' || errno || x > max) return -1;
    *v = x;
    return 0;
}

typedef struct {
    const char *config, *out;
    int threads;
    int has_seed, has_samples;
    unsigned long long seed, samples;
} synth_args;

enum { OPT_SEED = 256, OPT_SAMPLES };

static int on_opt(void *ctx, int key, const char *arg)
{
    synth_args *a = ctx;
    switch (key) {
    case 'o': a->out = arg; return -1;
    case 'j':
        if (cli_parse_threads(arg, &a->threads)) return cli_usage_error("synth", "bad --threads '%s'", arg);
        return -1;
    case OPT_SEED:
        if (parse_u64(arg, 0x7fffffffffffffffULL, &a->seed))
            return cli_usage_error("synth", "bad --seed '%s' (an integer in [0, 2^63))", arg);
        a->has_seed = 1;
        return -1;
    case OPT_SAMPLES:
        if (parse_u64(arg, 1000000000ULL, &a->samples) || a->samples == 0)
            return cli_usage_error("synth", "bad --samples '%s' (an integer in [1, 1e9])", arg);
        a->has_samples = 1;
        return -1;
    default: return cli_usage_error("synth", "unknown option");
    }
}

/* Returns -1 when the arguments are fine, else the exit status. */
static int parse_args(int argc, char **argv, synth_args *a)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},  {"threads", required_argument, NULL, 'j'},
        {"seed", required_argument, NULL, OPT_SEED}, {"samples", required_argument, NULL, OPT_SAMPLES},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    const cli_spec spec = {"synth", HELP, "o:j:h", opts, on_opt, 1, 1, "expected exactly one CONFIG.yaml"};
    int first, rc = cli_parse_args(&spec, argc, argv, a, &first);
    if (rc >= 0) return rc;
    if (!a->out) return cli_usage_error("synth", "missing -o DIR");
    a->config = argv[first];
    return -1;
}

int cmd_synth(int argc, char **argv)
{
    synth_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;

    fl_synth_params p;
    fl_status st = fl_synth_params_from_yaml(a.config, &p);
    if (st) return cli_fail(st);
    if (a.has_samples && p.image)
        return cli_usage_error("synth", "--samples is not used in image mode (%s)", a.config);
    if (a.has_seed) p.seed = a.seed;
    if (a.has_samples) p.samples = (size_t)a.samples;
    fl_set_threads(a.threads);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = fl_synth_write_dir(&p, a.out);
    if (st) return cli_fail(st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    size_t n = p.image ? (size_t)p.tiles[0] * p.tiles[1] * p.digit_size * p.digit_size : p.samples;
    printf("synth: N=%zu T=%d C=%d%s seed=%llu -> %s (%.2f s, %d threads)\n", n, p.gates,
           p.channels, p.image ? " image" : "", (unsigned long long)p.seed, a.out, sec,
           fl_get_threads());
    return 0;
}
