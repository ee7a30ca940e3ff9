/* cmd_train.c - `fligru train CONFIG.yaml -o MODEL.safetensors`: train a Seq2Seq
 * model; also the shared driver of `fligru distill` (cmd_distill.c). */
#include "cli.h"

#include "fligru/io.h"
#include "fligru/train.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out, int distill)
{
    const char *cmd = distill ? "distill" : "train";
    fprintf(out, "usage: fligru %s CONFIG.yaml %s-o MODEL.safetensors [options]\n\n", cmd,
            distill ? "--teacher T.safetensors " : "");
    if (distill)
        fputs("Distils a student from a teacher model: loss = alpha * MSE(student, teacher)\n"
              "+ (1 - alpha) * loss(student, truth), alpha from distill.alpha (default 0.6).\n",
              out);
    else
        fputs("Trains a Seq2Seq model on fligru synth directories (tpsf.npy, target.npy).\n", out);
    fputs("The config (YAML) is documented in docs/training.md. Writes MODEL (the best\n"
          "weights when early_stop.restore_best), MODEL.curve.csv (the learning curve) and\n"
          "MODEL.ckpt.safetensors (weights plus training state, for --resume). The model\n"
          "file is byte-identical for any thread count.\n\n"
          "options:\n"
          "  -o, --output FILE    the model (.safetensors); never written on bad input\n", out);
    if (distill) fputs("  -t, --teacher FILE   the teacher model (C must match the student's)\n", out);
    fputs("      --resume CKPT    continue a run from its checkpoint, exactly\n"
          "      --data DIR       training data directory (replaces data.train)\n"
          "      --val DIR        validation directory (replaces data.val / val_fraction)\n"
          "      --epochs N       replaces train.epochs (the total, counting resumed ones)\n"
          "      --time-limit S   stop after the epoch that passes S seconds\n"
          "      --progress MODE  auto (bar on a terminal), bar, lines or quiet\n"
          "  -j, --threads N      worker threads (default: OMP_NUM_THREADS or all cores)\n"
          "  -h, --help           this text\n", out);
}

typedef struct {
    const char *config, *out, *resume, *teacher, *data, *val;
    int threads, epochs;
    double time_limit;
    fl_progress progress;
} train_args;

static int parse_num(const char *s, double lo, double hi, double *v)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno || !(x >= lo && x <= hi)) return -1;
    *v = x;
    return 0;
}

enum { O_RESUME = 256, O_DATA, O_VAL, O_EPOCHS, O_TIME, O_PROGRESS };

typedef struct {
    train_args *a;
    int         distill;
} train_ctx;

static int on_opt(void *ctx, int key, const char *arg)
{
    train_args *a = ((train_ctx *)ctx)->a;
    const int distill = ((train_ctx *)ctx)->distill;
    const char *cmd = distill ? "distill" : "train";
    double v;
    switch (key) {
    case 'o': a->out = arg; return -1;
    case 't':
        if (!distill) return cli_usage_error(cmd, "--teacher belongs to fligru distill");
        a->teacher = arg;
        return -1;
    case 'j':
        if (cli_parse_threads(arg, &a->threads)) return cli_usage_error(cmd, "bad --threads '%s'", arg);
        return -1;
    case O_RESUME: a->resume = arg; return -1;
    case O_DATA: a->data = arg; return -1;
    case O_VAL: a->val = arg; return -1;
    case O_EPOCHS:
        if (parse_num(arg, 1, 1000000, &v) || v != (int)v)
            return cli_usage_error(cmd, "bad --epochs '%s' (an integer in [1, 1e6])", arg);
        a->epochs = (int)v;
        return -1;
    case O_TIME:
        if (parse_num(arg, 0, 1e9, &v) || !(v > 0)) return cli_usage_error(cmd, "bad --time-limit '%s' (seconds > 0)", arg);
        a->time_limit = v;
        return -1;
    case O_PROGRESS:
        if (fl_progress_parse(arg, &a->progress))
            return cli_usage_error(cmd, "bad --progress '%s' (auto, bar, lines or quiet)", arg);
        return -1;
    default: return cli_usage_error(cmd, "unknown option");
    }
}

