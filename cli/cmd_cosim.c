/* cmd_cosim.c - `fligru cosim CONFIG.yaml`: three-way co-simulation of the
 * Verilated RTL, the SystemC model and the C reference (docs/systemc.md).
 *
 * The RTL's parameters are compile-time, so each supported configuration is one
 * executable, systemc/fligru_cosim_<rtl> in the build tree (next to this
 * program's systemc/ directory; `cosim_dir` overrides). This command writes the
 * test vectors with the `fligru vectors` code path (cmd_vectors), then runs
 * that executable on them and the model, and passes its exit status on:
 * 0 every state, output and handshake agreed, 1 a mismatch (reported, with
 * traces), 2 bad input (one line). */
#include "cli.h"
#include "fligru/io.h"
#include "fligru/yaml.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *HELP =
    "usage: fligru cosim --model Q.safetensors --lanes P [--engines E] [options]\n"
    "       fligru cosim CONFIG.yaml [--trace] [--trace-dir DIR]\n\n"
    "Runs the Verilated RTL, the SystemC model and the C reference on the same\n"
    "vectors and compares every hidden state, every output and every handshake,\n"
    "cycle by cycle; prints pixels, pixel-steps, mismatches and cycles per pixel.\n"
    "Exit status 0: all agreed; 1: a mismatch (reported in full, traces written);\n"
    "2: bad input, or a model or parameter the RTL cannot run (one line).\n\n"
    "With --model, any quantised model the RTL runs (docs/rtl.md) on the hardware\n"
    "parameters given: the Verilated RTL for them is built on first use (a minute or\n"
    "two on 2 cores) into a cache keyed by a hash of the parameters, and reused:\n"
    "  --model Q.safetensors  quantised model (fligru quantize), required\n"
    "  --lanes P              MAC lanes per engine, 1..3H, required\n"
    "  --engines E            pixel engines (default 1)\n"
    "  --interleave K         pixels in flight per engine (default 0: the RTL's rule)\n"
    "  --input X.npy          TPSFs [N,T] (default: a synthetic batch, T = 135)\n"
    "  --pixels N             how many (default: all of --input; 64 synthetic)\n"
    "  --float M.safetensors  the float model beside it (default: the one Q was made from)\n"
    "  --json FILE            the report as JSON\n"
    "  --seed S               stimulus and synthetic-data seed (default 1)\n"
    "  --name TEXT            run name in reports and traces (default cosim)\n"
    "  --cache DIR            build cache (default: BUILD/cosim-cache)\n"
    "  --work DIR             vectors and data (default: a new temporary directory)\n"
    "  --trace, --trace-dir D FST of the RTL and VCD of the model (a mismatch always traces)\n\n"
    "With CONFIG.yaml, a pre-built configuration (ctest cosim.*); its keys\n"
    "(paths relative to the current directory):\n"
    "  rtl: NAME            co-simulation build (systemc/cosim_configs.cmake), required\n"
    "  model: Q.safetensors quantised model (fligru quantize), required\n"
    "  input: IN.npy        TPSFs, as for fligru vectors, required\n"
    "  name: TEXT           run name in reports and trace files (default: rtl)\n"
    "  pixels: N            how many sequences of IN (default 0: all)\n"
    "  seed: S              stimulus seed of the random valid/ready gaps (default 1)\n"
    "  throttle_batches: B  batches streamed with gaps before the full-rate part (2)\n"
    "  work: DIR            where the vectors go (default: a new temporary directory)\n"
    "  trace: BOOL          FST of the RTL and VCD of the model over the whole run\n"
    "  trace_dir: DIR       where traces go (default .); a mismatch always traces\n"
    "  cosim_dir: DIR       where the fligru_cosim_* executables are\n"
    "  inject: KIND:N       test hook: perturb one side (model-h, model-ready, ref)\n";

static int fail_line(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "fligru cosim: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 2;
}

/* Directory of this executable + "/systemc". */
static void default_dir(char *buf, size_t n)   /* n >= PATH_MAX + 16 */
{
    char exe[PATH_MAX];
    const ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < sizeof exe + 16) return;
    if (k <= 0) {
        snprintf(buf, n, "systemc");
        return;
    }
    exe[k] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(buf, n, "%s/systemc", exe);
}

/* The config's keys (strings point into the YAML tree, freed by cosim_free). */
typedef struct {
    fl_yaml    *y;
    const char *path, *rtl, *model, *input, *name, *work, *trace_dir, *cosim_dir, *inject;
    int64_t     pixels, seed;
    int         throttle, trace;
    char        bin[PATH_MAX + 96];   /* the co-simulation executable */
} cosim_cfg;

static void cosim_free(cosim_cfg *c) { fl_yaml_free(c->y); }

