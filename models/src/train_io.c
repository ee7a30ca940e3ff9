/* train_io.c - the files around the training loop: data directories in, checkpoints
 * in and out, the learning-curve CSV out (train_internal.h). */
#include "train_internal.h"

#include "fligru/io.h"
#include "fligru/model_io.h"
#include "fligru/npy.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- data directories ------------------------------------------------------------ */

typedef struct {
    fl_npy x, y;
    size_t n, T, C;
} pair;

static fl_status check_file(const char *dir, const char *path, const char *name)
{
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fl_fail(FL_E_IO, "%s: not a directory (expected the output of fligru synth)", dir);
    if (stat(path, &sb) != 0)
        return fl_fail(FL_E_IO, "%s: no %s (expected the output of fligru synth)", dir, name);
    return FL_OK;
}

/* tpsf [N,T] or [H,W,T]; target the same leading axes plus C. */
static fl_status pair_shapes(const char *px, const char *py, pair *p)
{
    char sx[128], sy[128];
    fl_npy_shape_str(&p->x, sx, sizeof sx);
    fl_npy_shape_str(&p->y, sy, sizeof sy);
    if (p->x.ndim != 2 && p->x.ndim != 3)
        return fl_fail(FL_E_INPUT, "%s: shape %s, expected [N,T] or [H,W,T]", px, sx);
    int ok = p->y.ndim == p->x.ndim + 1;
    for (int k = 0; ok && k < p->x.ndim; ++k) ok = p->y.shape[k] == p->x.shape[k];
    if (!ok) return fl_fail(FL_E_INPUT, "%s: shape %s does not match %s %s (+ channels)", py, sy, px, sx);
    p->T = p->x.shape[p->x.ndim - 1];
    p->C = p->y.shape[p->y.ndim - 1];
    p->n = p->x.count / (p->T ? p->T : 1);
    if (p->n == 0 || p->T == 0 || p->C == 0) return fl_fail(FL_E_INPUT, "%s: shape %s is empty", py, sy);
    if (p->T > 1000000) return fl_fail(FL_E_INPUT, "%s: T = %zu gates is too many", px, p->T);
    return FL_OK;
}

static fl_status load_pair(const char *dir, pair *p)
{
    memset(p, 0, sizeof *p);
    char *px = fl_path_join(dir, "tpsf.npy"), *py = fl_path_join(dir, "target.npy");
    fl_status st = (!px || !py) ? fl_fail(FL_E_NOMEM, "%s: out of memory", dir) : FL_OK;
    if (!st) st = check_file(dir, px, "tpsf.npy");
    if (!st) st = check_file(dir, py, "target.npy");
    if (!st) st = fl_npy_load_f32(px, &p->x);
    if (!st) st = fl_npy_load_f32(py, &p->y);
    if (!st) st = pair_shapes(px, py, p);
    if (!st) st = fl_npy_check_finite(&p->x, px, "TPSF");
    if (!st) st = fl_npy_check_finite(&p->y, py, "target");
    if (st) {
        fl_npy_free(&p->x);
        fl_npy_free(&p->y);
    }
    free(px);
    free(py);
    return st;
}

void fl_tdata_free(fl_tdata *d)
{
    free(d->x);
    free(d->y);
    d->x = d->y = NULL;
}

/* Appends p's rows (at most `room`) to d, which has capacity for them. */
static void append(fl_tdata *d, const pair *p, size_t room)
{
    size_t k = p->n < room ? p->n : room;
    memcpy(d->x + d->n * d->T, p->x.data, k * d->T * sizeof(float));
    memcpy(d->y + d->n * d->T * d->C, p->y.data, k * d->T * d->C * sizeof(float));
    d->n += k;
}

static fl_status load_many(const char dirs[][FL_TRAIN_PATH_MAX], int nd, size_t limit, pair *ps,
                           fl_tdata *d)
{
    size_t total = 0;
    for (int i = 0; i < nd; ++i) {
        fl_status st = load_pair(dirs[i], &ps[i]);
        if (st) return st;
        if (ps[i].T != ps[0].T || ps[i].C != ps[0].C)
            return fl_fail(FL_E_INPUT, "%s: T = %zu, C = %zu, but %s has T = %zu, C = %zu", dirs[i],
                           ps[i].T, ps[i].C, dirs[0], ps[0].T, ps[0].C);
        total += ps[i].n;
    }
    if (limit && limit < total) total = limit;
    d->T = ps[0].T;
    d->C = ps[0].C;
    d->x = malloc(total * d->T * sizeof(float));
    d->y = malloc(total * d->T * d->C * sizeof(float));
    if (!d->x || !d->y) return fl_fail(FL_E_NOMEM, "%s: cannot hold %zu samples in memory", dirs[0], total);
    for (int i = 0; i < nd && d->n < total; ++i) append(d, &ps[i], total - d->n);
    return FL_OK;
}

