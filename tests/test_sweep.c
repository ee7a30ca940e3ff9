/* test_sweep.c - `fligru sweep` / `fligru collect` (bench/sweep): grid expansion,
 * constraints and hashing on the library; a tiny sweep end to end (H = 8, T = 32,
 * a few hundred TPSFs: seconds), whose results.csv follows docs/sweep.md's columns
 * with real values; a second run that trains and evaluates nothing; and every bad
 * input refused with one line naming the key and YAML line, exit 2, before any work. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <sys/stat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru_sweep/sweep.h"
#include "sweep_internal.h"
#include "testutil.h"

#define TINY FLIGRU_SOURCE_DIR "/tests/sweep/tiny.yaml"
#define SD FLIGRU_SOURCE_DIR "/tests/sweep"

static fl_sweep *load_ok(const char *path)
{
    fl_sweep *s = NULL;
    cr_assert(eq(int, fl_sweep_load(path, &s), FL_OK), "%s", fl_error());
    return s;
}

/* The newest modification time (ns) of the files in a run's points/ directory. */
static long long points_mtime_ns(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d != NULL, "%s", dir);
    long long newest = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || stat(p, &st)) continue;
        long long t = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        if (t > newest) newest = t;
    }
    closedir(d);
    return newest;
}

Test(sweep, grid_constraints_and_hashes)
{
    fl_sweep *s = load_ok(TINY);
    /* block 1: 2 widths x 3 lane counts x 2 engine counts = 12, lanes 48 > 3H = 24
     * removes 4; blocks 2 (KD), 3 (float) and 4 (hard sigmoid) add one each */
    cr_expect(eq(sz, s->n_before_constraints, 15));
    cr_assert(eq(sz, s->n_points, 11));
    cr_expect(eq(str, s->name, "tiny"));
    const fl_sweep_point *p = s->points;
    /* the first axis varies slowest */
    cr_expect(eq(int, fl_sweep_int(&p[0], FL_AX_WEIGHT_BITS), 8));
    cr_expect(eq(int, fl_sweep_int(&p[0], FL_AX_LANES), 4));
    cr_expect(eq(int, fl_sweep_int(&p[0], FL_AX_ENGINES), 1));
    cr_expect(eq(int, fl_sweep_int(&p[1], FL_AX_ENGINES), 2));
    cr_expect(eq(int, fl_sweep_int(&p[2], FL_AX_LANES), 8));
    cr_expect(eq(int, fl_sweep_int(&p[4], FL_AX_WEIGHT_BITS), 16));
    for (size_t i = 0; i < s->n_points; ++i) cr_expect(le(int, fl_sweep_int(&p[i], FL_AX_LANES), 24));
    /* PTQ points and the float point share one trained model (hardware axes and
     * PTQ widths never retrain); every point has its own result id */
    for (size_t i = 1; i < 8; ++i) cr_expect(eq(str, (char *)p[i].model_id, (char *)p[0].model_id));
    cr_expect(eq(int, fl_sweep_int(&p[9], FL_AX_WEIGHT_BITS), 0));
    cr_expect(eq(int, fl_sweep_int(&p[9], FL_AX_STATE_BITS), 0), "float points carry no widths");
    cr_expect(eq(str, (char *)p[9].model_id, (char *)p[0].model_id));
    cr_expect(ne(str, (char *)p[10].model_id, (char *)p[0].model_id), "a hard-sigmoid model is trained apart");
    cr_expect(ne(str, (char *)p[8].model_id, (char *)p[0].model_id), "KD trains another model");
    cr_expect(ne(int, (int)strlen(p[8].teacher_id), 0), "no teacher file: the teacher is a cached model");
    cr_expect(eq(int, (int)strlen(p[0].teacher_id), 0));
    for (size_t i = 0; i < s->n_points; ++i)
        for (size_t j = i + 1; j < s->n_points; ++j) cr_expect(ne(str, (char *)p[i].id, (char *)p[j].id));
    fl_sweep_free(s);
}

