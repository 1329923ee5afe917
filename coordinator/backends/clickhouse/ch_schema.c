/* backends/clickhouse/ch_schema.c — opening the ClickHouse sample index: the spec
 * (clickhouse://HOST:PORT/DB[?cluster=NAME&shards=URL,URL&timeout=S]), credentials, feature
 * detection (version, LowCardinality, TTL, HTTP query parameters, ZooKeeper) and the schema:
 *   samples   raw (service, minute, stack, host, pid, count), MergeTree, one partition a day
 *   samples_hour / samples_day  SummingMergeTree rollups filled by materialized views
 *   stacks    hash -> container, comm, frames; ReplacingMergeTree, partition = last day seen
 *   profiles  one row per indexed profile (idempotency marker, metrics), ReplacingMergeTree
 * In cluster mode these are "<name>_local" on every shard (created with ON CLUSTER when the
 * servers have ZooKeeper, else on each shard's HTTP URL from `shards=`) behind Distributed tables
 * sharded by the stack hash (profiles: by profile id). */
#include "coordinator/backends/clickhouse/ch_internal.h"
#include "coordinator/store/engines.h"
#include "common/curl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION 1

void ch_table(struct chx *x, struct strbuf *sb, const char *name)
{
    sb_printf(sb, "%s.%s", x->dbq, name);
}

void ch_local_table(struct chx *x, struct strbuf *sb, const char *name)
{
    sb_printf(sb, "%s.%s%s", x->dbq, name, x->cluster ? "_local" : "");
}

static int probe(struct chx *x, const char *sql, const char *settings, struct strbuf *out)
{
    struct gp_err e = {0};
    return ch_exec(x, sql, NULL, 0, settings, NULL, out, &e);
}

static int detect(struct chx *x, struct gp_err *err)
{
    struct strbuf out = STRBUF_INIT;
    int rc = ch_exec(x, "SELECT version()", NULL, 0, NULL, NULL, &out, err);
    if (rc < 0) {
        sb_free(&out);
        return rc;
    }
    if (sscanf(sb_str(&out), "%d.%d", &x->feat.major, &x->feat.minor) != 2) {
        rc = gp_err_set(err, -EPROTO, "clickhouse at %s: unexpected version answer '%.40s'",
                        x->base_url, sb_str(&out));
        sb_free(&out);
        return rc;
    }
    sb_reset(&out);
    /* LowCardinality: usable when a cast to it works ... */
    x->feat.lowcard =
            probe(x, "SELECT toTypeName(CAST('' AS LowCardinality(String)))", NULL, &out) == 0 &&
            strstr(sb_str(&out), "LowCardinality") != NULL;
    sb_reset(&out);
    /* ... and no experimental switch guards it (18.x: allow_experimental_low_cardinality_type) */
    if (x->feat.lowcard &&
        probe(x,
              "SELECT count() FROM system.settings WHERE name = "
              "'allow_experimental_low_cardinality_type' AND value = '0'",
              NULL, &out) == 0 &&
        atoi(sb_str(&out)) > 0)
        x->feat.lowcard = 0;
    sb_reset(&out);
    x->feat.query_params =
            probe(x, "SELECT {p:UInt8}", "&param_p=7", &out) == 0 && atoi(sb_str(&out)) == 7;
    sb_reset(&out);
    x->feat.zookeeper =
            probe(x, "SELECT count() FROM system.zookeeper WHERE path = '/'", NULL, &out) == 0;
    sb_free(&out);
    return 0;
}

/* TTL parses (detected on a throw-away table in our database). */
static void detect_ttl(struct chx *x)
{
    struct strbuf sql = STRBUF_INIT;
    sb_printf(&sql,
              "CREATE TABLE IF NOT EXISTS %s._gprof_ttl_probe (d Date) ENGINE = MergeTree "
              "PARTITION BY d ORDER BY d TTL d + INTERVAL 1 DAY",
              x->dbq);
    x->feat.ttl = probe(x, sb_str(&sql), NULL, NULL) == 0;
    sb_reset(&sql);
    sb_printf(&sql, "DROP TABLE IF EXISTS %s._gprof_ttl_probe", x->dbq);
    probe(x, sb_str(&sql), NULL, NULL);
    sb_free(&sql);
}

