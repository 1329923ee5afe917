/* index_internal.h — the built-in sample index backends, declared for the table in index.c.
 * Not a public API: callers use index.h. */
#ifndef GPROF_COORD_STORE_INDEX_INTERNAL_H
#define GPROF_COORD_STORE_INDEX_INTERNAL_H

#include "coordinator/store/index/index.h"

extern const struct sample_index_ops sample_index_sqlite_ops;

#endif
