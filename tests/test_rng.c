/* test_rng.c - Philox4x32-10 and the distributions built on it.
 *
 * Statistical tests use fixed seeds, so they are deterministic; their
 * tolerances are 5 standard errors of the estimate, so a correct generator
 * with another seed would also pass with probability > 1 - 1e-6 per check,
 * while a biased one (e.g. a Poisson mean off by 1%) fails. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "fligru/rng.h"

Test(rng, philox_known_answers)
{
    /* Random123 kat_vectors: counter, key -> output. */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int i = 0; i < 3; ++i) {
        uint32_t out[4];
        fl_philox4x32_10(kat[i], kat[i] + 4, out);
        for (int j = 0; j < 4; ++j)
            cr_expect_eq(out[j], kat[i][6 + j], "vector %d word %d: %08x != %08x", i, j, out[j],
                         kat[i][6 + j]);
    }
}

Test(rng, stream_layout_is_counter_based)
{
    /* Word k of stream s is block k/4 of counter (k/4, 0, s, 0) under key seed. */
    fl_rng r;
    fl_rng_init(&r, 0x123456789abcdefULL, 7);
    uint32_t key[2] = {0x89abcdef, 0x01234567}, out[4];
    for (uint32_t b = 0; b < 3; ++b) {
        uint32_t ctr[4] = {b, 0, 7, 0};
        fl_philox4x32_10(ctr, key, out);
        for (int j = 0; j < 4; ++j) cr_expect_eq(fl_rng_u32(&r), out[j]);
    }
}

Test(rng, streams_are_reproducible_and_distinct)
{
    fl_rng a, b, c;
    fl_rng_init(&a, 42, 1000);
    fl_rng_init(&b, 42, 1000);
    fl_rng_init(&c, 42, 1001);
    int same_c = 0;
    for (int i = 0; i < 1000; ++i) {
        uint64_t x = fl_rng_u64(&a);
        cr_assert_eq(x, fl_rng_u64(&b));
        same_c += x == fl_rng_u64(&c);
    }
    cr_expect_eq(same_c, 0);
}

Test(rng, uniform_range_and_moments)
{
    fl_rng r;
    fl_rng_init(&r, 1, 0);
    const int n = 1000000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
        double u = fl_rng_uniform(&r);
        cr_assert(u >= 0.0 && u < 1.0);
        cr_assert_eq(u, ldexp(floor(ldexp(u, 53)), -53), "not a multiple of 2^-53");
        sum += u;
        sum2 += u * u;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    /* sd(mean) = sqrt(1/12/n) = 2.9e-4; sd(var) = sqrt(1/180/n) = 7.5e-5 */
    cr_expect(fabs(mean - 0.5) < 5 * 2.9e-4, "mean %g", mean);
    cr_expect(fabs(var - 1.0 / 12) < 5 * 7.5e-5, "var %g", var);
}

Test(rng, normal_moments)
{
    fl_rng r;
    fl_rng_init(&r, 2, 0);
    const int n = 1000000;
    double s1 = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; ++i) {
        double z = fl_rng_normal(&r);
        s1 += z;
        s2 += z * z;
        s4 += z * z * z * z;
    }
    /* sd(mean) = 1e-3; sd(E z^2) = sqrt(2/n) = 1.4e-3; sd(E z^4) = sqrt(96/n) = 9.8e-3 */
    cr_expect(fabs(s1 / n) < 5e-3, "mean %g", s1 / n);
    cr_expect(fabs(s2 / n - 1.0) < 5 * 1.4e-3, "var %g", s2 / n);
    cr_expect(fabs(s4 / n - 3.0) < 5 * 9.8e-3, "kurtosis %g", s4 / n);
}

Test(rng, log_factorial_matches_sum_of_logs)
{
    double acc = 0.0;   /* log k! by summation: relative error ~ k ulp */
    for (uint64_t k = 1; k <= 2000; ++k) {
        acc += log((double)k);
        double lf = fl_log_factorial(k);
        cr_expect(fabs(lf - acc) <= 1e-13 * (acc + 1.0), "k=%lu: %.17g vs %.17g",
                  (unsigned long)k, lf, acc);
    }
    cr_expect_eq(fl_log_factorial(0), 0.0);
    /* Stirling at 1e6 against the known value 12815518.384658169... */
    cr_expect(fabs(fl_log_factorial(1000000) - 12815518.384658169) < 1e-6);
}

Test(rng, poisson_degenerate)
{
    fl_rng r;
    fl_rng_init(&r, 3, 0);
    cr_expect_eq(fl_rng_poisson(&r, 0.0), 0);
    cr_expect_eq(fl_rng_poisson(&r, -1.0), 0);
    cr_expect_eq(fl_rng_poisson(&r, NAN), 0);
}

/* Mean and variance of n draws, checked to 5 standard errors:
 * sd(mean) = sqrt(lambda/n), sd(sample variance) = sqrt((lambda + 2 lambda^2)/n)
 * (the Poisson fourth central moment is lambda + 3 lambda^2). */
static void check_poisson_moments(double lambda, int n)
{
    fl_rng r;
    fl_rng_init(&r, 4, (uint64_t)(lambda * 1000));
    double s1 = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
        double k = (double)fl_rng_poisson(&r, lambda);
        s1 += k;
        s2 += k * k;
    }
    double mean = s1 / n, var = s2 / n - mean * mean;
    double tol_m = 5 * sqrt(lambda / n), tol_v = 5 * sqrt((lambda + 2 * lambda * lambda) / n);
    cr_expect(fabs(mean - lambda) < tol_m, "lambda %g: mean %g (tol %g)", lambda, mean, tol_m);
    cr_expect(fabs(var - lambda) < tol_v, "lambda %g: var %g (tol %g)", lambda, var, tol_v);
}

Test(rng, poisson_mean_and_variance_small_lambda)
{
    const double lam[] = {0.01, 0.5, 1.0, 3.0, 9.99};
    for (size_t i = 0; i < sizeof lam / sizeof lam[0]; ++i) check_poisson_moments(lam[i], 400000);
}

Test(rng, poisson_mean_and_variance_large_lambda)
{
    const double lam[] = {10.0, 17.5, 100.0, 1e4, 1e7};
    for (size_t i = 0; i < sizeof lam / sizeof lam[0]; ++i) check_poisson_moments(lam[i], 400000);
}

/* Frequencies of each k against the exact pmf, to 5 binomial standard
 * errors: catches a distribution with the right moments but the wrong shape
 * (a broken PTRS squeeze would show as a dent at some k). */
static void check_poisson_pmf(double lambda, int n)
{
    enum { KMAX = 64 };
    int count[KMAX] = {0};
    fl_rng r;
    fl_rng_init(&r, 5, (uint64_t)lambda);
    for (int i = 0; i < n; ++i) {
        uint64_t k = fl_rng_poisson(&r, lambda);
        if (k < KMAX) count[k]++;
    }
    for (int k = 0; k < KMAX; ++k) {
        double p = exp(-lambda + k * log(lambda) - fl_log_factorial((uint64_t)k));
        double f = (double)count[k] / n, tol = 5 * sqrt(p * (1 - p) / n) + 1.0 / n;
        cr_expect(fabs(f - p) < tol, "lambda %g, k %d: freq %g, pmf %g", lambda, k, f, p);
    }
}

Test(rng, poisson_pmf_inversion) { check_poisson_pmf(4.0, 1000000); }
Test(rng, poisson_pmf_ptrs)      { check_poisson_pmf(20.0, 1000000); }
