/* fuzz_util.c - the memfd behind fuzz_file and the forward passes. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fligru/fxmodel.h"
#include "fligru/seq2seq.h"

const char *fuzz_file(const uint8_t *data, size_t n)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fligru-fuzz", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (n && pwrite(fd, data, n, 0) != (ssize_t)n)) abort();
    return path;
}

enum { N_SEQ = 2, T_STEPS = 6 };

/* A decay-like input every model gets, F features per step. */
static float *input(int F)
{
    float *x = malloc(sizeof *x * N_SEQ * T_STEPS * (size_t)(F > 0 ? F : 1));
    for (int i = 0; i < N_SEQ * T_STEPS * F; ++i) x[i] = (float)(i % 7) / 7.0f;
    return x;
}

void fuzz_forward_float(const void *mp)
{
    const fl_s2s *m = mp;
    float *x = input(m->cfg.input);
    float *y = malloc(sizeof *y * N_SEQ * T_STEPS * (size_t)m->cfg.outputs);
    if (x && y) fl_s2s_forward(m, x, N_SEQ, T_STEPS, y);
    free(x);
    free(y);
}

void fuzz_forward_fx(const void *qp)
{
    const fl_fx_model *q = qp;
    float *x = input(q->cfg.input);
    float *y = malloc(sizeof *y * N_SEQ * T_STEPS * (size_t)q->cfg.outputs);
    if (x && y) fl_fx_predict(q, x, N_SEQ, T_STEPS, y);
    free(x);
    free(y);
}
