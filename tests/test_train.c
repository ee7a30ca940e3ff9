/* test_train.c - the building blocks of the training loop: Adam, losses, shuffle,
 * the plateau and early-stopping monitors, weight fake quantisation, the parameter
 * tensor map, the config reader, SHA-256. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/fxmodel.h"
#include "fligru/train.h"
#include "testutil.h"

/* ---- Adam ------------------------------------------------------------------------- */

Test(train, adam_matches_hand_computed_steps)
{
    fl_adam_params p = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    float w[3] = {1.0f, -2.0f, 0.5f}, m[3] = {0}, v[3] = {0};
    const float g1[3] = {0.1f, -0.2f, 0.0f}, g2[3] = {0.3f, 0.0f, 0.0f};
    fl_adam_step(&p, 1, 3, w, g1, m, v);
    /* Step 1: bias-corrected m/sqrt(v) = g/|g|: each weight moves by lr against g. */
    cr_assert(epsilon_eq(flt, w[0], 1.0f - 0.01f * 0.1f / (0.1f + 1e-8f), 1e-7));
    cr_assert(epsilon_eq(flt, w[1], -2.0f + 0.01f, 1e-6));
    cr_assert(eq(flt, w[2], 0.5f), "a zero gradient leaves the weight alone");
    cr_assert(epsilon_eq(flt, m[0], 0.01f, 1e-9));
    cr_assert(epsilon_eq(flt, v[0], 1e-5f, 1e-12));
    fl_adam_step(&p, 2, 3, w, g2, m, v);
    /* By hand: m = .9*.01 + .1*.3 = .039; v = .999e-5 + .001*.09 = 9.999e-5;
     * mhat = .039/.19 = .2052632; vhat = 9.999e-5/.001999 = .0500200;
     * w = .99 - .01 * .2052632 / .2236515 = .9808222. */
    cr_assert(epsilon_eq(flt, m[0], 0.039f, 1e-8));
    cr_assert(epsilon_eq(flt, v[0], 9.999e-5f, 1e-11));
    cr_assert(epsilon_eq(flt, w[0], 0.9808222f, 2e-7), "w0 = %.9g", w[0]);
    /* w1: g = 0, m = .9 * -.02 = -.018, v = .999 * 4e-5: moves on momentum alone. */
    double mh = -0.018 / 0.19, vh = 0.999 * 4e-5 / 0.001999;
    cr_assert(epsilon_eq(flt, w[1], (float)(-1.99 - 0.01 * mh / (sqrt(vh) + 1e-8)), 2e-7));
}

/* ---- losses ------------------------------------------------------------------------- */

Test(train, losses_and_gradients_by_hand)
{
    const float y[3] = {1, 2, 3}, t[3] = {1, 1, 1};
    float g[3] = {0};
    fl_loss_params mse = {FL_LOSS_MSE, 0}, mae = {FL_LOSS_MAE, 0}, mix = {FL_LOSS_MIXED, 0.5};
    cr_assert(epsilon_eq(dbl, fl_loss_eval(&mse, y, t, 3, 1.0f, g), 5.0 / 3.0, 1e-12));
    cr_assert(eq(flt, g[0], 0.0f));
    cr_assert(epsilon_eq(flt, g[1], 2.0f / 3.0f, 1e-7));
    cr_assert(epsilon_eq(flt, g[2], 4.0f / 3.0f, 1e-7));
    memset(g, 0, sizeof g);
    cr_assert(epsilon_eq(dbl, fl_loss_eval(&mae, y, t, 3, 1.0f, g), 1.0, 1e-12));
    cr_assert(eq(flt, g[0], 0.0f), "MAE's derivative is 0 where y == target");
    cr_assert(epsilon_eq(flt, g[2], 1.0f / 3.0f, 1e-7));
    /* Gradients accumulate, scaled by the weight (how distillation adds its terms). */
    memset(g, 0, sizeof g);
    cr_assert(epsilon_eq(dbl, fl_loss_eval(&mix, y, t, 3, 0.25f, g), 5.0 / 3.0 + 0.5, 1e-12));
    cr_assert(epsilon_eq(flt, g[1], 0.25f * (2.0f / 3.0f + 0.5f / 3.0f), 1e-7));
    fl_loss_eval(&mse, y, t, 3, 0.75f, g);
    cr_assert(epsilon_eq(flt, g[1], 0.25f * (2.0f / 3.0f + 0.5f / 3.0f) + 0.75f * 2.0f / 3.0f, 1e-6));
}

