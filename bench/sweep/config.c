/* config.c - sweep configs: keys, axis values, grid expansion, constraints.
 * Everything that can be wrong with a config is found here, before any work. */
#include "sweep_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Resolves rel against the directory of the config file. */
const char *fl_sweep_scripts_dir(void)
{
    const char *env = getenv("FLIGRU_SCRIPTS_DIR");
    return env && *env ? env : FLIGRU_SCRIPTS_DIR;
}

static void resolve(const char *cfg, const char *rel, char *out, size_t n)
{
    if (rel[0] == '/' || !strchr(cfg, '/')) {
        snprintf(out, n, "%s", rel);
        return;
    }
    int dl = (int)(strrchr(cfg, '/') - cfg);
    snprintf(out, n, "%.*s/%s", dl, cfg, rel);
}

static fl_status get_path(const fl_yaml *y, const fl_yaml_node *m, const char *key, const char *cfg,
                          char *out, size_t n)
{
    const char *v = NULL;
    fl_status st = fl_yaml_get_str(y, m, key, &v);
    if (st == FL_OK && v) resolve(cfg, v, out, n);
    return st;
}

/* A path that must exist (checked before any work starts). */
static fl_status need_file(const fl_yaml *y, const fl_yaml_node *m, const char *key, const char *path)
{
    if (path[0] && access(path, R_OK) != 0) {
        const fl_yaml_node *n = m ? fl_yaml_get(y, m, key) : NULL;
        if (n) return fl_yaml_fail(y, n, "%s: no such file", path);
        return fl_fail(FL_E_INPUT, "%s: %s: default %s: no such file", fl_yaml_file(y), key, path);
    }
    return FL_OK;
}

static fl_status add_device(fl_sweep *s, const char *name, double *idx)
{
    for (size_t i = 0; i < s->n_devices; ++i)
        if (!strcmp(s->devices[i], name)) {
            *idx = (double)i;
            return FL_OK;
        }
    char **d = realloc(s->devices, (s->n_devices + 1) * sizeof *d);
    if (!d) return fl_fail(FL_E_NOMEM, "out of memory");
    s->devices = d;
    if (!(d[s->n_devices] = strdup(name))) return fl_fail(FL_E_NOMEM, "out of memory");
    *idx = (double)s->n_devices++;
    return FL_OK;
}

static int word(const char *v, const char *const *words, int n)
{
    for (int i = 0; i < n; ++i)
        if (!strcmp(v, words[i])) return i;
    return -1;
}

