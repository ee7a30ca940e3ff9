/* model_io.c - fl_s2s <-> safetensors under PyTorch's nn.GRU / nn.Linear names. */
#include "fligru/model_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound on a model's tensors: 4 per GRU layer in two stacks, 2 per
 * bridge, 2 for the dense head. */
#define MAX_TENSORS (2 * 4 * FL_S2S_MAX_LAYERS + 2 * FL_S2S_MAX_LAYERS + 2)
#define NAME_LEN 40

typedef struct {
    char   name[NAME_LEN];
    float *p;
    int    ndim;
    size_t shape[2];
} slot;

typedef struct {
    size_t n;
    slot   s[MAX_TENSORS];
} slot_list;

static void add(slot_list *l, float *p, int ndim, size_t d0, size_t d1, const char *fmt, int k)
{
    slot *s = &l->s[l->n++];
    snprintf(s->name, sizeof s->name, fmt, k);
    s->p = p;
    s->ndim = ndim;
    s->shape[0] = d0;
    s->shape[1] = d1;
}

static void add_gru(slot_list *l, const fl_gru_layer *g, const char *stack, int k)
{
    char fmt[NAME_LEN];
    size_t h3 = 3 * (size_t)g->hidden;
    snprintf(fmt, sizeof fmt, "%s.weight_ih_l%%d", stack);
    add(l, g->w_ih, 2, h3, (size_t)g->input, fmt, k);
    snprintf(fmt, sizeof fmt, "%s.weight_hh_l%%d", stack);
    add(l, g->w_hh, 2, h3, (size_t)g->hidden, fmt, k);
    snprintf(fmt, sizeof fmt, "%s.bias_ih_l%%d", stack);
    add(l, g->b_ih, 1, h3, 0, fmt, k);
    /* Reset-before has one bias vector (seq2seq.h explains why). */
    if (g->b_hh) {
        snprintf(fmt, sizeof fmt, "%s.bias_hh_l%%d", stack);
        add(l, g->b_hh, 1, h3, 0, fmt, k);
    }
}

/* Every parameter tensor of m, in file order; fails if they do not add up to
 * n_params (a tensor this module does not know about). */
static fl_status list_tensors(const fl_s2s *m, slot_list *l)
{
    const fl_s2s_config *c = &m->cfg;
    l->n = 0;
    for (int k = 0; k < c->layers; ++k) add_gru(l, &m->enc[k], "encoder", k);
    for (int k = 0; k < c->layers; ++k) add_gru(l, &m->dec[k], "decoder", k);
    if (c->enc_hidden != c->dec_hidden)
        for (int k = 0; k < c->layers; ++k) {
            add(l, m->bridge_w[k], 2, (size_t)c->dec_hidden, (size_t)c->enc_hidden, "bridge.%d.weight", k);
            add(l, m->bridge_b[k], 1, (size_t)c->dec_hidden, 0, "bridge.%d.bias", k);
        }
    add(l, m->dense_w, 2, (size_t)c->outputs, (size_t)c->dec_hidden, "dense.weight", 0);
    add(l, m->dense_b, 1, (size_t)c->outputs, 0, "dense.bias", 0);
    size_t total = 0;
    for (size_t i = 0; i < l->n; ++i) {
        if (!l->s[i].p) return fl_fail(FL_E_INTERNAL, "model_io: tensor %s has no storage", l->s[i].name);
        total += l->s[i].shape[0] * (l->s[i].ndim == 2 ? l->s[i].shape[1] : 1);
    }
    if (total != m->n_params)
        return fl_fail(FL_E_INTERNAL, "model_io: tensors hold %zu parameters, the model %zu",
                       total, m->n_params);
    return FL_OK;
}

static size_t slot_count(const slot *s) { return s->shape[0] * (s->ndim == 2 ? s->shape[1] : 1); }

static void slot_shape_str(const slot *s, char *buf, size_t n)
{
    if (s->ndim == 2) snprintf(buf, n, "[%zu,%zu]", s->shape[0], s->shape[1]);
    else snprintf(buf, n, "[%zu]", s->shape[0]);
}

static fl_status check_finite(const char *path, const char *name, const float *p, size_t n)
{
    for (size_t i = 0; i < n; ++i)
        if (!isfinite(p[i]))
            return fl_fail(FL_E_INPUT, "%s: tensor %s: %s at [%zu]", path, name,
                           isnan(p[i]) ? "NaN" : "Inf", i);
    return FL_OK;
}

int fl_model_is_extra(const char *name)
{
    return !strncmp(name, "optim.", 6) || !strncmp(name, "train.", 6);
}

/* ---- metadata ------------------------------------------------------------ */

static const char *const RESERVED[] = {"format", "version", "input", "outputs", "layers",
                                       "enc_hidden", "dec_hidden", "reset", "activation",
                                       "gate_order"};
#define N_RESERVED (sizeof RESERVED / sizeof RESERVED[0])

