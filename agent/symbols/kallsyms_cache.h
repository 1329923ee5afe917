/* kallsyms_cache.h — the parsed kernel symbol table kept as a file for the rest of the boot, so
 * a `gprofctl record` maps it instead of having the kernel format /proc/kallsyms again. */
#ifndef GPROF_AGENT_SYMBOLS_KALLSYMS_CACHE_H
#define GPROF_AGENT_SYMBOLS_KALLSYMS_CACHE_H

#include "agent/symbols/rangetab.h"
#include "common/err.h"

#define GP_KALLSYMS_CACHE_DIR "/run/gprof/cache"

/* Loads the kernel's text symbols into t: from dir/kallsyms when that file was written in this
 * boot with the same modules loaded (and is owned by us, not writable by others), else from
 * /proc/kallsyms, then saved there for the next run (best effort: a directory we cannot create
 * or write only costs the next run a full read). dir NULL: no cache. Symbols of code loaded
 * since the file was written (BPF programs, trampolines) are missing from it: callers re-read
 * /proc/kallsyms with fresh = 1 after misses. Returns 0 or the error of the live read. */
int gp_kallsyms_load_cached(const char *dir, int fresh, struct gp_rangetab *t, struct gp_err *err);

#endif