Test(train, loss_gradients_match_finite_differences)
{
    enum { N = 50 };
    float y[N], t[N], g[N];
    for (int i = 0; i < N; ++i) {
        y[i] = (float)sin(0.37 * i);
        t[i] = (float)cos(0.11 * i) * 0.5f;
    }
    fl_loss_params kinds[3] = {{FL_LOSS_MSE, 0}, {FL_LOSS_MAE, 0}, {FL_LOSS_MIXED, 0.3}};
    for (int k = 0; k < 3; ++k) {
        memset(g, 0, sizeof g);
        fl_loss_eval(&kinds[k], y, t, N, 1.0f, g);
        for (int i = 0; i < N; i += 7) {
            const float h = 1e-3f, y0 = y[i];
            y[i] = y0 + h;
            double lp = fl_loss_eval(&kinds[k], y, t, N, 0, NULL);
            y[i] = y0 - h;
            double lm = fl_loss_eval(&kinds[k], y, t, N, 0, NULL);
            y[i] = y0;
            double fd = (lp - lm) / (2.0 * (double)h);
            cr_assert(epsilon_eq(dbl, (double)g[i], fd, 1e-4), "kind %d i %d: %g vs %g", k, i, g[i], fd);
        }
    }
}

/* ---- shuffle ---------------------------------------------------------------------- */

Test(train, shuffle_is_a_deterministic_permutation)
{
    enum { N = 1000 };
    size_t base[N], a[N], b[N], c[N];
    for (size_t i = 0; i < N; ++i) base[i] = 3 * i + 7;   /* not the identity */
    fl_train_shuffle(base, N, 42, 3, a);
    fl_train_shuffle(base, N, 42, 3, b);
    cr_assert(eq(int, memcmp(a, b, sizeof a), 0), "same (seed, epoch): same order");
    unsigned char seen[N] = {0};
    for (size_t i = 0; i < N; ++i) {
        cr_assert(eq(sz, (a[i] - 7) % 3, 0));
        size_t k = (a[i] - 7) / 3;
        cr_assert(k < N && !seen[k], "element %zu twice", a[i]);
        seen[k] = 1;
    }
    size_t fixed = 0;
    for (size_t i = 0; i < N; ++i) fixed += a[i] == base[i];
    cr_assert(fixed < 20, "%zu fixed points: not shuffled", fixed);
    fl_train_shuffle(base, N, 42, 4, c);
    cr_assert(ne(int, memcmp(a, c, sizeof a), 0), "another epoch, another order");
    fl_train_shuffle(base, N, 43, 3, c);
    cr_assert(ne(int, memcmp(a, c, sizeof a), 0), "another seed, another order");
    size_t one = 5;
    fl_train_shuffle(&one, 1, 1, 0, &one);
    cr_assert(eq(sz, one, 5));
}

Test(train, shuffle_is_uniform_over_small_permutations)
{
    /* All 6 orders of 3 elements over 6000 epochs: each ~1000 (sd ~29). */
    int count[6] = {0};
    const size_t base[3] = {0, 1, 2};
    for (int e = 0; e < 6000; ++e) {
        size_t p[3];
        fl_train_shuffle(base, 3, 9, e, p);
        count[p[0] * 2 + (p[1] > p[2])]++;
    }
    for (int k = 0; k < 6; ++k) cr_assert(count[k] > 880 && count[k] < 1120, "order %d: %d", k, count[k]);
}

/* ---- monitors ------------------------------------------------------------------------ */

Test(train, plateau_halves_after_patience_down_to_min_lr)
{
    const double val[] = {1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85};
    const double want[] = {1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2};
    fl_plateau_params p = {.patience = 3, .factor = 0.5, .min_lr = 0.2, .min_delta = 0};
    fl_plateau s;
    fl_plateau_init(&s);
    double lr = 1.0;
    for (size_t i = 0; i < sizeof val / sizeof val[0]; ++i) {
        lr = fl_plateau_update(&p, &s, val[i], lr);
        cr_assert(eq(dbl, lr, want[i]), "after epoch %zu: lr %g, want %g", i + 1, lr, want[i]);
    }
    cr_assert(eq(dbl, s.best, 0.8));
}

Test(train, plateau_min_delta_and_nan)
{
    fl_plateau_params p = {.patience = 1, .factor = 0.5, .min_lr = 0, .min_delta = 0.1};
    fl_plateau s;
    fl_plateau_init(&s);
    double lr = fl_plateau_update(&p, &s, 1.0, 1.0);
    cr_assert(eq(dbl, lr, 1.0));
    lr = fl_plateau_update(&p, &s, 0.95, lr);   /* better, but by less than min_delta */
    cr_assert(eq(dbl, lr, 0.5));
    lr = fl_plateau_update(&p, &s, NAN, lr);
    cr_assert(eq(dbl, lr, 0.25), "NaN is never an improvement");
    lr = fl_plateau_update(&p, &s, 0.85, lr);
    cr_assert(eq(dbl, lr, 0.25));
    cr_assert(eq(dbl, s.best, 0.85));
}

