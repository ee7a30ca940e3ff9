/* cli_maps.c - per-pixel lifetime outputs of `fligru lifetime` and `fligru fit`:
 * one float32 .npy per quantity, and for images PNG maps drawn by gnuplot. */
#include "cli.h"
#include "fligru/io.h"
#include "fligru/npy.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_Q 4
static const char *const Q_NAME[N_Q] = {"tau1", "tau2", "a", "tau_m"};
static const char *const Q_LABEL[N_Q] = {"short lifetime tau1", "long lifetime tau2",
                                         "short fraction a", "mean lifetime tau_m"};
static const char *const Q_UNIT[N_Q] = {"ns", "ns", "fraction", "ns"};

fl_status cli_gnuplot(const char *vars, const char *script, const char *what)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return fl_fail(FL_E_IO, "%s: cannot start gnuplot", what);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execlp("gnuplot", "gnuplot", "-e", vars, script, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return fl_fail(FL_E_IO, "%s: gnuplot failed (exit %d%s)", what, code,
                       code == 127 ? ": not installed?" : "");
    }
    return FL_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The 1st and 99th percentiles of the finite values of quantity q: the colour
 * range, so that a few wild estimates do not wash the map out. */
static void colour_range(const double *est, size_t n, int q, double *lo, double *hi)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    size_t m = 0;
    for (size_t i = 0; v && i < n; ++i)
        if (isfinite(est[N_Q * i + (size_t)q])) v[m++] = est[N_Q * i + (size_t)q];
    *lo = 0.0;
    *hi = 1.0;
    if (m > 0) {
        qsort(v, m, sizeof *v, cmp_double);
        *lo = v[(size_t)(0.01 * (double)(m - 1))];
        *hi = v[(size_t)(0.99 * (double)(m - 1))];
    }
    if (!(*hi > *lo)) *hi = *lo + (*lo != 0.0 ? fabs(*lo) * 0.01 : 1.0);
    free(v);
}

/* map.gp: renders one quantity (name) from its .npy; reusable as is. */
static fl_status write_script(FILE *f, const cli_lifetime_out *o, long skip, const double lo[N_Q],
                              const double hi[N_Q])
{
    fprintf(f, "# map.gp - lifetime maps written by fligru from %s\n"
               "# Re-render one: gnuplot -e \"name='tau_m'\" map.gp   (tau1, tau2, a, tau_m)\n"
               "if (!exists(\"name\")) name = \"tau_m\"\n"
               "if (!exists(\"src\")) src = name . \".npy\"\n"
               "if (!exists(\"out\")) out = name . \".png\"\n"
               "W = %zu; H = %zu; skip = %ld   # image size; .npy header bytes\n",
            o->source, o->shape[1], o->shape[0], skip);
    for (int q = 0; q < N_Q; ++q)
        fprintf(f, "lo_%s = %.6g; hi_%s = %.6g; unit_%s = \"%s\"; label_%s = \"%s\"\n", Q_NAME[q], lo[q],
                Q_NAME[q], hi[q], Q_NAME[q], Q_UNIT[q], Q_NAME[q], Q_LABEL[q]);
    fputs("set terminal pngcairo size 640,560 font \",10\"\n"
          "set output out\n"
          "set title value(\"label_\" . name) . \" (grey: no estimate)\" noenhanced\n"
          "set size ratio -1\n"
          "set xrange [-0.5:W-0.5]; set yrange [H-0.5:-0.5]\n"
          "set cbrange [value(\"lo_\" . name):value(\"hi_\" . name)]\n"
          "set cblabel value(\"unit_\" . name)\n"
          "set palette defined (0 '#000004', 1 '#51127c', 2 '#b73779', 3 '#fc8961', 4 '#fcfdbf')\n"
          "set object 1 rectangle from graph 0,0 to graph 1,1 behind fillcolor rgb '#c8c8c8' "
          "fillstyle solid noborder\n"
          "plot src binary skip=skip array=(W,H) format='%float32' endian=little with image notitle\n",
          f);
    return ferror(f) ? fl_fail(FL_E_IO, "%s: write failed", o->dir) : FL_OK;
}

enum { F_NPY = 0, F_STATUS = N_Q, F_SCRIPT, F_PNG, N_FILES = F_PNG + N_Q };

/* Opens DIR/name atomically into f. */
static fl_status open_in(const char *dir, const char *name, fl_atomic *f)
{
    char *path = fl_path_join(dir, name);
    if (!path) return fl_fail(FL_E_NOMEM, "%s: out of memory", dir);
    fl_status st = fl_atomic_open(f, path);
    free(path);
    return st;
}

