/* engines.h — the storage engines built into this binary (coordinator/backends/<engine>/),
 * declared for the engine tables. Not a public API: callers use meta.h, blob.h and index.h. */
#ifndef GPROF_COORD_STORE_ENGINES_H
#define GPROF_COORD_STORE_ENGINES_H

#include "coordinator/store/blob/blob.h"
#include "coordinator/store/index/index.h"

extern const struct blob_store_ops blob_fs_ops;
extern const struct sample_index_ops sample_index_sqlite_ops;

#endif
