/* cmd_score.c - `fligru score PRED.npy TRUTH.npy`: RMSE, R², L2, DTW and
 * lifetime errors of a prediction, as a table or one JSON object. */
#include "cli.h"
#include "fligru/io.h"
#include "fligru/lifetime.h"
#include "fligru/metrics.h"
#include "fligru/npy.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *HELP =
    "usage: fligru score PRED.npy TRUTH.npy [options]\n\n"
    "Scores a prediction against the truth, per sample over its sequence:\n"
    "  RMSE  pooled over all samples and steps (std: of the per-sample RMSE)\n"
    "  R2    1 - SS_res/SS_tot around the sample's own mean, then the mean\n"
    "  L2    Euclidean distance, mean      DTW  exact dynamic time warping, mean\n\n"
    "Shapes: [N,T], [N,T,C], [H,W,T], [H,W,T,C], [K,H,W,T,C]. With equal ranks >= 3\n"
    "the last axis is channels; an array one rank lower than the other has no\n"
    "channel axis (C = 1). All axes but the channel axis must agree.\n\n"
    "options:\n"
    "  --channel K         channel scored (default 0); must exist in both\n"
    "  --no-channel        neither array has a channel axis (e.g. two [H,W,T])\n"
    "  --dtw-band W        Sakoe-Chiba band: only cells with |i-j| <= W\n"
    "  --dtw-cost sq|abs   sq (default): sqrt of the summed squared differences\n"
    "                      (tslearn, dtaidistance; DTW <= L2); abs: sum of |d| (fastdtw)\n"
    "  --params P.npy      true [..., 3] = tau1, tau2 (ns), a; PRED must have 3\n"
    "                      channels (full, short, long): adds lifetime errors\n"
    "  --gate-width-ns G   gate width for lifetimes (default 0.09)\n"
    "  --tau-estimator E   exact (default), geometric or plain ((sum*dt)/x0, +dt/2 bias)\n"
    "  --json              print one JSON object instead of the table\n"
    "  --threads N         worker threads (results do not depend on it)\n";

typedef struct {
    const char   *pred_path, *truth_path, *params_path;
    size_t        channel;
    int           no_channel, json, threads;
    fl_dtw_params dtw;
    fl_lifetime_params life;
} score_opts;

/* How an array splits into samples x steps x channels. */
typedef struct {
    size_t n, t, c;
    int    time_axis;
} layout;

typedef struct {
    const score_opts  *o;
    const fl_npy      *pred, *truth;
    layout             lp, lt;
    fl_metrics         m;
    int                have_life;
    fl_lifetime_report life;
} score_result;

enum { O_CHANNEL = 256, O_NOCHAN, O_BAND, O_COST, O_PARAMS, O_GATE, O_EST, O_JSON, O_THREADS };

static int on_opt(void *ctx, int key, const char *arg)
{
    score_opts *o = ctx;
    long v;
    switch (key) {
    case O_CHANNEL:
        if (cli_parse_long(arg, 0, 1L << 30, &v)) return cli_usage_error("score", "--channel: '%s' is not a channel index", arg);
        o->channel = (size_t)v;
        return -1;
    case O_NOCHAN: o->no_channel = 1; return -1;
    case O_BAND:
        if (cli_parse_long(arg, 0, 1L << 30, &v)) return cli_usage_error("score", "--dtw-band: '%s' is not a width >= 0", arg);
        o->dtw.band = v;
        return -1;
    case O_COST:
        if ((v = fl_dtw_cost_parse(arg)) < 0) return cli_usage_error("score", "--dtw-cost: '%s' is not sq or abs", arg);
        o->dtw.cost = (fl_dtw_cost)v;
        return -1;
    case O_PARAMS: o->params_path = arg; return -1;
    case O_GATE:
        return cli_opt_gate_width("score", arg, &o->life.gate_ns);
    case O_EST:
        return cli_opt_tau_estimator("score", arg, &o->life.method);
    case O_JSON: o->json = 1; return -1;
    case O_THREADS:
        return cli_opt_threads("score", arg, &o->threads);
    default: return cli_usage_error("score", "unknown option");
    }
}

