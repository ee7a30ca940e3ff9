/* fit.c - iterative reconvolution fits (GSL Levenberg-Marquardt, Poisson IRLS)
 * and rapid lifetime determination; the model and its choices are in fit.h. */
#include "fligru/fit.h"
#include "fligru/metrics.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_ITER 200
#define DEFAULT_PASSES   3
/* Weights are 1/max(m, WEIGHT_FLOOR * max y): a gate the model puts at zero
 * must not get an infinite weight. 1e-3 of the peak is below one count for
 * any peak under 1000 counts, so it only guards, it does not reweight. */
#define WEIGHT_FLOOR 1e-3
/* RLD: the first window opens once this much of the IRF's mass has arrived;
 * gates before the IRF holds BG_MASS of it estimate the background. */
#define RLD_IRF_MASS 0.995
#define BG_MASS      1e-3
#define FL_PI        3.14159265358979323846
/* Phasor: the background is the mean of the gates before the IRF holds this
 * much of its mass. Stricter than RLD's window, because the phasor multiplies
 * the background by every gate: signal that leaks into the window biases the
 * modulation by up to T/k0 times the leaked fraction (1e-3: 9 % at 0.25 ns). */
#define PHASOR_BG_MASS 1e-5

const char *fl_fit_method_name(fl_fit_method m)
{
    switch (m) {
    case FL_FIT_BI:   return "bi";
    case FL_FIT_MONO: return "mono";
    case FL_FIT_RLD:  return "rld";
    case FL_FIT_PHASOR: return "phasor";
    }
    return "?";
}

int fl_fit_method_parse(const char *s)
{
    for (int m = FL_FIT_BI; m <= FL_FIT_PHASOR; ++m)
        if (!strcmp(s, fl_fit_method_name((fl_fit_method)m))) return m;
    return -1;
}

const char *fl_fit_outcome_name(fl_fit_outcome o)
{
    switch (o) {
    case FL_FIT_OK:       return "ok";
    case FL_FIT_FALLBACK: return "fallback";
    case FL_FIT_FAILED:   return "failed";
    }
    return "?";
}

fl_status fl_fit_params_check(const fl_fit_params *p)
{
    if (p->t < 8) return fl_fail(FL_E_INPUT, "fit: %zu gates per TPSF, need at least 8", p->t);
    if (!(p->gate_ns > 0.0) || !isfinite(p->gate_ns))
        return fl_fail(FL_E_INPUT, "fit: gate width %g ns must be > 0", p->gate_ns);
    if (p->method < FL_FIT_BI || p->method > FL_FIT_PHASOR)
        return fl_fail(FL_E_INPUT, "fit: unknown method %d", (int)p->method);
    if (p->harmonic < 0 || p->harmonic > 1000)
        return fl_fail(FL_E_INPUT, "fit: harmonic %d must be in [1, 1000]", p->harmonic);
    if (!(p->period_ns >= 0.0) || !isfinite(p->period_ns))
        return fl_fail(FL_E_INPUT, "fit: laser period %g ns must be > 0", p->period_ns);
    if (p->max_iter < 0 || p->passes < 0)
        return fl_fail(FL_E_INPUT, "fit: max_iter %d and passes %d must be >= 0", p->max_iter, p->passes);
    return FL_OK;
}

/* ---- the model: B + sum_k A_k (irf (*) exp(-t/tau_k)) ----------------------- */

/* One pixel's data and scratch, shared by the GSL callbacks. */
typedef struct {
    size_t  t;
    double  dt;
    int     nexp;        /* 1 or 2 exponentials                              */
    int     bg;          /* 1: the last parameter is B                       */
    double *y, *irf;     /* [t] each                                         */
    double *c, *d;       /* [2][t]: component and its derivative in r        */
    double *w;           /* [t] weights                                      */
    double *m;           /* [t] model values                                 */
} fit_data;

/* c[t] = r c[t-1] + irf[t] (docs/data.md's recursion), d = dc/dr. */
static void component(const fit_data *fd, double tau, double *c, double *d)
{
    double r = exp(-fd->dt / tau), cp = 0.0, dp = 0.0;
    for (size_t k = 0; k < fd->t; ++k) {
        double ck = r * cp + fd->irf[k];
        double dk = r * dp + cp;
        c[k] = ck;
        if (d) d[k] = dk;
        cp = ck;
        dp = dk;
    }
}

