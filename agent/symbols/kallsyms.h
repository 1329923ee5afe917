/* kallsyms.h — the kernel's text symbols from /proc/kallsyms (modules included), for naming
 * kernel stack frames; names carry gProfiler's "_[k]" suffix. */
#ifndef GPROF_AGENT_SYMBOLS_KALLSYMS_H
#define GPROF_AGENT_SYMBOLS_KALLSYMS_H

#include <stddef.h>

#include "agent/symbols/rangetab.h"
#include "common/err.h"

/* Parses kallsyms text into t (text symbols t/T/w/W only). -EPERM when every address is 0
 * (kptr_restrict hides them). */
int gp_kallsyms_parse(const char *text, size_t len, struct gp_rangetab *t, struct gp_err *err);
/* Reads path (normally "/proc/kallsyms"). */
int gp_kallsyms_load(const char *path, struct gp_rangetab *t, struct gp_err *err);

#endif