static fl_status write_all(const cli_lifetime_out *o, fl_atomic f[N_FILES])
{
    int maps = o->plot && o->sample_axes == 2;
    char name[64];
    long skip = 0;
    fl_npy a = {0};
    fl_status st = fl_npy_alloc(&a, FL_F32, o->sample_axes, o->shape);
    for (int q = 0; !st && q < N_Q; ++q) {
        for (size_t i = 0; i < o->n; ++i) fl_npy_f32(&a)[i] = (float)o->est[N_Q * i + (size_t)q];
        snprintf(name, sizeof name, "%s.npy", Q_NAME[q]);
        if (!(st = open_in(o->dir, name, &f[F_NPY + q]))) st = fl_npy_write(f[F_NPY + q].fp, f[F_NPY + q].path, &a);
        if (!st && fflush(f[F_NPY + q].fp)) st = fl_fail(FL_E_IO, "%s: write failed", f[F_NPY + q].path);
        if (!st) skip = ftell(f[F_NPY + q].fp) - (long)(o->n * sizeof(float));
    }
    if (a.data) fl_npy_free(&a);
    if (!st && o->status) {
        fl_npy s;
        if (!(st = fl_npy_alloc(&s, FL_U8, o->sample_axes, o->shape))) {
            memcpy(s.data, o->status, o->n);
            if (!(st = open_in(o->dir, "status.npy", &f[F_STATUS]))) st = fl_npy_write(f[F_STATUS].fp, f[F_STATUS].path, &s);
            fl_npy_free(&s);
        }
    }
    if (st || !maps) return st;
    double lo[N_Q], hi[N_Q];
    for (int q = 0; q < N_Q; ++q) colour_range(o->est, o->n, q, &lo[q], &hi[q]);
    if (!(st = open_in(o->dir, "map.gp", &f[F_SCRIPT]))) st = write_script(f[F_SCRIPT].fp, o, skip, lo, hi);
    if (!st && fflush(f[F_SCRIPT].fp)) st = fl_fail(FL_E_IO, "%s: write failed", f[F_SCRIPT].path);
    for (int q = 0; !st && q < N_Q; ++q) {
        snprintf(name, sizeof name, "%s.png", Q_NAME[q]);
        if ((st = open_in(o->dir, name, &f[F_PNG + q]))) break;
        /* gnuplot writes the temporary names; the commit renames them all. */
        size_t len = strlen(f[F_NPY + q].tmp) + strlen(f[F_PNG + q].tmp) + 64;
        char *vars = malloc(len);
        if (!vars) return fl_fail(FL_E_NOMEM, "%s: out of memory", o->dir);
        snprintf(vars, len, "name='%s'; src='%s'; out='%s'", Q_NAME[q], f[F_NPY + q].tmp, f[F_PNG + q].tmp);
        if (strchr(f[F_NPY + q].tmp, '\'') || strchr(f[F_PNG + q].tmp, '\''))
            st = fl_fail(FL_E_INPUT, "%s: a quote in the output path cannot be passed to gnuplot", o->dir);
        if (!st) st = cli_gnuplot(vars, f[F_SCRIPT].tmp, f[F_PNG + q].path);
        free(vars);
    }
    return st;
}

/* dir/name must not be the input or the IRF (another spelling, a link). */
fl_status cli_check_output_in(const char *dir, const char *name, const char *in, const char *irf)
{
    char *path = fl_path_join(dir, name);
    if (!path) return fl_fail(FL_E_NOMEM, "%s: out of memory", dir);
    fl_status st = fl_check_output(path, in, irf ? irf : "", NULL);
    free(path);
    return st;
}

fl_status cli_check_lifetime_outputs(const char *dir, const char *in, const char *irf)
{
    static const char *const extra[] = {"status.npy", "map.gp"};
    char name[64];
    fl_status st = FL_OK;
    for (int q = 0; q < N_Q && !st; ++q) {
        snprintf(name, sizeof name, "%s.npy", Q_NAME[q]);
        if (!(st = cli_check_output_in(dir, name, in, irf))) {
            snprintf(name, sizeof name, "%s.png", Q_NAME[q]);
            st = cli_check_output_in(dir, name, in, irf);
        }
    }
    for (size_t k = 0; k < sizeof extra / sizeof extra[0] && !st; ++k) st = cli_check_output_in(dir, extra[k], in, irf);
    return st;
}

fl_status cli_write_lifetimes(const cli_lifetime_out *o)
{
    fl_atomic f[N_FILES];
    memset(f, 0, sizeof f);
    fl_status st = fl_mkdir_p(o->dir);
    if (!st) st = write_all(o, f);
    for (int k = 0; k < N_FILES && !st; ++k)
        if (f[k].fp) st = fl_atomic_commit(&f[k]);
    for (int k = 0; k < N_FILES; ++k)
        if (f[k].tmp) fl_atomic_abort(&f[k]);   /* not committed: remove */
    return st;
}
