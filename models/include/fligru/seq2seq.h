/* fligru/seq2seq.h - the float GRU Seq2Seq model (teacher and Seq2SeqLite students).
 *
 * Encoder: L stacked GRU layers of E units over the TPSF (input size 1 per step).
 * Decoder: L stacked GRU layers of D units whose input is zero at every step; layer
 * l starts from the encoder's final state of layer l (through a tanh(dense) bridge
 * when E != D). Dense head: D -> C outputs at every decoder step.
 *
 *     fl_s2s_config c = fl_s2s_config_student(32);      // 1 layer, 32x32, C = 3
 *     fl_s2s m;
 *     fl_s2s_init(&m, &c);  fl_s2s_init_random(&m, 42);
 *     fl_s2s_forward(&m, x, n, T, y);                    // x [n,T,1] -> y [n,T,C]
 *     fl_s2s_free(&m);
 *
 * Layouts follow PyTorch nn.GRU so checkpoints load in both: weight_ih [3H, I],
 * weight_hh [3H, H], bias_ih [3H], bias_hh [3H], gate blocks stacked in `order`
 * (PyTorch r, z, n). Reset-before keeps ONE bias vector (bias_ih): the r/z biases
 * of the two products only ever add, and the candidate's recurrent bias sits
 * outside r, so a second vector would be redundant. That is what makes the
 * published counts come out: teacher (reset-after, 2x128, C=3) 299,139
 * parameters; student (reset-before, 1x32, C=3) 6,627.
 *
 * Equations (x input, h state, σ the recurrent activation):
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr)          z likewise
 *   reset-after : n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
 *   reset-before: n = tanh(W_in x + W_hn (r ⊙ h) + b_n)
 *   h' = (1 - z) ⊙ n + z ⊙ h
 * σ = logistic, or hard sigmoid clip(0.5 x + 0.5, 0, 1) (QKeras).
 */
#ifndef FLIGRU_SEQ2SEQ_H
#define FLIGRU_SEQ2SEQ_H

#include <stddef.h>
#include <stdint.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_S2S_MAX_LAYERS 4

typedef enum { FL_RESET_AFTER = 0, FL_RESET_BEFORE = 1 } fl_reset;
typedef enum { FL_ACT_SIGMOID = 0, FL_ACT_HARD_SIGMOID = 1 } fl_recur_act;
/* Order of the three gate blocks in the stacked weight rows. */
typedef enum { FL_GATES_RZN = 0 /* PyTorch */, FL_GATES_ZRN = 1 /* Keras */ } fl_gate_order;

typedef struct {
    int input;            /* features per encoder step (1: the TPSF)          */
    int outputs;          /* C: 1 (the decay) or 3 (decay, short, long)       */
    int layers;           /* L, the same for encoder and decoder (1..4)       */
    int enc_hidden;       /* E                                                */
    int dec_hidden;       /* D                                                */
    fl_reset      reset;
    fl_recur_act  act;
    fl_gate_order order;
} fl_s2s_config;

/* One GRU layer's tensors: views into fl_s2s.params. */
typedef struct {
    int input, hidden;
    float *w_ih;          /* [3H, input]                                     */
    float *w_hh;          /* [3H, H]                                         */
    float *b_ih;          /* [3H]                                            */
    float *b_hh;          /* [3H]; NULL for reset-before                      */
} fl_gru_layer;

typedef struct {
    fl_s2s_config cfg;
    size_t  n_params;
    float  *params;       /* every trainable parameter, contiguous (one Adam buffer) */
    fl_gru_layer enc[FL_S2S_MAX_LAYERS];
    fl_gru_layer dec[FL_S2S_MAX_LAYERS];
    float  *bridge_w[FL_S2S_MAX_LAYERS];   /* [D, E]; NULL when E == D      */
    float  *bridge_b[FL_S2S_MAX_LAYERS];   /* [D]                            */
    float  *dense_w;      /* [C, D]                                          */
    float  *dense_b;      /* [C]                                             */
} fl_s2s;

fl_s2s_config fl_s2s_config_teacher(void);      /* L=2, 128x128, reset-after, C=3 */
fl_s2s_config fl_s2s_config_student(int hidden); /* L=1, HxH, reset-before, C=3  */

/* Checks ranges; fails naming the field. */
fl_status fl_s2s_config_check(const fl_s2s_config *c);
size_t    fl_s2s_param_count(const fl_s2s_config *c);

fl_status fl_s2s_init(fl_s2s *m, const fl_s2s_config *c);   /* zeroed parameters */
void      fl_s2s_free(fl_s2s *m);
/* PyTorch's default: U(-1/sqrt(H), 1/sqrt(H)) for GRU tensors, U(-1/sqrt(in), ..)
 * for dense ones; deterministic for a seed. */
void      fl_s2s_init_random(fl_s2s *m, uint64_t seed);

/* Batched inference: x [n, T, input] -> y [n, T, outputs], float32, row-major.
 * Deterministic and independent of the thread count. */
fl_status fl_s2s_forward(const fl_s2s *m, const float *x, size_t n, int T, float *y);

/* Plain, obviously correct single-sequence reference of the same computation
 * (double accumulation, no BLAS); tests compare the fast path against it. */
void fl_s2s_forward_ref(const fl_s2s *m, const float *x, int T, float *y);

#ifdef __cplusplus
}
#endif
#endif
