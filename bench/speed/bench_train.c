/* bench_train.c - training throughput: one mini-batch step as `fligru train` takes it
 * (taped forward, loss gradient, BPTT, global-norm clip, Adam), on synthetic TPSFs.
 *
 *   build/bench_train [student:H | teacher] [batch] [T] [steps] [threads]
 *
 * Prints the time of each phase and samples/s in the form bench/peer_torch.py reads
 * (--ours-figures), with the OpenBLAS core and the thread count. */
#include "fligru/backprop.h"
#include "fligru/io.h"
#include "fligru/synth.h"
#include "fligru/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *openblas_get_corename(void);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_arch(const char *s, fl_s2s_config *c)
{
    if (!strcmp(s, "teacher")) {
        *c = fl_s2s_config_teacher();
        return 0;
    }
    int h;
    if (sscanf(s, "student:%d", &h) == 1 && h > 0) {
        *c = fl_s2s_config_student(h);
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    const char *arch = argc > 1 ? argv[1] : "student:32";
    size_t B = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    int T = argc > 3 ? atoi(argv[3]) : 135, steps = argc > 4 ? atoi(argv[4]) : 10;
    int threads = argc > 5 ? atoi(argv[5]) : 0;
    fl_s2s_config c;
    if (parse_arch(arch, &c) || B < 1 || T < 2 || steps < 1) {
        fprintf(stderr, "usage: bench_train [student:H | teacher] [batch] [T] [steps] [threads]\n");
        return 2;
    }
    fl_set_threads(threads);

    fl_synth_params sp;
    fl_synth_params_default(&sp);
    sp.samples = B;
    sp.gates = T;
    fl_synth *sy;
    fl_s2s m;
    fl_s2s_tape *tp;
    const size_t TC = (size_t)T * 3;
    float *x = malloc(B * (size_t)T * sizeof *x), *y = malloc(B * TC * sizeof *y);
    float *out = malloc(B * TC * sizeof *out), *dy = malloc(B * TC * sizeof *dy);
    if (!x || !y || !out || !dy || fl_synth_create(&sp, &sy) || fl_synth_generate(sy, 0, B, x, y, NULL, NULL) ||
        fl_s2s_init(&m, &c) || fl_s2s_tape_new(&m, B, T, &tp)) {
        fprintf(stderr, "bench_train: %s\n", fl_error());
        return 1;
    }
    fl_synth_free(sy);
    fl_s2s_init_random(&m, 1);
    const size_t P = m.n_params;
    float *g = malloc(P * sizeof *g), *am = calloc(P, sizeof *am), *av = calloc(P, sizeof *av);
    fl_adam_params ap = {1e-3, 0.9, 0.999, 1e-8};
    fl_loss_params lp = {FL_LOSS_MSE, 0};
    double tf = 0, tl = 0, tb = 0, ta = 0;
    for (int s = 0; s <= steps; ++s) {   /* step 0 warms up and is not counted */
        double t0 = now_s();
        fl_s2s_forward_tape(&m, x, B, T, NULL, tp, out);
        double t1 = now_s();
        memset(dy, 0, B * TC * sizeof *dy);
        fl_loss_eval(&lp, out, y, B * TC, 1.0f, dy);
        double t2 = now_s();
        memset(g, 0, P * sizeof *g);
        fl_s2s_backward(&m, tp, dy, g);
        double t3 = now_s(), ss = 0;
        for (size_t i = 0; i < P; ++i) ss += (double)g[i] * g[i];
        if (sqrt(ss) > 1.0)
            for (size_t i = 0; i < P; ++i) g[i] *= (float)(1.0 / sqrt(ss));
        fl_adam_step(&ap, s + 1, P, m.params, g, am, av);
        double t4 = now_s();
        if (s == 0) continue;
        tf += t1 - t0;
        tl += t2 - t1;
        tb += t3 - t2;
        ta += t4 - t3;
    }
    double per = (tf + tl + tb + ta) / steps;
    printf("train %s T=%d batch %zu: %.0f samples/s (per step: forward %.1f ms, loss %.1f ms, "
           "backward %.1f ms, clip+Adam %.2f ms; %zu parameters; %d threads, OpenBLAS %s)\n",
           arch, T, B, (double)B / per, 1e3 * tf / steps, 1e3 * tl / steps, 1e3 * tb / steps,
           1e3 * ta / steps, P, fl_get_threads(), openblas_get_corename());
    fl_s2s_tape_free(tp);
    fl_s2s_free(&m);
    free(x);
    free(y);
    free(out);
    free(dy);
    free(g);
    free(am);
    free(av);
    return 0;
}
