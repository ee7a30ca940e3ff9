/* fligru/fxmodel.h - the fixed-point Seq2Seq: PTQ, quantised model files, the
 * bit-exact reference (the golden model of the RTL) and its fast batched twin.
 *
 * docs/fixed-point.md specifies every bit; this header is its C API.
 *
 *     fl_fx_format f;
 *     if (fl_fx_format_load("configs/fx-default.yaml", &f)) die(fl_error());
 *     fl_fx_model q;
 *     fl_fx_report rep;
 *     if (fl_fx_quantize(&float_model, &f, &q, &rep)) die(fl_error());   // PTQ
 *     fl_fx_save("q.safetensors", &q, NULL, 0);
 *     fl_fx_predict(&q, x, n, T, y);          // float in, float out, integer inside
 *     fl_fx_model_free(&q);
 *
 * Integer level: fl_fx_quantize_input turns samples into x_q (docs §4.1);
 * fl_fx_forward_ref runs one pixel exactly as the spec reads (and can record
 * every state, gate and output for test vectors); fl_fx_forward runs many
 * pixels through SIMD kernels (AVX-512 VNNI, AVX2 or generic C, chosen at run
 * time) on OpenMP threads, and agrees with the reference bit for bit for every
 * kernel and thread count. The step functions (encoder step, decoder step,
 * bridge, dense head) exist in both forms so tests and the SystemC model can
 * drive one stage at a time.
 *
 * Integers are int32_t everywhere in memory, whatever their declared width; a
 * model that fl_fx_quantize or fl_fx_load returns holds only values that fit
 * their widths. Limits: the network limits of seq2seq.h; formats of docs §2.
 */
#ifndef FLIGRU_FXMODEL_H
#define FLIGRU_FXMODEL_H

#include <stddef.h>
#include <stdint.h>
#include "fligru/fixed.h"
#include "fligru/safetensors.h"
#include "fligru/seq2seq.h"
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_FX_FORMAT  "fligru-fx-seq2seq"
#define FL_FX_VERSION 1

/* ---- the format (docs §2) ------------------------------------------------- */

typedef enum {
    FL_FX_SCALE_ROW    = 0,   /* per output row: s_j = max_k |w_jk| / q_max       */
    FL_FX_SCALE_TENSOR = 1,   /* one scale per tensor                              */
    FL_FX_SCALE_FIXED  = 2    /* s = 2^-weight_frac: plain Q(b, F_w) weights      */
} fl_fx_scale;

typedef enum { FL_FX_ACT_TABLE = 0, FL_FX_ACT_HARD = 1 } fl_fx_act_kind;

typedef struct {
    fl_fx_act_kind kind;
    int size_log2;            /* table of 2^size_log2 entries (1..16)             */
    int range_log2;           /* over inputs [-2^range_log2, 2^range_log2) (-8..16) */
} fl_fx_act;

typedef struct {
    char        name[64];     /* free text from the config                        */
    fl_fx_round round;
    fl_fx_q     input, bias, gate, act, state, output;
    int         weight_bits;  /* b: 2..16                                         */
    fl_fx_scale weight_scale;
    int         weight_pow2;  /* scales rounded up to powers of two               */
    int         weight_frac;  /* FL_FX_SCALE_FIXED only                           */
    int         acc_bits;     /* W_acc: 2..32                                     */
    int         acc_frac;     /* F_acc (meaningless while acc_auto)               */
    int         acc_auto;     /* 1: fl_fx_quantize picks F_acc (docs §2.2)        */
    int         overflow_error; /* 1: a possible accumulator overflow is an error */
    int         mult_bits;    /* m_b: 2..31                                       */
    fl_fx_act   sigmoid, tanh;
} fl_fx_format;

/* configs/fx-default.yaml's values. */
void fl_fx_format_default(fl_fx_format *f);
/* Every rule of docs §1-2.4 (acc_frac only when !acc_auto). The message names
 * the field in config terms, prefixed by `where` ("fx.yaml: ", ...). */
fl_status fl_fx_format_check(const fl_fx_format *f, const char *where);
/* Reads a YAML config (strict keys; errors "file:line: key: ..."); keys not
 * given keep fl_fx_format_default's values. */
fl_status fl_fx_format_load(const char *path, fl_fx_format *f);
fl_status fl_fx_format_parse(const char *text, size_t len, const char *name, fl_fx_format *f);
/* One line: "in Q(16,14) w8 per_row bias Q(16,12) acc Q(32,21) ...". */
void fl_fx_format_str(const fl_fx_format *f, char *buf, size_t n);

