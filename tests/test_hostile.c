/* test_hostile.c - regression tests of issue 13: hostile inputs that crashed,
 * hung, or destroyed data. Each test failed before its fix. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fligru/fxmodel.h"
#include "fligru/model_io.h"
#include "fligru/npy.h"
#include "fligru/synth.h"
#include "fligru/yaml.h"
#include "testutil.h"

static void join(char *buf, size_t n, const char *dir, const char *name)
{
    int k = snprintf(buf, n, "%s/%s", dir, name);
    cr_assert(k > 0 && (size_t)k < n, "path too long");
}
#define P(buf, dir, name) join(buf, sizeof buf, dir, name)

static char *nested(size_t depth)
{
    char *s = malloc(2 * depth + 16);
    size_t k = (size_t)sprintf(s, "seed: ");
    memset(s + k, '[', depth);
    memset(s + k + depth, ']', depth);
    s[k + 2 * depth] = '\0';
    return s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 1: 40,000 '[' overflowed the stack of the recursive tree builder. */
Test(hostile, deep_yaml_is_refused_with_its_line)
{
    char *s = nested(40000);
    fl_yaml *y = NULL;
    cr_assert_eq(fl_yaml_parse(s, strlen(s), "n.yaml", &y), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "n.yaml:1: nested deeper than 32 levels of maps and lists");
    free(s);
    /* the root map is level 1: 31 lists under it are the most allowed */
    s = nested(FL_YAML_MAX_DEPTH - 1);
    cr_assert_eq(fl_yaml_parse(s, strlen(s), "n.yaml", &y), FL_OK, "%s", fl_error());
    const fl_yaml_node *n = fl_yaml_get(y, fl_yaml_root(y), "seed");
    int depth = 0;
    for (; n && n->kind == FL_YAML_SEQ && n->n == 1; n = n->items[0]) ++depth;
    cr_assert_eq(depth, FL_YAML_MAX_DEPTH - 2);   /* the innermost list is empty */
    fl_yaml_free(y);
    free(s);
    s = nested(FL_YAML_MAX_DEPTH);
    cr_assert_eq(fl_yaml_parse(s, strlen(s), "n.yaml", &y), FL_E_INPUT);
    free(s);
}

/* 2: the duplicate-key check was quadratic (40k keys: 13 s; 200k: minutes). */
Test(hostile, wide_yaml_parses_in_linear_time)
{
    const size_t n = 200000;
    char *s = malloc(n * 24 + 64), *w = s;
    for (size_t i = 0; i < n; ++i) w += sprintf(w, "key%zu: %zu\n", i, i);
    fl_yaml *y = NULL;
    double t0 = now_s();
    cr_assert_eq(fl_yaml_parse(s, (size_t)(w - s), "wide.yaml", &y), FL_OK, "%s", fl_error());
    double dt = now_s() - t0;
    const fl_yaml_node *r = fl_yaml_root(y);
    cr_assert_eq(r->n, n);
    cr_assert_str_eq(r->keys[n - 1], "key199999");
    cr_assert_str_eq(fl_yaml_get(y, r, "key123456")->value, "123456");
    cr_assert_lt(dt, 5.0, "200,000 keys took %.2f s", dt);
    fl_yaml_free(y);
    /* a duplicate far from its first use is still found, with both lines */
    w += sprintf(w, "key7: again\n");
    cr_assert_eq(fl_yaml_parse(s, (size_t)(w - s), "wide.yaml", &y), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "wide.yaml:200001: key7: key given twice (first on line 8)");
    free(s);
}

/* 3: a damaged manifest header left results.csv as a bare header, exit 0. */
Test(hostile, collect_refuses_a_damaged_manifest_and_keeps_results)
{
    char *dir = tu_tmpdir("hostile"), run[4096], pts[4096], res[4096];
    P(run, dir, "run");
    P(pts, run, "points");
    mkdir(run, 0777);
    mkdir(pts, 0777);
    free(tu_write_file(run, "points.csv", "idx,id\n0,0123456789abcdef,m,-,r,p\n"));
    char *results = tu_write_file(run, "results.csv", "run,point\nr,p,1.0\n");
    char *err = NULL;
    cr_assert_eq(tu_run_cli(NULL, &err, "collect", run, NULL), 2);
    P(res, run, "points.csv");
    cr_assert(strstr(err, res) != NULL && strstr(err, "not a sweep manifest") != NULL, "%s", err);
    free(err);
    size_t len;
    char *kept = (char *)tu_read_all(results, &len);
    cr_assert_str_eq(kept, "run,point\nr,p,1.0\n");
    free(kept);
    /* a right header over no rows is refused as well */
    free(tu_write_file(run, "points.csv", "index,id,model_id,teacher_id,axes:run,point\n"));
    cr_assert_eq(tu_run_cli(NULL, &err, "collect", run, NULL), 2);
    cr_assert(strstr(err, "no points") != NULL, "%s", err);
    free(err);
    free(results);
    free(dir);
}

