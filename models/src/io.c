/* nftw (fl_rm_tree) is an XSI interface. */
#define _XOPEN_SOURCE 700
/* io.c - atomic output files, mkdir -p, thread settings. */
#include "fligru/io.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* OpenBLAS's own setter; declared here so libfligru's users need no cblas.h. */
void openblas_set_num_threads(int num_threads);

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

fl_status fl_atomic_open(fl_atomic *f, const char *path)
{
    static _Atomic unsigned counter;
    memset(f, 0, sizeof *f);
    size_t n = strlen(path) + 64;
    char *final = dup_str(path), *tmp = malloc(n);
    if (!final || !tmp) {
        free(final);
        free(tmp);
        return fl_fail(FL_E_NOMEM, "%s: out of memory", path);
    }
    /* pid + counter: concurrent writers of the same name never collide. */
    snprintf(tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        int e = errno;
        free(final);
        free(tmp);
        return fl_fail(FL_E_IO, "%s: cannot write: %s", path, strerror(e));
    }
    f->fp = fp;
    f->path = final;
    f->tmp = tmp;
    return FL_OK;
}

fl_status fl_atomic_commit(fl_atomic *f)
{
    int bad = ferror(f->fp);
    if (fflush(f->fp) != 0) bad = 1;
    int e = errno;
    if (fclose(f->fp) != 0) { bad = 1; e = errno; }
    f->fp = NULL;
    if (!bad && rename(f->tmp, f->path) != 0) { bad = 1; e = errno; }
    if (bad) {
        fl_status st = fl_fail(FL_E_IO, "%s: write failed: %s", f->path, strerror(e));
        fl_atomic_abort(f);
        return st;
    }
    free(f->tmp);
    free(f->path);
    f->tmp = f->path = NULL;
    return FL_OK;
}

void fl_atomic_abort(fl_atomic *f)
{
    if (f->fp) fclose(f->fp);
    if (f->tmp) unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    memset(f, 0, sizeof *f);
}

fl_status fl_check_output(const char *out, ...)
{
    struct stat so, si;
    if (!out || stat(out, &so) != 0) return FL_OK;   /* not there yet: nothing to destroy */
    va_list ap;
    va_start(ap, out);
    const char *in, *same = NULL;
    while (!same && (in = va_arg(ap, const char *)))
        if (in[0] && stat(in, &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino) same = in;
    va_end(ap);
    if (!same) return FL_OK;
    return fl_fail(FL_E_INPUT, "%s: is also the input %s; writing it would destroy that input "
                               "(choose another output name)", out, same);
}

fl_status fl_mkdir_p(const char *dir)
{
    char *p = dup_str(dir);
    if (!p) return fl_fail(FL_E_NOMEM, "%s: out of memory", dir);
    for (char *s = p + 1;; ++s) {
        char c = *s;
        if (c != '/' && c != '\0') continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            fl_status st = fl_fail(FL_E_IO, "%s: cannot create directory: %s", p, strerror(errno));
            free(p);
            return st;
        }
        *s = c;
        if (c == '\0') break;
    }
    struct stat sb;
    int ok = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
    free(p);
    return ok ? FL_OK : fl_fail(FL_E_IO, "%s: not a directory", dir);
}

char *fl_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (!s) return NULL;
    memcpy(s, dir, a);
    size_t k = a;
    if (a > 0 && dir[a - 1] != '/') s[k++] = '/';
    memcpy(s + k, name, b + 1);
    return s;
}

void fl_set_threads(int n)
{
    if (n <= 0) return;
    omp_set_num_threads(n);
    /* Our parallel loops and BLAS calls never nest: BLAS gets the same count. */
    openblas_set_num_threads(n);
}

int fl_get_threads(void) { return omp_get_max_threads(); }

int fl_progress_parse(const char *s, fl_progress *p)
{
    static const char *const names[] = {"auto", "lines", "bar", "quiet"};
    for (int i = 0; i < 4; ++i)
        if (!strcmp(s, names[i])) {
            *p = (fl_progress)i;
            return 0;
        }
    return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) ? -1 : 0;
}

fl_status fl_rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return FL_OK;
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return fl_fail(FL_E_IO, "%s: cannot remove: %s", path, strerror(errno));
    return FL_OK;
}
