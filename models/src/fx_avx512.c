/* fx_avx512.c - the fixed-point kernels of fx_kern.h compiled for AVX-512
 * (F, BW, VL, DQ) with VNNI: int16 pair MACs with vpdpwssd, 64-bit rounding in
 * registers, table gathers. Called only when the CPU reports all of them. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,bmi2"))), \
                             apply_to = function)
#else
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,bmi2")
#endif
#define FX_ISA 2
#define FX_KERNELS_NAME fx_kernels_avx512
#include "fx_kern.h"
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