/* 3b: a damaged or foreign point file was read as "missing" and its row
 * dropped from a rewritten results.csv; now it is refused, naming the file. */
Test(hostile, collect_refuses_a_damaged_point_file_and_keeps_results)
{
    char *dir = tu_tmpdir("hostile"), run[4096], pts[4096];
    P(run, dir, "run");
    P(pts, run, "points");
    mkdir(run, 0777);
    mkdir(pts, 0777);
    free(tu_write_file(run, "points.csv",
                       "index,id,model_id,teacher_id,axes:run,point,...\n0,0123456789abcdef,m,-,r,0\n"));
    char *results = tu_write_file(run, "results.csv", "run,point\nr,0,1.0\n");
    const char *bad[] = {"{\"id\": broken", "{\"columns\": \"1,2,3\"}"};
    const char *why[] = {"not a point result", "\"columns\" has 3 fields"};
    for (int k = 0; k < 2; ++k) {
        char *pj = tu_write_file(pts, "0123456789abcdef.json", bad[k]);
        char *err = NULL;
        cr_assert_eq(tu_run_cli(NULL, &err, "collect", run, NULL), 2);
        cr_assert(strstr(err, pj) != NULL && strstr(err, why[k]) != NULL, "%s", err);
        free(err);
        size_t len;
        char *kept = (char *)tu_read_all(results, &len);
        cr_assert_str_eq(kept, "run,point\nr,0,1.0\n");
        free(kept);
        free(pj);
    }
    free(results);
    free(dir);
}

/* 4a: a header declaring 2^40 elements was allocated before the file size was
 * compared: "npy: cannot allocate", exit 1, no file name. */
Test(hostile, npy_huge_shape_is_refused_before_allocating)
{
    char *dir = tu_tmpdir("hostile"), path[4096];
    P(path, dir, "huge.npy");
    char h[128];
    int k = snprintf(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }");
    memset(h + k, ' ', 117 - (size_t)k);
    h[117] = '\n';
    FILE *f = fopen(path, "wb");
    fwrite("\x93NUMPY\x01\x00\x76\x00", 1, 10, f);
    fwrite(h, 1, 118, f);
    fwrite(h, 1, 64, f);   /* 64 data bytes */
    fclose(f);
    fl_npy a;
    cr_assert_eq(fl_npy_load(path, &a), FL_E_INPUT);
    char want[4200];
    snprintf(want, sizeof want, "%s: truncated: shape needs 4398046511104 data bytes, file has 64", path);
    cr_assert_str_eq(fl_error(), want);
    cr_assert_null(a.data);
    free(dir);
}

/* 4b: samples: 1e9 tried to hold terabytes in memory. */
Test(hostile, synth_refuses_samples_beyond_memory)
{
    char *dir = tu_tmpdir("hostile");
    char *cfg = tu_write_file(dir, "big.yaml", "gates: 135\nsamples: 1000000000\n");
    fl_synth_params p;
    cr_assert_eq(fl_synth_params_from_yaml(cfg, &p), FL_E_INPUT);
    char want[4200];
    snprintf(want, sizeof want, "%s:2: samples: 1000000000 samples x 135 gates need 2.71e+03 GB", cfg);
    cr_assert(strncmp(fl_error(), want, strlen(want)) == 0, "%s", fl_error());
    /* --samples on the command line meets the same check before anything is allocated */
    fl_synth_params_default(&p);
    p.samples = 1000000000;
    cr_assert_eq(fl_synth_check_memory(&p), FL_E_INPUT);
    p.samples = 2000;
    cr_assert_eq(fl_synth_check_memory(&p), FL_OK);
    free(cfg);
    free(dir);
}