fl_status fl_tdata_load(const char dirs[][FL_TRAIN_PATH_MAX], int nd, size_t limit, fl_tdata *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->where, sizeof d->where, "%s", dirs[0]);
    if (nd == 1) {
        /* One directory: keep the arrays as loaded, no copy. */
        pair p;
        fl_status st = load_pair(dirs[0], &p);
        if (st) return st;
        d->T = p.T;
        d->C = p.C;
        d->n = limit && limit < p.n ? limit : p.n;
        d->x = fl_npy_f32(&p.x);
        d->y = fl_npy_f32(&p.y);
        return FL_OK;
    }
    pair *ps = calloc((size_t)nd, sizeof *ps);
    if (!ps) return fl_fail(FL_E_NOMEM, "out of memory");
    fl_status st = load_many(dirs, nd, limit, ps, d);
    for (int i = 0; i < nd; ++i) {
        fl_npy_free(&ps[i].x);
        fl_npy_free(&ps[i].y);
    }
    free(ps);
    if (st) fl_tdata_free(d);
    return st;
}

/* ---- training state ---------------------------------------------------------------- */

fl_status fl_tstate_init(fl_tstate *s, size_t P, double lr, int keep_best)
{
    memset(s, 0, sizeof *s);
    s->P = P;
    s->lr = lr;
    fl_plateau_init(&s->pl);
    fl_early_init(&s->es);
    s->m = calloc(P, sizeof *s->m);
    s->v = calloc(P, sizeof *s->v);
    s->best = keep_best ? calloc(P, sizeof *s->best) : NULL;
    if (!s->m || !s->v || (keep_best && !s->best)) {
        fl_tstate_free(s);
        return fl_fail(FL_E_NOMEM, "training state: out of memory (%zu parameters)", P);
    }
    return FL_OK;
}

void fl_tstate_free(fl_tstate *s)
{
    free(s->m);
    free(s->v);
    free(s->best);
    free(s->curve);
    memset(s, 0, sizeof *s);
}

fl_status fl_tstate_add_row(fl_tstate *s, const double row[CV_COLS])
{
    if (s->epoch >= s->curve_cap) {
        int cap = s->curve_cap ? 2 * s->curve_cap : 64;
        double *c = realloc(s->curve, (size_t)cap * CV_COLS * sizeof *c);
        if (!c) return fl_fail(FL_E_NOMEM, "learning curve: out of memory");
        s->curve = c;
        s->curve_cap = cap;
    }
    memcpy(s->curve + (size_t)s->epoch * CV_COLS, row, CV_COLS * sizeof *row);
    return FL_OK;
}

void fl_tmeta_set(fl_tmeta *t, const char *key, const char *fmt, ...)
{
    size_t i = 0;
    while (i < t->n && strcmp(t->kv[i].key, key)) ++i;
    if (i == FL_TMETA_MAX) return;   /* the keys are fixed in train.c; never reached */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->val[i], sizeof t->val[i], fmt, ap);
    va_end(ap);
    t->kv[i] = (fl_meta_kv){key, t->val[i]};
    if (i == t->n) ++t->n;
}

/* ---- checkpoints ---------------------------------------------------------------- */

static fl_st_tensor vec(const char *name, fl_st_dtype dt, size_t n, const void *data)
{
    fl_st_tensor t = {.name = name, .dtype = dt, .ndim = 1, .shape = {n}, .data = data};
    return t;
}