static fl_status read_keys(cosim_cfg *c)
{
    const fl_yaml *y = c->y;
    const fl_yaml_node *r = fl_yaml_root(y);
    static const char *const known[] = {"rtl",  "model", "input",     "name",      "pixels", "seed", "throttle_batches",
                                        "work", "trace", "trace_dir", "cosim_dir", "inject", NULL};
    fl_status st = fl_yaml_check_known(y, r, known);
    if (!st) st = fl_yaml_get_str(y, r, "rtl", &c->rtl);
    if (!st) st = fl_yaml_get_str(y, r, "model", &c->model);
    if (!st) st = fl_yaml_get_str(y, r, "input", &c->input);
    if (!st) st = fl_yaml_get_str(y, r, "name", &c->name);
    if (!st) st = fl_yaml_get_i64(y, r, "pixels", &c->pixels, 0, INT64_C(1) << 40);
    if (!st) st = fl_yaml_get_i64(y, r, "seed", &c->seed, 0, INT64_C(1) << 62);
    if (!st) st = fl_yaml_get_int(y, r, "throttle_batches", &c->throttle, 0, 1000);
    if (!st) st = fl_yaml_get_str(y, r, "work", &c->work);
    if (!st) st = fl_yaml_get_bool(y, r, "trace", &c->trace);
    if (!st) st = fl_yaml_get_str(y, r, "trace_dir", &c->trace_dir);
    if (!st) st = fl_yaml_get_str(y, r, "cosim_dir", &c->cosim_dir);
    if (!st) st = fl_yaml_get_str(y, r, "inject", &c->inject);
    if (!st && (!c->rtl || !c->model || !c->input)) {
        const char *miss = !c->rtl ? "rtl" : !c->model ? "model" : "input";
        st = fl_yaml_fail(y, r, "%s: required key missing", miss);
    }
    return st;
}

/* The executable of the `rtl:` build; a name without one is refused at its YAML line. */
static fl_status find_build(cosim_cfg *c)
{
    char dir[PATH_MAX + 16];
    if (c->cosim_dir) snprintf(dir, sizeof dir, "%s", c->cosim_dir);
    else default_dir(dir, sizeof dir);
    snprintf(c->bin, sizeof c->bin, "%s/fligru_cosim_%s", dir, c->rtl);
    if (!strchr(c->rtl, '/') && access(c->bin, X_OK) == 0) return FL_OK;
    return fl_yaml_fail(c->y, fl_yaml_get(c->y, fl_yaml_root(c->y), "rtl"),
                        "no co-simulation build for RTL configuration '%s' in %s (see systemc/cosim_configs.cmake)",
                        c->rtl, dir);
}

static fl_status load_config(const char *path, cosim_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->trace_dir = ".";
    c->seed = 1;
    c->throttle = 2;
    fl_status st = fl_yaml_load(path, &c->y);
    if (!st) st = read_keys(c);
    if (!st) st = find_build(c);
    if (!st && !c->name) c->name = c->rtl;
    return st;
}

/* The vectors, written by `fligru vectors`'s own code, into WORK/vec (or a new
 * temporary directory). Returns an exit status. */
static int write_vectors(const cosim_cfg *c, char *vpath, size_t n)
{
    char tmp[] = "/tmp/fligru-cosim-XXXXXX", npix[32];
    const char *vdir = c->work;
    if (!vdir) {
        if (!mkdtemp(tmp)) return fail_line("cannot create a temporary directory%s%s", "", "");
        vdir = tmp;
    }
    snprintf(vpath, n, "%s/vec", vdir);
    snprintf(npix, sizeof npix, "%lld", (long long)c->pixels);
    char *vargv[] = {"vectors", (char *)c->model, (char *)c->input, "-o", vpath, "--pixels", npix, NULL};
    return cmd_vectors(7, vargv);
}

/* Runs the co-simulation executable and passes its exit status on. */
static int run_build(const cosim_cfg *c, const char *vpath, const char *trace_dir, int trace)
{
    char sseed[32], sthr[32];
    snprintf(sseed, sizeof sseed, "%lld", (long long)c->seed);
    snprintf(sthr, sizeof sthr, "%d", c->throttle);
    const char *args[24] = {c->bin, vpath, "--model", c->model, "--name", c->name, "--seed", sseed,
                            "--throttle-batches", sthr, "--trace-dir", trace_dir};
    int na = 12;
    if (c->inject) {
        args[na++] = "--inject";
        args[na++] = c->inject;
    }
    if (trace) args[na++] = "+trace";
    args[na] = NULL;
    const int rc = cli_run_cosim(args);
    if (rc >= 0 && rc != 127) return rc;
    return fail_line("%s did not run to completion%s", c->bin, "");
}

typedef struct {
    cli_cosim_opts od;   /* --model mode */
    int            trace;
    const char    *trace_dir;
} cosim_opts;

enum { O_MODEL = 256, O_LANES, O_ENGINES, O_INTERLEAVE, O_INPUT, O_PIXELS, O_FLOAT, O_JSON, O_SEED, O_NAME, O_CACHE,
       O_WORK };