static int parse_args(int argc, char **argv, score_opts *o)
{
    static const struct option opts[] = {
        {"channel", required_argument, 0, O_CHANNEL}, {"no-channel", no_argument, 0, O_NOCHAN},
        {"dtw-band", required_argument, 0, O_BAND},   {"dtw-cost", required_argument, 0, O_COST},
        {"params", required_argument, 0, O_PARAMS},   {"gate-width-ns", required_argument, 0, O_GATE},
        {"tau-estimator", required_argument, 0, O_EST}, {"json", no_argument, 0, O_JSON},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const cli_spec spec = {"score", HELP, "h", opts, on_opt, 2, 2, "expected PRED.npy TRUTH.npy"};
    *o = (score_opts){.dtw = {.band = -1, .cost = FL_DTW_SQ},
                      .life = {.gate_ns = 0.09, .method = FL_TAU_EXACT}};
    int first, rc = cli_parse_args(&spec, argc, argv, o, &first);
    if (rc >= 0) return rc;
    o->pred_path = argv[first];
    o->truth_path = argv[first + 1];
    return -1;   /* go on */
}

static fl_status load_checked(const char *path, const char *what, fl_npy *a)
{
    fl_status st = fl_npy_load_f32(path, a);
    if (st) return st;
    if ((st = fl_npy_check_finite(a, path, what))) fl_npy_free(a);
    return st;
}

static void set_layout(const fl_npy *a, int has_channel, layout *l)
{
    l->time_axis = a->ndim - 1 - has_channel;
    l->t = a->shape[l->time_axis];
    l->c = has_channel ? a->shape[a->ndim - 1] : 1;
    l->n = 1;
    for (int d = 0; d < l->time_axis; ++d) l->n *= a->shape[d];
}

/* The shape rule (docs/metrics.md): equal ranks >= 3 both end in channels;
 * a rank one lower has none; --no-channel says neither has. Axes up to and
 * including time must agree. */
static fl_status resolve_shapes(const score_opts *o, const fl_npy *p, const fl_npy *y,
                                layout *lp, layout *ly)
{
    char sp[160], sy[160];
    fl_npy_shape_str(p, sp, sizeof sp);
    fl_npy_shape_str(y, sy, sizeof sy);
    int rp = p->ndim, ry = y->ndim, ok = rp >= 2 && ry >= 2;
    int cp = !o->no_channel && (rp > ry || (rp == ry && rp >= 3));
    int cy = !o->no_channel && (ry > rp || (rp == ry && ry >= 3));
    ok = ok && rp - cp == ry - cy;
    for (int d = 0; ok && d < rp - cp; ++d) ok = p->shape[d] == y->shape[d];
    if (!ok)
        return fl_fail(FL_E_INPUT, "%s: shape %s does not match %s %s (all axes but the "
                       "trailing channel axis must agree)", o->pred_path, sp, o->truth_path, sy);
    set_layout(p, cp, lp);
    set_layout(y, cy, ly);
    if (lp->n == 0 || lp->t == 0)
        return fl_fail(FL_E_INPUT, "%s: shape %s has no samples or no steps", o->pred_path, sp);
    if (o->channel >= lp->c || o->channel >= ly->c)
        return fl_fail(FL_E_INPUT, "channel %zu does not exist: %s %s has %zu, %s %s has %zu",
                       o->channel, o->pred_path, sp, lp->c, o->truth_path, sy, ly->c);
    return FL_OK;
}

/* Params must be the prediction's sample axes followed by 3. */
static fl_status check_params_shape(const score_opts *o, const fl_npy *pred, const layout *lp,
                                    const fl_npy *par)
{
    char sp[160], sq[160];
    fl_npy_shape_str(pred, sp, sizeof sp);
    fl_npy_shape_str(par, sq, sizeof sq);
    if (lp->c != 3)
        return fl_fail(FL_E_INPUT, "%s: --params needs a 3-channel prediction (full, short, "
                       "long); it has shape %s", o->pred_path, sp);
    int ok = par->ndim == lp->time_axis + 1 && par->shape[par->ndim - 1] == 3;
    for (int d = 0; ok && d < lp->time_axis; ++d) ok = par->shape[d] == pred->shape[d];
    if (!ok)
        return fl_fail(FL_E_INPUT, "%s: shape %s does not match %s %s (expected its sample "
                       "axes followed by 3: tau1, tau2, a)", o->params_path, sq, o->pred_path, sp);
    return FL_OK;
}

static fl_status run_lifetimes(const score_opts *o, score_result *r)
{
    fl_npy par;
    fl_status st = load_checked(o->params_path, "params", &par);
    if (st) return st;
    st = check_params_shape(o, r->pred, &r->lp, &par);
    if (!st)
        st = fl_lifetime_score(&o->life, fl_npy_f32(r->pred), r->lp.n, r->lp.t, r->lp.c,
                               fl_npy_f32(&par), &r->life);
    fl_npy_free(&par);
    r->have_life = st == FL_OK;
    return st;
}

/* ---- output ---------------------------------------------------------------- */

static void add_num(cJSON *obj, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(obj, key, v);
    else cJSON_AddNullToObject(obj, key);
}

static cJSON *shape_json(const fl_npy *a)
{
    cJSON *s = cJSON_CreateArray();
    for (int d = 0; d < a->ndim; ++d) cJSON_AddItemToArray(s, cJSON_CreateNumber((double)a->shape[d]));
    return s;
}

static cJSON *life_err_json(const fl_lifetime_err *e)
{
    cJSON *j = cJSON_CreateObject();
    add_num(j, "bias", e->bias);
    add_num(j, "mae", e->mae);
    add_num(j, "std", e->std);
    add_num(j, "mre", e->mre);
    cJSON_AddNumberToObject(j, "n", (double)e->n);
    cJSON_AddNumberToObject(j, "failures", (double)e->failures);
    cJSON_AddNumberToObject(j, "mre_n", (double)e->mre_n);
    return j;
}

static cJSON *lifetime_json(const score_opts *o, const fl_lifetime_report *l)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "params", o->params_path);
    cJSON_AddNumberToObject(j, "gate_width_ns", o->life.gate_ns);
    cJSON_AddStringToObject(j, "estimator", fl_tau_method_name(o->life.method));
    cJSON_AddNumberToObject(j, "n", (double)l->n);
    cJSON_AddItemToObject(j, "tau1", life_err_json(&l->tau1));
    cJSON_AddItemToObject(j, "tau2", life_err_json(&l->tau2));
    cJSON_AddItemToObject(j, "a", life_err_json(&l->a));
    cJSON_AddItemToObject(j, "tau_m", life_err_json(&l->tau_m));
    return j;
}

