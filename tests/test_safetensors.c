/* test_safetensors.c - round trips, the exact byte layout, and every rejection. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/parameterized.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fligru/safetensors.h"
#include "testutil.h"

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

/* A file from raw parts: the header text (space-padded to a multiple of 8 as
 * fligru writes it), then `ndata` bytes 0, 1, 2, ...; hlen_override != 0 puts a
 * different value in the length prefix. */
static char *write_raw(const char *dir, const char *name, const char *header, size_t ndata,
                       uint64_t hlen_override)
{
    char *p = path_in(dir, name);
    FILE *f = fopen(p, "wb");
    size_t n = strlen(header), padded = (n + 7) / 8 * 8;
    uint64_t hlen = hlen_override ? hlen_override : padded;
    for (int i = 0; i < 8; ++i) fputc((int)((hlen >> (8 * i)) & 0xff), f);
    fputs(header, f);
    for (size_t i = n; i < padded; ++i) fputc(' ', f);
    for (size_t i = 0; i < ndata; ++i) fputc((int)(i & 0xff), f);
    fclose(f);
    return p;
}

Test(safetensors, round_trips_dtypes_shapes_and_metadata)
{
    char *dir = tu_tmpdir("st");
    float f32[6] = {0.5f, -1.25f, 3.0f, 1e-30f, -0.0f, 7.0f};
    double f64[4] = {1.0 / 3.0, -2.0, 1e300, 0.0};
    int8_t i8[6] = {-128, -1, 0, 1, 2, 127};
    int16_t i16[5] = {-32768, -7, 0, 9, 32767};
    int32_t i32[1] = {-123456789};
    uint8_t u8[1] = {0};
    uint16_t bf16[2] = {0x3f80, 0xc000}; /* carried as bytes */
    fl_st_tensor t[] = {
        {.name = "enc.w", .dtype = FL_ST_F32, .ndim = 2, .shape = {2, 3}, .data = f32},
        {.name = "d", .dtype = FL_ST_F64, .ndim = 1, .shape = {4}, .data = f64},
        {.name = "q.i8", .dtype = FL_ST_I8, .ndim = 3, .shape = {3, 2, 1}, .data = i8},
        {.name = "q.i16", .dtype = FL_ST_I16, .ndim = 1, .shape = {5}, .data = i16},
        {.name = "scalar", .dtype = FL_ST_I32, .ndim = 0, .data = i32},
        {.name = "empty", .dtype = FL_ST_U8, .ndim = 2, .shape = {0, 4}, .data = u8},
        {.name = "half \"quoted\"", .dtype = FL_ST_BF16, .ndim = 1, .shape = {2}, .data = bf16},
    };
    size_t nt = sizeof t / sizeof *t;
    fl_meta_kv kv[] = {{"format", "test"}, {"command", "fligru x \"a b\"\n\tc\\d"}, {"empty", ""},
                       {"utf8", "\xcf\x84 = 1.0 ns"}};
    char *p = path_in(dir, "a.safetensors");
    cr_assert_eq(fl_st_save(p, t, nt, kv, 4), FL_OK, "%s", fl_error());
    cr_assert(eq(int, tu_count_tmp(dir), 0), "temporary file left behind");

    fl_st_file f;
    cr_assert_eq(fl_st_load(p, &f), FL_OK, "%s", fl_error());
    cr_assert(eq(sz, f.n_tensors, nt));
    cr_assert(eq(sz, f.n_meta, 4));
    for (size_t i = 0; i < nt; ++i) {
        /* Offset order is the order written. */
        cr_assert(eq(str, (char *)f.tensors[i].name, (char *)t[i].name));
        const fl_st_tensor *g = fl_st_find(&f, t[i].name);
        cr_assert(g == &f.tensors[i]);
        cr_assert(eq(int, g->dtype, t[i].dtype));
        cr_assert(eq(int, g->ndim, t[i].ndim));
        for (int d = 0; d < t[i].ndim; ++d) cr_assert(eq(sz, g->shape[d], t[i].shape[d]));
        cr_assert(eq(sz, fl_st_nbytes(g), fl_st_nbytes(&t[i])));
        cr_assert(eq(int, memcmp(g->data, t[i].data, fl_st_nbytes(g)), 0), "%s differs", t[i].name);
        cr_assert(eq(sz, (uintptr_t)g->data % 64, 0), "%s not aligned", t[i].name);
    }
    for (int i = 0; i < 4; ++i) {
        cr_assert(eq(str, (char *)f.meta[i].key, (char *)kv[i].key));
        cr_assert(eq(str, (char *)fl_st_meta(&f, kv[i].key), (char *)kv[i].value));
    }
    cr_assert(fl_st_find(&f, "nope") == NULL);
    cr_assert(fl_st_meta(&f, "nope") == NULL);
    fl_st_free(&f);

    /* No metadata and no tensors at all is a valid file too. */
    cr_assert_eq(fl_st_save(p, NULL, 0, NULL, 0), FL_OK, "%s", fl_error());
    cr_assert_eq(fl_st_load(p, &f), FL_OK, "%s", fl_error());
    cr_assert(eq(sz, f.n_tensors, 0));
    cr_assert(eq(sz, f.n_meta, 0));
    fl_st_free(&f);
    free(p);
    free(dir);
}

