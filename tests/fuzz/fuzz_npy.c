/* fuzz_npy.c - the .npy reader (fl_npy_load, _f32, _data) on any bytes. */
#include "fuzz.h"
#include "fligru/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n);
    fl_npy a;
    if (fl_npy_load(path, &a) == FL_OK) {
        fl_npy_check_finite(&a, path, "value");
        char s[200];
        fl_npy_shape_str(&a, s, sizeof s);
        fl_npy_free(&a);
    }
    if (fl_npy_load_data(path, "input", &a) == FL_OK) fl_npy_free(&a);
    return 0;
}
