/* train.c - the training loop of `fligru train` and `fligru distill` (train.h).
 *
 * One run: load and check everything (config against data, checkpoint, teacher),
 * then per epoch shuffle the training rows, and per mini-batch gather the rows into
 * fixed buffers, fake-quantise the weights (QAT), run the taped forward pass, form
 * the loss gradient, backpropagate, clip by global norm and take an Adam step; then
 * validate, update the monitors, write the curve and (every K epochs) a checkpoint.
 *
 * Nothing here allocates per batch. The parallelism lives inside the forward and
 * backward passes (OpenMP over sequence chunks, one OpenBLAS thread each); the
 * loop's own reductions (loss sums, the gradient norm, Adam) are serial and in
 * index order, which is what makes a run byte-identical for any thread count.
 */
#include "train_internal.h"

#include "fligru/io.h"
#include "fligru/metrics.h"
#include "fligru/model_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Teacher outputs for the whole training set are cached when they fit in this. */
#define TEACHER_CACHE_AUTO_BYTES (1ull << 30)
#define TEACHER_BLOCK 4096

typedef struct {
    double loss, rmse, r2;
} vres;

typedef struct {
    const fl_train_opts   *o;
    const fl_train_config *c;
    fl_tdata data, vdata;
    const fl_tdata *vd;                 /* &data (split) or &vdata (val dir)      */
    size_t *train_rows, n_train;        /* ascending                               */
    size_t *val_rows, n_val;
    size_t *perm;                       /* this epoch's order of train_rows        */
    size_t T, TC, B;
    int64_t warmup;                     /* Adam steps of the lr warm-up; 0: none   */
    fl_s2s m;                           /* float master weights                    */
    fl_s2s q;                           /* fake-quantised copy (QAT weights)       */
    int has_q;
    const fl_s2s_fakequant *fq;         /* state / activation QAT; NULL: off       */
    fl_s2s teacher;
    int has_teacher;
    float *tcache;                      /* [data.n][T][C] teacher outputs, or NULL */
    fl_s2s_tape *tape;
    float *xb, *yb, *tb, *out, *dy, *grad;
    double *sse, *r2;                   /* per validation sample                   */
    fl_tstate s;
    fl_tmeta meta;
    char *curve, *ckpt;
    fl_progress prog;
    double t0, elapsed0;                /* this run's start; seconds before it     */
    double samples, train_secs;         /* this run's throughput                   */
} run;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *fl_train_sibling(const char *output, const char *suffix)
{
    static const char ext[] = ".safetensors";
    size_t n = strlen(output), e = sizeof ext - 1;
    if (n > e && !strcmp(output + n - e, ext)) n -= e;
    char *p = malloc(n + strlen(suffix) + 1);
    if (!p) return NULL;
    memcpy(p, output, n);
    strcpy(p + n, suffix);
    return p;
}

/* ---- setup ------------------------------------------------------------------------ */

static fl_status setup_data(run *R)
{
    const fl_train_config *c = R->c;
    if (c->n_train_dirs < 1)
        return fl_fail(FL_E_INPUT, "%s: data.train is not set (give it in the config or with --data)",
                       c->config);
    fl_status st = fl_tdata_load(c->train_dirs, c->n_train_dirs, c->limit, &R->data);
    if (st) return st;
    R->vd = &R->data;
    if (c->val_dir[0]) {
        if ((st = fl_tdata_load(&c->val_dir, 1, 0, &R->vdata))) return st;
        if (R->vdata.T != R->data.T || R->vdata.C != R->data.C)
            return fl_fail(FL_E_INPUT, "%s: T = %zu, C = %zu, but the training data (%s) has T = %zu, C = %zu",
                           c->val_dir, R->vdata.T, R->vdata.C, R->data.where, R->data.T, R->data.C);
        R->vd = &R->vdata;
    }
    if (R->data.T > 1000000)
        return fl_fail(FL_E_INPUT, "%s: T = %zu is too long", R->data.where, R->data.T);
    R->T = R->data.T;
    R->TC = R->data.T * R->data.C;
    return FL_OK;
}

