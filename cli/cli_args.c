/* cli_args.c - what every subcommand's argument parsing shares: the getopt
 * loop (--help, unknown options, the positional count) and the checks of
 * numeric option values. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fligru %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see fligru %s --help)\n", cmd);
    return 2;
}

void cli_command_line(int argc, char **argv, char *buf, size_t n)
{
    snprintf(buf, n, "fligru");
    for (int i = 0; i < argc; ++i) snprintf(buf + strlen(buf), n - strlen(buf), " %s", argv[i]);
}

int cli_parse_args(const cli_spec *spec, int argc, char **argv, void *ctx, int *first)
{
    optind = 0;   /* a fresh scan: commands may call each other (cosim runs vectors) */
    int c;
    while ((c = getopt_long(argc, argv, spec->shortopts, spec->longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(spec->help, stdout);
            return 0;
        }
        if (c == '?' || c == ':' || !spec->on_opt) return cli_usage_error(spec->name, "unknown option");
        const int rc = spec->on_opt(ctx, c, optarg);
        if (rc >= 0) return rc;
    }
    const int n = argc - optind;
    if (n < spec->min_args || (spec->max_args >= 0 && n > spec->max_args))
        return cli_usage_error(spec->name, "%s", spec->args_usage);
    *first = optind;
    return -1;
}

int cli_parse_long(const char *s, long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    const long x = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || x < lo || x > hi) return -1;
    *v = x;
    return 0;
}

int cli_parse_positive(const char *s, double *v)
{
    char *end;
    const double x = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(x > 0.0) || !isfinite(x)) return -1;
    *v = x;
    return 0;
}

int cli_parse_threads(const char *s, int *n)
{
    long v;
    if (cli_parse_long(s, 1, 1024, &v)) return -1;
    *n = (int)v;
    return 0;
}

int cli_opt_threads(const char *cmd, const char *arg, int *threads)
{
    if (cli_parse_threads(arg, threads)) return cli_usage_error(cmd, "--threads: '%s' is not 1..1024", arg);
    return -1;
}

int cli_opt_gate_width(const char *cmd, const char *arg, double *gate_ns)
{
    if (cli_parse_positive(arg, gate_ns)) return cli_usage_error(cmd, "--gate-width-ns: '%s' is not a width > 0", arg);
    return -1;
}

int cli_opt_tau_estimator(const char *cmd, const char *arg, fl_tau_method *m)
{
    const long v = fl_tau_method_parse(arg);
    if (v < 0) return cli_usage_error(cmd, "--tau-estimator: '%s' is not exact, geometric or plain", arg);
    *m = (fl_tau_method)v;
    return -1;
}
