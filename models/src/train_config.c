/* train_config.c - fl_train_config: defaults and the YAML reader.
 *
 * Sections: seed, data, model, train (with adam / plateau / early_stop), qat,
 * distill, output. Every key is validated where it is read, so messages carry the
 * line; a key that the chosen mode would ignore (the distill section in `fligru
 * train`, qat widths with qat disabled) is an error, as in synth_config.c.
 */
#include "fligru/train.h"
#include "fligru/yaml.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_HIDDEN 4096
#define MAX_EPOCHS 1000000
#define MAX_BATCH  (1 << 20)

void fl_train_config_default(fl_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->val_fraction = 0.1;
    c->model = fl_s2s_config_student(32);
    c->epochs = 100;
    c->batch = 1024;
    c->adam = (fl_adam_params){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    c->loss = (fl_loss_params){.kind = FL_LOSS_MSE, .mae_weight = 0.1};
    c->clip_norm = 1.0;
    c->min_delta = 0.0;
    c->plateau_patience = 5;
    c->plateau_factor = 0.5;
    c->min_lr = 1e-6;
    c->early_patience = 10;
    c->restore_best = 1;
    c->alpha = 0.6;
    c->teacher_cache = FL_TEACHER_CACHE_AUTO;
    c->checkpoint_every = 1;
}

/* Relative paths are taken relative to the config file's directory, like
 * synth's irf.file: a config and its data move together. */
static fl_status resolve(const fl_yaml *y, const fl_yaml_node *n, const char *cfg,
                         const char *file, char out[FL_TRAIN_PATH_MAX])
{
    if (!file[0]) return fl_yaml_fail(y, n, "empty path");
    const char *slash = strrchr(cfg, '/');
    int dirlen = (file[0] == '/' || !slash) ? 0 : (int)(slash - cfg + 1);
    int k = snprintf(out, FL_TRAIN_PATH_MAX, "%.*s%s", dirlen, cfg, file);
    if (k < 0 || k >= FL_TRAIN_PATH_MAX) return fl_yaml_fail(y, n, "path too long");
    return FL_OK;
}

static fl_status get_path(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                          const char *cfg, char out[FL_TRAIN_PATH_MAX])
{
    const char *s = NULL;
    fl_status st = fl_yaml_get_str(y, m, key, &s);
    if (st || !s) return st;
    return resolve(y, fl_yaml_get(y, m, key), cfg, s, out);
}

/* A value that must be > 0 (the getter checks [0, max]). */
static fl_status get_pos(const fl_yaml *y, const fl_yaml_node *m, const char *key, double *out,
                         double max)
{
    fl_status st = fl_yaml_get_f64(y, m, key, out, 0.0, max);
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    if (!st && n && !(*out > 0.0)) return fl_yaml_fail(y, n, "must be > 0 (got %g)", *out);
    return st;
}

/* ---- data ---------------------------------------------------------------------- */

static fl_status read_train_dirs(const fl_yaml *y, const fl_yaml_node *m, const char *cfg,
                                 fl_train_config *c)
{
    const fl_yaml_node *n = fl_yaml_get(y, m, "train");
    if (!n) return FL_OK;
    if (n->kind == FL_YAML_SCALAR) {
        c->n_train_dirs = 1;
        return get_path(y, m, "train", cfg, c->train_dirs[0]);
    }
    if (n->kind != FL_YAML_SEQ || n->n == 0)
        return fl_yaml_fail(y, n, "expected a directory or a non-empty list of directories");
    if (n->n > FL_TRAIN_MAX_DIRS) return fl_yaml_fail(y, n, "at most %d directories", FL_TRAIN_MAX_DIRS);
    for (size_t i = 0; i < n->n; ++i) {
        const fl_yaml_node *d = n->items[i];
        if (d->kind != FL_YAML_SCALAR) return fl_yaml_fail(y, d, "expected a directory");
        fl_status st = resolve(y, d, cfg, d->value, c->train_dirs[i]);
        if (st) return st;
    }
    c->n_train_dirs = (int)n->n;
    return FL_OK;
}

static fl_status read_data(const fl_yaml *y, const fl_yaml_node *m, const char *cfg,
                           fl_train_config *c)
{
    static const char *const known[] = {"train", "val", "val_fraction", "limit", NULL};
    fl_status st;
    int64_t limit = (int64_t)c->limit;
    if ((st = fl_yaml_check_known(y, m, known)) || (st = read_train_dirs(y, m, cfg, c)) ||
        (st = get_path(y, m, "val", cfg, c->val_dir)) ||
        (st = fl_yaml_get_f64(y, m, "val_fraction", &c->val_fraction, 0.0, 0.9)) ||
        (st = fl_yaml_get_i64(y, m, "limit", &limit, 0, INT64_MAX)))
        return st;
    c->limit = (size_t)limit;
    const fl_yaml_node *vf = fl_yaml_get(y, m, "val_fraction");
    if (c->val_dir[0] && vf) return fl_yaml_fail(y, vf, "not used with data.val (a separate set)");
    return FL_OK;
}

/* ---- model --------------------------------------------------------------------- */

static fl_status read_model(const fl_yaml *y, const fl_yaml_node *m, fl_train_config *c)
{
    static const char *const known[] = {"kind", "hidden", "enc_hidden", "dec_hidden", "layers",
                                        "reset", "activation", "gate_order", "outputs", "init", NULL};
    static const char *const inits[] = {"legacy", "keras", "chrono", NULL};
    static const char *const kinds[] = {"student", "teacher", NULL};
    static const char *const resets[] = {"after", "before", NULL};
    static const char *const acts[] = {"sigmoid", "hard_sigmoid", NULL};
    static const char *const orders[] = {"rzn", "zrn", NULL};
    fl_status st;
    int kind = 0, hidden = 0;
    if ((st = fl_yaml_check_known(y, m, known)) || (st = fl_yaml_get_enum(y, m, "kind", kinds, &kind)) ||
        (st = fl_yaml_get_int(y, m, "hidden", &hidden, 1, MAX_HIDDEN)))
        return st;
    /* The kind sets every default; the other keys override it. */
    fl_s2s_config *s = &c->model;
    *s = kind ? fl_s2s_config_teacher() : fl_s2s_config_student(hidden ? hidden : 32);
    if (hidden) s->enc_hidden = s->dec_hidden = hidden;
    const fl_yaml_node *e = fl_yaml_get(y, m, "enc_hidden"), *d = fl_yaml_get(y, m, "dec_hidden");
    if (fl_yaml_get(y, m, "hidden") && (e || d))
        return fl_yaml_fail(y, e ? e : d, "give either hidden or enc_hidden/dec_hidden");
    int reset = (int)s->reset, act = (int)s->act, order = (int)s->order, init = (int)c->init;
    if ((st = fl_yaml_get_enum(y, m, "init", inits, &init)) ||
        (st = fl_yaml_get_int(y, m, "enc_hidden", &s->enc_hidden, 1, MAX_HIDDEN)) ||
        (st = fl_yaml_get_int(y, m, "dec_hidden", &s->dec_hidden, 1, MAX_HIDDEN)) ||
        (st = fl_yaml_get_int(y, m, "layers", &s->layers, 1, FL_S2S_MAX_LAYERS)) ||
        (st = fl_yaml_get_enum(y, m, "reset", resets, &reset)) ||
        (st = fl_yaml_get_enum(y, m, "activation", acts, &act)) ||
        (st = fl_yaml_get_enum(y, m, "gate_order", orders, &order)) ||
        (st = fl_yaml_get_int(y, m, "outputs", &s->outputs, 1, 64)))
        return st;
    c->init = (fl_init_kind)init;
    s->reset = (fl_reset)reset;
    s->act = (fl_recur_act)act;
    s->order = (fl_gate_order)order;
    s->input = 1;
    if ((st = fl_s2s_config_check(s))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", fl_error());
        return fl_yaml_fail(y, m, "%s", msg);
    }
    return FL_OK;
}

/* ---- train ----------------------------------------------------------------------- */

static fl_status read_adam(const fl_yaml *y, const fl_yaml_node *m, fl_train_config *c)
{
    static const char *const known[] = {"beta1", "beta2", "eps", NULL};
    fl_status st;
    if ((st = fl_yaml_check_known(y, m, known)) ||
        (st = fl_yaml_get_f64(y, m, "beta1", &c->adam.beta1, 0.0, 0.999999)) ||
        (st = fl_yaml_get_f64(y, m, "beta2", &c->adam.beta2, 0.0, 0.999999999)))
        return st;
    return get_pos(y, m, "eps", &c->adam.eps, 1.0);
}

static fl_status read_plateau(const fl_yaml *y, const fl_yaml_node *m, fl_train_config *c)
{
    static const char *const known[] = {"patience", "factor", "min_lr", NULL};
    fl_status st;
    if ((st = fl_yaml_check_known(y, m, known)) ||
        (st = fl_yaml_get_int(y, m, "patience", &c->plateau_patience, 0, MAX_EPOCHS)) ||
        (st = get_pos(y, m, "factor", &c->plateau_factor, 1.0)))
        return st;
    return fl_yaml_get_f64(y, m, "min_lr", &c->min_lr, 0.0, 10.0);
}

static fl_status read_early(const fl_yaml *y, const fl_yaml_node *m, fl_train_config *c)
{
    static const char *const known[] = {"patience", "restore_best", NULL};
    fl_status st;
    if ((st = fl_yaml_check_known(y, m, known)) ||
        (st = fl_yaml_get_int(y, m, "patience", &c->early_patience, 0, MAX_EPOCHS)))
        return st;
    return fl_yaml_get_bool(y, m, "restore_best", &c->restore_best);
}

typedef fl_status (*section_fn)(const fl_yaml *, const fl_yaml_node *, fl_train_config *);

static fl_status section(const fl_yaml *y, const fl_yaml_node *m, const char *key, section_fn fn,
                         fl_train_config *c)
{
    const fl_yaml_node *s = NULL;
    fl_status st = fl_yaml_get_map(y, m, key, &s);
    return (st || !s) ? st : fn(y, s, c);
}

static fl_status read_loss(const fl_yaml *y, const fl_yaml_node *m, fl_train_config *c)
{
    static const char *const losses[] = {"mse", "mae", "mixed", NULL};
    int loss = (int)c->loss.kind;
    fl_status st;
    if ((st = fl_yaml_get_enum(y, m, "loss", losses, &loss)) ||
        (st = fl_yaml_get_f64(y, m, "mae_weight", &c->loss.mae_weight, 0.0, 1e6)))
        return st;
    c->loss.kind = (fl_loss_kind)loss;
    const fl_yaml_node *mw = fl_yaml_get(y, m, "mae_weight");
    if (mw && c->loss.kind != FL_LOSS_MIXED) return fl_yaml_fail(y, mw, "only used with loss: mixed");
    return FL_OK;
}

static fl_status read_train(const fl_yaml *y, const fl_yaml_node *m, fl_train_config *c)
{
    static const char *const known[] = {"epochs", "batch", "lr", "loss", "mae_weight", "clip_norm",
                                        "min_delta", "time_limit_s", "warmup_epochs", "adam",
                                        "plateau", "early_stop", NULL};
    fl_status st;
    int64_t batch = (int64_t)c->batch;
    if ((st = fl_yaml_check_known(y, m, known)) ||
        (st = fl_yaml_get_int(y, m, "epochs", &c->epochs, 1, MAX_EPOCHS)) ||
        (st = fl_yaml_get_i64(y, m, "batch", &batch, 1, MAX_BATCH)) ||
        (st = get_pos(y, m, "lr", &c->adam.lr, 10.0)) || (st = read_loss(y, m, c)) ||
        (st = fl_yaml_get_f64(y, m, "clip_norm", &c->clip_norm, 0.0, 1e12)) ||
        (st = fl_yaml_get_f64(y, m, "min_delta", &c->min_delta, 0.0, 1e12)) ||
        (st = fl_yaml_get_f64(y, m, "time_limit_s", &c->time_limit_s, 0.0, 1e9)) ||
        (st = fl_yaml_get_f64(y, m, "warmup_epochs", &c->warmup_epochs, 0.0, 1e6)) ||
        (st = section(y, m, "adam", read_adam, c)) || (st = section(y, m, "plateau", read_plateau, c)) ||
        (st = section(y, m, "early_stop", read_early, c)))
        return st;
    c->batch = (size_t)batch;
    return FL_OK;
}

/* ---- qat, distill, output ---------------------------------------------------------- */

/* bits/frac pair of a fixed-point signal; frac without bits means nothing. */
static fl_status read_fixed(const fl_yaml *y, const fl_yaml_node *m, const char *bk,
                            const char *fk, int max_bits, int *bits, int *frac)
{
    fl_status st;
    if ((st = fl_yaml_get_int(y, m, bk, bits, 0, max_bits)) || (st = fl_yaml_get_int(y, m, fk, frac, 0, 30)))
        return st;
    const fl_yaml_node *b = fl_yaml_get(y, m, bk), *f = fl_yaml_get(y, m, fk);
    if (*bits == 1) return fl_yaml_fail(y, b, "must be 0 (off) or 2..%d", max_bits);
    if (f && *bits == 0) return fl_yaml_fail(y, f, "not used without %s", bk);
    return FL_OK;
}

static fl_status read_qat(const fl_yaml *y, const fl_yaml_node *m, fl_train_config *c)
{
    static const char *const known[] = {"enabled", "weight_bits", "weight_scale", "bias_bits",
                                        "bias_frac", "state_bits", "state_frac", "act_bits",
                                        "act_frac", NULL};
    static const char *const scales[] = {"per_tensor", "per_row", NULL};
    fl_status st;
    c->qat = 1;
    fl_qat_params *q = &c->qat_p;
    q->weight_bits = 8;
    int scale = (int)q->weight_scale;
    if ((st = fl_yaml_check_known(y, m, known)) || (st = fl_yaml_get_bool(y, m, "enabled", &c->qat)) ||
        (st = fl_yaml_get_int(y, m, "weight_bits", &q->weight_bits, 0, 16)) ||
        (st = fl_yaml_get_enum(y, m, "weight_scale", scales, &scale)) ||
        (st = read_fixed(y, m, "bias_bits", "bias_frac", 32, &q->bias_bits, &q->bias_frac)) ||
        (st = read_fixed(y, m, "state_bits", "state_frac", 24, &q->fq.state_bits, &q->fq.state_frac)) ||
        (st = read_fixed(y, m, "act_bits", "act_frac", 24, &q->fq.act_bits, &q->fq.act_frac)))
        return st;
    q->weight_scale = (fl_qat_scale)scale;
    if (q->weight_bits == 1)
        return fl_yaml_fail(y, fl_yaml_get(y, m, "weight_bits"), "must be 0 (float) or 2..16");
    const fl_yaml_node *ws = fl_yaml_get(y, m, "weight_scale");
    if (ws && q->weight_bits == 0) return fl_yaml_fail(y, ws, "not used with weight_bits: 0");
    if (c->qat) return FL_OK;
    for (size_t i = 1; known[i]; ++i) {
        const fl_yaml_node *n = fl_yaml_get(y, m, known[i]);
        if (n) return fl_yaml_fail(y, n, "not used with enabled: false");
    }
    memset(q, 0, sizeof *q);
    return FL_OK;
}

static fl_status read_distill(const fl_yaml *y, const fl_yaml_node *m, fl_train_config *c)
{
    static const char *const known[] = {"alpha", "teacher_cache", NULL};
    static const char *const caches[] = {"auto", "on", "off", NULL};
    fl_status st;
    int cache = (int)c->teacher_cache;
    if ((st = fl_yaml_check_known(y, m, known)) ||
        (st = fl_yaml_get_f64(y, m, "alpha", &c->alpha, 0.0, 1.0)) ||
        (st = fl_yaml_get_enum(y, m, "teacher_cache", caches, &cache)))
        return st;
    c->teacher_cache = (fl_teacher_cache)cache;
    return FL_OK;
}

static fl_status read_output(const fl_yaml *y, const fl_yaml_node *m, const char *cfg,
                             fl_train_config *c)
{
    static const char *const known[] = {"curve", "checkpoint", "checkpoint_every", NULL};
    fl_status st;
    if ((st = fl_yaml_check_known(y, m, known)) || (st = get_path(y, m, "curve", cfg, c->curve)) ||
        (st = get_path(y, m, "checkpoint", cfg, c->checkpoint)))
        return st;
    return fl_yaml_get_int(y, m, "checkpoint_every", &c->checkpoint_every, 0, MAX_EPOCHS);
}

static fl_status read_root(const fl_yaml *y, const char *path, int distill, fl_train_config *c)
{
    static const char *const known[] = {"seed", "data", "model", "train", "qat", "distill",
                                        "output", NULL};
    const fl_yaml_node *r = fl_yaml_root(y), *s = NULL;
    fl_status st;
    int64_t seed = (int64_t)c->seed;
    if ((st = fl_yaml_check_known(y, r, known)) || (st = fl_yaml_get_i64(y, r, "seed", &seed, 0, INT64_MAX)))
        return st;
    c->seed = (uint64_t)seed;
    if ((st = fl_yaml_get_map(y, r, "data", &s)) || (s && (st = read_data(y, s, path, c)))) return st;
    if ((st = section(y, r, "model", read_model, c)) || (st = section(y, r, "train", read_train, c)) ||
        (st = section(y, r, "qat", read_qat, c)))
        return st;
    const fl_yaml_node *d = fl_yaml_get(y, r, "distill");
    if (d && !distill) return fl_yaml_fail(y, d, "only used by fligru distill");
    if ((st = section(y, r, "distill", read_distill, c))) return st;
    if ((st = fl_yaml_get_map(y, r, "output", &s)) || (s && (st = read_output(y, s, path, c)))) return st;
    return FL_OK;
}

fl_status fl_train_config_from_yaml(const char *path, int distill, fl_train_config *c)
{
    fl_train_config_default(c);
    if (strlen(path) >= FL_TRAIN_PATH_MAX) return fl_fail(FL_E_INPUT, "%s: path too long", path);
    snprintf(c->config, sizeof c->config, "%s", path);
    fl_yaml *y = NULL;
    fl_status st = fl_yaml_load(path, &y);
    if (st) return st;
    st = read_root(y, path, distill, c);
    fl_yaml_free(y);
    return st;
}
