/* fligru/train.h - training and knowledge distillation of Seq2Seq models, with QAT.
 *
 * The loop behind `fligru train` and `fligru distill` (docs/training.md): Adam on
 * mini-batches drawn from `fligru synth` directories (tpsf.npy [N,T], target.npy
 * [N,T,C]), a deterministic shuffle per epoch, a validation split, reduce-on-plateau,
 * early stopping with best-weight restore, gradient clipping by global norm, an MSE /
 * MAE / mixed loss, distillation from a teacher model, and quantisation-aware
 * training (fake-quantised weights, state and activations; straight-through
 * gradients). Checkpoints are model files (model_io.h) that also carry the whole
 * training state, so a resumed run continues bit for bit.
 *
 *     fl_train_config c;
 *     if (fl_train_config_from_yaml("configs/train-student.yaml", 0, &c)) die(fl_error());
 *     fl_train_opts o = {.config_path = "configs/train-student.yaml", .cfg = &c,
 *                        .output = "student.safetensors", .progress = FL_PROGRESS_AUTO};
 *     fl_train_result r;
 *     if (fl_train_run(&o, &r)) die(fl_error());       // also writes the curve CSV
 *
 * Distillation: set o.teacher = "teacher.safetensors" and read the config with
 * distill = 1 (which allows its `distill:` section).
 *
 * Determinism: the same config, data and seed give the same bytes in the model file
 * for any thread count (the forward/backward passes are thread-invariant and every
 * reduction here runs serially in a fixed order). Runs differ only in the wall-clock
 * columns of the curve and the checkpoint's copy of it.
 *
 * The building blocks (Adam, losses, shuffle, plateau and early-stopping monitors,
 * weight fake quantisation) are public so that tests check them one by one.
 * Limits: input size 1 (TPSFs); all training data lives in memory
 * (N*T*(1+C)*4 bytes, plus the teacher cache when distilling).
 */
#ifndef FLIGRU_TRAIN_H
#define FLIGRU_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include "fligru/backprop.h"
#include "fligru/io.h"
#include "fligru/seq2seq.h"
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_TRAIN_PATH_MAX 4096
#define FL_TRAIN_MAX_DIRS 16

/* ---- configuration ---------------------------------------------------------- */

typedef enum { FL_LOSS_MSE = 0, FL_LOSS_MAE = 1, FL_LOSS_MIXED = 2 } fl_loss_kind;

/* mixed = MSE + mae_weight * MAE, all means over every element of [n, T, C]. */
typedef struct {
    fl_loss_kind kind;
    double       mae_weight;   /* lambda of the mixed loss */
} fl_loss_params;

/* Adam as PyTorch writes it (bias corrections on m and v, eps outside the sqrt). */
typedef struct {
    double lr, beta1, beta2, eps;
} fl_adam_params;

typedef enum { FL_TEACHER_CACHE_AUTO = 0, FL_TEACHER_CACHE_ON, FL_TEACHER_CACHE_OFF } fl_teacher_cache;

typedef enum { FL_QAT_PER_TENSOR = 0, FL_QAT_PER_ROW = 1 } fl_qat_scale;

/* Initial weights (`model.init`): legacy is fl_s2s_init_random (PyTorch's
 * U(-1/sqrt(H), 1/sqrt(H)) everywhere, biases included); keras is what a Keras GRU
 * starts from: Glorot-uniform input kernels, orthogonal recurrent kernels, zero
 * biases, Glorot-uniform dense and bridge weights (fl_train_init_keras). */
typedef enum { FL_INIT_LEGACY = 0, FL_INIT_KERAS = 1, FL_INIT_CHRONO = 2 } fl_init_kind;

/* What the QAT forward pass quantises. Weight matrices and biases follow the PTQ of
 * `fligru quantize` (docs/fixed-point.md §2.1), so that quantising the trained
 * weights there reproduces the weights the QAT forward pass ran on. */
typedef struct {
    int weight_bits;             /* weight matrices, symmetric; 0: float        */
    fl_qat_scale weight_scale;   /* one scale per tensor, or per matrix row      */
    int bias_bits, bias_frac;    /* biases in fixed point Q(bits, frac); 0: float */
    fl_s2s_fakequant fq;         /* state / activation fixed point (backprop.h) */
} fl_qat_params;