fl_status fl_tckpt_save(const char *path, const fl_s2s *m, const fl_tmeta *t, const fl_tstate *s)
{
    const int64_t ints[5] = {s->step, s->epoch, s->pl.wait, s->es.wait, s->es.best_epoch};
    const double dbl[3] = {s->lr, s->pl.best, s->es.best};
    fl_st_tensor ex[12];
    size_t k = 0;
    ex[k++] = vec("optim.m", FL_ST_F32, s->P, s->m);
    ex[k++] = vec("optim.v", FL_ST_F32, s->P, s->v);
    ex[k++] = vec("train.step", FL_ST_I64, 1, &ints[0]);
    ex[k++] = vec("train.epoch", FL_ST_I64, 1, &ints[1]);
    ex[k++] = vec("train.lr", FL_ST_F64, 1, &dbl[0]);
    ex[k++] = vec("train.plateau_best", FL_ST_F64, 1, &dbl[1]);
    ex[k++] = vec("train.plateau_wait", FL_ST_I64, 1, &ints[2]);
    ex[k++] = vec("train.early_best", FL_ST_F64, 1, &dbl[2]);
    ex[k++] = vec("train.early_wait", FL_ST_I64, 1, &ints[3]);
    ex[k++] = vec("train.best_epoch", FL_ST_I64, 1, &ints[4]);
    if (s->es.best_epoch > 0 && s->best) ex[k++] = vec("train.best", FL_ST_F32, s->P, s->best);
    if (s->epoch > 0) {
        ex[k] = (fl_st_tensor){.name = "train.curve", .dtype = FL_ST_F64, .ndim = 2,
                               .shape = {(size_t)s->epoch, CV_COLS}, .data = s->curve};
        ++k;
    }
    return fl_model_save(path, m, t->kv, t->n, ex, k);
}

/* A training-state tensor that must be there with this dtype and shape. */
static fl_status need(const fl_st_file *f, const char *path, const char *name, fl_st_dtype dt,
                      size_t d0, size_t d1, const void **data)
{
    const fl_st_tensor *t = fl_st_find(f, name);
    if (!t) return fl_fail(FL_E_INPUT, "%s: tensor %s: missing (not a checkpoint of fligru train?)", path, name);
    int ndim = d1 ? 2 : 1;
    if (t->dtype != dt || t->ndim != ndim || t->shape[0] != d0 || (d1 && t->shape[1] != d1)) {
        char got[128];
        fl_st_shape_str(t, got, sizeof got);
        if (d1)
            return fl_fail(FL_E_INPUT, "%s: tensor %s: %s %s, expected %s [%zu,%zu]", path, name,
                           fl_st_dtype_name(t->dtype), got, fl_st_dtype_name(dt), d0, d1);
        return fl_fail(FL_E_INPUT, "%s: tensor %s: %s %s, expected %s [%zu]", path, name,
                       fl_st_dtype_name(t->dtype), got, fl_st_dtype_name(dt), d0);
    }
    *data = t->data;
    return FL_OK;
}

static void describe(const fl_s2s_config *c, char *buf, size_t n)
{
    snprintf(buf, n, "%d-layer %dx%d reset-%s %s %s C=%d", c->layers, c->enc_hidden,
             c->dec_hidden, c->reset == FL_RESET_AFTER ? "after" : "before",
             c->act == FL_ACT_SIGMOID ? "sigmoid" : "hard_sigmoid",
             c->order == FL_GATES_RZN ? "rzn" : "zrn", c->outputs);
}

/* The checkpoint against the data and the config: T, C, architecture, seed. */
static fl_status check_ckpt(const char *path, const fl_st_file *f, const fl_s2s_config *mc,
                            const fl_train_config *c, const fl_tdata *d)
{
    if ((size_t)mc->outputs != d->C)
        return fl_fail(FL_E_INPUT, "%s: the model has C = %d outputs, the data (%s) has C = %zu",
                       path, mc->outputs, d->where, d->C);
    const char *g = fl_st_meta(f, "gates");
    if (g && strtoull(g, NULL, 10) != d->T)
        return fl_fail(FL_E_INPUT, "%s: trained on T = %s gates, the data (%s) has T = %zu", path, g,
                       d->where, d->T);
    if (memcmp(mc, &c->model, sizeof *mc)) {
        char a[128], b[128];
        describe(mc, a, sizeof a);
        describe(&c->model, b, sizeof b);
        return fl_fail(FL_E_INPUT, "%s: the checkpoint holds a %s model, the config (%s) a %s", path,
                       a, c->config, b);
    }
    const char *seed = fl_st_meta(f, "seed");
    if (!seed) return fl_fail(FL_E_INPUT, "%s: no seed in __metadata__ (not a checkpoint of fligru train?)", path);
    if (strtoull(seed, NULL, 10) != c->seed)
        return fl_fail(FL_E_INPUT, "%s: trained with seed %s, the config (%s) says %llu: a resumed "
                       "run continues the same split and shuffles", path, seed, c->config,
                       (unsigned long long)c->seed);
    return FL_OK;
}