static size_t n_params(const fit_data *fd) { return (size_t)(2 * fd->nexp + fd->bg); }

/* Parameters: ln tau_1..n, A_1..n, [B]. */
static void model(const fit_data *fd, const double *x, double *m, int with_d)
{
    int ne = fd->nexp;
    for (int e = 0; e < ne; ++e) component(fd, exp(x[e]), fd->c + e * fd->t, with_d ? fd->d + e * fd->t : NULL);
    double b = fd->bg ? x[2 * ne] : 0.0;
    for (size_t k = 0; k < fd->t; ++k) {
        double v = b;
        for (int e = 0; e < ne; ++e) v += x[ne + e] * fd->c[e * fd->t + k];
        m[k] = v;
    }
}

static int cb_f(const gsl_vector *xv, void *params, gsl_vector *f)
{
    fit_data *fd = params;
    double x[5], *m = fd->m;
    for (size_t i = 0; i < n_params(fd); ++i) x[i] = gsl_vector_get(xv, i);
    model(fd, x, m, 0);
    for (size_t k = 0; k < fd->t; ++k) {
        double r = m[k] - fd->y[k];
        if (!isfinite(r)) return GSL_EDOM;
        gsl_vector_set(f, k, r);
    }
    return GSL_SUCCESS;
}

static int cb_df(const gsl_vector *xv, void *params, gsl_matrix *J)
{
    fit_data *fd = params;
    double x[5], *m = fd->m;
    size_t np = n_params(fd);
    int ne = fd->nexp;
    for (size_t i = 0; i < np; ++i) x[i] = gsl_vector_get(xv, i);
    model(fd, x, m, 1);
    for (int e = 0; e < ne; ++e) {
        /* dr/d(ln tau) = r dt / tau */
        double tau = exp(x[e]), r = exp(-fd->dt / tau), s = x[ne + e] * r * fd->dt / tau;
        for (size_t k = 0; k < fd->t; ++k) {
            gsl_matrix_set(J, k, (size_t)e, s * fd->d[e * fd->t + k]);
            gsl_matrix_set(J, k, (size_t)(ne + e), fd->c[e * fd->t + k]);
        }
    }
    if (fd->bg)
        for (size_t k = 0; k < fd->t; ++k) gsl_matrix_set(J, k, np - 1, 1.0);
    return GSL_SUCCESS;
}

/* Weighted linear least squares for the amplitudes (and B) at fixed x[0..ne):
 * normal equations of at most 3 unknowns, Gaussian elimination with pivoting.
 * Returns 0 when singular. */
static int linear_amplitudes(fit_data *fd, double *x)
{
    int ne = fd->nexp, q = ne + fd->bg;
    double G[3][4] = {{0}};
    for (int e = 0; e < ne; ++e) component(fd, exp(x[e]), fd->c + e * fd->t, NULL);
    for (size_t k = 0; k < fd->t; ++k) {
        double b[3];
        for (int e = 0; e < ne; ++e) b[e] = fd->c[e * fd->t + k];
        if (fd->bg) b[ne] = 1.0;
        for (int i = 0; i < q; ++i) {
            for (int j = 0; j < q; ++j) G[i][j] += fd->w[k] * b[i] * b[j];
            G[i][q] += fd->w[k] * b[i] * fd->y[k];
        }
    }
    for (int i = 0; i < q; ++i) {
        int piv = i;
        for (int r = i + 1; r < q; ++r)
            if (fabs(G[r][i]) > fabs(G[piv][i])) piv = r;
        if (!(fabs(G[piv][i]) > 1e-300)) return 0;
        for (int j = 0; j <= q; ++j) {
            double tmp = G[i][j];
            G[i][j] = G[piv][j];
            G[piv][j] = tmp;
        }
        for (int r = i + 1; r < q; ++r) {
            double f = G[r][i] / G[i][i];
            for (int j = i; j <= q; ++j) G[r][j] -= f * G[i][j];
        }
    }
    for (int i = q - 1; i >= 0; --i) {
        double s = G[i][q];
        for (int j = i + 1; j < q; ++j) s -= G[i][j] * x[ne + j];
        x[ne + i] = s / G[i][i];
    }
    for (int i = 0; i < q; ++i)
        if (!isfinite(x[ne + i])) return 0;
    return 1;
}

