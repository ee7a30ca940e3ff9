/* fx_format.c - the fixed-point format: defaults, validation (docs §1-2) and
 * the YAML config of `fligru quantize`. One validator serves the config and
 * the quantised model's metadata, so both refuse the same formats in the same
 * words. */
#include "fligru/fxmodel.h"
#include "fligru/yaml.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void fl_fx_format_default(fl_fx_format *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "fx-default");
    f->round = FL_FX_HALF_EVEN;
    f->input = (fl_fx_q){16, 14};
    f->bias = (fl_fx_q){16, 12};
    f->gate = (fl_fx_q){18, 12};
    f->act = (fl_fx_q){16, 14};
    f->state = (fl_fx_q){24, 22};
    f->output = (fl_fx_q){16, 14};
    f->weight_bits = 8;
    f->weight_scale = FL_FX_SCALE_ROW;
    f->weight_frac = 7;
    f->acc_bits = 32;
    f->acc_auto = 1;
    f->mult_bits = 16;
    f->sigmoid = (fl_fx_act){FL_FX_ACT_TABLE, 10, 3};
    f->tanh = (fl_fx_act){FL_FX_ACT_TABLE, 10, 2};
}

int fl_fx_weight_frac(const fl_fx_format *f)
{
    return f->weight_scale == FL_FX_SCALE_FIXED ? f->weight_frac : f->weight_bits - 1;
}

int fl_fx_product_shift(const fl_fx_format *f, int operand_frac)
{
    return fl_fx_weight_frac(f) + operand_frac - f->acc_frac;
}

/* ---- validation ------------------------------------------------------------- */

typedef struct {
    char field[48];
    char msg[200];
} fx_problem;

