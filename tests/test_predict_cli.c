/* test_predict_cli.c - `fligru predict`: shapes, bit-for-bit agreement with
 * fl_s2s_forward, and inputs that must be refused without writing OUT. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/model_io.h"
#include "fligru/npy.h"
#include "testutil.h"

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

/* A saved random model; the caller frees m. */
static char *save_model(const char *dir, const char *name, const fl_s2s_config *c, fl_s2s *m)
{
    cr_assert_eq(fl_s2s_init(m, c), FL_OK, "%s", fl_error());
    fl_s2s_init_random(m, 99);
    char *p = path_in(dir, name);
    cr_assert_eq(fl_model_save(p, m, NULL, 0, NULL, 0), FL_OK, "%s", fl_error());
    return p;
}

/* Decay-like values in [0, 1]: a peak, then a tail. */
static void fill_tpsf(float *x, size_t n, size_t T)
{
    uint32_t s = 12345;
    for (size_t i = 0; i < n; ++i)
        for (size_t t = 0; t < T; ++t) {
            s = s * 1664525u + 1013904223u;
            double noise = (double)(s >> 8) / (double)(1u << 24) * 0.05;
            x[i * T + t] = (float)(exp(-(double)t / (10.0 + (double)(i % 7))) + noise);
        }
}

static char *save_input(const char *dir, const char *name, fl_dtype dt, int ndim, const size_t *shape,
                        fl_npy *a)
{
    cr_assert_eq(fl_npy_alloc(a, FL_F32, ndim, shape), FL_OK);
    size_t T = shape[ndim - 1] == 1 && ndim == 3 ? shape[1] : shape[ndim - 1];
    if (ndim == 4) T = shape[2];
    fill_tpsf(fl_npy_f32(a), a->count / T, T);
    char *p = path_in(dir, name);
    if (dt == FL_F64) {
        fl_npy d;
        cr_assert_eq(fl_npy_alloc(&d, FL_F64, ndim, shape), FL_OK);
        for (size_t i = 0; i < a->count; ++i) fl_npy_f64(&d)[i] = (double)fl_npy_f32(a)[i];
        cr_assert_eq(fl_npy_save(p, &d), FL_OK, "%s", fl_error());
        fl_npy_free(&d);
    } else {
        cr_assert_eq(fl_npy_save(p, a), FL_OK, "%s", fl_error());
    }
    return p;
}

/* Runs predict and checks OUT against fl_s2s_forward on the same input. */
static void check_predict(const fl_s2s *m, const char *model, const char *in, const fl_npy *x,
                          const char *out, size_t n, size_t T, int out_ndim, const size_t *out_shape,
                          const char *batch)
{
    char *so = NULL, *se = NULL;
    int rc = batch ? tu_run_cli(&so, &se, "predict", model, in, out, "--batch", batch, "--threads", "2", NULL)
                   : tu_run_cli(&so, &se, "predict", model, in, out, NULL);
    cr_assert(eq(int, rc, 0), "predict failed: %s", se);
    fl_npy y;
    cr_assert_eq(fl_npy_load(out, &y), FL_OK, "%s", fl_error());
    cr_assert(eq(int, y.dtype, FL_F32));
    cr_assert(eq(int, y.ndim, out_ndim));
    for (int d = 0; d < out_ndim; ++d) cr_assert(eq(sz, y.shape[d], out_shape[d]), "axis %d", d);
    size_t C = (size_t)m->cfg.outputs;
    float *ref = malloc(n * T * C * sizeof *ref);
    /* The reference runs the same batches as the CLI: OpenBLAS picks kernels by
     * shape, so a batch of 5 and one of 37 may differ in the last bit (the thread
     * count, by contrast, never changes a bit). */
    const size_t in_row = x->count / n, bs = batch ? (size_t)atoi(batch) : n;
    for (size_t i = 0; i < n; i += bs)
        cr_assert_eq(fl_s2s_forward(m, fl_npy_f32(x) + i * in_row, n - i < bs ? n - i : bs, (int)T,
                                    ref + i * T * C),
                     FL_OK, "%s", fl_error());
    cr_assert(eq(int, memcmp(fl_npy_f32(&y), ref, n * T * C * sizeof *ref), 0),
              "predict differs from fl_s2s_forward");
    free(ref);
    fl_npy_free(&y);
    free(so);
    free(se);
}

