/* sweep.h - design-space sweeps: a YAML grid -> one results table.
 *
 * `fligru sweep CONFIG.yaml` (docs/sweep-run.md) expands a grid of design points
 * (network, hidden sizes, bit widths, activation, KD, QAT, MAC lanes, engines,
 * clock, device, dataflow, T, gate width), trains the model each point needs (once:
 * models are cached under a hash of everything that determines them, so hardware
 * axes never retrain), scores the bit-exact fixed-point model on a held-out and a
 * mono-exponential set, asks bench/hw for timing, memory and resources, and writes
 * one JSON per point and results.csv.
 *
 *     fl_sweep *s;
 *     if (fl_sweep_load("configs/default.yaml", &s)) die(fl_error());  // every check
 *     fl_sweep_opts o = {.out_root = "results", .cache = "out/sweep-cache", .jobs = 2};
 *     char run[4096];  size_t failed, done, missing;
 *     fl_sweep_prepare(s, &o, run, sizeof run);            // results/<run>/points.csv
 *     fl_sweep_run_local(s, &o, run, "/path/to/fligru", &failed);  // children: --point k
 *     fl_sweep_collect(run, &done, &failed, &missing);     // results.csv
 *     fl_sweep_free(s);
 *
 * A point's result file is written atomically and only when the point is complete,
 * so a sweep killed at any moment and run again redoes only the unfinished points.
 * Every column of results.csv is a function of the config and the code (the
 * training time, a wall-clock figure, is in the point's JSON only): the same bytes for any -j and
 * thread count, and after any interruption.
 * Limits: points in a grid: FL_SWEEP_MAX_POINTS; devices: whatever bench/hw's
 * catalog holds.
 */
#ifndef FLIGRU_SWEEP_H
#define FLIGRU_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include "fligru/io.h"
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FL_SWEEP_PATH_MAX  4096
#define FL_SWEEP_MAX_POINTS 100000

/* The axes, in the order of results.csv's columns (docs/sweep.md). */
typedef enum {
    FL_AX_NETWORK = 0,   /* 0 seq2seq (teacher architecture: 2 layers, reset-after) |
                            1 seq2seqlite (1 layer, reset-before)                      */
    FL_AX_ENC_HIDDEN,    /* E                                                         */
    FL_AX_DEC_HIDDEN,    /* D                                                         */
    FL_AX_OUTPUTS,       /* C: 1 or 3                                                 */
    FL_AX_WEIGHT_BITS,   /* 2..16 fixed point; 0: the float32 model                    */
    FL_AX_STATE_BITS,    /* carried state Q(b, b-2); 0 for float                      */
    FL_AX_ACC_BITS,      /* accumulator width (binary point: auto); 0 for float       */
    FL_AX_ACT,           /* 0 table (logistic sigmoid) | 1 hard (trained and run hard) */
    FL_AX_KD,            /* distilled from the teacher                                */
    FL_AX_QAT,           /* quantisation-aware training at the point's widths         */
    FL_AX_LANES,         /* P, MAC lanes per engine                                   */
    FL_AX_ENGINES,       /* engines (pixels in flight)                                */
    FL_AX_CLOCK_MHZ,
    FL_AX_DEVICE,        /* index into fl_sweep.devices                               */
    FL_AX_DATAFLOW,      /* 0 pixel_major | 1 gate_major                              */
    FL_AX_STEPS,         /* T                                                         */
    FL_AX_GATE_WIDTH_NS,
    FL_AX_COUNT
} fl_sweep_axis;

const char *fl_sweep_axis_name(fl_sweep_axis a);

typedef struct {
    double v[FL_AX_COUNT];   /* every axis as a number (enums: index; bools: 0/1) */
    int    line[FL_AX_COUNT];/* YAML line the value came from                     */
    char   id[17];           /* hash of everything the point's result depends on */
    char   model_id[17];     /* hash of the trained model (hardware axes excluded) */
    char   teacher_id[17];   /* KD from a trained teacher: its model id; else ""  */
} fl_sweep_point;

static inline int fl_sweep_int(const fl_sweep_point *p, fl_sweep_axis a) { return (int)p->v[a]; }