/* Per-thread solver state: GSL workspaces for 1 and 2 exponentials. */
typedef struct {
    gsl_multifit_nlinear_workspace *ws[2];
    gsl_vector *x[2], *wts;
    double     *buf;
} fit_ctx;

static void ctx_free(fit_ctx *c)
{
    for (int e = 0; e < 2; ++e) {
        if (c->ws[e]) gsl_multifit_nlinear_free(c->ws[e]);
        if (c->x[e]) gsl_vector_free(c->x[e]);
    }
    if (c->wts) gsl_vector_free(c->wts);
    free(c->buf);
}

static int ctx_init(fit_ctx *c, const fl_fit_params *p)
{
    memset(c, 0, sizeof *c);
    gsl_multifit_nlinear_parameters gp = gsl_multifit_nlinear_default_parameters();
    gp.trs = gsl_multifit_nlinear_trs_lm;
    /* Cholesky of J^T W J + mu D: 1.5x faster than QR here, same estimates
     * on the compare sets (J is only 5 columns wide). */
    gp.solver = gsl_multifit_nlinear_solver_cholesky;
    for (int e = 0; e < 2; ++e) {
        size_t np = (size_t)(2 * (e + 1) + p->background);
        c->ws[e] = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &gp, p->t, np);
        c->x[e] = gsl_vector_alloc(np);
        if (!c->ws[e] || !c->x[e]) return 0;
    }
    c->wts = gsl_vector_alloc(p->t);
    c->buf = malloc(8 * p->t * sizeof *c->buf);   /* y, irf, c[2], d[2], w, m */
    return c->wts && c->buf;
}

static double floor_of(const fit_data *fd)
{
    double ymax = 0.0;
    for (size_t k = 0; k < fd->t; ++k) ymax = fd->y[k] > ymax ? fd->y[k] : ymax;
    return WEIGHT_FLOOR * (ymax > 0.0 ? ymax : 1.0);
}

/* Pearson weights 1/m from the model at x (Poisson), or 1. */
static void set_weights(fit_data *fd, const fl_fit_params *p, const double *x, double fl)
{
    if (p->weighting == FL_FIT_UNWEIGHTED) {
        for (size_t k = 0; k < fd->t; ++k) fd->w[k] = 1.0;
        return;
    }
    double *m = fd->m;
    model(fd, x, m, 0);
    for (size_t k = 0; k < fd->t; ++k) fd->w[k] = 1.0 / (m[k] > fl ? m[k] : fl);
}

/* Fits nexp exponentials from x (in/out). Returns 1 when converged. */
static int lm_fit(fit_ctx *c, fit_data *fd, const fl_fit_params *p, double *x, int *iters)
{
    int e = fd->nexp - 1, passes = p->weighting == FL_FIT_POISSON ? (p->passes ? p->passes : DEFAULT_PASSES) : 1;
    size_t np = n_params(fd), max_iter = (size_t)(p->max_iter ? p->max_iter : DEFAULT_MAX_ITER);
    double fl = floor_of(fd);
    gsl_multifit_nlinear_fdf fdf = {.f = cb_f, .df = cb_df, .fvv = NULL, .n = fd->t, .p = np, .params = fd};
    int ok = 0;
    for (int pass = 0; pass < passes; ++pass) {
        set_weights(fd, p, x, fl);
        for (size_t k = 0; k < fd->t; ++k) gsl_vector_set(c->wts, k, fd->w[k]);
        for (size_t i = 0; i < np; ++i) gsl_vector_set(c->x[e], i, x[i]);
        int info = 0;
        if (gsl_multifit_nlinear_winit(c->x[e], c->wts, &fdf, c->ws[e]) != GSL_SUCCESS) return 0;
        int st = gsl_multifit_nlinear_driver(max_iter, 1e-8, 1e-8, 0.0, NULL, NULL, &info, c->ws[e]);
        *iters += (int)gsl_multifit_nlinear_niter(c->ws[e]);
        /* ENOPROG: no step reduces the cost any more, i.e. at the minimum to
         * rounding (noiseless data end there). */
        ok = st == GSL_SUCCESS || st == GSL_ENOPROG;
        const gsl_vector *pos = gsl_multifit_nlinear_position(c->ws[e]);
        for (size_t i = 0; i < np; ++i) x[i] = gsl_vector_get(pos, i);
        for (size_t i = 0; i < np; ++i) ok = ok && isfinite(x[i]);
        if (!ok) return 0;
    }
    return ok;
}