Test(train, early_stopping_on_a_loss_sequence)
{
    const double val[] = {1.0, 0.9, 0.95, 0.91, 0.92, 0.5};
    const fl_early_event want[] = {FL_EARLY_IMPROVED, FL_EARLY_IMPROVED, FL_EARLY_WAIT, FL_EARLY_WAIT,
                                   FL_EARLY_STOP};
    fl_early_params p = {.patience = 3, .min_delta = 0};
    fl_early s;
    fl_early_init(&s);
    for (int i = 0; i < 5; ++i)
        cr_assert(eq(int, fl_early_update(&p, &s, val[i], i + 1), want[i]), "epoch %d", i + 1);
    cr_assert(eq(int, s.best_epoch, 2));
    cr_assert(eq(dbl, s.best, 0.9));
    /* patience 0: never stops. */
    fl_early_params never = {.patience = 0, .min_delta = 0};
    fl_early_init(&s);
    for (int i = 0; i < 100; ++i) cr_assert(ne(int, fl_early_update(&never, &s, 1.0, i + 1), FL_EARLY_STOP));
    cr_assert(eq(int, s.best_epoch, 1));
}

/* ---- weight fake quantisation -------------------------------------------------------- */

Test(train, fake_quant_exact_values)
{
    /* max|w| = 127 at 8 bits: s = 1 exactly; rint rounds half to even. */
    const float w[6] = {127.0f, 2.5f, -3.5f, 0.5f, -126.6f, 1.49f};
    const float want[6] = {127.0f, 2.0f, -4.0f, 0.0f, -127.0f, 1.0f};
    float out[6];
    cr_assert(eq(dbl, fl_fake_quant_weights(w, 6, 8, out), 1.0));
    for (int i = 0; i < 6; ++i) cr_assert(eq(flt, out[i], want[i]), "w[%d]", i);
    /* b = 8 on ordinary weights: s = 1.27 / 127 (in double), each output q * s. */
    const float w2[5] = {0.5f, -1.27f, 0.003f, 1.0f, -0.25f};
    const int q2[5] = {50, -127, 0, 100, -25};
    const double s = (double)1.27f / 127.0;
    cr_assert(eq(dbl, fl_fake_quant_weights(w2, 5, 8, out), s));
    for (int i = 0; i < 5; ++i) cr_assert(eq(flt, out[i], (float)(q2[i] * s)), "w2[%d] = %.9g", i, out[i]);
    cr_assert(eq(flt, out[1], -1.27f), "the largest weight is exact");
    /* b = 4: 7 levels a side; in place. */
    float w3[4] = {7.0f, 1.5f, -7.0f, 3.49f};
    cr_assert(eq(dbl, fl_fake_quant_weights(w3, 4, 4, w3), 1.0));
    cr_assert(eq(flt, w3[1], 2.0f));
    cr_assert(eq(flt, w3[3], 3.0f));
    /* All zero: scale 0, outputs 0 (no division by zero). */
    float z[3] = {0, 0, 0};
    cr_assert(eq(dbl, fl_fake_quant_weights(z, 3, 8, out), 0.0));
    cr_assert(eq(flt, out[2], 0.0f));
}

Test(train, fake_quant_fixed_point_values)
{
    /* Q(8,4): step 1/16, range [-8, 127/16]; ties to even. */
    const float x[6] = {1.03125f, 1.09375f, 100.0f, -100.0f, 0.0625f, -0.03125f};
    const float want[6] = {1.0f, 1.125f, 7.9375f, -8.0f, 0.0625f, -0.0f};
    float out[6];
    fl_fake_quant_fixed(x, 6, 8, 4, out);
    for (int i = 0; i < 6; ++i) cr_assert(eq(flt, out[i], want[i]), "x[%d] -> %.9g", i, out[i]);
}