static const char *reset_name(fl_reset r) { return r == FL_RESET_BEFORE ? "before" : "after"; }
static const char *act_name(fl_recur_act a) { return a == FL_ACT_HARD_SIGMOID ? "hard_sigmoid" : "sigmoid"; }
static const char *order_name(fl_gate_order o) { return o == FL_GATES_ZRN ? "zrn" : "rzn"; }

static fl_status meta_int(const fl_st_file *f, const char *path, const char *key, int *out)
{
    const char *v = fl_st_meta(f, key);
    if (!v) return fl_fail(FL_E_INPUT, "%s: __metadata__ has no \"%s\"", path, key);
    char *end;
    long x = strtol(v, &end, 10);
    if (*v < '0' || *v > '9' || *end != '\0' || x > 1 << 24)
        return fl_fail(FL_E_INPUT, "%s: __metadata__ %s: \"%s\" is not a count", path, key, v);
    *out = (int)x;
    return FL_OK;
}

/* Index of the metadata value among names[0..n), or a failure listing them. */
static fl_status meta_enum(const fl_st_file *f, const char *path, const char *key,
                           const char *a, const char *b, int *out)
{
    const char *v = fl_st_meta(f, key);
    if (!v) return fl_fail(FL_E_INPUT, "%s: __metadata__ has no \"%s\"", path, key);
    if (!strcmp(v, a)) *out = 0;
    else if (!strcmp(v, b)) *out = 1;
    else return fl_fail(FL_E_INPUT, "%s: __metadata__ %s: \"%s\" is not %s or %s", path, key, v, a, b);
    return FL_OK;
}

fl_status fl_model_config(const fl_st_file *f, const char *path, fl_s2s_config *c)
{
    const char *fmt = fl_st_meta(f, "format");
    if (!fmt)
        return fl_fail(FL_E_INPUT, "%s: __metadata__ has no \"format\": not a fligru model file", path);
    if (strcmp(fmt, FL_MODEL_FORMAT))
        return fl_fail(FL_E_INPUT, "%s: format \"%s\", expected \"%s\"", path, fmt, FL_MODEL_FORMAT);
    int version = 0, e[3] = {0, 0, 0};
    fl_status st = meta_int(f, path, "version", &version);
    if (st) return st;
    if (version < 1 || version > FL_MODEL_VERSION)
        return fl_fail(FL_E_INPUT, "%s: format version %d; this fligru reads version %d", path,
                       version, FL_MODEL_VERSION);
    memset(c, 0, sizeof *c);
    if ((st = meta_int(f, path, "input", &c->input)) || (st = meta_int(f, path, "outputs", &c->outputs)) ||
        (st = meta_int(f, path, "layers", &c->layers)) ||
        (st = meta_int(f, path, "enc_hidden", &c->enc_hidden)) ||
        (st = meta_int(f, path, "dec_hidden", &c->dec_hidden)) ||
        (st = meta_enum(f, path, "reset", "after", "before", &e[0])) ||
        (st = meta_enum(f, path, "activation", "sigmoid", "hard_sigmoid", &e[1])) ||
        (st = meta_enum(f, path, "gate_order", "rzn", "zrn", &e[2])))
        return st;
    c->reset = e[0] ? FL_RESET_BEFORE : FL_RESET_AFTER;
    c->act = e[1] ? FL_ACT_HARD_SIGMOID : FL_ACT_SIGMOID;
    c->order = e[2] ? FL_GATES_ZRN : FL_GATES_RZN;
    if ((st = fl_s2s_config_check(c))) {
        char why[512];
        snprintf(why, sizeof why, "%s", fl_error());
        return fl_fail(st, "%s: __metadata__: %s", path, why);
    }
    return FL_OK;
}

/* ---- save ---------------------------------------------------------------- */

