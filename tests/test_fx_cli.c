/* test_fx_cli.c - `fligru quantize`, `fligru predict` on quantised models and
 * `fligru vectors`, end to end; and every kind of bad input refused with one
 * line naming the field and exit status 2, leaving no output behind. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/fxmodel.h"
#include "fligru/model_io.h"
#include "fligru/npy.h"
#include "fligru/safetensors.h"
#include "testutil.h"

#define N_SEQ 40
#define T_LEN 30

typedef struct {
    char *dir, *model, *input, *config;
} fixture;

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    cr_assert(p != NULL);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* A random 16-unit student, TPSF-like inputs [N_SEQ, T_LEN], a config. */
static fixture setup(const char *tag, const char *config_text)
{
    fixture fx;
    fx.dir = tu_tmpdir(tag);
    fx.model = join(fx.dir, "model.safetensors");
    fx.input = join(fx.dir, "tpsf.npy");
    fl_s2s_config c = fl_s2s_config_student(16);
    fl_s2s m;
    cr_assert(eq(int, fl_s2s_init(&m, &c), FL_OK));
    fl_s2s_init_random(&m, 17);
    cr_assert(eq(int, fl_model_save(fx.model, &m, NULL, 0, NULL, 0), FL_OK), "%s", fl_error());
    fl_s2s_free(&m);
    fl_npy a;
    size_t shape[2] = {N_SEQ, T_LEN};
    cr_assert(eq(int, fl_npy_alloc(&a, FL_F32, 2, shape), FL_OK));
    for (size_t i = 0; i < N_SEQ; ++i)
        for (size_t t = 0; t < T_LEN; ++t)
            fl_npy_f32(&a)[i * T_LEN + t] = t < 3 ? 0.0f : (float)exp(-(double)(t - 3) / (3.0 + 0.2 * (double)i));
    cr_assert(eq(int, fl_npy_save(fx.input, &a), FL_OK));
    fl_npy_free(&a);
    fx.config = tu_write_file(fx.dir, "fx.yaml", config_text);
    return fx;
}

static void teardown(fixture *fx)
{
    free(fx->dir);
    free(fx->model);
    free(fx->input);
    free(fx->config);
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; ++s) n += *s == '\n';
    return n;
}

/* Exit 2, one line on stderr containing needle, and the output not created. */
static void expect_refused(int rc, const char *err, const char *needle, const char *output)
{
    cr_assert(eq(int, rc, 2), "exit %d, stderr: %s", rc, err);
    cr_assert(eq(int, lines(err), 1), "not one line: %s", err);
    cr_assert(strstr(err, needle) != NULL, "'%s' lacks '%s'", err, needle);
    if (output) cr_assert(tu_exists(output) == 0, "%s was created", output);
}

static const char *W8S16 = "name: test\nweights: {bits: 8}\nstate: {bits: 16, frac: 14}\ngate: {bits: 16, frac: 11}\n";

/* ---- end to end ---------------------------------------------------------------------------------- */

/* predict = fl_fx_predict on the file's model, bit for bit, on the output grid. */
static void check_predict(const fl_fx_model *m, const fl_npy *x, const char *y)
{
    fl_npy yp;
    cr_assert(eq(int, fl_npy_load(y, &yp), FL_OK));
    cr_assert(eq(sz, yp.count, (size_t)N_SEQ * T_LEN * 3));
    float *want = malloc(yp.count * sizeof *want);
    cr_assert(want != NULL);
    cr_assert(eq(int, fl_fx_predict(m, fl_npy_f32((fl_npy *)x), N_SEQ, T_LEN, want), FL_OK));
    cr_assert(eq(int, memcmp(want, yp.data, yp.count * sizeof *want), 0));
    for (size_t i = 0; i < yp.count; ++i) {
        const double s = ldexp((double)fl_npy_f32(&yp)[i], m->fmt.output.frac);
        cr_assert(s == floor(s));
    }
    free(want);
    fl_npy_free(&yp);
}

/* output.hex = the reference's outputs of the first 3 pixels, masked to W_o
 * bits: read here with the test's own parser, not the library's reader. */
