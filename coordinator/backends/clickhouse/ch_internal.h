/* backends/clickhouse/ch_internal.h — what the ClickHouse sample index's files share: the engine
 * state (server, database, cluster, detected features, stack cache), the HTTP client, the SQL
 * text helpers (escaping, predicates) and RowBinary encoding and decoding. */
#ifndef GPROF_COORD_CH_INTERNAL_H
#define GPROF_COORD_CH_INTERNAL_H

#include "coordinator/index/stack_cache.h"
#include "coordinator/index/rollup.h"
#include "coordinator/store/index/index.h"
#include "common/strbuf.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define CH_POOL_MAX 8
/* Indexer batching defaults (spec batch_rows= / batch_ms=): ClickHouse wants few, large inserts
 * (each one is a part to merge); a claim lease is 120 s, so a batch waits far less than that. */
#define CH_BATCH_ROWS   100000
#define CH_BATCH_MS     1000
#define CH_BATCH_MS_MAX 30000

struct ch_features {
    int major, minor; /* SELECT version() */
    int lowcard;      /* LowCardinality(String) usable without experimental settings */
    int ttl;          /* table TTL parses (not needed: retention drops day partitions) */
    int query_params; /* {name:Type} HTTP query parameters */
    int zookeeper;    /* system.zookeeper exists (ON CLUSTER DDL possible) */
};

struct chx {
    char *base_url; /* http://host:port/ */
    char *db;       /* database (created on open) */
    char *cluster;  /* NULL = single server */
    char *user, *password;
    char *dbq;        /* db quoted as an identifier: `name` */
    char *shards[16]; /* cluster without ZooKeeper: every shard's HTTP URL (DDL, retention) */
    size_t nshards;
    long timeout_s;
    size_t batch_rows; /* indexer batching (batch_rows=, batch_ms= of the spec) */
    int batch_ms;
    struct ch_features feat;
    pthread_mutex_t mu; /* guards pool and cache */
    void *pool[CH_POOL_MAX];
    int npool;
    struct index_stack_cache cache; /* stacks whose dictionary row is written (id unused) */
    pthread_mutex_t wmu; /* one add at a time per process (keeps the stack cache coherent) */
};

/* ---- HTTP (ch_http.c) ---- */
/* Runs sql. With body (INSERT ... FORMAT RowBinary), sql goes in the URL and body is POSTed;
 * else sql is the POST body. settings: extra "&k=v" URL settings or NULL; query_id or NULL.
 * out (may be NULL) receives the response. Errors: -EAGAIN when the server is unreachable,
 * times out or reports a transient condition (the caller retries later), -EIO for a query the
 * server rejected (message from the server), -ENOMEM. */
int ch_exec(struct chx *x, const char *sql, const void *body, size_t bodylen, const char *settings,
            const char *query_id, struct strbuf *out, struct gp_err *err);
/* Like ch_exec (no body), sending data (RowBinary rows of structure, e.g. "hash UInt64") as the
 * external table `name` the query reads (`... IN name`): a long value list without SQL parsing. */
int ch_exec_ext(struct chx *x, const char *sql, const char *name, const char *structure,
                const void *data, size_t len, const char *settings, struct strbuf *out,
                struct gp_err *err);
/* Like ch_exec against an explicit base URL and no database (shard DDL, probes). */
int ch_exec_at(struct chx *x, const char *base_url, const char *db, const char *sql,
               struct strbuf *out, struct gp_err *err);
void ch_http_close(struct chx *x);

/* ---- SQL text (ch_sql.c) ---- */
/* s as a ClickHouse string literal: quotes, backslash escapes, control bytes as \xHH. */
void ch_sql_str(struct strbuf *sb, const char *s);
/* s as a back-quoted identifier. */
void ch_sql_ident(struct strbuf *sb, const char *s);
/* An index_like pattern as an RE2 regex with the same byte-wise meaning; -EINVAL when pat is
 * not valid UTF-8 (RE2 runs in UTF-8 mode in ClickHouse). */
int ch_like_regex(struct strbuf *sb, const char *pat);
/* p as a ClickHouse boolean expression over cols (indexed by enum index_field; unindexed
 * fields are ''); "1" for NULL. -EINVAL (see ch_like_regex). */
int ch_pred_sql(struct strbuf *sb, const struct index_pred *p,
                const char *const cols[INDEX_NFIELDS]);
/* " AND host IN (...)" / " AND host NOT IN (...)" for f's host lists. */
void ch_host_lists_sql(struct strbuf *sb, const struct index_filter *f, const char *col);

/* ---- RowBinary (ch_sql.c) ---- */
void rb_u8(struct strbuf *sb, uint8_t v);
void rb_u32(struct strbuf *sb, uint32_t v);
void rb_u64(struct strbuf *sb, uint64_t v);
void rb_f64(struct strbuf *sb, double v);
void rb_varint(struct strbuf *sb, uint64_t v);
void rb_str(struct strbuf *sb, const char *s, size_t n);

struct rb_reader {
    const unsigned char *p, *end;
    int bad;
};
uint8_t rd_u8(struct rb_reader *r);
uint32_t rd_u32(struct rb_reader *r);
uint64_t rd_u64(struct rb_reader *r);
int64_t rd_i64(struct rb_reader *r);
double rd_f64(struct rb_reader *r);
uint64_t rd_varint(struct rb_reader *r);
/* A string view (not NUL-terminated); *n its length. */
const char *rd_str(struct rb_reader *r, size_t *n);

/* ---- schema (ch_schema.c) ---- */
int chx_open(const struct store_engine_options *opts, void **impl, struct gp_err *err);
void chx_close(void *impl);
/* Runs one DDL statement on every shard (cluster without ZooKeeper) or once. */
int ch_ddl(struct chx *x, const char *sql, struct gp_err *err);
/* Table names: "samples" etc., local or distributed as the mode needs; qualified by db. */
void ch_table(struct chx *x, struct strbuf *sb, const char *name);
/* Every shard's local table name (for DROP PARTITION / system.parts). */
void ch_local_table(struct chx *x, struct strbuf *sb, const char *name);

/* ---- vtable members ---- */
int chx_add(void *impl, const struct index_profile_meta *m, const struct gp_profile *p,
            struct gp_err *err);
int chx_add_batch(void *impl, const struct index_profile_meta *const *m,
                  const struct gp_profile *const *p, size_t n, struct gp_err *err);
int chx_has(void *impl, int64_t profile_id, struct gp_err *err);
int chx_has_many(void *impl, const int64_t *ids, size_t n, int *found, struct gp_err *err);
void chx_batch_policy(void *impl, size_t *rows, int *ms);
int chx_query(void *impl, const struct index_query *q, struct gp_profile *out,
              struct index_query_stats *stats, struct gp_err *err);
int chx_values(void *impl, const char *service, int64_t start, int64_t end,
               enum index_dimension dim, index_value_cb cb, void *ctx, struct gp_err *err);
int chx_time_range(void *impl, const char *service, const struct index_filter *f, int64_t *first,
                   int64_t *last, struct gp_err *err);
int chx_series(void *impl, const char *service, int64_t start, int64_t end, int64_t bucket_secs,
               const struct index_filter *f, index_series_cb cb, void *ctx, struct gp_err *err);
int chx_services(void *impl, index_service_cb cb, void *ctx, struct gp_err *err);
int chx_retention(void *impl, int64_t before, int64_t *deleted, struct gp_err *err);
int chx_check(void *impl, int *ok, char *msg, size_t msgsz, struct gp_err *err);
/* Drops the stack cache (after retention). */

#endif
