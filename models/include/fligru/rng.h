/* fligru/rng.h - counter-based random numbers (Philox4x32-10).
 *
 * Why counter-based: every random draw is a pure function of (seed, stream,
 * counter), so sample i of a synthetic data set is the same whichever thread
 * makes it, in whatever order, and a data set can be regenerated piecewise.
 * A generator owns one stream; give each independent unit of work (a sample,
 * a digit tile) its own stream number and no state is ever shared.
 *
 *     fl_rng r;
 *     fl_rng_init(&r, seed, sample_index);
 *     double u   = fl_rng_uniform(&r);          // [0, 1), 53 random bits
 *     double z   = fl_rng_normal(&r);           // N(0, 1)
 *     uint64_t k = fl_rng_poisson(&r, 42.0);    // Poisson(42)
 *
 * Layout: Philox key = the 64-bit seed; the 128-bit counter is
 * (block index: words 0-1, stream: words 2-3). So each (seed, stream) pair
 * owns 2^64 blocks of 4 words, disjoint from every other stream's.
 * Limits: Poisson is exact (up to double rounding) for 0 <= lambda <= 1e12;
 * beyond that the log-density test loses precision (see rng.c).
 */
#ifndef FLIGRU_RNG_H
#define FLIGRU_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t key[2];       /* seed                                        */
    uint64_t stream;
    uint64_t block;        /* next Philox block to compute                */
    uint32_t buf[4];       /* current block's output                      */
    unsigned pos;          /* next unused word of buf (4: empty)          */
    int      has_normal;   /* Box-Muller makes two normals; one is cached */
    double   normal;
} fl_rng;

/* The raw bijection: out = Philox4x32-10(ctr, key). Matches the Random123
 * known-answer vectors. */
void fl_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

void     fl_rng_init(fl_rng *r, uint64_t seed, uint64_t stream);
uint32_t fl_rng_u32(fl_rng *r);
uint64_t fl_rng_u64(fl_rng *r);
/* Uniform on [0, 1): a multiple of 2^-53. */
double   fl_rng_uniform(fl_rng *r);
/* Uniform on [lo, hi). */
double   fl_rng_range(fl_rng *r, double lo, double hi);
/* Standard normal (Box-Muller). */
double   fl_rng_normal(fl_rng *r);
/* Poisson(lambda): inversion for lambda < 10, Hoermann's PTRS above.
 * lambda <= 0 (or NaN) gives 0. */
uint64_t fl_rng_poisson(fl_rng *r, double lambda);

/* log(k!) without lgamma() (which writes the global signgam: not
 * thread-safe): exact table for k < 16, Stirling series beyond
 * (relative error < 1e-15). */
double fl_log_factorial(uint64_t k);

#ifdef __cplusplus
}
#endif
#endif