static void check_output_hex(const char *vec, const fl_fx_model *m, const fl_npy *x)
{
    char *ohex = join(vec, "output.hex");
    size_t len;
    unsigned char *txt = tu_read_all(ohex, &len);
    cr_assert(txt != NULL);
    txt[len] = '\0';      /* tu_read_all leaves room for it */
    int32_t *xq = malloc(3 * T_LEN * sizeof *xq), *yq = malloc(3 * T_LEN * 3 * sizeof *yq);
    cr_assert(xq != NULL && yq != NULL);
    fl_fx_quantize_input(m, fl_npy_f32((fl_npy *)x), 3 * T_LEN, xq);
    for (int i = 0; i < 3; ++i) cr_assert(eq(int, fl_fx_forward_ref(m, xq + i * T_LEN, T_LEN, yq + i * T_LEN * 3, NULL), FL_OK));
    char *p = (char *)txt;
    const unsigned mask = (1u << m->fmt.output.bits) - 1;
    for (int i = 0; i < 3 * T_LEN * 3; ++i) {
        char *end;
        unsigned long v = strtoul(p, &end, 16);
        cr_assert(end == p + (m->fmt.output.bits + 3) / 4 && *end == '\n', "line %d", i);
        cr_assert(eq(u32, (unsigned)v, (unsigned)yq[i] & mask), "output word %d", i);
        p = end + 1;
    }
    cr_assert(eq(sz, (size_t)(p - (char *)txt), len), "more words than 3 x T x C");
    free(txt);
    free(ohex);
    free(xq);
    free(yq);
}

/* Every file of a vectors directory, one provenance line, no decoder input weights. */
static void check_vector_files(const char *vec)
{
    const char *expect[] = {"manifest.csv", "provenance.txt", "fx_params.svh", "fx_params.h", "act_sigmoid.hex",
                            "act_tanh.hex", "act_tables.h", "enc_l0_w_ih.hex", "enc_l0_w_hh_mult.hex",
                            "dec_l0_w_hh_shift.hex", "dense_b.hex", "input.hex", "enc_h_l0.hex", "dec_init_l0.hex",
                            "dec_h_l0.hex", "enc_l0_pre.hex", "dec_l0_act.hex"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; ++i) {
        char *f = join(vec, expect[i]);
        cr_assert(tu_exists(f), "%s missing", expect[i]);
        free(f);
    }
    char *prov = join(vec, "provenance.txt");
    size_t len;
    unsigned char *txt = tu_read_all(prov, &len);
    cr_assert(txt != NULL);
    txt[len] = '\0';
    cr_assert(strstr((char *)txt, "fnv1a64 ") != NULL && strstr((char *)txt, "seed ") != NULL);
    cr_assert(eq(int, lines((char *)txt), 1));
    free(txt);
    free(prov);
    /* no decoder input weights: the zero input contributes only its bias */
    char *dwih = join(vec, "dec_l0_w_ih.hex");
    cr_assert(tu_exists(dwih) == 0);
    free(dwih);
    cr_assert(eq(int, tu_count_tmp(vec), 0));
}

Test(fx_cli, quantize_predict_vectors_agree_with_the_library, .timeout = 120)
{
    fixture fx = setup("fxcli", W8S16);
    char *q = join(fx.dir, "q.safetensors"), *y = join(fx.dir, "y.npy"), *vec = join(fx.dir, "vec");
    char *out = NULL, *err = NULL;
    int rc = tu_run_cli(&out, &err, "quantize", fx.model, "--config", fx.config, "-o", q, NULL);
    cr_assert(eq(int, rc, 0), "%s", err);
    cr_assert(strstr(out, "accumulator: Q(32,") != NULL, "%s", out);
    free(out);
    free(err);
    rc = tu_run_cli(&out, &err, "predict", q, fx.input, y, "--threads", "2", NULL);
    cr_assert(eq(int, rc, 0), "%s", err);
    free(out);
    free(err);
    fl_fx_model m;
    cr_assert(eq(int, fl_fx_load(q, &m), FL_OK), "%s", fl_error());
    fl_npy x;
    cr_assert(eq(int, fl_npy_load(fx.input, &x), FL_OK));
    check_predict(&m, &x, y);

    rc = tu_run_cli(&out, &err, "vectors", q, fx.input, "-o", vec, "--pixels", "3", "--gates", NULL);
    cr_assert(eq(int, rc, 0), "%s", err);
    free(out);
    free(err);
    check_output_hex(vec, &m, &x);
    check_vector_files(vec);
    fl_npy_free(&x);
    fl_fx_model_free(&m);
    free(q);
    free(y);
    free(vec);
    teardown(&fx);
}

