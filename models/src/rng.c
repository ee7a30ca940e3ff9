/* rng.c - Philox4x32-10 and the distributions synth needs.
 *
 * Philox4x32-10: Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy
 * as 1, 2, 3", SC'11. Poisson PTRS: W. Hoermann, "The transformed rejection
 * method for generating Poisson random variables", Insurance: Mathematics and
 * Economics 12 (1993) 39-45.
 */
#include "fligru/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u   /* golden ratio            */
#define PHILOX_W1 0xBB67AE85u   /* sqrt(3) - 1             */

static inline void philox_round(uint32_t c[4], const uint32_t k[2])
{
    uint64_t p0 = (uint64_t)PHILOX_M0 * c[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * c[2];
    uint32_t c1 = c[1], c3 = c[3];
    c[0] = (uint32_t)(p1 >> 32) ^ c1 ^ k[0];
    c[1] = (uint32_t)p1;
    c[2] = (uint32_t)(p0 >> 32) ^ c3 ^ k[1];
    c[3] = (uint32_t)p0;
}

void fl_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    uint32_t k[2] = {key[0], key[1]};
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {          /* the key schedule bumps before rounds 2..10 */
            k[0] += PHILOX_W0;
            k[1] += PHILOX_W1;
        }
        philox_round(c, k);
    }
    for (int i = 0; i < 4; ++i) out[i] = c[i];
}

void fl_rng_init(fl_rng *r, uint64_t seed, uint64_t stream)
{
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->stream = stream;
    r->block = 0;
    r->pos = 4;
    r->has_normal = 0;
    r->normal = 0.0;
}

static void refill(fl_rng *r)
{
    uint32_t ctr[4] = {(uint32_t)r->block, (uint32_t)(r->block >> 32),
                       (uint32_t)r->stream, (uint32_t)(r->stream >> 32)};
    fl_philox4x32_10(ctr, r->key, r->buf);
    r->block++;
    r->pos = 0;
}

uint32_t fl_rng_u32(fl_rng *r)
{
    if (r->pos >= 4) refill(r);
    return r->buf[r->pos++];
}

uint64_t fl_rng_u64(fl_rng *r)
{
    uint64_t hi = fl_rng_u32(r);
    return (hi << 32) | fl_rng_u32(r);
}

double fl_rng_uniform(fl_rng *r)
{
    return (double)(fl_rng_u64(r) >> 11) * 0x1p-53;
}

double fl_rng_range(fl_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * fl_rng_uniform(r);
}

double fl_rng_normal(fl_rng *r)
{
    if (r->has_normal) {
        r->has_normal = 0;
        return r->normal;
    }
    /* 1 - u lies in (0, 1]: log never sees 0. */
    double rad = sqrt(-2.0 * log(1.0 - fl_rng_uniform(r)));
    double phi = 6.283185307179586 * fl_rng_uniform(r);
    r->normal = rad * sin(phi);
    r->has_normal = 1;
    return rad * cos(phi);
}

/* log(k!) for k < 16, correctly rounded (computed in 40-digit decimal). */
static const double log_fact_table[16] = {
    0.0, 0.0, 0.69314718055994529, 1.791759469228055, 3.1780538303479458,
    4.7874917427820458, 6.5792512120101012, 8.5251613610654147, 10.604602902745251,
    12.801827480081469, 15.104412573075516, 17.502307845873887, 19.987214495661885,
    22.552163853123425, 25.19122118273868, 27.89927138384089,
};

double fl_log_factorial(uint64_t k)
{
    if (k < 16) return log_fact_table[k];
    /* Stirling series for log Gamma(n+1); the first omitted term,
     * 1/(1188 n^9), is below 2e-14 absolute at n = 16. */
    double n = (double)k, n2 = n * n;
    double series = (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * n2)) / n2) / n2) / n;
    return (n + 0.5) * log(n) - n + 0.91893853320467274 /* log(2 pi)/2 */ + series;
}

/* Sequential search of the CDF: exact, cost ~ lambda iterations. */
static uint64_t poisson_inversion(fl_rng *r, double lambda)
{
    double u = fl_rng_uniform(r);
    double p = exp(-lambda), cdf = p;
    uint64_t k = 0;
    /* The cap only matters when rounding keeps cdf below a u within 1e-16 of
     * 1; P(k > 200) for lambda < 10 is ~1e-200. */
    while (u >= cdf && k < 200) {
        ++k;
        p *= lambda / (double)k;
        cdf += p;
    }
    return k;
}

/* PTRS: transformed rejection with squeeze; ~1.1 uniforms pairs per draw,
 * valid for lambda >= 10. Numerical note: the final log test compares
 * quantities of size ~lambda*log(lambda), so its absolute rounding error is
 * ~1e-16*lambda*log(lambda): negligible for lambda <= 1e12. */
static uint64_t poisson_ptrs(fl_rng *r, double lambda)
{
    double slam = sqrt(lambda), loglam = log(lambda);
    double b = 0.931 + 2.53 * slam;
    double a = -0.059 + 0.02483 * b;
    double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    double v_r = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
        double u = fl_rng_uniform(r) - 0.5;
        double v = fl_rng_uniform(r);
        double us = 0.5 - fabs(u);
        double kd = floor((2.0 * a / us + b) * u + lambda + 0.43);
        if (us >= 0.07 && v <= v_r) return (uint64_t)kd;
        /* kd is -inf when us == 0 and huge when us is tiny: reject both
         * before the integer conversion (which would be undefined). */
        if (!(kd >= 0.0) || kd > 1e18 || (us < 0.013 && v > us)) continue;
        uint64_t k = (uint64_t)kd;
        double lhs = log(v) + log(inv_alpha) - log(a / (us * us) + b);
        double rhs = -lambda + kd * loglam - fl_log_factorial(k);
        if (lhs <= rhs) return k;
    }
}

uint64_t fl_rng_poisson(fl_rng *r, double lambda)
{
    if (!(lambda > 0.0)) return 0;
    return lambda < 10.0 ? poisson_inversion(r, lambda) : poisson_ptrs(r, lambda);
}
