/* test_npy.c - .npy round trips, numpy's exact byte layout, and every rejection. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "fligru/npy.h"
#include "testutil.h"

/* Writes raw bytes: a header dict (padded as numpy does) and n data bytes. */
static char *write_raw(const char *dir, const char *name, int major, const char *dict,
                       const void *data, size_t n)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    size_t pre = major == 1 ? 10 : 12, k = strlen(dict);
    size_t total = (pre + k + 1 + 63) / 64 * 64, hlen = total - pre;
    unsigned char h[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
    for (size_t i = 0; i < pre - 8; ++i) h[8 + i] = (unsigned char)(hlen >> (8 * i));
    fwrite(h, 1, pre, f);
    fputs(dict, f);
    for (size_t i = k; i + 1 < hlen; ++i) fputc(' ', f);
    fputc('\n', f);
    fwrite(data, 1, n, f);
    fclose(f);
    return p;
}

Test(npy, writes_numpys_exact_bytes)
{
    /* What np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)) writes: 128-byte
     * header, v1.0, length field 118. */
    char *dir = tu_tmpdir("npy");
    fl_npy a;
    size_t shape[2] = {2, 3};
    cr_assert_eq(fl_npy_alloc(&a, FL_F32, 2, shape), FL_OK);
    for (int i = 0; i < 6; ++i) fl_npy_f32(&a)[i] = (float)i;
    char path[4096];
    snprintf(path, sizeof path, "%s/a.npy", dir);
    cr_assert_eq(fl_npy_save(path, &a), FL_OK);
    size_t len;
    unsigned char *b = tu_read_all(path, &len);
    cr_assert(eq(sz, len, 128 + 24));
    cr_assert(eq(int, memcmp(b, "\x93NUMPY\x01\x00\x76\x00", 10), 0));
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    cr_assert(eq(int, memcmp(b + 10, dict, strlen(dict)), 0));
    cr_assert(eq(u8, b[127], '\n'));
    cr_assert(eq(u8, b[126], ' '));
    float x[6];
    memcpy(x, b + 128, 24);
    cr_assert(eq(flt, x[5], 5.0f));
    cr_assert(eq(int, tu_count_tmp(dir), 0), "temporary file left behind");
    free(b);
    fl_npy_free(&a);
    free(dir);
}

Test(npy, round_trips_every_dtype_and_rank)
{
    char *dir = tu_tmpdir("npy");
    fl_dtype types[] = {FL_F32, FL_F64, FL_I8, FL_U8, FL_I16, FL_U16, FL_I32, FL_U32, FL_I64, FL_U64};
    size_t shapes[][4] = {{0}, {7}, {3, 5}, {2, 3, 4}, {1, 2, 3, 2}};
    for (size_t t = 0; t < sizeof types / sizeof *types; ++t)
        for (int nd = 0; nd <= 4; ++nd) {
            fl_npy a, b;
            cr_assert_eq(fl_npy_alloc(&a, types[t], nd, shapes[nd]), FL_OK);
            unsigned char *raw = a.data;
            for (size_t i = 0; i < a.count * fl_dtype_size(a.dtype); ++i) raw[i] = (unsigned char)(i * 37 + t);
            if (types[t] == FL_F32) /* keep floats finite: bytes above are arbitrary */
                for (size_t i = 0; i < a.count; ++i) fl_npy_f32(&a)[i] = (float)i - 2.5f;
            char path[4096];
            snprintf(path, sizeof path, "%s/r%zu_%d.npy", dir, t, nd);
            cr_assert_eq(fl_npy_save(path, &a), FL_OK, "%s", fl_error());
            cr_assert_eq(fl_npy_load(path, &b), FL_OK, "%s", fl_error());
            cr_assert(eq(int, b.dtype, a.dtype));
            cr_assert(eq(int, b.ndim, nd));
            cr_assert(eq(sz, b.count, a.count));
            for (int d = 0; d < nd; ++d) cr_assert(eq(sz, b.shape[d], shapes[nd][d]));
            cr_assert(eq(int, memcmp(a.data, b.data, a.count * fl_dtype_size(a.dtype)), 0));
            fl_npy_free(&a);
            fl_npy_free(&b);
        }
    free(dir);
}

Test(npy, reads_version_2_and_3_headers_and_converts_to_f32)
{
    char *dir = tu_tmpdir("npy");
    short v[4] = {-32768, -1, 0, 32767};
    char *p2 = write_raw(dir, "v2.npy", 2, "{'descr': '<i2', 'fortran_order': False, 'shape': (4,), }", v, sizeof v);
    char *p3 = write_raw(dir, "v3.npy", 3, "{\"shape\": (2,2), \"fortran_order\": False, \"descr\": \"<i2\"}", v, sizeof v);
    fl_npy a;
    cr_assert_eq(fl_npy_load_f32(p2, &a), FL_OK, "%s", fl_error());
    cr_assert(eq(int, a.dtype, FL_F32));
    float want[4] = {-32768.0f, -1.0f, 0.0f, 32767.0f};
    cr_assert(eq(flt[4], fl_npy_f32(&a), want));
    fl_npy_free(&a);
    cr_assert_eq(fl_npy_load(p3, &a), FL_OK, "%s", fl_error());
    cr_assert(eq(int, a.ndim, 2));
    cr_assert(eq(i16[4], (short *)a.data, v));
    fl_npy_free(&a);
    free(p2);
    free(p3);
    free(dir);
}