typedef struct {
    /* Paths are stored resolved: relative ones in the YAML are taken relative to
     * the config file's directory. */
    char     config[FL_TRAIN_PATH_MAX];
    uint64_t seed;
    int      n_train_dirs;
    char     train_dirs[FL_TRAIN_MAX_DIRS][FL_TRAIN_PATH_MAX];
    char     val_dir[FL_TRAIN_PATH_MAX];     /* "": split val_fraction off train    */
    double   val_fraction;
    size_t   limit;                          /* use the first N samples; 0: all     */

    fl_s2s_config model;                     /* input is always 1                  */
    fl_init_kind init;                       /* model.init (fresh runs only)        */

    int      epochs;
    size_t   batch;
    fl_adam_params adam;                     /* adam.lr is the initial rate         */
    fl_loss_params loss;
    double   clip_norm;                      /* global gradient norm; 0: off        */
    double   min_delta;                      /* improvement threshold (absolute)    */
    int      plateau_patience;               /* 0: never reduce                     */
    double   plateau_factor, min_lr;
    int      early_patience;                 /* 0: never stop early                 */
    int      restore_best;
    double   time_limit_s;                   /* stop after the epoch passing it; 0: none */
    double   warmup_epochs;                  /* linear lr ramp over this many epochs' steps; 0: none */

    int      qat;                            /* 1: the qat block is on              */
    fl_qat_params qat_p;

    double   alpha;                          /* distill: weight of the teacher term  */
    fl_teacher_cache teacher_cache;

    char     curve[FL_TRAIN_PATH_MAX];       /* "": MODEL.curve.csv                 */
    char     checkpoint[FL_TRAIN_PATH_MAX];  /* "": MODEL.ckpt.safetensors          */
    int      checkpoint_every;               /* epochs; 0: only at the end          */
} fl_train_config;

/* The defaults of docs/training.md (a 32-unit student, lr 1e-3, batch 1024, ...). */
void fl_train_config_default(fl_train_config *c);

/* Defaults, then the YAML file. Every key is checked; unknown keys, wrong types and
 * out-of-range values fail with "file:line: key: what". distill = 0 rejects the
 * `distill:` section (it would be silently unused by `fligru train`). */
fl_status fl_train_config_from_yaml(const char *path, int distill, fl_train_config *c);

/* ---- building blocks -------------------------------------------------------- */

/* One Adam step for n parameters; step is the 1-based count including this one.
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
 *   w -= lr / (1-b1^step) * m / (sqrt(v) / sqrt(1-b2^step) + eps)
 * evaluated per element in double, stored as float. */
void fl_adam_step(const fl_adam_params *p, int64_t step, size_t n, float *w, const float *g,
                  float *m, float *v);

/* Mean loss of y against target over n values (double, in index order). When grad is
 * not NULL, adds weight * dLoss/dy to it (MAE's derivative is 0 where y == target). */
double fl_loss_eval(const fl_loss_params *p, const float *y, const float *target, size_t n,
                    float weight, float *grad);

/* idx[0..n) := a permutation of base[0..n) keyed by (seed, epoch) alone: Fisher-Yates
 * driven by a Philox stream, so epoch e is the same whether run straight or resumed. */
void fl_train_shuffle(const size_t *base, size_t n, uint64_t seed, int64_t epoch, size_t *idx);

/* Reduce-on-plateau (Keras semantics, no cooldown): an epoch improves when
 * val < best - min_delta; after `patience` epochs without improvement the rate is
 * multiplied by factor (not below min_lr) and the count restarts. NaN never improves. */
typedef struct {
    int    patience;
    double factor, min_lr, min_delta;
} fl_plateau_params;

typedef struct {
    double best;           /* +inf before the first epoch */
    int    wait;
} fl_plateau;

void   fl_plateau_init(fl_plateau *s);
/* Returns the learning rate for the next epoch. */
double fl_plateau_update(const fl_plateau_params *p, fl_plateau *s, double val, double lr);

/* Early stopping: stop after `patience` epochs without improvement (0: never). */
typedef struct {
    int    patience;
    double min_delta;
} fl_early_params;

typedef struct {
    double best;           /* +inf before the first epoch */
    int    wait;
    int    best_epoch;     /* 1-based; 0: none yet        */
} fl_early;