Test(train, fake_quant_levels_and_error_bound)
{
    enum { N = 4096 };
    float w[N], out[N];
    for (int i = 0; i < N; ++i) w[i] = (float)(sin(1.7 * i) * 0.3 + 0.05 * cos(0.3 * i));
    for (int bits = 2; bits <= 12; ++bits) {
        double s = fl_fake_quant_weights(w, N, bits, out);
        int qmax = (1 << (bits - 1)) - 1;
        for (int i = 0; i < N; ++i) {
            double q = (double)out[i] / s;
            cr_assert(fabs(q - rint(q)) < 1e-4 && fabs(q) <= qmax + 1e-4, "bits %d i %d", bits, i);
            cr_assert(fabs((double)out[i] - w[i]) <= 0.5 * s * 1.0001, "bits %d i %d: error above s/2", bits, i);
        }
    }
}

Test(train, fake_quant_model_per_tensor_per_row_and_bias)
{
    fl_s2s_config c = fl_s2s_config_student(4);
    fl_s2s m, q;
    cr_assert(eq(int, fl_s2s_init(&m, &c), FL_OK));
    cr_assert(eq(int, fl_s2s_init(&q, &c), FL_OK));
    fl_s2s_init_random(&m, 3);
    /* Off: a copy. */
    fl_qat_params off = {0};
    fl_fake_quant_model(&m, &off, &q);
    cr_assert(eq(int, memcmp(m.params, q.params, m.n_params * sizeof(float)), 0));
    fl_qat_params row = {.weight_bits = 4, .weight_scale = FL_QAT_PER_ROW, .bias_bits = 8, .bias_frac = 6};
    fl_fake_quant_model(&m, &row, &q);
    fl_param_tensor t[16];
    size_t n = fl_train_param_tensors(&m, t, 16);
    for (size_t i = 0; i < n; ++i)
        for (size_t r = 0; r < t[i].rows; ++r) {
            const float *w = m.params + t[i].offset + r * t[i].cols, *o = q.params + t[i].offset + r * t[i].cols;
            float ref[64];
            if (t[i].is_bias) fl_fake_quant_fixed(w, t[i].cols, 8, 6, ref);
            else fl_fake_quant_weights(w, t[i].cols, 4, ref);   /* each row its own scale */
            for (size_t k = 0; k < t[i].cols; ++k) cr_assert(eq(flt, o[k], ref[k]), "tensor %zu row %zu", i, r);
        }
    fl_qat_params ten = {.weight_bits = 4, .weight_scale = FL_QAT_PER_TENSOR};
    fl_fake_quant_model(&m, &ten, &q);
    for (size_t i = 0; i < n; ++i) {
        size_t k = t[i].rows * t[i].cols;
        float ref[512];
        cr_assert(k <= 512);
        if (t[i].is_bias) memcpy(ref, m.params + t[i].offset, k * sizeof(float));   /* float biases */
        else fl_fake_quant_weights(m.params + t[i].offset, k, 4, ref);
        cr_assert(eq(int, memcmp(ref, q.params + t[i].offset, k * sizeof(float)), 0), "tensor %zu", i);
    }
    fl_s2s_free(&m);
    fl_s2s_free(&q);
}

static void check_tensor_map(const fl_s2s_config *c)
{
    fl_s2s m;
    cr_assert(eq(int, fl_s2s_init(&m, c), FL_OK), "%s", fl_error());
    fl_param_tensor t[64];
    size_t n = fl_train_param_tensors(&m, t, 64);
    unsigned char *cover = calloc(m.n_params, 1);
    for (size_t i = 0; i < n; ++i)
        for (size_t k = 0; k < t[i].rows * t[i].cols; ++k) {
            cr_assert(t[i].offset + k < m.n_params);
            cr_assert(eq(int, cover[t[i].offset + k]++, 0), "tensors overlap");
        }
    for (size_t k = 0; k < m.n_params; ++k) cr_assert(eq(int, cover[k], 1), "parameter %zu in no tensor", k);
    free(cover);
    fl_s2s_free(&m);
}

Test(train, param_tensors_cover_every_parameter_once)
{
    fl_s2s_config c = fl_s2s_config_student(32);
    check_tensor_map(&c);
    c = fl_s2s_config_teacher();
    check_tensor_map(&c);
    c.enc_hidden = 12;
    c.dec_hidden = 10;
    c.layers = 3;
    check_tensor_map(&c);   /* with bridges */
}

/* ---- config ------------------------------------------------------------------------- */

static char *cfg_file(const char *dir, const char *text)
{
    return tu_write_file(dir, "cfg.yaml", text);
}

