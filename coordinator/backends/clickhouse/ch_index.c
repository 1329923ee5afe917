/* backends/clickhouse/ch_index.c — the ClickHouse sample index's vtable, retention (whole days:
 * every table is partitioned by day, so a day goes with ALTER TABLE ... DROP PARTITION, on every
 * shard) and the health check. Files: ch_http.c (HTTP), ch_schema.c (spec, features, tables),
 * ch_sql.c (escaping, predicates, RowBinary), ch_ingest.c, ch_query.c, ch_views.c. */
#include "coordinator/backends/clickhouse/ch_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Drops table's day partitions before cutoff_day on the server the URL names (NULL: ours). */
static int drop_days(struct chx *x, const char *url, const char *table, int64_t cutoff_day,
                     struct gp_err *err)
{
    struct strbuf q = STRBUF_INIT, res = STRBUF_INIT;
    char local[256];
    snprintf(local, sizeof(local), "%s%s", table, x->cluster ? "_local" : "");
    sb_puts(&q, "SELECT DISTINCT partition FROM system.parts WHERE active AND database = ");
    ch_sql_str(&q, x->db);
    sb_puts(&q, " AND table = ");
    ch_sql_str(&q, local);
    sb_puts(&q, " FORMAT RowBinary");
    int rc = q.oom ? gp_err_set(err, -ENOMEM, "out of memory")
             : url ? ch_exec_at(x, url, NULL, sb_str(&q), &res, err)
                   : ch_exec(x, sb_str(&q), NULL, 0, NULL, NULL, &res, err);
    struct rb_reader r = {(const unsigned char *)res.buf, (const unsigned char *)res.buf + res.len,
                          0};
    while (rc == 0 && r.p < r.end) {
        size_t pl;
        const char *pv = rd_str(&r, &pl);
        if (r.bad)
            break;
        char num[32];
        snprintf(num, sizeof(num), "%.*s", (int)(pl < 31 ? pl : 31), pv);
        char *endp;
        long long day = strtoll(num, &endp, 10);
        if (*endp || day >= cutoff_day)
            continue;
        sb_reset(&q);
        sb_printf(&q, "ALTER TABLE %s.%s DROP PARTITION %lld", x->dbq, local, day);
        rc = url ? ch_exec_at(x, url, NULL, sb_str(&q), NULL, err)
                 : ch_exec(x, sb_str(&q), NULL, 0, NULL, NULL, NULL, err);
    }
    sb_free(&q);
    sb_free(&res);
    return rc;
}

static int chx_retention_impl(struct chx *x, int64_t before, int64_t *deleted, struct gp_err *err)
{
    int64_t cutoff_day = index_floor_to(before, 86400) / 86400;
    struct strbuf q = STRBUF_INIT, res = STRBUF_INIT;
    sb_puts(&q, "SELECT toUInt64(uniqExact(pid)) FROM ");
    ch_table(x, &q, "profiles");
    sb_printf(&q, " WHERE minute < %lld FORMAT RowBinary", (long long)(cutoff_day * 86400));
    int rc = q.oom ? gp_err_set(err, -ENOMEM, "out of memory")
                   : ch_exec(x, sb_str(&q), NULL, 0, NULL, NULL, &res, err);
    if (rc == 0 && deleted) {
        struct rb_reader r = {(const unsigned char *)res.buf,
                              (const unsigned char *)res.buf + res.len, 0};
        *deleted = (int64_t)rd_u64(&r);
    }
    sb_free(&q);
    sb_free(&res);
    /* profiles last: a profile without its marker is re-added, never half-dropped and kept */
    static const char *const tables[] = {"samples", "samples_hour", "samples_day", "stacks",
                                         "profiles"};
    for (size_t t = 0; rc == 0 && t < sizeof(tables) / sizeof(tables[0]); t++) {
        if (x->cluster && !x->feat.zookeeper && x->nshards) {
            for (size_t s = 0; rc == 0 && s < x->nshards; s++)
                rc = drop_days(x, x->shards[s], tables[t], cutoff_day, err);
        } else {
            rc = drop_days(x, NULL, tables[t], cutoff_day, err);
        }
    }
    return rc;
}

int chx_retention(void *impl, int64_t before, int64_t *deleted, struct gp_err *err)
{
    struct chx *x = impl;
    pthread_mutex_lock(&x->wmu);
    int rc = chx_retention_impl(x, before, deleted, err);
    index_stack_cache_clear(&x->cache);
    pthread_mutex_unlock(&x->wmu);
    return rc;
}

int chx_check(void *impl, int *ok, char *msg, size_t msgsz, struct gp_err *err)
{
    struct chx *x = impl;
    struct strbuf res = STRBUF_INIT;
    int rc = ch_exec(x, "SELECT 1", NULL, 0, NULL, NULL, &res, err);
    *ok = rc == 0;
    if (msg && msgsz)
        snprintf(msg, msgsz, "clickhouse %d.%d at %s%s%s: %s", x->feat.major, x->feat.minor,
                 x->base_url, x->cluster ? " cluster " : "", x->cluster ? x->cluster : "",
                 rc == 0 ? "answering" : "not answering");
    sb_free(&res);
    return rc;
}

const struct sample_index_ops sample_index_clickhouse_ops = {
        .version = SAMPLE_INDEX_OPS_VERSION,
        .open = chx_open,
        .close = chx_close,
        .add = chx_add,
        .has = chx_has,
        .query = chx_query,
        .time_range = chx_time_range,
        .series = chx_series,
        .services = chx_services,
        .values = chx_values,
        .retention = chx_retention,
        .check = chx_check,
        .add_batch = chx_add_batch,
        .has_many = chx_has_many,
        .batch_policy = chx_batch_policy,
};
