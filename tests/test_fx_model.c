/* test_fx_model.c - the fixed-point model: PTQ, the batched kernels against the
 * reference bit for bit (random formats, every kernel this CPU has, 1 and 2
 * threads), files, and float-vs-fixed agreement within a bound derived from the
 * formats (docs/fixed-point.md §7). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/fxmodel.h"
#include "fligru/io.h"
#include "fligru/rng.h"
#include "fligru/seq2seq.h"
#include "testutil.h"

/* ---- random models, formats and data ------------------------------------------------- */

static int rint_in(fl_rng *r, int lo, int hi)
{
    return lo + (int)(fl_rng_u32(r) % (uint32_t)(hi - lo + 1));
}

static fl_fx_q rand_q(fl_rng *r, int lo, int hi, int int_lo, int int_hi)
{
    fl_fx_q q;
    q.bits = rint_in(r, lo, hi);
    int ib = rint_in(r, int_lo, int_hi);
    if (ib > q.bits) ib = q.bits;
    q.frac = q.bits - ib;
    return q;
}

static fl_fx_act rand_act(fl_rng *r, const fl_fx_format *f)
{
    fl_fx_act a = {FL_FX_ACT_TABLE, 1, 0};
    if (rint_in(r, 0, 3) == 0) {
        a.kind = FL_FX_ACT_HARD;
        return a;
    }
    a.range_log2 = rint_in(r, -1, 4);
    const int maxn = f->gate.frac + a.range_log2 + 1;
    a.size_log2 = rint_in(r, 1, maxn < 1 ? 1 : maxn > 12 ? 12 : maxn);
    return a;
}

/* A valid random format; wild = 1 allows absurdly narrow words (saturation and
 * wrap everywhere). */
static fl_fx_format rand_format(fl_rng *r, int wild)
{
    for (;;) {
        fl_fx_format f;
        fl_fx_format_default(&f);
        f.round = (fl_fx_round)rint_in(r, 0, 2);
        f.input = rand_q(r, wild ? 2 : 6, 20, 1, 3);
        f.weight_bits = rint_in(r, 2, 16);
        f.weight_scale = (fl_fx_scale)rint_in(r, 0, 2);
        f.weight_pow2 = f.weight_scale != FL_FX_SCALE_FIXED && rint_in(r, 0, 2) == 0;
        f.weight_frac = rint_in(r, 0, f.weight_bits - 1);
        f.bias = rand_q(r, wild ? 2 : 6, 24, 1, 5);
        f.gate = rand_q(r, wild ? 3 : 8, 26, 2, 7);
        f.act = rand_q(r, wild ? 3 : 6, 18, 1, 2);
        f.state = rand_q(r, wild ? 3 : 6, 28, 1, 3);
        f.output = rand_q(r, wild ? 2 : 6, 24, 1, 5);
        f.acc_bits = rint_in(r, wild ? 4 : 16, 32);
        f.acc_auto = rint_in(r, 0, 1);
        f.acc_frac = rint_in(r, 0, f.acc_bits - 1);
        f.mult_bits = rint_in(r, 2, 31);
        f.sigmoid = rand_act(r, &f);
        f.tanh = rand_act(r, &f);
        if (fl_fx_format_check(&f, "") == FL_OK) return f;
    }
}

static fl_s2s_config rand_config(fl_rng *r)
{
    fl_s2s_config c = fl_s2s_config_student(rint_in(r, 1, 40));
    c.layers = rint_in(r, 1, 2);
    c.dec_hidden = rint_in(r, 0, 2) == 0 ? rint_in(r, 1, 40) : c.enc_hidden;
    c.input = rint_in(r, 0, 3) == 0 ? rint_in(r, 2, 5) : 1;
    c.outputs = rint_in(r, 1, 4);
    c.reset = (fl_reset)rint_in(r, 0, 1);
    c.act = (fl_recur_act)rint_in(r, 0, 1);
    c.order = (fl_gate_order)rint_in(r, 0, 1);
    return c;
}

/* A random float model; gain scales every parameter (large gains saturate). */
static void rand_model(fl_s2s *m, const fl_s2s_config *c, uint64_t seed, double gain)
{
    cr_assert(eq(int, fl_s2s_init(m, c), FL_OK));
    fl_s2s_init_random(m, seed);
    for (size_t i = 0; i < m->n_params; ++i) m->params[i] = (float)(m->params[i] * gain);
}

static void rand_input(fl_rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; ++i) x[i] = (float)fl_rng_range(r, -0.2, 1.3);
}

/* Quantises a random model under a random format; returns 0 when PTQ refuses
 * it (an overflow with overflow: error cannot happen: warn is the default). */
