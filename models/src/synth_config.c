/* synth_config.c - fl_synth_params: defaults, YAML reader, checks.
 *
 * The YAML reader rejects every unknown key and every key that the chosen
 * mode would silently ignore (tau2_ns with a mono model, fwhm_ns with an IRF
 * file, samples in image mode): a config always means what it says.
 */
#include "fligru/synth.h"
#include "fligru/yaml.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_GATES     100000
#define MAX_NS        1000.0
#define MAX_SAMPLES   1000000000LL
#define MAX_PHOTONS   1e9       /* PTRS stays exact to double rounding here */
#define MAX_DARK      1e6
#define MAX_PIXELS    100000000ULL

void fl_synth_params_default(fl_synth_params *p)
{
    memset(p, 0, sizeof *p);
    p->seed = 1;
    p->samples = 100000;
    p->gates = 135;
    p->gate_width_ns = 0.09;
    p->channels = 3;
    p->model = FL_DECAY_BI;
    p->tau1_ns[0] = 0.2;  p->tau1_ns[1] = 0.8;
    p->tau2_ns[0] = 0.8;  p->tau2_ns[1] = 1.5;
    p->fraction[0] = 0.0; p->fraction[1] = 1.0;
    p->irf_kind = FL_IRF_PARAMETRIC;
    p->onset_ns = 1.0;
    p->onset_jitter_ns = 0.18;   /* +-2 gates of 90 ps */
    p->fwhm_ns = 0.2;
    p->fwhm_jitter = 0.2;
    p->tail_ns = 0.1;
    p->noise = 1;
    p->photons[0] = 100.0; p->photons[1] = 10000.0;
    p->dark_counts = 0.05;
    p->image = 0;
    p->digit_size = 28;
    p->tiles[0] = 4; p->tiles[1] = 4;
    /* Instrument variation: off. The time constants only matter once their
     * fraction is > 0; they get a value so that a fraction alone suffices. */
    p->diffusion_tau_ns[0] = p->diffusion_tau_ns[1] = 1.0;
    p->afterpulse_delay_ns[0] = p->afterpulse_delay_ns[1] = 0.5;
}

/* ---- checks shared by the YAML reader and fl_synth_params_check ---------- */

/* Each check returns NULL when fine, else the complaint (static text). */
static const char *check_window(const fl_synth_params *p)
{
    double last = (p->gates - 1) * p->gate_width_ns;
    if (p->onset_ns - p->onset_jitter_ns < 0.0 || p->onset_ns + p->onset_jitter_ns > last)
        return "onset_ns +- onset_jitter_ns must lie inside the gate window [0, (gates-1)*gate_width_ns]";
    return NULL;
}

static const char *check_photons(const double ph[2])
{
    if (!(ph[0] >= 0.0) || !(ph[1] >= ph[0]) || ph[1] > MAX_PHOTONS)
        return "need 0 <= lo <= hi <= 1e9";
    return NULL;
}

/* ---- memory: the outputs of fl_synth_write_dir -------------------------- */

static double pixel_count(const fl_synth_params *p)
{
    return p->image ? (double)p->tiles[0] * p->tiles[1] * p->digit_size * p->digit_size : (double)p->samples;
}

/* Writes why into buf and returns 1 when tpsf, irf [N,T], target [N,T,C] and
 * params [N,3] (float32) plus the mask would exceed physical memory: calloc
 * would succeed on an overcommitting kernel and the OOM killer end the run. */
static int memory_problem(const fl_synth_params *p, char *buf, size_t n)
{
    double need = pixel_count(p) * (4.0 * p->gates * (2 + p->channels) + 12.0 + (p->image ? 1.0 : 0.0));
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double have = pages > 0 && page > 0 ? (double)pages * (double)page : 0.0;
    if (have <= 0.0 || need <= have) return 0;
    snprintf(buf, n, "%.0f samples x %d gates need %.3g GB in memory, this machine has %.3g GB "
                     "(generate fewer, or in chunks with fl_synth_generate)", pixel_count(p), p->gates,
             need * 1e-9, have * 1e-9);
    return 1;
}