Test(train, config_reads_every_key)
{
    char *d = tu_tmpdir("train-cfg");
    char *p = cfg_file(d,
        "seed: 9\n"
        "data:\n  train: [a, /abs/b]\n  val_fraction: 0.25\n  limit: 500\n"
        "model:\n  kind: teacher\n  enc_hidden: 64\n  dec_hidden: 16\n  layers: 1\n  reset: before\n"
        "  activation: hard_sigmoid\n  gate_order: zrn\n  outputs: 1\n"
        "train:\n  epochs: 7\n  batch: 256\n  lr: 2.0e-4\n  loss: mixed\n  mae_weight: 0.2\n"
        "  clip_norm: 0\n  min_delta: 1.0e-6\n  time_limit_s: 60\n"
        "  adam: {beta1: 0.8, beta2: 0.99, eps: 1.0e-7}\n"
        "  plateau: {patience: 2, factor: 0.25, min_lr: 1.0e-7}\n"
        "  early_stop: {patience: 4, restore_best: false}\n"
        "qat: {weight_bits: 6, weight_scale: per_row, bias_bits: 16, bias_frac: 12,\n"
        "      state_bits: 16, state_frac: 12, act_bits: 10, act_frac: 8}\n"
        "distill: {alpha: 0.9, teacher_cache: off}\n"
        "output: {curve: c.csv, checkpoint: ck.safetensors, checkpoint_every: 3}\n");
    fl_train_config c;
    cr_assert(eq(int, fl_train_config_from_yaml(p, 1, &c), FL_OK), "%s", fl_error());
    cr_assert(eq(u64, c.seed, 9));
    cr_assert(eq(int, c.n_train_dirs, 2));
    char want[4200];
    snprintf(want, sizeof want, "%s/a", d);
    cr_assert(eq(str, c.train_dirs[0], want), "relative to the config's directory");
    cr_assert(eq(str, c.train_dirs[1], "/abs/b"));
    cr_assert(eq(dbl, c.val_fraction, 0.25));
    cr_assert(eq(sz, c.limit, 500));
    cr_assert(eq(int, c.model.layers, 1));
    cr_assert(eq(int, c.model.enc_hidden, 64));
    cr_assert(eq(int, c.model.dec_hidden, 16));
    cr_assert(eq(int, c.model.reset, FL_RESET_BEFORE));
    cr_assert(eq(int, c.model.act, FL_ACT_HARD_SIGMOID));
    cr_assert(eq(int, c.model.order, FL_GATES_ZRN));
    cr_assert(eq(int, c.model.outputs, 1));
    cr_assert(eq(int, c.epochs, 7));
    cr_assert(eq(sz, c.batch, 256));
    cr_assert(eq(dbl, c.adam.lr, 2e-4));
    cr_assert(eq(dbl, c.adam.beta1, 0.8));
    cr_assert(eq(dbl, c.adam.eps, 1e-7));
    cr_assert(eq(int, c.loss.kind, FL_LOSS_MIXED));
    cr_assert(eq(dbl, c.loss.mae_weight, 0.2));
    cr_assert(eq(dbl, c.clip_norm, 0.0));
    cr_assert(eq(dbl, c.time_limit_s, 60.0));
    cr_assert(eq(int, c.plateau_patience, 2));
    cr_assert(eq(dbl, c.plateau_factor, 0.25));
    cr_assert(eq(int, c.early_patience, 4));
    cr_assert(eq(int, c.restore_best, 0));
    cr_assert(eq(int, c.qat, 1));
    cr_assert(eq(int, c.qat_p.weight_bits, 6));
    cr_assert(eq(int, c.qat_p.weight_scale, FL_QAT_PER_ROW));
    cr_assert(eq(int, c.qat_p.bias_bits, 16));
    cr_assert(eq(int, c.qat_p.bias_frac, 12));
    cr_assert(eq(int, c.qat_p.fq.state_bits, 16));
    cr_assert(eq(int, c.qat_p.fq.act_frac, 8));
    cr_assert(eq(dbl, c.alpha, 0.9));
    cr_assert(eq(int, c.teacher_cache, FL_TEACHER_CACHE_OFF));
    cr_assert(eq(int, c.checkpoint_every, 3));
    snprintf(want, sizeof want, "%s/c.csv", d);
    cr_assert(eq(str, c.curve, want));
    free(p);
    free(d);
}

Test(train, config_defaults)
{
    fl_train_config c;
    fl_train_config_default(&c);
    cr_assert(eq(int, c.model.enc_hidden, 32));
    cr_assert(eq(int, c.model.reset, FL_RESET_BEFORE));
    cr_assert(eq(dbl, c.adam.eps, 1e-8));
    cr_assert(eq(dbl, c.alpha, 0.6));
    cr_assert(eq(dbl, c.plateau_factor, 0.5));
    cr_assert(eq(int, c.restore_best, 1));
    cr_assert(eq(int, c.qat, 0));
}

