/* synth.c - synthetic TPSFs: per-sample generation and the output directory.
 *
 * Sample i draws from its own Philox stream (seed, i), in a fixed order:
 * decay parameters, IRF jitter, photon budget, then one Poisson draw per
 * gate. Digit tiles use streams from 2^63 up, far from any sample index.
 * Nothing is shared between samples, so the OpenMP loop is thread-count
 * invariant by construction.
 */
#include "fligru/synth.h"
#include "fligru/io.h"
#include "fligru/npy.h"
#include "fligru/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_MASK  (UINT64_C(1) << 63)                          /* + tile: jitter */
#define STREAM_CLASS ((UINT64_C(1) << 63) | (UINT64_C(1) << 62))  /* + tile: digit  */

struct fl_synth {
    fl_synth_params p;
    size_t   n;            /* samples                                     */
    size_t   h, w;         /* image mode frame                            */
    uint8_t *mask;         /* image mode, [h][w]                          */
    fl_npy   irf;          /* kind = file: float32, rows x T              */
    size_t   irf_rows;     /* 1 (shared) or n                             */
    int      instr;        /* fl_synth_has_instrument(&p)                 */
};

/* ---- creation -------------------------------------------------------------- */

static fl_status check_irf_rows(const fl_synth *s)
{
    const float *x = fl_npy_f32(&s->irf);
    size_t T = (size_t)s->p.gates;
    for (size_t r = 0; r < s->irf_rows; ++r) {
        double sum = 0.0;
        for (size_t t = 0; t < T; ++t) {
            float v = x[r * T + t];
            if (!isfinite(v) || v < 0.0f)
                return fl_fail(FL_E_INPUT, "%s: irf row %zu gate %zu is %g: need finite values >= 0",
                               s->p.irf_file, r, t, (double)v);
            sum += v;
        }
        if (!(sum > 0.0))
            return fl_fail(FL_E_INPUT, "%s: irf row %zu sums to 0", s->p.irf_file, r);
    }
    return FL_OK;
}

/* Accepts [T] or [1,T] (shared), [N,T] (per sample) and, in image mode, [H,W,T]. */
static fl_status load_irf_file(fl_synth *s)
{
    fl_status st = fl_npy_load_f32(s->p.irf_file, &s->irf);
    if (st) return st;
    const fl_npy *a = &s->irf;
    size_t T = (size_t)s->p.gates;
    int ok = a->ndim >= 1 && a->shape[a->ndim - 1] == T;
    if (ok && (a->ndim == 1 || (a->ndim == 2 && a->shape[0] == 1))) s->irf_rows = 1;   /* one measurement */
    else if (ok && a->ndim == 2 && a->shape[0] == s->n) s->irf_rows = s->n;
    else if (ok && a->ndim == 3 && s->mask && a->shape[0] == s->h && a->shape[1] == s->w) s->irf_rows = s->n;
    else ok = 0;
    if (!ok) {
        char shape[96];
        fl_npy_shape_str(a, shape, sizeof shape);
        if (s->mask)
            return fl_fail(FL_E_INPUT, "%s: irf shape %s: expected [%zu], [1,%zu], [%zu,%zu] or [%zu,%zu,%zu]",
                           s->p.irf_file, shape, T, T, s->n, T, s->h, s->w, T);
        return fl_fail(FL_E_INPUT, "%s: irf shape %s: expected [%zu], [1,%zu] or [%zu,%zu]",
                       s->p.irf_file, shape, T, T, s->n, T);
    }
    return check_irf_rows(s);
}

static fl_status make_mask(fl_synth *s)
{
    size_t S = (size_t)s->p.digit_size, cols = (size_t)s->p.tiles[1];
    size_t tiles = (size_t)s->p.tiles[0] * cols;
    uint8_t *tile = malloc(S * S);
    s->mask = malloc(s->h * s->w);
    if (!tile || !s->mask) {
        free(tile);
        return fl_fail(FL_E_NOMEM, "synth: out of memory for a %zux%zu mask", s->h, s->w);
    }
    for (size_t j = 0; j < tiles; ++j) {
        fl_rng r;
        fl_rng_init(&r, s->p.seed, STREAM_CLASS + j);
        int d = (int)(fl_rng_uniform(&r) * 10.0);
        fl_synth_digit(d, (int)S, s->p.seed, STREAM_MASK + j, tile);
        size_t r0 = j / cols * S, c0 = j % cols * S;
        for (size_t y = 0; y < S; ++y) memcpy(s->mask + (r0 + y) * s->w + c0, tile + y * S, S);
    }
    free(tile);
    return FL_OK;
}

