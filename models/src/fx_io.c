/* fx_io.c - quantised models as safetensors files (docs/fixed-point.md §5.1):
 * integer tensors at their declared widths, the network and the whole format
 * in the metadata, so that predict, vectors, the RTL and the SystemC model read
 * one parameter source. Loading trusts nothing: every value must fit its width. */
#include "fligru/fxmodel.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the tensors of a model, in file order ---------------------------------------- */

typedef enum {
    SLOT_WEIGHT,      /* |v| <= 2^(bits-1) - 1 (symmetric PTQ)  */
    SLOT_SIGNED,      /* a bits-wide signed word                */
    SLOT_MULT,        /* 0 <= v < 2^bits                        */
    SLOT_SHIFT        /* -31 <= v <= 62                         */
} slot_kind;

typedef struct {
    char       name[48];
    int32_t   *p;
    int        ndim;
    size_t     shape[2];
    int        bits;
    slot_kind  kind;
    const char *width_key;    /* metadata key of the width, for messages */
} slot;

#define MAX_SLOTS (FL_S2S_MAX_LAYERS * 20 + 8)

typedef struct {
    slot s[MAX_SLOTS];
    int  n;
} slot_list;

static void add(slot_list *l, const char *name, int32_t *p, int ndim, size_t r, size_t c, int bits, slot_kind k,
                const char *key)
{
    slot *s = &l->s[l->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->p = p;
    s->ndim = ndim;
    s->shape[0] = r;
    s->shape[1] = c;
    s->bits = bits;
    s->kind = k;
    s->width_key = key;
}

static void add_matrix(slot_list *l, const char *name, const fl_fx_matrix *m, const fl_fx_format *f)
{
    char nm[48];
    if (!m->rows) return;
    add(l, name, m->q, 2, (size_t)m->rows, (size_t)m->cols, f->weight_bits, SLOT_WEIGHT, "fx.weight_bits");
    snprintf(nm, sizeof nm, "%s.mult", name);
    add(l, nm, m->mult, 1, (size_t)m->rows, 0, f->mult_bits, SLOT_MULT, "fx.mult_bits");
    snprintf(nm, sizeof nm, "%s.shift", name);
    add(l, nm, m->shift, 1, (size_t)m->rows, 0, 8, SLOT_SHIFT, NULL);
}

static void add_bias(slot_list *l, const char *name, int32_t *b, int n, const fl_fx_format *f)
{
    if (b) add(l, name, b, 1, (size_t)n, 0, f->bias.bits, SLOT_SIGNED, "fx.bias_bits");
}

static void list_slots(const fl_fx_model *q, slot_list *l)
{
    const fl_fx_format *f = &q->fmt;
    char nm[48];
    l->n = 0;
    for (int pass = 0; pass < 2; ++pass) {
        const char *side = pass ? "decoder" : "encoder";
        for (int k = 0; k < q->cfg.layers; ++k) {
            const fl_fx_layer *L = pass ? &q->dec[k] : &q->enc[k];
            snprintf(nm, sizeof nm, "%s.weight_ih_l%d", side, k);
            add_matrix(l, nm, &L->wx, f);
            snprintf(nm, sizeof nm, "%s.weight_hh_l%d", side, k);
            add_matrix(l, nm, &L->wh, f);
            snprintf(nm, sizeof nm, "%s.bias_ih_l%d", side, k);
            add_bias(l, nm, L->bx, 3 * L->hidden, f);
            snprintf(nm, sizeof nm, "%s.bias_hh_l%d", side, k);
            add_bias(l, nm, L->bh, 3 * L->hidden, f);
        }
    }
    for (int k = 0; k < q->cfg.layers; ++k) {
        snprintf(nm, sizeof nm, "bridge.%d.weight", k);
        add_matrix(l, nm, &q->bridge_w[k], f);
        snprintf(nm, sizeof nm, "bridge.%d.bias", k);
        add_bias(l, nm, q->bridge_b[k], q->bridge_w[k].rows, f);
    }
    add_matrix(l, "dense.weight", &q->dense_w, f);
    add_bias(l, "dense.bias", q->dense_b, q->cfg.outputs, f);
    if (q->sigmoid_table)
        add(l, "act.sigmoid", q->sigmoid_table, 1, (size_t)1 << f->sigmoid.size_log2, 0, f->act.bits, SLOT_SIGNED,
            "fx.act_bits");
    if (q->tanh_table)
        add(l, "act.tanh", q->tanh_table, 1, (size_t)1 << f->tanh.size_log2, 0, f->act.bits, SLOT_SIGNED,
            "fx.act_bits");
}

static size_t slot_count(const slot *s)
{
    return s->ndim == 2 ? s->shape[0] * s->shape[1] : s->shape[0];
}

/* The dtype a slot is stored in: the narrowest that holds its width. */
static fl_st_dtype slot_dtype(const slot *s)
{
    if (s->kind == SLOT_SHIFT) return FL_ST_I8;
    if (s->kind == SLOT_MULT) return FL_ST_I32;
    return s->bits <= 8 ? FL_ST_I8 : s->bits <= 16 ? FL_ST_I16 : FL_ST_I32;
}

static int slot_fits(const slot *s, int64_t v, int64_t *lo, int64_t *hi)
{
    switch (s->kind) {
    case SLOT_WEIGHT: *hi = fl_fx_max(s->bits); *lo = -*hi; break;
    case SLOT_SIGNED: *hi = fl_fx_max(s->bits); *lo = fl_fx_min(s->bits); break;
    case SLOT_MULT: *lo = 0; *hi = (INT64_C(1) << s->bits) - 1; break;
    default: *lo = -31; *hi = 62; break;
    }
    return v >= *lo && v <= *hi;
}

/* ---- metadata ------------------------------------------------------------------------- */

typedef struct {
    char key[40];
    char val[72];
} kv;

#define MAX_META 64

static void put(kv *m, int *n, const char *key, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void put(kv *m, int *n, const char *key, const char *fmt, ...)
{
    va_list ap;
    snprintf(m[*n].key, sizeof m[*n].key, "%s", key);
    va_start(ap, fmt);
    vsnprintf(m[*n].val, sizeof m[*n].val, fmt, ap);
    va_end(ap);
    ++*n;
}

static const char *scale_names[] = {"per_row", "per_tensor", "fixed"};
static const char *act_names[] = {"table", "hard"};

static void put_q(kv *m, int *n, const char *name, fl_fx_q q)
{
    char k[40];
    snprintf(k, sizeof k, "fx.%s_bits", name);
    put(m, n, k, "%d", q.bits);
    snprintf(k, sizeof k, "fx.%s_frac", name);
    put(m, n, k, "%d", q.frac);
}

static void put_act(kv *m, int *n, const char *name, const fl_fx_act *a)
{
    char k[40];
    snprintf(k, sizeof k, "fx.%s", name);
    put(m, n, k, "%s", act_names[a->kind]);
    snprintf(k, sizeof k, "fx.%s_size", name);
    put(m, n, k, "%d", 1 << a->size_log2);
    snprintf(k, sizeof k, "fx.%s_range_log2", name);
    put(m, n, k, "%d", a->range_log2);
}

static int format_meta(const fl_fx_model *q, kv *m)
{
    const fl_s2s_config *c = &q->cfg;
    const fl_fx_format *f = &q->fmt;
    int n = 0;
    put(m, &n, "format", "%s", FL_FX_FORMAT);
    put(m, &n, "version", "%d", FL_FX_VERSION);
    put(m, &n, "input", "%d", c->input);
    put(m, &n, "outputs", "%d", c->outputs);
    put(m, &n, "layers", "%d", c->layers);
    put(m, &n, "enc_hidden", "%d", c->enc_hidden);
    put(m, &n, "dec_hidden", "%d", c->dec_hidden);
    put(m, &n, "reset", "%s", c->reset == FL_RESET_AFTER ? "after" : "before");
    put(m, &n, "activation", "%s", c->act == FL_ACT_SIGMOID ? "sigmoid" : "hard_sigmoid");
    put(m, &n, "gate_order", "%s", c->order == FL_GATES_RZN ? "rzn" : "zrn");
    put(m, &n, "fx.name", "%s", f->name);
    put(m, &n, "fx.rounding", "%s", fl_fx_round_name(f->round));
    put_q(m, &n, "input", f->input);
    put(m, &n, "fx.weight_bits", "%d", f->weight_bits);
    put(m, &n, "fx.weight_scale", "%s", scale_names[f->weight_scale]);
    put(m, &n, "fx.weight_pow2", "%d", f->weight_pow2);
    put(m, &n, "fx.weight_frac", "%d", fl_fx_weight_frac(f));
    put_q(m, &n, "bias", f->bias);
    put(m, &n, "fx.acc_bits", "%d", f->acc_bits);
    put(m, &n, "fx.acc_frac", "%d", f->acc_frac);
    put(m, &n, "fx.mult_bits", "%d", f->mult_bits);
    put_q(m, &n, "gate", f->gate);
    put_q(m, &n, "act", f->act);
    put_q(m, &n, "state", f->state);
    put_q(m, &n, "output", f->output);
    put_act(m, &n, "sigmoid", &f->sigmoid);
    put_act(m, &n, "tanh", &f->tanh);
    return n;
}

static fl_status meta_str(const fl_st_file *f, const char *path, const char *key, const char **out)
{
    *out = fl_st_meta(f, key);
    if (!*out) return fl_fail(FL_E_INPUT, "%s: __metadata__ has no \"%s\"", path, key);
    return FL_OK;
}

static fl_status meta_int(const fl_st_file *f, const char *path, const char *key, int *out)
{
    const char *s;
    fl_status st = meta_str(f, path, key, &s);
    if (st) return st;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < -100000 || v > 100000)
        return fl_fail(FL_E_INPUT, "%s: __metadata__ %s: \"%s\" is not an integer", path, key, s);
    *out = (int)v;
    return FL_OK;
}

static fl_status meta_enum(const fl_st_file *f, const char *path, const char *key, const char *const *names,
                           int count, int *out)
{
    const char *s;
    fl_status st = meta_str(f, path, key, &s);
    if (st) return st;
    for (int i = 0; i < count; ++i)
        if (!strcmp(s, names[i])) {
            *out = i;
            return FL_OK;
        }
    char list[128] = "";
    for (int i = 0; i < count; ++i)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i == 0 ? "" : i == count - 1 ? " or " : ", ",
                 names[i]);
    return fl_fail(FL_E_INPUT, "%s: __metadata__ %s: \"%s\" is not %s", path, key, s, list);
}