static void make_case(uint64_t seed, int wild, fl_fx_model *q, fl_s2s *m)
{
    fl_rng r;
    fl_rng_init(&r, seed, 0);
    fl_s2s_config c = rand_config(&r);
    fl_fx_format f = rand_format(&r, wild);
    rand_model(m, &c, seed, wild ? fl_rng_range(&r, 0.5, 20.0) : 1.0);
    fl_status st = fl_fx_quantize(m, &f, q, NULL);
    if (st) {
        char s[512];
        fl_fx_format_str(&f, s, sizeof s);
        cr_fatal("quantize failed (seed %llu): %s [%s]", (unsigned long long)seed, fl_error(), s);
    }
}

static int32_t *quantized_input(const fl_fx_model *q, fl_rng *r, size_t count)
{
    float *x = malloc(count * sizeof *x);
    int32_t *xq = malloc(count * sizeof *xq);
    cr_assert(x != NULL && xq != NULL);
    rand_input(r, x, count);
    fl_fx_quantize_input(q, x, count, xq);
    free(x);
    return xq;
}

static const fl_fx_kernel KERNELS[] = {FL_FX_KERNEL_GENERIC, FL_FX_KERNEL_AVX2, FL_FX_KERNEL_AVX512};

/* Reference outputs of n pixels. */
static int32_t *ref_outputs(const fl_fx_model *q, const int32_t *xq, size_t n, int T)
{
    const size_t in = (size_t)T * q->cfg.input, out = (size_t)T * q->cfg.outputs;
    int32_t *y = malloc(n * out * sizeof *y);
    cr_assert(y != NULL);
    for (size_t i = 0; i < n; ++i) cr_assert(eq(int, fl_fx_forward_ref(q, xq + i * in, T, y + i * out, NULL), FL_OK));
    return y;
}

static void expect_same(const int32_t *a, const int32_t *b, size_t n, const char *what, uint64_t seed)
{
    for (size_t i = 0; i < n; ++i)
        if (a[i] != b[i])
            cr_fatal("%s (case %llu): first difference at [%zu]: %d vs %d", what, (unsigned long long)seed, i,
                     a[i], b[i]);
}

/* ---- fast path == reference -------------------------------------------------------------- */

static void forward_case(uint64_t seed, int wild)
{
    fl_fx_model q;
    fl_s2s m;
    make_case(seed, wild, &q, &m);
    fl_rng r;
    fl_rng_init(&r, seed, 1);
    const size_t n = (size_t)rint_in(&r, 1, 70);
    const int T = rint_in(&r, 1, 12);
    int32_t *xq = quantized_input(&q, &r, n * T * q.cfg.input);
    int32_t *ref = ref_outputs(&q, xq, n, T);
    const size_t ny = n * T * q.cfg.outputs;
    int32_t *y = malloc(ny * sizeof *y);
    cr_assert(y != NULL);
    for (size_t k = 0; k < sizeof KERNELS / sizeof KERNELS[0]; ++k) {
        if (!fl_fx_kernel_supported(KERNELS[k])) continue;
        cr_assert(eq(int, fl_fx_set_kernel(KERNELS[k]), FL_OK));
        memset(y, 0x5a, ny * sizeof *y);
        cr_assert(eq(int, fl_fx_forward(&q, xq, n, T, y), FL_OK));
        char what[64];
        snprintf(what, sizeof what, "forward, kernel %s", fl_fx_kernel_name(KERNELS[k]));
        expect_same(ref, y, ny, what, seed);
    }
    fl_fx_set_kernel(FL_FX_KERNEL_AUTO);
    free(y);
    free(ref);
    free(xq);
    fl_s2s_free(&m);
    fl_fx_model_free(&q);
}

Test(fx_model, forward_matches_reference_random_formats, .timeout = 120)
{
    for (uint64_t s = 1; s <= 60; ++s) forward_case(s, 0);
}

Test(fx_model, forward_matches_reference_wild_formats, .timeout = 120)
{
    for (uint64_t s = 1000; s < 1060; ++s) forward_case(s, 1);
}

