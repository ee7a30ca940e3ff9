/* bench_infer.c - throughput of the float Seq2Seq: inference (fl_s2s_forward) in
 * sequences/s and a training step (fl_s2s_forward_tape + fl_s2s_backward) in
 * samples/s, for the teacher and the 32-unit student.
 *
 *     build/bench_infer [T [batch [seconds]]]      defaults: 135 1024 2
 *
 * Threads: OMP_NUM_THREADS (fligru runs OpenMP over chunks of sequences with
 * single-threaded OpenBLAS inside). The OpenBLAS core matters: the environment may
 * force OPENBLAS_CORETYPE=Haswell (AVX2 kernels), so it is printed with the figures.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fligru/backprop.h"
#include "fligru/seq2seq.h"

static double clk(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now(void) { return clk(CLOCK_MONOTONIC); }
/* CPU time of all threads: on a shared machine, wall time / CPU time shows how much
 * of the machine the run actually got. */
static double cpu(void) { return clk(CLOCK_PROCESS_CPUTIME_ID); }

static void fill(float *v, size_t n, int T, uint64_t s)
{
    for (size_t i = 0; i < n; ++i)
        for (int t = 0; t < T; ++t) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            double u = (double)(s >> 11) * 0x1.0p-53;
            v[i * (size_t)T + (size_t)t] = (float)(t < 10 ? 0.02 * u : exp(-(t - 10) / 25.0) + 0.05 * (u - 0.5));
        }
}

static int bench(const char *name, const fl_s2s_config *c, size_t n, int T, double secs,
                 const fl_s2s_fakequant *fq)
{
    fl_s2s m;
    if (fl_s2s_init(&m, c)) return 1;
    fl_s2s_init_random(&m, 1);
    size_t ny = n * (size_t)T * (size_t)c->outputs;
    float *x = malloc(n * (size_t)T * sizeof *x), *y = malloc(ny * sizeof *y);
    float *dy = malloc(ny * sizeof *dy), *g = calloc(m.n_params, sizeof *g);
    if (!x || !y || !dy || !g) return 1;
    fill(x, n, T, 3);
    for (size_t i = 0; i < ny; ++i) dy[i] = 1e-3f * (float)((i * 7919) % 201) - 0.1f;

    int reps = 0;
    double t0, c0, el;
    if (!fq) {
        if (fl_s2s_forward(&m, x, n, T, y)) goto fail;   /* warm-up: pages, BLAS buffers */
        t0 = now();
        c0 = cpu();
        do {
            if (fl_s2s_forward(&m, x, n, T, y)) goto fail;
            ++reps;
        } while ((el = now() - t0) < secs);
        printf("%-22s %7zu params  inference  %10.0f sequences/s  (%.1f ms wall, %.1f ms cpu "
               "per batch of %zu)\n", name, m.n_params, (double)reps * (double)n / el,
               1e3 * el / reps, 1e3 * (cpu() - c0) / reps, n);
    }

    fl_s2s_tape *tp;
    if (fl_s2s_tape_new(&m, n, T, &tp)) goto fail;
    if (fl_s2s_forward_tape(&m, x, n, T, fq, tp, y) || fl_s2s_backward(&m, tp, dy, g)) goto fail;
    reps = 0;
    t0 = now();
    c0 = cpu();
    do {
        if (fl_s2s_forward_tape(&m, x, n, T, fq, tp, y) || fl_s2s_backward(&m, tp, dy, g))
            goto fail;
        ++reps;
    } while ((el = now() - t0) < secs);
    printf("%-22s %7zu params  train step %10.0f samples/s    (%.1f ms wall, %.1f ms cpu "
           "per batch of %zu)\n", name, m.n_params, (double)reps * (double)n / el,
           1e3 * el / reps, 1e3 * (cpu() - c0) / reps, n);
    fl_s2s_tape_free(tp);
    free(x);
    free(y);
    free(dy);
    free(g);
    fl_s2s_free(&m);
    return 0;
fail:
    fprintf(stderr, "bench_infer: %s\n", fl_error());
    return 1;
}

int main(int argc, char **argv)
{
    int T = argc > 1 ? atoi(argv[1]) : 135;
    size_t n = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    double secs = argc > 3 ? atof(argv[3]) : 2.0;
    if (T < 1 || n < 1 || !(secs > 0)) {
        fprintf(stderr, "usage: bench_infer [T [batch [seconds]]]\n");
        return 2;
    }
    printf("bench_infer: T = %d, batch = %zu; OpenBLAS core %s, OpenBLAS threads %d "
           "(fligru calls it single-threaded), OpenMP threads %d\n",
           T, n, openblas_get_corename(), openblas_get_num_threads(), omp_get_max_threads());
    fl_s2s_config teacher = fl_s2s_config_teacher(), student = fl_s2s_config_student(32);
    fl_s2s_fakequant q8 = {.state_bits = 16, .state_frac = 13, .act_bits = 8, .act_frac = 7};
    int rc = bench("teacher 2x128", &teacher, n, T, secs, NULL);
    rc |= bench("student 32", &student, n, T, secs, NULL);
    rc |= bench("student 32, QAT a8/s16", &student, n, T, secs, &q8);
    return rc;
}