static double chi2_red(fit_data *fd, const double *x)
{
    double *m = fd->m, s = 0.0;
    model(fd, x, m, 0);
    for (size_t k = 0; k < fd->t; ++k)
        if (m[k] > 0.0) s += (fd->y[k] - m[k]) * (fd->y[k] - m[k]) / m[k];
    size_t np = n_params(fd);
    return fd->t > np ? s / (double)(fd->t - np) : NAN;
}

static int tau_ok(const fit_data *fd, double tau)
{
    return tau >= fd->dt / 20.0 && tau <= 2.0 * (double)fd->t * fd->dt;
}

static void set_failed(fl_fit_result *r)
{
    int it = r->iterations;
    *r = (fl_fit_result){NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, it, FL_FIT_FAILED, NAN, NAN, NAN, NAN};
}

/* RLD on doubles (fd->y, fd->irf); bg gets the background used. */
static double rld(const fit_data *fd, int use_irf, int use_bg, double *bg)
{
    size_t t = fd->t, s = 0, k0 = 0;
    *bg = 0.0;
    if (use_irf) {
        double cum = 0.0;
        int found0 = 0;
        for (s = 0; s < t; ++s) {
            cum += fd->irf[s];
            if (!found0 && cum >= BG_MASS) { k0 = s; found0 = 1; }
            if (cum >= RLD_IRF_MASS) break;
        }
        ++s;   /* the first gate after the IRF has (almost) all arrived */
        if (use_bg && k0 >= 3) {
            for (size_t k = 0; k < k0; ++k) *bg += fd->y[k];
            *bg /= (double)k0;
        }
    } else {
        for (size_t k = 1; k < t; ++k)
            if (fd->y[k] > fd->y[s]) s = k;
    }
    if (s >= t) return NAN;
    /* First windows from the tail's area over its height (about tau), so that
     * the second window of a short decay is not all background. */
    size_t half = (t - s) / 2, w;
    double area = 0.0, tau = NAN;
    for (size_t k = s; k < t; ++k) area += fd->y[k] - *bg;
    double guess = fd->y[s] - *bg > 0.0 ? area / (fd->y[s] - *bg) : (double)half;
    guess = floor(2.5 * guess + 0.5);
    w = !(guess >= 2.0) ? 2 : guess > (double)half ? half : (size_t)guess;
    for (int round = 0; round < 3 && w >= 1; ++round) {
        double d0 = 0.0, d1 = 0.0;
        for (size_t k = 0; k < w; ++k) {
            d0 += fd->y[s + k] - *bg;
            d1 += fd->y[s + w + k] - *bg;
        }
        if (!(d1 > 0.0 && d0 > d1)) return NAN;
        tau = (double)w * fd->dt / log(d0 / d1);
        /* Second round: windows of about 2.5 tau (Ballew & Demas' optimum). */
        double want = floor(2.5 * tau / fd->dt + 0.5);
        size_t w2 = want < 2.0 ? 2 : want > (double)half ? half : (size_t)want;
        if (w2 == w) break;
        w = w2;
    }
    return tau;
}

