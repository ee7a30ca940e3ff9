/* test_seq2seq.c - configs, parameter counts and layout, random init, and the fast
 * batched forward pass against the scalar double-precision reference. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/seq2seq.h"
#include "fligru/status.h"

/* The fast path uses float GEMMs and a ~1 ulp exp; the reference accumulates in
 * double with libm. 1e-5 absolute on outputs of O(1) over T steps. */
#define FWD_TOL 1e-5

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 11;
}

static double unif(uint64_t *s) { return (double)lcg(s) * 0x1.0p-53; }

/* TPSF-like inputs: a rise at a random gate, an exponential tail, some noise;
 * peak-normalised like the released code's data. */
static float *make_x(size_t n, int T, int in, uint64_t seed)
{
    float *x = malloc(n * (size_t)T * (size_t)in * sizeof *x);
    uint64_t s = seed;
    for (size_t i = 0; i < n; ++i) {
        double t0 = 5 + 20 * unif(&s), tau = 5 + 30 * unif(&s);
        for (int t = 0; t < T; ++t)
            for (int f = 0; f < in; ++f) {
                double v = t < t0 ? 0.02 * unif(&s) : exp(-(t - t0) / tau) + 0.05 * (unif(&s) - 0.5);
                x[(i * (size_t)T + (size_t)t) * (size_t)in + (size_t)f] = (float)v;
            }
    }
    return x;
}

/* Largest |fast - ref| over n sequences. */
static double fast_vs_ref(const fl_s2s_config *c, size_t n, int T, uint64_t seed)
{
    fl_s2s m;
    cr_assert(eq(int, fl_s2s_init(&m, c), FL_OK), "%s", fl_error());
    fl_s2s_init_random(&m, seed);
    float *x = make_x(n, T, c->input, seed + 1);
    size_t ny = n * (size_t)T * (size_t)c->outputs;
    float *y = malloc(ny * sizeof *y), *yr = malloc(ny * sizeof *yr);
    cr_assert(eq(int, fl_s2s_forward(&m, x, n, T, y), FL_OK), "%s", fl_error());
    for (size_t i = 0; i < n; ++i)
        fl_s2s_forward_ref(&m, x + i * (size_t)T * (size_t)c->input, T,
                           yr + i * (size_t)T * (size_t)c->outputs);
    double worst = 0;
    for (size_t k = 0; k < ny; ++k) {
        cr_assert(isfinite(y[k]));
        double d = fabs((double)y[k] - yr[k]);
        if (d > worst) worst = d;
    }
    free(x);
    free(y);
    free(yr);
    fl_s2s_free(&m);
    return worst;
}

Test(seq2seq, published_parameter_counts)
{
    fl_s2s_config t = fl_s2s_config_teacher(), s = fl_s2s_config_student(32);
    cr_assert(eq(sz, fl_s2s_param_count(&t), 299139));
    cr_assert(eq(sz, fl_s2s_param_count(&s), 6627));
    /* Paper's asymmetric student 64x16: GRU 64 + GRU 16 (input 1), bridge 16x64+16,
     * dense 3x16+3; reset-before keeps one bias vector. */
    s.enc_hidden = 64;
    s.dec_hidden = 16;
    size_t want = (192 + 192 * 64 + 192) + (48 + 48 * 16 + 48) + (16 * 64 + 16) + (3 * 16 + 3);
    cr_assert(eq(sz, fl_s2s_param_count(&s), want));
    t.layers = 5;
    cr_assert(eq(sz, fl_s2s_param_count(&t), 0), "invalid config counts 0");
}

Test(seq2seq, views_follow_the_documented_order)
{
    fl_s2s_config c = fl_s2s_config_teacher();
    c.enc_hidden = 12;
    c.dec_hidden = 8;
    fl_s2s m;
    cr_assert(eq(int, fl_s2s_init(&m, &c), FL_OK));
    const float *p = m.params;
    for (int pass = 0; pass < 2; ++pass)
        for (int l = 0; l < 2; ++l) {
            const fl_gru_layer *g = pass ? &m.dec[l] : &m.enc[l];
            size_t H = pass ? 8 : 12, in = l ? H : 1;
            cr_assert(eq(int, g->hidden, (int)H));
            cr_assert(eq(int, g->input, (int)in));
            cr_assert(g->w_ih == p);
            p += 3 * H * in;
            cr_assert(g->w_hh == p);
            p += 3 * H * H;
            cr_assert(g->b_ih == p);
            p += 3 * H;
            cr_assert(g->b_hh == p);
            p += 3 * H;
        }
    for (int l = 0; l < 2; ++l) {
        cr_assert(m.bridge_w[l] == p);
        p += 8 * 12;
        cr_assert(m.bridge_b[l] == p);
        p += 8;
    }
    cr_assert(m.dense_w == p);
    p += 3 * 8;
    cr_assert(m.dense_b == p);
    p += 3;
    cr_assert(eq(sz, (size_t)(p - m.params), m.n_params));
    for (size_t i = 0; i < m.n_params; ++i) cr_assert(eq(flt, m.params[i], 0.0f));
    fl_s2s_free(&m);
    cr_assert(m.params == NULL);

    /* Reset-before: no b_hh, no bridge when E == D. */
    fl_s2s_config s = fl_s2s_config_student(32);
    cr_assert(eq(int, fl_s2s_init(&m, &s), FL_OK));
    cr_assert(m.enc[0].b_hh == NULL);
    cr_assert(m.bridge_w[0] == NULL);
    cr_assert(m.dec[0].w_ih == m.enc[0].b_ih + 96);
    fl_s2s_free(&m);
}

