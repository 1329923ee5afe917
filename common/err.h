/* err.h — the error convention of every gprof library: functions return 0 or a negative
 * errno-style code and fill a struct gp_err with a message a user can act on. */
#ifndef GPROF_COMMON_ERR_H
#define GPROF_COMMON_ERR_H

#include <stdarg.h>

struct gp_err {
    int code;      /* negative errno-style code, 0 when no error */
    char msg[512]; /* human-readable: what failed and what to do about it */
};

/* Sets err (when not NULL) and returns code, so callers can write `return gp_err_set(...)`. */
int gp_err_set(struct gp_err *err, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
int gp_err_vset(struct gp_err *err, int code, const char *fmt, va_list ap);
/* Prefixes an existing message with context ("reading /proc/1/maps: ..."). */
int gp_err_prefix(struct gp_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gp_err_clear(struct gp_err *err);

#endif
