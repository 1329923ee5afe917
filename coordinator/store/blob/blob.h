/* blob.h — the raw-profile blob store: a small vtable (filesystem today, S3 later) with
 * validated keys, so a stored object can never escape its root whatever the caller passes.
 *
 * Seams
 *   An engine implements struct blob_store_ops in coordinator/backends/<engine>/ (backends/fs/)
 *   and adds one line to the engine table (store/engines.c); the conformance test
 *   (tests/unit/test_blob.c) runs the engine GPROF_TEST_BLOBS names. Locations: "fs:<dir>"
 *   (objects at <dir>/<key>), later "s3:<bucket>/<prefix>".
 *
 * Keys
 *   1..512 bytes of [A-Za-z0-9._/-]; no leading '/', no empty component and none starting with '.'
 *   (so no "." or ".."), no "//", no trailing '/'. Anything else is -EINVAL before a backend
 *   sees it (path traversal is impossible by construction). Backends use names starting with
 *   '.' for temp files; list never reports them.
 *
 * Durability
 *   put returns only when the object is durable and complete: the fs backend writes a temp file
 *   in the same directory, fsyncs it, renames it over the key and fsyncs the directory. A reader
 *   sees either the old object or the new one, never a torn one.
 *
 * Threads: a struct blob_store is safe to use from any number of threads.
 * Errors: 0 or negative errno (-ENOENT missing key, -EINVAL bad key, -EFBIG over max, -EIO).
 */
#ifndef GPROF_COORD_STORE_BLOB_H
#define GPROF_COORD_STORE_BLOB_H

#include "coordinator/store/engine_options.h"
#include "common/err.h"

#include <stddef.h>
#include <stdint.h>

#define BLOB_KEY_MAX 512

/* Called per key; return non-zero to stop (that value is returned by list). */
typedef int (*blob_list_cb)(const char *key, uint64_t size, void *ctx);

#define BLOB_STORE_OPS_VERSION 1

struct blob_store_ops {
    int version; /* BLOB_STORE_OPS_VERSION; members added later are read only when version says so
                  */
    int (*open)(const struct store_engine_options *opts, void **impl, struct gp_err *err);
    void (*close)(void *impl);
    int (*put)(void *impl, const char *key, const void *data, size_t len, struct gp_err *err);
    /* *data is malloc'd (caller frees); -EFBIG when larger than max (0 = no limit). */
    int (*get)(void *impl, const char *key, void **data, size_t *len, size_t max,
               struct gp_err *err);
    /* -ENOENT when absent. */
    int (*del)(void *impl, const char *key, struct gp_err *err);
    /* Size of an object; -ENOENT when absent. */
    int (*stat)(void *impl, const char *key, uint64_t *size, struct gp_err *err);
    /* Every key starting with prefix ("" = all), in no particular order. */
    int (*list)(void *impl, const char *prefix, blob_list_cb cb, void *ctx, struct gp_err *err);
};

/* 1 when key is acceptable (see above), else 0. */
int blob_key_valid(const char *key);

struct blob_store;

/* spec = "<engine>:<location>" (store/engines.h), e.g. "fs:/var/lib/gprof-coordinator/profiles"
 * (the directory is created, mode 0750, when missing). */
int blob_store_open(const char *spec, struct blob_store **out, struct gp_err *err);
void blob_store_close(struct blob_store *bs);

int blob_put(struct blob_store *bs, const char *key, const void *data, size_t len,
             struct gp_err *err);
int blob_get(struct blob_store *bs, const char *key, void **data, size_t *len, size_t max,
             struct gp_err *err);
int blob_delete(struct blob_store *bs, const char *key, struct gp_err *err);
int blob_stat(struct blob_store *bs, const char *key, uint64_t *size, struct gp_err *err);
int blob_list(struct blob_store *bs, const char *prefix, blob_list_cb cb, void *ctx,
              struct gp_err *err);

#endif