static int problem(fx_problem *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int problem(fx_problem *p, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(p->field, sizeof p->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(p->msg, sizeof p->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int check_q(const char *name, fl_fx_q q, fx_problem *p)
{
    char field[48];
    snprintf(field, sizeof field, "%s.bits", name);
    if (q.bits < 2 || q.bits > 32)
        return problem(p, field, "word length %d is outside 2..32", q.bits);
    snprintf(field, sizeof field, "%s.frac", name);
    if (q.frac < 0 || q.frac > q.bits - 1)
        return problem(p, field, "binary point %d is beyond the %d-bit word (0..%d: at least the sign bit "
                                 "stays left of the point)", q.frac, q.bits, q.bits - 1);
    return 0;
}

static int check_act(const char *name, const fl_fx_act *a, const fl_fx_format *f, fx_problem *p)
{
    char field[48];
    if (a->kind != FL_FX_ACT_TABLE && a->kind != FL_FX_ACT_HARD) {
        snprintf(field, sizeof field, "%s.kind", name);
        return problem(p, field, "%d is neither table nor hard", (int)a->kind);
    }
    /* Size and range are checked whatever the kind: a hard activation ignores
     * them, but they are written into the model file (1 << size_log2), whose
     * loader checks them again. */
    snprintf(field, sizeof field, "%s.size", name);
    if (a->size_log2 < 1 || a->size_log2 > 16)
        return problem(p, field, "2^%d entries: the size must be a power of two from 2 to 65536", a->size_log2);
    snprintf(field, sizeof field, "%s.range", name);
    if (a->range_log2 < -8 || a->range_log2 > 16)
        return problem(p, field, "2^%d: the range must be a power of two from 2^-8 to 2^16", a->range_log2);
    if (a->kind == FL_FX_ACT_HARD) return 0;   /* no table: the gate's LSB does not matter */
    snprintf(field, sizeof field, "%s.size", name);
    const int k = f->gate.frac + a->range_log2 + 1 - a->size_log2;
    if (k < 0)
        return problem(p, field, "%d entries over [-2^%d, 2^%d) are finer than the gate's LSB 2^-%d "
                                 "(at most 2^%d entries)", 1 << a->size_log2, a->range_log2, a->range_log2,
                       f->gate.frac, f->gate.frac + a->range_log2 + 1);
    return 0;
}

static int validate(const fl_fx_format *f, fx_problem *p)
{
    if ((unsigned)f->round > FL_FX_HALF_EVEN)
        return problem(p, "rounding", "%d is not truncate, half_up or half_even", (int)f->round);
    static const char *const names[] = {"input", "bias", "gate", "activation", "state", "output"};
    const fl_fx_q qs[] = {f->input, f->bias, f->gate, f->act, f->state, f->output};
    for (int i = 0; i < 6; ++i)
        if (check_q(names[i], qs[i], p)) return -1;
    if (f->act.frac < 1)
        return problem(p, "activation.frac", "0: sigmoid and tanh outputs need at least one fraction bit");
    if (f->weight_bits < 2 || f->weight_bits > 16)
        return problem(p, "weights.bits", "%d is outside 2..16", f->weight_bits);
    if ((unsigned)f->weight_scale > FL_FX_SCALE_FIXED)
        return problem(p, "weights.scale", "%d is not per_row, per_tensor or fixed", (int)f->weight_scale);
    if (f->weight_scale == FL_FX_SCALE_FIXED && (f->weight_frac < 0 || f->weight_frac > f->weight_bits - 1))
        return problem(p, "weights.frac", "binary point %d is beyond the %d-bit word (0..%d)", f->weight_frac,
                       f->weight_bits, f->weight_bits - 1);
    if (f->acc_bits < 2 || f->acc_bits > 32)
        return problem(p, "accumulator.bits", "word length %d is outside 2..32", f->acc_bits);
    if (!f->acc_auto) {
        if (f->acc_frac < 0 || f->acc_frac > f->acc_bits - 1)
            return problem(p, "accumulator.frac", "binary point %d is beyond the %d-bit word (0..%d)",
                           f->acc_frac, f->acc_bits, f->acc_bits - 1);
        const int dx = fl_fx_product_shift(f, f->input.frac), dh = fl_fx_product_shift(f, f->state.frac);
        const int lo = dx < dh ? dx : dh, hi = dx > dh ? dx : dh;
        if (lo < -31 || hi > 46)
            return problem(p, "accumulator.frac", "%d puts the products %d bits %s the accumulator's point "
                           "(at most 31 left, 46 right)", f->acc_frac, lo < -31 ? -lo : hi,
                           lo < -31 ? "left of" : "right of");
    }
    if (f->mult_bits < 2 || f->mult_bits > 31)
        return problem(p, "multiplier.bits", "%d is outside 2..31", f->mult_bits);
    if (check_act("sigmoid", &f->sigmoid, f, p) || check_act("tanh", &f->tanh, f, p)) return -1;
    /* docs §2.3: the update's exact blend must fit an int64. */
    const int f1 = f->act.frac > f->state.frac ? f->act.frac : f->state.frac;
    const int a = f->state.bits + f1 - f->state.frac, b = f->act.bits + f1 - f->act.frac;
    const int u = f->act.bits + 1 + (a > b ? a : b);
    if (u > 63)
        return problem(p, "state", "Q(%d,%d) with activations Q(%d,%d): the update needs %d bits (at most 63)",
                       f->state.bits, f->state.frac, f->act.bits, f->act.frac, u);
    return 0;
}

fl_status fl_fx_format_check(const fl_fx_format *f, const char *where)
{
    fx_problem p;
    if (validate(f, &p)) return fl_fail(FL_E_INPUT, "%s%s: %s", where ? where : "", p.field, p.msg);
    return FL_OK;
}

/* ---- summary ------------------------------------------------------------------- */

static const char *scale_name(fl_fx_scale s)
{
    return s == FL_FX_SCALE_ROW ? "per_row" : s == FL_FX_SCALE_TENSOR ? "per_tensor" : "fixed";
}

static void act_str(const char *name, const fl_fx_act *a, char *buf, size_t n)
{
    if (a->kind == FL_FX_ACT_HARD)
        snprintf(buf, n, "%s hard", name);
    else
        snprintf(buf, n, "%s table %d@%g", name, 1 << a->size_log2, ldexp(1.0, a->range_log2));
}

void fl_fx_format_str(const fl_fx_format *f, char *buf, size_t n)
{
    char w[48], acc[32], sg[48], th[48];
    if (f->weight_scale == FL_FX_SCALE_FIXED)
        snprintf(w, sizeof w, "w Q(%d,%d) fixed", f->weight_bits, f->weight_frac);
    else
        snprintf(w, sizeof w, "w %d %s%s", f->weight_bits, scale_name(f->weight_scale),
                 f->weight_pow2 ? " pow2" : "");
    if (f->acc_auto)
        snprintf(acc, sizeof acc, "Q(%d,auto)", f->acc_bits);
    else
        snprintf(acc, sizeof acc, "Q(%d,%d)", f->acc_bits, f->acc_frac);
    act_str("sigmoid", &f->sigmoid, sg, sizeof sg);
    act_str("tanh", &f->tanh, th, sizeof th);
    snprintf(buf, n,
             "in Q(%d,%d) %s bias Q(%d,%d) acc %s mult %d gate Q(%d,%d) act Q(%d,%d) state Q(%d,%d) "
             "out Q(%d,%d) %s %s %s",
             f->input.bits, f->input.frac, w, f->bias.bits, f->bias.frac, acc, f->mult_bits, f->gate.bits,
             f->gate.frac, f->act.bits, f->act.frac, f->state.bits, f->state.frac, f->output.bits,
             f->output.frac, fl_fx_round_name(f->round), sg, th);
}

/* ---- YAML ---------------------------------------------------------------------- */

static const char *const ROOT_KEYS[] = {"name", "rounding", "input", "weights", "bias", "accumulator",
                                        "multiplier", "gate", "activation", "state", "output",
                                        "sigmoid", "tanh", NULL};
static const char *const Q_KEYS[] = {"bits", "frac", NULL};
static const char *const W_KEYS[] = {"bits", "scale", "pow2", "frac", NULL};
static const char *const ACC_KEYS[] = {"bits", "frac", "overflow", NULL};
static const char *const M_KEYS[] = {"bits", NULL};
static const char *const ACT_KEYS[] = {"kind", "size", "range", NULL};

/* Word lengths are read loosely and judged by validate(), so that the config
 * and the model metadata give the same messages. */
#define LOOSE 1000

static fl_status get_section(const fl_yaml *y, const char *key, const char *const *known,
                             const fl_yaml_node **out)
{
    fl_status st = fl_yaml_get_map(y, fl_yaml_root(y), key, out);
    if (!st && *out) st = fl_yaml_check_known(y, *out, known);
    return st;
}

static fl_status read_q(const fl_yaml *y, const char *key, fl_fx_q *q)
{
    const fl_yaml_node *m;
    fl_status st = get_section(y, key, Q_KEYS, &m);
    if (st || !m) return st;
    if ((st = fl_yaml_get_int(y, m, "bits", &q->bits, -LOOSE, LOOSE))) return st;
    return fl_yaml_get_int(y, m, "frac", &q->frac, -LOOSE, LOOSE);
}

/* A power of two given as a number (8, 0.5): its exponent. */
static fl_status get_pow2(const fl_yaml *y, const fl_yaml_node *m, const char *key, int *log2v, int int_only)
{
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    if (!n) return FL_OK;
    double v;
    fl_status st = fl_yaml_as_f64(y, n, &v, -1e300, 1e300);
    if (st) return st;
    int e;
    double fr = frexp(v, &e);
    if (!(v > 0) || fr != 0.5 || (int_only && v < 1.0))
        return fl_yaml_fail(y, n, "%s is not a power of two%s", n->value, int_only ? " (2, 4, ..., 65536)" : "");
    *log2v = e - 1;
    return FL_OK;
}

static fl_status read_act(const fl_yaml *y, const char *key, fl_fx_act *a)
{
    const fl_yaml_node *m;
    fl_status st = get_section(y, key, ACT_KEYS, &m);
    if (st || !m) return st;
    static const char *const kinds[] = {"table", "hard", NULL};
    int k = (int)a->kind;
    if ((st = fl_yaml_get_enum(y, m, "kind", kinds, &k))) return st;
    a->kind = (fl_fx_act_kind)k;
    if ((st = get_pow2(y, m, "size", &a->size_log2, 1))) return st;
    return get_pow2(y, m, "range", &a->range_log2, 0);
}

static fl_status read_weights(const fl_yaml *y, fl_fx_format *f)
{
    const fl_yaml_node *m;
    fl_status st = get_section(y, "weights", W_KEYS, &m);
    if (st || !m) return st;
    static const char *const scales[] = {"per_row", "per_tensor", "fixed", NULL};
    int s = (int)f->weight_scale;
    if ((st = fl_yaml_get_int(y, m, "bits", &f->weight_bits, -LOOSE, LOOSE))) return st;
    if ((st = fl_yaml_get_enum(y, m, "scale", scales, &s))) return st;
    f->weight_scale = (fl_fx_scale)s;
    if ((st = fl_yaml_get_bool(y, m, "pow2", &f->weight_pow2))) return st;
    const fl_yaml_node *fr = fl_yaml_get(y, m, "frac");
    if (fr && f->weight_scale != FL_FX_SCALE_FIXED)
        return fl_yaml_fail(y, fr, "only with scale: fixed (per_row and per_tensor scales come from the weights)");
    if (f->weight_pow2 && f->weight_scale == FL_FX_SCALE_FIXED)
        return fl_yaml_fail(y, fl_yaml_get(y, m, "pow2"), "scale: fixed is already a power of two");
    if (f->weight_scale == FL_FX_SCALE_FIXED && !fr)
        return fl_yaml_fail(y, m, "scale: fixed needs frac (the weights' binary point)");
    return fl_yaml_get_int(y, m, "frac", &f->weight_frac, -LOOSE, LOOSE);
}

static fl_status read_acc(const fl_yaml *y, fl_fx_format *f)
{
    const fl_yaml_node *m;
    fl_status st = get_section(y, "accumulator", ACC_KEYS, &m);
    if (st || !m) return st;
    if ((st = fl_yaml_get_int(y, m, "bits", &f->acc_bits, -LOOSE, LOOSE))) return st;
    const fl_yaml_node *fr = fl_yaml_get(y, m, "frac");
    if (fr && fr->kind == FL_YAML_SCALAR && !strcmp(fr->value, "auto")) {
        f->acc_auto = 1;
    } else if (fr) {
        f->acc_auto = 0;
        if ((st = fl_yaml_get_int(y, m, "frac", &f->acc_frac, -LOOSE, LOOSE))) return st;
    }
    static const char *const ov[] = {"warn", "error", NULL};
    return fl_yaml_get_enum(y, m, "overflow", ov, &f->overflow_error);
}

/* Points a validation problem at its YAML node, when the config set it. */
static fl_status yaml_problem(const fl_yaml *y, const fx_problem *p)
{
    char sec[48];
    snprintf(sec, sizeof sec, "%s", p->field);
    char *dot = strchr(sec, '.');
    const char *leaf = NULL;
    if (dot) {
        *dot = '\0';
        leaf = dot + 1;
    }
    const fl_yaml_node *n = fl_yaml_get(y, fl_yaml_root(y), sec);
    if (n && leaf && n->kind == FL_YAML_MAP) {
        const fl_yaml_node *c = fl_yaml_get(y, n, leaf);
        if (c) return fl_yaml_fail(y, c, "%s", p->msg);
    }
    if (n && !leaf) return fl_yaml_fail(y, n, "%s", p->msg);
    return fl_fail(FL_E_INPUT, "%s: %s: %s", fl_yaml_file(y), p->field, p->msg);
}

static fl_status read_all(const fl_yaml *y, fl_fx_format *f)
{
    const fl_yaml_node *root = fl_yaml_root(y);
    fl_status st = fl_yaml_check_known(y, root, ROOT_KEYS);
    if (st) return st;
    const char *name = NULL;
    if ((st = fl_yaml_get_str(y, root, "name", &name))) return st;
    if (name) snprintf(f->name, sizeof f->name, "%s", name);
    const fl_yaml_node *rn = fl_yaml_get(y, root, "rounding");
    if (rn && (rn->kind != FL_YAML_SCALAR || fl_fx_round_parse(rn->value, &f->round)))
        return fl_yaml_fail(y, rn, "expected one of truncate, half_up, half_even, got %s",
                            rn->kind == FL_YAML_SCALAR ? rn->value : "a collection");
    if ((st = read_q(y, "input", &f->input)) || (st = read_q(y, "bias", &f->bias)) ||
        (st = read_q(y, "gate", &f->gate)) || (st = read_q(y, "activation", &f->act)) ||
        (st = read_q(y, "state", &f->state)) || (st = read_q(y, "output", &f->output)))
        return st;
    if ((st = read_weights(y, f)) || (st = read_acc(y, f))) return st;
    const fl_yaml_node *m;
    if ((st = get_section(y, "multiplier", M_KEYS, &m))) return st;
    if (m && (st = fl_yaml_get_int(y, m, "bits", &f->mult_bits, -LOOSE, LOOSE))) return st;
    if ((st = read_act(y, "sigmoid", &f->sigmoid)) || (st = read_act(y, "tanh", &f->tanh))) return st;
    fx_problem p;
    return validate(f, &p) ? yaml_problem(y, &p) : FL_OK;
}

fl_status fl_fx_format_parse(const char *text, size_t len, const char *name, fl_fx_format *f)
{
    fl_yaml *y;
    fl_status st = fl_yaml_parse(text, len, name, &y);
    if (st) return st;
    fl_fx_format_default(f);
    st = read_all(y, f);
    fl_yaml_free(y);
    return st;
}

fl_status fl_fx_format_load(const char *path, fl_fx_format *f)
{
    fl_yaml *y;
    fl_status st = fl_yaml_load(path, &y);
    if (st) return st;
    fl_fx_format_default(f);
    st = read_all(y, f);
    fl_yaml_free(y);
    return st;
}