static int print_json(const score_result *r)
{
    const score_opts *o = r->o;
    const fl_metrics *m = &r->m;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "pred", o->pred_path);
    cJSON_AddStringToObject(j, "truth", o->truth_path);
    cJSON_AddItemToObject(j, "pred_shape", shape_json(r->pred));
    cJSON_AddItemToObject(j, "truth_shape", shape_json(r->truth));
    cJSON_AddNumberToObject(j, "n", (double)m->n);
    cJSON_AddNumberToObject(j, "t", (double)m->t);
    cJSON_AddNumberToObject(j, "channel", (double)o->channel);
    cJSON_AddNumberToObject(j, "pred_channels", (double)r->lp.c);
    cJSON_AddNumberToObject(j, "truth_channels", (double)r->lt.c);
    cJSON_AddStringToObject(j, "dtw_cost", fl_dtw_cost_name(o->dtw.cost));
    if (o->dtw.band >= 0) cJSON_AddNumberToObject(j, "dtw_band", (double)o->dtw.band);
    else cJSON_AddNullToObject(j, "dtw_band");
    add_num(j, "rmse", m->rmse);
    add_num(j, "rmse_std", m->rmse_sample.std);
    add_num(j, "rmse_sample_mean", m->rmse_sample.mean);
    add_num(j, "r2", m->r2.mean);
    add_num(j, "r2_std", m->r2.std);
    cJSON_AddNumberToObject(j, "r2_excluded", (double)m->r2_excluded);
    add_num(j, "l2", m->l2.mean);
    add_num(j, "l2_std", m->l2.std);
    add_num(j, "dtw", m->dtw.mean);
    add_num(j, "dtw_std", m->dtw.std);
    if (r->have_life) cJSON_AddItemToObject(j, "lifetime", lifetime_json(o, &r->life));
    else cJSON_AddNullToObject(j, "lifetime");
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s) {
        fprintf(stderr, "fligru: score: out of memory printing JSON\n");
        return 1;
    }
    puts(s);
    free(s);
    return 0;
}