static fl_status meta_q(const fl_st_file *f, const char *path, const char *name, fl_fx_q *q)
{
    char k[40];
    snprintf(k, sizeof k, "fx.%s_bits", name);
    fl_status st = meta_int(f, path, k, &q->bits);
    if (st) return st;
    snprintf(k, sizeof k, "fx.%s_frac", name);
    return meta_int(f, path, k, &q->frac);
}

static fl_status meta_act(const fl_st_file *f, const char *path, const char *name, fl_fx_act *a)
{
    char k[40];
    int kind, size;
    snprintf(k, sizeof k, "fx.%s", name);
    fl_status st = meta_enum(f, path, k, act_names, 2, &kind);
    if (st) return st;
    a->kind = (fl_fx_act_kind)kind;
    snprintf(k, sizeof k, "fx.%s_size", name);
    if ((st = meta_int(f, path, k, &size))) return st;
    if (size < 2 || (size & (size - 1)))
        return fl_fail(FL_E_INPUT, "%s: __metadata__ %s: %d is not a power of two", path, k, size);
    a->size_log2 = 0;
    while ((1 << a->size_log2) < size) ++a->size_log2;
    snprintf(k, sizeof k, "fx.%s_range_log2", name);
    return meta_int(f, path, k, &a->range_log2);
}

