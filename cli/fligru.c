/* fligru.c - entry point: dispatches `fligru <command> ...` to cmd_<command>(). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"synth",    cmd_synth,    "generate synthetic TPSFs, decays and lifetimes from a YAML config"},
    {"score",    cmd_score,    "RMSE, R2, L2, DTW and lifetime errors of a prediction"},
    {"baseline", cmd_baseline, "trivial IRF-blind deconvolution: the TPSF tail, for scale"},
    {"lifetime", cmd_lifetime, "lifetime maps (tau1, tau2, a, mean) from a network's prediction"},
    {"fit",      cmd_fit,      "classical baseline: reconvolution fit with the IRF, or RLD"},
    {"compare",  cmd_compare,  "network vs fit across photon budgets: bias, spread, failures, speed"},
    {"predict",  cmd_predict,  "run a saved model (.safetensors) over TPSFs (.npy)"},
    {"quantize", cmd_quantize, "post-training quantisation into the fixed-point datapath"},
    {"vectors",  cmd_vectors,  "test vectors ($readmemh) from the bit-exact fixed-point reference"},
    {"cosim",    cmd_cosim,    "three-way co-simulation: Verilated RTL, SystemC model, C reference"},
    {"train",    cmd_train,    "train a Seq2Seq model (Adam, early stopping, QAT) from a YAML config"},
    {"distill",  cmd_distill,  "distil a student from a teacher model (KD loss, QAT)"},
    {"info",     cmd_info,     "dtype and shape of .npy files"},
    {"sweep",    cmd_sweep,    "design-space sweep: accuracy, timing, resources per point -> results.csv"},
    {"collect",  cmd_collect,  "merge a sweep run directory's per-point results into results.csv"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: fligru <command> [options]   (fligru <command> --help for more)\n\n"
                 "fligru %s: GRU networks for fluorescence lifetime imaging, from training\n"
                 "to bit-exact FPGA datapaths.\n\ncommands:\n", FLIGRU_VERSION);
    for (size_t i = 0; i < N_COMMANDS; ++i)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int cli_fail(fl_status st)
{
    fprintf(stderr, "fligru: %s\n", fl_error());
    return fl_status_exit_code(st);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("fligru %s\n", FLIGRU_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; ++i)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "fligru: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