/* Steps on arbitrary states (anywhere in the state's range, beyond |h| <= 1). */
static void step_case(uint64_t seed)
{
    fl_fx_model q;
    fl_s2s m;
    make_case(seed, 1, &q, &m);
    fl_rng r;
    fl_rng_init(&r, seed, 2);
    const size_t n = (size_t)rint_in(&r, 1, 45);
    const fl_fx_format *f = &q.fmt;
    for (int dec = 0; dec < 2; ++dec)
        for (int l = 0; l < q.cfg.layers; ++l) {
            const fl_fx_layer *L = dec ? &q.dec[l] : &q.enc[l];
            const int H = L->hidden, In = L->input;
            const int vbits = !dec && l == 0 ? f->input.bits : f->state.bits;
            int32_t *v = malloc(n * In * sizeof *v), *h = malloc(n * H * sizeof *h), *h2 = malloc(n * H * sizeof *h2);
            cr_assert(v != NULL && h != NULL && h2 != NULL);
            for (size_t i = 0; i < n * In; ++i)
                v[i] = (int32_t)(fl_rng_u64(&r) % (UINT64_C(1) << vbits)) + (int32_t)fl_fx_min(vbits);
            for (size_t i = 0; i < n * H; ++i)
                h[i] = (int32_t)(fl_rng_u64(&r) % (UINT64_C(1) << f->state.bits)) + (int32_t)fl_fx_min(f->state.bits);
            memcpy(h2, h, n * H * sizeof *h);
            for (size_t i = 0; i < n; ++i) {
                fl_status st = dec ? fl_fx_dec_step_ref(&q, l, v + i * In, h + i * H, NULL)
                                   : fl_fx_enc_step_ref(&q, l, v + i * In, h + i * H, NULL);
                cr_assert(eq(int, st, FL_OK));
            }
            for (size_t k = 0; k < sizeof KERNELS / sizeof KERNELS[0]; ++k) {
                if (!fl_fx_kernel_supported(KERNELS[k])) continue;
                fl_fx_set_kernel(KERNELS[k]);
                int32_t *h3 = malloc(n * H * sizeof *h3);
                cr_assert(h3 != NULL);
                memcpy(h3, h2, n * H * sizeof *h3);
                fl_status st = dec ? fl_fx_dec_step(&q, l, n, v, h3) : fl_fx_enc_step(&q, l, n, v, h3);
                cr_assert(eq(int, st, FL_OK));
                char what[64];
                snprintf(what, sizeof what, "%s step l%d, kernel %s", dec ? "decoder" : "encoder", l,
                         fl_fx_kernel_name(KERNELS[k]));
                expect_same(h, h3, n * H, what, seed);
                free(h3);
            }
            free(v);
            free(h);
            free(h2);
        }
    /* Dense head on arbitrary states. */
    const int D = q.cfg.dec_hidden, C = q.cfg.outputs;
    int32_t *h = malloc(n * D * sizeof *h), *y = malloc(n * C * sizeof *y), *y2 = malloc(n * C * sizeof *y2);
    cr_assert(h != NULL && y != NULL && y2 != NULL);
    for (size_t i = 0; i < n * D; ++i)
        h[i] = (int32_t)(fl_rng_u64(&r) % (UINT64_C(1) << f->state.bits)) + (int32_t)fl_fx_min(f->state.bits);
    for (size_t i = 0; i < n; ++i) fl_fx_dense_ref(&q, h + i * D, y + i * C);
    for (size_t k = 0; k < sizeof KERNELS / sizeof KERNELS[0]; ++k) {
        if (!fl_fx_kernel_supported(KERNELS[k])) continue;
        fl_fx_set_kernel(KERNELS[k]);
        cr_assert(eq(int, fl_fx_dense(&q, n, h, y2), FL_OK));
        expect_same(y, y2, n * C, "dense", seed);
    }
    fl_fx_set_kernel(FL_FX_KERNEL_AUTO);
    free(h);
    free(y);
    free(y2);
    fl_s2s_free(&m);
    fl_fx_model_free(&q);
}

Test(fx_model, steps_match_reference_on_arbitrary_states, .timeout = 120)
{
    for (uint64_t s = 2000; s < 2080; ++s) step_case(s);
}

/* The benchmark's format (int16 VNNI path) and the teacher's shape. */
Test(fx_model, student_and_teacher_shapes_match_reference, .timeout = 120)
{
    const char *cfgs[] = {"fx-w8s16.yaml", "fx-default.yaml", "fx-hls.yaml", "fx-pow2.yaml", "fx-w8s8.yaml"};
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; ++k) {
        char path[512];
        snprintf(path, sizeof path, "%s/configs/%s", FLIGRU_SOURCE_DIR, cfgs[k]);
        fl_fx_format f;
        cr_assert(eq(int, fl_fx_format_load(path, &f), FL_OK), "%s", fl_error());
        for (int teacher = 0; teacher < 2; ++teacher) {
            fl_s2s_config c = teacher ? fl_s2s_config_teacher() : fl_s2s_config_student(32);
            if (teacher) c.enc_hidden = c.dec_hidden = 48;   /* keep the test short */
            fl_s2s m;
            rand_model(&m, &c, 7 + k, 1.0);
            fl_fx_model q;
            cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, NULL), FL_OK), "%s", fl_error());
            fl_rng r;
            fl_rng_init(&r, 99, k);
            const size_t n = 40;
            const int T = 20;
            int32_t *xq = quantized_input(&q, &r, n * T);
            int32_t *ref = ref_outputs(&q, xq, n, T);
            int32_t *y = malloc(n * T * 3 * sizeof *y);
            cr_assert(y != NULL);
            for (size_t j = 0; j < sizeof KERNELS / sizeof KERNELS[0]; ++j) {
                if (!fl_fx_kernel_supported(KERNELS[j])) continue;
                fl_fx_set_kernel(KERNELS[j]);
                cr_assert(eq(int, fl_fx_forward(&q, xq, n, T, y), FL_OK));
                expect_same(ref, y, n * T * 3, cfgs[k], (uint64_t)teacher);
            }
            fl_fx_set_kernel(FL_FX_KERNEL_AUTO);
            free(y);
            free(ref);
            free(xq);
            fl_fx_model_free(&q);
            fl_s2s_free(&m);
        }
    }
}

