/* bench_train.c - training throughput: one mini-batch step as `fligru train` takes it
 * (taped forward, loss gradient, BPTT, global-norm clip, Adam), on synthetic TPSFs.
 *
 *   build/bench_train [student:H | after:H | teacher] [batch] [T] [steps] [threads] [DATA_DIR]
 *
 * after:H is the student with reset-after gates (nn.GRU's cell). DATA_DIR: the first
 * `batch` rows of its tpsf.npy / target.npy (`fligru synth`), so that the PyTorch peer
 * (bench/speed/peer_torch.py) trains on the same data; otherwise synthesised here.
 * Prints the time of each phase and samples/s in the form peer_torch.py reads, with
 * the OpenBLAS core and thread count and the OpenMP thread count. */
#include "fligru/backprop.h"
#include "fligru/io.h"
#include "fligru/npy.h"
#include "fligru/synth.h"
#include "fligru/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *openblas_get_corename(void);
int openblas_get_num_threads(void);

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
    if (sscanf(s, "after:%d", &h) == 1 && h > 0) {
        *c = fl_s2s_config_student(h);
        c->reset = FL_RESET_AFTER;
        return 0;
    }
    return -1;
}

/* The first n rows of dir/name (float32, row = k values) into dst. */
static int load_rows(const char *dir, const char *name, size_t n, size_t k, float *dst)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fl_npy a;
    if (fl_npy_load(path, &a)) return 1;
    int bad = a.dtype != FL_F32 || a.count < n * k;
    if (bad) fl_fail(FL_E_INPUT, "%s: need %zu float32 rows of %zu values", path, n, k);
    else memcpy(dst, fl_npy_f32(&a), n * k * sizeof *dst);
    fl_npy_free(&a);
    return bad;
}

int main(int argc, char **argv)
{
    const char *arch = argc > 1 ? argv[1] : "student:32";
    size_t B = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    int T = argc > 3 ? atoi(argv[3]) : 135, steps = argc > 4 ? atoi(argv[4]) : 10;
    int threads = argc > 5 ? atoi(argv[5]) : 0;
    fl_s2s_config c;
    if (parse_arch(arch, &c) || B < 1 || T < 2 || steps < 1) {
        fprintf(stderr, "usage: bench_train [student:H | after:H | teacher] [batch] [T] [steps] [threads] [DATA_DIR]\n");
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
    int bad = !x || !y || !out || !dy;
    if (!bad && argc > 6) {
        bad = load_rows(argv[6], "tpsf.npy", B, (size_t)T, x) || load_rows(argv[6], "target.npy", B, TC, y);
    } else if (!bad) {
        bad = fl_synth_create(&sp, &sy) || fl_synth_generate(sy, 0, B, x, y, NULL, NULL);
        if (!bad) fl_synth_free(sy);
    }
    if (bad || fl_s2s_init(&m, &c) || fl_s2s_tape_new(&m, B, T, &tp)) {
        fprintf(stderr, "bench_train: %s\n", fl_error());
        return 1;
    }
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
           "backward %.1f ms, clip+Adam %.2f ms; %zu params; %d threads, OpenBLAS %s with %d threads)\n",
           arch, T, B, (double)B / per, 1e3 * tf / steps, 1e3 * tl / steps, 1e3 * tb / steps,
           1e3 * ta / steps, P, fl_get_threads(), openblas_get_corename(), openblas_get_num_threads());
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
