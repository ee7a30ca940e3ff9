/* fuzz_vectors.c - the test-vector reader (fligru/vectors.h) on any bytes.
 *
 * The input is three files separated by NUL bytes: manifest.csv, fx_params.h
 * and one hex file (named in the manifest or not). They are written into a
 * directory of this process's own, opened as a vector set, and every hex file
 * the manifest lists is read, up to a size that bounds the work; the hex part
 * is also read directly with the word width its first byte names. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "fligru/vectors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir(void)
{
    static char d[64];
    if (!d[0]) {
        snprintf(d, sizeof d, "/tmp/fligru-fuzz-vec-%ld", (long)getpid());
        mkdir(d, 0700);
    }
    return d;
}

/* Writes part [p, end) up to the next NUL as DIR/name; returns the next part. */
static const uint8_t *put(const char *name, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *z = memchr(p, 0, (size_t)(end - p));
    const uint8_t *stop = z ? z : end;
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fwrite(p, 1, (size_t)(stop - p), f);
    fclose(f);
    return z ? z + 1 : end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const uint8_t *p = data, *end = data + n;
    p = put("manifest.csv", p, end);
    p = put("fx_params.h", p, end);
    const uint8_t *hex = p;
    put("output.hex", p, end);
    fl_vec_set vs;
    if (fl_vec_open(dir(), &vs) == FL_OK) {
        for (size_t i = 0; i < vs.nfiles; ++i) {
            uint64_t *w;
            size_t k;
            if (vs.files[i].ndims && fl_vec_words(&vs.files[i]) <= 4096 &&
                fl_vec_read(&vs, vs.files[i].file, &w, &k) == FL_OK)
                free(w);
        }
        long v;
        fl_vec_param_get(&vs, "W_BITS", &v);
    }
    fl_vec_close(&vs);
    if (hex < end) {
        char path[128];
        uint64_t *w;
        size_t k;
        snprintf(path, sizeof path, "%s/output.hex", dir());
        if (fl_vec_read_hex(path, 1 + hex[0] % 64, (size_t)(end - hex) / 2 + 1, &w, &k) == FL_OK) free(w);
    }
    return 0;
}
