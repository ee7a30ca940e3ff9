/* bench_fx.c - speed of the fixed-point forward (fl_fx_forward): pixels/s and
 * seconds per 512x512 frame, for a random-weight student in a given format.
 *
 *   bench_fx [--config FX.yaml (default: fx-w8s16's values)] [--hidden 32] [--pixels N] [--T 135]
 *            [--threads N] [--kernel auto|generic|avx2|avx512] [--repeat R]
 *
 * Prints the CPU kernel, the thread count, the format, the multiply-accumulates
 * per pixel, and the best of R runs. Random weights and random decays are fine:
 * integer arithmetic costs the same whatever the values. */
#include "fligru/fxmodel.h"
#include "fligru/io.h"
#include "fligru/rng.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_kernel(const char *s, fl_fx_kernel *k)
{
    static const char *const names[] = {"auto", "generic", "avx2", "avx512"};
    for (int i = 0; i < 4; ++i)
        if (!strcmp(s, names[i])) {
            *k = (fl_fx_kernel)i;
            return 0;
        }
    return -1;
}

typedef struct {
    const char  *config;     /* NULL: configs/fx-w8s16.yaml's values, below */
    int          hidden, T, threads, repeat;
    long         pixels;
    fl_fx_kernel kernel;
} bench_args;

/* 0 when the arguments are fine, else the exit status (message printed). */
static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){.hidden = 32, .T = 135, .repeat = 2, .pixels = 512L * 512L, .kernel = FL_FX_KERNEL_AUTO};
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"hidden", required_argument, 0, 'H'},
                                         {"pixels", required_argument, 0, 'n'}, {"T", required_argument, 0, 'T'},
                                         {"threads", required_argument, 0, 't'}, {"kernel", required_argument, 0, 'k'},
                                         {"repeat", required_argument, 0, 'r'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config = optarg; break;
        case 'H': a->hidden = atoi(optarg); break;
        case 'n': a->pixels = atol(optarg); break;
        case 'T': a->T = atoi(optarg); break;
        case 't': a->threads = atoi(optarg); break;
        case 'r': a->repeat = atoi(optarg); break;
        case 'k':
            if (parse_kernel(optarg, &a->kernel)) {
                fprintf(stderr, "bench_fx: --kernel %s: auto, generic, avx2 or avx512\n", optarg);
                return 2;
            }
            break;
        default: fprintf(stderr, "usage: bench_fx [--config F] [--hidden H] [--pixels N] [--T T] [--threads N] "
                                 "[--kernel K] [--repeat R]\n");
                 return 2;
        }
    }
    if (a->hidden < 1 || a->pixels < 1 || a->T < 1 || a->repeat < 1) {
        fprintf(stderr, "bench_fx: sizes must be positive\n");
        return 2;
    }
    return 0;
}

/* A random-weight student quantised with the format (config or fx-w8s16's). */
static int make_model(const bench_args *a, fl_s2s *m, fl_fx_model *q)
{
    /* configs/fx-w8s16.yaml, built in so the benchmark runs from any directory. */
    static const char W8S16[] = "name: fx-w8s16\nweights: {bits: 8, scale: per_row}\n"
                                "gate: {bits: 16, frac: 11}\nstate: {bits: 16, frac: 14}\n";
    fl_fx_format f;
    if (a->config ? fl_fx_format_load(a->config, &f) : fl_fx_format_parse(W8S16, sizeof W8S16 - 1, "fx-w8s16", &f)) {
        fprintf(stderr, "bench_fx: %s\n", fl_error());
        return 2;
    }
    fl_s2s_config sc = fl_s2s_config_student(a->hidden);
    fl_fx_report rep;
    if (fl_s2s_init(m, &sc)) return 1;
    fl_s2s_init_random(m, 42);
    if (fl_fx_quantize(m, &f, q, &rep)) {
        fprintf(stderr, "bench_fx: %s\n", fl_error());
        return 2;
    }
    return 0;
}