/* Each bad config fails naming file:line and the key. */
static void bad_config(const char *text, int distill, const char *needle)
{
    char *d = tu_tmpdir("train-badcfg");
    char *p = cfg_file(d, text);
    fl_train_config c;
    cr_assert(eq(int, fl_train_config_from_yaml(p, distill, &c), FL_E_INPUT), "accepted: %s", text);
    cr_assert(strstr(fl_error(), "cfg.yaml:") != NULL, "no file:line in '%s'", fl_error());
    cr_assert(strstr(fl_error(), needle) != NULL, "'%s' lacks '%s'", fl_error(), needle);
    free(p);
    free(d);
}

Test(train, config_rejects_bad_keys)
{
    bad_config("seed: 1\ntrain:\n  epoch: 3\n", 0, "cfg.yaml:3: train.epoch: unknown key");
    bad_config("model:\n  kind: giant\n", 0, "model.kind");
    bad_config("model:\n  hidden: 8\n  enc_hidden: 8\n", 0, "enc_hidden");
    bad_config("distill:\n  alpha: 0.5\n", 0, "only used by fligru distill");
    bad_config("distill:\n  alpha: 1.5\n", 1, "distill.alpha");
    bad_config("train:\n  mae_weight: 0.5\n", 0, "only used with loss: mixed");
    bad_config("train:\n  lr: 0\n", 0, "train.lr");
    bad_config("qat:\n  enabled: false\n  weight_bits: 8\n", 0, "not used with enabled: false");
    bad_config("qat:\n  state_frac: 8\n", 0, "not used without state_bits");
    bad_config("qat:\n  weight_bits: 0\n  weight_scale: per_row\n", 0, "not used with weight_bits: 0");
    bad_config("qat:\n  weight_scale: per_column\n", 0, "qat.weight_scale");
    bad_config("data:\n  val: v\n  val_fraction: 0.1\n", 0, "not used with data.val");
    bad_config("model:\n  layers: 9\n", 0, "model.layers");
}

