/* test_model_io.c - Seq2Seq models <-> safetensors: PyTorch names and shapes,
 * bit-exact round trips, training-state extras, and every rejection. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/model_io.h"
#include "testutil.h"

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

static fl_s2s_config asym_config(void)
{
    /* The paper's Table 2 "Seq2Seq 64x16": E != D, so bridges; two layers so
     * that there are two of them. */
    return (fl_s2s_config){.input = 1, .outputs = 3, .layers = 2, .enc_hidden = 64, .dec_hidden = 16,
                           .reset = FL_RESET_AFTER, .act = FL_ACT_SIGMOID, .order = FL_GATES_RZN};
}

static void make_model(fl_s2s *m, const fl_s2s_config *c, uint64_t seed)
{
    cr_assert_eq(fl_s2s_init(m, c), FL_OK, "%s", fl_error());
    fl_s2s_init_random(m, seed);
}

static void assert_same_model(const fl_s2s *a, const fl_s2s *b)
{
    cr_assert(eq(int, memcmp(&a->cfg, &b->cfg, sizeof a->cfg), 0), "configs differ");
    cr_assert(eq(sz, a->n_params, b->n_params));
    cr_assert(eq(int, memcmp(a->params, b->params, a->n_params * sizeof(float)), 0), "parameters differ");
}

static void round_trip(const fl_s2s_config *c, const char *tag)
{
    char *dir = tu_tmpdir("model");
    fl_s2s m, back;
    make_model(&m, c, 7);
    char *p = path_in(dir, "m.safetensors");
    cr_assert_eq(fl_model_save(p, &m, NULL, 0, NULL, 0), FL_OK, "%s: %s", tag, fl_error());
    cr_assert(eq(int, tu_count_tmp(dir), 0));
    cr_assert_eq(fl_model_load(p, &back, NULL), FL_OK, "%s: %s", tag, fl_error());
    assert_same_model(&m, &back);
    fl_s2s_free(&m);
    fl_s2s_free(&back);
    free(p);
    free(dir);
}

/* The tensor names of a file, in file order, joined by spaces. */
static void names_of(const char *path, char *buf, size_t n)
{
    fl_st_file f;
    cr_assert_eq(fl_st_load(path, &f), FL_OK, "%s", fl_error());
    buf[0] = '\0';
    for (size_t i = 0; i < f.n_tensors; ++i)
        snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", i ? " " : "", f.tensors[i].name);
    fl_st_free(&f);
}

static void assert_shape(const fl_st_file *f, const char *name, int ndim, size_t d0, size_t d1)
{
    const fl_st_tensor *t = fl_st_find(f, name);
    cr_assert(t != NULL, "%s missing", name);
    cr_assert(eq(int, t->dtype, FL_ST_F32), "%s dtype", name);
    cr_assert(eq(int, t->ndim, ndim), "%s ndim", name);
    cr_assert(eq(sz, t->shape[0], d0), "%s shape[0]", name);
    if (ndim == 2) cr_assert(eq(sz, t->shape[1], d1), "%s shape[1]", name);
}