/* 5: kind: hard skipped the size and range checks; quantize then shifted by 996. */
Test(hostile, hard_activation_keys_are_validated)
{
    static const char *const cfgs[] = {
        "sigmoid:\n  kind: hard\n  size: 6.696928794914171e+299\n",
        "tanh:\n  kind: hard\n  range: 1099511627776\n",
        "sigmoid:\n  kind: hard\n  size: 1\n"};
    static const char *const want[] = {
        "fx.yaml:3: sigmoid.size: 2^996 entries: the size must be a power of two from 2 to 65536",
        "fx.yaml:3: tanh.range: 2^40: the range must be a power of two from 2^-8 to 2^16",
        "fx.yaml:3: sigmoid.size: 2^0 entries: the size must be a power of two from 2 to 65536"};
    for (int i = 0; i < 3; ++i) {
        fl_fx_format f;
        cr_assert_eq(fl_fx_format_parse(cfgs[i], strlen(cfgs[i]), "fx.yaml", &f), FL_E_INPUT, "%s", cfgs[i]);
        cr_assert_str_eq(fl_error(), want[i]);
    }
    const char *ok = "sigmoid:\n  kind: hard\n  size: 256\n  range: 8\n";
    fl_fx_format f;
    cr_assert_eq(fl_fx_format_parse(ok, strlen(ok), "fx.yaml", &f), FL_OK, "%s", fl_error());
    cr_assert_eq(f.sigmoid.kind, FL_FX_ACT_HARD);
    cr_assert_eq(f.sigmoid.size_log2, 8);
    cr_assert_eq(f.sigmoid.range_log2, 3);
}

/* A small random model and a TPSF file [10, 16] in dir. */
static void model_and_data(const char *dir, char *model, char *tpsf, size_t n)
{
    snprintf(model, n, "%s/m.safetensors", dir);
    snprintf(tpsf, n, "%s/tpsf.npy", dir);
    fl_s2s m;
    fl_s2s_config c = fl_s2s_config_student(4);
    cr_assert_eq(fl_s2s_init(&m, &c), FL_OK, "%s", fl_error());
    fl_s2s_init_random(&m, 5);
    cr_assert_eq(fl_model_save(model, &m, NULL, 0, NULL, 0), FL_OK, "%s", fl_error());
    fl_s2s_free(&m);
    fl_npy a;
    size_t shape[2] = {10, 16};
    cr_assert_eq(fl_npy_alloc(&a, FL_F32, 2, shape), FL_OK);
    for (size_t i = 0; i < a.count; ++i) fl_npy_f32(&a)[i] = (float)((i * 7) % 16) / 16.0f;
    cr_assert_eq(fl_npy_save(tpsf, &a), FL_OK, "%s", fl_error());
    fl_npy_free(&a);
}

/* Runs a command that must refuse (exit 2, naming `out`) and leave `keep` as it was. */
static void refuses_to_replace(const char *out, const char *keep, const char *arg0, ...)
{
    size_t n0, n1;
    unsigned char *before = tu_read_all(keep, &n0);
    const char *argv[16];
    int argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && argc < 15; a = va_arg(ap, const char *)) argv[argc++] = a;
    va_end(ap);
    while (argc < 15) argv[argc++] = NULL;
    char *err = NULL;
    int rc = tu_run_cli(NULL, &err, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5], argv[6], argv[7],
                        argv[8], argv[9], NULL);
    cr_assert_eq(rc, 2, "%s %s: exit %d, %s", arg0, out, rc, err);
    cr_assert(strstr(err, out) != NULL && strstr(err, "is also the input") != NULL, "%s", err);
    unsigned char *after = tu_read_all(keep, &n1);
    cr_assert(n0 == n1 && memcmp(before, after, n0) == 0, "%s changed", keep);
    free(before);
    free(after);
    free(err);
}