Test(seq2seq, config_check_names_the_field)
{
    fl_s2s_config ok = fl_s2s_config_teacher();
    cr_assert(eq(int, fl_s2s_config_check(&ok), FL_OK));
    const char *fields[] = {"model.input", "model.outputs", "model.layers", "model.enc_hidden",
                            "model.dec_hidden", "model.reset", "model.act", "model.order"};
    for (int k = 0; k < 8; ++k) {
        fl_s2s_config c = ok;
        switch (k) {
        case 0: c.input = 0; break;
        case 1: c.outputs = 0; break;
        case 2: c.layers = FL_S2S_MAX_LAYERS + 1; break;
        case 3: c.enc_hidden = 0; break;
        case 4: c.dec_hidden = -3; break;
        case 5: c.reset = (fl_reset)7; break;
        case 6: c.act = (fl_recur_act)2; break;
        case 7: c.order = (fl_gate_order)-1; break;
        }
        fl_error_clear();
        cr_assert(eq(int, fl_s2s_config_check(&c), FL_E_INPUT), "%s", fields[k]);
        cr_assert(strstr(fl_error(), fields[k]) != NULL, "'%s' lacks %s", fl_error(), fields[k]);
        cr_assert(strchr(fl_error(), '\n') == NULL);
        fl_s2s m;
        cr_assert(eq(int, fl_s2s_init(&m, &c), FL_E_INPUT));
        cr_assert(m.params == NULL);
    }
}

Test(seq2seq, random_init_is_deterministic_and_in_pytorch_bounds)
{
    fl_s2s_config c = fl_s2s_config_teacher();
    c.enc_hidden = 64;
    c.dec_hidden = 16;
    fl_s2s a, b;
    cr_assert(eq(int, fl_s2s_init(&a, &c), FL_OK));
    cr_assert(eq(int, fl_s2s_init(&b, &c), FL_OK));
    fl_s2s_init_random(&a, 7);
    fl_s2s_init_random(&b, 7);
    cr_assert(eq(int, memcmp(a.params, b.params, a.n_params * sizeof(float)), 0));
    fl_s2s_init_random(&b, 8);
    cr_assert(ne(int, memcmp(a.params, b.params, a.n_params * sizeof(float)), 0));
    /* U(-1/sqrt(H), 1/sqrt(H)) per GRU tensor; bridges 1/sqrt(E); dense 1/sqrt(D). */
    double mx = 0;
    for (size_t i = 0; i < 3 * 64 * 64; ++i) mx = fmax(mx, fabs(a.enc[0].w_hh[i]));
    cr_assert(le(dbl, mx, 1 / 8.0));
    cr_assert(gt(dbl, mx, 0.12), "the range is used");
    mx = 0;
    for (size_t i = 0; i < 3 * 16 * 16; ++i) mx = fmax(mx, fabs(a.dec[1].w_hh[i]));
    cr_assert(le(dbl, mx, 0.25));
    cr_assert(gt(dbl, mx, 0.23));
    mx = 0;
    for (size_t i = 0; i < 16 * 64; ++i) mx = fmax(mx, fabs(a.bridge_w[1][i]));
    cr_assert(le(dbl, mx, 1 / 8.0));
    fl_s2s_free(&a);
    fl_s2s_free(&b);
}

Test(seq2seq, teacher_fast_matches_reference)
{
    fl_s2s_config c = fl_s2s_config_teacher();
    double d = fast_vs_ref(&c, 3, 135, 11);
    cr_assert(lt(dbl, d, FWD_TOL), "max |fast - ref| = %g", d);
}

Test(seq2seq, student_fast_matches_reference)
{
    fl_s2s_config c = fl_s2s_config_student(32);
    double d = fast_vs_ref(&c, 37, 135, 12);   /* two chunks, the second partial */
    cr_assert(lt(dbl, d, FWD_TOL), "max |fast - ref| = %g", d);
}

