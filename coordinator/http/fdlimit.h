/* fdlimit.h — fits the connection cap into the open-file limit at startup, so a flood of
 * connections meets max_connections, never "Too many open files". */
#ifndef GPROF_COORD_HTTP_FDLIMIT_H
#define GPROF_COORD_HTTP_FDLIMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* Needs *max_conns + reserve descriptors: raises the RLIMIT_NOFILE soft limit toward the hard
 * one when it is lower. If the hard limit is still too low: with explicit (the operator set
 * max_connections) returns -EMFILE with a message saying so; otherwise lowers *max_conns to
 * what fits (at least min_conns, else -EMFILE) and writes a warning to note (else note = "").
 * Returns 0 when the server may start. */
int http_fit_nofile(unsigned *max_conns, unsigned reserve, unsigned min_conns, bool explicit,
                    char *note, size_t notesz, struct gp_err *err);

#endif
