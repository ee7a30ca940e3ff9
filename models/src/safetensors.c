/* safetensors.c - safetensors reader/writer (header JSON through cJSON). */
#include "fligru/safetensors.h"
#include "fligru/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian: fligru supports little-endian hosts only"
#endif

/* The reference implementation refuses larger headers (a 100 MB JSON header
 * means a corrupt or hostile file, not a model). */
#define MAX_HEADER ((uint64_t)100 * 1000 * 1000)
/* Largest integer a JSON number (a double in cJSON) carries exactly. */
#define MAX_JSON_INT 9007199254740992.0
#define DATA_ALIGN 64

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [FL_ST_F64] = {"F64", 8},   [FL_ST_F32] = {"F32", 4},  [FL_ST_F16] = {"F16", 2},
    [FL_ST_BF16] = {"BF16", 2}, [FL_ST_I64] = {"I64", 8},  [FL_ST_I32] = {"I32", 4},
    [FL_ST_I16] = {"I16", 2},   [FL_ST_I8] = {"I8", 1},    [FL_ST_U64] = {"U64", 8},
    [FL_ST_U32] = {"U32", 4},   [FL_ST_U16] = {"U16", 2},  [FL_ST_U8] = {"U8", 1},
    [FL_ST_BOOL] = {"BOOL", 1}, [FL_ST_F8_E4M3] = {"F8_E4M3", 1},
    [FL_ST_F8_E5M2] = {"F8_E5M2", 1},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

size_t fl_st_dtype_size(fl_st_dtype t) { return (size_t)t < N_DTYPES ? dtypes[t].size : 0; }
const char *fl_st_dtype_name(fl_st_dtype t) { return (size_t)t < N_DTYPES ? dtypes[t].name : "?"; }

int fl_st_dtype_parse(const char *name, fl_st_dtype *t)
{
    for (size_t i = 0; i < N_DTYPES; ++i)
        if (!strcmp(name, dtypes[i].name)) {
            *t = (fl_st_dtype)i;
            return 0;
        }
    return -1;
}

size_t fl_st_count(const fl_st_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; ++d) n *= t->shape[d];
    return n;
}

size_t fl_st_nbytes(const fl_st_tensor *t) { return fl_st_count(t) * fl_st_dtype_size(t->dtype); }

void fl_st_shape_str(const fl_st_tensor *t, char *buf, size_t n)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n > k ? n - k : 0, "[");
    for (int i = 0; i < t->ndim; ++i)
        k += (size_t)snprintf(buf + k, n > k ? n - k : 0, "%s%zu", i ? "," : "", t->shape[i]);
    snprintf(buf + k, n > k ? n - k : 0, "]");
}

/* ---- writer ------------------------------------------------------------- */