/* One value of an axis from a scalar node, range-checked. */
static fl_status axis_value(const fl_yaml *y, const fl_yaml_node *n, int a, fl_sweep *s, double *out)
{
    if (n->kind != FL_YAML_SCALAR) return fl_yaml_fail(y, n, "expected a value");
    const char *v = n->value;
    int64_t i;
    double d;
    fl_status st;
    switch (a) {
    case FL_AX_NETWORK: {
        static const char *const w[] = {"seq2seq", "seq2seqlite", "teacher", "student"};
        int k = word(v, w, 4);
        if (k < 0) return fl_yaml_fail(y, n, "'%s': expected seq2seq (or teacher) or seq2seqlite (or student)", v);
        *out = k & 1;
        return FL_OK;
    }
    case FL_AX_ACT: {
        static const char *const w[] = {"table", "hard"};
        int k = word(v, w, 2);
        if (k < 0) return fl_yaml_fail(y, n, "'%s': expected table (logistic sigmoid) or hard (hard sigmoid)", v);
        *out = k;
        return FL_OK;
    }
    case FL_AX_DATAFLOW: {
        static const char *const w[] = {"pixel_major", "gate_major"};
        int k = word(v, w, 2);
        if (k < 0) return fl_yaml_fail(y, n, "'%s': expected pixel_major or gate_major", v);
        *out = k;
        return FL_OK;
    }
    case FL_AX_KD:
    case FL_AX_QAT: {
        static const char *const w[] = {"false", "true", "0", "1", "off", "on", "no", "yes"};
        int k = word(v, w, 8);
        if (k < 0) return fl_yaml_fail(y, n, "'%s': expected true or false", v);
        *out = k & 1;
        return FL_OK;
    }
    case FL_AX_DEVICE: {
        int known = 0;
        if ((st = sweep_hw_device_known(s, v, &known))) return st;
        if (!known) return fl_yaml_fail(y, n, "'%s': no such device in %s", v, s->devices_path);
        return add_device(s, v, out);
    }
    case FL_AX_CLOCK_MHZ:
        if ((st = fl_yaml_as_f64(y, n, &d, 1.0, 2000.0))) return st;
        *out = d;
        return FL_OK;
    case FL_AX_GATE_WIDTH_NS:
        if ((st = fl_yaml_as_f64(y, n, &d, 0.001, 10.0))) return st;
        *out = d;
        return FL_OK;
    default: break;
    }
    /* integer axes */
    static const int64_t lo[FL_AX_COUNT] = {[FL_AX_ENC_HIDDEN] = 1, [FL_AX_DEC_HIDDEN] = 1, [FL_AX_OUTPUTS] = 1,
                                            [FL_AX_WEIGHT_BITS] = 0, [FL_AX_STATE_BITS] = 0, [FL_AX_ACC_BITS] = 0,
                                            [FL_AX_LANES] = 1, [FL_AX_ENGINES] = 1, [FL_AX_STEPS] = 2};
    static const int64_t hi[FL_AX_COUNT] = {[FL_AX_ENC_HIDDEN] = 512, [FL_AX_DEC_HIDDEN] = 512, [FL_AX_OUTPUTS] = 3,
                                            [FL_AX_WEIGHT_BITS] = 16, [FL_AX_STATE_BITS] = 32, [FL_AX_ACC_BITS] = 32,
                                            [FL_AX_LANES] = 4096, [FL_AX_ENGINES] = 1024, [FL_AX_STEPS] = 4096};
    if ((st = fl_yaml_as_i64(y, n, &i, lo[a], hi[a]))) return st;
    if (a == FL_AX_OUTPUTS && i == 2) return fl_yaml_fail(y, n, "2: outputs must be 1 or 3");
    if ((a == FL_AX_WEIGHT_BITS || a == FL_AX_STATE_BITS || a == FL_AX_ACC_BITS) && i == 1)
        return fl_yaml_fail(y, n, "1: a word needs at least 2 bits (0: float32)");
    *out = (double)i;
    return FL_OK;
}

/* ---- the grid ------------------------------------------------------------------ */

typedef struct {
    int    axis;              /* -1: "hidden" (sets both enc and dec)      */
    size_t n;
    double *v;
    int    *line;
} dim;

static fl_status push_point(fl_sweep *s, const fl_sweep_point *p, size_t *cap)
{
    if (s->n_points >= FL_SWEEP_MAX_POINTS)
        return fl_fail(FL_E_INPUT, "%s: grid: more than %d points", s->path, FL_SWEEP_MAX_POINTS);
    if (s->n_points == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        fl_sweep_point *np = realloc(s->points, nc * sizeof *np);
        if (!np) return fl_fail(FL_E_NOMEM, "out of memory");
        s->points = np;
        *cap = nc;
    }
    s->points[s->n_points++] = *p;
    return FL_OK;
}

