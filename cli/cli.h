/* cli.h - the fligru command-line tool: one program, git-style subcommands.
 *
 * Each subcommand lives in cmd_<name>.c as `int cmd_<name>(int argc, char **argv)`
 * (argv[0] is the subcommand name), parses its options with getopt_long,
 * answers --help, and returns the process exit status: 0 success,
 * 2 bad input (the one-line message already printed), 1 other failure.
 */
#ifndef FLIGRU_CLI_H
#define FLIGRU_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include "fligru/lifetime.h"
#include "fligru/status.h"

int cmd_info(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_vectors(int argc, char **argv);
int cmd_cosim(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_distill(int argc, char **argv);
int cmd_sweep(int argc, char **argv);    /* bench/sweep (linked from bench/CMakeLists.txt) */
int cmd_collect(int argc, char **argv);
int cmd_lifetime(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_compare(int argc, char **argv);
/* `fligru cosim --model Q --lanes P --engines E` (cosim_ondemand.c): the
 * co-simulation of any model the RTL can run, built on first use. */
typedef struct {
    const char *model, *input, *float_model, *json, *cache, *work, *trace_dir, *name;
    int         lanes, engines, interleave, trace;
    long        pixels;   /* 0: all of --input; the synthetic batch: 64 */
    uint64_t    seed;
} cli_cosim_opts;
int cli_cosim_ondemand(const cli_cosim_opts *o);
/* Runs a co-simulation executable (args[0], NULL-terminated) without SystemC's
 * banner; its exit status, -1 when it could not run or did not exit. */
int cli_run_cosim(const char *const *args);

/* The shared driver of train (distill = 0) and distill (1), in cmd_train.c. */
int cli_train_main(int argc, char **argv, int distill);

/* Prints "fligru: <fl_error()>" on stderr and returns the exit status for st. */
int cli_fail(fl_status st);
/* ---- arguments (cli_args.c) ---------------------------------------------------- */

/* Prints "fligru <cmd>: <msg>" plus a --help hint and returns 2 (usage error). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One option of a subcommand (not --help): key is getopt's value, arg its
 * argument (NULL for a flag). Returns -1 to go on, else the exit status (a
 * usage error: return cli_usage_error(...)). */
typedef int (*cli_opt_fn)(void *ctx, int key, const char *arg);

/* A subcommand's arguments: options (its long options must map --help to 'h')
 * and how many positional arguments it takes. */
typedef struct {
    const char          *name;                 /* "predict": messages          */
    const char          *help;                 /* printed by --help            */
    const char          *shortopts;            /* getopt letters, "ho:"        */
    const struct option *longopts;
    cli_opt_fn           on_opt;               /* every option but --help      */
    int                  min_args, max_args;   /* positional count; max -1: any */
    const char          *args_usage;           /* the error when it is wrong   */
} cli_spec;

/* The one option loop: --help prints spec->help (returns 0), an unknown
 * option or a wrong positional count is a usage error (2), on_opt's non-negative
 * return ends the parse with that status. Returns -1 when the command goes on,
 * with its positional arguments at argv[*first ...]. */
int cli_parse_args(const cli_spec *spec, int argc, char **argv, void *ctx, int *first);

/* "fligru ARGV..." into buf (provenance of written files); call it before
 * cli_parse_args, which permutes argv. */
void cli_command_line(int argc, char **argv, char *buf, size_t n);

/* Numeric option values: 0 and *v set, or -1. */
int cli_parse_long(const char *s, long lo, long hi, long *v);   /* an integer in [lo, hi] */
int cli_parse_positive(const char *s, double *v);               /* a finite number > 0    */
int cli_parse_threads(const char *s, int *n);                   /* 1..1024                */

/* Options several commands share, parsed with one message each (naming cmd):
 * -1 when taken, else cli_usage_error's status, as a cli_opt_fn returns. */
int cli_opt_threads(const char *cmd, const char *arg, int *threads);          /* --threads       */
int cli_opt_gate_width(const char *cmd, const char *arg, double *gate_ns);    /* --gate-width-ns */
int cli_opt_tau_estimator(const char *cmd, const char *arg, fl_tau_method *m); /* --tau-estimator */

/* A loaded model of any kind (float or fixed-point Seq2Seq), behind one
 * forward call: x [n][T][input] -> y [n][T][outputs]. In cli_model.c. */
typedef struct {
    int input, outputs;
    void *ctx;
    fl_status (*forward)(void *ctx, const float *x, size_t n, int T, float *y);
    void (*release)(void *ctx);
} cli_predictor;
/* Opens a model file by its "format" metadata; p->release(p->ctx) frees it. */
fl_status cli_open_model(const char *path, cli_predictor *p);

/* Per-pixel lifetimes as written by lifetime and fit (cli_maps.c): DIR/tau1.npy,
 * tau2.npy, a.npy, tau_m.npy (float32, the sample axes' shape, NaN where no
 * estimate), status.npy when given, and for [H,W] inputs PNG maps rendered by
 * gnuplot with DIR/map.gp (written beside them). All files or none. */
typedef struct {
    const char          *dir;
    int                  sample_axes;   /* 1: [N]; 2: [H,W] (maps)            */
    const size_t        *shape;         /* the sample axes                    */
    size_t               n;             /* product of shape                   */
    const double        *est;           /* [n][4]: tau1, tau2, a, tau_m       */
    const unsigned char *status;        /* [n] or NULL                        */
    int                  plot;          /* 0: no PNG maps                     */
    const char          *source;        /* the input file, for map titles     */
} cli_lifetime_out;
fl_status cli_write_lifetimes(const cli_lifetime_out *o);
/* Refuses (FL_E_INPUT, the file named) when one of the files that
 * cli_write_lifetimes would write in dir is the input or the IRF; and one
 * name in dir, for a command's own outputs. */
fl_status cli_check_lifetime_outputs(const char *dir, const char *in, const char *irf);
fl_status cli_check_output_in(const char *dir, const char *name, const char *in, const char *irf);
/* Runs `gnuplot -e VARS SCRIPT` (output discarded); FL_E_IO on failure. */
fl_status cli_gnuplot(const char *vars, const char *script, const char *what);

#endif