typedef struct {
    char  *s;
    size_t len, cap;
    int    oom;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(strbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_fmt(strbuf *b, const char *fmt, size_t v)
{
    char tmp[32];
    int k = snprintf(tmp, sizeof tmp, fmt, v);
    sb_put(b, tmp, (size_t)k);
}

/* A JSON string literal; bytes >= 0x80 pass through (UTF-8 is the caller's). */
static void sb_json_str(strbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_put(b, e, 2);
        } else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            sb_put(b, e, 6);
        } else {
            sb_put(b, (const char *)&c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static fl_status check_save_args(const char *path, const fl_st_tensor *t, size_t n,
                                 const fl_meta_kv *meta, size_t nmeta)
{
    for (size_t i = 0; i < n; ++i) {
        const char *nm = t[i].name;
        if (!nm || !*nm) return fl_fail(FL_E_INPUT, "%s: tensor %zu has no name", path, i);
        if (!strcmp(nm, "__metadata__"))
            return fl_fail(FL_E_INPUT, "%s: tensor %s: the name is reserved", path, nm);
        if ((size_t)t[i].dtype >= N_DTYPES)
            return fl_fail(FL_E_INPUT, "%s: tensor %s: unknown dtype %d", path, nm, (int)t[i].dtype);
        if (t[i].ndim < 0 || t[i].ndim > FL_ST_MAXDIM)
            return fl_fail(FL_E_INPUT, "%s: tensor %s: %d dimensions (max %d)", path, nm,
                           t[i].ndim, FL_ST_MAXDIM);
        if (!t[i].data && fl_st_nbytes(&t[i]) > 0)
            return fl_fail(FL_E_INPUT, "%s: tensor %s: no data", path, nm);
        for (size_t j = 0; j < i; ++j)
            if (!strcmp(t[j].name, nm))
                return fl_fail(FL_E_INPUT, "%s: tensor %s: name given twice", path, nm);
    }
    for (size_t i = 0; i < nmeta; ++i) {
        if (!meta[i].key || !meta[i].value)
            return fl_fail(FL_E_INPUT, "%s: metadata entry %zu has no key or value", path, i);
        for (size_t j = 0; j < i; ++j)
            if (!strcmp(meta[j].key, meta[i].key))
                return fl_fail(FL_E_INPUT, "%s: metadata %s: key given twice", path, meta[i].key);
    }
    return FL_OK;
}

/* The JSON header, space-padded so that 8 + its length is a multiple of 8. */
static fl_status build_header(const char *path, const fl_st_tensor *t, size_t n,
                              const fl_meta_kv *meta, size_t nmeta, strbuf *h)
{
    sb_str(h, "{");
    if (nmeta) {
        sb_str(h, "\"__metadata__\":{");
        for (size_t i = 0; i < nmeta; ++i) {
            if (i) sb_str(h, ",");
            sb_json_str(h, meta[i].key);
            sb_str(h, ":");
            sb_json_str(h, meta[i].value);
        }
        sb_str(h, "}");
    }
    size_t off = 0;
    for (size_t i = 0; i < n; ++i) {
        if (nmeta || i) sb_str(h, ",");
        sb_json_str(h, t[i].name);
        sb_str(h, ":{\"dtype\":\"");
        sb_str(h, dtypes[t[i].dtype].name);
        sb_str(h, "\",\"shape\":[");
        for (int d = 0; d < t[i].ndim; ++d) sb_fmt(h, d ? ",%zu" : "%zu", t[i].shape[d]);
        size_t nb = fl_st_nbytes(&t[i]);
        sb_fmt(h, "],\"data_offsets\":[%zu", off);
        sb_fmt(h, ",%zu]}", off + nb);
        off += nb;
    }
    sb_str(h, "}");
    while (h->len % 8) sb_str(h, " ");
    return h->oom ? fl_fail(FL_E_NOMEM, "%s: out of memory for the header", path) : FL_OK;
}

fl_status fl_st_save(const char *path, const fl_st_tensor *t, size_t n,
                     const fl_meta_kv *meta, size_t nmeta)
{
    fl_status st = check_save_args(path, t, n, meta, nmeta);
    if (st) return st;
    strbuf h = {0};
    if ((st = build_header(path, t, n, meta, nmeta, &h))) {
        free(h.s);
        return st;
    }
    fl_atomic f;
    if ((st = fl_atomic_open(&f, path))) {
        free(h.s);
        return st;
    }
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    int ok = fwrite(len, 1, 8, f.fp) == 8 && fwrite(h.s, 1, h.len, f.fp) == h.len;
    for (size_t i = 0; ok && i < n; ++i) {
        size_t nb = fl_st_nbytes(&t[i]);
        ok = nb == 0 || fwrite(t[i].data, 1, nb, f.fp) == nb;
    }
    free(h.s);
    if (!ok) {
        int e = errno;
        fl_atomic_abort(&f);
        return fl_fail(FL_E_IO, "%s: write failed: %s", path, strerror(e));
    }
    return fl_atomic_commit(&f);
}

/* ---- reader ------------------------------------------------------------- */

/* What the header says about one tensor, before the data is attached. */
typedef struct {
    const char *name;      /* points into the cJSON tree */
    fl_st_dtype dtype;
    int         ndim;
    size_t      shape[FL_ST_MAXDIM];
    size_t      begin, end;
} entry;

static fl_status read_whole(const char *path, unsigned char **buf, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return fl_fail(FL_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return fl_fail(FL_E_IO, "%s: not a regular file", path);
    }
    size_t n = (size_t)sb.st_size;
    unsigned char *b = malloc(n ? n : 1);
    if (!b) {
        fclose(fp);
        return fl_fail(FL_E_NOMEM, "%s: cannot allocate %zu bytes", path, n);
    }
    size_t got = fread(b, 1, n, fp);
    int err = ferror(fp);
    fclose(fp);
    if (err || got != n) {
        free(b);
        return fl_fail(FL_E_IO, "%s: read failed", path);
    }
    *buf = b;
    *len = n;
    return FL_OK;
}

/* A non-negative integer that a double represents exactly. */
static int json_size(const cJSON *v, size_t *out)
{
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0.0) || d > MAX_JSON_INT || floor(d) != d) return -1;
    *out = (size_t)d;
    return 0;
}

static fl_status parse_entry(const char *path, const cJSON *item, size_t data_len, entry *e)
{
    const char *nm = item->string;
    memset(e, 0, sizeof *e);
    e->name = nm;
    if (!cJSON_IsObject(item))
        return fl_fail(FL_E_INPUT, "%s: tensor %s: entry is not a JSON object", path, nm);
    const cJSON *dt = NULL, *sh = NULL, *off = NULL, *k;
    cJSON_ArrayForEach(k, item)
    {
        if (!strcmp(k->string, "dtype")) dt = k;
        else if (!strcmp(k->string, "shape")) sh = k;
        else if (!strcmp(k->string, "data_offsets")) off = k;
        else return fl_fail(FL_E_INPUT, "%s: tensor %s: unknown field \"%s\"", path, nm, k->string);
    }
    if (!dt || !sh || !off)
        return fl_fail(FL_E_INPUT, "%s: tensor %s: missing \"%s\"", path, nm,
                       !dt ? "dtype" : !sh ? "shape" : "data_offsets");
    if (!cJSON_IsString(dt) || fl_st_dtype_parse(dt->valuestring, &e->dtype))
        return fl_fail(FL_E_INPUT, "%s: tensor %s: unknown dtype %s%s%s", path, nm,
                       cJSON_IsString(dt) ? "\"" : "", cJSON_IsString(dt) ? dt->valuestring : "(not a string)",
                       cJSON_IsString(dt) ? "\"" : "");
    int nd = cJSON_GetArraySize(sh);
    if (!cJSON_IsArray(sh) || nd > FL_ST_MAXDIM)
        return fl_fail(FL_E_INPUT, "%s: tensor %s: shape is not an array of at most %d sizes",
                       path, nm, FL_ST_MAXDIM);
    e->ndim = nd;
    /* Overflow-checked prod(shape) * size: a huge shape must not wrap around
     * to the byte count it is compared with. */
    size_t bytes = fl_st_dtype_size(e->dtype);
    int overflow = 0;
    for (int d = 0; d < nd; ++d) {
        if (json_size(cJSON_GetArrayItem(sh, d), &e->shape[d]))
            return fl_fail(FL_E_INPUT, "%s: tensor %s: shape[%d] is not a size", path, nm, d);
        if (e->shape[d] && bytes > SIZE_MAX / e->shape[d]) overflow = 1;
        else bytes *= e->shape[d];
    }
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        json_size(cJSON_GetArrayItem(off, 0), &e->begin) ||
        json_size(cJSON_GetArrayItem(off, 1), &e->end))
        return fl_fail(FL_E_INPUT, "%s: tensor %s: data_offsets is not [begin,end]", path, nm);
    if (e->end < e->begin)
        return fl_fail(FL_E_INPUT, "%s: tensor %s: data_offsets [%zu,%zu] end before begin",
                       path, nm, e->begin, e->end);
    if (e->end > data_len)
        return fl_fail(FL_E_INPUT, "%s: tensor %s: data_offsets [%zu,%zu] past the end of the "
                       "%zu-byte data buffer (truncated file?)", path, nm, e->begin, e->end, data_len);
    if (overflow || bytes != e->end - e->begin) {
        char s[256];
        fl_st_tensor t = {.dtype = e->dtype, .ndim = e->ndim};
        memcpy(t.shape, e->shape, sizeof t.shape);
        fl_st_shape_str(&t, s, sizeof s);
        if (overflow)
            return fl_fail(FL_E_INPUT, "%s: tensor %s: shape %s is too large", path, nm, s);
        return fl_fail(FL_E_INPUT, "%s: tensor %s: data_offsets [%zu,%zu] hold %zu bytes, %s %s "
                       "needs %zu", path, nm, e->begin, e->end, e->end - e->begin,
                       dtypes[e->dtype].name, s, bytes);
    }
    return FL_OK;
}

