/* npy.c - NumPy .npy reader/writer (format versions 1.0, 2.0, 3.0). */
#include "fligru/npy.h"
#include "fligru/io.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
    fl_dtype t;
    const char *descr; /* little-endian / byte-order-free form numpy writes */
    const char *name;
    size_t size;
} dtypes[] = {
    {FL_F32, "<f4", "float32", 4}, {FL_F64, "<f8", "float64", 8},
    {FL_I8,  "|i1", "int8",    1}, {FL_U8,  "|u1", "uint8",   1},
    {FL_I16, "<i2", "int16",   2}, {FL_U16, "<u2", "uint16",  2},
    {FL_I32, "<i4", "int32",   4}, {FL_U32, "<u4", "uint32",  4},
    {FL_I64, "<i8", "int64",   8}, {FL_U64, "<u8", "uint64",  8},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

size_t fl_dtype_size(fl_dtype t) { return dtypes[t].size; }
const char *fl_dtype_name(fl_dtype t) { return dtypes[t].name; }
const char *fl_dtype_descr(fl_dtype t) { return dtypes[t].descr; }

fl_status fl_npy_alloc(fl_npy *a, fl_dtype t, int ndim, const size_t *shape)
{
    memset(a, 0, sizeof *a);
    if (ndim < 0 || ndim > FL_NPY_MAXDIM)
        return fl_fail(FL_E_INTERNAL, "npy: %d dimensions (max %d)", ndim, FL_NPY_MAXDIM);
    a->dtype = t;
    a->ndim = ndim;
    a->count = 1;
    for (int i = 0; i < ndim; ++i) {
        a->shape[i] = shape[i];
        a->count *= shape[i];
    }
    /* calloc(0) may return NULL: always ask for at least one byte. */
    a->data = calloc(a->count ? a->count : 1, dtypes[t].size);
    if (!a->data) return fl_fail(FL_E_NOMEM, "npy: cannot allocate %zu elements", a->count);
    return FL_OK;
}

void fl_npy_free(fl_npy *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}

void fl_npy_shape_str(const fl_npy *a, char *buf, size_t n)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n > k ? n - k : 0, "[");
    for (int i = 0; i < a->ndim; ++i)
        k += (size_t)snprintf(buf + k, n > k ? n - k : 0, "%s%zu", i ? "," : "", a->shape[i]);
    snprintf(buf + k, n > k ? n - k : 0, "]");
}

/* ---- header parsing: a Python dict literal written by numpy ------------- */

/* Finds 'key' (quoted) in the header and returns the text after its colon. */
static const char *dict_value(const char *h, const char *key)
{
    char pat[32];
    for (const char *q = "'\""; *q; ++q) {
        snprintf(pat, sizeof pat, "%c%s%c", *q, key, *q);
        const char *p = strstr(h, pat);
        if (!p) continue;
        p += strlen(pat);
        while (isspace((unsigned char)*p)) ++p;
        if (*p != ':') return NULL;
        ++p;
        while (isspace((unsigned char)*p)) ++p;
        return p;
    }
    return NULL;
}

static fl_status parse_descr(const char *path, const char *v, fl_dtype *t)
{
    char d[16];
    if (!v || (*v != '\'' && *v != '"'))
        return fl_fail(FL_E_INPUT, "%s: header: missing or malformed 'descr'", path);
    char q = *v++;
    size_t n = 0;
    while (*v && *v != q && n < sizeof d - 1) d[n++] = *v++;
    d[n] = '\0';
    if (*v != q) return fl_fail(FL_E_INPUT, "%s: header: malformed 'descr'", path);
    if (n == 3 && d[0] == '>' && d[2] != '1')
        return fl_fail(FL_E_INPUT, "%s: descr '%s': big-endian data is not supported "
                                   "(convert with arr.astype(arr.dtype.newbyteorder('<')))", path, d);
    for (size_t i = 0; i < N_DTYPES; ++i) {
        const char *ref = dtypes[i].descr;
        /* '=' (native = little here), '<' and '|' mean the same on x86/arm64 */
        if (n == 3 && strchr("<=|>", d[0]) && d[1] == ref[1] && d[2] == ref[2]) {
            *t = dtypes[i].t;
            return FL_OK;
        }
    }
    return fl_fail(FL_E_INPUT, "%s: descr '%s': unsupported dtype (float32, float64, "
                               "int8..int64, uint8..uint64 are)", path, d);
}

static fl_status parse_shape(const char *path, const char *v, fl_npy *a)
{
    if (!v || *v != '(') return fl_fail(FL_E_INPUT, "%s: header: missing or malformed 'shape'", path);
    ++v;
    a->ndim = 0;
    a->count = 1;
    for (;;) {
        while (isspace((unsigned char)*v) || *v == ',') ++v;
        if (*v == ')') break;
        if (!isdigit((unsigned char)*v))
            return fl_fail(FL_E_INPUT, "%s: header: malformed 'shape'", path);
        if (a->ndim == FL_NPY_MAXDIM)
            return fl_fail(FL_E_INPUT, "%s: shape: more than %d dimensions", path, FL_NPY_MAXDIM);
        errno = 0;
        char *end;
        unsigned long long d = strtoull(v, &end, 10);
        if (errno || d > (1ull << 40))
            return fl_fail(FL_E_INPUT, "%s: shape: dimension too large", path);
        a->shape[a->ndim++] = (size_t)d;
        if (d && a->count > (1ull << 40) / d)
            return fl_fail(FL_E_INPUT, "%s: shape: array too large", path);
        a->count *= (size_t)d;
        v = end;
    }
    return FL_OK;
}

