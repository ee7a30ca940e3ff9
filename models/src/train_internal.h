/* train_internal.h - internal to libfligru: what train.c (the loop) and train_io.c
 * (data sets, checkpoints, the curve CSV) share. Not part of the public API. */
#ifndef FLIGRU_TRAIN_INTERNAL_H
#define FLIGRU_TRAIN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fligru/safetensors.h"
#include "fligru/train.h"

/* A data set in memory: rows of `fligru synth` output, concatenated over dirs. */
typedef struct {
    size_t n, T, C;
    float *x;                          /* [n][T]    TPSFs                         */
    float *y;                          /* [n][T][C] truths                         */
    char   where[FL_TRAIN_PATH_MAX];   /* the first directory, for messages        */
} fl_tdata;

/* Loads tpsf.npy / target.npy of each dir (checked: present, float, finite, shapes
 * agree across files and dirs); keeps the first `limit` rows (0: all). */
fl_status fl_tdata_load(const char dirs[][FL_TRAIN_PATH_MAX], int ndirs, size_t limit,
                        fl_tdata *d);
void      fl_tdata_free(fl_tdata *d);

/* Columns of the learning curve, in CSV and checkpoint order. */
enum { CV_EPOCH, CV_TRAIN, CV_VAL, CV_RMSE, CV_R2, CV_LR, CV_SECONDS, CV_COLS };

/* Everything besides the weights that a resumed run needs to continue exactly. The
 * shuffle of epoch e is keyed by (seed, e), so `epoch` is the RNG position too. */
typedef struct {
    size_t  P;
    int64_t step;                      /* Adam steps taken                          */
    int     epoch;                     /* epochs completed                          */
    double  lr;                        /* for the next epoch                        */
    fl_plateau pl;
    fl_early   es;
    float  *m, *v;                     /* Adam moments [P]                          */
    float  *best;                      /* weights of es.best_epoch [P], or NULL     */
    double *curve;                     /* [epoch][CV_COLS]                          */
    int     curve_cap;
} fl_tstate;

/* keep_best = 0 leaves best NULL (early_stop.restore_best off). */
fl_status fl_tstate_init(fl_tstate *s, size_t P, double lr, int keep_best);
void      fl_tstate_free(fl_tstate *s);
fl_status fl_tstate_add_row(fl_tstate *s, const double row[CV_COLS]);

/* Provenance metadata: fixed keys, values owned by the struct. */
#define FL_TMETA_MAX 24
typedef struct {
    size_t     n;
    fl_meta_kv kv[FL_TMETA_MAX];
    char       val[FL_TMETA_MAX][FL_TRAIN_PATH_MAX + 64];
} fl_tmeta;

void fl_tmeta_set(fl_tmeta *t, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The checkpoint: m's weights, t's metadata, s as optim.* / train.* tensors. */
fl_status fl_tckpt_save(const char *path, const fl_s2s *m, const fl_tmeta *t,
                        const fl_tstate *s);

/* Reads a checkpoint for resuming: the model (into m, initialised here) and the state
 * (into s, initialised here). Checks the model against the data (T, C) and the
 * config (architecture, seed); every message names the checkpoint file. */
fl_status fl_tckpt_load(const char *path, const fl_train_config *c, const fl_tdata *d,
                        fl_s2s *m, fl_tstate *s);

/* Rewrites the whole curve CSV atomically (a few hundred rows at most). has_val = 0
 * leaves the val columns empty. */
fl_status fl_tcurve_write(const char *path, const fl_tstate *s, int has_val);

#endif
