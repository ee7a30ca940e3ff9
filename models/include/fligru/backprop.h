/* fligru/backprop.h - training-time forward pass with a tape, and BPTT.
 *
 *     fl_s2s_tape *tp;
 *     fl_s2s_tape_new(&m, batch, T, &tp);
 *     fl_s2s_forward_tape(&m, x, n, T, NULL, tp, y);     // y [n,T,C]
 *     ... dy = dL/dy ...
 *     memset(grad, 0, m.n_params * sizeof *grad);
 *     fl_s2s_backward(&m, tp, dy, grad);                 // grad laid out like m.params
 *     fl_s2s_tape_free(tp);
 *
 * Quantisation-aware training: weights are fake-quantised by the trainer (it runs
 * the forward pass on a quantised copy and applies the gradient to the float master
 * weights: the straight-through estimator). Activations and the carried hidden
 * state are fake-quantised inside the forward pass when `fq` asks for it; their
 * gradient passes straight through where the value was inside the clipping range
 * and is zero where it was clipped.
 *
 * Results are identical for any thread count.
 */
#ifndef FLIGRU_BACKPROP_H
#define FLIGRU_BACKPROP_H

#include <stddef.h>
#include "fligru/seq2seq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed-point fake quantisation: round to nearest with `frac` fractional bits and
 * saturate to a signed `bits`-bit word, i.e. step 2^-frac, range
 * [-2^(bits-1), 2^(bits-1) - 1] * 2^-frac. bits = 0 disables it; otherwise bits is
 * 2..24 (exact in float) and frac -32..64. Ties round away from zero. The gradient
 * passes where the value times 2^frac lies in [-2^(bits-1), 2^(bits-1) - 1] and is
 * zero where it was clipped; σ' and tanh' are taken at the unquantised value.
 * "State" covers every value a state register holds: each layer's new h, and the
 * decoder's initial state from a bridge (E != D). */
typedef struct {
    int state_bits, state_frac;    /* carried hidden state, after every step      */
    int act_bits, act_frac;        /* gate activations r, z, n                    */
} fl_s2s_fakequant;

typedef struct fl_s2s_tape fl_s2s_tape;

fl_status fl_s2s_tape_new(const fl_s2s *m, size_t max_batch, int T, fl_s2s_tape **out);
void      fl_s2s_tape_free(fl_s2s_tape *t);

/* As fl_s2s_forward, recording what fl_s2s_backward needs. fq may be NULL. */
fl_status fl_s2s_forward_tape(const fl_s2s *m, const float *x, size_t n, int T,
                              const fl_s2s_fakequant *fq, fl_s2s_tape *t, float *y);

/* Adds dL/dθ to grad[m->n_params] (the layout of m->params), given dL/dy [n,T,C]
 * for the batch last passed to fl_s2s_forward_tape. */
fl_status fl_s2s_backward(const fl_s2s *m, fl_s2s_tape *t, const float *dy, float *grad);

/* Plain, obviously correct reference of forward_tape + backward for ONE sequence
 * x [T, input], in double (no BLAS, no tape, no chunks): adds dL/dθ for dL/dy =
 * dy [T, C] to grad[m->n_params] (double); y [T, C] gets the output (may be NULL).
 * Tests check it against finite differences and the fast path against it. */
fl_status fl_s2s_backward_ref(const fl_s2s *m, const float *x, int T,
                              const fl_s2s_fakequant *fq, const float *dy, double *y,
                              double *grad);

#ifdef __cplusplus
}
#endif
#endif
