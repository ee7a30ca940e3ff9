/* status.c - thread-local one-line error messages. */
#include "fligru/status.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char fl_msg[1024];

fl_status fl_fail(fl_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fl_msg, sizeof fl_msg, fmt, ap);
    va_end(ap);
    /* One line, always: a stray newline in a path would split the report. */
    for (char *p = fl_msg; *p; ++p)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return st;
}

const char *fl_error(void) { return fl_msg; }

void fl_error_clear(void) { fl_msg[0] = '\0'; }

const char *fl_status_name(fl_status st)
{
    switch (st) {
    case FL_OK:         return "ok";
    case FL_E_INPUT:    return "bad input";
    case FL_E_IO:       return "i/o error";
    case FL_E_NOMEM:    return "out of memory";
    case FL_E_INTERNAL: return "internal error";
    }
    return "unknown status";
}

int fl_status_exit_code(fl_status st)
{
    switch (st) {
    case FL_OK:      return 0;
    case FL_E_INPUT:
    case FL_E_IO:    return 2;
    default:         return 1;
    }
}