/* Validation rows: a separate set, or a seeded random val_fraction of the training
 * rows (the permutation of "epoch -1", a stream no epoch uses). */
static fl_status setup_split(run *R)
{
    const fl_train_config *c = R->c;
    const size_t N = R->data.n;
    size_t nv = 0;
    if (!c->val_dir[0] && c->val_fraction > 0.0) {
        nv = (size_t)floor((double)N * c->val_fraction + 0.5);
        if (nv == 0) nv = 1;
        if (nv >= N)
            return fl_fail(FL_E_INPUT, "%s: val_fraction %g of %zu samples leaves none for training",
                           c->config, c->val_fraction, N);
    }
    size_t *all = malloc(N * sizeof *all);
    R->train_rows = malloc(N * sizeof *R->train_rows);
    R->perm = malloc(N * sizeof *R->perm);
    R->n_val = c->val_dir[0] ? R->vdata.n : nv;
    R->val_rows = malloc((R->n_val ? R->n_val : 1) * sizeof *R->val_rows);
    if (!all || !R->train_rows || !R->perm || !R->val_rows) {
        free(all);
        return fl_fail(FL_E_NOMEM, "data split: out of memory");
    }
    for (size_t i = 0; i < N; ++i) all[i] = i;
    if (c->val_dir[0]) {
        for (size_t i = 0; i < R->n_val; ++i) R->val_rows[i] = i;
        memcpy(R->train_rows, all, N * sizeof *all);
        R->n_train = N;
    } else {
        fl_train_shuffle(all, N, c->seed, -1, R->perm);
        /* Mark the validation rows, then list both sets in ascending order. */
        for (size_t i = 0; i < nv; ++i) all[R->perm[i]] = (size_t)-1;
        size_t kt = 0, kv = 0;
        for (size_t i = 0; i < N; ++i) {
            if (all[i] == (size_t)-1) R->val_rows[kv++] = i;
            else R->train_rows[kt++] = i;
        }
        R->n_train = kt;
    }
    free(all);
    return FL_OK;
}

static fl_status check_gates(const fl_st_file *f, const char *path, const fl_tdata *d)
{
    const char *g = fl_st_meta(f, "gates");
    if (g && strtoull(g, NULL, 10) != d->T)
        return fl_fail(FL_E_INPUT, "%s: trained on T = %s gates, the data (%s) has T = %zu", path, g,
                       d->where, d->T);
    return FL_OK;
}

static fl_status teacher_cache(run *R)
{
    const size_t n = R->data.n;
    double t = now_s();
    R->tcache = malloc(n * R->TC * sizeof(float));
    if (!R->tcache)
        return fl_fail(FL_E_NOMEM, "%s: cannot cache the teacher's outputs (%zu MiB); set "
                       "distill.teacher_cache: off", R->o->teacher, (n * R->TC * 4) >> 20);
    for (size_t i = 0; i < n; i += TEACHER_BLOCK) {
        size_t nb = n - i < TEACHER_BLOCK ? n - i : TEACHER_BLOCK;
        fl_status st = fl_s2s_forward(&R->teacher, R->data.x + i * R->T, nb, (int)R->T,
                                      R->tcache + i * R->TC);
        if (st) return st;
    }
    if (R->prog != FL_PROGRESS_QUIET)
        fprintf(stderr, "distill: teacher outputs cached for %zu samples (%.0f MiB, %.1f s)\n", n,
                (double)(n * R->TC * 4) / 1048576.0, now_s() - t);
    return FL_OK;
}

static fl_status setup_teacher(run *R)
{
    const char *path = R->o->teacher;
    const fl_train_config *c = R->c;
    fl_st_file f;
    fl_status st = fl_model_load(path, &R->teacher, &f);
    if (st) return st;
    R->has_teacher = 1;
    const fl_s2s_config *tc = &R->teacher.cfg;
    if (tc->input != 1)
        st = fl_fail(FL_E_INPUT, "%s: the teacher takes %d features per step, a TPSF has 1", path, tc->input);
    else if (tc->outputs != c->model.outputs)
        st = fl_fail(FL_E_INPUT, "%s: the teacher has C = %d outputs, the student (%s) has C = %d",
                     path, tc->outputs, c->config, c->model.outputs);
    else if ((size_t)tc->outputs != R->data.C)
        st = fl_fail(FL_E_INPUT, "%s: the teacher has C = %d outputs, the data (%s) has C = %zu", path,
                     tc->outputs, R->data.where, R->data.C);
    else
        st = check_gates(&f, path, &R->data);
    fl_st_free(&f);
    return st;
}