Test(predict_cli, runs_n_by_t_into_n_by_t_by_c)
{
    char *dir = tu_tmpdir("predict");
    fl_s2s m;
    fl_s2s_config c = fl_s2s_config_student(16);
    char *model = save_model(dir, "m.safetensors", &c, &m);
    fl_npy x;
    size_t shape[2] = {37, 40};
    char *in = save_input(dir, "x.npy", FL_F32, 2, shape, &x);
    char *out = path_in(dir, "y.npy");
    size_t oshape[3] = {37, 40, 3};
    check_predict(&m, model, in, &x, out, 37, 40, 3, oshape, NULL);
    /* Batches of 5 (the last one short) and two threads change nothing. */
    check_predict(&m, model, in, &x, out, 37, 40, 3, oshape, "5");
    cr_assert(eq(int, tu_count_tmp(dir), 0));
    fl_npy_free(&x);
    fl_s2s_free(&m);
    free(model);
    free(in);
    free(out);
    free(dir);
}

Test(predict_cli, runs_images_into_images_with_channels)
{
    char *dir = tu_tmpdir("predict");
    fl_s2s m;
    fl_s2s_config c = {.input = 1, .outputs = 3, .layers = 2, .enc_hidden = 24, .dec_hidden = 8,
                       .reset = FL_RESET_AFTER, .act = FL_ACT_SIGMOID, .order = FL_GATES_RZN};
    char *model = save_model(dir, "m.safetensors", &c, &m);
    fl_npy x;
    size_t shape[3] = {4, 5, 33};
    char *in = save_input(dir, "img.npy", FL_F32, 3, shape, &x);
    char *out = path_in(dir, "pred.npy");
    size_t oshape[4] = {4, 5, 33, 3};
    check_predict(&m, model, in, &x, out, 20, 33, 4, oshape, NULL);
    fl_npy_free(&x);
    fl_s2s_free(&m);
    free(model);
    free(in);
    free(out);
    free(dir);
}

Test(predict_cli, accepts_a_trailing_feature_axis_and_float64)
{
    char *dir = tu_tmpdir("predict");
    fl_s2s m;
    fl_s2s_config c = fl_s2s_config_student(8);
    c.outputs = 1;
    char *model = save_model(dir, "m.safetensors", &c, &m);
    fl_npy x;
    size_t shape[3] = {6, 21, 1};
    char *in = save_input(dir, "x3.npy", FL_F64, 3, shape, &x);
    char *out = path_in(dir, "y.npy");
    size_t oshape[3] = {6, 21, 1};
    check_predict(&m, model, in, &x, out, 6, 21, 3, oshape, NULL);
    fl_npy_free(&x);
    fl_s2s_free(&m);
    free(model);
    free(in);
    free(out);
    free(dir);
}

Test(predict_cli, runs_any_sequence_length)
{
    char *dir = tu_tmpdir("predict");
    fl_s2s m;
    fl_s2s_config c = fl_s2s_config_student(8);
    char *model = save_model(dir, "m.safetensors", &c, &m);
    size_t Ts[] = {1, 7, 135, 256};
    for (size_t k = 0; k < sizeof Ts / sizeof *Ts; ++k) {
        fl_npy x;
        size_t shape[2] = {3, Ts[k]};
        char *in = save_input(dir, "x.npy", FL_F32, 2, shape, &x);
        char *out = path_in(dir, "y.npy");
        size_t oshape[3] = {3, Ts[k], 3};
        check_predict(&m, model, in, &x, out, 3, Ts[k], 3, oshape, NULL);
        fl_npy_free(&x);
        free(in);
        free(out);
    }
    fl_s2s_free(&m);
    free(model);
    free(dir);
}

/* predict must fail with exit 2, one "fligru: <path>..." line containing
 * `expect`, and no OUT (nor a temporary) left behind. */
static void expect_refused(const char *dir, const char *model, const char *in, const char *expect)
{
    char *out = path_in(dir, "refused.npy"), *se = NULL;
    int rc = tu_run_cli(NULL, &se, "predict", model, in, out, NULL);
    cr_assert(eq(int, rc, 2), "exit %d: %s", rc, se);
    cr_assert(strncmp(se, "fligru: ", 8) == 0, "%s", se);
    cr_assert(strstr(se, expect) != NULL, "'%s' lacks '%s'", se, expect);
    cr_assert(eq(int, tu_exists(out), 0), "OUT was created");
    cr_assert(eq(int, tu_count_tmp(dir), 0), "temporary left behind");
    free(se);
    free(out);
}