Test(fx_model, one_and_two_threads_agree, .timeout = 60)
{
    fl_fx_format f;
    fl_fx_format_default(&f);
    fl_s2s_config c = fl_s2s_config_student(32);
    fl_s2s m;
    rand_model(&m, &c, 5, 1.0);
    fl_fx_model q;
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, NULL), FL_OK));
    fl_rng r;
    fl_rng_init(&r, 3, 0);
    const size_t n = 1000;
    const int T = 30;
    int32_t *xq = quantized_input(&q, &r, n * T);
    int32_t *y1 = malloc(n * T * 3 * sizeof *y1), *y2 = malloc(n * T * 3 * sizeof *y2);
    cr_assert(y1 != NULL && y2 != NULL);
    const int old = fl_get_threads();
    fl_set_threads(1);
    cr_assert(eq(int, fl_fx_forward(&q, xq, n, T, y1), FL_OK));
    fl_set_threads(2);
    cr_assert(eq(int, fl_fx_forward(&q, xq, n, T, y2), FL_OK));
    fl_set_threads(old);
    expect_same(y1, y2, n * T * 3, "1 vs 2 threads", 0);
    free(y1);
    free(y2);
    free(xq);
    fl_fx_model_free(&q);
    fl_s2s_free(&m);
}

/* ---- PTQ ------------------------------------------------------------------------------------ */

Test(fx_model, ptq_symmetric_per_row_and_per_tensor)
{
    fl_s2s_config c = fl_s2s_config_student(4);
    fl_s2s m;
    rand_model(&m, &c, 11, 1.0);
    /* Row 0 of the encoder's w_hh: a known row with a tie. */
    float *w = m.enc[0].w_hh;
    const float row[4] = {0.5f, -0.25f, 0.125f, -0.0625f};
    memcpy(w, row, sizeof row);
    fl_fx_format f;
    fl_fx_format_default(&f);
    f.weight_bits = 4;      /* q_max = 7, s = 0.5 / 7 */
    fl_fx_model q;
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, NULL), FL_OK));
    /* 0.5/s = 7; -0.25/s = -3.5 -> -4 (ties to even); 0.125/s = 1.75 -> 2; -0.0625/s = -0.875 -> -1 */
    int32_t want[4] = {7, -4, 2, -1};
    cr_assert(eq(i32[4], q.enc[0].wh.q, want));
    for (size_t i = 0; i < (size_t)q.enc[0].wh.rows * 4; ++i) cr_assert(q.enc[0].wh.q[i] >= -7 && q.enc[0].wh.q[i] <= 7);
    fl_fx_model_free(&q);
    /* Per tensor: one (M, S) on every row, the tensor's max maps to +-7. */
    f.weight_scale = FL_FX_SCALE_TENSOR;
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, NULL), FL_OK));
    int hit = 0;
    for (int j = 0; j < q.enc[0].wh.rows; ++j) {
        cr_assert(eq(i32, q.enc[0].wh.mult[j], q.enc[0].wh.mult[0]));
        cr_assert(eq(i32, q.enc[0].wh.shift[j], q.enc[0].wh.shift[0]));
        for (int k = 0; k < 4; ++k) hit |= abs(q.enc[0].wh.q[j * 4 + k]) == 7;
    }
    cr_assert(hit);
    fl_fx_model_free(&q);
    fl_s2s_free(&m);
}

Test(fx_model, pow2_scales_make_every_multiplier_one)
{
    fl_s2s_config c = fl_s2s_config_student(8);
    fl_s2s m;
    rand_model(&m, &c, 12, 1.0);
    fl_fx_format f;
    fl_fx_format_default(&f);
    f.weight_pow2 = 1;
    fl_fx_model q;
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, NULL), FL_OK));
    const fl_fx_matrix *ms[] = {&q.enc[0].wx, &q.enc[0].wh, &q.dec[0].wh, &q.dense_w};
    for (size_t i = 0; i < 4; ++i)
        for (int j = 0; j < ms[i]->rows; ++j) cr_assert(eq(i32, ms[i]->mult[j], 1));
    fl_fx_model_free(&q);
    fl_s2s_free(&m);
}