static fl_status read_format(const fl_st_file *f, const char *path, fl_s2s_config *c, fl_fx_format *x)
{
    const char *s;
    fl_status st = meta_str(f, path, "format", &s);
    if (st) return st;
    if (strcmp(s, FL_FX_FORMAT))
        return fl_fail(FL_E_INPUT, "%s: format \"%s\", expected \"%s\"", path, s, FL_FX_FORMAT);
    int v, e[3];
    if ((st = meta_int(f, path, "version", &v))) return st;
    if (v < 1 || v > FL_FX_VERSION)
        return fl_fail(FL_E_INPUT, "%s: format version %d; this fligru reads version %d", path, v, FL_FX_VERSION);
    static const char *const resets[] = {"after", "before"}, *const acts[] = {"sigmoid", "hard_sigmoid"},
                             *const orders[] = {"rzn", "zrn"};
    memset(c, 0, sizeof *c);
    if ((st = meta_int(f, path, "input", &c->input)) || (st = meta_int(f, path, "outputs", &c->outputs)) ||
        (st = meta_int(f, path, "layers", &c->layers)) || (st = meta_int(f, path, "enc_hidden", &c->enc_hidden)) ||
        (st = meta_int(f, path, "dec_hidden", &c->dec_hidden)) ||
        (st = meta_enum(f, path, "reset", resets, 2, &e[0])) ||
        (st = meta_enum(f, path, "activation", acts, 2, &e[1])) ||
        (st = meta_enum(f, path, "gate_order", orders, 2, &e[2])))
        return st;
    c->reset = e[0] ? FL_RESET_BEFORE : FL_RESET_AFTER;
    c->act = e[1] ? FL_ACT_HARD_SIGMOID : FL_ACT_SIGMOID;
    c->order = e[2] ? FL_GATES_ZRN : FL_GATES_RZN;
    if ((st = fl_s2s_config_check(c))) {
        char why[400];
        snprintf(why, sizeof why, "%s", fl_error());
        return fl_fail(st, "%s: __metadata__: %s", path, why);
    }
    fl_fx_format_default(x);
    const char *name = fl_st_meta(f, "fx.name");
    snprintf(x->name, sizeof x->name, "%s", name ? name : "");
    static const char *const rounds[] = {"truncate", "half_up", "half_even"};
    int r, sc;
    if ((st = meta_enum(f, path, "fx.rounding", rounds, 3, &r)) || (st = meta_q(f, path, "input", &x->input)) ||
        (st = meta_int(f, path, "fx.weight_bits", &x->weight_bits)) ||
        (st = meta_enum(f, path, "fx.weight_scale", scale_names, 3, &sc)) ||
        (st = meta_int(f, path, "fx.weight_pow2", &x->weight_pow2)) ||
        (st = meta_int(f, path, "fx.weight_frac", &x->weight_frac)) || (st = meta_q(f, path, "bias", &x->bias)) ||
        (st = meta_int(f, path, "fx.acc_bits", &x->acc_bits)) ||
        (st = meta_int(f, path, "fx.acc_frac", &x->acc_frac)) ||
        (st = meta_int(f, path, "fx.mult_bits", &x->mult_bits)) || (st = meta_q(f, path, "gate", &x->gate)) ||
        (st = meta_q(f, path, "act", &x->act)) || (st = meta_q(f, path, "state", &x->state)) ||
        (st = meta_q(f, path, "output", &x->output)) || (st = meta_act(f, path, "sigmoid", &x->sigmoid)) ||
        (st = meta_act(f, path, "tanh", &x->tanh)))
        return st;
    x->round = (fl_fx_round)r;
    x->weight_scale = (fl_fx_scale)sc;
    x->acc_auto = 0;
    char where[300];
    snprintf(where, sizeof where, "%s: format: ", path);
    return fl_fx_format_check(x, where);
}

