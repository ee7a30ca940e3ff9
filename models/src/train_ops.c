/* train_ops.c - the building blocks of the training loop (train.h): Adam, losses,
 * the per-epoch shuffle, the plateau and early-stopping monitors, weight fake
 * quantisation, and SHA-256 for provenance. Every reduction runs serially in index
 * order, so a result never depends on the thread count. */
#include "fligru/train.h"
#include "fligru/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Adam --------------------------------------------------------------------- */

void fl_adam_step(const fl_adam_params *p, int64_t step, size_t n, float *w, const float *g,
                  float *m, float *v)
{
    const double b1 = p->beta1, b2 = p->beta2;
    const double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);
    const double lr1 = p->lr / bc1, isq2 = 1.0 / sqrt(bc2);
    for (size_t i = 0; i < n; ++i) {
        double gi = (double)g[i];
        double mi = b1 * (double)m[i] + (1.0 - b1) * gi;
        double vi = b2 * (double)v[i] + (1.0 - b2) * gi * gi;
        m[i] = (float)mi;
        v[i] = (float)vi;
        w[i] = (float)((double)w[i] - lr1 * mi / (sqrt(vi) * isq2 + p->eps));
    }
}

double fl_train_warmup_lr(double lr, int64_t step, int64_t warmup)
{
    if (warmup <= 0 || step >= warmup) return lr;
    return lr * (double)(step > 0 ? step : 1) / (double)warmup;
}

/* ---- losses -------------------------------------------------------------------- */

double fl_loss_eval(const fl_loss_params *p, const float *y, const float *target, size_t n,
                    float weight, float *grad)
{
    if (n == 0) return 0.0;
    const int use_mse = p->kind != FL_LOSS_MAE, use_mae = p->kind != FL_LOSS_MSE;
    const double lam = p->kind == FL_LOSS_MIXED ? p->mae_weight : 1.0;
    double se = 0.0, ae = 0.0;
    for (size_t i = 0; i < n; ++i) {
        double d = (double)y[i] - (double)target[i];
        se += d * d;
        ae += fabs(d);
    }
    if (grad) {
        /* d/dy mean((y-t)^2) = 2 (y-t) / n;  d/dy mean|y-t| = sign(y-t) / n. */
        const float ks = use_mse ? (float)(2.0 * weight / (double)n) : 0.0f;
        const float ka = use_mae ? (float)(lam * weight / (double)n) : 0.0f;
        for (size_t i = 0; i < n; ++i) {
            float d = y[i] - target[i];
            float sg = (float)((d > 0.0f) - (d < 0.0f));
            grad[i] += ks * d + ka * sg;
        }
    }
    double mse = se / (double)n, mae = ae / (double)n;
    return (use_mse ? mse : 0.0) + (use_mae ? lam * mae : 0.0);
}

/* ---- shuffle --------------------------------------------------------------------- */

/* Philox streams of the training run, disjoint from fl_synth's (stream = sample index,
 * below 2^40) and from one another. */
#define STREAM_SHUFFLE (UINT64_C(0x5348) << 48)

/* Uniform in [0, bound) without modulo bias (bound >= 1). */
static uint64_t below(fl_rng *r, uint64_t bound)
{
    uint64_t floor = (0 - bound) % bound;   /* 2^64 mod bound */
    uint64_t x;
    do x = fl_rng_u64(r);
    while (x < floor);
    return x % bound;
}

