/* fligru/baseline.h - the trivial, IRF-blind "deconvolution", for scale.
 *
 * What a network's prediction should be compared with before anything else:
 * for each TPSF, the samples from its peak onward, shifted to t = 0, scaled so
 * that the first is 1, and zero-padded at the end. No IRF, no fit, no noise
 * model: whatever a network scores beyond this is what it adds.
 *
 *     fl_baseline_params bp = {.t = 135, .channels = 3};
 *     size_t empty;
 *     fl_baseline_run(&bp, n, tpsf, out, &empty);   // tpsf [n][t] -> out [n][t][3]
 *
 * channels = 1: the decay only. channels = 3 (the 3-channel networks' layout):
 * channel 0 = channel 1 = the decay, channel 2 = 0. Splitting two exponentials
 * out of a noisy tail is a fit, not a trivial baseline, so the whole decay is
 * declared the short component: scored with --params, tau1 is the
 * mono-exponential lifetime of the tail, a = 1, tau2 fails for every sample
 * (zero amplitude, counted) and tau_m = tau1 (an absent component contributes
 * nothing), i.e. the baseline's mean lifetime is the classic tail estimate.
 * A TPSF whose maximum is not positive gives an all-zero output (counted).
 */
#ifndef FLIGRU_BASELINE_H
#define FLIGRU_BASELINE_H

#include <stddef.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t t;          /* gates per TPSF                 */
    size_t channels;   /* output channels: 1 or 3        */
} fl_baseline_params;

/* tpsf: [n][t] contiguous; out: [n][t][channels], every element written.
 * *empty (may be NULL) gets the number of TPSFs without a positive peak.
 * OpenMP over TPSFs. */
fl_status fl_baseline_run(const fl_baseline_params *p, size_t n, const float *tpsf, float *out,
                          size_t *empty);

#ifdef __cplusplus
}
#endif
#endif
