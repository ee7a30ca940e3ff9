/* hwmodel.h - analytic hardware models of the fligru accelerator (rtl/) for
 * design-space sweeps: timing, memory system, FPGA resources, device fit.
 *
 * `fligru sweep` calls these once per design point. Timing is the RTL's
 * schedule in closed form (docs/rtl.md): 2T phases of Q = ceil(3H^2/P) beats
 * per pixel per engine, plus the scoreboard stall of a too-small Interleave;
 * tests/test_hwmodel.c proves it equal to every row of results/rtl/cycles.csv.
 * Resources are a structural count (multipliers -> DSP48 by yosys's 25x18
 * split, memories -> block RAM / LUT RAM by size) with coefficients fitted to
 * yosys runs (results/hw-calibration/synth.csv, refit by bench/hw/calibrate);
 * the coefficients live only in configs/hw-model.yaml, compiled in as the
 * default. Points the RTL does not build (stacked layers, E != D) get the same
 * model extended, and rtl_supported = 0. docs/sweep.md explains each model.
 *
 *     fl_hw_point p;  fl_hw_point_default(&p);          // 32-unit student, P = 8
 *     p.lanes = 32;  p.clock_mhz = 200;
 *     fl_hw_timing t;  fl_hw_timing_eval(&p, &t);        // t.frames_per_s
 *     fl_hw_resources r;  fl_hw_resources_eval(&p, NULL, &r);  // NULL: built-in coefficients
 *     fl_hw_devices *d;  fl_hw_devices_load("configs/devices.yaml", &d);  // fl_hw_device_find
 *
 * Limits: resources are yosys synth_xilinx estimates for 7-series (no place
 * and route, no clock); the clock is an input, not a result. UltraScale+ parts
 * are checked against the same counts (their 27x18 DSP48E2 can only need
 * fewer). The gate-major dataflow is modelled for memory only: the RTL runs
 * pixel-major.
 */
#ifndef FLIGRU_HWMODEL_H
#define FLIGRU_HWMODEL_H

#include <stdint.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { FL_HW_PIXEL_MAJOR = 0, FL_HW_GATE_MAJOR = 1 } fl_hw_dataflow;
typedef enum { FL_HW_ACT_TABLE = 0, FL_HW_ACT_HARD = 1 } fl_hw_act;

/* One design point: network shape, schedule, word lengths, clock, frame. */
typedef struct {
    int enc_hidden, dec_hidden;   /* units per layer; the RTL needs them equal     */
    int layers;                   /* GRU layers per side; the RTL needs 1          */
    int outputs;                  /* C, dense outputs per decoder step             */
    int steps;                    /* T, gates per TPSF                             */
    double gate_width_ns;         /* gate spacing (metadata; not in the timing)    */
    int lanes;                    /* P, MAC lanes per engine, 1..3H                */
    int engines;                  /* E, engines sharing the weight stream, 1..16   */
    int interleave;               /* K, pixels in flight per engine; 0 = default   */
    int reset_after;              /* 1 reset-after, 0 reset-before                 */
    int input_bits, weight_bits, bias_bits, acc_bits, mult_bits;
    int gate_bits, act_bits, state_bits, output_bits;
    fl_hw_act sigmoid, tanh;      /* table or hard                                 */
    int sigmoid_size_log2, tanh_size_log2;  /* table entries 2^n                   */
    int pow2;                     /* 1: power-of-two scales, no rescale multipliers */
    double clock_mhz;
    int frame_width, frame_height;  /* pixels; 512 x 512 by default               */
    fl_hw_dataflow dataflow;
} fl_hw_point;

/* The 32-unit Seq2SeqLite student in the fx-default format (configs/fx-default.yaml)
 * at T = 135 x 90 ps, C = 3, reset-before, P = 8, E = 1, 222.2 MHz (the
 * authors' 4.5 ns target), 512 x 512 frames, pixel-major. */
void fl_hw_point_default(fl_hw_point *p);

/* FL_E_INPUT naming the field when a value is outside what the model covers. */
fl_status fl_hw_point_check(const fl_hw_point *p);

/* Applies "Name=value ..." parameters of rtl/fligru_top.sv (as in the params
 * column of results/rtl/synth.csv) onto p; names it does not model (Frac,
 * Rounding, GateOrderZrn, ...) are ignored, malformed text is an error. */
fl_status fl_hw_point_from_params(const char *params, fl_hw_point *p);

/* 1 when rtl/ builds this point (L = 1, E = D, P <= 3H, E <= 16). */
int fl_hw_rtl_supported(const fl_hw_point *p);

/* Multiply-accumulates per pixel (docs/rtl.md "Efficiency", extended to L layers). */
double fl_hw_macs_per_pixel(const fl_hw_point *p);

