/* fx_avx2.c - the fixed-point kernels of fx_kern.h compiled for AVX2 (int16
 * pair MACs with vpmaddwd). Called only when the CPU reports AVX2. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,bmi2"))), apply_to = function)
#else
#pragma GCC target("avx2,bmi2")
#endif
#define FX_ISA 1
#define FX_KERNELS_NAME fx_kernels_avx2
#include "fx_kern.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