/* A pow2 row whose rescale would need a right shift beyond 62 is refused with
 * the tensor and row named (docs/fixed-point.md §3, §10), not quantised wrongly. */
Test(fx_model, pow2_row_shift_beyond_62_is_refused)
{
    fl_s2s_config c = fl_s2s_config_student(8);
    fl_s2s m;
    rand_model(&m, &c, 12, 1.0);
    for (int k = 0; k < 8; ++k) m.enc[0].w_hh[7 * 8 + k] = 1e-30f;   /* row 7: scale about 2^-106 */
    fl_fx_format f;
    fl_fx_format_default(&f);
    f.weight_pow2 = 1;
    fl_fx_model q;
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, NULL), FL_E_INPUT));
    cr_assert(strstr(fl_error(), "encoder.weight_hh_l0: row 7: rescale factor") != NULL, "%s", fl_error());
    cr_assert(strstr(fl_error(), "needs a right shift beyond 62") != NULL, "%s", fl_error());
    fl_s2s_free(&m);
}

Test(fx_model, auto_accumulator_never_overflows_and_explicit_one_is_checked)
{
    fl_s2s_config c = fl_s2s_config_student(32);
    fl_s2s m;
    rand_model(&m, &c, 13, 1.0);
    fl_fx_format f;
    fl_fx_format_default(&f);
    f.weight_bits = 16;
    f.state = (fl_fx_q){24, 22};
    fl_fx_model q;
    fl_fx_report rep;
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, &rep), FL_OK));
    cr_assert(eq(int, rep.overflow_rows, 0));
    cr_assert(rep.acc_bits_needed <= 32);
    cr_assert(q.fmt.acc_frac < 15 + 22, "auto must drop product bits here (acc_frac %d)", q.fmt.acc_frac);
    fl_fx_model_free(&q);
    /* Exact products (D = 0) cannot fit 32 bits here: warn by default, error on request. */
    f.acc_auto = 0;
    f.acc_frac = 31;
    f.state = (fl_fx_q){24, 16};      /* D_h = 15 + 16 - 31 = 0 */
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, &rep), FL_OK));
    cr_assert(rep.overflow_rows > 0);
    cr_assert(rep.acc_bits_needed > 32);
    fl_fx_model_free(&q);
    f.overflow_error = 1;
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, &rep), FL_E_INPUT));
    cr_assert(strstr(fl_error(), "accumulator") != NULL, "%s", fl_error());
    fl_s2s_free(&m);
}

Test(fx_model, tables_are_generated_from_the_float_functions)
{
    fl_s2s_config c = fl_s2s_config_student(4);
    fl_s2s m;
    rand_model(&m, &c, 14, 1.0);
    fl_fx_format f;
    fl_fx_format_default(&f);
    f.sigmoid = (fl_fx_act){FL_FX_ACT_TABLE, 4, 3};   /* 16 entries over [-8, 8): bins of 1 */
    f.tanh = (fl_fx_act){FL_FX_ACT_TABLE, 3, 1};      /* 8 entries over [-2, 2): bins of 1/2 */
    fl_fx_model q;
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, NULL), FL_OK));
    for (int i = 0; i < 16; ++i) {
        const double x = -8.0 + i + 0.5;
        cr_assert(eq(i32, q.sigmoid_table[i], (int32_t)fl_fx_round_double(ldexp(1.0 / (1.0 + exp(-x)), 14))));
    }
    for (int i = 0; i < 8; ++i)
        cr_assert(eq(i32, q.tanh_table[i], (int32_t)fl_fx_round_double(ldexp(tanh(-2.0 + 0.5 * i + 0.25), 14))));
    fl_fx_model_free(&q);
    fl_s2s_free(&m);
}

/* ---- files ------------------------------------------------------------------------------------ */

