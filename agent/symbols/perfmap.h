/* perfmap.h — JIT symbol maps in the perf-PID.map format ("START SIZE name", hex) written by
 * Node, Java agents and Python 3.12 -X perf, read from inside the process's mount namespace. */
#ifndef GPROF_AGENT_SYMBOLS_PERFMAP_H
#define GPROF_AGENT_SYMBOLS_PERFMAP_H

#include <stddef.h>
#include <stdint.h>

#include "agent/symbols/rangetab.h"
#include "common/err.h"

/* Parses perf map text; malformed lines are skipped (writers append concurrently). */
int gp_perfmap_parse(const char *text, size_t len, struct gp_rangetab *t, struct gp_err *err);

#endif