fl_status fl_synth_create(const fl_synth_params *p, fl_synth **out)
{
    *out = NULL;
    fl_status st = fl_synth_params_check(p);
    if (st) return st;
    fl_synth *s = calloc(1, sizeof *s);
    if (!s) return fl_fail(FL_E_NOMEM, "synth: out of memory");
    s->p = *p;
    s->n = p->samples;
    s->instr = fl_synth_has_instrument(p);
    if (p->image) {
        s->h = (size_t)p->tiles[0] * (size_t)p->digit_size;
        s->w = (size_t)p->tiles[1] * (size_t)p->digit_size;
        s->n = s->h * s->w;
        st = make_mask(s);
    }
    if (!st && p->irf_kind == FL_IRF_FILE) st = load_irf_file(s);
    if (st) {
        fl_synth_free(s);
        return st;
    }
    *out = s;
    return FL_OK;
}

void fl_synth_free(fl_synth *s)
{
    if (!s) return;
    free(s->mask);
    if (s->irf.data) fl_npy_free(&s->irf);
    free(s);
}

size_t fl_synth_count(const fl_synth *s) { return s->n; }

/* ---- one sample ------------------------------------------------------------ */

typedef struct { double tau1, tau2, a; } decay;

static decay draw_decay(const fl_synth_params *p, fl_rng *r)
{
    decay d;
    d.tau1 = fl_rng_range(r, p->tau1_ns[0], p->tau1_ns[1]);
    if (p->model == FL_DECAY_MONO) {
        d.tau2 = d.tau1;
        d.a = 1.0;
    } else {
        d.tau2 = fl_rng_range(r, p->tau2_ns[0], p->tau2_ns[1]);
        d.a = fl_rng_range(r, p->fraction[0], p->fraction[1]);
    }
    return d;
}

/* Log-uniform: equal weight to every decade of brightness (uniform when the
 * range starts at 0). */
static double draw_photons(const fl_synth_params *p, fl_rng *r)
{
    double lo = p->photons[0], hi = p->photons[1], u = fl_rng_uniform(r);
    if (lo <= 0.0 || hi == lo) return lo + (hi - lo) * u;
    return exp(log(lo) + (log(hi) - log(lo)) * u);
}

/* The sample's instrument: the IRF family's and the background's per-pixel
 * draws, all from the stream FL_SYNTH_STREAM_INSTR + i in this fixed order. */
typedef struct {
    double tail, diff_frac, diff_tau;
    double refl_delay[FL_SYNTH_MAX_REFL], refl_amp[FL_SYNTH_MAX_REFL];
    double shift, width;
    double dark, ambient, afterpulsing, ap_delay;
} instrument;

static double draw_range(fl_rng *r, const double v[2])
{
    return v[0] == v[1] ? v[0] : fl_rng_range(r, v[0], v[1]);
}

static instrument draw_instrument(const fl_synth_params *p, size_t i)
{
    instrument in;
    fl_rng r;
    fl_rng_init(&r, p->seed, FL_SYNTH_STREAM_INSTR + i);
    const double tail[2] = {p->tail_ns, p->tail_hi_ns > p->tail_ns ? p->tail_hi_ns : p->tail_ns};
    const double dark[2] = {p->dark_counts, p->dark_hi > p->dark_counts ? p->dark_hi : p->dark_counts};
    in.tail = draw_range(&r, tail);
    in.diff_frac = draw_range(&r, p->diffusion_fraction);
    in.diff_tau = draw_range(&r, p->diffusion_tau_ns);
    for (int k = 0; k < p->n_reflections; ++k) {
        in.refl_delay[k] = draw_range(&r, p->refl_delay_ns[k]);
        in.refl_amp[k] = draw_range(&r, p->refl_amplitude[k]);
    }
    in.shift = p->shift_jitter_ns > 0.0 ? fl_rng_range(&r, -p->shift_jitter_ns, p->shift_jitter_ns) : 0.0;
    in.width = p->width_jitter > 0.0 ? 1.0 + fl_rng_range(&r, -p->width_jitter, p->width_jitter) : 1.0;
    in.dark = draw_range(&r, dark);
    in.ambient = draw_range(&r, p->ambient);
    in.afterpulsing = draw_range(&r, p->afterpulsing);
    in.ap_delay = draw_range(&r, p->afterpulse_delay_ns);
    return in;
}

