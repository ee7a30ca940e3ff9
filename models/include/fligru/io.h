/* fligru/io.h - all-or-nothing file output and thread settings.
 *
 * No fligru command leaves a half-written file behind: output goes to a
 * temporary name in the destination directory and is renamed over the final
 * name only once complete (rename(2) is atomic within a file system).
 *
 *     fl_atomic f;
 *     if (fl_atomic_open(&f, "out/tpsf.npy") != FL_OK) return ...;
 *     fwrite(buf, 1, n, f.fp);
 *     return fl_atomic_commit(&f);        // or fl_atomic_abort(&f) on error
 *
 * Several outputs that belong together (a synth directory) are opened first,
 * written, and committed last, so a failure part-way commits none of them.
 */
#ifndef FLIGRU_IO_H
#define FLIGRU_IO_H

#include <stdio.h>
#include <stddef.h>
#include "fligru/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    FILE *fp;          /* write here                                   */
    char *path;        /* final name                                   */
    char *tmp;         /* temporary name in the same directory         */
} fl_atomic;

fl_status fl_atomic_open(fl_atomic *f, const char *path);
/* Flushes, closes and renames; on any failure removes the temporary. */
fl_status fl_atomic_commit(fl_atomic *f);
/* Closes and removes the temporary; safe on a never-opened (zeroed) handle. */
void fl_atomic_abort(fl_atomic *f);

/* Refuses (FL_E_INPUT, "OUT: is also the input IN: ...") to write `out` when it
 * names the same existing file as one of the inputs that follow (a
 * NULL-terminated list; NULL-able entries may be given as ""): same device
 * and inode, so another spelling, a symlink or a hard link count too. Commands
 * call it before reading anything, so an input is never replaced. */
fl_status fl_check_output(const char *out, ...) __attribute__((sentinel));

/* Creates a directory and its parents (like mkdir -p). */
fl_status fl_mkdir_p(const char *dir);

/* Joins dir and name with one '/'; the caller frees. NULL on OOM. */
char *fl_path_join(const char *dir, const char *name);

/* Thread count for fligru's own parallel loops (OpenMP) and OpenBLAS.
 * n <= 0 keeps the default (OMP_NUM_THREADS, else all cores). Results never
 * depend on it: every parallel loop is written to be thread-count invariant. */
void fl_set_threads(int n);
int  fl_get_threads(void);

/* Removes a directory tree (or a file); a missing path is not an error. */
fl_status fl_rm_tree(const char *path);

/* How a long-running command reports progress on stderr (training, sweeps). */
typedef enum {
    FL_PROGRESS_AUTO = 0,  /* a bar when stderr is a terminal, else one line per step */
    FL_PROGRESS_LINES,
    FL_PROGRESS_BAR,
    FL_PROGRESS_QUIET
} fl_progress;

/* "auto", "lines", "bar", "quiet"; 0 and *p set, or -1. */
int fl_progress_parse(const char *s, fl_progress *p);

#ifdef __cplusplus
}
#endif
#endif
