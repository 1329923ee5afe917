/* meta_internal.h — what the metadata layer's own files share: the built-in driver and its
 * schema, and small helpers for the domain files (clock, row copying). Not a public API. */
#ifndef GPROF_COORD_STORE_META_INTERNAL_H
#define GPROF_COORD_STORE_META_INTERNAL_H

#include "coordinator/store/meta/meta.h"

#include <stdint.h>

extern const struct meta_store_ops meta_sqlite_ops;
extern const char *const meta_sqlite_migrations[];
extern const int meta_sqlite_nmigrations;

/* Current Unix time in seconds. */
int64_t meta_now(void);
/* Column i as int64, with a default for NULL. */
int64_t meta_row_int_or(const struct meta_row *r, int i, int64_t def);
/* Builds an SQL fragment "(col = ? OR col = ?...)" / LIKE variant into buf; used by lists. */

#endif