static fl_status setup_model(run *R)
{
    const fl_train_config *c = R->c;
    fl_status st;
    if (R->o->resume) {
        if ((st = fl_tckpt_load(R->o->resume, c, &R->data, &R->m, &R->s))) return st;
        if (R->s.epoch > 0) R->elapsed0 = R->s.curve[(size_t)(R->s.epoch - 1) * CV_COLS + CV_SECONDS];
    } else {
        /* (A resumed model's C was checked against the data, naming the checkpoint.) */
        if ((size_t)c->model.outputs != R->data.C)
            return fl_fail(FL_E_INPUT, "%s: model.outputs = %d, but the data (%s) has C = %zu channels",
                           c->config, c->model.outputs, R->data.where, R->data.C);
        if ((st = fl_s2s_init(&R->m, &c->model))) return st;
        if (c->init != FL_INIT_LEGACY) {
            int chrono = c->init == FL_INIT_CHRONO ? (int)R->T : 0;
            if ((st = fl_train_init_keras(&R->m, c->seed, chrono))) return st;
        } else {
            fl_s2s_init_random(&R->m, c->seed);
        }
        if ((st = fl_tstate_init(&R->s, R->m.n_params, c->adam.lr, c->restore_best))) return st;
    }
    if (c->qat && (c->qat_p.weight_bits > 0 || c->qat_p.bias_bits > 0)) {
        if ((st = fl_s2s_init(&R->q, &c->model))) return st;
        R->has_q = 1;
    }
    const fl_s2s_fakequant *fq = &c->qat_p.fq;
    if (c->qat && (fq->state_bits || fq->act_bits)) R->fq = fq;
    return FL_OK;
}

/* Fails now, not after hours of training, when path's directory is missing. */
static fl_status check_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return FL_OK;
    char dir[FL_TRAIN_PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path), path);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return fl_fail(FL_E_IO, "%s: directory %s does not exist", path, dir);
    return FL_OK;
}

/* One output against every file the run reads: `train -o DATA/tpsf.npy` once
 * replaced the training data. The checkpoint alone may be the --resume file:
 * continuing a checkpoint in place is what it is for. */
static fl_status check_output(const run *R, const char *out, int is_ckpt)
{
    const fl_train_opts *o = R->o;
    const char *resume = o->resume && !is_ckpt ? o->resume : "";
    fl_status st = fl_check_output(out, o->config_path ? o->config_path : "", o->teacher ? o->teacher : "",
                                   resume, NULL);
    for (int d = 0; !st && d <= R->c->n_train_dirs; ++d) {
        const char *dir = d < R->c->n_train_dirs ? R->c->train_dirs[d] : R->c->val_dir;
        char *x = dir[0] ? fl_path_join(dir, "tpsf.npy") : NULL, *y = dir[0] ? fl_path_join(dir, "target.npy") : NULL;
        if (dir[0] && (!x || !y)) st = fl_fail(FL_E_NOMEM, "out of memory");
        else if (dir[0]) st = fl_check_output(out, x, y, NULL);
        free(x);
        free(y);
    }
    return st;
}