/* An integer option in [lo, hi] into *v: -1 to go on, else the usage error. */
static int int_opt(const char *flag, const char *arg, long lo, long hi, long *v)
{
    if (cli_parse_long(arg, lo, hi, v)) return cli_usage_error("cosim", "%s: '%s' is not in %ld..%ld", flag, arg, lo, hi);
    return -1;
}

/* The integer options of --model mode. */
static int on_int_opt(cosim_opts *o, int key, const char *arg)
{
    long v = 0;
    int rc;
    switch (key) {
    case O_LANES: if ((rc = int_opt("--lanes", arg, 1, 4096, &v)) < 0) o->od.lanes = (int)v; return rc;
    case O_ENGINES: if ((rc = int_opt("--engines", arg, 1, 1024, &v)) < 0) o->od.engines = (int)v; return rc;
    case O_INTERLEAVE: if ((rc = int_opt("--interleave", arg, 0, 255, &v)) < 0) o->od.interleave = (int)v; return rc;
    case O_PIXELS: if ((rc = int_opt("--pixels", arg, 1, 100000000L, &v)) < 0) o->od.pixels = v; return rc;
    case O_SEED: if ((rc = int_opt("--seed", arg, 0, 2147483647L, &v)) < 0) o->od.seed = (uint64_t)v; return rc;
    default: return cli_usage_error("cosim", "unknown option");
    }
}

static int on_opt(void *ctx, int key, const char *arg)
{
    cosim_opts *o = ctx;
    switch (key) {
    case 't': o->trace = 1; return -1;
    case 'd': o->trace_dir = arg; return -1;
    case O_MODEL: o->od.model = arg; return -1;
    case O_INPUT: o->od.input = arg; return -1;
    case O_FLOAT: o->od.float_model = arg; return -1;
    case O_JSON: o->od.json = arg; return -1;
    case O_NAME: o->od.name = arg; return -1;
    case O_CACHE: o->od.cache = arg; return -1;
    case O_WORK: o->od.work = arg; return -1;
    default: return on_int_opt(o, key, arg);
    }
}

/* --model mode: defaults and required options, then cosim_ondemand.c. */
static int run_ondemand(cosim_opts *o)
{
    cli_cosim_opts *d = &o->od;
    if (!d->lanes) return cli_usage_error("cosim", "--lanes P is required with --model");
    d->trace = o->trace;
    d->trace_dir = o->trace_dir ? o->trace_dir : ".";
    if (!d->engines) d->engines = 1;
    if (!d->name) d->name = "cosim";
    char tmp[] = "/tmp/fligru-cosim-XXXXXX";
    const int own = !d->work;   /* a temporary work directory: removed unless a mismatch needs it */
    if (own) {
        if (!mkdtemp(tmp)) return fail_line("cannot create a temporary directory%s%s", "", "");
        d->work = tmp;
    }
    const int rc = cli_cosim_ondemand(d);
    if (own && rc == 1) fprintf(stderr, "cosim: the mismatch's vectors are in %s\n", tmp);
    else if (own) fl_rm_tree(tmp);
    return rc;
}

int cmd_cosim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trace", no_argument, 0, 't'},               {"trace-dir", required_argument, 0, 'd'},
        {"model", required_argument, 0, O_MODEL},     {"lanes", required_argument, 0, O_LANES},
        {"engines", required_argument, 0, O_ENGINES}, {"interleave", required_argument, 0, O_INTERLEAVE},
        {"input", required_argument, 0, O_INPUT},     {"pixels", required_argument, 0, O_PIXELS},
        {"float", required_argument, 0, O_FLOAT},     {"json", required_argument, 0, O_JSON},
        {"seed", required_argument, 0, O_SEED},       {"name", required_argument, 0, O_NAME},
        {"cache", required_argument, 0, O_CACHE},     {"work", required_argument, 0, O_WORK},
        {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};
    const cli_spec spec = {"cosim", HELP, "h", opts, on_opt, 0, 1, "expected CONFIG.yaml, or --model Q.safetensors"};
    cosim_opts o = {.od = {.seed = 1}};
    int first, rc = cli_parse_args(&spec, argc, argv, &o, &first);
    if (rc >= 0) return rc;
    if (o.od.model) {
        if (first < argc) return cli_usage_error("cosim", "--model and CONFIG.yaml exclude each other");
        return run_ondemand(&o);
    }
    if (first >= argc) return cli_usage_error("cosim", "expected CONFIG.yaml, or --model Q.safetensors");
    cosim_cfg c;
    fl_status st = load_config(argv[first], &c);
    if (st) {
        cosim_free(&c);
        return cli_fail(st);
    }
    char vpath[PATH_MAX];
    rc = write_vectors(&c, vpath, sizeof vpath);
    if (!rc) rc = run_build(&c, vpath, o.trace_dir ? o.trace_dir : c.trace_dir, o.trace || c.trace);
    cosim_free(&c);
    return rc;
}