fl_status fl_synth_check_memory(const fl_synth_params *p)
{
    char why[256];
    return memory_problem(p, why, sizeof why) ? fl_fail(FL_E_INPUT, "synth: samples: %s", why) : FL_OK;
}

/* Instrument keys: NULL when fine, else the offending key (*why: what). */
static int in_range(const double r[2], double lo, double hi_excl)
{
    return r[0] >= lo && r[1] >= r[0] && r[1] < hi_excl;
}

static const char *check_instrument(const fl_synth_params *p, const char **why)
{
    if (!(p->tail_hi_ns == 0.0 || (p->tail_hi_ns >= p->tail_ns && p->tail_hi_ns <= MAX_NS)))
        return *why = "need tail_ns <= hi <= 1000", "irf.tail_ns";
    if (p->n_reflections < 0 || p->n_reflections > FL_SYNTH_MAX_REFL)
        return *why = "at most 4 reflections", "irf.reflections";
    for (int k = 0; k < p->n_reflections; ++k) {
        if (!in_range(p->refl_delay_ns[k], 0.0, MAX_NS))
            return *why = "need 0 <= lo <= hi < 1000", "irf.reflections.delay_ns";
        if (!in_range(p->refl_amplitude[k], 0.0, 1.0 + 1e-12))
            return *why = "need 0 <= lo <= hi <= 1", "irf.reflections.amplitude";
    }
    if (!in_range(p->diffusion_fraction, 0.0, 1.0))
        return *why = "need 0 <= lo <= hi < 1", "irf.diffusion.fraction";
    if (p->diffusion_fraction[1] > 0.0 && !(p->diffusion_tau_ns[0] > 0.0 && in_range(p->diffusion_tau_ns, 0.0, MAX_NS)))
        return *why = "need 0 < lo <= hi < 1000", "irf.diffusion.tau_ns";
    if ((p->n_reflections || p->diffusion_fraction[1] > 0.0 || p->tail_hi_ns > p->tail_ns) &&
        p->irf_kind != FL_IRF_PARAMETRIC)
        return *why = "only with kind: parametric", "irf.reflections";
    if (!(p->shift_jitter_ns >= 0.0) || p->shift_jitter_ns > MAX_NS)
        return *why = "must be in [0, 1000]", "irf.shift_jitter_ns";
    if (!(p->width_jitter >= 0.0) || p->width_jitter > 0.9)
        return *why = "must be in [0, 0.9]", "irf.width_jitter";
    if ((p->shift_jitter_ns > 0.0 || p->width_jitter > 0.0) && p->irf_kind != FL_IRF_FILE)
        return *why = "only with kind: file (parametric: onset_jitter_ns)", "irf.shift_jitter_ns";
    if (!(p->dark_hi == 0.0 || (p->dark_hi >= p->dark_counts && p->dark_hi <= MAX_DARK)))
        return *why = "need dark_counts <= hi <= 1e6", "noise.dark_counts";
    if (!in_range(p->ambient, 0.0, 1.0))
        return *why = "need 0 <= lo <= hi < 1 (a fraction of the peak)", "noise.ambient";
    if (!in_range(p->afterpulsing, 0.0, 1.0))
        return *why = "need 0 <= lo <= hi < 1 (a fraction of the counts)", "noise.afterpulsing";
    if (p->afterpulsing[1] > 0.0 && !(p->afterpulse_delay_ns[0] > 0.0 && in_range(p->afterpulse_delay_ns, 0.0, MAX_NS)))
        return *why = "need 0 < lo <= hi < 1000", "noise.afterpulse_delay_ns";
    return NULL;
}

static fl_status bad(const char *field, const char *what)
{
    return fl_fail(FL_E_INPUT, "synth: %s: %s", field, what);
}

static int range_ok(const double r[2], double lo_excl, double hi)
{
    return r[0] > lo_excl && r[1] >= r[0] && r[1] <= hi;
}