Test(seq2seq, asymmetric_with_bridges_matches_reference)
{
    fl_s2s_config c = fl_s2s_config_student(0);
    c.enc_hidden = 64;
    c.dec_hidden = 16;
    double d = fast_vs_ref(&c, 5, 135, 13);
    cr_assert(lt(dbl, d, FWD_TOL), "64x16: max |fast - ref| = %g", d);
    c = fl_s2s_config_teacher();
    c.dec_hidden = 64;
    d = fast_vs_ref(&c, 3, 60, 14);
    cr_assert(lt(dbl, d, FWD_TOL), "2x128x64: max |fast - ref| = %g", d);
}

Test(seq2seq, every_gate_variant_matches_reference)
{
    /* reset x activation x gate order x (E == D or bridged, 1 or 2 layers, input 1 or 3). */
    int k = 0;
    for (int reset = 0; reset < 2; ++reset)
        for (int act = 0; act < 2; ++act)
            for (int order = 0; order < 2; ++order)
                for (int shape = 0; shape < 3; ++shape, ++k) {
                    fl_s2s_config c = {.input = shape == 2 ? 3 : 1, .outputs = shape ? 1 : 3,
                                       .layers = shape == 0 ? 1 : 2, .enc_hidden = 24,
                                       .dec_hidden = shape == 1 ? 12 : 24,
                                       .reset = (fl_reset)reset, .act = (fl_recur_act)act,
                                       .order = (fl_gate_order)order};
                    double d = fast_vs_ref(&c, 19, 50, 100 + (uint64_t)k);
                    cr_assert(lt(dbl, d, FWD_TOL),
                              "reset %d act %d order %d shape %d: max |fast - ref| = %g", reset,
                              act, order, shape, d);
                }
}

Test(seq2seq, gate_order_really_selects_the_rows)
{
    /* The same tensors read as RZN and as ZRN must give different outputs. */
    fl_s2s_config c = fl_s2s_config_student(8);
    fl_s2s m;
    cr_assert(eq(int, fl_s2s_init(&m, &c), FL_OK));
    fl_s2s_init_random(&m, 5);
    float *x = make_x(1, 20, 1, 6), y1[60], y2[60];
    fl_s2s_forward_ref(&m, x, 20, y1);
    m.cfg.order = FL_GATES_ZRN;
    fl_s2s_forward_ref(&m, x, 20, y2);
    double d = 0;
    for (int i = 0; i < 60; ++i) d = fmax(d, fabs(y1[i] - y2[i]));
    cr_assert(gt(dbl, d, 1e-3));
    free(x);
    fl_s2s_free(&m);
}

static void forward_threads(const fl_s2s_config *c, size_t n, int T, int threads, float *y)
{
    fl_s2s m;
    cr_assert(eq(int, fl_s2s_init(&m, c), FL_OK));
    fl_s2s_init_random(&m, 21);
    float *x = make_x(n, T, c->input, 22);
    int old = omp_get_max_threads();
    omp_set_num_threads(threads);
    cr_assert(eq(int, fl_s2s_forward(&m, x, n, T, y), FL_OK), "%s", fl_error());
    omp_set_num_threads(old);
    free(x);
    fl_s2s_free(&m);
}

Test(seq2seq, bit_identical_for_one_and_two_threads)
{
    fl_s2s_config cs[2] = {fl_s2s_config_student(32), fl_s2s_config_teacher()};
    for (int k = 0; k < 2; ++k) {
        size_t n = 1000;
        int T = k ? 40 : 135;
        size_t ny = n * (size_t)T * 3;
        float *y1 = malloc(ny * sizeof *y1), *y2 = malloc(ny * sizeof *y2);
        forward_threads(&cs[k], n, T, 1, y1);
        forward_threads(&cs[k], n, T, 2, y2);
        cr_assert(eq(int, memcmp(y1, y2, ny * sizeof *y1), 0), "config %d differs", k);
        free(y1);
        free(y2);
    }
}

Test(seq2seq, forward_rejects_bad_arguments)
{
    fl_s2s_config c = fl_s2s_config_student(4);
    fl_s2s m;
    cr_assert(eq(int, fl_s2s_init(&m, &c), FL_OK));
    float x[10] = {0}, y[30];
    cr_assert(eq(int, fl_s2s_forward(&m, x, 1, 0, y), FL_E_INPUT));
    cr_assert(strstr(fl_error(), "T") != NULL);
    cr_assert(eq(int, fl_s2s_forward(&m, x, 0, 10, y), FL_OK), "an empty batch is fine");
    cr_assert(eq(int, fl_s2s_forward(&m, NULL, 1, 10, y), FL_E_INPUT));
    fl_s2s_free(&m);
    cr_assert(eq(int, fl_s2s_forward(&m, x, 1, 10, y), FL_E_INPUT), "freed model");
}