Test(sweep, constraint_language)
{
    fl_sweep *s = load_ok(TINY);
    fl_sweep_point p = s->points[2];   /* H = 8, lanes 8, engines 1, 8-bit */
    static const struct { const char *e; double v; } cases[] = {
        {"lanes <= 3H", 1},          {"P == 8 && H == 8", 1},       {"3*H - P", 16},
        {"P > 3 * H || engines == 1", 1}, {"max(enc_hidden, 2*P) / 4", 4}, {"!(kd)", 1},
        {"network == seq2seqlite", 1}, {"device == \"xc7k410t\"", 1}, {"device == \"xc7k160t\"", 0},
        {"T % 5", 2},                {"weight_bits \xe2\x89\xa4 8", 1}, {"-min(1, 2) + 1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        double v = -99;
        cr_expect(eq(int, sweep_expr_eval(NULL, NULL, cases[i].e, s, &p, &v), FL_OK), "%s: %s", cases[i].e, fl_error());
        cr_expect(eq(dbl, v, cases[i].v), "%s = %g", cases[i].e, v);
    }
    fl_sweep_free(s);
}

Test(sweep, hash_is_fnv1a)
{
    char h[17];
    fl_sweep_hash("", h);
    cr_expect(eq(str, h, "cbf29ce484222325"));
    fl_sweep_hash("a", h);
    cr_expect(eq(str, h, "af63dc4c8601ec8c"));
}

/* ---- end to end ----------------------------------------------------------------- */

static char *slurp(const char *path)
{
    size_t n;
    unsigned char *b = tu_read_all(path, &n);
    return (char *)b;
}

/* Splits a CSV line into fields (in place); returns the count. */
static int fields(char *line, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; ++p)
        if (*p == ',') {
            *p = 0;
            f[n++] = p + 1;
        }
    return n;
}

static int col(const char *name)
{
    char hdr[2048];
    snprintf(hdr, sizeof hdr, "%s", SWEEP_CSV_HEADER);
    char *f[64];
    int n = fields(hdr, f, 64);
    for (int i = 0; i < n; ++i)
        if (!strcmp(f[i], name)) return i;
    cr_fatal("no column %s", name);
    return -1;
}

typedef struct {
    int   n;
    char *line[32];
    char *f[32][64];
    int   nf[32];
} table;

static void read_table(const char *path, table *t, char **header)
{
    char *txt = slurp(path);
    cr_assert(txt != NULL, "%s missing", path);
    memset(t, 0, sizeof *t);
    char *save = NULL, *l = strtok_r(txt, "\n", &save);
    *header = strdup(l);
    while ((l = strtok_r(NULL, "\n", &save)) && t->n < 32) {
        t->line[t->n] = strdup(l);
        char *copy = strdup(l);
        t->nf[t->n] = fields(copy, t->f[t->n], 64);
        t->n++;
    }
    free(txt);
}

/* Frees what read_table allocated (each row's field copy starts at f[i][0]). */
static void free_table(table *t, char *header)
{
    for (int i = 0; i < t->n; ++i) {
        free(t->line[i]);
        free(t->f[i][0]);
    }
    free(header);
}

static int count_models(const char *cache)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/models", cache);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 12 && !strcmp(e->d_name + l - 12, ".safetensors") && !strstr(e->d_name, ".ckpt.")) ++n;
    }
    closedir(d);
    return n;
}

/* The tiny run's table: every row well-formed and scored; 16-bit PTQ next to
 * float; more lanes and more engines fewer cycles per pixel. */