static void fit_pixel(fit_ctx *c, const fl_fit_params *p, const float *y, const float *irf,
                      fl_fit_result *r)
{
    size_t t = p->t;
    fit_data fd = {.t = t, .dt = p->gate_ns, .bg = p->background, .y = c->buf, .irf = c->buf + t,
                   .c = c->buf + 2 * t, .d = c->buf + 4 * t, .w = c->buf + 6 * t,
                   .m = c->buf + 7 * t};
    *r = (fl_fit_result){.iterations = 0, .g = NAN, .s = NAN, .tau_phi = NAN, .tau_mod = NAN};
    double sum = 0.0;
    for (size_t k = 0; k < t; ++k) {
        fd.y[k] = y[k];
        fd.irf[k] = irf ? irf[k] : k == 0;
        if (!(fd.irf[k] >= 0.0) || !isfinite(fd.irf[k]) || !isfinite(fd.y[k])) {
            set_failed(r);
            return;
        }
        sum += fd.irf[k];
    }
    if (!(sum > 0.0)) {
        set_failed(r);
        return;
    }
    for (size_t k = 0; k < t; ++k) fd.irf[k] /= sum;

    double bg, tau0 = rld(&fd, irf != NULL, p->background, &bg);
    if (p->method == FL_FIT_RLD) {
        if (!(tau0 > 0.0) || !isfinite(tau0)) {
            set_failed(r);
            return;
        }
        *r = (fl_fit_result){tau0, tau0, 1.0, tau0, NAN, 0.0, bg, NAN, 0, FL_FIT_OK, NAN, NAN, NAN, NAN};
        return;
    }
    if (!(tau0 > 0.0) || !tau_ok(&fd, tau0)) tau0 = 0.1 * (double)t * fd.dt;

    double x[5];
    if (p->method == FL_FIT_BI) {
        /* Start: lifetimes either side of the RLD estimate, amplitudes by
         * weighted linear least squares (Neyman weights 1/y: no model yet). */
        fd.nexp = 2;
        x[0] = log(0.5 * tau0);
        x[1] = log(1.6 * tau0);
        double fl = floor_of(&fd);
        for (size_t k = 0; k < t; ++k)
            fd.w[k] = p->weighting == FL_FIT_UNWEIGHTED ? 1.0 : 1.0 / (fd.y[k] > fl ? fd.y[k] : fl);
        int ok = linear_amplitudes(&fd, x) && lm_fit(c, &fd, p, x, &r->iterations);
        if (ok) {
            double t1 = exp(x[0]), t2 = exp(x[1]), a1 = x[2], a2 = x[3];
            if (t1 > t2) {
                double tmp = t1; t1 = t2; t2 = tmp;
                tmp = a1; a1 = a2; a2 = tmp;
            }
            if (a1 >= 0.0 && a2 >= 0.0 && a1 + a2 > 0.0 && tau_ok(&fd, t1) && tau_ok(&fd, t2)) {
                *r = (fl_fit_result){t1, t2, a1 / (a1 + a2), (a1 * t1 + a2 * t2) / (a1 + a2), a1, a2,
                                     p->background ? x[4] : 0.0, chi2_red(&fd, x), r->iterations, FL_FIT_OK, NAN, NAN, NAN, NAN};
                return;
            }
        }
    }
    /* Mono-exponential: asked for, or the bi-exponential's fallback. */
    fd.nexp = 1;
    x[0] = log(tau0);
    for (size_t k = 0; k < t; ++k) fd.w[k] = 1.0;
    int ok = linear_amplitudes(&fd, x) && lm_fit(c, &fd, p, x, &r->iterations);
    double tau = exp(x[0]);
    if (!ok || !(x[1] > 0.0) || !tau_ok(&fd, tau)) {
        set_failed(r);
        return;
    }
    *r = (fl_fit_result){tau, tau, 1.0, tau, x[1], 0.0, p->background ? x[2] : 0.0, chi2_red(&fd, x),
                         r->iterations, p->method == FL_FIT_MONO ? FL_FIT_OK : FL_FIT_FALLBACK,
                         NAN, NAN, NAN, NAN};
}

/* ---- phasor ------------------------------------------------------------------ */

/* r - 1 of the sampled exponential r^k with the phase of (g, s), and with its
 * modulation. Its phasor is (1 - r) / (1 - r z), z = e^(i theta), theta = w dt.
 * Phase: r = sin(phi) / sin(theta + phi) = s / (g sin(theta) + s cos(theta)).
 * Modulation m: r^2 - 2 (1 + e) r + 1 = 0, e = 2 m^2 sin^2(theta/2) / (1 - m^2).
 * r - 1 is formed without cancellation (r is near 1 for small theta), then
 * tau = -dt / log1p(r - 1). sn = sin(theta), h2 = sin^2(theta/2). NaN when no
 * exponential has that phase (modulation). */
