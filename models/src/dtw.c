/* dtw.c - exact dynamic time warping: a full-matrix reference and a batched
 * SIMD kernel that matches it bit for bit.
 *
 * Recurrence (1-based matrix M, M[0][0] = 0, every other border cell +inf):
 *     M[i][j] = c(x[i-1], y[j-1]) + min(min(M[i-1][j], M[i-1][j-1]), M[i][j-1])
 * for cells with |i-j| <= W (others stay +inf). The batched kernel keeps one
 * row per lane and evaluates exactly this expression, in this order, so each
 * lane rounds exactly as the reference does.
 *
 * Why lanes over pairs rather than over the row: a row is a serial chain
 * (each cell needs its left neighbour), so one pair cannot fill a vector;
 * FL_DTW_LANES independent pairs can, and 16 doubles give an AVX-512 core two
 * independent add/min chains to hide their latency.
 */
#include "fligru/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef L
#define L FL_DTW_LANES
#endif

const char *fl_dtw_cost_name(fl_dtw_cost c) { return c == FL_DTW_ABS ? "abs" : "sq"; }

int fl_dtw_cost_parse(const char *s)
{
    if (!strcmp(s, "sq")) return FL_DTW_SQ;
    if (!strcmp(s, "abs")) return FL_DTW_ABS;
    return -1;
}

/* The same local cost and minimum in both implementations: the ternary min
 * maps to (v)minsd / (v)minpd, whose semantics it is. */
static inline double local_cost(double d, fl_dtw_cost cost) { return cost == FL_DTW_ABS ? fabs(d) : d * d; }
static inline double min2(double a, double b) { return a < b ? a : b; }
static inline double finish(double acc, fl_dtw_cost cost) { return cost == FL_DTW_ABS ? acc : sqrt(acc); }

/* Columns of row i inside the band, 0-based: [*lo, *hi]. */
static inline void band_range(size_t i, size_t t, long band, size_t *lo, size_t *hi)
{
    size_t w = (size_t)band;
    *lo = (band < 0 || i <= w) ? 0 : i - w;
    *hi = (band < 0 || i + w >= t - 1) ? t - 1 : i + w;
}

static fl_status check_params(const fl_dtw_params *p)
{
    if (p->t == 0) return fl_fail(FL_E_INPUT, "dtw: series length is 0");
    if (p->cost != FL_DTW_SQ && p->cost != FL_DTW_ABS)
        return fl_fail(FL_E_INPUT, "dtw: unknown cost %d", (int)p->cost);
    return FL_OK;
}

fl_status fl_dtw_ref(const fl_dtw_params *p, const float *x, const float *y, double *out)
{
    fl_status st = check_params(p);
    if (st) return st;
    size_t t = p->t, w = t + 1;
    double *m = malloc(w * w * sizeof *m);
    if (!m) return fl_fail(FL_E_NOMEM, "dtw: cannot allocate a %zux%zu matrix", w, w);
    for (size_t k = 0; k < w * w; ++k) m[k] = INFINITY;
    m[0] = 0.0;
    for (size_t i = 1; i <= t; ++i) {
        size_t lo, hi;
        band_range(i - 1, t, p->band, &lo, &hi);
        for (size_t j = lo + 1; j <= hi + 1; ++j) {
            double c = local_cost((double)x[i - 1] - (double)y[j - 1], p->cost);
            double up = m[(i - 1) * w + j], left = m[i * w + j - 1], diag = m[(i - 1) * w + j - 1];
            m[i * w + j] = c + min2(min2(up, diag), left);
        }
    }
    *out = finish(m[t * w + t], p->cost);
    free(m);
    return FL_OK;
}

/* One block of L pairs. x, y: [t][L] doubles; row: (t+1)*L scratch.
 * row[k*L+l] holds M[i][k] of lane l while row i is swept. Entries right of
 * the band are never written, so they are still +inf from the initialisation
 * when the next row reads them as "up"; the left neighbour lives in a
 * register (left[]), so its +inf at the band's edge needs no store, and
 * row[0] (M[i][0] = +inf) is never written at all. */
static inline __attribute__((always_inline)) void
dtw_block_body(size_t t, long band, fl_dtw_cost cost, const double *restrict x,
               const double *restrict y, double *restrict row, double *restrict out)
{
    for (size_t k = 0; k < (t + 1) * L; ++k) row[k] = INFINITY;
    for (size_t i = 0; i < t; ++i) {
        size_t lo, hi;
        band_range(i, t, band, &lo, &hi);
        double diag[L], left[L], xi[L];
        for (int l = 0; l < L; ++l) {
            xi[l] = x[i * L + l];
            diag[l] = i ? row[lo * L + l] : 0.0;     /* M[0][0] = 0 seeds row 1 */
            left[l] = INFINITY;
        }
        for (size_t j = lo; j <= hi; ++j) {
            const double *yj = y + j * L;
            double *cur = row + (j + 1) * L;
#pragma omp simd
            for (int l = 0; l < L; ++l) {
                double c = local_cost(xi[l] - yj[l], cost);
                double up = cur[l];
                double v = c + min2(min2(up, diag[l]), left[l]);
                diag[l] = up;
                left[l] = cur[l] = v;
            }
        }
    }
    for (int l = 0; l < L; ++l) out[l] = finish(row[t * L + l], cost);
}