static void check_tiny_rows(const table *t)
{
    const int c_rmse = col("rmse"), c_r2 = col("r2"), c_dtw = col("dtw"), c_l2 = col("l2"), c_wb = col("weight_bits"),
              c_act = col("act"), c_lut = col("lut"), c_dsp = col("dsp"), c_cpp = col("cycles_per_pixel"),
              c_lanes = col("lanes"), c_eng = col("engines"), c_st = col("status"), c_af = col("af700_rmse"),
              c_tau = col("af700_tau_err_ns"), c_point = col("point"), c_fits = col("fits"), c_kd = col("kd"),
              c_net = col("network"), c_tm = col("tau_mean_err_ns");
    double rmse_f = NAN, rmse16 = NAN, rmse8 = NAN, cpp4 = NAN, cpp8 = NAN, cpp8e2 = NAN;
    for (int i = 0; i < t->n; ++i) {
        char *const *f = t->f[i];
        cr_assert(eq(int, t->nf[i], 49), "row %d: %d fields", i, t->nf[i]);
        cr_expect(eq(int, atoi(f[c_point]), i));
        cr_expect(eq(str, f[c_st], "ok"));
        cr_expect(eq(str, f[c_net], "seq2seqlite"));
        double rmse = atof(f[c_rmse]), r2 = atof(f[c_r2]), dtw = atof(f[c_dtw]), l2 = atof(f[c_l2]);
        cr_expect(rmse > 0 && rmse < 0.5, "row %d rmse %g", i, rmse);
        cr_expect(r2 < 1 && r2 > -5, "row %d r2 %g", i, r2);
        cr_expect(dtw > 0 && dtw <= l2 + 1e-9, "DTW <= L2 (row %d: %g, %g)", i, dtw, l2);
        cr_expect(f[c_af][0] && atof(f[c_af]) > 0, "AF700 scored");
        cr_expect(f[c_tau][0] && atof(f[c_tau]) > 0 && atof(f[c_tau]) < 10, "AF700 tau error %s", f[c_tau]);
        cr_expect(f[c_tm][0] != 0, "lifetime error on the test set");
        const int wb = atoi(f[c_wb]), lanes = atoi(f[c_lanes]), eng = atoi(f[c_eng]);
        if (wb == 0) {
            rmse_f = rmse;
            cr_expect(eq(str, f[c_act], "float"));
            cr_expect(eq(str, f[c_lut], ""), "no resources for a float point");
            cr_expect(f[c_cpp][0] != 0, "timing does not depend on widths");
            continue;
        }
        cr_expect(eq(str, f[c_act], i == 10 ? "hard" : "table"));
        cr_expect(atoi(f[c_dsp]) > 0 && atoi(f[c_lut]) > 0, "row %d resources", i);
        if (i == 10) continue;
        cr_expect(strlen(f[c_fits]) == 1 && (f[c_fits][0] == '0' || f[c_fits][0] == '1'), "fits %s", f[c_fits]);
        if (atoi(f[c_kd])) continue;
        if (wb == 16) rmse16 = rmse;
        if (wb == 8) rmse8 = rmse;
        if (wb == 8 && lanes == 4 && eng == 1) cpp4 = atof(f[c_cpp]);
        if (wb == 8 && lanes == 8 && eng == 1) cpp8 = atof(f[c_cpp]);
        if (wb == 8 && lanes == 8 && eng == 2) cpp8e2 = atof(f[c_cpp]);
    }
    /* same model: 16-bit PTQ lands next to float, hardware axes do not move accuracy */
    cr_expect(fabs(rmse16 - rmse_f) < 0.01 * rmse_f + 1e-4, "16-bit %g vs float %g", rmse16, rmse_f);
    cr_expect(rmse8 > 0);
    cr_expect(cpp8 < cpp4, "more lanes, fewer cycles per pixel (%g vs %g)", cpp8, cpp4);
    cr_expect(cpp8e2 < cpp8, "more engines, fewer cycles per pixel (%g vs %g)", cpp8e2, cpp8);
}

/* Run again: nothing is trained or evaluated (no point file is rewritten), the
 * table is the same bytes; collect rebuilds the same rows from the point files. */
static void check_rerun_and_collect(const char *out, const char *cache, const char *csv, const table *t)
{
    char pd[4096], rd[4096], *err = NULL;
    snprintf(pd, sizeof pd, "%s/tiny/points", out);
    snprintf(rd, sizeof rd, "%s/tiny", out);
    const long long stamp = points_mtime_ns(pd);
    int rc = tu_run_cli(NULL, &err, "sweep", TINY, "-j", "2", "--out", out, "--cache", cache, "--progress", "lines", NULL);
    cr_assert(eq(int, rc, 0), "rerun: %s", err);
    cr_expect(strstr(err, "11/11 done, 0 failed, 0 running") != NULL, "%s", err);
    free(err);
    table t2, t3;
    char *hdr2, *hdr3;
    read_table(csv, &t2, &hdr2);
    cr_assert(eq(int, t2.n, 11));
    const int c_st = col("status");
    for (int i = 0; i < t->n; ++i)
        for (int k = 0; k <= c_st; ++k) cr_expect(eq(str, t2.f[i][k], t->f[i][k]), "row %d col %d", i, k);
    cr_expect(eq(i64, points_mtime_ns(pd), stamp), "a point file was rewritten by the rerun");
    err = NULL;
    rc = tu_run_cli(NULL, &err, "collect", rd, NULL);
    cr_expect(eq(int, rc, 0), "collect: %s", err);
    free(err);
    read_table(csv, &t3, &hdr3);
    for (int i = 0; i < t->n; ++i) cr_expect(eq(str, t3.line[i], t->line[i]));
    free_table(&t2, hdr2);
    free_table(&t3, hdr3);
}

