/* exec.c - running a sweep: the manifest, local child processes with a progress
 * display, Slurm job arrays, and results.csv from the per-point files. */
#include "sweep_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fligru/io.h"


static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b && fread(b, 1, (size_t)n, fp) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b) b[n] = 0;
    fclose(fp);
    return b;
}

/* ---- the manifest ------------------------------------------------------------------ */

#define MANIFEST_HEADER "index,id,model_id,teacher_id,axes:"

fl_status fl_sweep_prepare(const fl_sweep *s, const fl_sweep_opts *o, char *run_dir, size_t n)
{
    snprintf(run_dir, n, "%s/%s", o->out_root, s->name);
    char path[FL_SWEEP_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/points", run_dir);
    fl_status st = fl_mkdir_p(path);
    if (st) return st;
    /* the manifest: one line per point, the columns a row starts with */
    size_t cap = 256 + s->n_points * 512;
    char *text = malloc(cap), line[1024];
    if (!text) return fl_fail(FL_E_NOMEM, "out of memory");
    size_t len = (size_t)snprintf(text, cap, "%s%s\n", MANIFEST_HEADER, "run,point,...");
    for (size_t k = 0; k < s->n_points; ++k) {
        const fl_sweep_point *p = &s->points[k];
        sweep_row_prefix(s, p, k, line, sizeof line);
        len += (size_t)snprintf(text + len, cap - len, "%zu,%s,%s,%s,%s\n", k, p->id, p->model_id,
                                p->teacher_id[0] ? p->teacher_id : "-", line);
    }
    snprintf(path, sizeof path, "%s/points.csv", run_dir);
    char *old = slurp(path);
    if (!old || strcmp(old, text)) {
        fl_atomic f;
        if (!(st = fl_atomic_open(&f, path))) {
            fputs(text, f.fp);
            st = fl_atomic_commit(&f);
        }
    }
    free(old);
    free(text);
    if (st) return st;
    /* a copy of the config, for provenance */
    char *cfg = slurp(s->path);
    snprintf(path, sizeof path, "%s/sweep.yaml", run_dir);
    if (cfg) {
        fl_atomic f;
        if (!(st = fl_atomic_open(&f, path))) {
            fprintf(f.fp, "# copy of %s (relative paths are relative to that file)\n%s", s->path, cfg);
            st = fl_atomic_commit(&f);
        }
        free(cfg);
    }
    return st;
}

/* ---- results.csv ------------------------------------------------------------------- */

typedef struct {
    size_t k;
    char   id[17];
    char  *axes;     /* columns 1..20 */
} manifest_row;

static fl_status read_manifest(const char *run_dir, manifest_row **rows, size_t *n)
{
    char path[FL_SWEEP_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/points.csv", run_dir);
    char *t = slurp(path);
    if (!t) return fl_fail(FL_E_IO, "%s: cannot read the manifest (not a sweep run directory?)", path);
    size_t cap = 0;
    *rows = NULL;
    *n = 0;
    char *save = NULL;
    int first = 1;
    for (char *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (first) {
            /* a damaged or foreign manifest must not replace results.csv by a header */
            if (strncmp(l, MANIFEST_HEADER, strlen(MANIFEST_HEADER))) break;
            first = 0;
            continue;
        }
        char *f[5];
        char *q = l;
        int i;
        for (i = 0; i < 4; ++i) {
            f[i] = q;
            q = strchr(q, ',');
            if (!q) break;
            *q++ = 0;
        }
        if (i < 4 || strlen(f[1]) != 16 || strspn(f[1], "0123456789abcdef") != 16 ||
            strtoull(f[0], NULL, 10) != *n || !*q) {
            free(t);
            for (size_t k = 0; k < *n; ++k) free((*rows)[k].axes);
            free(*rows);
            return fl_fail(FL_E_INPUT, "%s: malformed line %zu", path, *n + 2);
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            manifest_row *nr = realloc(*rows, cap * sizeof *nr);
            if (!nr) {
                free(t);
                free(*rows);
                return fl_fail(FL_E_NOMEM, "out of memory");
            }
            *rows = nr;
        }
        manifest_row *r = &(*rows)[(*n)++];
        r->k = (size_t)strtoull(f[0], NULL, 10);
        snprintf(r->id, sizeof r->id, "%s", f[1]);
        r->axes = strdup(q);
    }
    free(t);
    if (first || *n == 0) {
        for (size_t i = 0; i < *n; ++i) free((*rows)[i].axes);
        free(*rows);
        *rows = NULL;
        *n = 0;
        return fl_fail(FL_E_INPUT, "%s: %s", path, first ? "not a sweep manifest (header damaged or "
                       "foreign); results.csv left as it was" : "no points; results.csv left as it was");
    }
    return FL_OK;
}

/* A point's file: {"columns": "...", "invocation": "..."}; NULL when absent. */
/* A point's result file: *out NULL when there is none; a file that is there
 * but is not a point result (damaged, foreign) is an error naming it. */
static fl_status read_point(const char *path, cJSON **out)
{
    *out = NULL;
    if (!sweep_exists(path)) return FL_OK;
    char *t = slurp(path);
    cJSON *j = t ? cJSON_Parse(t) : NULL;
    free(t);
    const cJSON *c = j ? cJSON_GetObjectItemCaseSensitive(j, "columns") : NULL;
    if (!cJSON_IsString(c)) {
        cJSON_Delete(j);
        return fl_fail(FL_E_INPUT, "%s: not a point result (damaged or foreign: no \"columns\"); results.csv left as "
                       "it was", path);
    }
    *out = j;
    return FL_OK;
}

static size_t count_fields(const char *s)
{
    size_t n = 1;
    for (; *s; ++s) n += *s == ',';
    return n;
}

/* One row of results.csv: the manifest's axes, the point's columns, its status;
 * a row of another width (a damaged or foreign point file) is refused. */
static fl_status write_row(FILE *fp, const manifest_row *r, const cJSON *j, const char *status, const char *path)
{
    const char *cols = cJSON_GetObjectItemCaseSensitive(j, "columns")->valuestring;
    if (count_fields(r->axes) + count_fields(cols) + 1 != count_fields(SWEEP_CSV_HEADER))
        return fl_fail(FL_E_INPUT, "%s: \"columns\" has %zu fields, the table needs %zu; results.csv left as it was",
                       path, count_fields(cols), count_fields(SWEEP_CSV_HEADER) - count_fields(r->axes) - 1);
    fprintf(fp, "%s,%s,%s\n", r->axes, cols, status);
    return FL_OK;
}

fl_status fl_sweep_collect(const char *run_dir, size_t *done, size_t *failed, size_t *missing)
{
    manifest_row *rows = NULL;
    size_t n = 0;
    fl_status st = read_manifest(run_dir, &rows, &n);
    if (st) return st;
    *done = *failed = *missing = 0;
    char path[FL_SWEEP_PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/results.csv", run_dir);
    fl_atomic f;
    if ((st = fl_atomic_open(&f, path))) goto out;
    fprintf(f.fp, "%s\n", SWEEP_CSV_HEADER);
    for (size_t i = 0; i < n && !st; ++i) {
        cJSON *j;
        const char *status = "ok";
        snprintf(path, sizeof path, "%s/points/%s.json", run_dir, rows[i].id);
        st = read_point(path, &j);
        if (!st && !j) {
            snprintf(path, sizeof path, "%s/points/%s.failed.json", run_dir, rows[i].id);
            st = read_point(path, &j);
            status = "failed";
        }
        if (!st && !j) ++*missing;
        if (st || !j) continue;
        if (!(st = write_row(f.fp, &rows[i], j, status, path))) ++*(strcmp(status, "failed") ? done : failed);
        cJSON_Delete(j);
    }
    if (st) fl_atomic_abort(&f);
    else st = fl_atomic_commit(&f);
out:
    for (size_t i = 0; i < n; ++i) free(rows[i].axes);
    free(rows);
    return st;
}

void fl_sweep_plots(const char *run_dir, const char *script)
{
    if (!script || !script[0] || !sweep_exists(script)) return;
    pid_t pid = fork();
    if (pid == 0) {
        execlp("sh", "sh", script, run_dir, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
        fprintf(stderr, "sweep: warning: %s %s failed (the results are complete; plots and tables are not)\n", script,
                run_dir);
}

/* ---- local executor ----------------------------------------------------------------- */

typedef struct {
    pid_t  pid;
    size_t k;
} child;

static void fmt_eta(double s, char *b, size_t n)
{
    if (!isfinite(s) || s < 0) snprintf(b, n, "?");
    else if (s < 90) snprintf(b, n, "%.0f s", s);
    else if (s < 5400) snprintf(b, n, "%.0f min", s / 60);
    else snprintf(b, n, "%.1f h", s / 3600);
}

static void progress(fl_progress mode, size_t total, size_t done, size_t failed, size_t running, double eta, int final)
{
    if (mode == FL_PROGRESS_QUIET) return;
    char e[32];
    fmt_eta(eta, e, sizeof e);
    if (mode == FL_PROGRESS_BAR) {
        const int W = 30;
        int fill = total ? (int)((done + failed) * W / total) : W;
        char bar[64];
        for (int i = 0; i < W; ++i) bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        fprintf(stderr, "\r[%s] %zu/%zu done, %zu failed, %zu running, ETA %s   %s", bar, done, total, failed,
                running, e, final ? "\n" : "");
    } else
        fprintf(stderr, "sweep: %zu/%zu done, %zu failed, %zu running, ETA %s\n", done, total, failed, running, e);
    fflush(stderr);
}

/* Logs live in the cache, not in the (committed) run directory. */
static void log_path(const fl_sweep *s, const fl_sweep_opts *o, size_t k, char *buf, size_t n)
{
    snprintf(buf, n, "%s/logs/%s/%s.log", o->cache, s->name, s->points[k].id);
}

static pid_t spawn(const fl_sweep *s, const fl_sweep_opts *o, const char *run_dir, const char *self, size_t k,
                   int threads)
{
    char log[FL_SWEEP_PATH_MAX + 64], ks[32], th[16];
    (void)run_dir;
    snprintf(log, sizeof log, "%s/logs/%s", o->cache, s->name);
    fl_mkdir_p(log);
    log_path(s, o, k, log, sizeof log);
    snprintf(ks, sizeof ks, "%zu", k);
    snprintf(th, sizeof th, "%d", threads);
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) return pid;
    /* the child dies with the sweep: a killed sweep leaves no stray trainer */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    execl(self, "fligru", "sweep", s->path, "--point", ks, "--out", o->out_root, "--cache", o->cache, "--threads",
          th, (char *)NULL);
    fprintf(stderr, "sweep: cannot run %s: %s\n", self, strerror(errno));
    _exit(127);
}

/* A point may start unless a running one is training a model it needs. */
static int blocked(const fl_sweep *s, const fl_sweep_opts *o, const child *run, int nrun, const fl_sweep_point *p)
{
    const char *need[2] = {p->model_id, p->teacher_id};
    for (int a = 0; a < 2; ++a) {
        if (!need[a][0]) continue;
        char path[FL_SWEEP_PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/models/%s.safetensors", o->cache, need[a]);
        if (sweep_exists(path)) continue;
        for (int i = 0; i < nrun; ++i) {
            const fl_sweep_point *q = &s->points[run[i].k];
            if (!strcmp(q->model_id, need[a]) || !strcmp(q->teacher_id, need[a])) return 1;
        }
    }
    return 0;
}

/* The local executor's state: points not started, children running, counts. */
typedef struct {
    const fl_sweep      *s;
    const fl_sweep_opts *o;
    const char          *run_dir, *self;
    fl_progress          mode;
    int                  jobs, nrun;
    size_t              *pending, np, done, start_done, failed;
    child               *run;
    double               t0, last;
} local_run;

static void result_path(const local_run *L, size_t k, char *buf, size_t n)
{
    snprintf(buf, n, "%s/points/%s.json", L->run_dir, L->s->points[k].id);
}

/* Estimated seconds left, from the points this invocation finished. */
static double eta(const local_run *L)
{
    const size_t fin = L->done - L->start_done + L->failed;
    const double el = sweep_now_s() - L->t0;
    return fin ? el / (double)fin * (double)(L->np + (size_t)L->nrun) : NAN;
}

/* Starts what may start, in grid order. A point alone and blocking every other
 * pending one (a shared model being trained) gets every job's threads; results
 * do not depend on it. */
static fl_status start_ready(local_run *L)
{
    for (size_t i = 0; i < L->np && L->nrun < L->jobs;) {
        const size_t k = L->pending[i];
        if (blocked(L->s, L->o, L->run, L->nrun, &L->s->points[k])) {
            ++i;
            continue;
        }
        int threads = L->o->threads > 0 ? L->o->threads : 1;
        if (L->nrun == 0) {
            L->run[0] = (child){-1, k};
            int other = 0;
            for (size_t j = 0; j < L->np && !other; ++j)
                other = j != i && !blocked(L->s, L->o, L->run, 1, &L->s->points[L->pending[j]]);
            if (!other) threads *= L->jobs;
        }
        pid_t pid = spawn(L->s, L->o, L->run_dir, L->self, k, threads);
        if (pid < 0) return fl_fail(FL_E_IO, "fork: %s", strerror(errno));
        L->run[L->nrun++] = (child){pid, k};
        memmove(L->pending + i, L->pending + i + 1, (L->np - i - 1) * sizeof *L->pending);
        --L->np;
    }
    return FL_OK;
}

/* A child ended: done when it exited 0 and wrote its result, else failed (its log named). */
static void reap(local_run *L, pid_t pid, int status)
{
    for (int i = 0; i < L->nrun; ++i) {
        if (L->run[i].pid != pid) continue;
        char path[FL_SWEEP_PATH_MAX + 64];
        result_path(L, L->run[i].k, path, sizeof path);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && sweep_exists(path)) ++L->done;
        else {
            ++L->failed;
            if (L->mode != FL_PROGRESS_QUIET) {
                char lp[FL_SWEEP_PATH_MAX + 64];
                log_path(L->s, L->o, L->run[i].k, lp, sizeof lp);
                fprintf(stderr, "%ssweep: point %zu failed (log: %s)\n", L->mode == FL_PROGRESS_BAR ? "\n" : "",
                        L->run[i].k, lp);
            }
        }
        L->run[i] = L->run[--L->nrun];
        return;
    }
}

/* The points without a result file, in grid order. */
static fl_status list_pending(local_run *L)
{
    L->pending = malloc(L->s->n_points * sizeof *L->pending);
    L->run = calloc((size_t)L->jobs, sizeof *L->run);
    if (!L->pending || !L->run) return fl_fail(FL_E_NOMEM, "out of memory");
    for (size_t k = 0; k < L->s->n_points; ++k) {
        char path[FL_SWEEP_PATH_MAX + 64];
        result_path(L, k, path, sizeof path);
        if (sweep_exists(path)) ++L->done;
        else L->pending[L->np++] = k;
    }
    L->start_done = L->done;
    return FL_OK;
}

static fl_status run_children(local_run *L)
{
    fl_status st;
    progress(L->mode, L->s->n_points, L->done, 0, 0, NAN, L->np == 0);
    while (L->np > 0 || L->nrun > 0) {
        if ((st = start_ready(L))) return st;
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            reap(L, pid, status);
            progress(L->mode, L->s->n_points, L->done, L->failed, (size_t)L->nrun, eta(L), L->np == 0 && L->nrun == 0);
            L->last = sweep_now_s();
            continue;
        }
        if (pid < 0 && errno != EINTR && errno != ECHILD) break;
        if (L->mode == FL_PROGRESS_BAR && sweep_now_s() - L->last > 1.0) {
            progress(L->mode, L->s->n_points, L->done, L->failed, (size_t)L->nrun, eta(L), 0);
            L->last = sweep_now_s();
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return FL_OK;
}

fl_status fl_sweep_run_local(const fl_sweep *s, const fl_sweep_opts *o, const char *run_dir, const char *self,
                             size_t *failed)
{
    local_run L = {.s = s, .o = o, .run_dir = run_dir, .self = self, .jobs = o->jobs > 0 ? o->jobs : 1,
                   .t0 = sweep_now_s()};
    L.mode = o->progress != FL_PROGRESS_AUTO ? o->progress : isatty(2) ? FL_PROGRESS_BAR : FL_PROGRESS_LINES;
    fl_status st = list_pending(&L);
    if (!st) st = run_children(&L);
    *failed = L.failed;
    free(L.pending);
    free(L.run);
    return st;
}

/* ---- Slurm --------------------------------------------------------------------------- */

static void abs_path(const char *p, char *out, size_t n)
{
    if (p[0] == '/') {
        snprintf(out, n, "%s", p);
        return;
    }
    char cwd[FL_SWEEP_PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    if ((size_t)snprintf(out, n, "%s/%s", cwd, p) >= n) out[n - 1] = 0;
}

fl_status fl_sweep_run_slurm(const fl_sweep *s, const fl_sweep_opts *o, const char *run_dir, const char *self,
                             const char *sbatch_args, int submit, char *job_id, size_t n)
{
    char dir[FL_SWEEP_PATH_MAX + 64], path[FL_SWEEP_PATH_MAX + 128];
    char a_self[FL_SWEEP_PATH_MAX], a_cfg[FL_SWEEP_PATH_MAX], a_out[FL_SWEEP_PATH_MAX], a_cache[FL_SWEEP_PATH_MAX],
        a_run[FL_SWEEP_PATH_MAX];
    abs_path(self, a_self, sizeof a_self);
    abs_path(s->path, a_cfg, sizeof a_cfg);
    abs_path(o->out_root, a_out, sizeof a_out);
    abs_path(o->cache, a_cache, sizeof a_cache);
    abs_path(run_dir, a_run, sizeof a_run);
    snprintf(dir, sizeof dir, "%s/slurm", run_dir);
    fl_status st = fl_mkdir_p(dir);
    if (st) return st;
    /* tasks.txt: array task i runs point line i+1 (the unfinished ones only) */
    fl_atomic f;
    snprintf(path, sizeof path, "%s/tasks.txt", dir);
    if ((st = fl_atomic_open(&f, path))) return st;
    size_t m = 0;
    for (size_t k = 0; k < s->n_points; ++k) {
        char pp[FL_SWEEP_PATH_MAX + 64];
        snprintf(pp, sizeof pp, "%s/points/%s.json", run_dir, s->points[k].id);
        if (!sweep_exists(pp)) {
            fprintf(f.fp, "%zu\n", k);
            ++m;
        }
    }
    if ((st = fl_atomic_commit(&f))) return st;
    job_id[0] = 0;
    if (m == 0) return FL_OK;
    const int th = o->threads > 0 ? o->threads : 1;
    snprintf(path, sizeof path, "%s/sweep.sbatch", dir);
    if ((st = fl_atomic_open(&f, path))) return st;
    fprintf(f.fp,
            "#!/bin/bash\n"
            "# fligru sweep %s: one array task per unfinished design point (%zu of %zu).\n"
            "# Submit: sbatch %s/slurm/sweep.sbatch   Merge: fligru collect %s\n"
            "#SBATCH --job-name=fligru-%s\n"
            "#SBATCH --array=0-%zu\n"
            "#SBATCH --cpus-per-task=%d\n"
            "#SBATCH --output=%s/slurm/%%A_%%a.out\n"
            "set -euo pipefail\n"
            "K=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" '%s/slurm/tasks.txt')\n"
            "exec '%s' sweep '%s' --point \"$K\" --out '%s' --cache '%s' --threads \"${SLURM_CPUS_PER_TASK:-%d}\"\n",
            s->name, m, s->n_points, a_run, a_run, s->name, m - 1, th, a_run, a_run, a_self, a_cfg, a_out, a_cache, th);
    if ((st = fl_atomic_commit(&f))) return st;
    chmod(path, 0755);
    if (!submit) return FL_OK;
    char cmd[3 * FL_SWEEP_PATH_MAX];
    snprintf(cmd, sizeof cmd, "sbatch --parsable %s '%s/slurm/sweep.sbatch'", sbatch_args ? sbatch_args : "", a_run);
    fflush(NULL);
    FILE *pp = popen(cmd, "r");
    if (!pp) return fl_fail(FL_E_IO, "cannot run sbatch: %s", strerror(errno));
    char out[256] = "";
    if (!fgets(out, sizeof out, pp)) out[0] = 0;
    char rest[256];
    while (fgets(rest, sizeof rest, pp)) { /* drain */ }
    int rc = pclose(pp);
    out[strcspn(out, "\n;")] = 0;
    if (rc != 0 && !out[0]) return fl_fail(FL_E_IO, "%s: failed (exit %d)", cmd, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
    snprintf(job_id, n, "%s", out);
    if (rc != 0) return fl_fail(FL_E_IO, "sbatch job %s: some array tasks failed (see %s/slurm/)", out, a_run);
    return FL_OK;
}