Test(safetensors, writes_the_specified_byte_layout)
{
    char *dir = tu_tmpdir("st");
    float a[2] = {1.0f, 2.0f};
    int8_t b[3] = {-1, 0, 1};
    fl_st_tensor t[] = {{.name = "a", .dtype = FL_ST_F32, .ndim = 1, .shape = {2}, .data = a},
                        {.name = "b", .dtype = FL_ST_I8, .ndim = 2, .shape = {1, 3}, .data = b}};
    fl_meta_kv kv = {"k", "v"};
    char *p = path_in(dir, "l.safetensors");
    cr_assert_eq(fl_st_save(p, t, 2, &kv, 1), FL_OK, "%s", fl_error());
    size_t len;
    unsigned char *raw = tu_read_all(p, &len);
    const char *json = "{\"__metadata__\":{\"k\":\"v\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"b\":{\"dtype\":\"I8\",\"shape\":[1,3],\"data_offsets\":[8,11]}}";
    size_t n = strlen(json), hlen = (n + 7) / 8 * 8;
    uint64_t prefix = 0;
    for (int i = 0; i < 8; ++i) prefix |= (uint64_t)raw[i] << (8 * i);
    cr_assert(eq(u64, prefix, hlen), "header length prefix");
    cr_assert(eq(sz, hlen % 8, 0));
    cr_assert(eq(sz, len, 8 + hlen + 11));
    cr_assert(eq(int, memcmp(raw + 8, json, n), 0), "header text: %.*s", (int)hlen, raw + 8);
    for (size_t i = n; i < hlen; ++i) cr_assert(eq(u8, raw[8 + i], ' '), "padding is spaces");
    cr_assert(eq(int, memcmp(raw + 8 + hlen, a, 8), 0));
    cr_assert(eq(int, memcmp(raw + 8 + hlen + 8, b, 3), 0));
    free(raw);
    free(p);
    free(dir);
}

Test(safetensors, reads_files_written_by_others)
{
    /* Another writer's choices: metadata last, no padding, whitespace, a tensor
     * listed out of offset order, integers written as 8.0. */
    char *dir = tu_tmpdir("st");
    const char *h = "{ \"b\": {\"shape\": [2], \"dtype\": \"U8\", \"data_offsets\": [8.0, 10]},\n"
                    "  \"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},\n"
                    "  \"__metadata__\": {\"x\": \"y\"} }";
    char *p = path_in(dir, "o.safetensors");
    FILE *fp = fopen(p, "wb");
    uint64_t n = strlen(h);
    for (int i = 0; i < 8; ++i) fputc((int)((n >> (8 * i)) & 0xff), fp);
    fputs(h, fp);
    for (int i = 0; i < 10; ++i) fputc(i, fp);
    fclose(fp);
    fl_st_file f;
    cr_assert_eq(fl_st_load(p, &f), FL_OK, "%s", fl_error());
    cr_assert(eq(sz, f.n_tensors, 2));
    cr_assert(eq(str, (char *)f.tensors[0].name, "a"));
    cr_assert(eq(str, (char *)f.tensors[1].name, "b"));
    const unsigned char *b = f.tensors[1].data;
    cr_assert(eq(u8, b[0], 8));
    cr_assert(eq(u8, b[1], 9));
    cr_assert(eq(str, (char *)fl_st_meta(&f, "x"), "y"));
    fl_st_free(&f);
    free(p);
    free(dir);
}

/* Arrays, not pointers: Criterion runs each parameter in a fresh process,
 * where the parent's pointers mean nothing. */