/* Nominal weight fraction F_w (b-1, or weight_frac for fixed) and the product
 * shift D = F_w + operand_frac - F_acc (docs §2.2). */
int fl_fx_weight_frac(const fl_fx_format *f);
int fl_fx_product_shift(const fl_fx_format *f, int operand_frac);

/* ---- the quantised model (docs §3, §5.1) ----------------------------------- */

typedef struct {
    int      rows, cols;
    int32_t *q;               /* [rows][cols], |q| <= 2^(b-1) - 1                */
    int32_t *mult;            /* [rows] M_j, 0 <= M_j < 2^mult_bits              */
    int32_t *shift;           /* [rows] S_j, -31..62                             */
} fl_fx_matrix;

typedef struct {
    int          input, hidden;
    fl_fx_matrix wx;          /* [3H, input]; rows = 0 for the decoder's layer 0  */
    fl_fx_matrix wh;          /* [3H, H]                                          */
    int32_t     *bx;          /* [3H] bias_ih, Q(W_b, F_b)                        */
    int32_t     *bh;          /* [3H] bias_hh, reset-after only (else NULL)       */
} fl_fx_layer;

typedef struct {
    fl_s2s_config cfg;
    fl_fx_format  fmt;                      /* resolved: acc_auto == 0            */
    fl_fx_layer   enc[FL_S2S_MAX_LAYERS];
    fl_fx_layer   dec[FL_S2S_MAX_LAYERS];
    fl_fx_matrix  bridge_w[FL_S2S_MAX_LAYERS];   /* rows = 0 when E == D         */
    int32_t      *bridge_b[FL_S2S_MAX_LAYERS];
    fl_fx_matrix  dense_w;                  /* [C, D]                              */
    int32_t      *dense_b;                  /* [C]                                 */
    int32_t      *sigmoid_table;            /* [2^size_log2], NULL for hard        */
    int32_t      *tanh_table;
    int32_t      *mem_;                     /* one allocation behind every array   */
} fl_fx_model;

/* What PTQ found (printed by `fligru quantize`). */
typedef struct {
    int    acc_frac;             /* F_acc in use                                   */
    int    acc_bits_needed;      /* bits the worst accumulator row can reach       */
    char   worst_tensor[64];     /* where that row is                              */
    int    worst_row;
    int    overflow_rows;        /* rows that can overflow W_acc (0: safe)         */
    size_t weights_clipped;      /* fixed-scale weights beyond the range           */
    size_t biases_saturated;
    double weight_err_max;       /* max |q s - w| over every weight                */
} fl_fx_report;

/* Allocates the arrays for cfg and fmt, all zero (fl_fx_model_free it). */
fl_status fl_fx_model_init(fl_fx_model *q, const fl_s2s_config *cfg, const fl_fx_format *fmt);
void      fl_fx_model_free(fl_fx_model *q);

/* PTQ of a float model (docs §2.1, §3): weights, biases, multipliers, tables, the
 * accumulator fraction when auto, the overflow check (FL_E_INPUT when it finds
 * a possible overflow and fmt->overflow_error). rep may be NULL. */
fl_status fl_fx_quantize(const fl_s2s *m, const fl_fx_format *fmt, fl_fx_model *q, fl_fx_report *rep);

/* Files: safetensors, "format" = FL_FX_FORMAT (docs §5.1). meta: provenance
 * (NULL when nmeta is 0). Loading checks every tensor and value against the
 * format in the metadata; rest (may be NULL) receives the file's metadata. */
fl_status fl_fx_save(const char *path, const fl_fx_model *q, const fl_meta_kv *meta, size_t nmeta);
fl_status fl_fx_load(const char *path, fl_fx_model *q);
fl_status fl_fx_from_st(const fl_st_file *f, const char *path, fl_fx_model *q);

/* FNV-1a 64 of a file's bytes (provenance of vectors and quantised models). */
fl_status fl_fx_file_hash(const char *path, uint64_t *hash);

/* ---- the datapath ------------------------------------------------------------ */

/* x_q = sat(round(x 2^F_x)) for count samples (docs §4.1). */
void fl_fx_quantize_input(const fl_fx_model *q, const float *x, size_t count, int32_t *xq);

/* Gate trace of one step, semantic order r, z, n (not storage order): pre
 * [3][H] pre-activations (Q(W_g, F_g)), act [3][H] activations (Q(W_a, F_a)).
 * Either pointer may be NULL. */
typedef struct {
    int32_t *pre;
    int32_t *act;
} fl_fx_gates;