static fl_status expand_block(const fl_yaml *y, const fl_yaml_node *blk, fl_sweep *s, const fl_sweep_point *base,
                              size_t *cap)
{
    if (blk->kind != FL_YAML_MAP) return fl_yaml_fail(y, blk, "expected a map of axis: value or [values]");
    if (blk->n == 0) return fl_yaml_fail(y, blk, "empty grid (no axis)");
    dim d[FL_AX_COUNT + 1];
    size_t nd = 0;
    fl_status st = FL_OK;
    int has_hidden = 0, has_ed = 0;
    for (size_t k = 0; k < blk->n && !st; ++k) {
        const char *key = blk->keys[k];
        const fl_yaml_node *v = blk->items[k];
        int a = !strcmp(key, "hidden") ? -1 : sweep_axis_of(key);
        if (a == -1 && strcmp(key, "hidden")) {
            char known[512] = "hidden";
            for (int j = 0; j < FL_AX_COUNT; ++j) snprintf(known + strlen(known), sizeof known - strlen(known), ", %s", fl_sweep_axis_name((fl_sweep_axis)j));
            st = fl_yaml_fail(y, v, "unknown axis (known: %s)", known);
            break;
        }
        if (a == -1) has_hidden = 1;
        if (a == FL_AX_ENC_HIDDEN || a == FL_AX_DEC_HIDDEN) has_ed = 1;
        if (has_hidden && has_ed) {
            st = fl_yaml_fail(y, v, "give hidden (E = D) or enc_hidden/dec_hidden, not both");
            break;
        }
        size_t n = v->kind == FL_YAML_SEQ ? v->n : 1;
        if (n == 0) {
            st = fl_yaml_fail(y, v, "empty list of values");
            break;
        }
        d[nd] = (dim){.axis = a, .n = n, .v = calloc(n, sizeof(double)), .line = calloc(n, sizeof(int))};
        if (!d[nd].v || !d[nd].line) st = fl_fail(FL_E_NOMEM, "out of memory");
        for (size_t j = 0; j < n && !st; ++j) {
            const fl_yaml_node *it = v->kind == FL_YAML_SEQ ? v->items[j] : v;
            st = axis_value(y, it, a < 0 ? FL_AX_ENC_HIDDEN : a, s, &d[nd].v[j]);
            d[nd].line[j] = it->line;
        }
        ++nd;
    }
    /* Cartesian product: the first axis varies slowest (the order a reader expects). */
    size_t idx[FL_AX_COUNT + 1] = {0};
    while (!st) {
        fl_sweep_point p = *base;
        for (size_t k = 0; k < nd; ++k) {
            int a = d[k].axis;
            if (a < 0) {
                p.v[FL_AX_ENC_HIDDEN] = p.v[FL_AX_DEC_HIDDEN] = d[k].v[idx[k]];
                p.line[FL_AX_ENC_HIDDEN] = p.line[FL_AX_DEC_HIDDEN] = d[k].line[idx[k]];
            } else {
                p.v[a] = d[k].v[idx[k]];
                p.line[a] = d[k].line[idx[k]];
            }
        }
        st = push_point(s, &p, cap);
        size_t k = nd;
        while (k > 0 && ++idx[k - 1] == d[k - 1].n) idx[--k] = 0;
        if (k == 0) break;
    }
    for (size_t k = 0; k < nd; ++k) {
        free(d[k].v);
        free(d[k].line);
    }
    return st;
}

/* Float points carry no widths: state and accumulator read 0, QAT is off. */
static void canonical(fl_sweep_point *p)
{
    if (p->v[FL_AX_WEIGHT_BITS] == 0) {
        p->v[FL_AX_STATE_BITS] = p->v[FL_AX_ACC_BITS] = 0;
        p->v[FL_AX_QAT] = 0;
    }
}

/* Cross-axis rules that need the whole point. */
static fl_status check_point(const fl_yaml *y, const fl_sweep *s, const fl_sweep_point *p)
{
    const char *f = fl_yaml_file(y);
#define AT(a) f, p->line[a], fl_sweep_axis_name(a)
    if (p->v[FL_AX_KD] && p->v[FL_AX_NETWORK] == 0)
        return fl_fail(FL_E_INPUT, "%s:%d: %s: a seq2seq (teacher) point is not distilled (kd: true needs network: seq2seqlite)", AT(FL_AX_KD));
    if (p->v[FL_AX_WEIGHT_BITS] > 0 && (p->v[FL_AX_STATE_BITS] == 0 || p->v[FL_AX_ACC_BITS] == 0))
        return fl_fail(FL_E_INPUT, "%s:%d: %s: 0 (float) only goes with weight_bits: 0", AT(p->v[FL_AX_STATE_BITS] == 0 ? FL_AX_STATE_BITS : FL_AX_ACC_BITS));
    if (p->v[FL_AX_WEIGHT_BITS] == 0 && p->v[FL_AX_ACT] == 1)
        return fl_fail(FL_E_INPUT, "%s:%d: %s: hard needs a fixed-point point (weight_bits > 0)", AT(FL_AX_ACT));
    fl_status st;
    if (p->v[FL_AX_WEIGHT_BITS] > 0) {
        fl_fx_format fx;
        if ((st = sweep_fx_format(s, p, &fx))) return st;
        char where[FL_SWEEP_PATH_MAX + 32];
        snprintf(where, sizeof where, "%s:%d: weight_bits/state_bits/acc_bits: ", f, p->line[FL_AX_STATE_BITS]);
        if ((st = fl_fx_format_check(&fx, where))) return st;
    }
    fl_synth_params sp;
    char msg[1024];
    for (int w = SWEEP_SET_TRAIN; w <= (s->mono_cfg[0] ? SWEEP_SET_MONO : SWEEP_SET_TEST); ++w)
        if ((st = sweep_synth_params(s, p, (sweep_set)w, &sp)) || (st = fl_synth_params_check(&sp))) {
            snprintf(msg, sizeof msg, "%s", fl_error());
            return fl_fail(FL_E_INPUT, "%s:%d: steps/gate_width_ns: %s", f, p->line[FL_AX_STEPS], msg);
        }
    if ((st = sweep_hw_check(s, p))) {
        snprintf(msg, sizeof msg, "%s", fl_error());
        return fl_fail(FL_E_INPUT, "%s:%d: %s", f, p->line[FL_AX_LANES], msg);
    }
#undef AT
    return FL_OK;
}