Test(predict_cli, refuses_nan_and_inf_inputs)
{
    char *dir = tu_tmpdir("predict");
    fl_s2s m;
    fl_s2s_config c = fl_s2s_config_student(8);
    char *model = save_model(dir, "m.safetensors", &c, &m);
    fl_npy x;
    size_t shape[2] = {4, 10};
    char *in = save_input(dir, "nan.npy", FL_F32, 2, shape, &x);
    fl_npy_f32(&x)[23] = NAN;
    cr_assert_eq(fl_npy_save(in, &x), FL_OK);
    char want[4200];
    snprintf(want, sizeof want, "%s: input is NaN at [2,3]", in);
    expect_refused(dir, model, in, want);
    fl_npy_f32(&x)[23] = INFINITY;
    cr_assert_eq(fl_npy_save(in, &x), FL_OK);
    expect_refused(dir, model, in, in);
    fl_npy_free(&x);
    fl_s2s_free(&m);
    free(model);
    free(in);
    free(dir);
}

Test(predict_cli, refuses_feature_size_mismatch)
{
    char *dir = tu_tmpdir("predict");
    fl_s2s m;
    fl_s2s_config c = fl_s2s_config_student(8);
    char *model = save_model(dir, "m.safetensors", &c, &m);
    fl_npy x;
    size_t shape[4] = {2, 3, 10, 2};
    char *in = save_input(dir, "f2.npy", FL_F32, 4, shape, &x);
    char want[8400];
    snprintf(want, sizeof want, "%s: shape [2,3,10,2]: 2 features per step, but %s expects 1", in, model);
    expect_refused(dir, model, in, want);
    fl_npy_free(&x);
    size_t flat[1] = {10};
    char *in1 = save_input(dir, "flat.npy", FL_F32, 1, flat, &x);
    expect_refused(dir, model, in1, "shape [10]: expected [N,T], [H,W,T], [N,T,F] or [H,W,T,F]");
    fl_npy_free(&x);
    fl_s2s_free(&m);
    free(model);
    free(in);
    free(in1);
    free(dir);
}

Test(predict_cli, refuses_wrong_model_files_and_dtypes)
{
    char *dir = tu_tmpdir("predict");
    fl_s2s m;
    fl_s2s_config c = fl_s2s_config_student(8);
    char *model = save_model(dir, "m.safetensors", &c, &m);
    fl_npy x;
    size_t shape[2] = {2, 10};
    char *in = save_input(dir, "x.npy", FL_F32, 2, shape, &x);
    /* an .npy given as the model */
    expect_refused(dir, in, in, in);
    /* a safetensors file of another kind */
    float w[2] = {1, 2};
    fl_st_tensor t = {.name = "w", .dtype = FL_ST_F32, .ndim = 1, .shape = {2}, .data = w};
    fl_meta_kv kv = {"format", "fligru-qseq2seq"};
    char *other = path_in(dir, "q.safetensors");
    cr_assert_eq(fl_st_save(other, &t, 1, &kv, 1), FL_OK);
    char want[8400];
    /* Other model kinds add their formats after this one. */
    snprintf(want, sizeof want, "%s: format \"fligru-qseq2seq\" is not a model fligru predict runs "
             "(known: fligru-seq2seq", other);
    expect_refused(dir, other, in, want);
    char *plain = path_in(dir, "plain.safetensors");
    cr_assert_eq(fl_st_save(plain, &t, 1, NULL, 0), FL_OK);
    expect_refused(dir, plain, in, "no \"format\": not a fligru model file");
    /* integer input */
    fl_npy xi;
    cr_assert_eq(fl_npy_alloc(&xi, FL_I16, 2, shape), FL_OK);
    char *ini = path_in(dir, "counts.npy");
    cr_assert_eq(fl_npy_save(ini, &xi), FL_OK);
    expect_refused(dir, model, ini, "dtype int16, expected float32 or float64");
    /* missing model */
    char *none = path_in(dir, "none.safetensors");
    expect_refused(dir, none, in, none);
    fl_npy_free(&xi);
    fl_npy_free(&x);
    fl_s2s_free(&m);
    free(model);
    free(in);
    free(other);
    free(plain);
    free(ini);
    free(none);
    free(dir);
}

Test(predict_cli, usage_errors_exit_2)
{
    char *se = NULL;
    cr_assert(eq(int, tu_run_cli(NULL, &se, "predict", "only-one.safetensors", NULL), 2));
    cr_assert(strstr(se, "expected MODEL.safetensors IN.npy OUT.npy") != NULL, "%s", se);
    free(se);
    cr_assert(eq(int, tu_run_cli(NULL, &se, "predict", "a", "b", "c", "--batch", "0", NULL), 2));
    free(se);
    char *so = NULL;
    cr_assert(eq(int, tu_run_cli(&so, NULL, "predict", "--help", NULL), 0));
    cr_assert(strstr(so, "[H,W,T]    -> [H,W,T,C]") != NULL, "%s", so);
    free(so);
}