Test(sweep, end_to_end_and_rerun, .timeout = 240)
{
    char *tmp = tu_tmpdir("sweep-e2e"), out[1024], cache[1024], csv[4096], pd[4096];
    snprintf(out, sizeof out, "%s/results", tmp);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    char *err = NULL;
    int rc = tu_run_cli(NULL, &err, "sweep", TINY, "-j", "2", "--out", out, "--cache", cache, "--progress", "lines",
                        NULL);
    cr_assert(eq(int, rc, 0), "sweep: %s", err);
    cr_expect(strstr(err, "11/11 done, 0 failed") != NULL, "progress lines: %s", err);
    free(err);
    cr_expect(eq(int, count_models(cache), 4), "student, teacher, KD student, hard student: each trained once");

    snprintf(csv, sizeof csv, "%s/tiny/results.csv", out);
    table t;
    char *hdr;
    read_table(csv, &t, &hdr);
    cr_expect(eq(str, hdr, (char *)SWEEP_CSV_HEADER));
    cr_assert(eq(int, t.n, 11));
    check_tiny_rows(&t);
    /* one JSON per point, no temporaries left */
    snprintf(pd, sizeof pd, "%s/tiny/points", out);
    cr_expect(eq(int, tu_count_tmp(pd), 0));
    check_rerun_and_collect(out, cache, csv, &t);
    free_table(&t, hdr);
    free(tmp);
}

/* ---- bad input --------------------------------------------------------------------- */

static const char *HEAD =
    "run: bad\n"
    "train: {data: " SD "/synth-tiny.yaml, student: " SD "/train-student-tiny.yaml, teacher: " SD
    "/train-teacher-tiny.yaml, distill: " SD "/distill-tiny.yaml}\n"
    "format: " FLIGRU_SOURCE_DIR "/configs/fx-default.yaml\n"
    "eval: {test: " SD "/synth-tiny.yaml, mono: " SD "/mono-tiny.yaml}\n"
    "hardware: {devices: " FLIGRU_SOURCE_DIR "/configs/devices.yaml}\n"
    "base: {hidden: 8, steps: 32, device: xc7k410t}\n";   /* lines 1-6 */

static void bad(const char *grid, const char *expect)
{
    char *tmp = tu_tmpdir("sweep-bad"), text[8192], out[4096];
    snprintf(text, sizeof text, "%s%s", HEAD, grid);
    char *cfg = tu_write_file(tmp, "bad.yaml", text);
    snprintf(out, sizeof out, "%s/results", tmp);
    char *err = NULL;
    int rc = tu_run_cli(NULL, &err, "sweep", cfg, "--out", out, "--cache", out, NULL);
    cr_expect(eq(int, rc, 2), "exit %d for %s", rc, grid);
    cr_expect(strstr(err, expect) != NULL, "expected '%s' in: %s", expect, err);
    cr_expect(eq(int, (int)(strchr(err, '\n') - err + 1), (int)strlen(err)), "one line: %s", err);
    cr_expect(tu_exists(out) == 0, "nothing written");
    free(err);
    free(cfg);
    free(tmp);
}

Test(sweep, bad_input_refused_before_work)
{
    bad("grid: {device: [xc7k410t, xc9z999]}\n", "bad.yaml:7: grid.device[1]: 'xc9z999': no such device");
    bad("grid:\n  weight_bits: [8, 40]\n", "bad.yaml:8: grid.weight_bits[1]");
    bad("grid: {lanes: [32, 64]}\nconstraints: [\"lanes <= 3H\"]\n", "bad.yaml:8: constraints: the constraints leave no point");
    bad("grid: {lane: 4}\n", "bad.yaml:7: grid.lane: unknown axis");
    bad("grid: {network: seq2seq, kd: true}\n", "bad.yaml:7: kd: a seq2seq (teacher) point is not distilled");
    bad("grid: {lanes: 0}\n", "bad.yaml:7: grid.lanes");
    bad("grid: {act: [table, cubic]}\n", "bad.yaml:7: grid.act[1]: 'cubic'");
    bad("grid: {hidden: 8}\nconstraints: [\"P <= 3Q\"]\n", "bad.yaml:8: constraints[0]: constraint \"P <= 3Q\": unknown name");
    bad("grid: {steps: 1}\n", "bad.yaml:7: grid.steps");
    bad("grid: {}\n", "bad.yaml:7: grid: empty grid");
    bad("grid: {weight_bits: 8}\nsurprise: 1\n", "bad.yaml:8: surprise: unknown key");
}

