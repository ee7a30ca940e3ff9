/* bench_synth.c - synthetic TPSFs per minute, in memory (no files).
 *
 *   bench_synth [N=200000] [THREADS]   (default config: T=135, C=3, noise on)
 *
 * Generates N samples in chunks of 10,000 into reused buffers (TPSF, 3-channel
 * target and parameters: what a training loop consumes) and reports the
 * rate. Target: >= 1e6 TPSFs per minute on 2 cores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fligru/io.h"
#include "fligru/synth.h"

#define CHUNK 10000

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    if (argc > 2) fl_set_threads(atoi(argv[2]));
    if (n == 0) n = 200000;

    fl_synth_params p;
    fl_synth_params_default(&p);
    p.samples = n;
    fl_synth *s = NULL;
    if (fl_synth_create(&p, &s) != FL_OK) {
        fprintf(stderr, "bench_synth: %s\n", fl_error());
        return 1;
    }
    size_t T = (size_t)p.gates, C = (size_t)p.channels;
    float *x = malloc(CHUNK * T * sizeof *x), *y = malloc(CHUNK * T * C * sizeof *y);
    float *q = malloc(CHUNK * 3 * sizeof *q);
    if (!x || !y || !q) {
        fprintf(stderr, "bench_synth: out of memory\n");
        return 1;
    }
    double t0 = now(), checksum = 0.0;
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t i1 = i + CHUNK < n ? i + CHUNK : n;
        if (fl_synth_generate(s, i, i1, x, y, q, NULL) != FL_OK) {
            fprintf(stderr, "bench_synth: %s\n", fl_error());
            return 1;
        }
        checksum += x[(i1 - i - 1) * T + T / 2];   /* keep the work observable */
    }
    double sec = now() - t0;
    printf("bench_synth: %zu TPSFs (T=%zu, C=%zu, noise on) in %.3f s with %d threads: "
           "%.3g TPSFs/minute (checksum %.6f)\n",
           n, T, C, sec, fl_get_threads(), (double)n / sec * 60.0, checksum);
    free(x);
    free(y);
    free(q);
    fl_synth_free(s);
    return 0;
}