/* Top-level keys and the run's name. */
static fl_status parse_run(const fl_yaml *y, const fl_yaml_node *r, fl_sweep *s)
{
    const char *cfg = s->path;
    fl_status st;
    static const char *const top[] = {"run", "train", "format", "eval", "hardware", "plots", "base",
                                      "grid", "constraints", NULL};
    if ((st = fl_yaml_check_known(y, r, top))) return st;
    const char *name = NULL;
    if ((st = fl_yaml_get_str(y, r, "run", &name))) return st;
    if (!name) return fl_fail(FL_E_INPUT, "%s: run: missing (the run's name: results/<run>/)", cfg);
    if (!name[0] || strlen(name) >= sizeof s->name || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(name) || name[0] == '.')
        return fl_yaml_fail(y, fl_yaml_get(y, r, "run"), "'%s': letters, digits, - _ . only", name);
    snprintf(s->name, sizeof s->name, "%s", name);
    return FL_OK;
}

/* Defaults: the configs next to the sweep's file, the project's scripts. */
static void set_defaults(fl_sweep *s)
{
    const char *cfg = s->path;
    resolve(cfg, "train-teacher.yaml", s->teacher_cfg, sizeof s->teacher_cfg);
    resolve(cfg, "train-student.yaml", s->student_cfg, sizeof s->student_cfg);
    resolve(cfg, "distill-student.yaml", s->distill_cfg, sizeof s->distill_cfg);
    resolve(cfg, "synth-default.yaml", s->data_cfg, sizeof s->data_cfg);
    resolve(cfg, "synth-default.yaml", s->test_cfg, sizeof s->test_cfg);
    resolve(cfg, "synth-af700.yaml", s->mono_cfg, sizeof s->mono_cfg);
    resolve(cfg, "fx-default.yaml", s->fx_cfg, sizeof s->fx_cfg);
    resolve(cfg, "devices.yaml", s->devices_path, sizeof s->devices_path);
    /* the project's own scripts, found through the build (FLIGRU_SCRIPTS_DIR) */
    snprintf(s->plots[0], sizeof s->plots[0], "%s/plot-sweep.sh", fl_sweep_scripts_dir());
    snprintf(s->plots[1], sizeof s->plots[1], "%s/tables.sh", fl_sweep_scripts_dir());
    s->n_plots = 2;
    s->test_samples = 2000;
    s->mono_samples = 1000;
    s->test_seed = 1000001;
    s->dtw_band = -1;
}