static int by_offset(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Contiguous, in offset order, covering the whole buffer: no overlap, no gap,
 * nothing after the last tensor. */
static fl_status check_layout(const char *path, entry *e, size_t n, size_t data_len)
{
    qsort(e, n, sizeof *e, by_offset);
    size_t at = 0;
    for (size_t i = 0; i < n; ++i) {
        if (e[i].begin < at)
            return fl_fail(FL_E_INPUT, "%s: tensor %s: data_offsets [%zu,%zu] overlap tensor %s "
                           "[%zu,%zu]", path, e[i].name, e[i].begin, e[i].end, e[i - 1].name,
                           e[i - 1].begin, e[i - 1].end);
        if (e[i].begin > at)
            return fl_fail(FL_E_INPUT, "%s: tensor %s: data_offsets [%zu,%zu] leave a gap of %zu "
                           "bytes before it", path, e[i].name, e[i].begin, e[i].end, e[i].begin - at);
        at = e[i].end;
    }
    if (at != data_len)
        return fl_fail(FL_E_INPUT, "%s: %zu bytes after the last tensor%s%s (the data buffer is %zu "
                       "bytes)", path, data_len - at, n ? " " : "", n ? e[n - 1].name : "", data_len);
    return FL_OK;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static fl_status parse_meta(const char *path, const cJSON *m, fl_st_file *f)
{
    if (!cJSON_IsObject(m))
        return fl_fail(FL_E_INPUT, "%s: __metadata__ is not a JSON object", path);
    size_t n = (size_t)cJSON_GetArraySize(m), i = 0;
    f->meta = calloc(n ? n : 1, sizeof *f->meta);
    if (!f->meta) return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    const cJSON *v;
    cJSON_ArrayForEach(v, m)
    {
        if (!cJSON_IsString(v))
            return fl_fail(FL_E_INPUT, "%s: __metadata__ %s: value is not a string", path, v->string);
        for (size_t j = 0; j < i; ++j)
            if (!strcmp(f->meta[j].key, v->string))
                return fl_fail(FL_E_INPUT, "%s: __metadata__ %s: key given twice", path, v->string);
        f->meta[i].key = dup_str(v->string);
        f->meta[i].value = dup_str(v->valuestring);
        f->n_meta = ++i;
        if (!f->meta[i - 1].key || !f->meta[i - 1].value)
            return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    }
    return FL_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* Copies each tensor into its own 64-byte-aligned slot of one block: file
 * offsets only promise byte alignment, and the callers read floats. */
static fl_status attach_data(const char *path, const entry *e, size_t n, const unsigned char *data,
                             fl_st_file *f)
{
    size_t total = 0;
    for (size_t i = 0; i < n; ++i) total += (e[i].end - e[i].begin + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN;
    void *block = NULL;
    if (posix_memalign(&block, DATA_ALIGN, total ? total : DATA_ALIGN) != 0)
        return fl_fail(FL_E_NOMEM, "%s: cannot allocate %zu bytes", path, total);
    f->priv_ = block;
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    if (!f->tensors) return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    unsigned char *at = block;
    for (size_t i = 0; i < n; ++i) {
        fl_st_tensor *t = &f->tensors[i];
        size_t nb = e[i].end - e[i].begin;
        t->name = dup_str(e[i].name);
        f->n_tensors = i + 1;
        if (!t->name) return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
        t->dtype = e[i].dtype;
        t->ndim = e[i].ndim;
        memcpy(t->shape, e[i].shape, sizeof t->shape);
        memcpy(at, data + e[i].begin, nb);
        t->data = at;
        at += (nb + DATA_ALIGN - 1) / DATA_ALIGN * DATA_ALIGN;
    }
    return FL_OK;
}

static fl_status parse_header(const char *path, const cJSON *root, size_t data_len,
                              const unsigned char *data, fl_st_file *f)
{
    if (!cJSON_IsObject(root)) return fl_fail(FL_E_INPUT, "%s: header is not a JSON object", path);
    size_t n = (size_t)cJSON_GetArraySize(root), k = 0;
    entry *e = calloc(n ? n : 1, sizeof *e);
    if (!e) return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    fl_status st = FL_OK;
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        if (!strcmp(item->string, "__metadata__")) {
            if (f->meta) st = fl_fail(FL_E_INPUT, "%s: __metadata__ given twice", path);
            else st = parse_meta(path, item, f);
        } else {
            st = parse_entry(path, item, data_len, &e[k++]);
        }
        if (st) break;
    }
    if (!st) {
        qsort(e, k, sizeof *e, by_name);
        for (size_t i = 1; i < k && !st; ++i)
            if (!strcmp(e[i].name, e[i - 1].name))
                st = fl_fail(FL_E_INPUT, "%s: tensor %s: name given twice", path, e[i].name);
    }
    if (!st) st = check_layout(path, e, k, data_len);
    if (!st) st = attach_data(path, e, k, data, f);
    free(e);
    return st;
}

static int only_spaces(const unsigned char *p, const unsigned char *end)
{
    for (; p < end; ++p)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') return 0;
    return 1;
}

fl_status fl_st_load(const char *path, fl_st_file *f)
{
    memset(f, 0, sizeof *f);
    unsigned char *buf = NULL;
    size_t len = 0;
    fl_status st = read_whole(path, &buf, &len);
    if (st) return st;
    uint64_t hlen = 0;
    for (int i = 0; i < 8 && len >= 8; ++i) hlen |= (uint64_t)buf[i] << (8 * i);
    if (len < 8)
        st = fl_fail(FL_E_INPUT, "%s: truncated: %zu bytes, shorter than the 8-byte header length",
                     path, len);
    else if (hlen > len - 8)
        st = fl_fail(FL_E_INPUT, "%s: header length %llu exceeds the file (%zu bytes): truncated "
                     "or not a safetensors file", path, (unsigned long long)hlen, len);
    else if (hlen > MAX_HEADER)
        st = fl_fail(FL_E_INPUT, "%s: header length %llu exceeds the 100 MB limit", path,
                     (unsigned long long)hlen);
    else if (hlen < 2 || buf[8] != '{')
        st = fl_fail(FL_E_INPUT, "%s: header does not start with '{': not a safetensors file", path);
    if (st) {
        free(buf);
        return st;
    }
    const char *hdr = (const char *)buf + 8, *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end && end >= hdr ? (size_t)(end - hdr) : 0;
        st = fl_fail(FL_E_INPUT, "%s: header is not valid JSON (byte %zu of %llu)", path, at,
                     (unsigned long long)hlen);
    } else if (!only_spaces((const unsigned char *)end, buf + 8 + hlen)) {
        st = fl_fail(FL_E_INPUT, "%s: header has bytes after its JSON object", path);
    } else {
        st = parse_header(path, root, len - 8 - (size_t)hlen, buf + 8 + hlen, f);
    }
    cJSON_Delete(root);
    free(buf);
    if (st) fl_st_free(f);
    return st;
}

void fl_st_free(fl_st_file *f)
{
    for (size_t i = 0; i < f->n_tensors; ++i) free((char *)f->tensors[i].name);
    for (size_t i = 0; i < f->n_meta; ++i) {
        free((char *)f->meta[i].key);
        free((char *)f->meta[i].value);
    }
    free(f->tensors);
    free(f->meta);
    free(f->priv_);
    memset(f, 0, sizeof *f);
}

const fl_st_tensor *fl_st_find(const fl_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; ++i)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

const char *fl_st_meta(const fl_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; ++i)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}