fl_status fl_model_save(const char *path, const fl_s2s *m, const fl_meta_kv *meta, size_t nmeta,
                        const fl_st_tensor *extra, size_t nextra)
{
    for (size_t i = 0; i < nmeta; ++i)
        for (size_t r = 0; r < N_RESERVED; ++r)
            if (meta[i].key && !strcmp(meta[i].key, RESERVED[r]))
                return fl_fail(FL_E_INPUT, "%s: metadata %s: reserved (fligru writes it)", path, RESERVED[r]);
    for (size_t i = 0; i < nextra; ++i)
        if (!extra[i].name || !fl_model_is_extra(extra[i].name))
            return fl_fail(FL_E_INPUT, "%s: tensor %s: extra tensors must be named optim.* or train.*",
                           path, extra[i].name ? extra[i].name : "(null)");
    slot_list l;
    fl_status st = list_tensors(m, &l);
    if (st) return st;
    for (size_t i = 0; i < l.n; ++i)
        if ((st = check_finite(path, l.s[i].name, l.s[i].p, slot_count(&l.s[i])))) return st;

    const fl_s2s_config *c = &m->cfg;
    char num[6][16];
    snprintf(num[0], sizeof num[0], "%d", FL_MODEL_VERSION);
    snprintf(num[1], sizeof num[1], "%d", c->input);
    snprintf(num[2], sizeof num[2], "%d", c->outputs);
    snprintf(num[3], sizeof num[3], "%d", c->layers);
    snprintf(num[4], sizeof num[4], "%d", c->enc_hidden);
    snprintf(num[5], sizeof num[5], "%d", c->dec_hidden);
    const char *vals[N_RESERVED] = {FL_MODEL_FORMAT, num[0], num[1], num[2], num[3], num[4],
                                    num[5], reset_name(c->reset), act_name(c->act), order_name(c->order)};
    fl_meta_kv *kv = malloc((N_RESERVED + nmeta) * sizeof *kv);
    fl_st_tensor *t = calloc(l.n + nextra, sizeof *t);
    if (!kv || !t) {
        free(kv);
        free(t);
        return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    }
    for (size_t r = 0; r < N_RESERVED; ++r) kv[r] = (fl_meta_kv){RESERVED[r], vals[r]};
    for (size_t i = 0; i < nmeta; ++i) kv[N_RESERVED + i] = meta[i];
    for (size_t i = 0; i < l.n; ++i) {
        t[i].name = l.s[i].name;
        t[i].dtype = FL_ST_F32;
        t[i].ndim = l.s[i].ndim;
        t[i].shape[0] = l.s[i].shape[0];
        t[i].shape[1] = l.s[i].shape[1];
        t[i].data = l.s[i].p;
    }
    for (size_t i = 0; i < nextra; ++i) t[l.n + i] = extra[i];
    st = fl_st_save(path, t, l.n + nextra, kv, N_RESERVED + nmeta);
    free(kv);
    free(t);
    return st;
}

/* ---- load ---------------------------------------------------------------- */

static fl_status take_tensor(const fl_st_file *f, const char *path, const slot *s)
{
    char want[64], got[256];
    slot_shape_str(s, want, sizeof want);
    const fl_st_tensor *t = fl_st_find(f, s->name);
    if (!t) return fl_fail(FL_E_INPUT, "%s: tensor %s: missing, expected F32 %s", path, s->name, want);
    if (t->dtype != FL_ST_F32)
        return fl_fail(FL_E_INPUT, "%s: tensor %s: dtype %s, expected F32", path, s->name,
                       fl_st_dtype_name(t->dtype));
    int ok = t->ndim == s->ndim;
    for (int d = 0; ok && d < s->ndim; ++d) ok = t->shape[d] == s->shape[d];
    if (!ok) {
        fl_st_shape_str(t, got, sizeof got);
        return fl_fail(FL_E_INPUT, "%s: tensor %s: shape %s, expected %s", path, s->name, got, want);
    }
    fl_status st = check_finite(path, s->name, t->data, slot_count(s));
    if (!st) memcpy(s->p, t->data, slot_count(s) * sizeof(float));
    return st;
}

static fl_status reject_unknown(const fl_st_file *f, const char *path, const slot_list *l,
                                const fl_s2s_config *c)
{
    for (size_t i = 0; i < f->n_tensors; ++i) {
        const char *nm = f->tensors[i].name;
        int known = fl_model_is_extra(nm);
        for (size_t j = 0; !known && j < l->n; ++j) known = !strcmp(nm, l->s[j].name);
        if (known) continue;
        if (c->reset == FL_RESET_BEFORE && strstr(nm, ".bias_hh_l"))
            return fl_fail(FL_E_INPUT, "%s: tensor %s: unexpected: a reset-before model has one "
                           "bias vector, bias_ih (see seq2seq.h)", path, nm);
        return fl_fail(FL_E_INPUT, "%s: tensor %s: unexpected in a %d-layer %dx%d model", path, nm,
                       c->layers, c->enc_hidden, c->dec_hidden);
    }
    return FL_OK;
}

fl_status fl_model_from_st(const fl_st_file *f, const char *path, fl_s2s *m)
{
    memset(m, 0, sizeof *m);
    fl_s2s_config c;
    fl_status st = fl_model_config(f, path, &c);
    if (st) return st;
    if ((st = fl_s2s_init(m, &c))) return st;
    slot_list l;
    st = list_tensors(m, &l);
    for (size_t i = 0; !st && i < l.n; ++i) st = take_tensor(f, path, &l.s[i]);
    if (!st) st = reject_unknown(f, path, &l, &c);
    if (st) fl_s2s_free(m);
    return st;
}

/* Keeps only the training-state tensors of f (and all its metadata). */
static void keep_extras(fl_st_file *f)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n_tensors; ++i) {
        if (fl_model_is_extra(f->tensors[i].name)) f->tensors[k++] = f->tensors[i];
        else free((char *)f->tensors[i].name);
    }
    f->n_tensors = k;
}

fl_status fl_model_load(const char *path, fl_s2s *m, fl_st_file *rest)
{
    fl_st_file f;
    memset(m, 0, sizeof *m);
    if (rest) memset(rest, 0, sizeof *rest);
    fl_status st = fl_st_load(path, &f);
    if (st) return st;
    st = fl_model_from_st(&f, path, m);
    if (st || !rest) {
        fl_st_free(&f);
        return st;
    }
    keep_extras(&f);
    *rest = f;
    return FL_OK;
}
