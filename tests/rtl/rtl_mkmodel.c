/* rtl_mkmodel.c - random float Seq2SeqLite models and inputs for the RTL test
 * benches (tests/rtl, ctest rtl.*).
 *
 *   rtl_mkmodel --hidden 32 --outputs 3 --reset before --act sigmoid --order rzn
 *               --wscale 4 --bscale 2 --seed 7 --pixels 200 --steps 32
 *               -o model.safetensors --input in.npy
 *
 * The model is PyTorch's default initialisation (fl_s2s_init_random), then
 * every weight row multiplied by its own log-uniform factor in [1/8, wscale]
 * (so the per-row scales, multipliers and shifts all differ) and every bias by
 * bscale; 5 % of the rows and biases, one recurrent row per matrix and dense
 * row 0 are pushed 32x further, so that the rescales, the pre-activations, the
 * table indices and the outputs reach their saturations and clamps. The
 * inputs mix peak-normalised decays (TPSF-like), uniform noise in [-0.25,
 * 1.25] and rare large values that saturate the input format. Deterministic
 * for a seed. */
#include "fligru/model_io.h"
#include "fligru/npy.h"
#include "fligru/seq2seq.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t next_u64(void)   /* splitmix64 */
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double uniform(void) { return (double)(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

/* Rows that saturate: 5 % of them, and always row `force` (-1: none). */
static void scale_rows(float *w, int rows, int cols, double wscale, int force)
{
    for (int r = 0; r < rows; ++r) {
        double f = exp(log(1.0 / 8.0) + uniform() * (log(wscale) - log(1.0 / 8.0)));
        if (r == force || uniform() < 0.05) f = wscale * 32.0;
        for (int c = 0; c < cols; ++c) w[(size_t)r * cols + c] *= (float)f;
    }
}

static void scale_vec(float *b, int n, double s)
{
    for (int i = 0; i < n; ++i) b[i] *= (float)(s * (uniform() < 0.05 ? 32.0 : 1.0));
}

static int usage(void)
{
    fprintf(stderr, "usage: rtl_mkmodel --hidden H --outputs C --reset after|before --act sigmoid|hard\n"
                    "       --order rzn|zrn --wscale S --bscale S --seed N --pixels N --steps T\n"
                    "       -o MODEL.safetensors --input IN.npy\n");
    return 2;
}

typedef struct {
    int         hidden, outputs, pixels, steps;
    double      wscale, bscale;
    uint64_t    seed;
    const char *out, *in, *reset, *act, *order;
} mk_args;

/* 0 when the arguments are complete, else the usage message's exit status. */
static int parse_args(int argc, char **argv, mk_args *a)
{
    *a = (mk_args){.outputs = 3, .wscale = 1.0, .bscale = 1.0, .seed = 1, .reset = "before", .act = "sigmoid",
                   .order = "rzn"};
    for (int i = 1; i < argc; ++i) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        if (!strcmp(k, "--hidden")) a->hidden = atoi(v);
        else if (!strcmp(k, "--outputs")) a->outputs = atoi(v);
        else if (!strcmp(k, "--reset")) a->reset = v;
        else if (!strcmp(k, "--act")) a->act = v;
        else if (!strcmp(k, "--order")) a->order = v;
        else if (!strcmp(k, "--wscale")) a->wscale = atof(v);
        else if (!strcmp(k, "--bscale")) a->bscale = atof(v);
        else if (!strcmp(k, "--seed")) a->seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--pixels")) a->pixels = atoi(v);
        else if (!strcmp(k, "--steps")) a->steps = atoi(v);
        else if (!strcmp(k, "-o")) a->out = v;
        else if (!strcmp(k, "--input")) a->in = v;
        else return usage();
        ++i;
    }
    if (a->hidden < 1 || a->pixels < 1 || a->steps < 1 || !a->out || !a->in || a->wscale <= 0) return usage();
    return 0;
}

static int fail(void)
{
    fprintf(stderr, "rtl_mkmodel: %s\n", fl_error());
    return 2;
}

/* The random model, its rows scaled so that some saturate (seeds rng_state). */
static int make_model(const mk_args *a)
{
    fl_s2s_config c = fl_s2s_config_student(a->hidden);
    c.input = 1;
    c.outputs = a->outputs;
    c.reset = !strcmp(a->reset, "after") ? FL_RESET_AFTER : FL_RESET_BEFORE;
    c.act = !strcmp(a->act, "hard") ? FL_ACT_HARD_SIGMOID : FL_ACT_SIGMOID;
    c.order = !strcmp(a->order, "zrn") ? FL_GATES_ZRN : FL_GATES_RZN;
    fl_s2s m;
    if (fl_s2s_init(&m, &c) != FL_OK) return fail();
    fl_s2s_init_random(&m, a->seed);
    rng_state = a->seed * UINT64_C(0x2545F4914F6CDD1D) + 1;
    const int H = a->hidden;
    for (int side = 0; side < 2; ++side) {
        fl_gru_layer *L = side ? &m.dec[0] : &m.enc[0];
        scale_rows(L->w_ih, 3 * H, L->input, a->wscale, -1);
        scale_rows(L->w_hh, 3 * H, H, a->wscale, (int)(uniform() * 3 * H));
        scale_vec(L->b_ih, 3 * H, a->bscale);
        if (L->b_hh) scale_vec(L->b_hh, 3 * H, a->bscale);
    }
    scale_rows(m.dense_w, a->outputs, H, a->wscale, 0);   /* channel 0 saturates the output */
    scale_vec(m.dense_b, a->outputs, a->bscale);
    char seed_s[32];
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)a->seed);
    const fl_meta_kv meta[] = {{"command", "rtl_mkmodel (tests/rtl)"}, {"seed", seed_s}};
    const fl_status st = fl_model_save(a->out, &m, meta, 2, NULL, 0);
    fl_s2s_free(&m);
    return st ? fail() : 0;
}