void fl_train_shuffle(const size_t *base, size_t n, uint64_t seed, int64_t epoch, size_t *idx)
{
    if (idx != base) memcpy(idx, base, n * sizeof *idx);
    fl_rng r;
    fl_rng_init(&r, seed, STREAM_SHUFFLE + (uint64_t)epoch);
    for (size_t i = n; i > 1; --i) {
        size_t j = (size_t)below(&r, (uint64_t)i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

/* ---- monitors ------------------------------------------------------------------ */

void fl_plateau_init(fl_plateau *s)
{
    s->best = INFINITY;
    s->wait = 0;
}

double fl_plateau_update(const fl_plateau_params *p, fl_plateau *s, double val, double lr)
{
    if (val < s->best - p->min_delta) {
        s->best = val;
        s->wait = 0;
        return lr;
    }
    if (p->patience <= 0 || ++s->wait < p->patience) return lr;
    s->wait = 0;
    double next = lr * p->factor;
    return next > p->min_lr ? next : (p->min_lr < lr ? p->min_lr : lr);
}

void fl_early_init(fl_early *s)
{
    s->best = INFINITY;
    s->wait = 0;
    s->best_epoch = 0;
}

fl_early_event fl_early_update(const fl_early_params *p, fl_early *s, double val, int epoch)
{
    if (val < s->best - p->min_delta) {
        s->best = val;
        s->wait = 0;
        s->best_epoch = epoch;
        return FL_EARLY_IMPROVED;
    }
    ++s->wait;
    return (p->patience > 0 && s->wait >= p->patience) ? FL_EARLY_STOP : FL_EARLY_WAIT;
}

/* ---- weight fake quantisation -------------------------------------------------- */

double fl_fake_quant_weights(const float *w, size_t n, int bits, float *out)
{
    double amax = 0.0;
    for (size_t i = 0; i < n; ++i) amax = fmax(amax, fabs((double)w[i]));
    const double qmax = (double)((1 << (bits - 1)) - 1);
    const double s = amax / qmax;
    for (size_t i = 0; i < n; ++i) {
        double q = s > 0.0 ? rint((double)w[i] / s) : 0.0;
        q = q > qmax ? qmax : q < -qmax ? -qmax : q;
        out[i] = (float)(q * s);
    }
    return s;
}

void fl_fake_quant_fixed(const float *x, size_t n, int bits, int frac, float *out)
{
    const double lo = -ldexp(1.0, bits - 1), hi = ldexp(1.0, bits - 1) - 1.0;
    for (size_t i = 0; i < n; ++i) {
        double q = rint(ldexp((double)x[i], frac));
        q = q > hi ? hi : q < lo ? lo : q;   /* NaN never reaches here: weights are checked */
        out[i] = (float)ldexp(q, -frac);
    }
}

static size_t add_tensor(const fl_s2s *m, const float *p, size_t rows, size_t cols, int bias,
                         fl_param_tensor *out, size_t k, size_t max)
{
    if (!p) return k;
    if (k < max) out[k] = (fl_param_tensor){(size_t)(p - m->params), rows, cols, bias};
    return k + 1;
}

static size_t add_layer(const fl_s2s *m, const fl_gru_layer *g, fl_param_tensor *out,
                        size_t k, size_t max)
{
    const size_t h3 = 3 * (size_t)g->hidden;
    k = add_tensor(m, g->w_ih, h3, (size_t)g->input, 0, out, k, max);
    k = add_tensor(m, g->w_hh, h3, (size_t)g->hidden, 0, out, k, max);
    k = add_tensor(m, g->b_ih, 1, h3, 1, out, k, max);
    return add_tensor(m, g->b_hh, 1, h3, 1, out, k, max);
}

size_t fl_train_param_tensors(const fl_s2s *m, fl_param_tensor *out, size_t max)
{
    const fl_s2s_config *c = &m->cfg;
    const size_t D = (size_t)c->dec_hidden, E = (size_t)c->enc_hidden;
    size_t k = 0;
    for (int l = 0; l < c->layers; ++l) k = add_layer(m, &m->enc[l], out, k, max);
    for (int l = 0; l < c->layers; ++l) k = add_layer(m, &m->dec[l], out, k, max);
    for (int l = 0; l < c->layers; ++l) {
        k = add_tensor(m, m->bridge_w[l], D, E, 0, out, k, max);
        k = add_tensor(m, m->bridge_b[l], 1, D, 1, out, k, max);
    }
    k = add_tensor(m, m->dense_w, (size_t)c->outputs, D, 0, out, k, max);
    return add_tensor(m, m->dense_b, 1, (size_t)c->outputs, 1, out, k, max);
}

static void quant_tensor(const float *w, const fl_param_tensor *t, const fl_qat_params *q, float *out)
{
    const size_t n = t->rows * t->cols;
    if (t->is_bias ? q->bias_bits == 0 : q->weight_bits == 0) {
        if (out != w) memcpy(out, w, n * sizeof *out);
    } else if (t->is_bias) {
        fl_fake_quant_fixed(w, n, q->bias_bits, q->bias_frac, out);
    } else if (q->weight_scale == FL_QAT_PER_ROW) {
        for (size_t r = 0; r < t->rows; ++r)
            fl_fake_quant_weights(w + r * t->cols, t->cols, q->weight_bits, out + r * t->cols);
    } else {
        fl_fake_quant_weights(w, n, q->weight_bits, out);
    }
}

void fl_fake_quant_model(const fl_s2s *src, const fl_qat_params *q, fl_s2s *dst)
{
    fl_param_tensor t[8 * FL_S2S_MAX_LAYERS + 2];
    size_t n = fl_train_param_tensors(src, t, sizeof t / sizeof t[0]);
    for (size_t i = 0; i < n; ++i)
        quant_tensor(src->params + t[i].offset, &t[i], q, dst->params + t[i].offset);
}

/* ---- Keras-style initialisation ---------------------------------------------------- */

/* Its own Philox stream, disjoint from the shuffles' and from fl_synth's. */
#define STREAM_INIT (UINT64_C(0x494E) << 48)

/* U(-a, a) with a = sqrt(6 / (fan_in + fan_out)): Keras's glorot_uniform. */
static void glorot(float *w, size_t rows, size_t cols, fl_rng *r)
{
    const double a = sqrt(6.0 / (double)(rows + cols));
    for (size_t i = 0; i < rows * cols; ++i) w[i] = (float)fl_rng_range(r, -a, a);
}

/* w [rows, cols], rows >= cols: orthonormal columns, from a Gaussian matrix by
 * modified Gram-Schmidt in double (= QR with R's diagonal made positive, which is
 * Keras's Orthogonal: q * sign(diag(r))). scratch holds rows * cols doubles. A
 * column that Gram-Schmidt cancels (probability 0 for a Gaussian) is redrawn. */
static void orthogonal(float *w, size_t rows, size_t cols, fl_rng *r, double *a)
{
    for (size_t j = 0; j < cols; ++j) {
        double norm = 0.0;
        do {
            for (size_t i = 0; i < rows; ++i) a[i * cols + j] = fl_rng_normal(r);
            for (size_t k = 0; k < j; ++k) {
                double d = 0.0;
                for (size_t i = 0; i < rows; ++i) d += a[i * cols + k] * a[i * cols + j];
                for (size_t i = 0; i < rows; ++i) a[i * cols + j] -= d * a[i * cols + k];
            }
            norm = 0.0;
            for (size_t i = 0; i < rows; ++i) norm += a[i * cols + j] * a[i * cols + j];
            norm = sqrt(norm);
        } while (!(norm > 1e-6));
        for (size_t i = 0; i < rows; ++i) a[i * cols + j] /= norm;
    }
    for (size_t i = 0; i < rows * cols; ++i) w[i] = (float)a[i];
}

fl_status fl_train_init_keras(fl_s2s *m, uint64_t seed, int chrono_t)
{
    const fl_s2s_config *c = &m->cfg;
    const int Hm = c->enc_hidden > c->dec_hidden ? c->enc_hidden : c->dec_hidden;
    double *a = malloc(3 * (size_t)Hm * (size_t)Hm * sizeof *a);
    if (!a) return fl_fail(FL_E_NOMEM, "init: out of memory (hidden %d)", Hm);
    fl_rng r;
    fl_rng_init(&r, seed, STREAM_INIT);
    memset(m->params, 0, m->n_params * sizeof *m->params);   /* every bias 0 */
    for (int pass = 0; pass < 2; ++pass)
        for (int l = 0; l < c->layers; ++l) {
            const fl_gru_layer *g = pass ? &m->dec[l] : &m->enc[l];
            const size_t h3 = 3 * (size_t)g->hidden;
            /* PyTorch layout [3H, in] is Keras's kernel [in, 3H] transposed: the same
             * fans. The recurrent [3H, H] has orthonormal columns, i.e. Keras's
             * [H, 3H] recurrent kernel has orthonormal rows. */
            glorot(g->w_ih, h3, (size_t)g->input, &r);
            orthogonal(g->w_hh, h3, (size_t)g->hidden, &r, a);
            /* Chrono (Tallec & Ollivier 2018): b_z = log(U(1, T-1)), so unit j keeps
             * its state for ~1 + e^b_z steps, a spread of time scales up to T. */
            const size_t oz = c->order == FL_GATES_RZN ? (size_t)g->hidden : 0;
            for (int j = 0; chrono_t > 2 && j < g->hidden; ++j)
                g->b_ih[oz + (size_t)j] = (float)log(fl_rng_range(&r, 1.0, (double)chrono_t - 1.0));
        }
    const size_t E = (size_t)c->enc_hidden, D = (size_t)c->dec_hidden;
    for (int l = 0; l < c->layers; ++l)
        if (m->bridge_w[l]) glorot(m->bridge_w[l], D, E, &r);
    glorot(m->dense_w, (size_t)c->outputs, D, &r);
    free(a);
    return FL_OK;
}

/* ---- SHA-256 (FIPS 180-4) ----------------------------------------------------- */

typedef struct {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t fill;
} sha256;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha_block(sha256 *s, const unsigned char *p)
{
    uint32_t w[64], a[8];
    for (int i = 0; i < 16; ++i)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; ++i) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(a, s->h, sizeof a);
    for (int i = 0; i < 64; ++i) {
        uint32_t t1 = a[7] + (ror(a[4], 6) ^ ror(a[4], 11) ^ ror(a[4], 25)) +
                      ((a[4] & a[5]) ^ (~a[4] & a[6])) + K256[i] + w[i];
        uint32_t t2 = (ror(a[0], 2) ^ ror(a[0], 13) ^ ror(a[0], 22)) +
                      ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
        memmove(a + 1, a, 7 * sizeof a[0]);
        a[4] += t1;
        a[0] = t1 + t2;
    }
    for (int i = 0; i < 8; ++i) s->h[i] += a[i];
}

static void sha_init(sha256 *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
    s->fill = 0;
}

static void sha_update(sha256 *s, const unsigned char *p, size_t n)
{
    s->len += n;
    while (n) {
        size_t k = 64 - s->fill < n ? 64 - s->fill : n;
        memcpy(s->buf + s->fill, p, k);
        s->fill += k;
        p += k;
        n -= k;
        if (s->fill == 64) {
            sha_block(s, s->buf);
            s->fill = 0;
        }
    }
}

static void sha_final(sha256 *s, char hex[65])
{
    uint64_t bits = s->len * 8;
    unsigned char pad = 0x80, zero = 0, lenb[8];
    sha_update(s, &pad, 1);
    while (s->fill != 56) sha_update(s, &zero, 1);
    for (int i = 0; i < 8; ++i) lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha_update(s, lenb, 8);
    for (int i = 0; i < 8; ++i) snprintf(hex + 8 * i, 9, "%08x", (unsigned)s->h[i]);
}

fl_status fl_train_sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) return fl_fail(FL_E_IO, "%s: cannot open", path);
    sha256 s;
    sha_init(&s);
    unsigned char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) sha_update(&s, buf, k);
    int err = ferror(f);
    fclose(f);
    if (err) return fl_fail(FL_E_IO, "%s: read error", path);
    sha_final(&s, hex);
    return FL_OK;
}