static fl_status parse_header(const char *path, const char *h, fl_npy *a)
{
    fl_status st = parse_descr(path, dict_value(h, "descr"), &a->dtype);
    if (st) return st;
    const char *fo = dict_value(h, "fortran_order");
    if (!fo) return fl_fail(FL_E_INPUT, "%s: header: missing 'fortran_order'", path);
    if (!strncmp(fo, "True", 4))
        return fl_fail(FL_E_INPUT, "%s: fortran_order: Fortran-ordered arrays are not supported "
                                   "(save np.ascontiguousarray(arr))", path);
    if (strncmp(fo, "False", 5))
        return fl_fail(FL_E_INPUT, "%s: header: malformed 'fortran_order'", path);
    return parse_shape(path, dict_value(h, "shape"), a);
}

/* ---- reading ----------------------------------------------------------- */

static fl_status read_header(FILE *f, const char *path, fl_npy *a)
{
    unsigned char pre[10];
    size_t got = fread(pre, 1, 8, f);
    if (got < 8 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return fl_fail(FL_E_INPUT, "%s: not a .npy file (bad magic)", path);
    int major = pre[6];
    size_t hlen;
    if (major == 1) {
        if (fread(pre + 8, 1, 2, f) != 2) return fl_fail(FL_E_INPUT, "%s: truncated header", path);
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        unsigned char l[4];
        if (fread(l, 1, 4, f) != 4) return fl_fail(FL_E_INPUT, "%s: truncated header", path);
        hlen = (size_t)l[0] | (size_t)l[1] << 8 | (size_t)l[2] << 16 | (size_t)l[3] << 24;
        if (hlen > (1u << 24)) return fl_fail(FL_E_INPUT, "%s: header length %zu is implausible", path, hlen);
    } else {
        return fl_fail(FL_E_INPUT, "%s: unsupported .npy format version %d.%d", path, major, pre[7]);
    }
    char *h = malloc(hlen + 1);
    if (!h) return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    if (fread(h, 1, hlen, f) != hlen) {
        free(h);
        return fl_fail(FL_E_INPUT, "%s: truncated header", path);
    }
    h[hlen] = '\0';
    fl_status st = parse_header(path, h, a);
    free(h);
    return st;
}

/* Bytes left in f after the header, or SIZE_MAX when f is not a regular file. */
static size_t bytes_left(FILE *f)
{
    struct stat sb;
    long pos = ftell(f);
    if (pos < 0 || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) return SIZE_MAX;
    return sb.st_size > pos ? (size_t)(sb.st_size - pos) : 0;
}

/* The declared shape is compared with the file's size before anything is
 * allocated: a 100-byte file declaring 2^40 elements is refused as truncated. */
static fl_status read_data(FILE *f, const char *path, const fl_npy *hdr, fl_npy *a)
{
    size_t want = hdr->count * fl_dtype_size(hdr->dtype), left = bytes_left(f);
    if (left != SIZE_MAX && left < want)
        return fl_fail(FL_E_INPUT, "%s: truncated: shape needs %zu data bytes, file has %zu", path, want, left);
    if (fl_npy_alloc(a, hdr->dtype, hdr->ndim, hdr->shape))
        return fl_fail(FL_E_NOMEM, "%s: cannot allocate %zu bytes for its data", path, want);
    size_t got = fread(a->data, 1, want, f);
    if (got == want) return FL_OK;
    fl_npy_free(a);
    return fl_fail(FL_E_INPUT, "%s: truncated: shape needs %zu data bytes, file has %zu", path, want, got);
}

fl_status fl_npy_load(const char *path, fl_npy *a)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f) return fl_fail(FL_E_IO, "%s: cannot open: %s", path, strerror(errno));
    fl_npy hdr;
    memset(&hdr, 0, sizeof hdr);
    fl_status st = read_header(f, path, &hdr);
    if (st == FL_OK) st = read_data(f, path, &hdr, a);
    fclose(f);
    return st;
}

static double elem_as_f64(const void *d, fl_dtype t, size_t i)
{
    switch (t) {
    case FL_F32: return ((const float *)d)[i];
    case FL_F64: return ((const double *)d)[i];
    case FL_I8:  return ((const int8_t *)d)[i];
    case FL_U8:  return ((const uint8_t *)d)[i];
    case FL_I16: return ((const int16_t *)d)[i];
    case FL_U16: return ((const uint16_t *)d)[i];
    case FL_I32: return ((const int32_t *)d)[i];
    case FL_U32: return ((const uint32_t *)d)[i];
    case FL_I64: return (double)((const int64_t *)d)[i];
    case FL_U64: return (double)((const uint64_t *)d)[i];
    }
    return 0.0;
}