static void print_life_row(const char *name, const fl_lifetime_err *e)
{
    printf("  %-9s %12.5g %12.5g %12.5g %12.5g %9zu %9zu\n", name, e->bias, e->mae, e->std, e->mre,
           e->n, e->failures);
}

static void print_table(const score_result *r)
{
    const score_opts *o = r->o;
    const fl_metrics *m = &r->m;
    char sp[160], sy[160], band[32] = "none";
    fl_npy_shape_str(r->pred, sp, sizeof sp);
    fl_npy_shape_str(r->truth, sy, sizeof sy);
    if (o->dtw.band >= 0) snprintf(band, sizeof band, "%ld", o->dtw.band);
    printf("pred   %s %s (%zu channels)\ntruth  %s %s (%zu channels)\n", o->pred_path, sp, r->lp.c,
           o->truth_path, sy, r->lt.c);
    printf("%zu samples x %zu steps, channel %zu; DTW cost %s, band %s\n\n", m->n, m->t,
           o->channel, fl_dtw_cost_name(o->dtw.cost), band);
    printf("  %-6s %12s %12s\n", "metric", "mean", "std");
    printf("  %-6s %12.6g %12.6g   pooled; per-sample RMSE mean %.6g\n", "RMSE", m->rmse,
           m->rmse_sample.std, m->rmse_sample.mean);
    printf("  %-6s %12.6g %12.6g", "R2", m->r2.mean, m->r2.std);
    if (m->r2_excluded) printf("   %zu samples with constant truth excluded", m->r2_excluded);
    printf("\n  %-6s %12.6g %12.6g\n", "L2", m->l2.mean, m->l2.std);
    printf("  %-6s %12.6g %12.6g\n", "DTW", m->dtw.mean, m->dtw.std);
    if (!r->have_life) return;
    printf("\nlifetimes from channels 1 (short) and 2 (long) vs %s: %s estimator, gate %g ns\n",
           o->params_path, fl_tau_method_name(o->life.method), o->life.gate_ns);
    printf("  %-9s %12s %12s %12s %12s %9s %9s\n", "quantity", "bias", "MAE", "std", "MRE", "n",
           "failures");
    print_life_row("tau1_ns", &r->life.tau1);
    print_life_row("tau2_ns", &r->life.tau2);
    print_life_row("a", &r->life.a);
    print_life_row("tau_m_ns", &r->life.tau_m);
}

/* ---- command --------------------------------------------------------------- */

static fl_status score(const score_opts *o, fl_npy *pred, fl_npy *truth, score_result *r)
{
    fl_status st = resolve_shapes(o, pred, truth, &r->lp, &r->lt);
    if (st) return st;
    fl_metrics_params mp = {.n = r->lp.n, .t = r->lp.t, .dtw = o->dtw};
    fl_series p = fl_series_channel(fl_npy_f32(pred), r->lp.t, r->lp.c, o->channel);
    fl_series y = fl_series_channel(fl_npy_f32(truth), r->lt.t, r->lt.c, o->channel);
    if ((st = fl_metrics_compute(&mp, p, y, &r->m))) return st;
    return o->params_path ? run_lifetimes(o, r) : FL_OK;
}

int cmd_score(int argc, char **argv)
{
    score_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    fl_set_threads(o.threads);
    fl_npy pred = {0}, truth = {0};
    score_result r = {.o = &o, .pred = &pred, .truth = &truth};
    fl_status st = load_checked(o.pred_path, "prediction", &pred);
    if (!st && (st = load_checked(o.truth_path, "truth", &truth))) fl_npy_free(&pred);
    if (st) return cli_fail(st);
    st = score(&o, &pred, &truth, &r);
    if (!st) rc = o.json ? print_json(&r) : (print_table(&r), 0);
    fl_npy_free(&pred);
    fl_npy_free(&truth);
    return st ? cli_fail(st) : rc;
}
