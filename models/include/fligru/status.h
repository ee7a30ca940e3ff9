/* fligru/status.h - status codes and the one-line error message.
 *
 * Every fallible fligru function returns an fl_status. On failure it has
 * already recorded one human-readable line naming the file and the field
 * (and the YAML line), e.g.
 *
 *     data/tpsf.npy: shape [100,135] does not match truth [100,134]
 *     cfg.yaml:7: decay.tau1_ns: value -0.2 must be > 0
 *
 * which the CLI prints as "fligru: <line>" before exiting with status 2.
 *
 *     fl_status st = fl_npy_load("x.npy", &a);
 *     if (st != FL_OK) { fprintf(stderr, "%s\n", fl_error()); return st; }
 *
 * The message buffer is thread-local, so worker threads can fail independently.
 */
#ifndef FLIGRU_STATUS_H
#define FLIGRU_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FL_OK = 0,
    FL_E_INPUT,    /* malformed or out-of-range user input: file, config, data  */
    FL_E_IO,       /* a file that cannot be opened, read or written             */
    FL_E_NOMEM,    /* allocation failure                                        */
    FL_E_INTERNAL  /* a broken invariant inside fligru: a bug, please report    */
} fl_status;

/* Records the message (printf-style) and returns st, so callers can write
 * `return fl_fail(FL_E_INPUT, "%s: NaN at [%zu]", path, i);`. */
fl_status fl_fail(fl_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread ("" when none). */
const char *fl_error(void);

/* Clears this thread's message. */
void fl_error_clear(void);

/* Short constant name: "ok", "bad input", ... */
const char *fl_status_name(fl_status st);

/* Exit status a command-line tool should use: 0 ok, 2 bad input or I/O, 1 otherwise. */
int fl_status_exit_code(fl_status st);

#ifdef __cplusplus
}
#endif
#endif
