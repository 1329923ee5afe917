/* backends/sqlite/index_internal.h — what the SQLite sample index's files share: the engine
 * state (connection pool, writer lock, stack cache), connection and name lookups, host
 * selection and the filtered, merged stack counts that query and values both read. */
#ifndef GPROF_COORD_SQLITE_INDEX_INTERNAL_H
#define GPROF_COORD_SQLITE_INDEX_INTERNAL_H

#include "coordinator/backends/sqlite/util.h"
#include "coordinator/index/rollup.h"
#include "coordinator/store/index/index.h"
#include "coordinator/store/tls_pool.h"
#include "common/strbuf.h"

#include <pthread.h>
#include "coordinator/index/stack_cache.h"

#include <stdint.h>

enum { RES_MIN = INDEX_ROLLUP_MINUTE, RES_HOUR = INDEX_ROLLUP_HOUR, RES_DAY = INDEX_ROLLUP_DAY };

struct six {
    char *path;
    struct tls_pool *pool;
    pthread_mutex_t wmu; /* one writer at a time; guards the stack cache */
    struct index_stack_cache cache;
};

/* Opening and closing the engine (index_db.c). */
int six_open(const struct store_engine_options *opts, void **impl, struct gp_err *err);
void six_close(void *impl);
/* This thread's connection to the index. */
int six_get_conn(struct six *x, struct sq_conn **c, struct gp_err *err);
/* Reads one integer column of a one-row statement; *found = 0 when there is no row. */
int six_step_int(struct sq_conn *c, sqlite3_stmt *st, int64_t *out, int *found, struct gp_err *err);
/* The id of a service or host name (table "services" / "hosts"); -ENOENT when unknown and not
 * create. */
int six_name_id(struct sq_conn *c, const char *table, const char *name, int create, int64_t *id,
                struct gp_err *err);

/* Which per-host rows a query reads (index_query.c). */
struct hostsel {
    int all;     /* no host filter: use host 0 rows */
    int exclude; /* ids are excluded (host_out) rather than included */
    int none;    /* include list resolved to nothing: empty answer */
    int64_t *ids;
    size_t n;
};
/* The host lists of f as host ids (time range, series). */
int six_resolve_hosts(struct sq_conn *c, const struct index_filter *f, struct hostsel *hs,
                      struct gp_err *err);
/* Appends " AND <host condition on col>" (literal ids: our own integers). */
void six_host_sql(struct strbuf *sb, const struct hostsel *hs, const char *col);

/* A stack that passed the filter, with its merged count (hash: for ordering ties). */
struct kept {
    int64_t id;
    uint64_t count;
    uint64_t hash;
};
/* The stacks of q's service and range that pass q's filter, merged (need_hash: fill hash). */
int six_collect(struct six *x, struct sq_conn *c, const struct index_query *q, struct kept **out,
                size_t *nout, struct index_query_stats *stats, int need_hash, struct gp_err *err);

/* The vtable's members, by file. */
int six_add(void *impl, const struct index_profile_meta *m, const struct gp_profile *p,
            struct gp_err *err);
int six_add_batch(void *impl, const struct index_profile_meta *const *m,
                  const struct gp_profile *const *p, size_t n, struct gp_err *err);
int six_has(void *impl, int64_t profile_id, struct gp_err *err);
int six_query(void *impl, const struct index_query *q, struct gp_profile *out,
              struct index_query_stats *stats, struct gp_err *err);
int six_time_range(void *impl, const char *service, const struct index_filter *f, int64_t *first,
                   int64_t *last, struct gp_err *err);
int six_series(void *impl, const char *service, int64_t start, int64_t end, int64_t bucket_secs,
               const struct index_filter *f, index_series_cb cb, void *ctx, struct gp_err *err);
int six_services(void *impl, index_service_cb cb, void *ctx, struct gp_err *err);
int six_values(void *impl, const char *service, int64_t start, int64_t end,
               enum index_dimension dim, index_value_cb cb, void *ctx, struct gp_err *err);
/* Drops the writer's stack cache (after a rollback or a retention delete; wmu held). */

#endif