/* One pixel's samples: a decay behind a rising edge (two of three kinds) or
 * noise over the whole range, sometimes with an outlier that saturates. */
static void make_pixel(float *s, int steps, int kind)
{
    const double tau = 0.05 + 0.4 * uniform(), t0 = 0.05 + 0.2 * uniform();
    double peak = 0;
    for (int t = 0; t < steps; ++t) {
        const double u = (double)t / steps;
        double v;
        if (kind == 2) {
            v = -0.25 + 1.5 * uniform();
        } else {
            const double rise = 1.0 / (1.0 + exp(-(u - t0) * 60.0));
            v = rise * exp(-(u > t0 ? u - t0 : 0) / tau) + 0.03 * uniform();
        }
        s[t] = (float)v;
        if (v > peak) peak = v;
    }
    if (kind != 2 && peak > 0)
        for (int t = 0; t < steps; ++t) s[t] = (float)(s[t] / peak);
    if (uniform() < 0.1) s[(int)(uniform() * steps)] = uniform() < 0.5 ? 3.5f : -3.5f;
}

/* The inputs [pixels][steps][1], continuing make_model's random sequence. */
static int make_input(const mk_args *a)
{
    fl_npy x;
    const size_t shape[3] = {(size_t)a->pixels, (size_t)a->steps, 1};
    if (fl_npy_alloc(&x, FL_F32, 3, shape) != FL_OK) return fail();
    float *xv = fl_npy_f32(&x);
    for (int p = 0; p < a->pixels; ++p) make_pixel(xv + (size_t)p * a->steps, a->steps, p % 3);
    const fl_status st = fl_npy_save(a->in, &x);
    fl_npy_free(&x);
    return st ? fail() : 0;
}

int main(int argc, char **argv)
{
    mk_args a;
    int rc = parse_args(argc, argv, &a);
    if (!rc) rc = make_model(&a);
    if (!rc) rc = make_input(&a);
    return rc;
}