typedef struct {
    int64_t beats_per_step;       /* lane beats of one encoder + one decoder step  */
    int     interleave;           /* K in use                                      */
    int     delay;                /* reset-before: phases from part a to part b    */
    double  phase_cycles;         /* average cycles per phase incl. stalls         */
    int     stalls;               /* 1 when the scoreboard stalls (K too small)    */
    double  cycles_per_pixel_engine;  /* one engine, steady state                  */
    double  cycles_per_pixel;     /* the accelerator (all E engines)               */
    int64_t latency_cycles;       /* first sample in -> last output out, one pixel */
    double  latency_us;
    double  pixels_per_s;
    double  frames_per_s;         /* frame_width x frame_height                    */
    double  efficiency;           /* lane MACs / (cycles x P) per engine, <= 1     */
} fl_hw_timing;

fl_status fl_hw_timing_eval(const fl_hw_point *p, fl_hw_timing *t);

/* ---- resources -------------------------------------------------------- */

#define FL_HW_NFEAT 5   /* coefficients per resource: see docs/sweep.md */
enum { FL_HW_LUT, FL_HW_FF, FL_HW_DSP, FL_HW_BRAM, FL_HW_LUTRAM, FL_HW_NRES };

/* The calibrated coefficients (configs/hw-model.yaml). */
typedef struct {
    double coef[FL_HW_NRES][FL_HW_NFEAT];
    int    bram_min_bits;         /* a memory of more bits maps to block RAM        */
    double mean_rel_err[FL_HW_NRES], max_rel_err[FL_HW_NRES];  /* calibration error  */
    char   source[128];           /* provenance line of the file                    */
} fl_hw_coefs;

/* The coefficients compiled in from configs/hw-model.yaml (parsed once). */
const fl_hw_coefs *fl_hw_coefs_builtin(void);
fl_status fl_hw_coefs_load(const char *path, fl_hw_coefs *c);
/* Writes c as configs/hw-model.yaml text (the calibration tool's output). */
fl_status fl_hw_coefs_save(const char *path, const fl_hw_coefs *c, const char *provenance);

/* The structural features the coefficients multiply, per resource. */
void fl_hw_features(const fl_hw_point *p, int bram_min_bits, double f[FL_HW_NRES][FL_HW_NFEAT]);

typedef struct {
    int64_t lut, ff, dsp, bram18, lutram;
} fl_hw_resources;

/* c = NULL: the built-in coefficients. */
fl_status fl_hw_resources_eval(const fl_hw_point *p, const fl_hw_coefs *c, fl_hw_resources *r);

/* ---- devices ---------------------------------------------------------- */

typedef struct {
    char    name[32], family[16], part[48], board[160];
    int64_t lut, ff, dsp, bram18, uram;
    double  dram_gbs, dram_gb;
} fl_hw_device;

typedef struct {
    int           n;
    fl_hw_device *dev;
    double        dram_efficiency;
    char          path[256];
} fl_hw_devices;

/* Every key is checked: an unknown or missing one fails naming file, line and key. */
fl_status fl_hw_devices_load(const char *path, fl_hw_devices **out);
void      fl_hw_devices_free(fl_hw_devices *d);
/* NULL, with the error message recorded (naming the catalog), when absent. */
const fl_hw_device *fl_hw_device_find(const fl_hw_devices *d, const char *name);

typedef struct {
    double lut_pct, ff_pct, dsp_pct, bram_pct, max_pct;
    int    fits;                  /* every class <= 100 % */
} fl_hw_fit;

void fl_hw_fits(const fl_hw_device *d, const fl_hw_resources *r, fl_hw_fit *f);

/* ---- memory system ---------------------------------------------------- */

typedef struct {
    int64_t frame_bytes;          /* one frame's T gate images                      */
    int64_t state_bytes;          /* every pixel's hidden state (gate-major)        */
    int64_t buffer_bytes;         /* what the dataflow must hold                    */
    int     onchip;               /* 1: the buffer fits in the device's free RAM    */
    double  offchip_gbs;          /* DRAM traffic at t->frames_per_s, GB/s          */
    double  dram_limit_gbs;       /* dram_gbs x dram_efficiency                     */
    int     sustained;            /* fits on chip or in DRAM and traffic <= limit   */
} fl_hw_memory;

/* r: the point's resources (the block RAM it already uses is not free). */
fl_status fl_hw_memory_eval(const fl_hw_point *p, const fl_hw_timing *t,
                            const fl_hw_resources *r, const fl_hw_device *d,
                            double dram_efficiency, fl_hw_memory *m);

#ifdef __cplusplus
}
#endif
#endif