fl_status fl_synth_params_check(const fl_synth_params *p)
{
    if (p->samples < 1 || p->samples > (size_t)MAX_SAMPLES) return bad("samples", "must be in [1, 1e9]");
    if (p->gates < 1 || p->gates > MAX_GATES) return bad("gates", "must be in [1, 100000]");
    if (!(p->gate_width_ns > 0.0) || p->gate_width_ns > MAX_NS) return bad("gate_width_ns", "must be in (0, 1000]");
    if (p->channels != 1 && p->channels != 3) return bad("channels", "must be 1 or 3");
    if (p->model != FL_DECAY_BI && p->model != FL_DECAY_MONO) return bad("decay.model", "must be bi or mono");
    if (!range_ok(p->tau1_ns, 0.0, MAX_NS)) return bad("decay.tau1_ns", "need 0 < lo <= hi <= 1000");
    if (p->model == FL_DECAY_BI) {
        if (!range_ok(p->tau2_ns, 0.0, MAX_NS)) return bad("decay.tau2_ns", "need 0 < lo <= hi <= 1000");
        if (!(p->fraction[0] >= 0.0) || !(p->fraction[1] >= p->fraction[0]) || p->fraction[1] > 1.0)
            return bad("decay.fraction", "need 0 <= lo <= hi <= 1");
    }
    if (p->irf_kind == FL_IRF_FILE) {
        if (!p->irf_file[0]) return bad("irf.file", "missing (irf.kind is file)");
    } else if (p->irf_kind == FL_IRF_PARAMETRIC) {
        if (!(p->fwhm_ns > 0.0) || p->fwhm_ns > MAX_NS) return bad("irf.fwhm_ns", "must be in (0, 1000]");
        if (!(p->fwhm_jitter >= 0.0) || p->fwhm_jitter > 0.9) return bad("irf.fwhm_jitter", "must be in [0, 0.9]");
        if (!(p->tail_ns >= 0.0) || p->tail_ns > MAX_NS) return bad("irf.tail_ns", "must be in [0, 1000]");
        if (!(p->onset_jitter_ns >= 0.0)) return bad("irf.onset_jitter_ns", "must be >= 0");
        const char *w = check_window(p);
        if (w) return bad("irf.onset_ns", w);
    } else {
        return bad("irf.kind", "must be parametric or file");
    }
    const char *why = NULL, *ins = check_instrument(p, &why);
    if (ins) return bad(ins, why);
    const char *ph = check_photons(p->photons);
    if (ph) return bad("noise.photons", ph);
    if (!(p->dark_counts >= 0.0) || p->dark_counts > MAX_DARK) return bad("noise.dark_counts", "must be in [0, 1e6]");
    if (p->image) {
        if (p->digit_size < 4 || p->digit_size > 4096) return bad("image.digit_size", "must be in [4, 4096]");
        if (p->tiles[0] < 1 || p->tiles[1] < 1) return bad("image.tiles", "must be two integers >= 1");
        unsigned long long h = (unsigned long long)p->tiles[0] * (unsigned)p->digit_size;
        unsigned long long w = (unsigned long long)p->tiles[1] * (unsigned)p->digit_size;
        if (h * w > MAX_PIXELS) return bad("image.tiles", "frame larger than 1e8 pixels");
    }
    return FL_OK;
}

/* ---- YAML ------------------------------------------------------------------ */

/* A [lo, hi] range whose lo must be > 0 (lifetimes): the getter checks
 * [0, max], then this names the key and line for lo == 0. */
static fl_status get_pos_range(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                               double out[2], double max)
{
    fl_status st = fl_yaml_get_range(y, m, key, out, 0.0, max);
    if (st) return st;
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    if (n && !(out[0] > 0.0)) return fl_yaml_fail(y, n, "values must be > 0 (got %g)", out[0]);
    return FL_OK;
}

static fl_status get_pos_f64(const fl_yaml *y, const fl_yaml_node *m, const char *key,
                             double *out, double max)
{
    fl_status st = fl_yaml_get_f64(y, m, key, out, 0.0, max);
    if (st) return st;
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    if (n && !(*out > 0.0)) return fl_yaml_fail(y, n, "value must be > 0 (got %g)", *out);
    return FL_OK;
}