static fl_status setup_buffers(run *R)
{
    size_t most = R->n_train > R->n_val ? R->n_train : R->n_val;
    R->B = R->c->batch < most ? R->c->batch : most;
    const size_t B = R->B, TC = R->TC, P = R->m.n_params;
    R->warmup = (int64_t)ceil(R->c->warmup_epochs * (double)((R->n_train + B - 1) / B));
    fl_status st = fl_s2s_tape_new(&R->m, B, (int)R->T, &R->tape);
    if (st) return st;
    R->xb = malloc(B * R->T * sizeof(float));
    R->yb = malloc(B * TC * sizeof(float));
    R->tb = malloc(B * TC * sizeof(float));
    R->out = malloc(B * TC * sizeof(float));
    R->dy = malloc(B * TC * sizeof(float));
    R->grad = malloc(P * sizeof(float));
    R->sse = malloc((R->n_val + 1) * sizeof(double));
    R->r2 = malloc((R->n_val + 1) * sizeof(double));
    if (!R->xb || !R->yb || !R->tb || !R->out || !R->dy || !R->grad || !R->sse || !R->r2)
        return fl_fail(FL_E_NOMEM, "training buffers: out of memory (batch %zu)", B);
    R->curve = R->c->curve[0] ? strdup(R->c->curve) : fl_train_sibling(R->o->output, ".curve.csv");
    R->ckpt = R->c->checkpoint[0] ? strdup(R->c->checkpoint)
                                  : fl_train_sibling(R->o->output, ".ckpt.safetensors");
    if (!R->curve || !R->ckpt) return fl_fail(FL_E_NOMEM, "out of memory");
    fl_status st2;
    if ((st2 = check_dir(R->o->output)) || (st2 = check_dir(R->curve)) || (st2 = check_dir(R->ckpt)))
        return st2;
    if ((st2 = check_output(R, R->o->output, 0)) || (st2 = check_output(R, R->curve, 0)) ||
        (st2 = check_output(R, R->ckpt, 1)))
        return st2;
    return FL_OK;
}

static const char *loss_name(fl_loss_kind k)
{
    return k == FL_LOSS_MSE ? "mse" : k == FL_LOSS_MAE ? "mae" : "mixed";
}

static const char *init_name(fl_init_kind k)
{
    return k == FL_INIT_KERAS ? "keras" : k == FL_INIT_CHRONO ? "chrono" : "legacy";
}

/* Provenance: nothing that depends on the thread count or the clock. */
static fl_status setup_meta(run *R)
{
    const fl_train_config *c = R->c;
    fl_tmeta *t = &R->meta;
    char hex[65];
    fl_status st = fl_train_sha256_file(R->o->config_path, hex);
    if (st) return st;
    if (R->o->command) fl_tmeta_set(t, "command", "%s", R->o->command);
    fl_tmeta_set(t, "seed", "%llu", (unsigned long long)c->seed);
    fl_tmeta_set(t, "config", "%s", R->o->config_path);
    fl_tmeta_set(t, "config_sha256", "%s", hex);
    char dirs[FL_TRAIN_PATH_MAX + 64] = "";
    for (int i = 0; i < c->n_train_dirs; ++i)
        snprintf(dirs + strlen(dirs), sizeof dirs - strlen(dirs), "%s%s", i ? "," : "", c->train_dirs[i]);
    fl_tmeta_set(t, "data", "%s", dirs);
    if (c->val_dir[0]) fl_tmeta_set(t, "val_data", "%s", c->val_dir);
    else fl_tmeta_set(t, "val_data", "fraction %g of data", c->val_fraction);
    fl_tmeta_set(t, "gates", "%zu", R->T);
    fl_tmeta_set(t, "samples_train", "%zu", R->n_train);
    fl_tmeta_set(t, "samples_val", "%zu", R->n_val);
    if (c->loss.kind == FL_LOSS_MIXED) fl_tmeta_set(t, "loss", "mixed (mse + %g mae)", c->loss.mae_weight);
    else fl_tmeta_set(t, "loss", "%s", loss_name(c->loss.kind));
    fl_tmeta_set(t, "batch", "%zu", c->batch);
    /* Only when not the default, so that legacy runs keep their bytes. */
    if (c->init != FL_INIT_LEGACY) fl_tmeta_set(t, "init", "%s", init_name(c->init));
    if (c->warmup_epochs > 0) fl_tmeta_set(t, "warmup_epochs", "%g", c->warmup_epochs);
    const fl_qat_params *q = &c->qat_p;
    if (c->qat)
        fl_tmeta_set(t, "qat", "weights=%d %s bias=Q%d.%d state=Q%d.%d act=Q%d.%d", q->weight_bits,
                     q->weight_scale == FL_QAT_PER_ROW ? "per_row" : "per_tensor", q->bias_bits,
                     q->bias_frac, q->fq.state_bits, q->fq.state_frac, q->fq.act_bits, q->fq.act_frac);
    else
        fl_tmeta_set(t, "qat", "off");
    if (R->o->teacher) {
        if ((st = fl_train_sha256_file(R->o->teacher, hex))) return st;
        fl_tmeta_set(t, "teacher", "%s", R->o->teacher);
        fl_tmeta_set(t, "teacher_sha256", "%s", hex);
        fl_tmeta_set(t, "alpha", "%g", c->alpha);
    }
    fl_tmeta_set(t, "fligru_version", "%s", FLIGRU_VERSION);
    return FL_OK;
}