Test(model_io, teacher_round_trips_bit_exact_with_pytorch_names)
{
    fl_s2s_config c = fl_s2s_config_teacher();
    round_trip(&c, "teacher");
    char *dir = tu_tmpdir("model");
    fl_s2s m;
    make_model(&m, &c, 1);
    char *p = path_in(dir, "t.safetensors");
    cr_assert_eq(fl_model_save(p, &m, NULL, 0, NULL, 0), FL_OK, "%s", fl_error());
    char names[2048];
    names_of(p, names, sizeof names);
    cr_assert(eq(str, names,
                 "encoder.weight_ih_l0 encoder.weight_hh_l0 encoder.bias_ih_l0 encoder.bias_hh_l0 "
                 "encoder.weight_ih_l1 encoder.weight_hh_l1 encoder.bias_ih_l1 encoder.bias_hh_l1 "
                 "decoder.weight_ih_l0 decoder.weight_hh_l0 decoder.bias_ih_l0 decoder.bias_hh_l0 "
                 "decoder.weight_ih_l1 decoder.weight_hh_l1 decoder.bias_ih_l1 decoder.bias_hh_l1 "
                 "dense.weight dense.bias"));
    fl_st_file f;
    cr_assert_eq(fl_st_load(p, &f), FL_OK, "%s", fl_error());
    assert_shape(&f, "encoder.weight_ih_l0", 2, 384, 1);
    assert_shape(&f, "encoder.weight_ih_l1", 2, 384, 128);
    assert_shape(&f, "encoder.weight_hh_l1", 2, 384, 128);
    assert_shape(&f, "decoder.weight_ih_l0", 2, 384, 1);
    assert_shape(&f, "decoder.bias_hh_l1", 1, 384, 0);
    assert_shape(&f, "dense.weight", 2, 3, 128);
    assert_shape(&f, "dense.bias", 1, 3, 0);
    size_t total = 0;
    for (size_t i = 0; i < f.n_tensors; ++i) total += fl_st_count(&f.tensors[i]);
    cr_assert(eq(sz, total, 299139), "the published teacher count");
    const char *want[][2] = {{"format", "fligru-seq2seq"}, {"version", "1"}, {"input", "1"},
                             {"outputs", "3"}, {"layers", "2"}, {"enc_hidden", "128"},
                             {"dec_hidden", "128"}, {"reset", "after"}, {"activation", "sigmoid"},
                             {"gate_order", "rzn"}};
    for (size_t i = 0; i < sizeof want / sizeof *want; ++i) {
        const char *v = fl_st_meta(&f, want[i][0]);
        cr_assert(v != NULL, "metadata %s missing", want[i][0]);
        cr_assert(eq(str, (char *)v, (char *)want[i][1]), "metadata %s", want[i][0]);
    }
    fl_st_free(&f);
    fl_s2s_free(&m);
    free(p);
    free(dir);
}

Test(model_io, student_round_trips_without_bias_hh)
{
    fl_s2s_config c = fl_s2s_config_student(32);
    round_trip(&c, "student");
    char *dir = tu_tmpdir("model");
    fl_s2s m;
    make_model(&m, &c, 2);
    char *p = path_in(dir, "s.safetensors");
    cr_assert_eq(fl_model_save(p, &m, NULL, 0, NULL, 0), FL_OK, "%s", fl_error());
    char names[1024];
    names_of(p, names, sizeof names);
    cr_assert(eq(str, names,
                 "encoder.weight_ih_l0 encoder.weight_hh_l0 encoder.bias_ih_l0 "
                 "decoder.weight_ih_l0 decoder.weight_hh_l0 decoder.bias_ih_l0 dense.weight dense.bias"));
    fl_st_file f;
    cr_assert_eq(fl_st_load(p, &f), FL_OK, "%s", fl_error());
    cr_assert(eq(str, (char *)fl_st_meta(&f, "reset"), "before"));
    size_t total = 0;
    for (size_t i = 0; i < f.n_tensors; ++i) total += fl_st_count(&f.tensors[i]);
    cr_assert(eq(sz, total, 6627), "the published student count");
    fl_st_free(&f);
    fl_s2s_free(&m);
    free(p);
    free(dir);
}

Test(model_io, asymmetric_model_round_trips_with_bridges)
{
    fl_s2s_config c = asym_config();
    round_trip(&c, "64x16");
    char *dir = tu_tmpdir("model");
    fl_s2s m;
    make_model(&m, &c, 3);
    char *p = path_in(dir, "a.safetensors");
    cr_assert_eq(fl_model_save(p, &m, NULL, 0, NULL, 0), FL_OK, "%s", fl_error());
    fl_st_file f;
    cr_assert_eq(fl_st_load(p, &f), FL_OK, "%s", fl_error());
    assert_shape(&f, "encoder.weight_hh_l0", 2, 192, 64);
    assert_shape(&f, "encoder.weight_ih_l1", 2, 192, 64);
    assert_shape(&f, "decoder.weight_hh_l1", 2, 48, 16);
    assert_shape(&f, "bridge.0.weight", 2, 16, 64);
    assert_shape(&f, "bridge.0.bias", 1, 16, 0);
    assert_shape(&f, "bridge.1.weight", 2, 16, 64);
    assert_shape(&f, "bridge.1.bias", 1, 16, 0);
    assert_shape(&f, "dense.weight", 2, 3, 16);
    cr_assert(eq(sz, f.n_tensors, 16 + 4 + 2));
    fl_st_free(&f);
    fl_s2s_free(&m);
    free(p);
    free(dir);
}

