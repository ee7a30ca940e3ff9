/* fligru/synth.h - synthetic fluorescence-lifetime data (TPSFs and truths).
 *
 * Each sample is one pixel: a decay f(t) = a exp(-t/tau1) + (1-a) exp(-t/tau2)
 * (or mono-exponential), convolved with an instrument response (parametric
 * exponentially-modified Gaussian with per-pixel jitter, or read from .npy),
 * with Poisson photon noise and dark counts, divided by its peak. Image mode
 * lays the pixels out as a mosaic of procedurally drawn digit masks (the role
 * MNIST plays in the paper); background pixels carry dark counts only.
 * The model and its discretisation are documented in docs/data.md.
 *
 *     fl_synth_params p;
 *     if (fl_synth_params_from_yaml("configs/synth-default.yaml", &p)) die(fl_error());
 *     p.samples = 1000;                        // overrides, then:
 *     if (fl_synth_write_dir(&p, "data/train")) die(fl_error());
 *
 * In memory (benchmarks, training loops):
 *
 *     fl_synth *s;  fl_synth_create(&p, &s);
 *     size_t T = p.gates, C = p.channels, n = 256;
 *     float *x = malloc(n*T*4), *y = malloc(n*T*C*4);
 *     fl_synth_generate(s, i0, i0 + n, x, y, NULL, NULL);
 *     fl_synth_free(s);
 *
 * Reproducibility: sample i depends only on (seed, i) and the config, never
 * on the thread count or on which range [i0, i1) it was generated in.
 * Limits: fl_synth_write_dir holds all outputs in memory
 * (about N*T*(2+C)*4 bytes).
 */
#ifndef FLIGRU_SYNTH_H
#define FLIGRU_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_SYNTH_PATH_MAX 4096
#define FL_SYNTH_MAX_REFL 4

typedef enum { FL_DECAY_BI = 0, FL_DECAY_MONO = 1 } fl_decay_model;
typedef enum { FL_IRF_PARAMETRIC = 0, FL_IRF_FILE = 1 } fl_irf_kind;

typedef struct {
    uint64_t seed;
    size_t   samples;          /* N (vector mode; image mode: N = H*W)          */
    int      gates;            /* T                                             */
    double   gate_width_ns;    /* gate i sits at t = i * gate_width_ns          */
    int      channels;         /* 1: decay; 3: decay, short, long component     */

    fl_decay_model model;
    double   tau1_ns[2];       /* uniform ranges [lo, hi]; mono uses tau1 only  */
    double   tau2_ns[2];
    double   fraction[2];      /* a, amplitude of the tau1 component            */

    fl_irf_kind irf_kind;
    char     irf_file[FL_SYNTH_PATH_MAX];   /* resolved path (kind = file)      */
    double   onset_ns;         /* Gaussian centre                               */
    double   onset_jitter_ns;  /* per pixel, uniform in +-this                  */
    double   fwhm_ns;          /* Gaussian full width at half maximum           */
    double   fwhm_jitter;      /* per pixel factor, uniform in 1 +- this (< 1)  */
    double   tail_ns;          /* exponential tail time constant; 0: none       */

    int      noise;            /* 0: ideal TPSF (no Poisson, no dark counts)    */
    double   photons[2];       /* expected photons per pixel, log-uniform       */
    double   dark_counts;      /* expected dark counts per gate                 */

    int      image;            /* 1: mosaic of digit masks                      */
    int      digit_size;       /* tile edge in pixels                           */
    int      tiles[2];         /* rows, cols                                    */

    /* A real instrument's variation (docs/data.md, "Instrument variation").
     * Zero is off for every field, and off reproduces the data of a config
     * without these keys byte for byte. Their per-pixel draws come from a
     * second stream per sample (FL_SYNTH_STREAM_INSTR + i), so the draws of
     * the sample's own stream never move. Ranges [lo, hi] are drawn uniformly
     * per pixel; lo == hi is a constant. */
    double   tail_hi_ns;       /* ex-Gaussian: tail drawn in [tail_ns, this]    */
    int      n_reflections;    /* delayed copies of the pulse, <= FL_SYNTH_MAX_REFL */
    double   refl_delay_ns[FL_SYNTH_MAX_REFL][2];
    double   refl_amplitude[FL_SYNTH_MAX_REFL][2];   /* mass relative to the pulse */
    double   diffusion_fraction[2];  /* slow tail's share of the pulse, [0, 1)  */
    double   diffusion_tau_ns[2];    /* slow tail's time constant               */
    double   shift_jitter_ns;  /* kind = file: per pixel shift, uniform +-this  */
    double   width_jitter;     /* kind = file: width factor 1 +- this (< 1)     */
    double   dark_hi;          /* dark counts drawn in [dark_counts, this]      */
    double   ambient[2];       /* counts per gate, fraction of the peak, [0, 1) */
    double   afterpulsing[2];  /* fraction of each gate's counts, [0, 1)        */
    double   afterpulse_delay_ns[2];  /* mean of the exponential delay          */
} fl_synth_params;

