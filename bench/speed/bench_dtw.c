/* bench_dtw.c - exact DTW throughput: the batched SIMD kernel on 10^5 pairs of
 * synthetic decays, against the full-matrix reference on a subset.
 *
 *     build/bench_dtw [PAIRS [T [BAND [KERNEL]]]]
 * Defaults 100000 135 -1 and the best kernel (avx512f, avx2, generic); threads:
 * OMP_NUM_THREADS, else all cores.
 * Target: 10^5 pairs of length 135 in under 10 s on 2 cores.
 */
#include "fligru/io.h"
#include "fligru/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x2545f4914f6cdd1du;

static double urand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1.0p-53;
}

/* Peak-normalised bi-exponential decays with a random onset and a little noise:
 * the shape of the networks' outputs, so the kernel sees realistic data. */
static float *decays(size_t n, size_t t)
{
    float *x = malloc(n * t * sizeof *x);
    for (size_t i = 0; i < n; ++i) {
        double t1 = 0.2 + 0.6 * urand(), t2 = 0.8 + 0.7 * urand(), a = urand();
        size_t onset = (size_t)(5 * urand());
        for (size_t k = 0; k < t; ++k) {
            double s = k < onset ? 0 : (double)(k - onset) * 0.09;
            double v = k < onset ? 0 : a * exp(-s / t1) + (1 - a) * exp(-s / t2);
            x[i * t + k] = (float)(v + 0.01 * (urand() - 0.5));
        }
    }
    return x;
}

static void cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            char *c = strchr(line, ':');
            if (c) snprintf(buf, n, "%s", c + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    fclose(f);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    size_t t = argc > 2 ? strtoul(argv[2], NULL, 10) : 135;
    long band = argc > 3 ? strtol(argv[3], NULL, 10) : -1;
    size_t sub = n < 2000 ? n : 2000;
    if (n == 0 || t == 0) {
        fprintf(stderr, "usage: bench_dtw [PAIRS [T [BAND [KERNEL]]]]\n");
        return 2;
    }
    if (argc > 4 && fl_dtw_use_kernel(argv[4]) != FL_OK) {
        fprintf(stderr, "bench_dtw: %s\n", fl_error());
        return 2;
    }
    float *x = decays(n, t), *y = decays(n, t);
    double *fast = malloc(n * sizeof *fast);
    fl_dtw_params p = {.t = t, .band = band, .cost = FL_DTW_SQ};
    fl_series xs = fl_series_channel(x, t, 1, 0), ys = fl_series_channel(y, t, 1, 0);
    int threads = fl_get_threads();

    double t0 = now();
    if (fl_dtw_batch(&p, n, xs, ys, fast) != FL_OK) return fprintf(stderr, "%s\n", fl_error()), 1;
    double batch_s = now() - t0;

    /* Single-thread comparison on the subset: kernel against reference. */
    fl_set_threads(1);
    t0 = now();
    fl_dtw_batch(&p, sub, xs, ys, fast);
    double fast1_s = now() - t0;
    size_t mismatches = 0;
    t0 = now();
    for (size_t i = 0; i < sub; ++i) {
        double r;
        fl_dtw_ref(&p, x + i * t, y + i * t, &r);
        mismatches += memcmp(&r, &fast[i], sizeof r) != 0;
    }
    double ref_s = now() - t0;

    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("bench_dtw: %s, kernel %s, %d lanes, cost sq, band %ld\n", cpu, fl_dtw_kernel_name(),
           FL_DTW_LANES, band);
    printf("batch   %zu pairs x %zu steps, %d threads: %.3f s, %.0f pairs/s\n", n, t, threads,
           batch_s, (double)n / batch_s);
    printf("subset  %zu pairs, 1 thread: kernel %.0f pairs/s, reference %.0f pairs/s, "
           "speed-up %.1fx (%.1fx with %d threads)\n", sub, (double)sub / fast1_s,
           (double)sub / ref_s, ref_s / fast1_s, ((double)n / batch_s) / ((double)sub / ref_s),
           threads);
    printf("check   %zu of %zu subset pairs differ from the reference bit-wise\n", mismatches, sub);
    free(x);
    free(y);
    free(fast);
    return mismatches ? 1 : 0;
}