Test(model_io, keeps_hard_sigmoid_and_keras_gate_order)
{
    fl_s2s_config c = fl_s2s_config_student(16);
    c.act = FL_ACT_HARD_SIGMOID;
    c.order = FL_GATES_ZRN;
    c.outputs = 1;
    round_trip(&c, "qkeras student");
}

Test(model_io, carries_provenance_and_training_state)
{
    char *dir = tu_tmpdir("model");
    fl_s2s_config c = fl_s2s_config_student(16);
    fl_s2s m, back;
    make_model(&m, &c, 4);
    float *adam_m = malloc(m.n_params * sizeof *adam_m), *adam_v = malloc(m.n_params * sizeof *adam_v);
    for (size_t i = 0; i < m.n_params; ++i) {
        adam_m[i] = (float)i * 1e-3f;
        adam_v[i] = (float)i * 1e-6f;
    }
    int64_t step = 12345;
    fl_st_tensor ex[] = {
        {.name = "optim.m", .dtype = FL_ST_F32, .ndim = 1, .shape = {m.n_params}, .data = adam_m},
        {.name = "optim.v", .dtype = FL_ST_F32, .ndim = 1, .shape = {m.n_params}, .data = adam_v},
        {.name = "train.step", .dtype = FL_ST_I64, .ndim = 0, .data = &step},
    };
    fl_meta_kv kv[] = {{"command", "fligru train cfg.yaml"}, {"seed", "42"}, {"data_sha256", "ab12"}};
    char *p = path_in(dir, "ckpt.safetensors");
    cr_assert_eq(fl_model_save(p, &m, kv, 3, ex, 3), FL_OK, "%s", fl_error());

    fl_st_file rest;
    cr_assert_eq(fl_model_load(p, &back, &rest), FL_OK, "%s", fl_error());
    assert_same_model(&m, &back);
    cr_assert(eq(sz, rest.n_tensors, 3), "only the extras come back");
    const fl_st_tensor *am = fl_st_find(&rest, "optim.m"), *av = fl_st_find(&rest, "optim.v"),
                       *ts = fl_st_find(&rest, "train.step");
    cr_assert(am != NULL && av != NULL && ts != NULL);
    cr_assert(eq(int, memcmp(am->data, adam_m, m.n_params * sizeof(float)), 0));
    cr_assert(eq(int, memcmp(av->data, adam_v, m.n_params * sizeof(float)), 0));
    cr_assert(eq(i64, *(const int64_t *)ts->data, step));
    cr_assert(fl_st_find(&rest, "dense.weight") == NULL);
    cr_assert(eq(str, (char *)fl_st_meta(&rest, "seed"), "42"));
    cr_assert(eq(str, (char *)fl_st_meta(&rest, "command"), "fligru train cfg.yaml"));
    cr_assert(eq(str, (char *)fl_st_meta(&rest, "format"), FL_MODEL_FORMAT));
    fl_st_free(&rest);
    fl_s2s_free(&back);

    /* A checkpoint is also a model: without `rest` the extras are skipped. */
    cr_assert_eq(fl_model_load(p, &back, NULL), FL_OK, "%s", fl_error());
    assert_same_model(&m, &back);
    fl_s2s_free(&back);
    fl_s2s_free(&m);
    free(adam_m);
    free(adam_v);
    free(p);
    free(dir);
}

Test(model_io, save_rejects_reserved_keys_and_unprefixed_extras)
{
    char *dir = tu_tmpdir("model");
    fl_s2s_config c = fl_s2s_config_student(16);
    fl_s2s m;
    make_model(&m, &c, 5);
    char *p = path_in(dir, "x.safetensors");
    fl_meta_kv kv = {"layers", "9"};
    char want[4200];
    cr_assert_eq(fl_model_save(p, &m, &kv, 1, NULL, 0), FL_E_INPUT);
    snprintf(want, sizeof want, "%s: metadata layers: reserved (fligru writes it)", p);
    cr_assert(eq(str, (char *)fl_error(), want));
    float x[4] = {0};
    fl_st_tensor ex = {.name = "adam.m", .dtype = FL_ST_F32, .ndim = 1, .shape = {4}, .data = x};
    cr_assert_eq(fl_model_save(p, &m, NULL, 0, &ex, 1), FL_E_INPUT);
    snprintf(want, sizeof want, "%s: tensor adam.m: extra tensors must be named optim.* or train.*", p);
    cr_assert(eq(str, (char *)fl_error(), want));
    ex.name = "optim.m";
    ex.shape[0] = 0;
    cr_assert(eq(int, tu_exists(p), 0));
    cr_assert_eq(fl_model_save(p, &m, NULL, 0, &ex, 1), FL_OK, "%s", fl_error());
    fl_s2s_free(&m);
    free(p);
    free(dir);
}