/* Fails on the first of keys present in m: they mean nothing in this mode. */
static fl_status reject_keys(const fl_yaml *y, const fl_yaml_node *m,
                             const char *const *keys, const char *why)
{
    for (; *keys; ++keys) {
        const fl_yaml_node *n = fl_yaml_get(y, m, *keys);
        if (n) return fl_yaml_fail(y, n, "not used %s", why);
    }
    return FL_OK;
}

static fl_status read_decay(const fl_yaml *y, const fl_yaml_node *m, fl_synth_params *p)
{
    static const char *const known[] = {"model", "tau1_ns", "tau2_ns", "fraction", NULL};
    static const char *const models[] = {"bi", "mono", NULL};
    static const char *const bi_only[] = {"tau2_ns", "fraction", NULL};
    fl_status st;
    int model = (int)p->model;
    if ((st = fl_yaml_check_known(y, m, known))) return st;
    if ((st = fl_yaml_get_enum(y, m, "model", models, &model))) return st;
    p->model = (fl_decay_model)model;
    if ((st = get_pos_range(y, m, "tau1_ns", p->tau1_ns, MAX_NS))) return st;
    if (p->model == FL_DECAY_MONO)
        return reject_keys(y, m, bi_only, "with model: mono (tau1_ns is the lifetime)");
    if ((st = get_pos_range(y, m, "tau2_ns", p->tau2_ns, MAX_NS))) return st;
    return fl_yaml_get_range(y, m, "fraction", p->fraction, 0.0, 1.0);
}

/* irf.file relative to the config's directory (absolute paths kept). */
static fl_status resolve_irf_path(const fl_yaml *y, const fl_yaml_node *m,
                                  const char *cfg, const char *file, fl_synth_params *p)
{
    const char *slash = strrchr(cfg, '/');
    int dirlen = (file[0] == '/' || !slash) ? 0 : (int)(slash - cfg + 1);
    int n = snprintf(p->irf_file, sizeof p->irf_file, "%.*s%s", dirlen, cfg, file);
    if (n < 0 || (size_t)n >= sizeof p->irf_file)
        return fl_yaml_fail(y, fl_yaml_get(y, m, "file"), "path too long");
    return FL_OK;
}

/* A [lo, hi] range in [0, 1): fractions of the peak or of the counts. */
static fl_status get_fraction(const fl_yaml *y, const fl_yaml_node *m, const char *key, double out[2],
                              const char *of)
{
    fl_status st = fl_yaml_get_range(y, m, key, out, 0.0, 1.0);
    if (st) return st;
    const fl_yaml_node *n = fl_yaml_get(y, m, key);
    if (n && !(out[1] < 1.0)) return fl_yaml_fail(y, n, "must lie in [0, 1) of %s (got %g)", of, out[1]);
    return FL_OK;
}

/* irf.reflections: [{delay_ns: R, amplitude: R}, ...], each a delayed copy
 * of the pulse carrying `amplitude` times its mass. */
static fl_status read_reflections(const fl_yaml *y, const fl_yaml_node *m, fl_synth_params *p)
{
    static const char *const known[] = {"delay_ns", "amplitude", NULL};
    const fl_yaml_node *seq = NULL;
    fl_status st = fl_yaml_get_seq(y, m, "reflections", &seq);
    if (st || !seq) return st;
    if (seq->n > FL_SYNTH_MAX_REFL) return fl_yaml_fail(y, seq, "at most %d reflections", FL_SYNTH_MAX_REFL);
    for (size_t k = 0; k < seq->n; ++k) {
        const fl_yaml_node *r = seq->items[k];
        if (r->kind != FL_YAML_MAP) return fl_yaml_fail(y, r, "expected {delay_ns: ..., amplitude: ...}");
        if ((st = fl_yaml_check_known(y, r, known))) return st;
        if (!fl_yaml_get(y, r, "delay_ns") || !fl_yaml_get(y, r, "amplitude"))
            return fl_yaml_fail(y, r, "a reflection needs delay_ns and amplitude");
        if ((st = fl_yaml_get_range(y, r, "delay_ns", p->refl_delay_ns[k], 0.0, MAX_NS))) return st;
        if ((st = fl_yaml_get_range(y, r, "amplitude", p->refl_amplitude[k], 0.0, 1.0))) return st;
    }
    p->n_reflections = (int)seq->n;
    return FL_OK;
}