int fl_synth_has_instrument(const fl_synth_params *p)
{
    return p->tail_hi_ns > p->tail_ns || p->n_reflections > 0 || p->diffusion_fraction[1] > 0.0 ||
           p->shift_jitter_ns > 0.0 || p->width_jitter > 0.0 || p->dark_hi > p->dark_counts ||
           p->ambient[1] > 0.0 || p->afterpulsing[1] > 0.0;
}

/* Today's IRF (one EMG) unless the family asks for more: then pulse =
 * (1-f) EMG(tail) + f EMG(slow tail), plus each reflection's delayed,
 * scaled copy of the pulse, renormalised to unit sum. */
static fl_status parametric_irf(const fl_synth_params *p, const instrument *in, double onset, double fwhm,
                                double *irf, double *tmp)
{
    int T = p->gates;
    double dt = p->gate_width_ns;
    if (!in) return fl_synth_irf_emg(onset, fwhm, p->tail_ns, dt, T, irf);
    for (int t = 0; t < T; ++t) irf[t] = 0.0;
    for (int k = -1; k < p->n_reflections; ++k) {
        double at = k < 0 ? onset : onset + in->refl_delay[k], w = k < 0 ? 1.0 : in->refl_amp[k];
        fl_synth_irf_emg_mass(at, fwhm, in->tail, dt, T, tmp);
        for (int t = 0; t < T; ++t) irf[t] += w * (1.0 - in->diff_frac) * tmp[t];
        if (in->diff_frac > 0.0) {
            fl_synth_irf_emg_mass(at, fwhm, in->diff_tau, dt, T, tmp);
            for (int t = 0; t < T; ++t) irf[t] += w * in->diff_frac * tmp[t];
        }
    }
    double sum = 0.0;
    for (int t = 0; t < T; ++t) sum += irf[t];
    if (!(sum > 1e-300) || !isfinite(sum))
        return fl_fail(FL_E_INPUT, "synth: irf: onset %g ns, fwhm %g ns puts no mass inside the %d gates",
                       onset, fwhm, T);
    for (int t = 0; t < T; ++t) irf[t] /= sum;
    return FL_OK;
}

/* tmp: T doubles of scratch (the TPSF buffer, not yet in use). */
static fl_status make_irf(const fl_synth *s, size_t i, fl_rng *r, const instrument *in, double *irf,
                          double *tmp)
{
    const fl_synth_params *p = &s->p;
    int T = p->gates;
    if (p->irf_kind == FL_IRF_PARAMETRIC) {
        double onset = p->onset_ns + fl_rng_range(r, -p->onset_jitter_ns, p->onset_jitter_ns);
        double fwhm = p->fwhm_ns * (1.0 + fl_rng_range(r, -p->fwhm_jitter, p->fwhm_jitter));
        return parametric_irf(p, in, onset, fwhm, irf, tmp);
    }
    const float *row = fl_npy_f32(&s->irf) + (s->irf_rows == 1 ? 0 : i) * (size_t)T;
    int warp = in && (in->shift != 0.0 || in->width != 1.0);
    double *dst = warp ? tmp : irf, sum = 0.0;
    for (int t = 0; t < T; ++t) sum += row[t];
    for (int t = 0; t < T; ++t) dst[t] = row[t] / sum;
    return warp ? fl_synth_irf_warp(tmp, T, p->gate_width_ns, in->shift, in->width, irf) : FL_OK;
}

/* Expected counts -> Poisson counts, in place. */
static void add_noise(const fl_synth_params *p, fl_rng *r, double photons, double *y, int T)
{
    double sum = 0.0;
    for (int t = 0; t < T; ++t) sum += y[t];
    double scale = sum > 0.0 ? photons / sum : 0.0;
    for (int t = 0; t < T; ++t)
        y[t] = (double)fl_rng_poisson(r, scale * y[t] + p->dark_counts);
}

/* The same with the instrument's background: dark counts, an ambient level
 * (a fraction of the expected signal peak, every gate) and afterpulsing (a
 * fraction of the counts of earlier gates, returned after an exponential
 * delay of mean ap_delay: ap[t] = q ap[t-1] + (1-q) n[t-1]). */