/* ---- one mini-batch ---------------------------------------------------------------- */

static void gather(const run *R, const fl_tdata *d, const size_t *rows, size_t nb, int teacher)
{
    const size_t T = R->T, TC = R->TC;
    for (size_t i = 0; i < nb; ++i) {
        size_t r = rows[i];
        memcpy(R->xb + i * T, d->x + r * T, T * sizeof(float));
        memcpy(R->yb + i * TC, d->y + r * TC, TC * sizeof(float));
        if (teacher && R->tcache) memcpy(R->tb + i * TC, R->tcache + r * TC, TC * sizeof(float));
    }
}

/* The weights the forward pass runs on: the QAT copy, refreshed from the masters. */
static const fl_s2s *forward_model(run *R)
{
    if (!R->has_q) return &R->m;
    fl_fake_quant_model(&R->m, &R->c->qat_p, &R->q);
    return &R->q;
}

/* Loss of R->out and its gradient into R->dy; distillation adds the teacher term. */
static double batch_loss(run *R, size_t n)
{
    static const fl_loss_params mse = {FL_LOSS_MSE, 0.0};
    const fl_train_config *c = R->c;
    memset(R->dy, 0, n * sizeof(float));
    if (!R->has_teacher) return fl_loss_eval(&c->loss, R->out, R->yb, n, 1.0f, R->dy);
    const double a = c->alpha;
    double l = 0.0;
    if (a > 0.0) l += a * fl_loss_eval(&mse, R->out, R->tb, n, (float)a, R->dy);
    if (a < 1.0) l += (1.0 - a) * fl_loss_eval(&c->loss, R->out, R->yb, n, (float)(1.0 - a), R->dy);
    return l;
}

/* Global L2 norm, serial in index order; scales the gradient down to clip. */
static double clip_grad(float *g, size_t n, double clip)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; ++i) ss += (double)g[i] * (double)g[i];
    double norm = sqrt(ss);
    if (clip > 0.0 && norm > clip) {
        const float k = (float)(clip / norm);
        for (size_t i = 0; i < n; ++i) g[i] *= k;
    }
    return norm;
}

static fl_status train_batch(run *R, const size_t *rows, size_t nb, double *loss)
{
    const int T = (int)R->T;
    gather(R, &R->data, rows, nb, R->has_teacher);
    fl_status st;
    if (R->has_teacher && !R->tcache && R->c->alpha > 0.0 &&
        (st = fl_s2s_forward(&R->teacher, R->xb, nb, T, R->tb)))
        return st;
    const fl_s2s *fm = forward_model(R);
    if ((st = fl_s2s_forward_tape(fm, R->xb, nb, T, R->fq, R->tape, R->out))) return st;
    *loss = batch_loss(R, nb * R->TC);
    memset(R->grad, 0, R->m.n_params * sizeof(float));
    if ((st = fl_s2s_backward(fm, R->tape, R->dy, R->grad))) return st;
    double norm = clip_grad(R->grad, R->m.n_params, R->c->clip_norm);
    if (!isfinite(*loss) || !isfinite(norm))
        return fl_fail(FL_E_INPUT, "%s: training diverged at step %lld (loss %g, gradient norm %g): "
                       "lower train.lr or set train.clip_norm", R->c->config,
                       (long long)R->s.step + 1, *loss, norm);
    fl_adam_params ap = R->c->adam;
    ap.lr = fl_train_warmup_lr(R->s.lr, R->s.step + 1, R->warmup);
    fl_adam_step(&ap, ++R->s.step, R->m.n_params, R->m.params, R->grad, R->s.m, R->s.v);
    return FL_OK;
}