typedef struct {
    const char *dict;
    size_t nbytes;
    const char *expect; /* substring of the message */
} bad_case;

static void expect_rejected(const bad_case *c, const char *dir, int k)
{
    char name[32];
    snprintf(name, sizeof name, "bad%d.npy", k);
    double data[8] = {0};
    char *p = write_raw(dir, name, 1, c->dict, data, c->nbytes);
    fl_npy a;
    fl_status st = fl_npy_load(p, &a);
    cr_assert_eq(st, FL_E_INPUT, "case %d accepted: %s", k, c->dict);
    cr_assert(strstr(fl_error(), p) != NULL, "message does not name the file: %s", fl_error());
    cr_assert(strstr(fl_error(), c->expect) != NULL, "case %d: '%s' lacks '%s'", k, fl_error(), c->expect);
    free(p);
}

Test(npy, rejects_malformed_files_naming_file_and_field)
{
    char *dir = tu_tmpdir("npy");
    bad_case cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 12, "truncated"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "big-endian"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype"},
        {"{'descr': '<f4', 'shape': (2,), }", 8, "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, }", 8, "shape"},
        {"{'fortran_order': False, 'shape': (2,), }", 8, "descr"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 8, "shape"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; ++k) expect_rejected(&cases[k], dir, (int)k);

    /* not a .npy at all, and a missing file */
    char *p = tu_write_file(dir, "text.npy", "hello world, definitely not numpy");
    fl_npy a;
    cr_assert_eq(fl_npy_load(p, &a), FL_E_INPUT);
    cr_assert(strstr(fl_error(), "bad magic") != NULL);
    cr_assert_eq(fl_npy_load("/nonexistent/x.npy", &a), FL_E_IO);
    cr_assert(strstr(fl_error(), "/nonexistent/x.npy") != NULL);
    free(p);
    free(dir);
}

Test(npy, finds_nan_and_inf_with_index)
{
    fl_npy a;
    size_t shape[3] = {2, 3, 4};
    fl_npy_alloc(&a, FL_F32, 3, shape);
    cr_assert_eq(fl_npy_check_finite(&a, "x.npy", "TPSF"), FL_OK);
    fl_npy_f32(&a)[1 * 12 + 2 * 4 + 3] = NAN;
    cr_assert_eq(fl_npy_check_finite(&a, "x.npy", "TPSF"), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "x.npy: TPSF is NaN at [1,2,3]");
    fl_npy_f32(&a)[1 * 12 + 2 * 4 + 3] = 0;
    fl_npy_f32(&a)[5] = -INFINITY;
    cr_assert_eq(fl_npy_check_finite(&a, "x.npy", "TPSF"), FL_E_INPUT);
    cr_assert_str_eq(fl_error(), "x.npy: TPSF is Inf at [0,1,1]");
    fl_npy_free(&a);
}

Test(npy, unwritable_destination_fails_and_leaves_nothing)
{
    fl_npy a;
    size_t shape[1] = {3};
    fl_npy_alloc(&a, FL_F64, 1, shape);
    cr_assert_eq(fl_npy_save("/nonexistent-dir/out.npy", &a), FL_E_IO);
    cr_assert(strstr(fl_error(), "/nonexistent-dir/out.npy") != NULL);
    fl_npy_free(&a);
}

Test(npy, info_command_prints_dtype_shape_and_rejects_bad_file)
{
    char *dir = tu_tmpdir("npy");
    fl_npy a;
    size_t shape[2] = {4, 135};
    fl_npy_alloc(&a, FL_U16, 2, shape);
    ((unsigned short *)a.data)[3] = 9;
    char path[4096];
    snprintf(path, sizeof path, "%s/c.npy", dir);
    fl_npy_save(path, &a);
    char *out, *err;
    cr_assert(eq(int, tu_run_cli(&out, &err, "info", path, NULL), 0));
    cr_assert(strstr(out, "uint16 [4,135]") != NULL, "%s", out);
    cr_assert(strstr(out, "max 9") != NULL, "%s", out);
    free(out);
    free(err);
    char *bad = tu_write_file(dir, "bad.npy", "\x93NUMPY\x01");
    cr_assert(eq(int, tu_run_cli(&out, &err, "info", bad, NULL), 2));
    cr_assert(strstr(err, "bad.npy") != NULL && strchr(err, '\n') == err + strlen(err) - 1,
              "one line naming the file: %s", err);
    fl_npy_free(&a);
    free(out);
    free(err);
    free(bad);
    free(dir);
}
