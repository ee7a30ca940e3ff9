/* cosim_ondemand.c - `fligru cosim --model Q --lanes P --engines E`: the
 * three-way co-simulation of any quantised model the RTL can run, without a
 * pre-built configuration. The Verilated RTL for the model's format and the
 * hardware parameters is built on first use (systemc/ondemand/, linking this
 * build's libraries) into a cache keyed by a hash of the parameters; later runs
 * reuse it (ninja relinks what changed since). Then the model's vectors on real
 * TPSFs (the input, or a synthetic batch), RTL + SystemC model + C reference in
 * lockstep, and the float model beside it on the same pixels. */
#include "cli.h"

#include "fligru/fxmodel.h"
#include "fligru/io.h"
#include "fligru/model_io.h"
#include "fligru/npy.h"
#include "fligru/safetensors.h"
#include "fligru/synth.h"
#include "fligru_sweep/sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FLIGRU_SOURCE_DIR
#error "FLIGRU_SOURCE_DIR: the repository the on-demand builds are made from (cli/CMakeLists.txt)"
#endif

#define PATH_N (PATH_MAX + 256)

/* ---- the model and the parameters ---------------------------------------------- */

/* What this RTL runs (docs/rtl.md): the rest of the checks are its own, at
 * elaboration, and come back from the build as one line. */
static fl_status check_runnable(const char *path, const fl_fx_model *q)
{
    const fl_s2s_config *c = &q->cfg;
    if (c->layers != 1)
        return fl_fail(FL_E_INPUT, "%s: layers = %d: this RTL runs one layer (Layers must be 1)", path, c->layers);
    if (c->input != 1)
        return fl_fail(FL_E_INPUT, "%s: input = %d: this RTL takes one sample per step (InputSize must be 1)", path,
                       c->input);
    if (c->dec_hidden != c->enc_hidden)
        return fl_fail(FL_E_INPUT, "%s: dec_hidden = %d, enc_hidden = %d: DecHidden must equal Hidden (no E != D bridge)",
                       path, c->dec_hidden, c->enc_hidden);
    return FL_OK;
}

static void add_pair(char *buf, size_t n, const char *key, fl_fx_q q)
{
    snprintf(buf + strlen(buf), n - strlen(buf), " %s %d %d", key, q.bits, q.frac);
}

static void add_act(char *buf, size_t n, const char *key, const fl_fx_act *a)
{
    if (a->kind == FL_FX_ACT_HARD) snprintf(buf + strlen(buf), n - strlen(buf), " %s hard", key);
    else snprintf(buf + strlen(buf), n - strlen(buf), " %s table %d %d", key, a->size_log2, a->range_log2);
}

/* The keys of rtl/fligru_config.cmake for this model and hardware: the one
 * mapping from a format to -G parameters stays in fligru_config_expand. */
static void config_keys(const fl_fx_model *q, int lanes, int engines, int interleave, int T, char *buf, size_t n)
{
    const fl_fx_format *f = &q->fmt;
    const fl_s2s_config *c = &q->cfg;
    const char *scale = f->weight_scale == FL_FX_SCALE_FIXED ? "fixed"
                        : f->weight_scale == FL_FX_SCALE_TENSOR ? "per_tensor" : "per_row";
    snprintf(buf, n, "HIDDEN %d LANES %d ENGINES %d STEPS %d OUTPUTS %d PIXELS 1 INTERLEAVE %d RESET %s ORDER %s "
             "ROUNDING %s WEIGHTS %d SCALE %s POW2 %d WFRAC %d MULT %d",
             c->enc_hidden, lanes, engines, T, c->outputs, interleave, c->reset == FL_RESET_AFTER ? "after" : "before",
             c->order == FL_GATES_ZRN ? "zrn" : "rzn", fl_fx_round_name(f->round), f->weight_bits, scale,
             f->weight_pow2, f->weight_frac, f->mult_bits);
    add_pair(buf, n, "INPUT", f->input);
    add_pair(buf, n, "BIAS", f->bias);
    add_pair(buf, n, "ACC", (fl_fx_q){f->acc_bits, f->acc_frac});
    add_pair(buf, n, "GATE", f->gate);
    add_pair(buf, n, "ACTIVATION", f->act);
    add_pair(buf, n, "STATE", f->state);
    add_pair(buf, n, "OUTPUT", f->output);
    add_act(buf, n, "SIGMOID", &f->sigmoid);
    add_act(buf, n, "TANH", &f->tanh);
}