/* ---- progress ---------------------------------------------------------------------- */

static void bar(const run *R, int epoch, size_t step, size_t steps, double loss, double sps,
                double eta)
{
    char b[31];
    size_t fill = steps ? step * 30 / steps : 30;
    for (size_t i = 0; i < 30; ++i) b[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    b[30] = '\0';
    fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %zu/%zu loss %.4e %.0f samples/s ETA %.0f s", epoch,
            R->c->epochs, b, step, steps, loss, sps, eta);
    fflush(stderr);
}

/* ---- one epoch ---------------------------------------------------------------------- */

static fl_status train_epoch(run *R, double *loss, double *sps)
{
    const int e = R->s.epoch;   /* 0-based index of this epoch */
    fl_train_shuffle(R->train_rows, R->n_train, R->c->seed, e, R->perm);
    const size_t steps = (R->n_train + R->B - 1) / R->B;
    double sum = 0.0, t0 = now_s(), last = t0;
    for (size_t k = 0; k < steps; ++k) {
        size_t i0 = k * R->B, nb = R->n_train - i0 < R->B ? R->n_train - i0 : R->B;
        double l;
        fl_status st = train_batch(R, R->perm + i0, nb, &l);
        if (st) return st;
        sum += l * (double)nb;
        double t = now_s();
        if (R->prog == FL_PROGRESS_BAR && (t - last >= 0.2 || k + 1 == steps)) {
            double done = (double)(i0 + nb), rate = done / (t - t0 + 1e-9);
            bar(R, e + 1, k + 1, steps, sum / done, rate, (double)(R->n_train - i0 - nb) / rate);
            last = t;
        }
    }
    double secs = now_s() - t0;
    *loss = sum / (double)R->n_train;
    *sps = (double)R->n_train / (secs > 0 ? secs : 1e-9);
    R->samples += (double)R->n_train;
    R->train_secs += secs;
    return FL_OK;
}

/* Loss (the training loss against the truth, also when distilling), RMSE and mean
 * per-sample R² of channel 0, of the weights in R->m (quantised when QAT is on). */
static fl_status validate(run *R, vres *v)
{
    *v = (vres){NAN, NAN, NAN};
    if (!R->n_val) return FL_OK;
    const fl_s2s *fm = forward_model(R);
    const size_t T = R->T, C = R->vd->C;
    double lsum = 0.0;
    for (size_t i0 = 0; i0 < R->n_val; i0 += R->B) {
        size_t nb = R->n_val - i0 < R->B ? R->n_val - i0 : R->B;
        gather(R, R->vd, R->val_rows + i0, nb, 0);
        fl_status st = fl_s2s_forward_tape(fm, R->xb, nb, (int)T, R->fq, R->tape, R->out);
        if (st) return st;
        lsum += fl_loss_eval(&R->c->loss, R->out, R->yb, nb * R->TC, 0.0f, NULL) * (double)nb;
        fl_metrics_params mp = {.n = nb, .t = T};
        fl_metrics_samples ms = {.sse = R->sse + i0, .r2 = R->r2 + i0};
        if ((st = fl_metrics_samples_compute(&mp, fl_series_channel(R->out, T, C, 0),
                                             fl_series_channel(R->yb, T, C, 0), &ms)))
            return st;
    }
    double sse = 0.0;
    for (size_t i = 0; i < R->n_val; ++i) sse += R->sse[i];
    v->loss = lsum / (double)R->n_val;
    v->rmse = sqrt(sse / ((double)R->n_val * (double)T));
    v->r2 = fl_stat_of(R->r2, R->n_val, NULL).mean;
    return FL_OK;
}