typedef struct {
    char     header[240];
    size_t   ndata;
    uint64_t hlen;        /* 0: the padded header length */
    char     tensor[8];   /* named in the message, or "" */
    char     expect[80];  /* substring of the message */
} bad_case;

#define T_A(dt, shape, b, e) "\"a\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" b "," e "]}"
#define T_B(dt, shape, b, e) "\"b\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" b "," e "]}"

static const bad_case BAD[] = {
    /* offsets past the end of the buffer */
    {"{" T_A("F32", "[100]", "0", "400") "}", 8, 0, "a", "past the end of the 8-byte data buffer"},
    /* overlapping offsets */
    {"{" T_A("F32", "[2]", "0", "8") "," T_B("F32", "[2]", "4", "12") "}", 12, 0, "b", "overlap tensor a [0,8]"},
    /* shape / size mismatch */
    {"{" T_A("F32", "[2,3]", "0", "20") "}", 20, 0, "a", "hold 20 bytes, F32 [2,3] needs 24"},
    /* unknown dtype */
    {"{" T_A("F33", "[2]", "0", "8") "}", 8, 0, "a", "unknown dtype \"F33\""},
    /* bad JSON */
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],", 8, 0, "", "header is not valid JSON"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} {}", 8, 0, "", "bytes after its JSON object"},
    {"[1,2,3]", 0, 0, "", "does not start with '{'"},
    /* header length larger than the file */
    {"{}", 0, 1000, "", "header length 1000 exceeds the file (16 bytes)"},
    /* gaps, trailing bytes, duplicates, malformed entries */
    {"{" T_A("F32", "[2]", "4", "12") "}", 12, 0, "a", "leave a gap of 4 bytes"},
    {"{" T_A("F32", "[2]", "0", "8") "}", 9, 0, "", "1 bytes after the last tensor a"},
    {"{" T_A("F32", "[2]", "0", "8") "," T_A("F32", "[2]", "8", "16") "}", 16, 0, "a", "name given twice"},
    {"{" T_A("F32", "[-2]", "0", "8") "}", 8, 0, "a", "shape[0] is not a size"},
    {"{" T_A("F32", "[2.5]", "0", "8") "}", 8, 0, "a", "shape[0] is not a size"},
    {"{" T_A("F32", "[2]", "8", "0") "}", 8, 0, "a", "end before begin"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, 0, "a", "data_offsets is not [begin,end]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, 0, "a", "missing \"data_offsets\""},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8, 0, "a", "unknown field \"x\""},
    {"{\"a\":[1]}", 0, 0, "a", "entry is not a JSON object"},
    {"{" T_A("F32", "[4294967296,4294967296,4294967296]", "0", "8") "}", 8, 0, "a", "is too large"},
    {"{\"__metadata__\":{\"k\":1}}", 0, 0, "", "__metadata__ k: value is not a string"},
    {"{\"__metadata__\":[]}", 0, 0, "", "__metadata__ is not a JSON object"},
};

ParameterizedTestParameters(safetensors, rejects_corrupt_files)
{
    return cr_make_param_array(bad_case, BAD, sizeof BAD / sizeof *BAD);
}

ParameterizedTest(const bad_case *c, safetensors, rejects_corrupt_files)
{
    char *dir = tu_tmpdir("st");
    char *p = write_raw(dir, "bad.safetensors", c->header, c->ndata, c->hlen);
    fl_st_file f;
    fl_status st = fl_st_load(p, &f);
    cr_assert_eq(st, FL_E_INPUT, "accepted: %s", c->header);
    const char *msg = fl_error();
    cr_assert(strncmp(msg, p, strlen(p)) == 0, "message does not start with the file: %s", msg);
    cr_assert(strchr(msg, '\n') == NULL, "not one line: %s", msg);
    if (c->tensor[0]) {
        char want[64];
        snprintf(want, sizeof want, ": tensor %s: ", c->tensor);
        cr_assert(strstr(msg, want) != NULL, "message does not name tensor %s: %s", c->tensor, msg);
    }
    cr_assert(strstr(msg, c->expect) != NULL, "'%s' lacks '%s'", msg, c->expect);
    cr_assert(eq(sz, f.n_tensors, 0));
    cr_assert(f.tensors == NULL);
    free(p);
    free(dir);
}

