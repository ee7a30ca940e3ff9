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
#include "fligru/yaml.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *HELP =
    "usage: fligru cosim CONFIG.yaml [--trace] [--trace-dir DIR]\n\n"
    "Runs the Verilated RTL, the SystemC model and the C reference on the same\n"
    "vectors and compares every hidden state, every output and every handshake,\n"
    "cycle by cycle; prints pixels, pixel-steps, mismatches and cycles per pixel.\n\n"
    "CONFIG keys (paths relative to the current directory):\n"
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
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
        execv(c->bin, (char *const *)args);
        _exit(127);
    }
    int ws = 0;
    if (pid < 0 || waitpid(pid, &ws, 0) < 0) return fail_line("cannot run %s%s", c->bin, "");
    if (WIFEXITED(ws) && WEXITSTATUS(ws) != 127) return WEXITSTATUS(ws);
    return fail_line("%s did not run to completion%s", c->bin, "");
}

typedef struct {
    int         trace;
    const char *trace_dir;
} cosim_opts;

static int on_opt(void *ctx, int key, const char *arg)
{
    cosim_opts *o = ctx;
    switch (key) {
    case 't': o->trace = 1; return -1;
    case 'd': o->trace_dir = arg; return -1;
    default: return cli_usage_error("cosim", "unknown option");
    }
}

int cmd_cosim(int argc, char **argv)
{
    static const struct option opts[] = {{"trace", no_argument, 0, 't'}, {"trace-dir", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},  {0, 0, 0, 0}};
    const cli_spec spec = {"cosim", HELP, "h", opts, on_opt, 1, 1, "expected CONFIG.yaml"};
    cosim_opts o = {0};
    int first, rc = cli_parse_args(&spec, argc, argv, &o, &first);
    if (rc >= 0) return rc;
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