/* Streams from 2^62 + i: sample i's instrument draws (IRF family, background). */
#define FL_SYNTH_STREAM_INSTR (UINT64_C(1) << 62)

typedef struct fl_synth fl_synth;

/* Defaults: see docs/data.md (T = 135 x 0.09 ns, bi-exponential, C = 3). */
void fl_synth_params_default(fl_synth_params *p);

/* Defaults, then the keys of a YAML config; unknown keys, wrong types and
 * out-of-range values fail with "file:line: key: what" (FL_E_INPUT). A
 * relative irf.file is taken relative to the config file's directory. */
fl_status fl_synth_params_from_yaml(const char *path, fl_synth_params *p);

/* fl_synth_write_dir holds every output in memory: FL_E_INPUT ("synth: samples:
 * ... need N GB, this machine has M GB") when they would not fit in the
 * machine's physical memory. The YAML reader applies it to the config's own
 * values, naming the line of `samples` (or `image`). */
fl_status fl_synth_check_memory(const fl_synth_params *p);

/* Range and consistency checks (for parameters set in code). */
fl_status fl_synth_params_check(const fl_synth_params *p);

/* 1 when p asks for any instrument variation (the second stream is drawn). */
int fl_synth_has_instrument(const fl_synth_params *p);

/* Validates p, loads and checks the IRF file, draws the digit masks. */
fl_status fl_synth_create(const fl_synth_params *p, fl_synth **out);
void      fl_synth_free(fl_synth *s);

/* Number of samples N (image mode: H*W). */
size_t fl_synth_count(const fl_synth *s);

/* Fills samples [i0, i1) (OpenMP parallel). Buffers hold (i1-i0) rows of
 * tpsf [T], target [T][C], params [3] (tau1, tau2, a), irf [T]; any may be
 * NULL. Fails only on a bad range or out of memory. */
fl_status fl_synth_generate(const fl_synth *s, size_t i0, size_t i1,
                            float *tpsf, float *target, float *params, float *irf);

/* Generates everything, then writes DIR/tpsf.npy, target.npy, params.npy,
 * irf.npy (and mask.npy in image mode) all-or-nothing; DIR is created. */
fl_status fl_synth_write_dir(const fl_synth_params *p, const char *dir);

/* Building blocks, public for tests. */

/* Unit-sum IRF: an exponentially modified Gaussian integrated over each gate
 * [t_i - dt/2, t_i + dt/2], t_i = i*dt. Fails (FL_E_INPUT) if no mass falls
 * inside [-dt/2, (T-1/2)dt]. */
fl_status fl_synth_irf_emg(double onset_ns, double fwhm_ns, double tail_ns,
                           double dt_ns, int T, double *out);

/* Mass of that EMG in each gate before normalisation (what falls outside
 * the window is lost); returns the sum. */
double fl_synth_irf_emg_mass(double onset_ns, double fwhm_ns, double tail_ns,
                             double dt_ns, int T, double *out);

/* A measured unit-sum IRF shifted by shift_ns and stretched by width about
 * its centroid: the gate masses of its piecewise-uniform density, resampled
 * and renormalised (mass moved outside the window is lost; fails when none
 * is left). */
fl_status fl_synth_irf_warp(const double *irf, int T, double dt_ns, double shift_ns,
                            double width, double *out);

/* out[t] = sum_{k<=t} irf[k] * (a r1^(t-k) + (1-a) r2^(t-k)), r = exp(-dt/tau):
 * the linear (never circular) convolution, truncated to T. O(T) recursion. */
void fl_synth_conv(const double *irf, int T, double dt_ns,
                   double tau1_ns, double tau2_ns, double a, double *out);
/* The same as the plain O(T^2) sum, evaluating the decay directly. */
void fl_synth_conv_ref(const double *irf, int T, double dt_ns,
                       double tau1_ns, double tau2_ns, double a, double *out);

/* Rasterises digit d (0-9) with the jitter drawn from (seed, stream) into
 * mask[size*size]; returns the number of foreground pixels. */
size_t fl_synth_digit(int d, int size, uint64_t seed, uint64_t stream, uint8_t *mask);

#ifdef __cplusplus
}
#endif
#endif