static double phase_rm1(double g, double s, double sn, double h2)
{
    double den = g * sn + s * (1.0 - 2.0 * h2);
    double rm1 = (2.0 * s * h2 - g * sn) / den;
    return s > 0.0 && den > 0.0 && rm1 < 0.0 && rm1 > -1.0 ? rm1 : NAN;
}

static double mod_rm1(double g, double s, double h2)
{
    double m2 = g * g + s * s;
    if (!(m2 > 0.0 && m2 < 1.0)) return NAN;
    double e = 2.0 * m2 * h2 / (1.0 - m2), rm1 = e - sqrt(e * (2.0 + e));
    return rm1 < 0.0 && rm1 > -1.0 ? rm1 : NAN;
}

void fl_fit_phasor_lifetimes(double g, double s, double omega, double dt, double *tau_phi, double *tau_mod)
{
    double h = sin(0.5 * omega * dt);
    *tau_phi = -dt / log1p(phase_rm1(g, s, sin(omega * dt), h * h));
    *tau_mod = -dt / log1p(mod_rm1(g, s, h * h));
}

/* What every pixel of one run shares: cos/sin of the harmonic per gate and,
 * for one IRF for all, that IRF's phasor and background window. */
typedef struct {
    size_t t;
    double omega, dt;
    double sin_theta, h2;     /* theta = w dt: sin, sin^2(theta/2)              */
    float *cs, *sn;           /* [t]                                          */
    double sum_c, sum_s;      /* sum cos, sum sin: what a constant B adds      */
    int    shared;            /* the IRF below is every pixel's                */
    double irf_g, irf_s;      /* unit-sum IRF's phasor                         */
    size_t k0;                /* gates before the IRF holds PHASOR_BG_MASS     */
    double leak;              /* see irf_phasor                                */
} phasor_plan;

/* Sums of v, v cos, v sin over t gates: the method's whole cost. LANES
 * float partial sums, lane j taking gates k = j mod LANES, combined in a
 * fixed tree: the same order, hence the same bits, for the SSE2 and the
 * AVX2 clone and any thread count. 135 gates lose < 1e-6 relative. */
#define LANES 16

__attribute__((target_clones("avx2", "default")))
static void dot3(const float *v, const float *cs, const float *sn, size_t t, double out[3])
{
    float a[LANES] = {0}, c[LANES] = {0}, s[LANES] = {0};
    size_t k = 0;
    for (; k + LANES <= t; k += LANES)
        for (int j = 0; j < LANES; ++j) {
            a[j] += v[k + j];
            c[j] += v[k + j] * cs[k + j];
            s[j] += v[k + j] * sn[k + j];
        }
    for (int j = 0; k + (size_t)j < t; ++j) {
        a[j] += v[k + j];
        c[j] += v[k + j] * cs[k + j];
        s[j] += v[k + j] * sn[k + j];
    }
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int j = 0; j < w; ++j) {
            a[j] += a[j + w];
            c[j] += c[j + w];
            s[j] += s[j + w];
        }
    out[0] = a[0];
    out[1] = c[0];
    out[2] = s[0];
}

/* Unit-sum IRF phasor and background window of one IRF row; 0 when unusable.
 * *leak: sum over the window's gates of the IRF's cumulative mass, what a
 * decay that has not yet decayed puts there per unit amplitude. */
static int irf_phasor(const phasor_plan *pl, const float *irf, double *g, double *s, size_t *k0, double *leak)
{
    double d[3];
    dot3(irf, pl->cs, pl->sn, pl->t, d);
    if (!(d[0] > 0.0) || !isfinite(d[1]) || !isfinite(d[2])) return 0;
    *g = d[1] / d[0];
    *s = d[2] / d[0];
    double cum = 0.0, need = PHASOR_BG_MASS * d[0];
    size_t k = 0;
    *leak = 0.0;
    while (k < pl->t && (cum += irf[k]) < need) {
        *leak += cum / d[0];
        ++k;
    }
    *k0 = k;
    return 1;
}