Test(train, sha256_known_answer)
{
    char *d = tu_tmpdir("train-sha");
    char *p = tu_write_file(d, "abc", "abc");
    char hex[65];
    cr_assert(eq(int, fl_train_sha256_file(p, hex), FL_OK));
    cr_assert(eq(str, hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    free(p);
    /* 1,000,000 'a' (the FIPS 180-2 long message): exercises the block loop. */
    char *big = malloc(1000001);
    memset(big, 'a', 1000000);
    big[1000000] = '\0';
    p = tu_write_file(d, "a", big);
    cr_assert(eq(int, fl_train_sha256_file(p, hex), FL_OK));
    cr_assert(eq(str, hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    free(big);
    free(p);
    free(d);
}

Test(train, sibling_paths)
{
    char *a = fl_train_sibling("dir/m.safetensors", ".curve.csv");
    char *b = fl_train_sibling("m.bin", ".ckpt.safetensors");
    cr_assert(eq(str, a, "dir/m.curve.csv"));
    cr_assert(eq(str, b, "m.bin.ckpt.safetensors"));
    free(a);
    free(b);
}

Test(train, committed_configs_parse)
{
    static const struct {
        const char *name;
        int distill;
    } cfgs[] = {{"train-teacher.yaml", 0}, {"train-student.yaml", 0},
                {"train-tiny.yaml", 0},    {"distill-student.yaml", 1}};
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; ++i) {
        char p[4096];
        snprintf(p, sizeof p, "%s/configs/%s", FLIGRU_SOURCE_DIR, cfgs[i].name);
        fl_train_config c;
        cr_assert(eq(int, fl_train_config_from_yaml(p, cfgs[i].distill, &c), FL_OK), "%s", fl_error());
    }
    fl_train_config c;
    fl_train_config_from_yaml(FLIGRU_SOURCE_DIR "/configs/train-teacher.yaml", 0, &c);
    fl_s2s_config t = fl_s2s_config_teacher();
    cr_assert(eq(sz, fl_s2s_param_count(&c.model), fl_s2s_param_count(&t)));
    cr_assert(eq(sz, fl_s2s_param_count(&c.model), 299139));
    fl_train_config_from_yaml(FLIGRU_SOURCE_DIR "/configs/distill-student.yaml", 1, &c);
    cr_assert(eq(sz, fl_s2s_param_count(&c.model), 6627));
    cr_assert(eq(dbl, c.alpha, 0.6));
    cr_assert(eq(int, c.qat_p.weight_bits, 8));
}

/* QAT's weight and bias rule is `fligru quantize`'s PTQ: the integers fl_fx_quantize
 * picks are exactly those behind fl_fake_quant_model's values (fx-default formats). */
static void check_matrix(const fl_fx_matrix *fx, const float *w, const float *fq)
{
    for (int r = 0; r < fx->rows; ++r) {
        double amax = 0;
        for (int k = 0; k < fx->cols; ++k) amax = fmax(amax, fabs((double)w[r * fx->cols + k]));
        const double s = amax / 127.0;
        for (int k = 0; k < fx->cols; ++k) {
            size_t i = (size_t)r * (size_t)fx->cols + (size_t)k;
            cr_assert(eq(i32, fx->q[i], (int32_t)rint((double)fq[i] / s)), "row %d col %d", r, k);
        }
    }
}

Test(train, qat_agrees_with_fx_ptq)
{
    fl_s2s_config c = fl_s2s_config_student(16);
    fl_s2s m, q;
    cr_assert(eq(int, fl_s2s_init(&m, &c), FL_OK));
    cr_assert(eq(int, fl_s2s_init(&q, &c), FL_OK));
    fl_s2s_init_random(&m, 8);
    fl_fx_format f;
    fl_fx_format_default(&f);
    cr_assert(eq(int, f.weight_bits, 8));
    cr_assert(eq(int, f.weight_scale, FL_FX_SCALE_ROW));
    fl_fx_model fx;
    cr_assert(eq(int, fl_fx_quantize(&m, &f, &fx, NULL), FL_OK), "%s", fl_error());
    fl_qat_params qp = {.weight_bits = 8, .weight_scale = FL_QAT_PER_ROW, .bias_bits = f.bias.bits,
                        .bias_frac = f.bias.frac};
    fl_fake_quant_model(&m, &qp, &q);
    check_matrix(&fx.enc[0].wx, m.enc[0].w_ih, q.enc[0].w_ih);
    check_matrix(&fx.enc[0].wh, m.enc[0].w_hh, q.enc[0].w_hh);
    check_matrix(&fx.dec[0].wh, m.dec[0].w_hh, q.dec[0].w_hh);
    check_matrix(&fx.dense_w, m.dense_w, q.dense_w);
    for (int i = 0; i < 3 * 16; ++i)
        cr_assert(eq(flt, q.enc[0].b_ih[i], (float)ldexp(fx.enc[0].bx[i], -f.bias.frac)), "bias %d", i);
    fl_fx_model_free(&fx);
    fl_s2s_free(&m);
    fl_s2s_free(&q);
}

/* ---- initialisation and warm-up (issue 17) ------------------------------------------- */

/* Keras's initialisation: orthonormal columns in every weight_hh, zero biases, input,
 * dense and bridge weights inside the Glorot bound; chrono adds b_z = log(U(1, T-1)). */
static void check_keras_init(const fl_s2s_config *c, int chrono_t)
{
    fl_s2s m, m2;
    cr_assert(eq(int, fl_s2s_init(&m, c), FL_OK));
    cr_assert(eq(int, fl_s2s_init(&m2, c), FL_OK));
    cr_assert(eq(int, fl_train_init_keras(&m, 11, chrono_t), FL_OK));
    cr_assert(eq(int, fl_train_init_keras(&m2, 11, chrono_t), FL_OK));
    cr_assert(eq(int, memcmp(m.params, m2.params, m.n_params * sizeof(float)), 0), "not deterministic");
    for (int pass = 0; pass < 2; ++pass)
        for (int l = 0; l < c->layers; ++l) {
            const fl_gru_layer *g = pass ? &m.dec[l] : &m.enc[l];
            const size_t H = (size_t)g->hidden, h3 = 3 * H;
            for (size_t a = 0; a < H; ++a)
                for (size_t b = 0; b < H; ++b) {
                    double d = 0.0;
                    for (size_t i = 0; i < h3; ++i) d += (double)g->w_hh[i * H + a] * g->w_hh[i * H + b];
                    cr_assert(fabs(d - (a == b)) < 1e-5, "layer %d: column %zu . %zu = %g", l, a, b, d);
                }
            const double lim = sqrt(6.0 / (double)(h3 + (size_t)g->input));
            for (size_t i = 0; i < h3 * (size_t)g->input; ++i) cr_assert(fabsf(g->w_ih[i]) <= lim);
            const size_t oz = c->order == FL_GATES_RZN ? H : 0;
            for (size_t j = 0; j < h3; ++j) {
                float b = g->b_ih[j];
                if (chrono_t && j >= oz && j < oz + H)
                    cr_assert(b >= 0.0f && b <= (float)log(chrono_t - 1.0), "b_z %g", b);
                else
                    cr_assert(eq(flt, b, 0.0f));
                if (g->b_hh) cr_assert(eq(flt, g->b_hh[j], 0.0f));
            }
        }
    const double lim = sqrt(6.0 / (double)(c->outputs + c->dec_hidden));
    for (size_t i = 0; i < (size_t)(c->outputs * c->dec_hidden); ++i) cr_assert(fabsf(m.dense_w[i]) <= lim);
    for (int k = 0; k < c->outputs; ++k) cr_assert(eq(flt, m.dense_b[k], 0.0f));
    fl_s2s_free(&m);
    fl_s2s_free(&m2);
}

Test(train, keras_and_chrono_initialisation)
{
    fl_s2s_config s = fl_s2s_config_student(16), t = fl_s2s_config_teacher();
    check_keras_init(&s, 0);
    check_keras_init(&s, 135);
    t.enc_hidden = 24;          /* bridges, two layers, reset-after, Keras's gate order */
    t.dec_hidden = 12;
    t.order = FL_GATES_ZRN;
    check_keras_init(&t, 40);
}

Test(train, warmup_ramps_linearly_then_holds)
{
    cr_assert(eq(dbl, fl_train_warmup_lr(1e-2, 1, 0), 1e-2));
    cr_assert(eq(dbl, fl_train_warmup_lr(1e-2, 1, 4), 1e-2 / 4));
    cr_assert(eq(dbl, fl_train_warmup_lr(1e-2, 3, 4), 1e-2 * 3 / 4));
    cr_assert(eq(dbl, fl_train_warmup_lr(1e-2, 4, 4), 1e-2));
    cr_assert(eq(dbl, fl_train_warmup_lr(1e-2, 100, 4), 1e-2));
}

Test(train, config_reads_init_and_warmup)
{
    char *d = tu_tmpdir("train-init");
    char *p = cfg_file(d, "model:\n  kind: teacher\n  init: chrono\ntrain:\n  warmup_epochs: 0.5\n");
    fl_train_config c;
    cr_assert(eq(int, fl_train_config_from_yaml(p, 0, &c), FL_OK), "%s", fl_error());
    cr_assert(eq(int, c.init, FL_INIT_CHRONO));
    cr_assert(eq(dbl, c.warmup_epochs, 0.5));
    cr_assert(eq(int, c.model.layers, 2), "init must not reset the kind's defaults");
    fl_train_config_default(&c);
    cr_assert(eq(int, c.init, FL_INIT_LEGACY), "the committed models were made with legacy");
    cr_assert(eq(dbl, c.warmup_epochs, 0.0));
    free(p);
    free(d);
    bad_config("model:\n  init: xavier\n", 0, "model.init");
    bad_config("train:\n  warmup_epochs: -1\n", 0, "train.warmup_epochs");
}

Test(train, large_batch_configs_select_chrono_and_the_committed_ones_legacy)
{
    static const char *const chrono[] = {"train-teacher-b1024.yaml", "train-student-b1024.yaml"};
    static const char *const legacy[] = {"train-teacher.yaml", "train-student.yaml", "train-tiny.yaml"};
    fl_train_config c;
    char p[4096];
    for (size_t i = 0; i < 2; ++i) {
        snprintf(p, sizeof p, "%s/configs/%s", FLIGRU_SOURCE_DIR, chrono[i]);
        cr_assert(eq(int, fl_train_config_from_yaml(p, 0, &c), FL_OK), "%s", fl_error());
        cr_assert(eq(int, c.init, FL_INIT_CHRONO), "%s", chrono[i]);
        cr_assert(eq(sz, c.batch, 1024));
    }
    for (size_t i = 0; i < 3; ++i) {
        snprintf(p, sizeof p, "%s/configs/%s", FLIGRU_SOURCE_DIR, legacy[i]);
        cr_assert(eq(int, fl_train_config_from_yaml(p, 0, &c), FL_OK), "%s", fl_error());
        cr_assert(eq(int, c.init, FL_INIT_LEGACY), "%s made a committed model or test", legacy[i]);
        cr_assert(eq(dbl, c.warmup_epochs, 0.0));
    }
    cr_assert(eq(int, fl_train_config_from_yaml(FLIGRU_SOURCE_DIR "/configs/distill-student.yaml", 1, &c), FL_OK));
    cr_assert(eq(int, c.init, FL_INIT_LEGACY));
}