/* irf.diffusion: {fraction: R, tau_ns: R}, the slow tail of carriers that
 * diffuse into the SPAD's junction. */
static fl_status read_diffusion(const fl_yaml *y, const fl_yaml_node *m, fl_synth_params *p)
{
    static const char *const known[] = {"fraction", "tau_ns", NULL};
    const fl_yaml_node *d = NULL;
    fl_status st = fl_yaml_get_map(y, m, "diffusion", &d);
    if (st || !d) return st;
    if ((st = fl_yaml_check_known(y, d, known))) return st;
    if (!fl_yaml_get(y, d, "fraction")) return fl_yaml_fail(y, d, "needs fraction: [lo, hi]");
    if ((st = get_fraction(y, d, "fraction", p->diffusion_fraction, "the pulse's mass"))) return st;
    return get_pos_range(y, d, "tau_ns", p->diffusion_tau_ns, MAX_NS);
}

static fl_status read_irf_parametric(const fl_yaml *y, const fl_yaml_node *m, fl_synth_params *p)
{
    fl_status st;
    if ((st = fl_yaml_get_f64(y, m, "onset_ns", &p->onset_ns, 0.0, MAX_NS))) return st;
    if ((st = fl_yaml_get_f64(y, m, "onset_jitter_ns", &p->onset_jitter_ns, 0.0, MAX_NS))) return st;
    if ((st = get_pos_f64(y, m, "fwhm_ns", &p->fwhm_ns, MAX_NS))) return st;
    if ((st = fl_yaml_get_f64(y, m, "fwhm_jitter", &p->fwhm_jitter, 0.0, 0.9))) return st;
    double tail[2] = {p->tail_ns, p->tail_ns};
    if ((st = fl_yaml_get_range(y, m, "tail_ns", tail, 0.0, MAX_NS))) return st;
    p->tail_ns = tail[0];
    p->tail_hi_ns = tail[1] > tail[0] ? tail[1] : 0.0;
    if ((st = read_reflections(y, m, p)) || (st = read_diffusion(y, m, p))) return st;
    const char *w = check_window(p);
    if (w) {
        const fl_yaml_node *n = fl_yaml_get(y, m, "onset_ns");
        return fl_yaml_fail(y, n ? n : m, "%s (%g +- %g ns, window %g ns)", w, p->onset_ns,
                            p->onset_jitter_ns, (p->gates - 1) * p->gate_width_ns);
    }
    return FL_OK;
}

static fl_status read_irf(const fl_yaml *y, const fl_yaml_node *m, const char *cfg,
                          fl_synth_params *p)
{
    static const char *const known[] = {"kind", "file", "onset_ns", "onset_jitter_ns", "fwhm_ns",
                                        "fwhm_jitter", "tail_ns", "reflections", "diffusion",
                                        "shift_jitter_ns", "width_jitter", NULL};
    static const char *const kinds[] = {"parametric", "file", NULL};
    static const char *const param_keys[] = {"onset_ns", "onset_jitter_ns", "fwhm_ns", "fwhm_jitter",
                                             "tail_ns", "reflections", "diffusion", NULL};
    static const char *const file_keys[] = {"file", "shift_jitter_ns", "width_jitter", NULL};
    fl_status st;
    int kind = (int)p->irf_kind;
    if ((st = fl_yaml_check_known(y, m, known))) return st;
    if ((st = fl_yaml_get_enum(y, m, "kind", kinds, &kind))) return st;
    p->irf_kind = (fl_irf_kind)kind;
    if (p->irf_kind == FL_IRF_PARAMETRIC) {
        if ((st = reject_keys(y, m, file_keys, "with kind: parametric (set kind: file)"))) return st;
        return read_irf_parametric(y, m, p);
    }
    if ((st = reject_keys(y, m, param_keys, "with kind: file"))) return st;
    const char *file = NULL;
    if ((st = fl_yaml_get_str(y, m, "file", &file))) return st;
    if (!file || !file[0]) return fl_yaml_fail(y, m, "kind: file needs file: PATH.npy");
    if ((st = fl_yaml_get_f64(y, m, "shift_jitter_ns", &p->shift_jitter_ns, 0.0, MAX_NS))) return st;
    if ((st = fl_yaml_get_f64(y, m, "width_jitter", &p->width_jitter, 0.0, 0.9))) return st;
    return resolve_irf_path(y, m, cfg, file, p);
}

