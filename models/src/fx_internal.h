/* fx_internal.h - private to the fixed-point fast path (fx_fast.c and the
 * per-ISA instances of fx_kern.h). Not installed, not for the SystemC model. */
#ifndef FLIGRU_FX_INTERNAL_H
#define FLIGRU_FX_INTERNAL_H

#include "fligru/fxmodel.h"

/* Pixels per block: the SIMD lanes of one kernel call (two zmm, four ymm). */
#define FX_LANES 32

/* How a matrix's MACs are computed; all agree modulo 2^32 (docs §2.2). */
typedef enum {
    FX_PATH_I16 = 0,   /* int16 weight and operand pairs: vpdpwssd / vpmaddwd (D == 0) */
    FX_PATH_I32 = 1,   /* 32-bit products modulo 2^32, D <= 0                            */
    FX_PATH_I64 = 2,   /* 64-bit products, each rounded by D > 0                         */
    FX_PATH_I32R = 3   /* D > 0 with b + W_operand <= 32: the product and its rounding
                          constant fit an int32 (|w| <= 2^(b-1) - 1), 32-bit lanes     */
} fx_path;

typedef struct {
    const fl_fx_matrix *m;
    int      rows, cols, kp;   /* kp = ceil(cols / 2): int16 pairs per row           */
    int      D;                /* product shift                                       */
    fx_path  path;
    int32_t *wp;               /* FX_PATH_I16: [rows][kp] packed (w[2k] low, w[2k+1] high) */
    int      spos;             /* every S_j >= 1 (the fused AVX-512 epilogue needs it)  */
} fx_mat;

/* Everything constant for a call: matrices in kernel form, biases aligned to
 * their target format once (docs §4.4: a function of constants). */
typedef struct {
    const fl_fx_model *q;
    fx_mat   enc_x[FL_S2S_MAX_LAYERS], enc_h[FL_S2S_MAX_LAYERS];
    fx_mat   dec_x[FL_S2S_MAX_LAYERS], dec_h[FL_S2S_MAX_LAYERS];
    fx_mat   bridge[FL_S2S_MAX_LAYERS], dense;
    int32_t *enc_bx[FL_S2S_MAX_LAYERS], *enc_bh[FL_S2S_MAX_LAYERS];
    int32_t *dec_bx[FL_S2S_MAX_LAYERS], *dec_bh[FL_S2S_MAX_LAYERS];
    int32_t *bridge_b[FL_S2S_MAX_LAYERS], *dense_b;
    /* Per gate row, the biases that enter the gate's one saturating sum: bias_ih +
     * bias_hh for r and z (reset-after), bias_ih otherwise ([3H], storage order). */
    int32_t *enc_bsum[FL_S2S_MAX_LAYERS], *dec_bsum[FL_S2S_MAX_LAYERS];
    int      o_r, o_z;         /* block offsets of r and z in units of H (0 or 1)     */
    int      ew32;             /* elementwise values fit the 32-bit SIMD forms: gates
                                  <= 29 bits, table offsets < 2^30, the update's
                                  h - n difference in 32 bits (else: 64-bit C loops) */
    void    *mem;
} fx_prep;

/* Per-thread scratch of one block, every array [rows][FX_LANES]. */
typedef struct {
    int32_t  *v;               /* input operand [max(input, H)]                      */
    uint32_t *vp;              /* packed pairs  [ceil(max(input, H) / 2)]            */
    int32_t  *acc, *Rx, *Rh;   /* [max(3H, C)]                                       */
    int32_t  *rz;              /* [2H] r and z rows in storage order                  */
    int32_t  *n, *rh;          /* [H]                                                */
    int32_t  *he[FL_S2S_MAX_LAYERS], *hd[FL_S2S_MAX_LAYERS];
    int32_t  *y;               /* [C]                                                */
    void     *mem;
} fx_block;

/* One ISA's kernels, all on blocks of FX_LANES pixels (lanes), docs §4. */
typedef struct {
    /* One GRU step of (dec ? decoder : encoder) layer: v the input operand
     * ([input][lanes], NULL for decoder layer 0), h [H][lanes] updated. */
    void (*step)(const fx_prep *p, fx_block *b, int dec, int layer, const int32_t *v, int32_t *h);
    /* Bridge (or copy) of layer: he [E][lanes] -> hd [D][lanes]. */
    void (*bridge)(const fx_prep *p, fx_block *b, int layer, const int32_t *he, int32_t *hd);
    /* Dense head: h [D][lanes] -> y [C][lanes]. */
    void (*dense)(const fx_prep *p, fx_block *b, const int32_t *h, int32_t *y);
} fx_kernels;

extern const fx_kernels fx_kernels_generic;
#if defined(__x86_64__) || defined(__i386__)
#define FX_HAVE_X86 1
extern const fx_kernels fx_kernels_avx2;
extern const fx_kernels fx_kernels_avx512;
#else
#define FX_HAVE_X86 0
#endif

#endif
