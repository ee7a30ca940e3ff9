/* eval.c - one design point: cached data and training, the bit-exact fixed-point
 * forward on the held-out and mono-exponential sets, metrics, hardware columns,
 * and the point's result file (written atomically, last). */
#include "sweep_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fligru/io.h"
#include "fligru/lifetime.h"
#include "fligru/metrics.h"
#include "fligru/model_io.h"


/* An exclusive lock on path (created), held until unlock: one process trains a
 * model or writes a data set while the others wait, then find it cached. The
 * kernel drops the lock when the holder dies, even by SIGKILL. */
static fl_status lock_file(const char *path, int *fd)
{
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) return fl_fail(FL_E_IO, "%s: cannot open lock: %s", path, strerror(errno));
    while (flock(*fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            close(*fd);
            return fl_fail(FL_E_IO, "%s: cannot lock: %s", path, strerror(errno));
        }
    return FL_OK;
}

static void unlock_file(int fd)
{
    flock(fd, LOCK_UN);
    close(fd);
}

static fl_status write_text(const char *path, const char *text)
{
    fl_atomic f;
    fl_status st = fl_atomic_open(&f, path);
    if (st) return st;
    fputs(text, f.fp);
    return fl_atomic_commit(&f);
}

/* Reads a whole small file; NULL when absent. */
static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t k;
    while (b && (k = fread(b + n, 1, cap - n - 1, fp)) > 0) {
        n += k;
        if (n + 1 == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    fclose(fp);
    if (b) b[n] = 0;
    return b;
}

/* The key file next to a cached artefact names what it holds; a different key
 * under the same hash is a collision, refused rather than silently reused. */
static fl_status check_key(const char *key_path, const char *key)
{
    char *old = read_text(key_path);
    if (!old) return write_text(key_path, key);
    int same = !strcmp(old, key);
    free(old);
    return same ? FL_OK : fl_fail(FL_E_INTERNAL, "%s: hash collision: another model has this hash", key_path);
}

/* cache/data/<hash>/: the training set of a point. */
static fl_status ensure_data(const fl_sweep_opts *o, const fl_synth_params *sp, char *dir, size_t n)
{
    char *key = sweep_synth_key(sp), h[17], path[FL_SWEEP_PATH_MAX + 256];
    if (!key) return fl_fail(FL_E_NOMEM, "out of memory");
    fl_sweep_hash(key, h);
    snprintf(dir, n, "%s/data/%s", o->cache, h);
    snprintf(path, sizeof path, "%s/data", o->cache);
    fl_status st = fl_mkdir_p(path);
    int fd = -1;
    if (!st) {
        snprintf(path, sizeof path, "%s.lock", dir);
        st = lock_file(path, &fd);
    }
    if (!st) {
        snprintf(path, sizeof path, "%s.key", dir);
        st = check_key(path, key);
    }
    snprintf(path, sizeof path, "%s/complete", dir);
    if (!st && !sweep_exists(path)) {
        st = fl_synth_write_dir(sp, dir);
        if (!st) st = write_text(path, key);
    }
    if (fd >= 0) unlock_file(fd);
    free(key);
    return st;
}

/* cache/models/<id>.safetensors: trains it (resuming a checkpoint a killed run
 * left) unless it is there. *seconds: wall time when trained here, else 0. */
static fl_status ensure_model(const fl_sweep *s, const fl_sweep_opts *o, const fl_sweep_point *p, int is_teacher,
                              const char *data_dir, const char *teacher_path, char *model, size_t n, double *seconds)
{
    fl_train_config c;
    fl_synth_params sp;
    int distill;
    fl_status st;
    *seconds = 0;
    if ((st = sweep_train_config(s, p, is_teacher, &c, &distill)) || (st = sweep_synth_params(s, p, SWEEP_SET_TRAIN, &sp))) return st;
    const char *id = is_teacher ? p->teacher_id : p->model_id;
    char tkey[64] = "", path[FL_SWEEP_PATH_MAX + 64];
    if (distill) {
        if (p->teacher_id[0]) snprintf(tkey, sizeof tkey, "model:%s", p->teacher_id);
        else {
            uint64_t hh = 0;
            if ((st = fl_fx_file_hash(teacher_path, &hh))) return st;
            snprintf(tkey, sizeof tkey, "file:%016llx", (unsigned long long)hh);
        }
    }
    char *key = sweep_model_key(&c, distill, &sp, tkey), check[17];
    if (!key) return fl_fail(FL_E_NOMEM, "out of memory");
    fl_sweep_hash(key, check);
    if (strcmp(check, id)) {
        free(key);
        return fl_fail(FL_E_INTERNAL, "model %s: its key changed since the sweep was loaded (config edited?)", id);
    }
    snprintf(path, sizeof path, "%s/models", o->cache);
    if ((st = fl_mkdir_p(path))) {
        free(key);
        return st;
    }
    snprintf(model, n, "%s/models/%s.safetensors", o->cache, id);
    int fd = -1;
    snprintf(path, sizeof path, "%s/models/%s.lock", o->cache, id);
    if (!(st = lock_file(path, &fd))) {
        snprintf(path, sizeof path, "%s/models/%s.key", o->cache, id);
        st = check_key(path, key);
    }
    if (!st && !sweep_exists(model)) {
        snprintf(c.train_dirs[0], sizeof c.train_dirs[0], "%s", data_dir);
        c.n_train_dirs = 1;
        c.val_dir[0] = 0;
        snprintf(c.curve, sizeof c.curve, "%s/models/%s.curve.csv", o->cache, id);
        snprintf(c.checkpoint, sizeof c.checkpoint, "%s/models/%s.ckpt.safetensors", o->cache, id);
        c.checkpoint_every = 1;
        char cmd[256];
        snprintf(cmd, sizeof cmd, "fligru sweep %s (model %s)", s->name, id);
        fl_train_opts to = {.config_path = is_teacher || fl_sweep_int(p, FL_AX_NETWORK) == 0 ? s->teacher_cfg
                                           : distill ? s->distill_cfg : s->student_cfg,
                            .cfg = &c, .output = model, .teacher = distill ? teacher_path : NULL,
                            .resume = sweep_exists(c.checkpoint) ? c.checkpoint : NULL, .command = cmd,
                            .progress = FL_PROGRESS_LINES};
        fprintf(stderr, "sweep: training %s model %s%s\n", distill ? "a distilled" : is_teacher ? "the teacher" : "a",
                id, to.resume ? " (resuming its checkpoint)" : "");
        fl_train_result r;
        double t0 = sweep_now_s();
        st = fl_train_run(&to, &r);
        *seconds = sweep_now_s() - t0;
    }
    if (fd >= 0) unlock_file(fd);
    free(key);
    return st;
}

typedef struct {
    fl_metrics m;
    double tau_err;      /* NaN: none */
    int    have;
} acc_result;

/* Forward pass of the point's network: the float model (weight_bits 0) or its
 * bit-exact fixed-point twin. */
static fl_status predict(const fl_s2s *m, const fl_fx_model *q, const float *x, size_t n, int T, float *y)
{
    return q ? fl_fx_predict(q, x, n, T, y) : fl_s2s_forward(m, x, n, T, y);
}

static fl_status score_set(const fl_sweep *s, const fl_sweep_point *p, sweep_set which, const fl_s2s *m,
                           const fl_fx_model *q, acc_result *r)
{
    fl_synth_params sp;
    fl_synth *syn = NULL;
    fl_status st;
    r->have = 0;
    r->tau_err = NAN;
    if ((st = sweep_synth_params(s, p, which, &sp)) || (st = fl_synth_create(&sp, &syn))) return st;
    const size_t n = fl_synth_count(syn), T = (size_t)sp.gates, C = (size_t)sp.channels;
    float *x = malloc(n * T * sizeof *x), *t = malloc(n * T * C * sizeof *t), *y = malloc(n * T * C * sizeof *y);
    float *par = malloc(n * 3 * sizeof *par);
    if (!x || !t || !y || !par) st = fl_fail(FL_E_NOMEM, "out of memory");
    if (!st) st = fl_synth_generate(syn, 0, n, x, t, par, NULL);
    if (!st) st = predict(m, q, x, n, (int)T, y);
    if (!st) {
        fl_metrics_params mp = {.n = n, .t = T, .dtw = {.band = s->dtw_band, .cost = FL_DTW_SQ}};
        st = fl_metrics_compute(&mp, fl_series_channel(y, T, C, 0), fl_series_channel(t, T, C, 0), &r->m);
    }
    fl_lifetime_params lp = {.gate_ns = sp.gate_width_ns, .method = FL_TAU_EXACT};
    if (!st && which == SWEEP_SET_TEST && C == 3) {
        fl_lifetime_report lr;
        st = fl_lifetime_score(&lp, y, n, T, C, par, &lr);
        if (!st && lr.tau_m.n) r->tau_err = lr.tau_m.mae;
    }
    if (!st && which == SWEEP_SET_MONO) {
        /* mono-exponential: the lifetime of the full decay (channel 0) */
        double sum = 0;
        size_t used = 0;
        for (size_t i = 0; i < n; ++i) {
            double tau = fl_lifetime_tau(&lp, y + i * T * C, T, C);
            if (isfinite(tau)) {
                sum += fabs(tau - par[i * 3]);
                ++used;
            }
        }
        if (used) r->tau_err = sum / (double)used;
    }
    r->have = !st;
    free(x);
    free(t);
    free(y);
    free(par);
    fl_synth_free(syn);
    return st;
}

/* %.6g, or an empty field for a value that does not exist. */
static void real(char *b, size_t n, double v, int have)
{
    size_t l = strlen(b);
    if (have && isfinite(v)) snprintf(b + l, n - l, ",%.6g", v);
    else snprintf(b + l, n - l, ",");
}

static void integer(char *b, size_t n, long long v, int have)
{
    size_t l = strlen(b);
    if (have) snprintf(b + l, n - l, ",%lld", v);
    else snprintf(b + l, n - l, ",");
}

/* Columns 21..48 (rmse .. rtl_supported), without the leading comma. The
 * training time is a wall-clock figure: it goes to the point's JSON only, so that
 * results.csv depends on the config alone. */
static void result_columns(const acc_result *t, const acc_result *a, const sweep_hw *h, char *b,
                           size_t n)
{
    b[0] = 0;
    real(b, n, t->m.rmse, t->have);
    real(b, n, t->m.rmse_sample.std, t->have);
    real(b, n, t->m.r2.mean, t->have);
    real(b, n, t->m.r2.std, t->have);
    real(b, n, t->m.l2.mean, t->have);
    real(b, n, t->m.l2.std, t->have);
    real(b, n, t->m.dtw.mean, t->have);
    real(b, n, t->m.dtw.std, t->have);
    real(b, n, t->tau_err, t->have);
    real(b, n, a->m.rmse, a->have);
    real(b, n, a->m.r2.mean, a->have);
    real(b, n, a->tau_err, a->have);
    const int ht = h->have >= SWEEP_HW_TIMING, hr = h->have == SWEEP_HW_ALL;
    real(b, n, h->cycles_per_pixel, ht);
    integer(b, n, h->latency_cycles, ht);
    real(b, n, h->latency_us, ht);
    real(b, n, h->pixels_per_s, ht);
    real(b, n, h->frames_per_s, ht);
    integer(b, n, h->lut, hr);
    integer(b, n, h->ff, hr);
    integer(b, n, h->dsp, hr);
    integer(b, n, h->bram18, hr);
    integer(b, n, h->lutram, hr);
    integer(b, n, h->fits, hr);
    real(b, n, h->util_max_pct, hr);
    integer(b, n, h->buffer_bytes, hr);
    real(b, n, h->offchip_gbs, hr);
    integer(b, n, h->mem_ok, hr);
    integer(b, n, h->rtl_supported, ht);
    memmove(b, b + 1, strlen(b));   /* drop the leading comma */
}

static void add_metrics(cJSON *o, const char *name, const acc_result *r)
{
    if (!r->have) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    cJSON *m = cJSON_AddObjectToObject(o, name);
    cJSON_AddNumberToObject(m, "n", (double)r->m.n);
    cJSON_AddNumberToObject(m, "rmse", r->m.rmse);
    cJSON_AddNumberToObject(m, "rmse_std", r->m.rmse_sample.std);
    cJSON_AddNumberToObject(m, "r2", r->m.r2.mean);
    cJSON_AddNumberToObject(m, "r2_std", r->m.r2.std);
    cJSON_AddNumberToObject(m, "l2", r->m.l2.mean);
    cJSON_AddNumberToObject(m, "l2_std", r->m.l2.std);
    cJSON_AddNumberToObject(m, "dtw", r->m.dtw.mean);
    cJSON_AddNumberToObject(m, "dtw_std", r->m.dtw.std);
    if (isfinite(r->tau_err)) cJSON_AddNumberToObject(m, "tau_err_ns", r->tau_err);
    else cJSON_AddNullToObject(m, "tau_err_ns");
}

static fl_status write_json(const char *path, cJSON *o)
{
    char *txt = cJSON_Print(o);
    if (!txt) return fl_fail(FL_E_NOMEM, "out of memory");
    size_t l = strlen(txt);
    char *t2 = realloc(txt, l + 2);
    if (!t2) {
        free(txt);
        return fl_fail(FL_E_NOMEM, "out of memory");
    }
    t2[l] = '\n';
    t2[l + 1] = 0;
    fl_status st = write_text(path, t2);
    free(t2);
    return st;
}

/* What evaluating one point produced (a failed point keeps what it got). */
typedef struct {
    char         teacher[FL_SWEEP_PATH_MAX + 64];
    double       train_s, teacher_s;
    acc_result   test, mono;
    sweep_hw     hw;
    fl_s2s       m;
    int          have_model, have_q;
    fl_fx_model  q;
    fl_fx_report rep;
} point_eval;

/* Data, teacher (KD), model, quantised model and the scores on the test sets. */
static fl_status evaluate(const fl_sweep *s, const fl_sweep_opts *o, const fl_sweep_point *p, point_eval *e)
{
    char data[FL_SWEEP_PATH_MAX + 64], model[FL_SWEEP_PATH_MAX + 64];
    fl_synth_params sp;
    fl_status st = sweep_synth_params(s, p, SWEEP_SET_TRAIN, &sp);
    if (!st) st = ensure_data(o, &sp, data, sizeof data);
    if (!st && fl_sweep_int(p, FL_AX_KD)) {
        if (p->teacher_id[0]) st = ensure_model(s, o, p, 1, data, NULL, e->teacher, sizeof e->teacher, &e->teacher_s);
        else snprintf(e->teacher, sizeof e->teacher, "%s", s->teacher_model);
    }
    if (!st) st = ensure_model(s, o, p, 0, data, e->teacher, model, sizeof model, &e->train_s);
    if (!st && !(st = fl_model_load(model, &e->m, NULL))) e->have_model = 1;
    if (!st && p->v[FL_AX_WEIGHT_BITS] > 0) {
        fl_fx_format f;
        if (!(st = sweep_fx_format(s, p, &f)) && !(st = fl_fx_quantize(&e->m, &f, &e->q, &e->rep))) e->have_q = 1;
    }
    if (!st) st = score_set(s, p, SWEEP_SET_TEST, &e->m, e->have_q ? &e->q : NULL, &e->test);
    if (!st && s->mono_cfg[0]) st = score_set(s, p, SWEEP_SET_MONO, &e->m, e->have_q ? &e->q : NULL, &e->mono);
    return st;
}

/* The point's JSON: ids, its row's columns, format, metrics. */
static cJSON *point_json(const fl_sweep *s, const fl_sweep_point *p, size_t k, const point_eval *e)
{
    char cols[2048];
    result_columns(&e->test, &e->mono, &e->hw, cols, sizeof cols);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", p->id);
    cJSON_AddStringToObject(j, "model_id", p->model_id);
    if (p->teacher_id[0]) cJSON_AddStringToObject(j, "teacher_id", p->teacher_id);
    else if (e->teacher[0]) cJSON_AddStringToObject(j, "teacher", e->teacher);
    cJSON_AddStringToObject(j, "run", s->name);
    const char *tok = getenv("FLIGRU_SWEEP_TOKEN");
    cJSON_AddStringToObject(j, "invocation", tok ? tok : "");
    char prefix[1024];
    sweep_row_prefix(s, p, k, prefix, sizeof prefix);
    cJSON_AddStringToObject(j, "axes", prefix);
    cJSON_AddStringToObject(j, "columns", cols);
    if (e->have_q) {
        char fs[512];
        fl_fx_format_str(&e->q.fmt, fs, sizeof fs);
        cJSON_AddStringToObject(j, "format", fs);
        cJSON_AddNumberToObject(j, "acc_bits_needed", e->rep.acc_bits_needed);
        cJSON_AddNumberToObject(j, "acc_overflow_rows", e->rep.overflow_rows);
    }
    if (e->have_model) cJSON_AddNumberToObject(j, "parameters", (double)e->m.n_params);
    add_metrics(j, "test", &e->test);
    add_metrics(j, "af700", &e->mono);
    cJSON_AddNumberToObject(j, "train_seconds", e->train_s + e->teacher_s);
    return j;
}

/* points/<id>.json when the point succeeded (its .failed.json removed), else
 * points/<id>.failed.json, keeping st's message. */
static fl_status write_result(const char *out, const char *failed, cJSON *j, fl_status st)
{
    if (st) {
        cJSON_AddStringToObject(j, "status", "failed");
        cJSON_AddStringToObject(j, "error", fl_error());
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", fl_error());
        fl_status wst = write_json(failed, j);
        (void)wst;
        return fl_fail(st, "%s", msg);
    }
    cJSON_AddStringToObject(j, "status", "ok");
    st = write_json(out, j);
    if (!st) unlink(failed);
    return st;
}

fl_status fl_sweep_run_point(const fl_sweep *s, const fl_sweep_opts *o, const char *run_dir, size_t k)
{
    if (k >= s->n_points) return fl_fail(FL_E_INPUT, "--point %zu: the grid has %zu points", k, s->n_points);
    const fl_sweep_point *p = &s->points[k];
    char out[FL_SWEEP_PATH_MAX + 256], failed[FL_SWEEP_PATH_MAX + 256], dir[FL_SWEEP_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/points", run_dir);
    snprintf(out, sizeof out, "%s/%s.json", dir, p->id);
    snprintf(failed, sizeof failed, "%s/%s.failed.json", dir, p->id);
    if (sweep_exists(out)) return FL_OK;
    fl_status st = fl_mkdir_p(dir);
    if (st) return st;
    if (o->threads > 0) fl_set_threads(o->threads);

    point_eval e;
    memset(&e, 0, sizeof e);
    /* the hardware columns come first: they also go into a failed point's row */
    fl_status hst = sweep_hw_eval(s, p, &e.hw);
    if (hst) {
        fprintf(stderr, "sweep: point %zu: hardware model: %s\n", k, fl_error());
        memset(&e.hw, 0, sizeof e.hw);
    }
    st = evaluate(s, o, p, &e);
    if (!st && hst) st = hst;
    cJSON *j = point_json(s, p, k, &e);
    st = write_result(out, failed, j, st);
    cJSON_Delete(j);
    if (e.have_q) fl_fx_model_free(&e.q);
    if (e.have_model) fl_s2s_free(&e.m);
    return st;
}