Test(safetensors, rejects_truncated_files)
{
    char *dir = tu_tmpdir("st");
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    fl_st_tensor t[] = {{.name = "first", .dtype = FL_ST_F32, .ndim = 1, .shape = {4}, .data = a},
                        {.name = "second", .dtype = FL_ST_F32, .ndim = 1, .shape = {4}, .data = b}};
    char *p = path_in(dir, "t.safetensors");
    cr_assert_eq(fl_st_save(p, t, 2, NULL, 0), FL_OK, "%s", fl_error());
    size_t len;
    unsigned char *raw = tu_read_all(p, &len);
    struct {
        size_t keep;
        const char *expect;
    } cuts[] = {{len - 1, "tensor second: data_offsets [16,32] past the end of the 31-byte data buffer"},
                {len - 20, "tensor first: data_offsets [0,16] past the end of the 12-byte data buffer"},
                {40, "exceeds the file (40 bytes)"},
                {5, "truncated: 5 bytes, shorter than the 8-byte header length"},
                {0, "truncated: 0 bytes"}};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; ++i) {
        FILE *f = fopen(p, "wb");
        fwrite(raw, 1, cuts[i].keep, f);
        fclose(f);
        fl_st_file st;
        cr_assert_eq(fl_st_load(p, &st), FL_E_INPUT, "cut to %zu accepted", cuts[i].keep);
        cr_assert(strstr(fl_error(), p) != NULL, "%s", fl_error());
        cr_assert(strstr(fl_error(), cuts[i].expect) != NULL, "'%s' lacks '%s'", fl_error(), cuts[i].expect);
    }
    free(raw);
    free(p);
    free(dir);
}

Test(safetensors, missing_file_is_an_io_error)
{
    char *dir = tu_tmpdir("st");
    char *p = path_in(dir, "none.safetensors");
    fl_st_file f;
    cr_assert_eq(fl_st_load(p, &f), FL_E_IO);
    cr_assert(strstr(fl_error(), p) != NULL, "%s", fl_error());
    free(p);
    free(dir);
}

Test(safetensors, save_rejects_bad_arguments_and_writes_nothing)
{
    char *dir = tu_tmpdir("st");
    float x[2] = {0};
    char *p = path_in(dir, "s.safetensors");
    fl_st_tensor dup[] = {{.name = "w", .dtype = FL_ST_F32, .ndim = 1, .shape = {2}, .data = x},
                          {.name = "w", .dtype = FL_ST_F32, .ndim = 1, .shape = {2}, .data = x}};
    cr_assert_eq(fl_st_save(p, dup, 2, NULL, 0), FL_E_INPUT);
    cr_assert(strstr(fl_error(), "tensor w: name given twice") != NULL, "%s", fl_error());
    fl_st_tensor res = {.name = "__metadata__", .dtype = FL_ST_F32, .ndim = 1, .shape = {2}, .data = x};
    cr_assert_eq(fl_st_save(p, &res, 1, NULL, 0), FL_E_INPUT);
    fl_st_tensor nodata = {.name = "w", .dtype = FL_ST_F32, .ndim = 1, .shape = {2}, .data = NULL};
    cr_assert_eq(fl_st_save(p, &nodata, 1, NULL, 0), FL_E_INPUT);
    fl_meta_kv kv[2] = {{"k", "1"}, {"k", "2"}};
    cr_assert_eq(fl_st_save(p, NULL, 0, kv, 2), FL_E_INPUT);
    cr_assert(strstr(fl_error(), "metadata k: key given twice") != NULL, "%s", fl_error());
    cr_assert(eq(int, tu_exists(p), 0));
    cr_assert(eq(int, tu_count_tmp(dir), 0));
    free(p);
    free(dir);
}

Test(safetensors, dtype_names_and_sizes)
{
    const char *names[] = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8",
                           "U64", "U32", "U16", "U8", "BOOL", "F8_E4M3", "F8_E5M2"};
    size_t sizes[] = {8, 4, 2, 2, 8, 4, 2, 1, 8, 4, 2, 1, 1, 1, 1};
    for (int i = 0; i < 15; ++i) {
        fl_st_dtype t;
        cr_assert(eq(int, fl_st_dtype_parse(names[i], &t), 0));
        cr_assert(eq(int, t, i));
        cr_assert(eq(str, (char *)fl_st_dtype_name(t), (char *)names[i]));
        cr_assert(eq(sz, fl_st_dtype_size(t), sizes[i]));
    }
    fl_st_dtype t;
    cr_assert(eq(int, fl_st_dtype_parse("f32", &t), -1));
}