/* train: the training configs and budgets; format: the base fixed-point format. */
static fl_status parse_train(const fl_yaml *y, const fl_yaml_node *r, fl_sweep *s)
{
    const char *cfg = s->path;
    const fl_yaml_node *m;
    fl_status st;
    if ((st = fl_yaml_get_map(y, r, "train", &m))) return st;
    if (m) {
        static const char *const k[] = {"data", "samples", "teacher", "student", "distill", "teacher_model",
                                        "epochs", "teacher_epochs", "batch", NULL};
        int64_t v;
        if ((st = fl_yaml_check_known(y, m, k)) || (st = get_path(y, m, "data", cfg, s->data_cfg, sizeof s->data_cfg)) ||
            (st = get_path(y, m, "teacher", cfg, s->teacher_cfg, sizeof s->teacher_cfg)) ||
            (st = get_path(y, m, "student", cfg, s->student_cfg, sizeof s->student_cfg)) ||
            (st = get_path(y, m, "distill", cfg, s->distill_cfg, sizeof s->distill_cfg)) ||
            (st = get_path(y, m, "teacher_model", cfg, s->teacher_model, sizeof s->teacher_model)) ||
            (st = fl_yaml_get_int(y, m, "epochs", &s->epochs, 0, 100000)) ||
            (st = fl_yaml_get_int(y, m, "teacher_epochs", &s->teacher_epochs, 0, 100000)))
            return st;
        v = 0;
        if ((st = fl_yaml_get_i64(y, m, "samples", &v, 0, 100000000))) return st;
        s->train_samples = (size_t)v;
        v = 0;
        if ((st = fl_yaml_get_i64(y, m, "batch", &v, 0, 1 << 20))) return st;
        s->batch = (size_t)v;
    }
    if ((st = get_path(y, r, "format", cfg, s->fx_cfg, sizeof s->fx_cfg))) return st;
    return FL_OK;
}

/* eval: the held-out and mono-exponential sets, DTW band. */
static fl_status parse_eval(const fl_yaml *y, const fl_yaml_node *r, fl_sweep *s)
{
    const char *cfg = s->path;
    const fl_yaml_node *m;
    fl_status st;
    if ((st = fl_yaml_get_map(y, r, "eval", &m))) return st;
    if (m) {
        static const char *const k[] = {"test", "test_samples", "seed", "mono", "mono_samples", "dtw_band", NULL};
        int64_t v;
        if ((st = fl_yaml_check_known(y, m, k)) || (st = get_path(y, m, "test", cfg, s->test_cfg, sizeof s->test_cfg)))
            return st;
        const fl_yaml_node *mn = fl_yaml_get(y, m, "mono");
        if (mn && mn->kind == FL_YAML_SCALAR && (!strcmp(mn->value, "none") || !strcmp(mn->value, "")))
            s->mono_cfg[0] = 0;
        else if ((st = get_path(y, m, "mono", cfg, s->mono_cfg, sizeof s->mono_cfg))) return st;
        v = (int64_t)s->test_samples;
        if ((st = fl_yaml_get_i64(y, m, "test_samples", &v, 1, 100000000))) return st;
        s->test_samples = (size_t)v;
        v = (int64_t)s->mono_samples;
        if ((st = fl_yaml_get_i64(y, m, "mono_samples", &v, 1, 100000000))) return st;
        s->mono_samples = (size_t)v;
        v = (int64_t)s->test_seed;
        if ((st = fl_yaml_get_i64(y, m, "seed", &v, 0, INT64_MAX))) return st;
        s->test_seed = (uint64_t)v;
        v = s->dtw_band;
        if ((st = fl_yaml_get_i64(y, m, "dtw_band", &v, -1, 100000))) return st;
        s->dtw_band = (long)v;
    }
    return FL_OK;
}

/* hardware: the device catalog; plots: the scripts run at the end. */
static fl_status parse_hardware_plots(const fl_yaml *y, const fl_yaml_node *r, fl_sweep *s)
{
    const char *cfg = s->path;
    const fl_yaml_node *m;
    fl_status st;
    if ((st = fl_yaml_get_map(y, r, "hardware", &m))) return st;
    if (m) {
        static const char *const k[] = {"devices", NULL};
        if ((st = fl_yaml_check_known(y, m, k)) ||
            (st = get_path(y, m, "devices", cfg, s->devices_path, sizeof s->devices_path)))
            return st;
    }
    const fl_yaml_node *pn = fl_yaml_get(y, r, "plots");
    if (pn && pn->kind == FL_YAML_SCALAR) {
        s->n_plots = strcmp(pn->value, "none") && pn->value[0];
        if (s->n_plots) resolve(cfg, pn->value, s->plots[0], sizeof s->plots[0]);
    } else if (pn && pn->kind == FL_YAML_SEQ) {
        if (pn->n > 4) return fl_yaml_fail(y, pn, "at most 4 scripts");
        s->n_plots = (int)pn->n;
        for (size_t i = 0; i < pn->n; ++i) {
            if (pn->items[i]->kind != FL_YAML_SCALAR) return fl_yaml_fail(y, pn->items[i], "expected a script path");
            resolve(cfg, pn->items[i]->value, s->plots[i], sizeof s->plots[i]);
        }
    } else if (pn) return fl_yaml_fail(y, pn, "expected a script path, a list of them, or none");

    return FL_OK;
}