static void add_noise_instr(const fl_synth_params *p, const instrument *in, fl_rng *r, double photons,
                            double *y, int T)
{
    double sum = 0.0, peak = 0.0;
    for (int t = 0; t < T; ++t) {
        sum += y[t];
        peak = y[t] > peak ? y[t] : peak;
    }
    double scale = sum > 0.0 ? photons / sum : 0.0;
    double flat = in->dark + in->ambient * scale * peak;
    double q = in->afterpulsing > 0.0 ? exp(-p->gate_width_ns / in->ap_delay) : 0.0, ap = 0.0, prev = 0.0;
    for (int t = 0; t < T; ++t) {
        ap = q * ap + (1.0 - q) * prev;
        double n = (double)fl_rng_poisson(r, scale * y[t] + flat + in->afterpulsing * ap);
        prev = n;
        y[t] = n;
    }
}

static void store_peak_normalised(const double *y, int T, float *out)
{
    double peak = 0.0;
    for (int t = 0; t < T; ++t) peak = y[t] > peak ? y[t] : peak;
    /* Division, not a reciprocal multiply: the peak becomes exactly 1. */
    for (int t = 0; t < T; ++t) out[t] = peak > 0.0 ? (float)(y[t] / peak) : 0.0f;
}

/* ch0 = full decay, ch1 = short, ch2 = long component, all over f(0). */
static void store_target(const fl_synth_params *p, decay d, int fg, float *out)
{
    int T = p->gates, C = p->channels;
    if (!fg) {
        memset(out, 0, (size_t)T * (size_t)C * sizeof *out);
        return;
    }
    /* a + (1-a) can differ from 1 by an ulp: dividing by it keeps ch0(0) = 1. */
    double f0 = d.a + (1.0 - d.a);
    for (int t = 0; t < T; ++t) {
        double age = t * p->gate_width_ns;
        double s = d.a * exp(-age / d.tau1) / f0;
        double l = (1.0 - d.a) * exp(-age / d.tau2) / f0;
        float *o = out + (size_t)t * (size_t)C;
        o[0] = (float)(s + l);
        if (C == 3) {
            o[1] = (float)s;
            o[2] = (float)l;
        }
    }
}

typedef struct { float *tpsf, *target, *params, *irf; } out_row;

static fl_status gen_one(const fl_synth *s, size_t i, double *irf, double *y, out_row o)
{
    const fl_synth_params *p = &s->p;
    int T = p->gates;
    fl_rng r;
    fl_rng_init(&r, p->seed, i);
    decay d = draw_decay(p, &r);
    instrument in;
    const instrument *pin = NULL;
    if (s->instr) {
        in = draw_instrument(p, i);
        pin = &in;
    }
    fl_status st = make_irf(s, i, &r, pin, irf, y);
    if (st) return st;
    double photons = p->noise ? draw_photons(p, &r) : 0.0;
    int fg = !s->mask || s->mask[i];

    if (fg) fl_synth_conv(irf, T, p->gate_width_ns, d.tau1, d.tau2, d.a, y);
    else memset(y, 0, (size_t)T * sizeof *y);
    if (p->noise && pin) add_noise_instr(p, pin, &r, fg ? photons : 0.0, y, T);
    else if (p->noise) add_noise(p, &r, fg ? photons : 0.0, y, T);

    if (o.tpsf) store_peak_normalised(y, T, o.tpsf);
    if (o.target) store_target(p, d, fg, o.target);
    if (o.params) {
        o.params[0] = fg ? (float)d.tau1 : 0.0f;
        o.params[1] = fg ? (float)d.tau2 : 0.0f;
        o.params[2] = fg ? (float)d.a : 0.0f;
    }
    if (o.irf)
        for (int t = 0; t < T; ++t) o.irf[t] = (float)irf[t];
    return FL_OK;
}

static out_row row_ptrs(const fl_synth_params *p, size_t j, float *tpsf, float *target,
                        float *params, float *irf)
{
    size_t T = (size_t)p->gates, C = (size_t)p->channels;
    out_row o = {tpsf ? tpsf + j * T : NULL, target ? target + j * T * C : NULL,
                 params ? params + j * 3 : NULL, irf ? irf + j * T : NULL};
    return o;
}