/* 6: an output path naming an input replaced the input (exit 0). */
Test(hostile, output_naming_an_input_is_refused)
{
    char *dir = tu_tmpdir("hostile"), model[4096], tpsf[4096], target[4096], alias[4096];
    model_and_data(dir, model, tpsf, sizeof model);
    snprintf(alias, sizeof alias, "%s/../%s/tpsf.npy", dir, strrchr(dir, '/') + 1);
    refuses_to_replace(tpsf, tpsf, "predict", model, tpsf, tpsf, NULL);
    refuses_to_replace(model, model, "predict", model, tpsf, model, NULL);
    refuses_to_replace(alias, tpsf, "baseline", tpsf, "-o", alias, NULL);
    refuses_to_replace(model, model, "quantize", model, "-o", model, NULL);
    /* train: the data files (the output is checked after the data are read) */
    P(target, dir, "target.npy");
    fl_npy t;
    size_t shape[3] = {10, 16, 3};
    cr_assert_eq(fl_npy_alloc(&t, FL_F32, 3, shape), FL_OK);
    cr_assert_eq(fl_npy_save(target, &t), FL_OK);
    fl_npy_free(&t);
    const char *cfg = FLIGRU_SOURCE_DIR "/configs/train-tiny.yaml";
    refuses_to_replace(tpsf, tpsf, "train", cfg, "--data", dir, "-o", tpsf, NULL);
    refuses_to_replace(target, target, "train", cfg, "--data", dir, "-o", target, NULL);
    free(dir);
}

/* 6b: lifetime and fit write a directory of fixed names (tau1.npy, ...,
 * g.npy): an input that is one of them was overwritten. */
Test(hostile, directory_outputs_naming_an_input_are_refused)
{
    char *dir = tu_tmpdir("hostile"), model[4096], tpsf[4096], t1[4096], g[4096], irf[4096];
    model_and_data(dir, model, tpsf, sizeof model);
    P(t1, dir, "tau1.npy");
    P(g, dir, "g.npy");
    P(irf, dir, "irf.npy");
    size_t n;
    unsigned char *bytes = tu_read_all(tpsf, &n);
    FILE *f = fopen(t1, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    f = fopen(g, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    free(bytes);
    fl_npy a;
    size_t shape[2] = {1, 16};
    cr_assert_eq(fl_npy_alloc(&a, FL_F32, 2, shape), FL_OK);
    fl_npy_f32(&a)[3] = 1.0f;
    cr_assert_eq(fl_npy_save(irf, &a), FL_OK);
    fl_npy_free(&a);
    refuses_to_replace(t1, t1, "lifetime", t1, "-o", dir, NULL);
    refuses_to_replace(t1, t1, "fit", t1, "--irf", irf, "-o", dir, NULL);
    refuses_to_replace(g, g, "fit", g, "--irf", irf, "--method", "phasor", "-o", dir, NULL);
    free(dir);
}

/* 7: vectors took int16 against its help; predict wrote an empty output. */
Test(hostile, network_inputs_follow_one_rule)
{
    char *dir = tu_tmpdir("hostile"), model[4096], tpsf[4096], q[4096], path[4096], out[4096];
    model_and_data(dir, model, tpsf, sizeof model);
    P(q, dir, "q.safetensors");
    cr_assert_eq(tu_run_cli(NULL, NULL, "quantize", model, "-o", q, NULL), 0);
    fl_npy a;
    size_t s16[2] = {2, 16}, s0[2] = {0, 16};
    cr_assert_eq(fl_npy_alloc(&a, FL_I16, 2, s16), FL_OK);
    P(path, dir, "i16.npy");
    cr_assert_eq(fl_npy_save(path, &a), FL_OK);
    fl_npy_free(&a);
    char *err = NULL, want[4200];
    P(out, dir, "vec");
    cr_assert_eq(tu_run_cli(NULL, &err, "vectors", q, path, "-o", out, NULL), 2);
    snprintf(want, sizeof want, "fligru: %s: dtype int16, expected float32 or float64\n", path);
    cr_assert_str_eq(err, want);
    free(err);
    cr_assert_eq(tu_exists(out), 0);
    cr_assert_eq(fl_npy_alloc(&a, FL_F32, 2, s0), FL_OK);
    P(path, dir, "empty.npy");
    cr_assert_eq(fl_npy_save(path, &a), FL_OK);
    fl_npy_free(&a);
    P(out, dir, "pred.npy");
    for (int k = 0; k < 2; ++k) {
        cr_assert_eq(tu_run_cli(NULL, &err, "predict", k ? q : model, path, out, NULL), 2);
        snprintf(want, sizeof want, "fligru: %s: shape [0,16] is empty\n", path);
        cr_assert_str_eq(err, want);
        free(err);
        cr_assert_eq(tu_exists(out), 0);
    }
    free(dir);
}