/* ---- rejections: files edited from a valid one -------------------------- */

/* Copies src to dst with tensor `drop` left out, `repl` put in its place (or
 * appended when drop is NULL), and metadata key `mkey` set to `mval` (removed
 * when mval is NULL). */
static void rewrite(const char *src, const char *dst, const char *drop, const fl_st_tensor *repl,
                    const char *mkey, const char *mval)
{
    fl_st_file f;
    cr_assert_eq(fl_st_load(src, &f), FL_OK, "%s", fl_error());
    fl_st_tensor *t = calloc(f.n_tensors + 1, sizeof *t);
    fl_meta_kv *kv = calloc(f.n_meta + 1, sizeof *kv);
    size_t nt = 0, nk = 0;
    for (size_t i = 0; i < f.n_tensors; ++i) {
        if (drop && !strcmp(f.tensors[i].name, drop)) {
            if (repl) t[nt++] = *repl;
            continue;
        }
        t[nt++] = f.tensors[i];
    }
    if (!drop && repl) t[nt++] = *repl;
    int seen = 0;
    for (size_t i = 0; i < f.n_meta; ++i) {
        if (mkey && !strcmp(f.meta[i].key, mkey)) {
            seen = 1;
            if (mval) kv[nk++] = (fl_meta_kv){mkey, mval};
            continue;
        }
        kv[nk++] = f.meta[i];
    }
    if (mkey && mval && !seen) kv[nk++] = (fl_meta_kv){mkey, mval};
    cr_assert_eq(fl_st_save(dst, t, nt, kv, nk), FL_OK, "%s", fl_error());
    free(t);
    free(kv);
    fl_st_free(&f);
}

typedef struct {
    const fl_s2s_config *cfg;
    const char *drop;
    const fl_st_tensor *repl;
    const char *mkey, *mval;
    const char *expect;   /* the whole message after "<path>: " */
} edit_case;

static void expect_rejected(const char *dir, int k, const edit_case *e)
{
    fl_s2s m, back;
    make_model(&m, e->cfg, 11);
    char *good = path_in(dir, "good.safetensors"), name[64];
    snprintf(name, sizeof name, "bad%d.safetensors", k);
    char *bad = path_in(dir, name);
    cr_assert_eq(fl_model_save(good, &m, NULL, 0, NULL, 0), FL_OK, "%s", fl_error());
    rewrite(good, bad, e->drop, e->repl, e->mkey, e->mval);
    fl_st_file rest;
    cr_assert_eq(fl_model_load(bad, &back, &rest), FL_E_INPUT, "case %d accepted", k);
    char want[1024];
    snprintf(want, sizeof want, "%s: %s", bad, e->expect);
    cr_assert(eq(str, (char *)fl_error(), want), "case %d", k);
    cr_assert(eq(sz, rest.n_tensors, 0));
    fl_s2s_free(&m);
    free(good);
    free(bad);
}

