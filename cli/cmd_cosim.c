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

int cmd_cosim(int argc, char **argv)
{
    static const struct option opts[] = {{"trace", no_argument, 0, 't'}, {"trace-dir", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},  {0, 0, 0, 0}};
    int trace = 0, c;
    const char *trace_dir_opt = NULL;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': trace = 1; break;
        case 'd': trace_dir_opt = optarg; break;
        case 'h': fputs(HELP, stdout); return 0;
        default: return cli_usage_error("cosim", "unknown option");
        }
    }
    if (argc - optind != 1) return cli_usage_error("cosim", "expected CONFIG.yaml");

    fl_yaml *y;
    fl_status lst = fl_yaml_load(argv[optind], &y);
    if (lst) return cli_fail(lst);
    const fl_yaml_node *r = fl_yaml_root(y);
    static const char *const known[] = {"rtl",  "model", "input",     "name",      "pixels", "seed", "throttle_batches",
                                        "work", "trace", "trace_dir", "cosim_dir", "inject", NULL};
    const char *rtl = NULL, *model = NULL, *input = NULL, *name = NULL, *work = NULL, *trace_dir = ".",
               *cosim_dir = NULL, *inject = NULL;
    int64_t pixels = 0, seed = 1;
    int throttle = 2, ytrace = 0;
    fl_status st = fl_yaml_check_known(y, r, known);
    if (!st) st = fl_yaml_get_str(y, r, "rtl", &rtl);
    if (!st) st = fl_yaml_get_str(y, r, "model", &model);
    if (!st) st = fl_yaml_get_str(y, r, "input", &input);
    if (!st) st = fl_yaml_get_str(y, r, "name", &name);
    if (!st) st = fl_yaml_get_i64(y, r, "pixels", &pixels, 0, INT64_C(1) << 40);
    if (!st) st = fl_yaml_get_i64(y, r, "seed", &seed, 0, INT64_C(1) << 62);
    if (!st) st = fl_yaml_get_int(y, r, "throttle_batches", &throttle, 0, 1000);
    if (!st) st = fl_yaml_get_str(y, r, "work", &work);
    if (!st) st = fl_yaml_get_bool(y, r, "trace", &ytrace);
    if (!st) st = fl_yaml_get_str(y, r, "trace_dir", &trace_dir);
    if (!st) st = fl_yaml_get_str(y, r, "cosim_dir", &cosim_dir);
    if (!st) st = fl_yaml_get_str(y, r, "inject", &inject);
    if (!st && (!rtl || !model || !input)) {
        const char *miss = !rtl ? "rtl" : !model ? "model" : "input";
        st = fl_yaml_fail(y, r, "%s: required key missing", miss);
    }
    if (st) {
        fl_yaml_free(y);
        return cli_fail(st);
    }
    if (!name) name = rtl;
    if (trace_dir_opt) trace_dir = trace_dir_opt;
    trace |= ytrace;

    char dir[PATH_MAX + 16], bin[PATH_MAX + 96];
    if (cosim_dir) snprintf(dir, sizeof dir, "%s", cosim_dir);
    else default_dir(dir, sizeof dir);
    snprintf(bin, sizeof bin, "%s/fligru_cosim_%s", dir, rtl);
    int rc = 2;
    if (strchr(rtl, '/') || access(bin, X_OK) != 0) {
        rc = fail_line("no co-simulation build for RTL configuration '%s' in %s (see systemc/cosim_configs.cmake)",
                       rtl, dir);
        fl_yaml_free(y);
        return rc;
    }

    /* The vectors, written by `fligru vectors`'s own code. */
    char tmp[] = "/tmp/fligru-cosim-XXXXXX", npix[32];
    const char *vdir = work;
    if (!vdir) {
        if (!mkdtemp(tmp)) {
            fl_yaml_free(y);
            return fail_line("cannot create a temporary directory%s%s", "", "");
        }
        vdir = tmp;
    }
    char vpath[PATH_MAX];
    snprintf(vpath, sizeof vpath, "%s/vec", vdir);
    snprintf(npix, sizeof npix, "%lld", (long long)pixels);
    char *vargv[] = {"vectors", (char *)model, (char *)input, "-o", vpath, "--pixels", npix, NULL};
    optind = 0;   /* cmd_vectors parses its own options */
    rc = cmd_vectors(7, vargv);
    if (rc) {
        fl_yaml_free(y);
        return rc;
    }

    char sseed[32], sthr[32];
    snprintf(sseed, sizeof sseed, "%lld", (long long)seed);
    snprintf(sthr, sizeof sthr, "%d", throttle);
    const char *args[24];
    int na = 0;
    args[na++] = bin;
    args[na++] = vpath;
    args[na++] = "--model";
    args[na++] = model;
    args[na++] = "--name";
    args[na++] = name;
    args[na++] = "--seed";
    args[na++] = sseed;
    args[na++] = "--throttle-batches";
    args[na++] = sthr;
    args[na++] = "--trace-dir";
    args[na++] = trace_dir;
    if (inject) {
        args[na++] = "--inject";
        args[na++] = inject;
    }
    if (trace) args[na++] = "+trace";
    args[na] = NULL;
    fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        setenv("SC_COPYRIGHT_MESSAGE", "DISABLE", 0);
        execv(bin, (char *const *)args);
        _exit(127);
    }
    int ws = 0;
    if (pid < 0 || waitpid(pid, &ws, 0) < 0) rc = fail_line("cannot run %s%s", bin, "");
    else if (WIFEXITED(ws) && WEXITSTATUS(ws) != 127) rc = WEXITSTATUS(ws);
    else rc = fail_line("%s did not run to completion%s", bin, "");
    fl_yaml_free(y);
    return rc;
}