/* ---- save ------------------------------------------------------------------------------ */

fl_status fl_fx_save(const char *path, const fl_fx_model *q, const fl_meta_kv *meta, size_t nmeta)
{
    /* The loader runs the same check: never write a file it would refuse (and
     * format_meta shifts by size_log2, which must be in range first). */
    char where[300];
    snprintf(where, sizeof where, "%s: format: ", path);
    fl_status bad = fl_fx_format_check(&q->fmt, where);
    if (bad) return bad;
    kv fm[MAX_META];
    const int nf = format_meta(q, fm);
    for (size_t i = 0; i < nmeta; ++i)
        for (int k = 0; k < nf; ++k)
            if (!strcmp(meta[i].key, fm[k].key))
                return fl_fail(FL_E_INPUT, "%s: metadata %s: reserved (fligru writes it)", path, fm[k].key);
    slot_list l;
    list_slots(q, &l);
    fl_st_tensor *t = calloc((size_t)l.n, sizeof *t);
    fl_meta_kv *m = calloc((size_t)nf + nmeta, sizeof *m);
    void **bufs = calloc((size_t)l.n, sizeof *bufs);
    fl_status st = t && m && bufs ? FL_OK : fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    for (int i = 0; !st && i < l.n; ++i) {
        const slot *s = &l.s[i];
        const size_t n = slot_count(s);
        const fl_st_dtype dt = slot_dtype(s);
        bufs[i] = malloc(n * fl_st_dtype_size(dt) + 1);
        if (!bufs[i]) {
            st = fl_fail(FL_E_NOMEM, "%s: out of memory", path);
            break;
        }
        for (size_t k = 0; k < n; ++k) {
            int64_t lo, hi;
            if (!slot_fits(s, s->p[k], &lo, &hi)) {
                st = fl_fail(FL_E_INTERNAL, "%s: tensor %s: value %d at [%zu] outside [%lld, %lld]", path, s->name,
                             (int)s->p[k], k, (long long)lo, (long long)hi);
                break;
            }
            if (dt == FL_ST_I8) ((int8_t *)bufs[i])[k] = (int8_t)s->p[k];
            else if (dt == FL_ST_I16) ((int16_t *)bufs[i])[k] = (int16_t)s->p[k];
            else ((int32_t *)bufs[i])[k] = s->p[k];
        }
        t[i] = (fl_st_tensor){.name = s->name, .dtype = dt, .ndim = s->ndim, .shape = {s->shape[0], s->shape[1]},
                              .data = bufs[i]};
    }
    if (!st) {
        for (int k = 0; k < nf; ++k) m[k] = (fl_meta_kv){fm[k].key, fm[k].val};
        for (size_t k = 0; k < nmeta; ++k) m[nf + k] = meta[k];
        st = fl_st_save(path, t, (size_t)l.n, m, (size_t)nf + nmeta);
    }
    for (int i = 0; bufs && i < l.n; ++i) free(bufs[i]);
    free(bufs);
    free(t);
    free(m);
    return st;
}