/* Reference steps for one pixel (scalar, straight from docs §4). v: the input
 * part's operand (x_q [input] for encoder layer 0, the lower layer's new state
 * otherwise; ignored, may be NULL, for decoder layer 0); h [H] is updated in
 * place. g may be NULL. FL_E_NOMEM only (scratch). */
fl_status fl_fx_enc_step_ref(const fl_fx_model *q, int layer, const int32_t *v, int32_t *h,
                             fl_fx_gates *g);
fl_status fl_fx_dec_step_ref(const fl_fx_model *q, int layer, const int32_t *v, int32_t *h,
                             fl_fx_gates *g);
/* Decoder initial state of a layer from the encoder's final state (docs §4.6):
 * the bridge when E != D, a copy otherwise. */
void fl_fx_bridge_ref(const fl_fx_model *q, int layer, const int32_t *he, int32_t *hd);
/* Dense head: y [C] from the top decoder state h [D]. */
void fl_fx_dense_ref(const fl_fx_model *q, const int32_t *h, int32_t *y);

/* Everything one pixel's forward computes, for test vectors (any may be NULL):
 * enc_h[l] [T][E], dec_init[l] [D], dec_h[l] [T][D], enc_pre/enc_act[l]
 * [T][3][E], dec_pre/dec_act[l] [T][3][D]. */
typedef struct {
    int32_t *enc_h[FL_S2S_MAX_LAYERS], *dec_init[FL_S2S_MAX_LAYERS], *dec_h[FL_S2S_MAX_LAYERS];
    int32_t *enc_pre[FL_S2S_MAX_LAYERS], *enc_act[FL_S2S_MAX_LAYERS];
    int32_t *dec_pre[FL_S2S_MAX_LAYERS], *dec_act[FL_S2S_MAX_LAYERS];
} fl_fx_trace;

/* One pixel: xq [T][input] -> yq [T][C]. tr may be NULL. FL_E_NOMEM only. */
fl_status fl_fx_forward_ref(const fl_fx_model *q, const int32_t *xq, int T, int32_t *yq,
                            const fl_fx_trace *tr);

/* Batched twins, n pixels in C order ([n][...]); bit-identical to the
 * reference for every kernel and thread count. Inputs must fit their declared
 * widths (x_q in W_x bits, states in W_h bits), as everything the datapath
 * itself produces does. */
fl_status fl_fx_enc_step(const fl_fx_model *q, int layer, size_t n, const int32_t *v, int32_t *h);
fl_status fl_fx_dec_step(const fl_fx_model *q, int layer, size_t n, const int32_t *v, int32_t *h);
fl_status fl_fx_dense(const fl_fx_model *q, size_t n, const int32_t *h, int32_t *y);
/* xq [n][T][input] -> yq [n][T][C]. */
fl_status fl_fx_forward(const fl_fx_model *q, const int32_t *xq, size_t n, int T, int32_t *yq);

/* Float in, float out: quantise x [n][T][input], fl_fx_forward, y = y_q 2^-F_o. */
fl_status fl_fx_predict(const fl_fx_model *q, const float *x, size_t n, int T, float *y);

/* ---- kernels ------------------------------------------------------------------ */

typedef enum {
    FL_FX_KERNEL_AUTO = 0,    /* the best this CPU runs                           */
    FL_FX_KERNEL_GENERIC,     /* portable C                                       */
    FL_FX_KERNEL_AVX2,
    FL_FX_KERNEL_AVX512       /* AVX-512 F/BW/VL + VNNI                           */
} fl_fx_kernel;

/* Selects the kernel for later calls (process-wide; not while a call runs).
 * FL_E_INPUT when the CPU lacks it. */
fl_status    fl_fx_set_kernel(fl_fx_kernel k);
fl_fx_kernel fl_fx_get_kernel(void);        /* resolved: never AUTO */
const char  *fl_fx_kernel_name(fl_fx_kernel k);
int          fl_fx_kernel_supported(fl_fx_kernel k);

/* ---- test vectors (docs §5.2) ------------------------------------------------ */

typedef struct {
    const char *dir;          /* created; files written atomically                */
    const char *model_path;   /* for provenance (hashed)                          */
    const char *input_path;
    const char *command;      /* the command line, for provenance (may be NULL)   */
    uint64_t    seed;         /* pixel selection seed (provenance)                */
    int         gates;        /* also dump pre-activations and activations        */
} fl_fx_vectors_opts;

/* Runs the reference over n pixels of xq [n][T][input] and writes DIR. */
fl_status fl_fx_vectors(const fl_fx_model *q, const fl_fx_vectors_opts *o, const int32_t *xq,
                        size_t n, int T);

#ifdef __cplusplus
}
#endif
#endif