Test(fx_cli, predict_is_thread_count_invariant, .timeout = 60)
{
    fixture fx = setup("fxthr", "name: t\n");
    char *q = join(fx.dir, "q.safetensors"), *y1 = join(fx.dir, "y1.npy"), *y2 = join(fx.dir, "y2.npy");
    cr_assert(eq(int, tu_run_cli(NULL, NULL, "quantize", fx.model, "--config", fx.config, "-o", q, NULL), 0));
    cr_assert(eq(int, tu_run_cli(NULL, NULL, "predict", q, fx.input, y1, "--threads", "1", NULL), 0));
    cr_assert(eq(int, tu_run_cli(NULL, NULL, "predict", q, fx.input, y2, "--threads", "2", "--batch", "7", NULL), 0));
    size_t n1, n2;
    unsigned char *a = tu_read_all(y1, &n1), *b = tu_read_all(y2, &n2);
    cr_assert(a != NULL && b != NULL && n1 == n2 && memcmp(a, b, n1) == 0);
    free(a);
    free(b);
    free(q);
    free(y1);
    free(y2);
    teardown(&fx);
}

/* ---- bad input -------------------------------------------------------------------------------------- */

static void bad_config(const char *text, const char *needle)
{
    fixture fx = setup("fxbadcfg", text);
    char *q = join(fx.dir, "q.safetensors");
    char *err = NULL;
    int rc = tu_run_cli(NULL, &err, "quantize", fx.model, "--config", fx.config, "-o", q, NULL);
    expect_refused(rc, err, needle, q);
    free(err);
    free(q);
    teardown(&fx);
}

Test(fx_cli, bad_configs_exit_2_naming_the_field)
{
    bad_config("state: {bits: 40, frac: 20}\n", "fx.yaml:1: state.bits: word length 40 is outside 2..32");
    bad_config("state: {bits: 24, frac: 24}\n", "state.frac: binary point 24 is beyond the 24-bit word");
    bad_config("input: {bits: 1, frac: 0}\n", "input.bits: word length 1 is outside 2..32");
    bad_config("sigmoid: {size: 1000}\n", "sigmoid.size: 1000 is not a power of two");
    bad_config("tanh: {size: 4096, range: 1}\ngate: {bits: 12, frac: 8}\n", "tanh.size");
    bad_config("weights: {bits: 20}\n", "weights.bits: 20 is outside 2..16");
    bad_config("accumulator: {bits: 12, frac: 11, overflow: error}\n", "accumulator: ");
}

/* Rewrites a quantised model with one tensor or metadata value changed. */
static void tamper(const char *in, const char *out, const char *tensor, int index, int value, const char *key,
                   const char *kval, const char *drop)
{
    fl_st_file f;
    cr_assert(eq(int, fl_st_load(in, &f), FL_OK));
    fl_st_tensor *t = calloc(f.n_tensors, sizeof *t);
    void **bufs = calloc(f.n_tensors, sizeof *bufs);
    fl_meta_kv *meta = calloc(f.n_meta, sizeof *meta);
    cr_assert(t != NULL && bufs != NULL && meta != NULL);
    size_t nt = 0;
    for (size_t i = 0; i < f.n_tensors; ++i) {
        if (drop && !strcmp(f.tensors[i].name, drop)) continue;
        t[nt] = f.tensors[i];
        const size_t nb = fl_st_nbytes(&f.tensors[i]);
        bufs[nt] = malloc(nb + 1);
        cr_assert(bufs[nt] != NULL);
        memcpy(bufs[nt], f.tensors[i].data, nb);
        if (tensor && !strcmp(t[nt].name, tensor)) {
            if (t[nt].dtype == FL_ST_I8) ((int8_t *)bufs[nt])[index] = (int8_t)value;
            else if (t[nt].dtype == FL_ST_I16) ((int16_t *)bufs[nt])[index] = (int16_t)value;
            else ((int32_t *)bufs[nt])[index] = value;
        }
        t[nt].data = bufs[nt];
        ++nt;
    }
    for (size_t i = 0; i < f.n_meta; ++i) {
        meta[i] = f.meta[i];
        if (key && !strcmp(meta[i].key, key)) meta[i].value = kval;
    }
    cr_assert(eq(int, fl_st_save(out, t, nt, meta, f.n_meta), FL_OK), "%s", fl_error());
    for (size_t i = 0; i < nt; ++i) free(bufs[i]);
    free(bufs);
    free(t);
    free(meta);
    fl_st_free(&f);
}

