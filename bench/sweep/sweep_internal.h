/* sweep_internal.h - what the sweep's modules share (not a public API).
 * Who calls whom, one way only:  config.c -> expr.c, design.c, hw.c, point.c;
 * eval.c -> design.c, hw.c, point.c;  exec.c -> point.c;  point.c -> design.c,
 * hw.c;  hw.c -> design.c;  design.c and expr.c call no other file. */
#ifndef FLIGRU_SWEEP_INTERNAL_H
#define FLIGRU_SWEEP_INTERNAL_H

#include <stdio.h>
#include "fligru_sweep/sweep.h"
#include "fligru/fxmodel.h"
#include "fligru/synth.h"
#include "fligru/train.h"
#include "fligru/yaml.h"

/* ---- constraints (expr.c) ----------------------------------------------------
 * A tiny arithmetic language over the axes: numbers, axis names, the aliases
 * P (lanes), H (max of enc_hidden, dec_hidden), T (steps); the enum words
 * (seq2seq, seq2seqlite, table, hard, pixel_major, gate_major, true, false);
 * "quoted" device names; + - * / %, comparisons (also ≤ ≥), && || !, min(a,b),
 * max(a,b), parentheses, and "3H" for 3*H. Returns FL_E_INPUT naming node's line. */
fl_status sweep_expr_eval(const fl_yaml *y, const fl_yaml_node *node, const char *text,
                          const fl_sweep *s, const fl_sweep_point *p, double *out);

/* ---- what a point is (design.c) ------------------------------------------------ */

/* The run's base configs, parsed once by fl_sweep_load (fl_sweep.base). */
struct sweep_base {
    fl_train_config teacher, student, distill;   /* the training configs             */
    fl_fx_format    fx;                          /* the base fixed-point format      */
    fl_synth_params data, test, mono;            /* training, held-out, mono sets    */
    void           *catalog;                     /* fl_hw_devices, owned by hw.c     */
};
typedef struct sweep_base sweep_base;

fl_status sweep_base_load(fl_sweep *s);
void      sweep_base_free(fl_sweep *s);
const fl_fx_format *sweep_base_fx(const fl_sweep *s);
int       sweep_axis_of(const char *name);   /* -1: no such axis */

/* The data sets of a point. */
typedef enum { SWEEP_SET_TRAIN = 0, SWEEP_SET_TEST, SWEEP_SET_MONO } sweep_set;

/* Synth parameters of one of a point's data sets at its T, gate width and C. */
fl_status sweep_synth_params(const fl_sweep *s, const fl_sweep_point *p, sweep_set which, fl_synth_params *out);

/* The training config of a point (is_teacher: the teacher a KD point distils
 * from); *distill = 1 for a KD student. Paths in it are not set. */
fl_status sweep_train_config(const fl_sweep *s, const fl_sweep_point *p, int is_teacher,
                             fl_train_config *c, int *distill);

/* The fixed-point format of a point (fixed-point points only). */
fl_status sweep_fx_format(const fl_sweep *s, const fl_sweep_point *p, fl_fx_format *f);

/* ---- names of a point (point.c) ---------------------------------------------------- */

/* Canonical text of a training run (everything that determines the model's
 * bytes) into a malloc'd string; teacher_key: the teacher's id or file hash. */
char *sweep_model_key(const fl_train_config *c, int distill, const fl_synth_params *data,
                      const char *teacher_key);
char *sweep_synth_key(const fl_synth_params *p);

/* Fills p->model_id, p->teacher_id and p->id. */
fl_status sweep_point_ids(const fl_sweep *s, fl_sweep_point *p);

/* Whether the teacher file may be used for this point (exists, right T and C). */
int sweep_teacher_file_ok(const fl_sweep *s, const fl_sweep_point *p);

/* ---- hardware (hw.c): the one place that calls bench/hw ------------------------ */

/* How much of the hardware columns a point has. */
typedef enum {
    SWEEP_HW_NONE = 0,     /* columns left empty (the model failed)          */
    SWEEP_HW_TIMING,       /* timing only (a float point: no datapath to size) */
    SWEEP_HW_ALL           /* timing, resources, device fit, memory            */
} sweep_hw_have;

typedef struct {
    sweep_hw_have have;
    double cycles_per_pixel;
    long long latency_cycles;
    double latency_us, pixels_per_s, frames_per_s;
    long long lut, ff, dsp, bram18, lutram;
    int    fits;
    double util_max_pct;
    long long buffer_bytes;
    double offchip_gbs;
    int    mem_ok, rtl_supported;
} sweep_hw;

/* The device catalog (s->devices_path), loaded once into s->base->catalog. */
fl_status sweep_hw_catalog_load(fl_sweep *s);
void      sweep_hw_catalog_free(fl_sweep *s);
/* Whether the catalog has the device `name`. */
fl_status sweep_hw_device_known(const fl_sweep *s, const char *name, int *known);
/* Checks a point against what the hardware model and the RTL accept; fails with a
 * message that the caller prefixes with file:line. */
fl_status sweep_hw_check(const fl_sweep *s, const fl_sweep_point *p);
fl_status sweep_hw_eval(const fl_sweep *s, const fl_sweep_point *p, sweep_hw *out);
/* The hardware model's calibration as text, part of every point's id. */
void sweep_hw_key(char *buf, size_t n);

/* ---- files (point.c) --------------------------------------------------------- */
void  sweep_row_prefix(const fl_sweep *s, const fl_sweep_point *p, size_t k, char *buf, size_t n);
extern const char *const SWEEP_CSV_HEADER;

/* Small helpers shared by eval.c and exec.c (point.c). */
int    sweep_exists(const char *path);   /* stat() succeeds                    */
double sweep_now_s(void);                /* CLOCK_MONOTONIC, seconds            */

#endif
