/* vectors.c - reading and writing test-vector directories (fligru/vectors.h). */
#include "fligru/vectors.h"
#include "fligru/io.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_HEADER "file,shape,bits,frac,signed,description"

/* ---- writing --------------------------------------------------------------------- */

void fl_vec_manifest_header(FILE *fp) { fprintf(fp, "%s\n", MANIFEST_HEADER); }

void fl_vec_manifest_row(FILE *fp, const char *file, const char *shape, int bits, int frac, int is_signed,
                         const char *what)
{
    fprintf(fp, "%s,%s,%d,%d,%d,", file, shape, bits, frac, is_signed);
    for (const char *c = what; *c; ++c) fputc(*c == ',' ? ';' : *c, fp);
    fputc('\n', fp);
}

static uint64_t word_mask(int bits) { return bits >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << bits) - 1; }

void fl_vec_write_hex(FILE *fp, const int32_t *v, size_t n, int bits)
{
    const int digits = (bits + 3) / 4;
    const uint64_t mask = word_mask(bits);
    for (size_t i = 0; i < n; ++i) fprintf(fp, "%0*" PRIx64 "\n", digits, (uint64_t)(int64_t)v[i] & mask);
}

/* ---- one line at a time, with its number ------------------------------------------ */

typedef struct {
    FILE       *fp;
    const char *path;
    char       *buf;
    size_t      cap;
    long        line;
} lines;

/* 1: a line in l->buf (newline stripped), 0: end of file. */
static int next_line(lines *l)
{
    ssize_t len = getline(&l->buf, &l->cap, l->fp);
    if (len < 0) return 0;
    ++l->line;
    if (len > 0 && l->buf[len - 1] == '\n') l->buf[--len] = '\0';
    return 1;
}

static fl_status open_lines(lines *l, const char *path)
{
    memset(l, 0, sizeof *l);
    l->path = path;
    l->fp = fopen(path, "r");
    if (!l->fp) return fl_fail(FL_E_IO, "%s: cannot open: %s", path, strerror(errno));
    return FL_OK;
}

static void close_lines(lines *l)
{
    if (l->fp) fclose(l->fp);
    free(l->buf);
}

/* ---- hex files --------------------------------------------------------------------- */