typedef struct {
    char     name[128];                    /* the config's run: results/<run>/    */
    char     path[FL_SWEEP_PATH_MAX];      /* the config file                     */
    /* training (paths resolved) */
    char     teacher_cfg[FL_SWEEP_PATH_MAX], student_cfg[FL_SWEEP_PATH_MAX];
    char     distill_cfg[FL_SWEEP_PATH_MAX], fx_cfg[FL_SWEEP_PATH_MAX];
    char     data_cfg[FL_SWEEP_PATH_MAX];
    char     teacher_model[FL_SWEEP_PATH_MAX]; /* "" : always train the teacher     */
    size_t   train_samples;                /* 0: the data config's                 */
    int      epochs, teacher_epochs;       /* 0: the training config's             */
    size_t   batch;                        /* 0: the training config's             */
    /* evaluation */
    char     test_cfg[FL_SWEEP_PATH_MAX], mono_cfg[FL_SWEEP_PATH_MAX];
    size_t   test_samples, mono_samples;
    uint64_t test_seed;                    /* seed of the held-out test set        */
    long     dtw_band;                     /* < 0: unconstrained                   */
    /* hardware */
    char     devices_path[FL_SWEEP_PATH_MAX];
    char   **devices;                      /* names used by the grid               */
    size_t   n_devices;
    char     plots[4][FL_SWEEP_PATH_MAX];  /* scripts run as `sh SCRIPT RUN_DIR` at the end */
    int      n_plots;
    struct sweep_base *base;               /* the base configs and device catalog,
                                              parsed once (private: sweep_internal.h) */
    /* the grid */
    fl_sweep_point *points;
    size_t   n_points;
    size_t   n_before_constraints;
} fl_sweep;

/* Reads, expands and checks everything: unknown keys, axis values outside what the
 * models and the RTL support, devices missing from the catalog, constraints that
 * do not parse, an empty grid. One line "file:line: key: what" (FL_E_INPUT). */
fl_status fl_sweep_load(const char *path, fl_sweep **out);
void      fl_sweep_free(fl_sweep *s);

typedef struct {
    const char *out_root;     /* results/<name> lives here ("results")            */
    const char *cache;        /* model and data cache ("out/sweep-cache")         */
    int         jobs;         /* points in parallel                               */
    int         threads;      /* threads per point (0: cores / jobs, at least 1)  */
    fl_progress progress;     /* on stderr, while local children run              */
    int         no_plots;     /* skip the plot and table scripts                  */
} fl_sweep_opts;

/* Where the sweep's plot and table scripts are: $FLIGRU_SCRIPTS_DIR, else
 * the scripts/ folder the build was configured with. */
const char *fl_sweep_scripts_dir(void);

/* results/<name>: creates it and writes the manifest points.csv (and sweep.yaml, a
 * copy of the config). A manifest already there must list the same points. */
fl_status fl_sweep_prepare(const fl_sweep *s, const fl_sweep_opts *o, char *run_dir, size_t n);

/* Evaluates point k in this process and writes points/<id>.json atomically (a no-op
 * when it exists). Trains (under a file lock) what the cache lacks. */
fl_status fl_sweep_run_point(const fl_sweep *s, const fl_sweep_opts *o, const char *run_dir, size_t k);

/* Runs every unfinished point as `self sweep CONFIG --point k` child processes, at
 * most o->jobs at once, with a progress display on stderr. Returns FL_OK when every
 * point finished; *failed gets the count of failed points. */
fl_status fl_sweep_run_local(const fl_sweep *s, const fl_sweep_opts *o, const char *run_dir,
                             const char *self, size_t *failed);

/* Writes RUN_DIR/slurm/sweep.sbatch (a job array, one task per unfinished point)
 * and submits it with sbatch unless submit is 0. job_id receives sbatch's id. */
fl_status fl_sweep_run_slurm(const fl_sweep *s, const fl_sweep_opts *o, const char *run_dir,
                             const char *self, const char *sbatch_args, int submit,
                             char *job_id, size_t n);

/* results.csv from the manifest and points/<id>.json (atomically); counts of the
 * points done, failed (<id>.failed.json) and not evaluated yet (no row). */
fl_status fl_sweep_collect(const char *run_dir, size_t *done, size_t *failed, size_t *missing);

/* Runs the plot/table scripts on a finished run directory, if present. */
void fl_sweep_plots(const char *run_dir, const char *script);

/* FNV-1a 64 of a string, as 16 lower-case hex digits. */
void fl_sweep_hash(const char *text, char out[17]);

#ifdef __cplusplus
}
#endif
#endif
