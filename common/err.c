/* err.c — struct gp_err helpers. */
#include "common/err.h"

#include <stdio.h>
#include <string.h>

int gp_err_vset(struct gp_err *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    }
    return code;
}

int gp_err_set(struct gp_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gp_err_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int gp_err_prefix(struct gp_err *err, const char *fmt, ...)
{
    if (!err)
        return 0;
    char prefix[256], old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    size_t n = strnlen(prefix, sizeof(prefix) - 1);
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof(err->msg) - n - 3;
    size_t m = strnlen(old, rest);
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
    return err->code;
}

void gp_err_clear(struct gp_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}