/* A word of 1..digits hex digits and nothing else, fitting bits. */
static int parse_word(const char *s, int bits, uint64_t *w)
{
    const int digits = (bits + 3) / 4;
    int n = 0;
    uint64_t v = 0;
    for (; s[n]; ++n) {
        const int c = (unsigned char)s[n];
        if (!isxdigit(c) || n >= digits) return -1;
        v = (v << 4) | (uint64_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    if (n == 0 || (v & ~word_mask(bits))) return -1;
    *w = v;
    return 0;
}

static fl_status hex_lines(lines *l, int bits, size_t expect, uint64_t *out, size_t *n)
{
    *n = 0;
    while (next_line(l)) {
        uint64_t w;
        if (parse_word(l->buf, bits, &w))
            return fl_fail(FL_E_INPUT, "%s:%ld: '%.40s' is not a %d-bit hex word", l->path, l->line, l->buf, bits);
        if (*n == expect)
            return fl_fail(FL_E_INPUT, "%s:%ld: more than the %zu words expected", l->path, l->line, expect);
        out[(*n)++] = w;
    }
    if (ferror(l->fp)) return fl_fail(FL_E_IO, "%s: read error", l->path);
    if (*n != expect) return fl_fail(FL_E_INPUT, "%s: %zu words, expected %zu", l->path, *n, expect);
    return FL_OK;
}

fl_status fl_vec_read_hex(const char *path, int bits, size_t expect, uint64_t **words, size_t *n)
{
    *words = NULL;
    *n = 0;
    if (bits < 1 || bits > 64) return fl_fail(FL_E_INPUT, "%s: word width %d outside 1..64", path, bits);
    if (expect > SIZE_MAX / sizeof **words) return fl_fail(FL_E_INPUT, "%s: %zu words is too many", path, expect);
    uint64_t *v = malloc((expect ? expect : 1) * sizeof *v);
    if (!v) return fl_fail(FL_E_NOMEM, "%s: cannot allocate %zu words", path, expect);
    lines l;
    fl_status st = open_lines(&l, path);
    if (!st) st = hex_lines(&l, bits, expect, v, n);
    close_lines(&l);
    if (st) {
        free(v);
        *n = 0;
        return st;
    }
    *words = v;
    return FL_OK;
}

/* ---- manifest.csv ------------------------------------------------------------------ */

/* "[a;b;c]" (positive dimensions) or "-". */
static int parse_shape(const char *s, fl_vec_entry *e)
{
    e->ndims = 0;
    if (!strcmp(s, "-")) return 0;
    if (*s++ != '[') return -1;
    for (;;) {
        char *end;
        errno = 0;
        const long d = strtol(s, &end, 10);
        if (end == s || errno || d < 1 || d > (1L << 40) || e->ndims == FL_VEC_MAX_DIMS) return -1;
        e->dims[e->ndims++] = d;
        if (*end == ']') return end[1] ? -1 : 0;
        if (*end != ';') return -1;
        s = end + 1;
    }
}

static int parse_int_field(const char *s, int lo, int hi, int *v)
{
    char *end;
    errno = 0;
    const long x = strtol(s, &end, 10);
    if (end == s || *end || errno || x < lo || x > hi) return -1;
    *v = (int)x;
    return 0;
}

/* Splits at the first five commas (the description may hold none: they were
 * written as ';'). */
static int split_row(char *s, char *f[6])
{
    for (int i = 0; i < 5; ++i) {
        f[i] = s;
        char *c = strchr(s, ',');
        if (!c) return -1;
        *c = '\0';
        s = c + 1;
    }
    f[5] = s;
    return 0;
}

static int safe_name(const char *s)
{
    return *s && strlen(s) < sizeof ((fl_vec_entry *)0)->file && !strchr(s, '/') && strcmp(s, ".") &&
           strcmp(s, "..");
}

static fl_status manifest_row(const lines *l, fl_vec_entry *e)
{
    char *f[6];
    memset(e, 0, sizeof *e);
    if (split_row(l->buf, f)) return fl_fail(FL_E_INPUT, "%s:%ld: not 6 comma-separated fields", l->path, l->line);
    if (!safe_name(f[0])) return fl_fail(FL_E_INPUT, "%s:%ld: file: '%s' is not a plain file name", l->path, l->line, f[0]);
    strcpy(e->file, f[0]);
    if (parse_shape(f[1], e)) return fl_fail(FL_E_INPUT, "%s:%ld: shape: '%s' is not [d;...] or -", l->path, l->line, f[1]);
    if (parse_int_field(f[2], 0, 64, &e->bits) || parse_int_field(f[3], -64, 64, &e->frac) ||
        parse_int_field(f[4], 0, 1, &e->is_signed))
        return fl_fail(FL_E_INPUT, "%s:%ld: bits/frac/signed: not integers in range", l->path, l->line);
    if (e->ndims && e->bits < 1) return fl_fail(FL_E_INPUT, "%s:%ld: bits: a hex file needs 1..64", l->path, l->line);
    return FL_OK;
}

static fl_status read_manifest(fl_vec_set *vs, const char *path)
{
    lines l;
    fl_status st = open_lines(&l, path);
    if (st) return st;
    if (!next_line(&l) || strcmp(l.buf, MANIFEST_HEADER))
        st = fl_fail(FL_E_INPUT, "%s:1: not a fligru vectors manifest (header '%s')", path, MANIFEST_HEADER);
    size_t cap = 0;
    while (!st && next_line(&l)) {
        if (vs->nfiles == cap) {
            cap = cap ? 2 * cap : 32;
            fl_vec_entry *g = realloc(vs->files, cap * sizeof *g);
            if (!g) { st = fl_fail(FL_E_NOMEM, "%s: out of memory", path); break; }
            vs->files = g;
        }
        st = manifest_row(&l, &vs->files[vs->nfiles]);
        if (!st && fl_vec_find(vs, vs->files[vs->nfiles].file))
            st = fl_fail(FL_E_INPUT, "%s:%ld: %s listed twice", path, l.line, vs->files[vs->nfiles].file);
        if (!st) ++vs->nfiles;
    }
    close_lines(&l);
    return st;
}

/* ---- fx_params.h --------------------------------------------------------------------- */

static fl_status param_line(const lines *l, fl_vec_set *vs, size_t *cap)
{
    char name[48], extra[2];
    long v;
    if (strncmp(l->buf, "#define", 7)) return FL_OK;   /* comments */
    if (sscanf(l->buf, "#define FL_FX_%47s %ld %1s", name, &v, extra) != 2)
        return fl_fail(FL_E_INPUT, "%s:%ld: not '#define FL_FX_<NAME> <integer>'", l->path, l->line);
    if (vs->nparams == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        fl_vec_param *g = realloc(vs->params, *cap * sizeof *g);
        if (!g) return fl_fail(FL_E_NOMEM, "%s: out of memory", l->path);
        vs->params = g;
    }
    fl_vec_param *p = &vs->params[vs->nparams++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->value = v;
    return FL_OK;
}

static fl_status read_params(fl_vec_set *vs, const char *path)
{
    lines l;
    fl_status st = open_lines(&l, path);
    size_t cap = 0;
    while (!st && next_line(&l)) st = param_line(&l, vs, &cap);
    close_lines(&l);
    return st;
}

/* ---- the set --------------------------------------------------------------------- */

fl_status fl_vec_open(const char *dir, fl_vec_set *vs)
{
    memset(vs, 0, sizeof *vs);
    vs->dir = strdup(dir);
    char *mp = fl_path_join(dir, "manifest.csv"), *pp = fl_path_join(dir, "fx_params.h");
    fl_status st = (!vs->dir || !mp || !pp) ? fl_fail(FL_E_NOMEM, "vectors: out of memory") : FL_OK;
    if (!st) st = read_manifest(vs, mp);
    if (!st) st = read_params(vs, pp);
    free(mp);
    free(pp);
    return st;
}

void fl_vec_close(fl_vec_set *vs)
{
    free(vs->dir);
    free(vs->files);
    free(vs->params);
    memset(vs, 0, sizeof *vs);
}

const fl_vec_entry *fl_vec_find(const fl_vec_set *vs, const char *file)
{
    for (size_t i = 0; i < vs->nfiles; ++i)
        if (!strcmp(vs->files[i].file, file)) return &vs->files[i];
    return NULL;
}

size_t fl_vec_words(const fl_vec_entry *e)
{
    size_t n = e->ndims ? 1 : 0;
    for (int i = 0; i < e->ndims; ++i) n *= (size_t)e->dims[i];
    return n;
}

int fl_vec_param_get(const fl_vec_set *vs, const char *name, long *value)
{
    for (size_t i = 0; i < vs->nparams; ++i)
        if (!strcmp(vs->params[i].name, name)) {
            *value = vs->params[i].value;
            return 0;
        }
    return -1;
}

fl_status fl_vec_read(const fl_vec_set *vs, const char *file, uint64_t **words, size_t *n)
{
    *words = NULL;
    *n = 0;
    const fl_vec_entry *e = fl_vec_find(vs, file);
    if (!e) return fl_fail(FL_E_INPUT, "%s/manifest.csv: no %s", vs->dir, file);
    if (!e->ndims) return fl_fail(FL_E_INPUT, "%s/manifest.csv: %s is not a hex file", vs->dir, file);
    char *path = fl_path_join(vs->dir, file);
    if (!path) return fl_fail(FL_E_NOMEM, "vectors: out of memory");
    fl_status st = fl_vec_read_hex(path, e->bits, fl_vec_words(e), words, n);
    free(path);
    return st;
}