static fl_status restore_state(const char *path, const fl_st_file *f, fl_tstate *s)
{
    const void *p[11];
    const size_t P = s->P;
    fl_status st;
    if ((st = need(f, path, "optim.m", FL_ST_F32, P, 0, &p[0])) ||
        (st = need(f, path, "optim.v", FL_ST_F32, P, 0, &p[1])) ||
        (st = need(f, path, "train.step", FL_ST_I64, 1, 0, &p[2])) ||
        (st = need(f, path, "train.epoch", FL_ST_I64, 1, 0, &p[3])) ||
        (st = need(f, path, "train.lr", FL_ST_F64, 1, 0, &p[4])) ||
        (st = need(f, path, "train.plateau_best", FL_ST_F64, 1, 0, &p[5])) ||
        (st = need(f, path, "train.plateau_wait", FL_ST_I64, 1, 0, &p[6])) ||
        (st = need(f, path, "train.early_best", FL_ST_F64, 1, 0, &p[7])) ||
        (st = need(f, path, "train.early_wait", FL_ST_I64, 1, 0, &p[8])) ||
        (st = need(f, path, "train.best_epoch", FL_ST_I64, 1, 0, &p[9])))
        return st;
    const int64_t epoch = *(const int64_t *)p[3], best_epoch = *(const int64_t *)p[9];
    const double lr = *(const double *)p[4];
    if (epoch < 0 || epoch > 1000000 || best_epoch < 0 || best_epoch > epoch || !(lr > 0.0))
        return fl_fail(FL_E_INPUT, "%s: inconsistent training state (epoch %lld, best epoch %lld, lr %g)",
                       path, (long long)epoch, (long long)best_epoch, lr);
    memcpy(s->m, p[0], P * sizeof(float));
    memcpy(s->v, p[1], P * sizeof(float));
    s->step = *(const int64_t *)p[2];
    s->lr = lr;
    s->pl.best = *(const double *)p[5];
    s->pl.wait = (int)*(const int64_t *)p[6];
    s->es.best = *(const double *)p[7];
    s->es.wait = (int)*(const int64_t *)p[8];
    s->es.best_epoch = (int)best_epoch;
    if (best_epoch > 0 && s->best) {
        if ((st = need(f, path, "train.best", FL_ST_F32, P, 0, &p[10]))) return st;
        memcpy(s->best, p[10], P * sizeof(float));
    }
    if (epoch > 0) {
        if ((st = need(f, path, "train.curve", FL_ST_F64, (size_t)epoch, CV_COLS, &p[10]))) return st;
        for (int64_t e = 0; e < epoch; ++e) {
            s->epoch = (int)e;
            if ((st = fl_tstate_add_row(s, (const double *)p[10] + e * CV_COLS))) return st;
        }
    }
    s->epoch = (int)epoch;
    return FL_OK;
}

fl_status fl_tckpt_load(const char *path, const fl_train_config *c, const fl_tdata *d, fl_s2s *m,
                        fl_tstate *s)
{
    fl_st_file f;
    fl_status st = fl_model_load(path, m, &f);
    if (st) return st;
    st = check_ckpt(path, &f, &m->cfg, c, d);
    if (!st) st = fl_tstate_init(s, m->n_params, c->adam.lr, c->restore_best);
    if (!st && (st = restore_state(path, &f, s))) fl_tstate_free(s);
    fl_st_free(&f);
    if (st) fl_s2s_free(m);
    return st;
}

/* ---- learning curve ---------------------------------------------------------------- */

fl_status fl_tcurve_write(const char *path, const fl_tstate *s, int has_val)
{
    fl_atomic a = {0};
    fl_status st = fl_atomic_open(&a, path);
    if (st) return st;
    fprintf(a.fp, "epoch,train_loss,val_loss,val_rmse,val_r2,lr,seconds\n");
    for (int e = 0; e < s->epoch; ++e) {
        const double *r = s->curve + (size_t)e * CV_COLS;
        fprintf(a.fp, "%d,%.9g,", (int)r[CV_EPOCH], r[CV_TRAIN]);
        if (has_val) fprintf(a.fp, "%.9g,%.9g,%.9g,", r[CV_VAL], r[CV_RMSE], r[CV_R2]);
        else fputs(",,,", a.fp);
        fprintf(a.fp, "%.9g,%.3f\n", r[CV_LR], r[CV_SECONDS]);
    }
    return fl_atomic_commit(&a);
}