typedef void (*block_fn)(size_t, long, fl_dtw_cost, const double *, const double *, double *,
                         double *);

/* Constant cost per clone, so the branch in local_cost folds away. */
#define DEFINE_BLOCK(name, attr)                                                              \
    attr static void name(size_t t, long band, fl_dtw_cost cost, const double *x,            \
                          const double *y, double *row, double *out)                         \
    {                                                                                         \
        if (cost == FL_DTW_ABS) dtw_block_body(t, band, FL_DTW_ABS, x, y, row, out);         \
        else                    dtw_block_body(t, band, FL_DTW_SQ, x, y, row, out);          \
    }

DEFINE_BLOCK(block_generic, )
#if defined(__x86_64__) && defined(__GNUC__)
DEFINE_BLOCK(block_avx2, __attribute__((target("avx2"))))
DEFINE_BLOCK(block_avx512, __attribute__((target("avx512f"))))
#endif

typedef struct {
    const char *name;
    block_fn    fn;
    int       (*supported)(void);
} kernel_entry;

static int always(void) { return 1; }
#if defined(__x86_64__) && defined(__GNUC__)
static int has_avx2(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx2"); }
static int has_avx512(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx512f"); }
#endif

/* Best first. */
static const kernel_entry kernels[] = {
#if defined(__x86_64__) && defined(__GNUC__)
    {"avx512f", block_avx512, has_avx512},
    {"avx2", block_avx2, has_avx2},
#endif
    {"generic", block_generic, always},
};
#define N_KERNELS (sizeof kernels / sizeof kernels[0])

static const kernel_entry *forced;

static const kernel_entry *pick_kernel(void)
{
    if (forced) return forced;
    for (size_t k = 0; k < N_KERNELS; ++k)
        if (kernels[k].supported()) return &kernels[k];
    return &kernels[N_KERNELS - 1];
}

const char *fl_dtw_kernel_name(void) { return pick_kernel()->name; }

fl_status fl_dtw_use_kernel(const char *name)
{
    if (!name) {
        forced = NULL;
        return FL_OK;
    }
    for (size_t k = 0; k < N_KERNELS; ++k)
        if (!strcmp(name, kernels[k].name)) {
            if (!kernels[k].supported())
                return fl_fail(FL_E_INPUT, "dtw: kernel '%s' is not supported by this CPU", name);
            forced = &kernels[k];
            return FL_OK;
        }
    return fl_fail(FL_E_INPUT, "dtw: unknown kernel '%s' (avx512f, avx2, generic)", name);
}

/* Interleaves pairs [first, first+count) into [t][L]; idle lanes get zeros. */
static void gather(fl_series s, size_t t, size_t first, size_t count, double *dst)
{
    for (size_t k = 0; k < t; ++k)
        for (size_t l = 0; l < L; ++l)
            dst[k * L + l] = l < count ? (double)s.data[(first + l) * s.sample + k * s.step] : 0.0;
}

fl_status fl_dtw_batch(const fl_dtw_params *p, size_t n, fl_series x, fl_series y, double *out)
{
    fl_status st = check_params(p);
    if (st) return st;
    block_fn kernel = pick_kernel()->fn;
    size_t t = p->t, blocks = (n + L - 1) / L;
    int oom = 0;
#pragma omp parallel
    {
        double *buf = malloc((3 * t + 1) * L * sizeof *buf);
        if (!buf) {
#pragma omp atomic write
            oom = 1;
        }
        double *xb = buf, *yb = buf + t * L, *row = buf + 2 * t * L, res[L];
        /* Every thread runs the loop (a worksharing loop must be met by all);
         * one that could not allocate skips its share and reports it. */
#pragma omp for schedule(static)
        for (size_t b = 0; b < blocks; ++b) {
            if (!buf) continue;
            size_t first = b * L, count = n - first < L ? n - first : L;
            gather(x, t, first, count, xb);
            gather(y, t, first, count, yb);
            kernel(t, p->band, p->cost, xb, yb, row, res);
            memcpy(out + first, res, count * sizeof *res);
        }
        free(buf);
    }
    if (oom) return fl_fail(FL_E_NOMEM, "dtw: cannot allocate %zu bytes of scratch",
                            (3 * t + 1) * L * sizeof(double));
    return FL_OK;
}
