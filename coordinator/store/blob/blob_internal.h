/* blob_internal.h — the built-in blob backends, declared for the backend table in blob.c.
 * Not a public API: callers use blob.h. */
#ifndef GPROF_COORD_STORE_BLOB_INTERNAL_H
#define GPROF_COORD_STORE_BLOB_INTERNAL_H

#include "coordinator/store/blob/blob.h"

extern const struct blob_store_ops blob_fs_ops;

#endif