Test(fx_model, save_load_round_trip_is_exact)
{
    char *dir = tu_tmpdir("fxio");
    char path[1024];
    snprintf(path, sizeof path, "%s/q.safetensors", dir);
    for (uint64_t s = 3000; s < 3020; ++s) {
        fl_fx_model q, q2;
        fl_s2s m;
        make_case(s, s & 1, &q, &m);
        cr_assert(eq(int, fl_fx_save(path, &q, NULL, 0), FL_OK), "%s", fl_error());
        cr_assert(eq(int, fl_fx_load(path, &q2), FL_OK), "%s", fl_error());
        char s1[512], s2[512];
        fl_fx_format_str(&q.fmt, s1, sizeof s1);
        fl_fx_format_str(&q2.fmt, s2, sizeof s2);
        cr_assert(eq(str, s1, s2));
        fl_rng r;
        fl_rng_init(&r, s, 9);
        const int T = 5;
        int32_t *xq = quantized_input(&q, &r, (size_t)T * q.cfg.input);
        int32_t *y1 = ref_outputs(&q, xq, 1, T), *y2 = ref_outputs(&q2, xq, 1, T);
        expect_same(y1, y2, (size_t)T * q.cfg.outputs, "reloaded model", s);
        free(y1);
        free(y2);
        free(xq);
        fl_fx_model_free(&q);
        fl_fx_model_free(&q2);
        fl_s2s_free(&m);
    }
    free(dir);
}

/* ---- float vs fixed within a bound from the formats (docs §7) --------------------------------- */

/* Dense head on an exactly representable state: |y_fx - y_float| is bounded by
 * weight rounding (s_c/2 per weight times |h|), the multiplier's relative error
 * (2^-(m_b-1) of the accumulated value), bias rounding and alignment, and the
 * two rescale/alignment roundings into F_o (one LSB each, truncating). */
Test(fx_model, dense_head_within_format_bound)
{
    fl_s2s_config c = fl_s2s_config_student(32);
    fl_s2s m;
    rand_model(&m, &c, 21, 1.0);
    const char *fmts[] = {"fx-default.yaml", "fx-w8s16.yaml", "fx-hls.yaml"};
    for (size_t k = 0; k < 3; ++k) {
        char path[512];
        snprintf(path, sizeof path, "%s/configs/%s", FLIGRU_SOURCE_DIR, fmts[k]);
        fl_fx_format f;
        cr_assert(eq(int, fl_fx_format_load(path, &f), FL_OK));
        fl_fx_model q;
        cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, NULL), FL_OK));
        fl_rng r;
        fl_rng_init(&r, 5, k);
        const int D = 32;
        for (int trial = 0; trial < 200; ++trial) {
            int32_t h[32], y[3];
            double hf[32];
            for (int j = 0; j < D; ++j) {
                h[j] = (int32_t)fl_fx_from_double(fl_rng_range(&r, -1, 1), f.state, FL_FX_HALF_EVEN);
                hf[j] = fl_fx_to_double(h[j], f.state.frac);
            }
            fl_fx_dense_ref(&q, h, y);
            for (int cc = 0; cc < 3; ++cc) {
                double yf = m.dense_b[cc], sumabs = 0, s_max = 0;
                for (int j = 0; j < D; ++j) {
                    yf += (double)m.dense_w[cc * D + j] * hf[j];
                    sumabs += fabs((double)m.dense_w[cc * D + j] * hf[j]);
                }
                /* the row's scale: max|w| / q_max (or 2^-F_w) */
                for (int j = 0; j < D; ++j) s_max = fmax(s_max, fabs((double)m.dense_w[cc * D + j]));
                s_max = f.weight_scale == FL_FX_SCALE_FIXED ? ldexp(1.0, -f.weight_frac)
                                                           : s_max / (double)fl_fx_max(f.weight_bits);
                double hsum = 0;
                for (int j = 0; j < D; ++j) hsum += fabs(hf[j]);
                const double lsb_o = ldexp(1.0, -f.output.frac), lsb_b = ldexp(1.0, -f.bias.frac);
                const double lsb_acc = s_max * ldexp(1.0, fl_fx_weight_frac(&q.fmt) - q.fmt.acc_frac);
                const int D_h = fl_fx_product_shift(&q.fmt, f.state.frac);
                const double bound = 0.5 * s_max * hsum                               /* weights   */
                                     + (D_h > 0 ? D * lsb_acc : 0)                      /* products  */
                                     + ldexp(sumabs + 1.0, 1 - f.mult_bits)             /* multiplier */
                                     + lsb_b + 2 * lsb_o;                               /* bias, roundings */
                const double got = fl_fx_to_double(y[cc], f.output.frac);
                if (fabs(yf) < 1.0)    /* inside the output range: no saturation */
                    cr_assert(fabs(got - yf) <= bound, "%s: output %d: fixed %.6f float %.6f bound %.6f", fmts[k], cc,
                              got, yf, bound);
            }
        }
        fl_fx_model_free(&q);
    }
    fl_s2s_free(&m);
}

