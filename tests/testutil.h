/* testutil.h - helpers shared by the Criterion tests. */
#ifndef FLIGRU_TESTUTIL_H
#define FLIGRU_TESTUTIL_H

#include <stddef.h>

/* A fresh, empty scratch directory under the build tree, unique per call:
 * "<build>/test-tmp/<tag>-<pid>-<n>". The caller frees the string. */
char *tu_tmpdir(const char *tag);

/* Writes text to dir/name; returns the malloc'd full path. */
char *tu_write_file(const char *dir, const char *name, const char *text);

/* Runs the fligru CLI with the given arguments (NULL-terminated) and returns
 * its exit status; stdout and stderr are captured into *out / *err (malloc'd,
 * NUL-terminated; pass NULL to discard). */
int tu_run_cli(char **out, char **err, const char *arg0, ...);

/* 1 when the file exists. */
int tu_exists(const char *path);

/* Number of directory entries (excluding . and ..) whose name contains "tmp":
 * used to prove no temporary output was left behind. */
int tu_count_tmp(const char *dir);

/* Reads a whole file (binary) into a malloc'd buffer, NUL-terminated; *len gets
 * its size. */
unsigned char *tu_read_all(const char *path, size_t *len);

#endif