typedef enum { FL_EARLY_IMPROVED = 0, FL_EARLY_WAIT = 1, FL_EARLY_STOP = 2 } fl_early_event;

void           fl_early_init(fl_early *s);
fl_early_event fl_early_update(const fl_early_params *p, fl_early *s, double val, int epoch);

/* Symmetric fake quantisation of n weights sharing one scale, to `bits` (2..16):
 *   s = max|w| / (2^(bits-1) - 1),  q = clip(rint(w / s), -(2^(bits-1)-1), 2^(bits-1)-1),
 *   out = (float)(q * s)
 * in double arithmetic, rint rounding half to even (as fligru quantize, NumPy and
 * PyTorch do). The paper prints 2^b - 1 for the divisor, which wastes half the signed
 * range. All-zero w gives s = 0 and out = 0. out may equal w. Returns s. */
double fl_fake_quant_weights(const float *w, size_t n, int bits, float *out);

/* Fixed point Q(bits, frac): out = sat(rint(x * 2^frac)) * 2^-frac, saturating to
 * [-2^(bits-1), 2^(bits-1) - 1] (bits 2..32). */
void fl_fake_quant_fixed(const float *x, size_t n, int bits, int frac, float *out);

/* The model's parameter tensors in the order of model_io's tensors: a weight matrix
 * [rows, cols] or a bias vector (rows = 1). Returns the count written (at most max). */
typedef struct {
    size_t offset;               /* into m->params                  */
    size_t rows, cols;           /* count = rows * cols             */
    int    is_bias;
} fl_param_tensor;

size_t fl_train_param_tensors(const fl_s2s *m, fl_param_tensor *out, size_t max);

/* dst->params := src->params with the weight matrices and biases fake-quantised as q
 * says (same config; the state/activation settings of q are not used here). */
void fl_fake_quant_model(const fl_s2s *src, const fl_qat_params *q, fl_s2s *dst);

/* Keras's initialisation of m's tensors (fl_init_kind), deterministic for a seed:
 * weight_ih and the dense / bridge weights U(-a, a), a = sqrt(6 / (fan_in +
 * fan_out)); weight_hh [3H, H] with orthonormal columns (a Gaussian matrix through
 * Gram-Schmidt); every bias 0. Fails only when out of memory. */
fl_status fl_train_init_keras(fl_s2s *m, uint64_t seed, int chrono_t);

/* The rate of Adam step `step` (1-based) under a linear warm-up of `warmup` steps:
 * lr * min(1, step / warmup); warmup 0: lr. */
double fl_train_warmup_lr(double lr, int64_t step, int64_t warmup);

/* Lower-case hex SHA-256 of a file (provenance of the config). */
fl_status fl_train_sha256_file(const char *path, char hex[65]);

/* ---- the loop -------------------------------------------------------------- */


typedef struct {
    const char *config_path;          /* hashed into the provenance              */
    const fl_train_config *cfg;
    const char *output;               /* the model file (best weights when restored) */
    const char *resume;               /* a checkpoint to continue; NULL: fresh run */
    const char *teacher;              /* NULL: train; else distill from this model */
    const char *command;              /* provenance "command"; NULL: none          */
    fl_progress progress;
} fl_train_opts;

typedef struct {
    int    epochs_done;               /* including resumed ones                  */
    int    best_epoch;                /* 0 when nothing was monitored            */
    double train_loss;                /* last epoch                              */
    double val_loss, val_rmse, val_r2;/* of the weights written to the output    */
    double seconds;                   /* wall time of this run                   */
    double samples_per_s;             /* training throughput of this run         */
    size_t n_train, n_val;
    int    stopped_early;
} fl_train_result;

/* Loads the data (and teacher / checkpoint), trains, and writes the output model,
 * the curve CSV and the checkpoint. Every input is validated before anything is
 * written; on failure the output is neither created nor replaced. */
fl_status fl_train_run(const fl_train_opts *o, fl_train_result *r);

/* The default companions of an output path: "x.safetensors" -> "x.curve.csv" /
 * "x.ckpt.safetensors" (any other name just gets the suffix). Caller frees. */
char *fl_train_sibling(const char *output, const char *suffix);

#ifdef __cplusplus
}
#endif
#endif