/* One decoder step (zero input) from an exactly representable state, against
 * the float step, unit by unit, within a bound built from the formats (docs §7):
 *   gate row i:  e_i = (s_i/2) sum|v| (weights) + H acc_lsb_i/2 (product
 *                rounding, D > 0) + 2^-m_b (sum|w v| + (s_i/2) sum|v|) (multiplier)
 *                + lsb_g/2 (rescale) + one bias rounding 2^-(F_b+1) per bias
 *                + sum (|w| + s_i/2) Δv (an operand carrying an error: r ⊙ h)
 *   sigmoid:     e/4 + Δ/8 + lsb_a/2 + tail     tanh: e + Δ/2 + lsb_a/2 + tail
 *                (Lipschitz 1/4 and 1, half a bin, the entry's rounding, the clamp)
 *   r ⊙ (.)      Δr |x| + r Δx + Δr Δx + one rounding
 *   h' = n + z (h - n):  (1 - z) Δn + Δz |h - n| + Δz Δn + lsb_h/2 */
typedef struct {
    double e;       /* bound on |pre_fx - pre_float| */
    double pre;     /* the float pre-activation      */
} row_err;

static row_err gate_row(const fl_fx_format *f, const fl_fx_model *q, const float *w, int H, const double *v,
                        const double *dv, double bias, int nbias)
{
    double amax = 0, sum_wv = 0, sum_v = 0, sum_wdv = 0, sum_dv = 0, pre = bias;
    for (int k = 0; k < H; ++k) {
        amax = fmax(amax, fabs((double)w[k]));
        sum_wv += fabs((double)w[k] * v[k]);
        sum_v += fabs(v[k]);
        sum_wdv += fabs((double)w[k]) * (dv ? dv[k] : 0);
        sum_dv += dv ? dv[k] : 0;
        pre += (double)w[k] * v[k];
    }
    const double s = amax / (double)fl_fx_max(f->weight_bits);
    const int D = fl_fx_product_shift(&q->fmt, f->state.frac);
    const double acc_lsb = s * ldexp(1.0, fl_fx_weight_frac(&q->fmt) - q->fmt.acc_frac);
    const double lsb_g = ldexp(1.0, -f->gate.frac);
    row_err r;
    r.pre = pre;
    r.e = 0.5 * s * sum_v + (D > 0 ? H * 0.5 * acc_lsb : 0) + ldexp(sum_wv + 0.5 * s * sum_v, -f->mult_bits) +
          0.5 * lsb_g + nbias * ldexp(1.0, -f->bias.frac - 1) + sum_wdv + 0.5 * s * sum_dv;
    return r;
}

static double table_err(const fl_fx_format *f, const fl_fx_act *a, int sig, double pre, double e)
{
    const double R = ldexp(1.0, a->range_log2), delta = 2 * R / ldexp(1.0, a->size_log2);
    const double lsb_a = ldexp(1.0, -f->act.frac);
    double tail = 0;
    if (fabs(pre) + e >= R - delta) tail = sig ? 1.0 / (1.0 + exp(R - delta)) : 1.0 - tanh(R - delta);
    return (sig ? 0.25 : 1.0) * e + (sig ? delta / 8 : delta / 2) + 0.5 * lsb_a + tail;
}

