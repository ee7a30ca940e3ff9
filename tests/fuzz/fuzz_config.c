/* fuzz_config.c - every config loader on the same bytes: synth, train and
 * distill, fixed-point formats, sweeps, the device catalog and the resource
 * coefficients. Each must answer FL_OK or one error, never crash. */
#include "fuzz.h"
#include "fligru/fxmodel.h"
#include "fligru/synth.h"
#include "fligru/train.h"
#include "fligru_hw/hwmodel.h"
#include "fligru_sweep/sweep.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file(data, n);
    fl_synth_params sp;
    fl_synth_params_from_yaml(path, &sp);
    fl_train_config *tc = malloc(sizeof *tc);
    if (tc) {
        fl_train_config_from_yaml(path, 0, tc);
        fl_train_config_from_yaml(path, 1, tc);
        free(tc);
    }
    fl_fx_format f;
    fl_fx_format_parse((const char *)data, n, "fuzz.yaml", &f);
    fl_hw_devices *d = NULL;
    if (fl_hw_devices_load(path, &d) == FL_OK) fl_hw_devices_free(d);
    fl_hw_coefs c;
    fl_hw_coefs_load(path, &c);
    fl_sweep *s = NULL;
    if (fl_sweep_load(path, &s) == FL_OK) fl_sweep_free(s);
    return 0;
}