/* Runs one DDL statement on every shard (cluster mode) or on the server. */
int ch_ddl(struct chx *x, const char *sql, struct gp_err *err)
{
    if (!x->cluster || x->feat.zookeeper || !x->nshards)
        return ch_exec(x, sql, NULL, 0, NULL, NULL, NULL, err);
    for (size_t i = 0; i < x->nshards; i++) {
        int rc = ch_exec_at(x, x->shards[i], NULL, sql, NULL, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int create_schema(struct chx *x, struct gp_err *err)
{
    const char *S = x->feat.lowcard ? "LowCardinality(String)" : "String";
    const char *L = x->cluster ? "_local" : "";
    struct strbuf oc = STRBUF_INIT;
    if (x->cluster && x->feat.zookeeper) {
        sb_puts(&oc, " ON CLUSTER ");
        ch_sql_ident(&oc, x->cluster);
    }
    const char *on = oc.len ? sb_str(&oc) : "";
    struct strbuf q = STRBUF_INIT;
    int rc = 0;
#define RUN(...)                                                                                   \
    do {                                                                                           \
        sb_reset(&q);                                                                              \
        sb_printf(&q, __VA_ARGS__);                                                                \
        if (q.oom) {                                                                               \
            rc = gp_err_set(err, -ENOMEM, "out of memory");                                        \
            goto out;                                                                              \
        }                                                                                          \
        if ((rc = ch_ddl(x, sb_str(&q), err)) < 0)                                                 \
            goto out;                                                                              \
    } while (0)
    RUN("CREATE DATABASE IF NOT EXISTS %s%s", x->dbq, on);
    RUN("CREATE TABLE IF NOT EXISTS %s.samples%s%s (service %s, minute UInt32, stack UInt64, "
        "host %s, pid UInt64, count UInt32) ENGINE = MergeTree PARTITION BY intDiv(minute, 86400) "
        "ORDER BY (service, intDiv(minute, 3600), stack, host, minute)",
        x->dbq, L, on, S, S);
    static const char *const roll[2] = {"hour", "day"};
    static const int span[2] = {3600, 86400};
    for (int i = 0; i < 2; i++) {
        RUN("CREATE TABLE IF NOT EXISTS %s.samples_%s%s%s (service %s, ts UInt32, stack UInt64, "
            "host %s, count UInt64) ENGINE = SummingMergeTree(count) PARTITION BY intDiv(ts, "
            "86400) ORDER BY (service, ts, stack, host)",
            x->dbq, roll[i], L, on, S, S);
        RUN("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.samples_%s_mv%s%s TO %s.samples_%s%s AS "
            "SELECT service, toUInt32(intDiv(minute, %d) * %d) AS ts, stack, host, "
            "toUInt64(sum(count)) AS "
            "count FROM %s.samples%s GROUP BY service, ts, stack, host",
            x->dbq, roll[i], L, on, x->dbq, roll[i], L, span[i], span[i], x->dbq, L);
    }
    RUN("CREATE TABLE IF NOT EXISTS %s.stacks%s%s (hash UInt64, day UInt32, container String, "
        "comm String, frames Array(String)) ENGINE = ReplacingMergeTree(day) PARTITION BY day "
        "ORDER BY hash",
        x->dbq, L, on);
    RUN("CREATE TABLE IF NOT EXISTS %s.profiles%s%s (pid UInt64, service %s, host %s, start_time "
        "Int64, minute UInt32, samples UInt64, cpu Float64, mem Float64) ENGINE = "
        "ReplacingMergeTree PARTITION BY intDiv(minute, 86400) ORDER BY pid",
        x->dbq, L, on, S, S);
    if (x->cluster) {
        static const struct {
            const char *name, *key;
        } dist[] = {{"samples", "stack"},
                    {"samples_hour", "stack"},
                    {"samples_day", "stack"},
                    {"stacks", "hash"},
                    {"profiles", "pid"}};
        struct strbuf cl = STRBUF_INIT;
        ch_sql_str(&cl, x->cluster);
        for (size_t i = 0; i < sizeof(dist) / sizeof(dist[0]); i++)
            RUN("CREATE TABLE IF NOT EXISTS %s.%s%s AS %s.%s_local ENGINE = Distributed(%s, %s, "
                "%s_local, %s)",
                x->dbq, dist[i].name, on, x->dbq, dist[i].name, sb_str(&cl), x->dbq, dist[i].name,
                dist[i].key);
        sb_free(&cl);
    }
    RUN("CREATE TABLE IF NOT EXISTS %s.schema_version%s (version UInt32) ENGINE = TinyLog", x->dbq,
        on);
    sb_reset(&q);
    sb_printf(&q, "SELECT max(version) FROM %s.schema_version", x->dbq);
    struct strbuf out = STRBUF_INIT;
    if ((rc = ch_exec(x, sb_str(&q), NULL, 0, NULL, NULL, &out, err)) == 0 &&
        atoi(sb_str(&out)) < SCHEMA_VERSION)
        RUN("INSERT INTO %s.schema_version VALUES (%d)", x->dbq, SCHEMA_VERSION);
    sb_free(&out);
#undef RUN
out:
    sb_free(&q);
    sb_free(&oc);
    return rc;
}

static char *xstrdup(const char *s, int *oom)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *oom = 1;
    return d;
}

void chx_close(void *impl)
{
    struct chx *x = impl;
    if (!x)
        return;
    ch_http_close(x);
    free(x->base_url);
    free(x->db);
    free(x->dbq);
    free(x->cluster);
    free(x->user);
    if (x->password) {
        explicit_bzero(x->password, strlen(x->password));
        free(x->password);
    }
    index_stack_cache_clear(&x->cache);
    for (size_t i = 0; i < x->nshards; i++)
        free(x->shards[i]);
    pthread_mutex_destroy(&x->mu);
    pthread_mutex_destroy(&x->wmu);
    free(x);
}

int chx_open(const struct store_engine_options *opts, void **impl, struct gp_err *err)
{
    if (!opts->host || !*opts->host)
        return gp_err_set(err, -EINVAL,
                          "clickhouse index: spec needs a host (clickhouse://HOST:PORT/DB)");
    struct chx *x = calloc(1, sizeof(*x));
    if (!x)
        return gp_err_set(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&x->mu, NULL);
    pthread_mutex_init(&x->wmu, NULL);
    int oom = 0, rc;
    char buf[1024], shards_s[2048];
    char *shards[16];
    size_t nshards = 0;
    struct strbuf url = STRBUF_INIT;
    sb_printf(&url, "http://%s:%d/", opts->host, opts->port ? opts->port : 8123);
    x->base_url = sb_detach(&url, NULL);
    x->db = xstrdup(opts->database && *opts->database ? opts->database : "gprof", &oom);
    x->user = xstrdup(opts->user ? opts->user : getenv("CLICKHOUSE_USER"), &oom);
    x->password = xstrdup(opts->password ? opts->password : getenv("CLICKHOUSE_PASSWORD"), &oom);
    if (!x->base_url || oom) {
        chx_close(x);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    struct strbuf dq = STRBUF_INIT;
    ch_sql_ident(&dq, x->db);
    x->dbq = sb_detach(&dq, NULL);
    x->timeout_s = 60;
    if ((rc = store_engine_param(opts, "timeout", buf, sizeof(buf))) == 1)
        x->timeout_s = atol(buf) > 0 ? atol(buf) : 60;
    /* indexer batching: one insert per table for up to batch_rows stacks, or after batch_ms */
    x->batch_rows = CH_BATCH_ROWS;
    x->batch_ms = CH_BATCH_MS;
    if ((rc = store_engine_param(opts, "batch_rows", buf, sizeof(buf))) == 1) {
        char *end;
        long long v = strtoll(buf, &end, 10);
        if (*end || v < 0 || v > 10000000) {
            chx_close(x);
            return gp_err_set(err, -EINVAL,
                              "clickhouse index: batch_rows=%.40s must be 0..10000000 (0 = "
                              "insert each outbox claim at once)",
                              buf);
        }
        x->batch_rows = (size_t)v;
    }
    if ((rc = store_engine_param(opts, "batch_ms", buf, sizeof(buf))) == 1) {
        char *end;
        long long v = strtoll(buf, &end, 10);
        if (*end || v < 0 || v > CH_BATCH_MS_MAX) {
            chx_close(x);
            return gp_err_set(err, -EINVAL, "clickhouse index: batch_ms=%.40s must be 0..%d", buf,
                              CH_BATCH_MS_MAX);
        }
        x->batch_ms = (int)v;
    }
    if ((rc = store_engine_param(opts, "cluster", buf, sizeof(buf))) < 0) {
        chx_close(x);
        return gp_err_set(err, -EINVAL, "clickhouse index: bad cluster= parameter");
    }
    if (rc == 1 && !(x->cluster = strdup(buf))) {
        chx_close(x);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    if ((rc = store_engine_param(opts, "shards", shards_s, sizeof(shards_s))) == 1) {
        for (char *sv, *t = strtok_r(shards_s, ",", &sv); t && nshards < 16;
             t = strtok_r(NULL, ",", &sv))
            shards[nshards++] = t;
    }
    if ((rc = detect(x, err)) < 0) {
        chx_close(x);
        return rc;
    }
    if (x->cluster && !x->feat.zookeeper && !nshards) {
        chx_close(x);
        return gp_err_set(err, -EINVAL,
                          "clickhouse index: cluster=%s needs ZooKeeper/Keeper on the servers for "
                          "ON CLUSTER DDL, or shards=http://HOST:PORT/,... naming every shard's "
                          "HTTP endpoint",
                          buf);
    }
    /* shard URLs: "HOST:PORT" -> "http://HOST:PORT/" */
    for (size_t i = 0; i < nshards; i++) {
        struct strbuf su = STRBUF_INIT;
        sb_printf(&su, "%s%s%s", strncmp(shards[i], "http", 4) ? "http://" : "", shards[i],
                  shards[i][strlen(shards[i]) - 1] == '/' ? "" : "/");
        if (!(x->shards[x->nshards++] = sb_detach(&su, NULL))) {
            chx_close(x);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
    }
    rc = create_schema(x, err);
    if (rc == 0)
        detect_ttl(x);
    if (rc < 0) {
        chx_close(x);
        return rc;
    }
    *impl = x;
    return 0;
}