static void epoch_line(const run *R, const double *row, double sps, double secs, const char *note)
{
    if (R->prog == FL_PROGRESS_QUIET) return;
    if (R->prog == FL_PROGRESS_BAR) fputs("\r\033[K", stderr);
    fprintf(stderr, "epoch %d/%d train %.4e", (int)row[CV_EPOCH], R->c->epochs, row[CV_TRAIN]);
    if (R->n_val) fprintf(stderr, " val %.4e R2 %.5f", row[CV_VAL], row[CV_R2]);
    fprintf(stderr, " lr %.3g %.0f samples/s %.1f s%s\n", row[CV_LR], sps, secs, note);
}

/* Monitors, curve, checkpoint. *stop: early stopping fired. */
static fl_status end_epoch(run *R, double tl, const vres *v, double sps, double secs, int *stop)
{
    const fl_train_config *c = R->c;
    fl_tstate *s = &R->s;
    const int e = s->epoch + 1;
    const double mon = R->n_val ? v->loss : tl;
    const fl_early_params ep = {c->early_patience, c->min_delta};
    const fl_plateau_params pp = {c->plateau_patience, c->plateau_factor, c->min_lr, c->min_delta};
    fl_early_event ev = fl_early_update(&ep, &s->es, mon, e);
    if (ev == FL_EARLY_IMPROVED && s->best) memcpy(s->best, R->m.params, s->P * sizeof(float));
    const double lr = s->lr;
    s->lr = fl_plateau_update(&pp, &s->pl, mon, lr);
    const double row[CV_COLS] = {e, tl, v->loss, v->rmse, v->r2, lr, R->elapsed0 + now_s() - R->t0};
    fl_status st = fl_tstate_add_row(s, row);
    if (st) return st;
    s->epoch = e;
    *stop = ev == FL_EARLY_STOP;
    char note[96] = "";
    if (ev == FL_EARLY_IMPROVED) strcat(note, " *");
    if (s->lr != lr) snprintf(note + strlen(note), sizeof note - strlen(note), " (lr -> %.3g)", s->lr);
    if (*stop) snprintf(note + strlen(note), sizeof note - strlen(note),
                        " (early stop: no improvement for %d epochs)", s->es.wait);
    epoch_line(R, row, sps, secs, note);
    if (c->checkpoint_every > 0 && e % c->checkpoint_every == 0 &&
        (st = fl_tckpt_save(R->ckpt, &R->m, &R->meta, s)))
        return st;
    return fl_tcurve_write(R->curve, s, R->n_val > 0);
}

/* ---- the run ------------------------------------------------------------------------ */

static void header(const run *R)
{
    if (R->prog == FL_PROGRESS_QUIET) return;
    const fl_s2s_config *m = &R->c->model;
    fprintf(stderr, "%s: %zu train + %zu val samples, T=%zu C=%zu; %d-layer %dx%d reset-%s "
            "(%zu parameters, init %s); batch %zu, loss %s%s; %d threads\n",
            R->o->teacher ? "distill" : "train", R->n_train, R->n_val, R->T, R->data.C, m->layers,
            m->enc_hidden, m->dec_hidden, m->reset == FL_RESET_AFTER ? "after" : "before",
            R->m.n_params, init_name(R->c->init), R->c->batch, loss_name(R->c->loss.kind),
            R->c->qat ? ", QAT" : "", fl_get_threads());
    if (R->warmup)
        fprintf(stderr, "lr warm-up: %lld steps (%g epochs)\n", (long long)R->warmup, R->c->warmup_epochs);
    if (R->o->resume)
        fprintf(stderr, "resuming %s after epoch %d (lr %.3g)\n", R->o->resume, R->s.epoch, R->s.lr);
}

static fl_status setup(run *R)
{
    fl_status st;
    if ((st = setup_data(R)) || (st = setup_split(R)) || (st = setup_model(R))) return st;
    if (R->o->teacher && (st = setup_teacher(R))) return st;
    if ((st = setup_buffers(R)) || (st = setup_meta(R))) return st;
    /* Everything is validated: only now the (possibly slow) teacher cache. */
    const fl_teacher_cache tc = R->c->teacher_cache;
    size_t bytes = R->data.n * R->TC * sizeof(float);
    if (R->has_teacher && R->c->alpha > 0.0 &&
        (tc == FL_TEACHER_CACHE_ON || (tc == FL_TEACHER_CACHE_AUTO && bytes <= TEACHER_CACHE_AUTO_BYTES)))
        return teacher_cache(R);
    return FL_OK;
}