static fl_status read_noise(const fl_yaml *y, const fl_yaml_node *m, fl_synth_params *p)
{
    static const char *const known[] = {"enabled", "photons", "dark_counts", "ambient",
                                        "afterpulsing", "afterpulse_delay_ns", NULL};
    static const char *const background[] = {"ambient", "afterpulsing", "afterpulse_delay_ns", NULL};
    fl_status st;
    if ((st = fl_yaml_check_known(y, m, known))) return st;
    if ((st = fl_yaml_get_bool(y, m, "enabled", &p->noise))) return st;
    if (!p->noise && (st = reject_keys(y, m, background, "with enabled: false (no counts, no background)")))
        return st;
    if ((st = fl_yaml_get_range(y, m, "photons", p->photons, 0.0, MAX_PHOTONS))) return st;
    double dark[2] = {p->dark_counts, p->dark_counts};
    if ((st = fl_yaml_get_range(y, m, "dark_counts", dark, 0.0, MAX_DARK))) return st;
    p->dark_counts = dark[0];
    p->dark_hi = dark[1] > dark[0] ? dark[1] : 0.0;
    if ((st = get_fraction(y, m, "ambient", p->ambient, "the signal's peak"))) return st;
    if ((st = get_fraction(y, m, "afterpulsing", p->afterpulsing, "the counts"))) return st;
    const fl_yaml_node *d = fl_yaml_get(y, m, "afterpulse_delay_ns");
    if (d && !(p->afterpulsing[1] > 0.0)) return fl_yaml_fail(y, d, "not used without afterpulsing > 0");
    return get_pos_range(y, m, "afterpulse_delay_ns", p->afterpulse_delay_ns, MAX_NS);
}

static fl_status read_tiles(const fl_yaml *y, const fl_yaml_node *m, fl_synth_params *p)
{
    const fl_yaml_node *s = NULL;
    fl_status st = fl_yaml_get_seq(y, m, "tiles", &s);
    if (st || !s) return st;
    if (s->n != 2) return fl_yaml_fail(y, s, "expected [rows, cols]");
    for (int i = 0; i < 2; ++i) {
        int64_t v;
        if ((st = fl_yaml_as_i64(y, s->items[i], &v, 1, 10000))) return st;
        p->tiles[i] = (int)v;
    }
    return FL_OK;
}

static fl_status read_image(const fl_yaml *y, const fl_yaml_node *m, fl_synth_params *p)
{
    static const char *const known[] = {"enabled", "digit_size", "tiles", NULL};
    fl_status st;
    if ((st = fl_yaml_check_known(y, m, known))) return st;
    if ((st = fl_yaml_get_bool(y, m, "enabled", &p->image))) return st;
    if ((st = fl_yaml_get_int(y, m, "digit_size", &p->digit_size, 4, 4096))) return st;
    if ((st = read_tiles(y, m, p))) return st;
    unsigned long long h = (unsigned long long)p->tiles[0] * (unsigned)p->digit_size;
    unsigned long long w = (unsigned long long)p->tiles[1] * (unsigned)p->digit_size;
    if (p->image && h * w > MAX_PIXELS) return fl_yaml_fail(y, m, "frame larger than 1e8 pixels");
    return FL_OK;
}