fl_status fl_synth_generate(const fl_synth *s, size_t i0, size_t i1,
                            float *tpsf, float *target, float *params, float *irf)
{
    if (i0 > i1 || i1 > s->n)
        return fl_fail(FL_E_INPUT, "synth: sample range [%zu, %zu) outside [0, %zu)", i0, i1, s->n);
    size_t T = (size_t)s->p.gates;
    long long n = (long long)(i1 - i0);
    int nomem = 0, failed = 0;
    char msg[256] = "";
#pragma omp parallel reduction(| : nomem)
    {
        double *work = malloc(2 * T * sizeof *work);
        nomem = !work;
#pragma omp for schedule(static)
        for (long long j = 0; j < n; ++j) {
            if (!work) continue;
            out_row o = row_ptrs(&s->p, (size_t)j, tpsf, target, params, irf);
            if (gen_one(s, i0 + (size_t)j, work, work + T, o) != FL_OK) {
#pragma omp critical(fl_synth_fail)
                if (!failed) {
                    failed = 1;   /* the message lives in the worker's thread-local buffer */
                    strncpy(msg, fl_error(), sizeof msg - 1);
                }
            }
        }
        free(work);
    }
    if (nomem) return fl_fail(FL_E_NOMEM, "synth: out of memory for %zu-gate work buffers", T);
    if (failed) return fl_fail(FL_E_INPUT, "%s", msg);
    return FL_OK;
}

/* ---- the output directory -------------------------------------------------- */

enum { OUT_TPSF, OUT_TARGET, OUT_PARAMS, OUT_IRF, OUT_MASK, N_OUT };
static const char *const out_names[N_OUT] = {"tpsf.npy", "target.npy", "params.npy",
                                             "irf.npy", "mask.npy"};

/* Leading dims: [N] or [H, W]; then the per-sample dims. */
static fl_status alloc_outputs(const fl_synth *s, fl_npy arr[N_OUT])
{
    size_t lead[2] = {s->n, 0}, shape[FL_NPY_MAXDIM];
    int nl = 1;
    if (s->mask) {
        lead[0] = s->h;
        lead[1] = s->w;
        nl = 2;
    }
    size_t tails[N_OUT][2] = {{(size_t)s->p.gates, 0}, {(size_t)s->p.gates, (size_t)s->p.channels},
                              {3, 0}, {(size_t)s->p.gates, 0}, {0, 0}};
    int ntail[N_OUT] = {1, 2, 1, 1, 0};
    for (int k = 0; k < N_OUT; ++k) {
        if (k == OUT_MASK && !s->mask) continue;
        memcpy(shape, lead, sizeof lead);
        memcpy(shape + nl, tails[k], sizeof tails[k]);
        fl_status st = fl_npy_alloc(&arr[k], k == OUT_MASK ? FL_U8 : FL_F32, nl + ntail[k], shape);
        if (st) return st;
    }
    if (s->mask) memcpy(arr[OUT_MASK].data, s->mask, s->h * s->w);
    return FL_OK;
}

/* Opens every output, writes every output, and only then commits them. */
static fl_status write_outputs(const char *dir, const fl_npy arr[N_OUT], int nout)
{
    fl_atomic f[N_OUT];
    memset(f, 0, sizeof f);
    fl_status st = FL_OK;
    for (int k = 0; k < nout && !st; ++k) {
        char *path = fl_path_join(dir, out_names[k]);
        if (!path) st = fl_fail(FL_E_NOMEM, "synth: out of memory");
        if (!st) st = fl_atomic_open(&f[k], path);
        if (!st) st = fl_npy_write(f[k].fp, path, &arr[k]);
        free(path);
    }
    for (int k = 0; k < nout && !st; ++k) st = fl_atomic_commit(&f[k]);
    for (int k = 0; k < nout; ++k)
        if (f[k].tmp) fl_atomic_abort(&f[k]);   /* not committed: remove */
    return st;
}

fl_status fl_synth_write_dir(const fl_synth_params *p, const char *dir)
{
    fl_synth *s = NULL;
    fl_npy arr[N_OUT];
    memset(arr, 0, sizeof arr);
    fl_status st = fl_synth_create(p, &s);   /* validates everything first */
    if (!st) st = fl_synth_check_memory(p);
    if (!st) st = alloc_outputs(s, arr);
    if (!st) st = fl_synth_generate(s, 0, s->n, fl_npy_f32(&arr[OUT_TPSF]), fl_npy_f32(&arr[OUT_TARGET]),
                                    fl_npy_f32(&arr[OUT_PARAMS]), fl_npy_f32(&arr[OUT_IRF]));
    if (!st) st = fl_mkdir_p(dir);
    if (!st) st = write_outputs(dir, arr, s->mask ? N_OUT : N_OUT - 1);
    for (int k = 0; k < N_OUT; ++k)
        if (arr[k].data) fl_npy_free(&arr[k]);
    fl_synth_free(s);
    return st;
}