/* ---- the build ------------------------------------------------------------------- */

/* The build tree this program belongs to: the directory of /proc/self/exe. */
static fl_status build_dir(char *buf, size_t n)
{
    char exe[PATH_MAX];
    const ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k <= 0) return fl_fail(FL_E_IO, "cosim: cannot find this program's build directory (/proc/self/exe)");
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(buf, n, "%s", exe);
    return FL_OK;
}

/* Runs argv with stdout and stderr appended to log; returns the exit status. */
static int run_logged(char *const argv[], const char *log)
{
    fflush(NULL);
    const pid_t pid = fork();
    if (pid == 0) {
        const int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int ws = 0;
    if (pid < 0 || waitpid(pid, &ws, 0) < 0) return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* The first line of the log that says why the build failed: the RTL's own
 * elaboration check ("fligru_top: ... must ..."), else a compiler error. */
static void build_failure(const char *log, char *why, size_t n)
{
    snprintf(why, n, "the build failed (log: %s)", log);
    FILE *f = fopen(log, "r");
    if (!f) return;
    char line[1024];
    int have = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        const char *rtl = strstr(line, "fligru_top: ");
        if (rtl) {
            snprintf(why, n, "%s", rtl);
            break;
        }
        if (!have && (strstr(line, "error:") || strstr(line, "Error"))) {
            snprintf(why, n, "%.300s (log: %s)", line, log);
            have = 1;
        }
    }
    fclose(f);
}

typedef struct {
    char dir[PATH_N], exe[PATH_N + 32], keys[1024], hw[96];
    int  cached;           /* the executable was there before this run */
    double seconds;
} od_build;

static fl_status configure(const od_build *b, const char *build, const char *log)
{
    char params[PATH_N + 32], src[PATH_N], dflags[2][PATH_N + 64];
    snprintf(params, sizeof params, "%s/params.cmake", b->dir);
    FILE *f = fopen(params, "w");
    if (!f) return fl_fail(FL_E_IO, "%s: cannot write: %s", params, strerror(errno));
    fprintf(f, "# written by fligru cosim: the keys of rtl/fligru_config.cmake for this model\nset(FLIGRU_OD_ARGS %s)\n",
            b->keys);
    fclose(f);
    snprintf(src, sizeof src, "%s/systemc/ondemand", FLIGRU_SOURCE_DIR);
    snprintf(dflags[0], sizeof dflags[0], "-DFLIGRU_BUILD_DIR=%s", build);
    snprintf(dflags[1], sizeof dflags[1], "-DFLIGRU_OD_PARAMS=%s", params);
    char bdir[PATH_N + 8];
    snprintf(bdir, sizeof bdir, "%s/build", b->dir);
    char *argv[] = {"cmake", "-S", src, "-B", bdir, "-G", "Ninja", dflags[0], dflags[1], NULL};
    return run_logged(argv, log) == 0 ? FL_OK : FL_E_INPUT;
}

/* Configures (first use) and builds the executable, under a lock, so two runs
 * of one parameter set build it once. */
static fl_status build(od_build *b, const char *cache)
{
    char buildtree[PATH_N], log[PATH_N + 16], lock[PATH_N + 16], bdir[PATH_N + 8];
    fl_status st = build_dir(buildtree, sizeof buildtree);
    if (!st) st = fl_mkdir_p(b->dir);
    if (st) return st;
    snprintf(log, sizeof log, "%s/build.log", b->dir);
    snprintf(lock, sizeof lock, "%s/.lock", b->dir);
    snprintf(bdir, sizeof bdir, "%s/build", b->dir);
    const int lk = open(lock, O_WRONLY | O_CREAT, 0644);
    if (lk >= 0) flock(lk, LOCK_EX);
    b->cached = access(b->exe, X_OK) == 0;
    if (!b->cached)
        fprintf(stderr, "cosim: building the Verilated RTL for this model and P, E (first use: a minute or two on 2 "
                        "cores) in %s\n", b->dir);
    const struct timespec t0 = {0};
    struct timespec t1 = t0, t2 = t0;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char ninja[PATH_N + 32];
    snprintf(ninja, sizeof ninja, "%s/build.ninja", bdir);
    if (access(ninja, R_OK) != 0) st = configure(b, buildtree, log);
    char *argv[] = {"cmake", "--build", bdir, "--target", "fligru_cosim", NULL};
    if (!st && run_logged(argv, log) != 0) st = FL_E_INPUT;
    clock_gettime(CLOCK_MONOTONIC, &t2);
    b->seconds = (double)(t2.tv_sec - t1.tv_sec) + 1e-9 * (double)(t2.tv_nsec - t1.tv_nsec);
    if (lk >= 0) close(lk);
    (void)cache;
    if (!st) return FL_OK;
    char why[2 * PATH_N];
    build_failure(log, why, sizeof why);
    if (access(ninja, R_OK) != 0) {   /* a refused configuration leaves no half-made build behind */
        char *rm[] = {"cmake", "-E", "rm", "-rf", bdir, NULL};
        run_logged(rm, log);
    }
    return fl_fail(FL_E_INPUT, "this RTL cannot run the model with %s: %s", b->hw, why);
}

/* ---- running a co-simulation executable -------------------------------------------- */

int cli_run_cosim(const char *const *args)
{
    fflush(NULL);
    const pid_t pid = fork();
    if (pid == 0) {
        setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    int ws = 0;
    if (pid < 0 || waitpid(pid, &ws, 0) < 0) return -1;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* ---- inputs, vectors, the run ---------------------------------------------------- */

/* A synthetic batch (the default data model, T = 135) when no input is given. */
static fl_status synthetic_input(const cli_cosim_opts *o, const char *work, char *path, size_t n)
{
    fl_synth_params p;
    fl_synth_params_default(&p);
    p.samples = o->pixels > 0 ? (size_t)o->pixels : 64;
    p.seed = o->seed;
    char dir[PATH_N + 8];
    snprintf(dir, sizeof dir, "%s/data", work);
    fl_status st = fl_synth_write_dir(&p, dir);
    snprintf(path, n, "%s/tpsf.npy", dir);
    return st;
}

/* Pixels and steps of the input (float32/64 [N,T] or [N,T,1]). */
static fl_status input_shape(const char *path, fl_npy *x, size_t *pixels, int *T)
{
    fl_status st = fl_npy_load_data(path, "input", x);
    if (st) return st;
    if (x->ndim < 2 || x->ndim > 3 || (x->ndim == 3 && x->shape[2] != 1) || x->shape[1] < 2 || x->shape[1] > 4096)
        return fl_fail(FL_E_INPUT, "%s: expected TPSFs [pixels, T] (T 2..4096) or [pixels, T, 1]", path);
    *pixels = x->shape[0];
    *T = (int)x->shape[1];
    return FL_OK;
}

static int run_cosim(const cli_cosim_opts *o, const od_build *b, const char *vec, const char *csv)
{
    char sseed[32];
    snprintf(sseed, sizeof sseed, "%" PRIu64, o->seed);
    const char *args[20] = {b->exe, vec, "--model", o->model, "--name", o->name, "--seed", sseed,
                            "--trace-dir", o->trace_dir, "--csv", csv};
    int na = 12;
    if (o->trace) args[na++] = "+trace";
    args[na] = NULL;
    return cli_run_cosim(args);
}

/* ---- the float model beside it ------------------------------------------------------ */

typedef struct {
    int    have;
    char   path[PATH_N];
    double rmse, max_abs;
} float_err;

/* The float model: --float, else the one the quantised file was made from. */
static int float_path(const cli_cosim_opts *o, char *buf, size_t n)
{
    if (o->float_model) {
        snprintf(buf, n, "%s", o->float_model);
        return 1;
    }
    fl_st_file f;
    if (fl_st_load(o->model, &f)) return 0;
    const char *src = fl_st_meta(&f, "source_model");
    int ok = src && access(src, R_OK) == 0;
    if (ok) snprintf(buf, n, "%s", src);
    fl_st_free(&f);
    fl_error_clear();
    return ok;
}

/* Float vs fixed point on the same pixels: RMSE and max |delta| of the outputs. */
static fl_status float_vs_fixed(const cli_cosim_opts *o, const fl_fx_model *q, const fl_npy *x, size_t n, int T,
                                float_err *e)
{
    memset(e, 0, sizeof *e);
    if (!float_path(o, e->path, sizeof e->path)) return FL_OK;
    fl_s2s m;
    fl_status st = fl_model_load(e->path, &m, NULL);
    if (st) return st;
    const size_t ny = n * (size_t)T * (size_t)q->cfg.outputs;
    float *yf = malloc(ny * sizeof *yf), *yq = malloc(ny * sizeof *yq);
    if (!yf || !yq) st = fl_fail(FL_E_NOMEM, "cosim: out of memory");
    if (!st) st = fl_s2s_forward(&m, fl_npy_f32((fl_npy *)x), n, T, yf);
    if (!st) st = fl_fx_predict(q, fl_npy_f32((fl_npy *)x), n, T, yq);
    double ss = 0;
    for (size_t i = 0; !st && i < ny; ++i) {
        const double d = (double)yf[i] - (double)yq[i];
        ss += d * d;
        if (fabs(d) > e->max_abs) e->max_abs = fabs(d);
    }
    e->rmse = ny ? sqrt(ss / (double)ny) : 0;
    e->have = !st;
    free(yf);
    free(yq);
    fl_s2s_free(&m);
    return st;
}

/* ---- the report ------------------------------------------------------------------- */

/* The co-simulation's CSV row (cosim_main.cpp --csv): its fields by name. */
typedef struct {
    long   pixels, pixel_steps, states, outputs, mismatches, interleave;
    double cycles, steady;
    int    have;
} cosim_row;

static void read_row(const char *csv, cosim_row *r)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(csv, "r");
    if (!f) return;
    char head[512], line[512], name[128];
    if (fgets(head, sizeof head, f) && fgets(line, sizeof line, f)) {
        int h, p, e, t, c;
        r->have = sscanf(line, "%127[^,],%d,%d,%d,%d,%d,%ld,%ld,%ld,%ld,%ld,%ld,%lf,%lf", name, &h, &p, &e, &t, &c,
                         &r->interleave, &r->pixels, &r->pixel_steps, &r->states, &r->outputs, &r->mismatches,
                         &r->cycles, &r->steady) == 14;
    }
    fclose(f);
}

static fl_status write_json(const cli_cosim_opts *o, const od_build *b, const cosim_row *r, const float_err *e, int rc)
{
    fl_atomic a;
    fl_status st = fl_atomic_open(&a, o->json);
    if (st) return st;
    fprintf(a.fp, "{\"model\": \"%s\", \"lanes\": %d, \"engines\": %d, \"interleave\": %ld, \"build\": \"%s\", "
                  "\"build_cached\": %s, \"build_seconds\": %.1f, \"status\": \"%s\"",
            o->model, o->lanes, o->engines, r->interleave, b->dir, b->cached ? "true" : "false", b->seconds,
            rc == 0 ? "pass" : "mismatch");
    if (r->have)
        fprintf(a.fp, ", \"pixels\": %ld, \"pixel_steps\": %ld, \"states_compared\": %ld, \"outputs_compared\": %ld, "
                      "\"mismatches\": %ld, \"cycles_rtl\": %.0f, \"cycles_model\": %.0f, "
                      "\"steady_cycles_per_pixel\": %.2f",
                r->pixels, r->pixel_steps, r->states, r->outputs, r->mismatches, r->cycles, r->cycles, r->steady);
    if (e->have)
        fprintf(a.fp, ", \"float_model\": \"%s\", \"float_vs_fixed_rmse\": %.6g, \"float_vs_fixed_max_abs\": %.6g",
                e->path, e->rmse, e->max_abs);
    fprintf(a.fp, "}\n");
    return fl_atomic_commit(&a);
}

/* ---- the command ------------------------------------------------------------------- */

/* The cache entry of this model's parameters; the vectors and traces go to work. */
static fl_status prepare(const cli_cosim_opts *o, const fl_fx_model *q, int T, od_build *b)
{
    char cache[PATH_N];
    if (o->cache) snprintf(cache, sizeof cache, "%s", o->cache);
    else {
        fl_status st = build_dir(cache, sizeof cache - 16);
        if (st) return st;
        strcat(cache, "/cosim-cache");
    }
    config_keys(q, o->lanes, o->engines, o->interleave, T, b->keys, sizeof b->keys);
    snprintf(b->hw, sizeof b->hw, "H = %d, P = %d, E = %d, T = %d", q->cfg.enc_hidden, o->lanes, o->engines, T);
    char hash[17];
    fl_sweep_hash(b->keys, hash);   /* the sweep's cache key: one hash for both caches */
    snprintf(b->dir, sizeof b->dir, "%s/%s", cache, hash);
    snprintf(b->exe, sizeof b->exe, "%s/build/fligru_cosim", b->dir);
    return build(b, cache);
}

int cli_cosim_ondemand(const cli_cosim_opts *o)
{
    fl_fx_model q;
    fl_status st = fl_fx_load(o->model, &q);
    if (st) return cli_fail(st);
    if ((st = check_runnable(o->model, &q))) {
        fl_fx_model_free(&q);
        return cli_fail(st);
    }
    char work[PATH_N], in[PATH_N + 32], vec[PATH_N + 8], csv[PATH_N + 16];
    snprintf(work, sizeof work, "%s", o->work);
    st = fl_mkdir_p(work);
    if (!st && !o->input) st = synthetic_input(o, work, in, sizeof in);
    else snprintf(in, sizeof in, "%s", o->input ? o->input : "");
    fl_npy x = {0};
    size_t n = 0;
    int T = 0;
    if (!st) st = input_shape(in, &x, &n, &T);
    if (!st && o->pixels > 0 && (size_t)o->pixels < n) n = (size_t)o->pixels;
    od_build b;
    memset(&b, 0, sizeof b);
    if (!st) st = prepare(o, &q, T, &b);
    int rc = st ? cli_fail(st) : 0;
    if (!rc) {
        char npix[32];
        snprintf(vec, sizeof vec, "%s/vec", work);
        snprintf(npix, sizeof npix, "%zu", n);
        char *vargv[] = {"vectors", (char *)o->model, in, "-o", vec, "--pixels", npix, NULL};
        rc = cmd_vectors(7, vargv);
    }
    if (!rc) {
        snprintf(csv, sizeof csv, "%s/cosim.csv", work);
        rc = run_cosim(o, &b, vec, csv);
        if (rc < 0 || rc == 127) rc = cli_fail(fl_fail(FL_E_IO, "cannot run %s", b.exe));
    }
    if (rc == 0 || rc == 1) {
        float_err e;
        cosim_row r;
        read_row(csv, &r);
        if ((st = float_vs_fixed(o, &q, &x, n, T, &e))) rc = cli_fail(st);
        else if (e.have) printf("cosim %s: float model %s on the same %zu pixels: float vs fixed-point outputs RMSE %.3g, "
                                "max |delta| %.3g\n", o->name, e.path, n, e.rmse, e.max_abs);
        if (o->json && (st = write_json(o, &b, &r, &e, rc))) rc = cli_fail(st);
    }
    fl_npy_free(&x);
    fl_fx_model_free(&q);
    return rc;
}