/* Replaces a by its float32 conversion (a is freed on failure too). */
static fl_status to_f32(fl_npy *a)
{
    if (a->dtype == FL_F32) return FL_OK;
    fl_npy out;
    fl_status st = fl_npy_alloc(&out, FL_F32, a->ndim, a->shape);
    if (st) {
        fl_npy_free(a);
        return st;
    }
    float *o = fl_npy_f32(&out);
    for (size_t i = 0; i < a->count; ++i) o[i] = (float)elem_as_f64(a->data, a->dtype, i);
    fl_npy_free(a);
    *a = out;
    return FL_OK;
}

fl_status fl_npy_load_f32(const char *path, fl_npy *a)
{
    fl_status st = fl_npy_load(path, a);
    return st ? st : to_f32(a);
}

fl_status fl_npy_load_data(const char *path, const char *what, fl_npy *a)
{
    fl_status st = fl_npy_load(path, a);
    if (st) return st;
    char s[160];
    fl_npy_shape_str(a, s, sizeof s);
    if (a->dtype != FL_F32 && a->dtype != FL_F64)
        st = fl_fail(FL_E_INPUT, "%s: dtype %s, expected float32 or float64", path, fl_dtype_name(a->dtype));
    else if (a->count == 0)
        st = fl_fail(FL_E_INPUT, "%s: shape %s is empty", path, s);
    if (st) {
        fl_npy_free(a);
        return st;
    }
    /* After the conversion: a float64 beyond float's range is caught as Inf. */
    if ((st = to_f32(a))) return st;
    if ((st = fl_npy_check_finite(a, path, what))) fl_npy_free(a);
    return st;
}

/* ---- writing ----------------------------------------------------------- */

fl_status fl_npy_write(void *stream, const char *path, const fl_npy *a)
{
    FILE *f = stream;
    char dict[512];
    size_t k = (size_t)snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                                fl_dtype_descr(a->dtype));
    for (int i = 0; i < a->ndim; ++i)
        k += (size_t)snprintf(dict + k, sizeof dict - k, "%zu,%s", a->shape[i],
                              (i + 1 < a->ndim) ? " " : "");
    /* numpy writes (3,) for 1-d and (3, 4) otherwise: drop the trailing comma. */
    if (a->ndim > 1) --k;
    k += (size_t)snprintf(dict + k, sizeof dict - k, "), }");
    /* Pad with spaces so magic + length + header is a multiple of 64, '\n' last. */
    int v2 = k + 1 + 10 > 65535;
    size_t pre = v2 ? 12 : 10;
    size_t total = (pre + k + 1 + 63) / 64 * 64;
    size_t hlen = total - pre;
    unsigned char head[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', v2 ? 2 : 1, 0};
    for (int i = 0; i < (v2 ? 4 : 2); ++i) head[8 + i] = (unsigned char)(hlen >> (8 * i));
    fwrite(head, 1, pre, f);
    fwrite(dict, 1, k, f);
    for (size_t i = k; i + 1 < hlen; ++i) fputc(' ', f);
    fputc('\n', f);
    size_t bytes = a->count * fl_dtype_size(a->dtype);
    if (fwrite(a->data, 1, bytes, f) != bytes || ferror(f))
        return fl_fail(FL_E_IO, "%s: write failed", path);
    return FL_OK;
}

fl_status fl_npy_save(const char *path, const fl_npy *a)
{
    fl_atomic f;
    fl_status st = fl_atomic_open(&f, path);
    if (st) return st;
    st = fl_npy_write(f.fp, path, a);
    if (st) {
        fl_atomic_abort(&f);
        return st;
    }
    return fl_atomic_commit(&f);
}

/* ---- validation -------------------------------------------------------- */

static void index_str(const fl_npy *a, size_t flat, char *buf, size_t n)
{
    size_t idx[FL_NPY_MAXDIM];
    for (int d = a->ndim - 1; d >= 0; --d) {
        idx[d] = a->shape[d] ? flat % a->shape[d] : 0;
        flat = a->shape[d] ? flat / a->shape[d] : 0;
    }
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < a->ndim; ++d)
        k += (size_t)snprintf(buf + k, n > k ? n - k : 0, "%s%zu", d ? "," : "", idx[d]);
    snprintf(buf + k, n > k ? n - k : 0, "]");
}

fl_status fl_npy_check_finite(const fl_npy *a, const char *path, const char *what)
{
    if (a->dtype != FL_F32 && a->dtype != FL_F64) return FL_OK;
    for (size_t i = 0; i < a->count; ++i) {
        double v = elem_as_f64(a->data, a->dtype, i);
        if (isfinite(v)) continue;
        char idx[160];
        index_str(a, i, idx, sizeof idx);
        return fl_fail(FL_E_INPUT, "%s: %s is %s at %s", path, what ? what : "value",
                       isnan(v) ? "NaN" : "Inf", idx);
    }
    return FL_OK;
}
