/* fligru/npy.h - NumPy .npy arrays, read and written in C.
 *
 * fligru's interchange format with PyTorch and NumPy (no C library for it
 * exists in Debian). Versions 1.0, 2.0 and 3.0 are read; 1.0 is written
 * (2.0 when the header needs it). Little-endian, C order only.
 *
 *     fl_npy a;
 *     if (fl_npy_load("tpsf.npy", &a) != FL_OK) die(fl_error());
 *     printf("%s %zux%zu\n", fl_dtype_name(a.dtype), a.shape[0], a.shape[1]);
 *     float *x = fl_npy_f32(&a);     // valid only when a.dtype == FL_F32
 *     fl_npy_free(&a);
 *
 * Limits: at most FL_NPY_MAXDIM dimensions; big-endian data, Fortran order,
 * object/structured/complex dtypes are rejected with a one-line message.
 */
#ifndef FLIGRU_NPY_H
#define FLIGRU_NPY_H

#include <stddef.h>
#include <stdint.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_NPY_MAXDIM 8

typedef enum {
    FL_F32, FL_F64, FL_I8, FL_U8, FL_I16, FL_U16, FL_I32, FL_U32, FL_I64, FL_U64
} fl_dtype;

typedef struct {
    fl_dtype dtype;
    int      ndim;
    size_t   shape[FL_NPY_MAXDIM];
    size_t   count;            /* product of shape (1 for a 0-d array)       */
    void    *data;             /* count elements, C order, native endianness */
} fl_npy;

size_t      fl_dtype_size(fl_dtype t);
const char *fl_dtype_name(fl_dtype t);       /* "float32", "int16", ...       */
const char *fl_dtype_descr(fl_dtype t);      /* numpy descr: "<f4", "|u1", ... */

/* Allocates a zeroed array. */
fl_status fl_npy_alloc(fl_npy *a, fl_dtype t, int ndim, const size_t *shape);
void      fl_npy_free(fl_npy *a);

/* Reads a whole file. Errors name the file and what is wrong with it. */
fl_status fl_npy_load(const char *path, fl_npy *a);
/* Reads and converts to float32 (any numeric dtype; float64 is rounded). */
fl_status fl_npy_load_f32(const char *path, fl_npy *a);

/* The one rule for an array that a network reads (predict, vectors): float32 or
 * float64 (TPSFs are normalised, never raw counts), at least one element, every
 * value finite. Returned as float32 (float64 rounded; a value beyond float's
 * range becomes Inf and is refused). Errors name the file and `what`. */
fl_status fl_npy_load_data(const char *path, const char *what, fl_npy *a);

/* Writes atomically (temporary name, then rename). */
fl_status fl_npy_save(const char *path, const fl_npy *a);
/* Writes the header and data to an already-open stream (for staged outputs). */
fl_status fl_npy_write(void *FILE_stream, const char *path_for_errors, const fl_npy *a);

/* Fails with "<path>: <what> is NaN at [i,j,k]" on the first NaN or Inf
 * (float dtypes only; integer arrays always pass). */
fl_status fl_npy_check_finite(const fl_npy *a, const char *path, const char *what);

/* "[100,135,3]" into buf (always NUL-terminated). */
void fl_npy_shape_str(const fl_npy *a, char *buf, size_t n);

static inline float  *fl_npy_f32(const fl_npy *a) { return (float *)a->data; }
static inline double *fl_npy_f64(const fl_npy *a) { return (double *)a->data; }

#ifdef __cplusplus
}
#endif
#endif