static double sigm(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

Test(fx_model, one_step_within_format_bound)
{
    for (int variant = 0; variant < 2; ++variant) {
        fl_s2s_config c = fl_s2s_config_student(32);
        c.reset = variant ? FL_RESET_BEFORE : FL_RESET_AFTER;
        fl_s2s m;
        rand_model(&m, &c, 31 + variant, 1.0);
        char path[512];
        snprintf(path, sizeof path, "%s/configs/fx-default.yaml", FLIGRU_SOURCE_DIR);
        fl_fx_format f;
        cr_assert(eq(int, fl_fx_format_load(path, &f), FL_OK));
        fl_fx_model q;
        cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, NULL), FL_OK));
        const int H = 32;
        const fl_gru_layer *g = &m.dec[0];
        const double lsb_h = ldexp(1.0, -f.state.frac), lsb_g = ldexp(1.0, -f.gate.frac);
        fl_rng r;
        fl_rng_init(&r, 77, variant);
        double worst = 0, worst_ratio = 0;
        for (int trial = 0; trial < 100; ++trial) {
            int32_t h[32];
            double hd[32], rr[32], dr[32], zz[32], dz[32];
            for (int j = 0; j < H; ++j) {
                h[j] = (int32_t)fl_fx_from_double(fl_rng_range(&r, -0.9, 0.9), f.state, FL_FX_HALF_EVEN);
                hd[j] = fl_fx_to_double(h[j], f.state.frac);
            }
            for (int j = 0; j < H; ++j) {     /* r and z (rzn order) */
                const double br = g->b_ih[j] + (variant ? 0 : g->b_hh[j]);
                const double bz = g->b_ih[H + j] + (variant ? 0 : g->b_hh[H + j]);
                const row_err er = gate_row(&f, &q, g->w_hh + (size_t)j * H, H, hd, NULL, br, variant ? 1 : 2);
                const row_err ez = gate_row(&f, &q, g->w_hh + (size_t)(H + j) * H, H, hd, NULL, bz, variant ? 1 : 2);
                rr[j] = sigm(er.pre);
                zz[j] = sigm(ez.pre);
                dr[j] = table_err(&f, &f.sigmoid, 1, er.pre, er.e);
                dz[j] = table_err(&f, &f.sigmoid, 1, ez.pre, ez.e);
            }
            double hf[32], bound[32];
            for (int j = 0; j < H; ++j) {
                const float *wn = g->w_hh + (size_t)(2 * H + j) * H;
                double an, dn_pre;
                if (!variant) {   /* reset-after: n = tanh(b_in + r (W_hn h + b_hn)) */
                    const row_err en = gate_row(&f, &q, wn, H, hd, NULL, g->b_hh[2 * H + j], 1);
                    an = g->b_ih[2 * H + j] + rr[j] * en.pre;
                    dn_pre = dr[j] * fabs(en.pre) + rr[j] * en.e + dr[j] * en.e + 0.5 * lsb_g +
                             ldexp(1.0, -f.bias.frac - 1);
                } else {          /* reset-before: n = tanh(W_hn (r h) + b_n) */
                    double rh[32], drh[32];
                    for (int k = 0; k < H; ++k) {
                        rh[k] = rr[k] * hd[k];
                        drh[k] = dr[k] * fabs(hd[k]) + 0.5 * lsb_h;
                    }
                    const row_err en = gate_row(&f, &q, wn, H, rh, drh, g->b_ih[2 * H + j], 1);
                    an = en.pre;
                    dn_pre = en.e;
                }
                const double nn = tanh(an), dn = table_err(&f, &f.tanh, 0, an, dn_pre);
                hf[j] = (1 - zz[j]) * nn + zz[j] * hd[j];
                bound[j] = (1 - zz[j] + dz[j]) * dn + dz[j] * fabs(hd[j] - nn) + 0.5 * lsb_h;
            }
            cr_assert(eq(int, fl_fx_dec_step_ref(&q, 0, NULL, h, NULL), FL_OK));
            for (int j = 0; j < H; ++j) {
                const double err = fabs(fl_fx_to_double(h[j], f.state.frac) - hf[j]);
                cr_assert(err <= bound[j], "reset-%s unit %d: |h_fx - h_float| %.3g > bound %.3g",
                          variant ? "before" : "after", j, err, bound[j]);
                worst = fmax(worst, err);
                worst_ratio = fmax(worst_ratio, err / bound[j]);
            }
        }
        cr_log_info("one step, reset-%s: worst |h_fx - h_float| %.3g, worst error/bound %.2f",
                    variant ? "before" : "after", worst, worst_ratio);
        cr_assert(worst > 0, "the fixed-point step cannot be exact here");
        fl_fx_model_free(&q);
        fl_s2s_free(&m);
    }
}

/* Whole sequences with a wide format track the float model closely. */
Test(fx_model, wide_format_tracks_float_model, .timeout = 60)
{
    fl_s2s_config c = fl_s2s_config_student(32);
    fl_s2s m;
    rand_model(&m, &c, 41, 1.0);
    fl_fx_format f;
    fl_fx_format_default(&f);
    f.weight_bits = 16;
    f.state = (fl_fx_q){28, 24};
    f.gate = (fl_fx_q){26, 20};
    f.act = (fl_fx_q){18, 16};
    f.bias = (fl_fx_q){24, 20};
    f.output = (fl_fx_q){24, 20};
    f.sigmoid = (fl_fx_act){FL_FX_ACT_TABLE, 14, 3};
    f.tanh = (fl_fx_act){FL_FX_ACT_TABLE, 14, 2};
    f.mult_bits = 24;
    fl_fx_model q;
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &q, NULL), FL_OK), "%s", fl_error());
    fl_rng r;
    fl_rng_init(&r, 8, 0);
    const int T = 135;
    float x[135], yf[135 * 3], yx[135 * 3];
    for (int t = 0; t < T; ++t) x[t] = (float)exp(-0.5 * pow((t - 20) / 6.0, 2)) * (float)fl_rng_range(&r, 0.9, 1.0);
    fl_s2s_forward_ref(&m, x, T, yf);
    cr_assert(eq(int, fl_fx_predict(&q, x, 1, T, yx), FL_OK));
    double worst = 0;
    for (int i = 0; i < T * 3; ++i) worst = fmax(worst, fabs((double)yx[i] - yf[i]));
    cr_assert(worst < 2e-3, "worst %g", worst);
    fl_fx_model_free(&q);
    fl_s2s_free(&m);
}
