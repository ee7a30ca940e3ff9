/* baseline.c - the TPSF tail from its peak, normalised: what a network must beat. */
#include "fligru/baseline.h"

#include <string.h>

/* Writes one TPSF's tail into out[t][c]; returns 0 when it has no positive peak. */
static int tail_of(const float *x, size_t t, size_t c, float *out)
{
    size_t peak = 0;
    for (size_t k = 1; k < t; ++k)
        if (x[k] > x[peak]) peak = k;   /* the first maximum */
    memset(out, 0, t * c * sizeof *out);
    if (!(x[peak] > 0.0f)) return 0;
    /* A division per sample, not a multiplication by 1/peak: ch0(0) is then
     * exactly 1 and each value correctly rounded. */
    for (size_t k = 0; k + peak < t; ++k) {
        float v = x[k + peak] / x[peak];
        out[k * c] = v;
        if (c == 3) out[k * c + 1] = v;   /* whole decay = short component */
    }
    return 1;
}

fl_status fl_baseline_run(const fl_baseline_params *p, size_t n, const float *tpsf, float *out,
                          size_t *empty)
{
    if (p->t == 0) return fl_fail(FL_E_INPUT, "baseline: TPSF length is 0");
    if (p->channels != 1 && p->channels != 3)
        return fl_fail(FL_E_INPUT, "baseline: %zu channels (1 or 3)", p->channels);
    size_t t = p->t, c = p->channels, none = 0;
#pragma omp parallel for schedule(static) reduction(+ : none)
    for (size_t i = 0; i < n; ++i)
        none += !tail_of(tpsf + i * t, t, c, out + i * t * c);
    if (empty) *empty = none;
    return FL_OK;
}