static fl_status read_scalars(const fl_yaml *y, const fl_yaml_node *r, fl_synth_params *p)
{
    fl_status st;
    int64_t seed = (int64_t)p->seed, samples = (int64_t)p->samples;
    if ((st = fl_yaml_get_i64(y, r, "seed", &seed, 0, INT64_MAX))) return st;
    if ((st = fl_yaml_get_i64(y, r, "samples", &samples, 1, MAX_SAMPLES))) return st;
    if ((st = fl_yaml_get_int(y, r, "gates", &p->gates, 1, MAX_GATES))) return st;
    if ((st = get_pos_f64(y, r, "gate_width_ns", &p->gate_width_ns, MAX_NS))) return st;
    if ((st = fl_yaml_get_int(y, r, "channels", &p->channels, 1, 3))) return st;
    if (p->channels == 2) return fl_yaml_fail(y, fl_yaml_get(y, r, "channels"), "must be 1 or 3");
    p->seed = (uint64_t)seed;
    p->samples = (size_t)samples;
    return FL_OK;
}

typedef fl_status (*section_reader)(const fl_yaml *, const fl_yaml_node *, fl_synth_params *);

static fl_status read_section(const fl_yaml *y, const fl_yaml_node *r, const char *key,
                              section_reader fn, fl_synth_params *p)
{
    const fl_yaml_node *m = NULL;
    fl_status st = fl_yaml_get_map(y, r, key, &m);
    return (st || !m) ? st : fn(y, m, p);
}

static fl_status read_root(const fl_yaml *y, const char *path, fl_synth_params *p)
{
    static const char *const known[] = {"seed", "samples", "gates", "gate_width_ns", "channels",
                                        "decay", "irf", "noise", "image", NULL};
    const fl_yaml_node *r = fl_yaml_root(y), *irf = NULL;
    fl_status st;
    if ((st = fl_yaml_check_known(y, r, known))) return st;
    if ((st = read_scalars(y, r, p))) return st;       /* first: irf checks need T */
    if ((st = read_section(y, r, "decay", read_decay, p))) return st;
    if ((st = fl_yaml_get_map(y, r, "irf", &irf))) return st;
    if (irf && (st = read_irf(y, irf, path, p))) return st;
    if ((st = read_section(y, r, "noise", read_noise, p))) return st;
    if ((st = read_section(y, r, "image", read_image, p))) return st;
    /* Default onset vs a short gate window set at the top level: blame the
     * key that made the window short. */
    const char *w = p->irf_kind == FL_IRF_PARAMETRIC ? check_window(p) : NULL;
    if (w) {
        const fl_yaml_node *g = fl_yaml_get(y, r, "gates");
        if (!g) g = fl_yaml_get(y, r, "gate_width_ns");
        return fl_yaml_fail(y, g ? g : r, "window of %g ns too short for the IRF: %s",
                            (p->gates - 1) * p->gate_width_ns, w);
    }
    const fl_yaml_node *ns = fl_yaml_get(y, r, "samples");
    if (p->image && ns)
        return fl_yaml_fail(y, ns, "not used in image mode (N = pixels of the tiled frame)");
    char why[256];
    const fl_yaml_node *big = p->image ? fl_yaml_get(y, r, "image") : ns;
    if (memory_problem(p, why, sizeof why)) return fl_yaml_fail(y, big ? big : r, "%s", why);
    return FL_OK;
}

fl_status fl_synth_params_from_yaml(const char *path, fl_synth_params *p)
{
    fl_synth_params_default(p);
    fl_yaml *y = NULL;
    fl_status st = fl_yaml_load(path, &y);
    if (st) return st;
    st = read_root(y, path, p);
    fl_yaml_free(y);
    /* The reader checked each key with its line; this catches the rest
     * (cross-field rules on defaults) with the file name at least. */
    if (!st && (st = fl_synth_params_check(p))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", fl_error());   /* fl_fail writes the same buffer */
        return fl_fail(st, "%s: %s", path, msg);
    }
    return st;
}
