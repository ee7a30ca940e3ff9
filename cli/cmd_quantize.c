/* cmd_quantize.c - `fligru quantize MODEL --config FX.yaml -o QMODEL`: PTQ of a
 * float model into the integer model of docs/fixed-point.md. */
#include "cli.h"
#include "fligru/fxmodel.h"
#include "fligru/io.h"
#include "fligru/model_io.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *HELP =
    "usage: fligru quantize MODEL.safetensors --config FX.yaml -o QMODEL.safetensors\n\n"
    "Post-training quantisation of a float model (docs/fixed-point.md): symmetric\n"
    "weights per row or per tensor (q_max = 2^(b-1) - 1), per-row integer rescale\n"
    "multipliers and shifts, biases, activation tables, the accumulator's binary point\n"
    "(frac: auto) and the static accumulator-overflow check. QMODEL holds integer\n"
    "tensors (I8/I16/I32) and the whole format in its metadata; `fligru predict` runs\n"
    "it and `fligru vectors` dumps test vectors from it.\n\n"
    "options:\n"
    "  --config FX.yaml   the format (configs/fx-*.yaml); default: fx-default's values\n"
    "  -o, --output Q     the quantised model (written atomically)\n";

static void report(const char *in, const char *out, const fl_fx_model *q, const fl_fx_report *r)
{
    const fl_fx_format *f = &q->fmt;
    const fl_s2s_config *c = &q->cfg;
    char fs[512];
    fl_fx_format_str(f, fs, sizeof fs);
    printf("quantize: %s (%d layer%s, %dx%d, reset-%s, C = %d) -> %s\n", in, c->layers, c->layers > 1 ? "s" : "",
           c->enc_hidden, c->dec_hidden, c->reset == FL_RESET_AFTER ? "after" : "before", c->outputs, out);
    printf("format %s: %s\n", f->name, fs);
    printf("accumulator: Q(%d,%d), product shifts D_x = %d, D_h = %d; worst row %s[%d] reaches %d bits\n",
           f->acc_bits, f->acc_frac, fl_fx_product_shift(f, f->input.frac), fl_fx_product_shift(f, f->state.frac),
           r->worst_tensor, r->worst_row, r->acc_bits_needed);
    printf("weights: max |q s - w| = %.3g, %zu clipped; biases saturated: %zu\n", r->weight_err_max,
           r->weights_clipped, r->biases_saturated);
    if (r->overflow_rows)
        fprintf(stderr, "fligru quantize: warning: accumulator: %d rows can overflow %d bits (worst %s row %d needs "
                        "%d); the sum wraps (docs §2.2): lower accumulator.frac or widen it\n",
                r->overflow_rows, f->acc_bits, r->worst_tensor, r->worst_row, r->acc_bits_needed);
    if (r->weights_clipped)
        fprintf(stderr, "fligru quantize: warning: %zu weights beyond Q(%d,%d) saturated (scale: fixed)\n",
                r->weights_clipped, f->weight_bits, f->weight_frac);
    if (r->biases_saturated)
        fprintf(stderr, "fligru quantize: warning: %zu biases beyond Q(%d,%d) saturated\n", r->biases_saturated,
                f->bias.bits, f->bias.frac);
}

static fl_status run(const char *in, const char *config, const char *out, const char *cmd)
{
    fl_fx_format f;
    fl_status st = config ? fl_fx_format_load(config, &f) : FL_OK;
    if (!config) fl_fx_format_default(&f);
    if (st) return st;
    fl_s2s m;
    if ((st = fl_model_load(in, &m, NULL))) return st;
    fl_fx_model q;
    fl_fx_report r;
    st = fl_fx_quantize(&m, &f, &q, &r);
    fl_s2s_free(&m);
    if (st) {   /* the library names the tensor and row; the user needs the file too */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", fl_error());
        return fl_fail(st, "%s: %s", in, msg);
    }
    uint64_t hash = 0;
    char hs[24];
    if (!(st = fl_fx_file_hash(in, &hash))) {
        snprintf(hs, sizeof hs, "%016" PRIx64, hash);
        const fl_meta_kv meta[] = {{"source_model", in}, {"source_fnv1a64", hs},
                                   {"config", config ? config : "(defaults)"}, {"command", cmd}};
        st = fl_fx_save(out, &q, meta, sizeof meta / sizeof meta[0]);
    }
    if (!st) report(in, out, &q, &r);
    fl_fx_model_free(&q);
    return st;
}

typedef struct {
    const char *config, *out;
} quantize_opts;

static int on_opt(void *ctx, int key, const char *arg)
{
    quantize_opts *o = ctx;
    switch (key) {
    case 'c': o->config = arg; return -1;
    case 'o': o->out = arg; return -1;
    default: return cli_usage_error("quantize", "unknown option");
    }
}

int cmd_quantize(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const cli_spec spec = {"quantize", HELP, "o:h", opts, on_opt, 1, 1, "expected one MODEL.safetensors"};
    quantize_opts o = {0};
    char cmd[2048];          /* before getopt_long permutes argv */
    cli_command_line(argc, argv, cmd, sizeof cmd);
    int first, rc = cli_parse_args(&spec, argc, argv, &o, &first);
    if (rc >= 0) return rc;
    if (!o.out) return cli_usage_error("quantize", "-o QMODEL.safetensors is required");
    fl_status st = fl_check_output(o.out, argv[first], o.config ? o.config : "", NULL);
    if (!st) st = run(argv[first], o.config, o.out, cmd);
    return st ? cli_fail(st) : 0;
}
