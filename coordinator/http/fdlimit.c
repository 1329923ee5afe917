/* fdlimit.c — RLIMIT_NOFILE against max_connections (see fdlimit.h). */
#include "coordinator/http/fdlimit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int http_fit_nofile(unsigned *max_conns, unsigned reserve, unsigned min_conns, bool explicit,
                    char *note, size_t notesz, struct gp_err *err)
{
    note[0] = '\0';
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return gp_err_set(err, -errno, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    rlim_t need = (rlim_t)*max_conns + reserve;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = old;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return 0;
    unsigned long long lim = (unsigned long long)rl.rlim_cur;
    unsigned fit = lim > reserve ? (unsigned)(lim - reserve) : 0;
    if (explicit)
        return gp_err_set(err, -EMFILE,
                          "max_connections = %u needs %llu open files but the limit is %llu "
                          "(hard limit %llu): refusing to start. Lower max_connections to %u or "
                          "raise the limit (LimitNOFILE= in the unit, ulimit -n)",
                          *max_conns, (unsigned long long)need, lim,
                          (unsigned long long)rl.rlim_max, fit);
    if (fit < min_conns)
        return gp_err_set(err, -EMFILE,
                          "the open-file limit %llu leaves room for only %u connections (at least "
                          "%u needed): refusing to start; raise it (LimitNOFILE=, ulimit -n)",
                          lim, fit, min_conns);
    snprintf(note, notesz,
             "the open-file limit is %llu (hard limit %llu): serving at most %u connections "
             "instead of max_connections = %u; raise LimitNOFILE= / ulimit -n to serve more",
             lim, (unsigned long long)rl.rlim_max, fit, *max_conns);
    *max_conns = fit;
    return 0;
}