/* Calibrated phasor (g, s) of sums d with the background bg removed. */
static int calibrate(const phasor_plan *pl, const double d[3], double bg, double ig, double is, double *g,
                     double *s)
{
    double d0 = d[0] - bg * (double)pl->t, d1 = d[1] - bg * pl->sum_c, d2 = d[2] - bg * pl->sum_s;
    if (!(d0 > 0.0) || !isfinite(d1) || !isfinite(d2)) return 0;
    /* (d1 + i d2) / d0 / (ig + i is) */
    double dg = d1 / d0, ds = d2 / d0, den = ig * ig + is * is;
    if (!(den > 0.0)) return 0;
    *g = (dg * ig + ds * is) / den;
    *s = (ds * ig - dg * is) / den;
    return 1;
}

static void phasor_pixel(const phasor_plan *pl, const fl_fit_params *p, const float *y, const float *irf,
                         fl_fit_result *r)
{
    double ig = 1.0, is = 0.0, d[3], bg = 0.0, leak = 0.0, g, s;
    size_t k0 = 0;
    *r = (fl_fit_result){NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0, FL_FIT_FAILED, NAN, NAN, NAN, NAN};
    if (pl->shared) {
        ig = pl->irf_g;
        is = pl->irf_s;
        k0 = pl->k0;
        leak = pl->leak;
    } else if (irf && !irf_phasor(pl, irf, &ig, &is, &k0, &leak)) {
        return;
    }
    dot3(y, pl->cs, pl->sn, pl->t, d);
    if (p->background && k0 >= 3) {
        /* The mean of the gates before the IRF, less the signal that has
         * already arrived there: amplitude A = (sum - T B)(1 - r), r from a
         * first phase, times the IRF's leak. The modulation needs it: a
         * background error of a fraction b of the signal moves tau_mod by
         * about b / (w tau)^2, 0.3 % for b = 6e-5 at 0.29 ns. */
        double pre = 0.0;
        for (size_t k = 0; k < k0; ++k) pre += y[k];
        bg = pre / (double)k0;
        double q = calibrate(pl, d, bg, ig, is, &g, &s) ? -phase_rm1(g, s, pl->sin_theta, pl->h2) : NAN;
        if (q > 0.0) bg = (pre - q * leak * d[0]) / ((double)k0 - q * leak * (double)pl->t);
    }
    if (!calibrate(pl, d, bg, ig, is, &g, &s)) return;
    double tp = -pl->dt / log1p(phase_rm1(g, s, pl->sin_theta, pl->h2));
    r->g = g;
    r->s = s;
    r->tau_phi = tp;
    r->tau_mod = -pl->dt / log1p(mod_rm1(g, s, pl->h2));
    r->background = bg;
    if (!(tp > 0.0) || !isfinite(tp)) return;
    r->tau1 = r->tau2 = r->tau_m = tp;
    r->a = 1.0;
    r->outcome = FL_FIT_OK;
}

static fl_status phasor_run(const fl_fit_params *p, size_t n, const float *y, const float *irf,
                            size_t irf_stride, fl_fit_result *out)
{
    phasor_plan pl = {.t = p->t, .dt = p->gate_ns};
    double period = p->period_ns > 0.0 ? p->period_ns : (double)p->t * p->gate_ns;
    pl.omega = 2.0 * FL_PI * (p->harmonic ? p->harmonic : 1) / period;
    pl.sin_theta = sin(pl.omega * pl.dt);
    pl.h2 = sin(0.5 * pl.omega * pl.dt) * sin(0.5 * pl.omega * pl.dt);
    pl.cs = malloc(p->t * sizeof *pl.cs);
    pl.sn = malloc(p->t * sizeof *pl.sn);
    if (!pl.cs || !pl.sn) {
        free(pl.cs);
        free(pl.sn);
        return fl_fail(FL_E_NOMEM, "fit: phasor: out of memory");
    }
    for (size_t k = 0; k < p->t; ++k) {
        double a = pl.omega * (double)k * p->gate_ns;
        pl.cs[k] = (float)cos(a);
        pl.sn[k] = (float)sin(a);
        pl.sum_c += pl.cs[k];
        pl.sum_s += pl.sn[k];
    }
    pl.shared = !irf || irf_stride == 0;
    int irf_ok = 1;
    if (pl.shared && irf) irf_ok = irf_phasor(&pl, irf, &pl.irf_g, &pl.irf_s, &pl.k0, &pl.leak);
    else if (pl.shared) pl.irf_g = 1.0;   /* no IRF: a unit impulse at gate 0 */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; ++i) {
        if (!irf_ok) {
            out[i] = (fl_fit_result){NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0, FL_FIT_FAILED, NAN, NAN, NAN, NAN};
            continue;
        }
        phasor_pixel(&pl, p, y + i * p->t, irf && !pl.shared ? irf + i * irf_stride : NULL, &out[i]);
    }
    free(pl.cs);
    free(pl.sn);
    return FL_OK;
}