/* ---- load ------------------------------------------------------------------------------ */

static fl_status take_slot(const fl_st_file *f, const char *path, const fl_fx_format *x, const slot *s)
{
    const fl_st_tensor *t = fl_st_find(f, s->name);
    const fl_st_dtype dt = slot_dtype(s);
    char want[64], got[64];
    fl_st_tensor shape = {.ndim = s->ndim, .shape = {s->shape[0], s->shape[1]}};
    fl_st_shape_str(&shape, want, sizeof want);
    if (!t) return fl_fail(FL_E_INPUT, "%s: tensor %s: missing, expected %s %s", path, s->name, fl_st_dtype_name(dt), want);
    fl_st_shape_str(t, got, sizeof got);
    if (t->dtype != dt)
        return fl_fail(FL_E_INPUT, "%s: tensor %s: dtype %s, expected %s for %s %d", path, s->name,
                       fl_st_dtype_name(t->dtype), fl_st_dtype_name(dt), s->width_key ? s->width_key : "shift",
                       s->bits);
    if (t->ndim != s->ndim || strcmp(got, want))
        return fl_fail(FL_E_INPUT, "%s: tensor %s: shape %s, expected %s", path, s->name, got, want);
    (void)x;
    const size_t n = slot_count(s);
    for (size_t k = 0; k < n; ++k) {
        const int64_t v = dt == FL_ST_I8 ? ((const int8_t *)t->data)[k]
                        : dt == FL_ST_I16 ? ((const int16_t *)t->data)[k] : ((const int32_t *)t->data)[k];
        int64_t lo, hi;
        if (!slot_fits(s, v, &lo, &hi)) {
            if (s->kind == SLOT_SHIFT)
                return fl_fail(FL_E_INPUT, "%s: tensor %s: shift %lld at [%zu] outside -31..62", path, s->name,
                               (long long)v, k);
            return fl_fail(FL_E_INPUT, "%s: tensor %s: value %lld at [%zu] does not fit %s %d (%lld..%lld)", path,
                           s->name, (long long)v, k, s->width_key, s->bits, (long long)lo, (long long)hi);
        }
        s->p[k] = (int32_t)v;
    }
    return FL_OK;
}

fl_status fl_fx_from_st(const fl_st_file *f, const char *path, fl_fx_model *q)
{
    fl_s2s_config c;
    fl_fx_format x;
    memset(q, 0, sizeof *q);
    fl_status st = read_format(f, path, &c, &x);
    if (st) return st;
    if ((st = fl_fx_model_init(q, &c, &x))) return st;
    slot_list l;
    list_slots(q, &l);
    for (int i = 0; !st && i < l.n; ++i) st = take_slot(f, path, &x, &l.s[i]);
    for (size_t i = 0; !st && i < f->n_tensors; ++i) {
        int known = 0;
        for (int k = 0; k < l.n && !known; ++k) known = !strcmp(f->tensors[i].name, l.s[k].name);
        if (!known)
            st = fl_fail(FL_E_INPUT, "%s: tensor %s: unexpected in a %d-layer %dx%d %s model with this format", path,
                         f->tensors[i].name, c.layers, c.enc_hidden, c.dec_hidden,
                         c.reset == FL_RESET_AFTER ? "reset-after" : "reset-before");
    }
    if (st) fl_fx_model_free(q);
    return st;
}

fl_status fl_fx_load(const char *path, fl_fx_model *q)
{
    fl_st_file f;
    memset(q, 0, sizeof *q);
    fl_status st = fl_st_load(path, &f);
    if (st) return st;
    st = fl_fx_from_st(&f, path, q);
    fl_st_free(&f);
    return st;
}

fl_status fl_fx_file_hash(const char *path, uint64_t *hash)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return fl_fail(FL_E_IO, "%s: %s", path, strerror(errno));
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        for (size_t i = 0; i < n; ++i) h = (h ^ buf[i]) * UINT64_C(0x100000001b3);
    const int err = ferror(fp);
    fclose(fp);
    if (err) return fl_fail(FL_E_IO, "%s: read error", path);
    *hash = h;
    return FL_OK;
}