/* Every file the run names exists; the base configs and the device catalog
 * are parsed, once, for every point (design.c, hw.c). */
static fl_status load_base_files(const fl_yaml *y, const fl_yaml_node *r, fl_sweep *s)
{
    fl_status st;
    const fl_yaml_node *tm = fl_yaml_get(y, r, "train");
    if ((st = need_file(y, tm, "teacher", s->teacher_cfg)) || (st = need_file(y, tm, "student", s->student_cfg)) ||
        (st = need_file(y, tm, "distill", s->distill_cfg)) || (st = need_file(y, tm, "data", s->data_cfg)) ||
        (st = need_file(y, r, "format", s->fx_cfg)) ||
        (st = need_file(y, fl_yaml_get(y, r, "eval"), "test", s->test_cfg)) ||
        (st = need_file(y, fl_yaml_get(y, r, "eval"), "mono", s->mono_cfg)) ||
        (st = need_file(y, fl_yaml_get(y, r, "hardware"), "devices", s->devices_path)))
        return st;
    if ((st = sweep_base_load(s))) return st;
    return sweep_hw_catalog_load(s);
}

/* base: the values of the axes a grid block does not set. */
static fl_status parse_base_point(const fl_yaml *y, const fl_yaml_node *r, fl_sweep *s, fl_sweep_point *base)
{
    const fl_yaml_node *m;
    fl_status st;
    /* base point */
    memset(base, 0, sizeof *base);
    base->v[FL_AX_NETWORK] = 1;
    base->v[FL_AX_ENC_HIDDEN] = base->v[FL_AX_DEC_HIDDEN] = 32;
    base->v[FL_AX_OUTPUTS] = 3;
    base->v[FL_AX_WEIGHT_BITS] = 8;
    base->v[FL_AX_STATE_BITS] = 24;
    base->v[FL_AX_ACC_BITS] = 32;
    base->v[FL_AX_LANES] = 16;
    base->v[FL_AX_ENGINES] = 1;
    base->v[FL_AX_CLOCK_MHZ] = 200;
    base->v[FL_AX_STEPS] = 135;
    base->v[FL_AX_GATE_WIDTH_NS] = 0.09;
    base->v[FL_AX_DEVICE] = -1;
    for (int a = 0; a < FL_AX_COUNT; ++a) base->line[a] = r->line;
    if ((st = fl_yaml_get_map(y, r, "base", &m))) return st;
    if (m) {
        for (size_t k = 0; k < m->n; ++k) {
            const char *key = m->keys[k];
            int a = !strcmp(key, "hidden") ? FL_AX_ENC_HIDDEN : sweep_axis_of(key);
            if (a < 0) return fl_yaml_fail(y, m->items[k], "unknown axis");
            if ((st = axis_value(y, m->items[k], a, s, &base->v[a]))) return st;
            base->line[a] = m->items[k]->line;
            if (!strcmp(key, "hidden")) {
                base->v[FL_AX_DEC_HIDDEN] = base->v[FL_AX_ENC_HIDDEN];
                base->line[FL_AX_DEC_HIDDEN] = base->line[FL_AX_ENC_HIDDEN];
            }
        }
    }
    return FL_OK;
}