fl_status fl_fit_run(const fl_fit_params *p, size_t n, const float *y, const float *irf,
                     size_t irf_stride, fl_fit_result *out)
{
    fl_status st = fl_fit_params_check(p);
    if (st) return st;
    if (irf && irf_stride != 0 && irf_stride < p->t)
        return fl_fail(FL_E_INPUT, "fit: IRF row stride %zu < %zu gates", irf_stride, p->t);
    if (p->method == FL_FIT_PHASOR) return phasor_run(p, n, y, irf, irf_stride, out);
    /* GSL's default handler aborts the process; every status is checked here. */
    gsl_set_error_handler_off();
    int nomem = 0;
#pragma omp parallel reduction(| : nomem)
    {
        fit_ctx c;
        int ready = ctx_init(&c, p);
        nomem |= !ready;
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; ++i) {
            if (!ready) continue;
            fit_pixel(&c, p, y + i * p->t, irf ? irf + i * irf_stride : NULL, &out[i]);
        }
        ctx_free(&c);
    }
    if (nomem) return fl_fail(FL_E_NOMEM, "fit: cannot allocate the solver workspaces");
    return FL_OK;
}

double fl_fit_rld(const fl_fit_params *p, const float *y, const float *irf, double *bg)
{
    size_t t = p->t;
    double *buf = malloc(2 * t * sizeof *buf), b = 0.0, sum = 0.0;
    if (!buf) return NAN;
    fit_data fd = {.t = t, .dt = p->gate_ns, .y = buf, .irf = buf + t};
    for (size_t k = 0; k < t; ++k) {
        buf[k] = y[k];
        fd.irf[k] = irf ? irf[k] : 0.0;
        sum += fd.irf[k];
    }
    for (size_t k = 0; irf && sum > 0.0 && k < t; ++k) fd.irf[k] /= sum;
    double tau = irf && !(sum > 0.0) ? NAN : rld(&fd, irf != NULL, p->background, &b);
    free(buf);
    if (bg) *bg = b;
    return tau;
}

/* ---- scoring ------------------------------------------------------------------ */

static void summarise(const double *err, const double *truth, size_t n, double *aux, fl_lifetime_err *e)
{
    fl_stat s = fl_stat_of(err, n, &e->n);
    e->failures = n - e->n;
    e->bias = s.mean;
    e->std = s.std;
    for (size_t i = 0; i < n; ++i) aux[i] = fabs(err[i]);
    e->mae = fl_stat_of(aux, n, NULL).mean;
    for (size_t i = 0; i < n; ++i) aux[i] = truth[i] != 0.0 ? fabs(err[i]) / fabs(truth[i]) : NAN;
    e->mre = fl_stat_of(aux, n, &e->mre_n).mean;
}

fl_status fl_fit_score(const double *est, const float *truth, size_t n, fl_lifetime_report *out)
{
    if (n == 0) return fl_fail(FL_E_INPUT, "fit score: no samples");
    double *buf = malloc(3 * n * sizeof *buf);
    if (!buf) return fl_fail(FL_E_NOMEM, "fit score: cannot allocate %zu samples", n);
    double *err = buf, *tru = buf + n, *aux = buf + 2 * n;
    fl_lifetime_err *dst[4] = {&out->tau1, &out->tau2, &out->a, &out->tau_m};
    for (int q = 0; q < 4; ++q) {
        for (size_t i = 0; i < n; ++i) {
            const float *y = truth + 3 * i;
            tru[i] = q < 3 ? (double)y[q] : fl_lifetime_tau_m(y[0], y[1], y[2]);
            err[i] = est[4 * i + (size_t)q] - tru[i];
        }
        summarise(err, tru, n, aux, dst[q]);
    }
    out->n = n;
    free(buf);
    return FL_OK;
}