/* KD from a teacher file (train.teacher_model): the file's bytes, not a cached
 * teacher, are in the student's hash; a teacher trained at another T is not used. */
Test(sweep, kd_from_teacher_file, .timeout = 120)
{
    char *tmp = tu_tmpdir("sweep-teacher"), data[1024], teacher[1024], out[1024], text[8192];
    snprintf(data, sizeof data, "%s/data", tmp);
    snprintf(teacher, sizeof teacher, "%s/teacher.safetensors", tmp);
    snprintf(out, sizeof out, "%s/results", tmp);
    char *err = NULL;
    int rc = tu_run_cli(NULL, &err, "synth", SD "/synth-tiny.yaml", "-o", data, NULL);
    cr_assert(eq(int, rc, 0), "synth: %s", err);
    free(err);
    err = NULL;
    rc = tu_run_cli(NULL, &err, "train", SD "/train-teacher-tiny.yaml", "--data", data, "-o", teacher, "--progress",
                    "quiet", NULL);
    cr_assert(eq(int, rc, 0), "train: %s", err);
    free(err);
    snprintf(text, sizeof text,
             "%s  teacher_model: %s\nbase: {hidden: 8, steps: %%d, device: xc7k410t}\ngrid: {weight_bits: 8, kd: true}\n",
             "run: kd\nformat: " FLIGRU_SOURCE_DIR "/configs/fx-default.yaml\n"
             "eval: {test: " SD "/synth-tiny.yaml, test_samples: 64, mono: none}\n"
             "hardware: {devices: " FLIGRU_SOURCE_DIR "/configs/devices.yaml}\nplots: none\n"
             "train:\n  data: " SD "/synth-tiny.yaml\n  student: " SD "/train-student-tiny.yaml\n  teacher: " SD
             "/train-teacher-tiny.yaml\n  distill: " SD "/distill-tiny.yaml\n",
             teacher);
    char t32[8192], t40[8192];
    snprintf(t32, sizeof t32, text, 32);
    snprintf(t40, sizeof t40, text, 40);
    char *c32 = tu_write_file(tmp, "kd32.yaml", t32), *c40 = tu_write_file(tmp, "kd40.yaml", t40);
    fl_sweep *s = load_ok(c32);
    cr_assert(eq(sz, s->n_points, 1));
    cr_expect(eq(int, (int)strlen(s->points[0].teacher_id), 0), "the file is the teacher");
    char first[17];
    snprintf(first, sizeof first, "%s", s->points[0].model_id);
    fl_sweep_free(s);
    s = load_ok(c40);
    cr_expect(ne(int, (int)strlen(s->points[0].teacher_id), 0), "T = 40: the T = 32 file does not fit; train one");
    fl_sweep_free(s);

    err = NULL;
    char cache[1024];
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    rc = tu_run_cli(NULL, &err, "sweep", c32, "--out", out, "--cache", cache, "--progress", "quiet", NULL);
    cr_assert(eq(int, rc, 0), "sweep: %s", err);
    free(err);
    cr_expect(eq(int, count_models(cache), 1), "only the student is trained");
    char model[2048];
    snprintf(model, sizeof model, "%s/models/%s.safetensors", cache, first);
    cr_expect(eq(int, tu_exists(model), 1), "%s", model);
    /* a changed teacher file changes the student's hash */
    rc = tu_run_cli(NULL, NULL, "train", SD "/train-teacher-tiny.yaml", "--data", data, "-o", teacher, "--epochs", "1",
                    "--progress", "quiet", NULL);
    cr_assert(eq(int, rc, 0));
    s = load_ok(c32);
    cr_expect(ne(str, (char *)s->points[0].model_id, first));
    fl_sweep_free(s);
    free(c32);
    free(c40);
    free(tmp);
}