/* grid: one block or a list of them, each a Cartesian product. */
static fl_status parse_grid(const fl_yaml *y, const fl_yaml_node *r, fl_sweep *s, const fl_sweep_point *base)
{
    const char *cfg = s->path;
    fl_status st;
    const fl_yaml_node *g = fl_yaml_get(y, r, "grid");
    if (!g) return fl_fail(FL_E_INPUT, "%s: grid: missing (a map of axes, or a list of such maps)", cfg);
    size_t cap = 0;
    if (g->kind == FL_YAML_SEQ) {
        if (g->n == 0) return fl_yaml_fail(y, g, "empty grid");
        for (size_t i = 0; i < g->n; ++i)
            if ((st = expand_block(y, g->items[i], s, base, &cap))) return st;
    } else if ((st = expand_block(y, g, s, base, &cap))) return st;
    if (s->n_devices == 0) return fl_fail(FL_E_INPUT, "%s: device: no device given (base: {device: NAME} or a grid axis)", cfg);
    for (size_t i = 0; i < s->n_points; ++i)
        if (s->points[i].v[FL_AX_DEVICE] < 0)
            return fl_fail(FL_E_INPUT, "%s: device: point %zu has no device (set it in base:)", cfg, i);
    s->n_before_constraints = s->n_points;

    return FL_OK;
}

/* constraints: every point must satisfy every expression. */
static fl_status apply_constraints(const fl_yaml *y, const fl_yaml_node *r, fl_sweep *s)
{
    fl_status st;
    const fl_yaml_node *cs;
    if ((st = fl_yaml_get_seq(y, r, "constraints", &cs))) return st;
    size_t kept = 0;
    for (size_t i = 0; i < s->n_points; ++i) {
        fl_sweep_point *p = &s->points[i];
        int keep = 1;
        for (size_t c = 0; cs && c < cs->n; ++c) {
            const fl_yaml_node *cn = cs->items[c];
            if (cn->kind != FL_YAML_SCALAR) return fl_yaml_fail(y, cn, "expected an expression, e.g. \"lanes <= 3*H\"");
            double v;
            if ((st = sweep_expr_eval(y, cn, cn->value, s, p, &v))) return st;
            if (v == 0.0) keep = 0;
        }
        if (keep) s->points[kept++] = *p;
    }
    s->n_points = kept;
    if (kept == 0)
        return cs ? fl_yaml_fail(y, cs, "the constraints leave no point of the %zu in the grid", s->n_before_constraints)
                  : fl_yaml_fail(y, fl_yaml_get(y, r, "grid"), "empty grid");
    return FL_OK;
}

/* Canonical form, cross-axis checks and ids; duplicates (the same id) dropped. */
static fl_status finish_points(const fl_yaml *y, fl_sweep *s)
{
    fl_status st;
    size_t kept = 0;
    for (size_t i = 0; i < s->n_points; ++i) {
        fl_sweep_point *p = &s->points[i];
        canonical(p);
        if ((st = check_point(y, s, p)) || (st = sweep_point_ids(s, p))) return st;
        int dup = 0;
        for (size_t j = 0; j < kept && !dup; ++j) dup = !strcmp(s->points[j].id, p->id);
        if (!dup) s->points[kept++] = *p;
    }
    s->n_points = kept;
    return FL_OK;
}

static fl_status parse(const fl_yaml *y, fl_sweep *s)
{
    const fl_yaml_node *r = fl_yaml_root(y);
    fl_sweep_point base;
    fl_status st;
    if ((st = parse_run(y, r, s))) return st;
    set_defaults(s);
    if ((st = parse_train(y, r, s)) || (st = parse_eval(y, r, s)) || (st = parse_hardware_plots(y, r, s)) ||
        (st = load_base_files(y, r, s)) || (st = parse_base_point(y, r, s, &base)) ||
        (st = parse_grid(y, r, s, &base)) || (st = apply_constraints(y, r, s)))
        return st;
    return finish_points(y, s);
}

fl_status fl_sweep_load(const char *path, fl_sweep **out)
{
    *out = NULL;
    fl_sweep *s = calloc(1, sizeof *s);
    if (!s) return fl_fail(FL_E_NOMEM, "out of memory");
    snprintf(s->path, sizeof s->path, "%s", path);
    fl_yaml *y;
    fl_status st = fl_yaml_load(path, &y);
    if (!st) {
        st = parse(y, s);
        fl_yaml_free(y);
    }
    if (st) {
        fl_sweep_free(s);
        return st;
    }
    *out = s;
    return FL_OK;
}

void fl_sweep_free(fl_sweep *s)
{
    if (!s) return;
    sweep_hw_catalog_free(s);
    sweep_base_free(s);
    for (size_t i = 0; i < s->n_devices; ++i) free(s->devices[i]);
    free(s->devices);
    free(s->points);
    free(s);
}
