/* fuzz_safetensors.c - safetensors files as a container, a float model and a
 * quantised model; whatever loads is run forward. */
#include "fuzz.h"
#include "fligru/fxmodel.h"
#include "fligru/model_io.h"
#include "fligru/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n);
    fl_st_file f;
    if (fl_st_load(path, &f) == FL_OK) fl_st_free(&f);
    fl_s2s m;
    if (fl_model_load(path, &m, NULL) == FL_OK) {
        fuzz_forward_float(&m);
        fl_s2s_free(&m);
    }
    fl_fx_model q;
    if (fl_fx_load(path, &q) == FL_OK) {
        fuzz_forward_fx(&q);
        fl_fx_model_free(&q);
    }
    return 0;
}