static fl_status loop(run *R, fl_train_result *res)
{
    const fl_train_config *c = R->c;
    fl_tstate *s = &R->s;
    int stop = c->early_patience > 0 && s->es.wait >= c->early_patience;
    int last_ckpt = s->epoch, ran = 0;
    while (!stop && s->epoch < c->epochs) {
        double t = now_s(), tl, sps;
        vres v;
        fl_status st;
        if ((st = train_epoch(R, &tl, &sps)) || (st = validate(R, &v)) ||
            (st = end_epoch(R, tl, &v, sps, now_s() - t, &stop)))
            return st;
        ++ran;
        if (c->checkpoint_every > 0 && s->epoch % c->checkpoint_every == 0) last_ckpt = s->epoch;
        res->train_loss = tl;
        res->stopped_early = stop;
        if (c->time_limit_s > 0 && now_s() - R->t0 >= c->time_limit_s && s->epoch < c->epochs) {
            if (R->prog != FL_PROGRESS_QUIET)
                fprintf(stderr, "time limit of %g s reached after epoch %d\n", c->time_limit_s, s->epoch);
            break;
        }
    }
    /* The final state is always resumable. */
    if (ran && last_ckpt != s->epoch) return fl_tckpt_save(R->ckpt, &R->m, &R->meta, s);
    return FL_OK;
}

static fl_status finish(run *R, fl_train_result *res)
{
    fl_tstate *s = &R->s;
    if (s->best && s->es.best_epoch > 0) memcpy(R->m.params, s->best, s->P * sizeof(float));
    vres v;
    fl_status st = validate(R, &v);
    if (st) return st;
    fl_tmeta_set(&R->meta, "epochs", "%d", s->epoch);
    fl_tmeta_set(&R->meta, "best_epoch", "%d", s->es.best_epoch);
    if ((st = fl_tcurve_write(R->curve, s, R->n_val > 0))) return st;
    if ((st = fl_model_save(R->o->output, &R->m, R->meta.kv, R->meta.n, NULL, 0))) return st;
    res->epochs_done = s->epoch;
    res->best_epoch = s->es.best_epoch;
    res->val_loss = v.loss;
    res->val_rmse = v.rmse;
    res->val_r2 = v.r2;
    res->n_train = R->n_train;
    res->n_val = R->n_val;
    res->seconds = now_s() - R->t0;
    res->samples_per_s = R->train_secs > 0 ? R->samples / R->train_secs : 0.0;
    return FL_OK;
}

static void run_free(run *R)
{
    fl_tdata_free(&R->data);
    fl_tdata_free(&R->vdata);
    free(R->train_rows);
    free(R->val_rows);
    free(R->perm);
    fl_s2s_free(&R->m);
    if (R->has_q) fl_s2s_free(&R->q);
    if (R->has_teacher) fl_s2s_free(&R->teacher);
    free(R->tcache);
    fl_s2s_tape_free(R->tape);
    free(R->xb);
    free(R->yb);
    free(R->tb);
    free(R->out);
    free(R->dy);
    free(R->grad);
    free(R->sse);
    free(R->r2);
    fl_tstate_free(&R->s);
    free(R->curve);
    free(R->ckpt);
}

fl_status fl_train_run(const fl_train_opts *o, fl_train_result *res)
{
    run *R = calloc(1, sizeof *R);
    if (!R) return fl_fail(FL_E_NOMEM, "train: out of memory");
    memset(res, 0, sizeof *res);
    R->o = o;
    R->c = o->cfg;
    R->prog = o->progress == FL_PROGRESS_AUTO ? (isatty(2) ? FL_PROGRESS_BAR : FL_PROGRESS_LINES)
                                              : o->progress;
    R->t0 = now_s();
    fl_status st = setup(R);
    if (!st) {
        header(R);
        st = loop(R, res);
    }
    if (!st) st = finish(R, res);
    run_free(R);
    free(R);
    return st;
}