/* Returns -1 when the arguments are fine, else the exit status. */
static int parse_args(int argc, char **argv, int distill, train_args *a)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},     {"teacher", required_argument, NULL, 't'},
        {"threads", required_argument, NULL, 'j'},    {"resume", required_argument, NULL, O_RESUME},
        {"data", required_argument, NULL, O_DATA},    {"val", required_argument, NULL, O_VAL},
        {"epochs", required_argument, NULL, O_EPOCHS}, {"time-limit", required_argument, NULL, O_TIME},
        {"progress", required_argument, NULL, O_PROGRESS}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *cmd = distill ? "distill" : "train";
    char *help = NULL;   /* the help text differs between train and distill */
    size_t help_n = 0;
    FILE *hf = open_memstream(&help, &help_n);
    if (hf) {
        usage(hf, distill);
        fclose(hf);
    }
    const cli_spec spec = {cmd, help ? help : "", distill ? "o:t:j:h" : "o:j:h", opts, on_opt, 1, 1,
                           "expected exactly one CONFIG.yaml"};
    train_ctx ctx = {a, distill};
    int first, rc = cli_parse_args(&spec, argc, argv, &ctx, &first);
    free(help);
    if (rc >= 0) return rc;
    if (!a->out) return cli_usage_error(cmd, "missing -o MODEL.safetensors");
    if (distill && !a->teacher) return cli_usage_error(cmd, "missing --teacher T.safetensors");
    a->config = argv[first];
    return -1;
}

static fl_status apply_overrides(const train_args *a, fl_train_config *c)
{
    if (a->data) {
        if (strlen(a->data) >= FL_TRAIN_PATH_MAX) return fl_fail(FL_E_INPUT, "--data: path too long");
        c->n_train_dirs = 1;
        snprintf(c->train_dirs[0], FL_TRAIN_PATH_MAX, "%s", a->data);
    }
    if (a->val) {
        if (strlen(a->val) >= FL_TRAIN_PATH_MAX) return fl_fail(FL_E_INPUT, "--val: path too long");
        snprintf(c->val_dir, FL_TRAIN_PATH_MAX, "%s", a->val);
    }
    if (a->epochs) c->epochs = a->epochs;
    if (a->time_limit > 0) c->time_limit_s = a->time_limit;
    return FL_OK;
}

/* The provenance command: what decides the weights. -o, --threads and --progress
 * are left out so that the model file is the same bytes whatever they are. */
static char *command_line(int distill, const train_args *a)
{
    size_t n = 64 + strlen(a->config);
    const char *parts[5][2] = {{"--teacher", a->teacher}, {"--resume", a->resume},
                               {"--data", a->data}, {"--val", a->val}, {NULL, NULL}};
    for (int i = 0; parts[i][0]; ++i)
        if (parts[i][1]) n += strlen(parts[i][0]) + strlen(parts[i][1]) + 2;
    char *s = malloc(n + 64);
    if (!s) return NULL;
    snprintf(s, n + 64, "fligru %s %s", distill ? "distill" : "train", a->config);
    for (int i = 0; parts[i][0]; ++i)
        if (parts[i][1]) sprintf(s + strlen(s), " %s %s", parts[i][0], parts[i][1]);
    if (a->epochs) sprintf(s + strlen(s), " --epochs %d", a->epochs);
    if (a->time_limit > 0) sprintf(s + strlen(s), " --time-limit %g", a->time_limit);
    return s;
}

int cli_train_main(int argc, char **argv, int distill)
{
    train_args a = {0};
    int rc = parse_args(argc, argv, distill, &a);
    if (rc >= 0) return rc;
    fl_train_config *c = malloc(sizeof *c);
    char *cmd = command_line(distill, &a);
    if (!c || !cmd) {
        free(c);
        free(cmd);
        return cli_fail(fl_fail(FL_E_NOMEM, "out of memory"));
    }
    fl_status st = fl_train_config_from_yaml(a.config, distill, c);
    if (!st) st = apply_overrides(&a, c);
    fl_train_result r;
    if (!st) {
        fl_set_threads(a.threads);
        fl_train_opts o = {.config_path = a.config, .cfg = c, .output = a.out, .resume = a.resume,
                           .teacher = a.teacher, .command = cmd, .progress = a.progress};
        st = fl_train_run(&o, &r);
    }
    free(c);
    free(cmd);
    if (st) return cli_fail(st);
    printf("%s: %d epochs (best %d), val loss %.4e RMSE %.4f R2 %.5f -> %s (%.1f s, %.0f samples/s, "
           "%d threads)\n", distill ? "distill" : "train", r.epochs_done, r.best_epoch, r.val_loss,
           r.val_rmse, r.val_r2, a.out, r.seconds, r.samples_per_s, fl_get_threads());
    return 0;
}

int cmd_train(int argc, char **argv) { return cli_train_main(argc, argv, 0); }
