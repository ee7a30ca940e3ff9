/* fligru/vectors.h - the one reader and writer of test-vector directories
 * (`fligru vectors`, docs/fixed-point.md §5.2): manifest.csv, fx_params.h and
 * the $readmemh hex files. fx_vectors.c writes through it; the Verilator bench,
 * the co-simulation and the SystemC model-only runner read through it.
 *
 *     fl_vec_set vs;
 *     if (fl_vec_open("vec", &vs)) die(fl_error());
 *     uint64_t *x; size_t n;
 *     if (fl_vec_read(&vs, "input.hex", &x, &n)) die(fl_error());   // [pixels][T][1]
 *
 * Reading is strict, because a corrupted golden file of the right length must
 * not pass a bench: each hex line is 1..ceil(bits/4) hex digits whose value
 * fits the manifest's bits, nothing else (no sign, comment, blank line or
 * trailing text); the word count equals the manifest's shape. Every error names
 * the file and line ("vec/output.hex:778: 'zz' is not a hex word"). */
#ifndef FLIGRU_VECTORS_H
#define FLIGRU_VECTORS_H

#include "fligru/status.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_VEC_MAX_DIMS 4

/* One row of manifest.csv: file,shape,bits,frac,signed,description. */
typedef struct {
    char file[64];                 /* a plain file name inside the directory */
    int  ndims;                    /* 0 for shape "-" (not a hex file)       */
    long dims[FL_VEC_MAX_DIMS];
    int  bits, frac, is_signed;    /* word format of a hex file              */
} fl_vec_entry;

/* One `#define FL_FX_<NAME> <value>` of fx_params.h, without the prefix. */
typedef struct {
    char name[48];
    long value;
} fl_vec_param;

typedef struct {
    char         *dir;
    fl_vec_entry *files;
    size_t        nfiles;
    fl_vec_param *params;
    size_t        nparams;
} fl_vec_set;

/* Reads DIR/manifest.csv and DIR/fx_params.h. fl_vec_close frees (also after
 * a failed open, and twice). */
fl_status fl_vec_open(const char *dir, fl_vec_set *vs);
void      fl_vec_close(fl_vec_set *vs);

/* The manifest's row for FILE, NULL when it has none. */
const fl_vec_entry *fl_vec_find(const fl_vec_set *vs, const char *file);
/* Words of a hex file: the product of its shape. */
size_t fl_vec_words(const fl_vec_entry *e);
/* fx_params.h's FL_FX_<name>; 0 found, -1 not. */
int fl_vec_param_get(const fl_vec_set *vs, const char *name, long *value);

/* A hex file the manifest lists, all its words (masked to bits; sign-extend
 * signed ones with fl_fx_wrap). *words is malloc'd; free() it. */
fl_status fl_vec_read(const fl_vec_set *vs, const char *file, uint64_t **words, size_t *n);
/* Any hex file: exactly `expect` words of `bits` bits (1..64). */
fl_status fl_vec_read_hex(const char *path, int bits, size_t expect, uint64_t **words, size_t *n);

/* ---- writing (fx_vectors.c) ---------------------------------------------------- */
void fl_vec_manifest_header(FILE *fp);
/* One manifest row; commas in `what` become ';' so it stays one CSV field. */
void fl_vec_manifest_row(FILE *fp, const char *file, const char *shape, int bits, int frac, int is_signed,
                         const char *what);
/* One word per line, two's complement truncated to bits, ceil(bits/4) digits. */
void fl_vec_write_hex(FILE *fp, const int32_t *v, size_t n, int bits);

#ifdef __cplusplus
}
#endif
#endif