/* A decay per pixel, quantised: any values cost the same. */
static void make_input(const fl_fx_model *q, size_t n, int T, float *x, int32_t *xq)
{
    for (size_t i = 0; i < n; ++i) {
        fl_rng r;
        fl_rng_init(&r, 1, i);
        const double tau = fl_rng_range(&r, 5, 20), t0 = fl_rng_range(&r, 10, 20);
        for (int t = 0; t < T; ++t) x[i * T + t] = t < t0 ? 0.0f : (float)exp(-(t - t0) / tau);
    }
    fl_fx_quantize_input(q, x, n * (size_t)T, xq);
}

static void print_setup(const bench_args *a, const fl_fx_model *q, size_t n)
{
    char fs[512];
    fl_fx_format_str(&q->fmt, fs, sizeof fs);
    const int D_h = fl_fx_product_shift(&q->fmt, q->fmt.state.frac);
    printf("bench_fx: student %dx%d, C = %d, T = %d, %zu pixels, kernel %s, %d threads\n", a->hidden, a->hidden,
           q->cfg.outputs, a->T, n, fl_fx_kernel_name(fl_fx_get_kernel()), fl_get_threads());
    printf("format %s: %s (MAC path: %s)\n", q->fmt.name, fs,
           D_h > 0 ? (q->fmt.weight_bits + q->fmt.state.bits <= 32 ? "32-bit products, rounded per product"
                                                                    : "64-bit products, rounded per product")
                   : D_h == 0 && q->fmt.state.bits <= 16 ? "int16 pairs" : "32-bit products");
}

/* Best of `repeat` runs: wall time is the figure; CPU time per thread tells
 * what a machine shared with other work would have done alone. */
static int time_runs(const bench_args *a, const fl_fx_model *q, const int32_t *xq, size_t n, int32_t *yq,
                     double *best, double *best_cpu)
{
    *best = *best_cpu = 1e300;
    for (int r = 0; r < a->repeat; ++r) {
        const double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        if (fl_fx_forward(q, xq, n, a->T, yq)) {
            fprintf(stderr, "bench_fx: %s\n", fl_error());
            return 1;
        }
        const double dt = clock_s(CLOCK_MONOTONIC) - t0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (dt < *best) *best = dt;
        if (dc < *best_cpu) *best_cpu = dc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bench_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    fl_set_threads(a.threads);
    if (fl_fx_set_kernel(a.kernel)) {
        fprintf(stderr, "bench_fx: %s\n", fl_error());
        return 2;
    }
    fl_s2s m;
    fl_fx_model q;
    if ((rc = make_model(&a, &m, &q))) return rc;
    const int T = a.T;
    const size_t n = (size_t)a.pixels, nx = n * (size_t)T, ny = nx * (size_t)q.cfg.outputs;
    int32_t *xq = malloc(nx * sizeof *xq), *yq = malloc(ny * sizeof *yq);
    float *x = malloc(nx * sizeof *x);
    if (!xq || !yq || !x) {
        fprintf(stderr, "bench_fx: out of memory\n");
        return 1;
    }
    make_input(&q, n, T, x, xq);
    const double H = a.hidden, macs = (double)T * (3 * H * q.cfg.input + 3 * H * H) + (double)T * 3 * H * H +
                                      (double)T * q.cfg.outputs * H;
    print_setup(&a, &q, n);
    double best, best_cpu;
    if ((rc = time_runs(&a, &q, xq, n, yq, &best, &best_cpu))) return rc;
    const double pps = (double)n / best, frame = 512.0 * 512.0 / pps;
    const double cpu_frame = best_cpu * 512.0 * 512.0 / (double)n;
    printf("%.0f MAC/pixel; best of %d: %.3f s -> %.0f pixels/s, %.2f s per 512x512 frame, %.1f GMAC/s\n", macs,
           a.repeat, best, pps, frame, macs * pps * 1e-9);
    printf("cpu time: %.2f cpu-s per frame = %.2f s per frame on %d otherwise idle cores\n", cpu_frame,
           cpu_frame / fl_get_threads(), fl_get_threads());
    free(x);
    free(xq);
    free(yq);
    fl_fx_model_free(&q);
    fl_s2s_free(&m);
    return 0;
}
