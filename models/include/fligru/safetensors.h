/* fligru/safetensors.h - named tensors in the safetensors format, read and written in C.
 *
 * The checkpoint format shared with PyTorch (the `safetensors` package, and
 * bench/speed/peer_torch.py's twenty-line reader). A file is
 *
 *     u64 little-endian N | N bytes of JSON header, space-padded | data buffer
 *
 * and the header maps each tensor name to {"dtype", "shape", "data_offsets":
 * [begin, end]} (byte offsets into the data buffer), plus an optional
 * "__metadata__" object of string -> string. fligru writes the header padded to a
 * multiple of 8 and the tensors back to back, in the order given.
 *
 *     float w[6] = {...};
 *     fl_st_tensor t = {.name = "w", .dtype = FL_ST_F32, .ndim = 2, .shape = {2, 3}, .data = w};
 *     fl_meta_kv kv = {"seed", "42"};
 *     if (fl_st_save("m.safetensors", &t, 1, &kv, 1) != FL_OK) die(fl_error());
 *
 *     fl_st_file f;
 *     if (fl_st_load("m.safetensors", &f) != FL_OK) die(fl_error());
 *     const fl_st_tensor *w2 = fl_st_find(&f, "w");       // NULL when absent
 *     const char *seed = fl_st_meta(&f, "seed");          // NULL when absent
 *     fl_st_free(&f);
 *
 * The reader trusts nothing: header length against the file size, JSON syntax,
 * dtype names, shapes, offsets inside the buffer, byte counts equal to
 * prod(shape) x dtype size, tensors contiguous (no overlap, no gap, no trailing
 * bytes, as the reference Rust implementation requires), duplicate names,
 * metadata values that are not strings. Each failure is FL_E_INPUT with one line
 * naming the file and, where there is one, the tensor:
 *
 *     m.safetensors: tensor w: data_offsets [0,28] hold 28 bytes, F32 [2,3] needs 24
 *
 * Limits: little-endian hosts only (as the format); at most FL_ST_MAXDIM
 * dimensions; the header at most 100 MB (the reference limit). The whole file is
 * read into memory: fine for GRU models (a teacher is 1.2 MB).
 */
#ifndef FLIGRU_SAFETENSORS_H
#define FLIGRU_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_ST_MAXDIM 8

/* Every dtype of the format. fligru computes with F32 and the integer types;
 * the others (F16, BF16, BOOL, F8_*) are carried as bytes. */
typedef enum {
    FL_ST_F64, FL_ST_F32, FL_ST_F16, FL_ST_BF16,
    FL_ST_I64, FL_ST_I32, FL_ST_I16, FL_ST_I8,
    FL_ST_U64, FL_ST_U32, FL_ST_U16, FL_ST_U8,
    FL_ST_BOOL, FL_ST_F8_E4M3, FL_ST_F8_E5M2
} fl_st_dtype;

typedef struct {
    const char  *name;
    fl_st_dtype  dtype;
    int          ndim;                  /* 0 .. FL_ST_MAXDIM (0: a scalar)      */
    size_t       shape[FL_ST_MAXDIM];
    const void  *data;                  /* prod(shape) elements, C order, little-endian;
                                           from fl_st_load: aligned to 64 bytes */
} fl_st_tensor;

/* One "__metadata__" entry. */
typedef struct {
    const char *key;
    const char *value;
} fl_meta_kv;

/* A loaded file; everything is owned by it and freed by fl_st_free. */
typedef struct {
    size_t        n_tensors;
    fl_st_tensor *tensors;              /* in data-offset order (= order written) */
    size_t        n_meta;
    fl_meta_kv   *meta;                 /* in header order                        */
    void         *priv_;
} fl_st_file;

size_t      fl_st_dtype_size(fl_st_dtype t);
const char *fl_st_dtype_name(fl_st_dtype t);        /* "F32", "I8", ...          */
/* Returns 0 and sets *t for a known name, else -1. */
int         fl_st_dtype_parse(const char *name, fl_st_dtype *t);

size_t fl_st_count(const fl_st_tensor *t);           /* prod(shape); 1 for a scalar */
size_t fl_st_nbytes(const fl_st_tensor *t);
/* "[2,3]" into buf (always NUL-terminated). */
void   fl_st_shape_str(const fl_st_tensor *t, char *buf, size_t n);

/* Writes atomically (temporary name, then rename). Names must be non-empty,
 * unique and not "__metadata__"; metadata keys unique. meta may be NULL when
 * nmeta is 0. Invalid arguments fail with FL_E_INPUT naming the tensor/key. */
fl_status fl_st_save(const char *path, const fl_st_tensor *t, size_t n,
                     const fl_meta_kv *meta, size_t nmeta);

/* Reads and validates a whole file. On failure *f is zeroed (nothing to free). */
fl_status fl_st_load(const char *path, fl_st_file *f);
void      fl_st_free(fl_st_file *f);

const fl_st_tensor *fl_st_find(const fl_st_file *f, const char *name);
const char         *fl_st_meta(const fl_st_file *f, const char *key);

#ifdef __cplusplus
}
#endif
#endif