static void bad_model(const fixture *fx, const char *q, const char *tensor, int index, int value, const char *key,
                      const char *kval, const char *drop, const char *needle)
{
    char *bad = join(fx->dir, "bad.safetensors"), *y = join(fx->dir, "ybad.npy"), *vec = join(fx->dir, "vbad");
    tamper(q, bad, tensor, index, value, key, kval, drop);
    char *err = NULL;
    int rc = tu_run_cli(NULL, &err, "predict", bad, fx->input, y, NULL);
    expect_refused(rc, err, needle, y);
    free(err);
    rc = tu_run_cli(NULL, &err, "vectors", bad, fx->input, "-o", vec, NULL);
    expect_refused(rc, err, needle, NULL);
    free(err);
    free(bad);
    free(y);
    free(vec);
}

Test(fx_cli, tampered_models_are_refused, .timeout = 60)
{
    fixture fx = setup("fxtamper", W8S16);
    char *q = join(fx.dir, "q.safetensors");
    cr_assert(eq(int, tu_run_cli(NULL, NULL, "quantize", fx.model, "--config", fx.config, "-o", q, NULL), 0));
    /* a weight outside +-(2^(b-1) - 1): -128 is a valid int8 but not a symmetric 8-bit weight */
    bad_model(&fx, q, "dense.weight", 5, -128, NULL, NULL, NULL,
              "tensor dense.weight: value -128 at [5] does not fit fx.weight_bits 8");
    bad_model(&fx, q, "encoder.weight_hh_l0.shift", 0, 100, NULL, NULL, NULL, "encoder.weight_hh_l0.shift: shift 100");
    bad_model(&fx, q, NULL, 0, 0, "fx.state_frac", "16", NULL, "state.frac: binary point 16 is beyond the 16-bit word");
    bad_model(&fx, q, NULL, 0, 0, "fx.acc_bits", "40", NULL, "accumulator.bits: word length 40");
    bad_model(&fx, q, NULL, 0, 0, "fx.sigmoid_size", "1000", NULL, "fx.sigmoid_size: 1000 is not a power of two");
    /* the metadata says 16-bit weights: the I8 tensors no longer match */
    bad_model(&fx, q, NULL, 0, 0, "fx.weight_bits", "16", NULL, "dtype I8, expected I16 for fx.weight_bits 16");
    bad_model(&fx, q, NULL, 0, 0, "enc_hidden", "15", NULL, "shape [48,1], expected [45,1]");
    bad_model(&fx, q, NULL, 0, 0, NULL, NULL, "act.tanh", "tensor act.tanh: missing");
    /* a float model's format is not a quantised one, and the other way round */
    char *err = NULL, *q2 = join(fx.dir, "q2.safetensors");
    int rc = tu_run_cli(NULL, &err, "quantize", q, "--config", fx.config, "-o", q2, NULL);
    expect_refused(rc, err, "format \"fligru-fx-seq2seq\", expected \"fligru-seq2seq\"", q2);
    free(err);
    free(q2);
    free(q);
    teardown(&fx);
}

Test(fx_cli, vectors_input_must_match_the_model)
{
    fixture fx = setup("fxvin", W8S16);
    char *q = join(fx.dir, "q.safetensors"), *in = join(fx.dir, "x3.npy"), *vec = join(fx.dir, "v");
    cr_assert(eq(int, tu_run_cli(NULL, NULL, "quantize", fx.model, "--config", fx.config, "-o", q, NULL), 0));
    fl_npy a;
    size_t shape[4] = {2, 3, 10, 2};
    cr_assert(eq(int, fl_npy_alloc(&a, FL_F32, 4, shape), FL_OK));
    cr_assert(eq(int, fl_npy_save(in, &a), FL_OK));
    fl_npy_free(&a);
    char *err = NULL;
    int rc = tu_run_cli(NULL, &err, "vectors", q, in, "-o", vec, NULL);
    expect_refused(rc, err, "2 features per step, the model has 1", NULL);
    cr_assert(tu_exists(vec) == 0 || tu_count_tmp(vec) == 0);
    free(err);
    free(q);
    free(in);
    free(vec);
    teardown(&fx);
}
