/* engines.h — the one table of storage engines built into this binary (name -> versioned
 * vtables, coordinator/backends/<engine>/) and the parser of "<engine>:<location>" specs. */
#ifndef GPROF_COORD_STORE_ENGINES_H
#define GPROF_COORD_STORE_ENGINES_H

#include "coordinator/store/engine_options.h"
#include "common/err.h"

#include <stddef.h>

#define STORE_ENGINE_VERSION 1

/* What a configured store is used for; an engine provides one or more. */
enum store_role { STORE_ROLE_META, STORE_ROLE_BLOBS, STORE_ROLE_INDEX };

/* One engine. A vtable pointer is NULL for a role the engine does not provide. The metadata
 * vtable is the SQL driver of backends/sqlite/sql.h (engines of the SQL family share the domain
 * functions of meta.h). */
struct store_engine {
    int version;      /* STORE_ENGINE_VERSION; newer fields are read only when version says so */
    const char *name; /* "sqlite" in "sqlite:/var/lib/gprof-coordinator/meta.db" */
    int network;      /* 1: the location is //[user[:password]@]host[:port][/database] */
    const struct meta_store_ops *meta;
    const struct blob_store_ops *blobs;
    const struct sample_index_ops *index;
};

/* The engines this build was configured with (CMake GPROF_ENGINE_<NAME>), NULL-terminated. */
extern const struct store_engine *const store_engines[];

/* The engine called name, or NULL. */
const struct store_engine *store_engine_find(const char *name, size_t len);
/* The vtable of engine e for role (NULL when e does not provide it). */
const void *store_engine_vtable(const struct store_engine *e, enum store_role role);
/* "sqlite, fs": the names of the engines that provide role, generated from the table. */
void store_engines_supported(enum store_role role, char *buf, size_t bufsz);

/* Parses "<engine>:<location>" for role into the engine and its options: "<engine>:<path>" for
 * embedded engines (the whole location is the path, as before); for network engines
 * "<engine>://[user[:password]@]host[:port][/database][?key=value&...]". Error
 * messages name the role, the engine and the path or host, never the password. */
int store_engine_parse(const char *spec, enum store_role role, const struct store_engine **out,
                       struct store_engine_options *opts, struct gp_err *err);
void store_engine_options_free(struct store_engine_options *opts);
/* Process-wide credentials for a role (config meta_user / meta_password ...): store_engine_parse
 * fills opts->user and opts->password from them when the spec has none. NULL or "" = none.
 * Call before opening stores; the copies are wiped by store_engine_credentials_clear(). */
int store_engine_credentials_set(enum store_role role, const char *user, const char *password);
void store_engine_credentials_clear(void);
/* Copies src into dst (owned strings); -ENOMEM. */
int store_engine_options_copy(struct store_engine_options *dst,
                              const struct store_engine_options *src);
/* The value of key in opts->params ("region" in "...?region=eu&style=path"), copied into buf
 * (%XX decoded): 1 when present, 0 when absent, -ENAMETOOLONG when it does not fit, -EINVAL on a
 * bad %XX escape. */
int store_engine_param(const struct store_engine_options *opts, const char *key, char *buf,
                       size_t bufsz);
/* Where the options point, for messages: the path, or "host:port/database" (no credentials). */
void store_engine_options_describe(const struct store_engine_options *o, char *buf, size_t bufsz);

#endif