Test(model_io, rejects_wrong_tensors_with_exact_messages)
{
    char *dir = tu_tmpdir("model");
    fl_s2s_config st = fl_s2s_config_student(32), te = fl_s2s_config_teacher(), as = asym_config();
    static float buf[96 * 32];
    static double dbuf[3 * 32];
    fl_st_tensor narrow = {.name = "decoder.weight_hh_l0", .dtype = FL_ST_F32, .ndim = 2, .shape = {96, 31}, .data = buf};
    fl_st_tensor as_f64 = {.name = "dense.weight", .dtype = FL_ST_F64, .ndim = 2, .shape = {3, 32}, .data = dbuf};
    fl_st_tensor foreign = {.name = "head.weight", .dtype = FL_ST_F32, .ndim = 1, .shape = {4}, .data = buf};
    fl_st_tensor bias_hh = {.name = "encoder.bias_hh_l0", .dtype = FL_ST_F32, .ndim = 1, .shape = {96}, .data = buf};
    fl_st_tensor flat = {.name = "bridge.1.weight", .dtype = FL_ST_F32, .ndim = 1, .shape = {1024}, .data = buf};
    const edit_case cases[] = {
        {&te, "decoder.bias_hh_l1", NULL, NULL, NULL, "tensor decoder.bias_hh_l1: missing, expected F32 [384]"},
        {&as, "bridge.0.weight", NULL, NULL, NULL, "tensor bridge.0.weight: missing, expected F32 [16,64]"},
        {&st, "decoder.weight_hh_l0", &narrow, NULL, NULL, "tensor decoder.weight_hh_l0: shape [96,31], expected [96,32]"},
        {&as, "bridge.1.weight", &flat, NULL, NULL, "tensor bridge.1.weight: shape [1024], expected [16,64]"},
        {&st, "dense.weight", &as_f64, NULL, NULL, "tensor dense.weight: dtype F64, expected F32"},
        {&st, NULL, &foreign, NULL, NULL, "tensor head.weight: unexpected in a 1-layer 32x32 model"},
        {&st, NULL, &bias_hh, NULL, NULL, "tensor encoder.bias_hh_l0: unexpected: a reset-before model has "
                                           "one bias vector, bias_ih (see seq2seq.h)"},
        {&st, NULL, NULL, "format", "fligru-qseq2seq", "format \"fligru-qseq2seq\", expected \"fligru-seq2seq\""},
        {&st, NULL, NULL, "format", NULL, "__metadata__ has no \"format\": not a fligru model file"},
        {&st, NULL, NULL, "version", "2", "format version 2; this fligru reads version 1"},
        {&st, NULL, NULL, "layers", NULL, "__metadata__ has no \"layers\""},
        {&st, NULL, NULL, "enc_hidden", "32.5", "__metadata__ enc_hidden: \"32.5\" is not a count"},
        {&st, NULL, NULL, "reset", "middle", "__metadata__ reset: \"middle\" is not after or before"},
        {&st, NULL, NULL, "activation", "relu", "__metadata__ activation: \"relu\" is not sigmoid or hard_sigmoid"},
        {&st, NULL, NULL, "gate_order", "nzr", "__metadata__ gate_order: \"nzr\" is not rzn or zrn"},
        /* metadata says 16 units, the tensors hold 32: the first tensor says so */
        {&st, NULL, NULL, "enc_hidden", "16", "tensor encoder.weight_ih_l0: shape [96,1], expected [48,1]"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; ++k) expect_rejected(dir, (int)k, &cases[k]);
    free(dir);
}

Test(model_io, rejects_non_finite_weights)
{
    char *dir = tu_tmpdir("model");
    fl_s2s_config c = fl_s2s_config_student(16);
    fl_s2s m, back;
    make_model(&m, &c, 6);
    char *p = path_in(dir, "n.safetensors");
    cr_assert_eq(fl_model_save(p, &m, NULL, 0, NULL, 0), FL_OK, "%s", fl_error());
    float w[3 * 16];
    memcpy(w, m.dense_w, sizeof w);
    w[17] = NAN;
    fl_st_tensor t = {.name = "dense.weight", .dtype = FL_ST_F32, .ndim = 2, .shape = {3, 16}, .data = w};
    char *bad = path_in(dir, "nan.safetensors");
    rewrite(p, bad, "dense.weight", &t, NULL, NULL);
    cr_assert_eq(fl_model_load(bad, &back, NULL), FL_E_INPUT);
    char want[4200];
    snprintf(want, sizeof want, "%s: tensor dense.weight: NaN at [17]", bad);
    cr_assert(eq(str, (char *)fl_error(), want));
    /* Saving a diverged model is refused the same way. */
    m.dense_w[5] = INFINITY;
    cr_assert_eq(fl_model_save(p, &m, NULL, 0, NULL, 0), FL_E_INPUT);
    snprintf(want, sizeof want, "%s: tensor dense.weight: Inf at [5]", p);
    cr_assert(eq(str, (char *)fl_error(), want));
    fl_s2s_free(&m);
    free(p);
    free(bad);
    free(dir);
}
