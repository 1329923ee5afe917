/* backends/clickhouse/ch_views.c — the ClickHouse sample index's summaries from the profiles
 * table (one row per profile, duplicates of a retried marker collapsed by profile id): a
 * service's time range, metric series per host and bucket, and the services. */
#include "coordinator/backends/clickhouse/ch_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One row per profile id of service (NULL: all) passing f's host lists, with extra columns. */
static void profiles_sql(struct chx *x, struct strbuf *sb, const char *service,
                         const struct index_filter *f, const char *extra_where)
{
    sb_puts(sb, "(SELECT pid, any(host) AS p_host, any(minute) AS p_minute, any(samples) AS "
                "p_samples, any(cpu) AS p_cpu, any(mem) AS p_mem FROM ");
    ch_table(x, sb, "profiles");
    sb_puts(sb, " WHERE 1");
    if (service) {
        sb_puts(sb, " AND service = ");
        ch_sql_str(sb, service);
    }
    ch_host_lists_sql(sb, f, "host");
    sb_printf(sb, "%s GROUP BY pid)", extra_where);
}

static int run(struct chx *x, struct strbuf *sql, struct strbuf *res, struct gp_err *err)
{
    if (sql->oom)
        return gp_err_set(err, -ENOMEM, "out of memory");
    return ch_exec(x, sb_str(sql), NULL, 0, NULL, NULL, res, err);
}

int chx_time_range(void *impl, const char *service, const struct index_filter *f, int64_t *first,
                   int64_t *last, struct gp_err *err)
{
    struct chx *x = impl;
    struct strbuf sql = STRBUF_INIT, res = STRBUF_INIT;
    sb_puts(&sql, "SELECT toInt64(min(start_time)), toInt64(max(start_time)), toUInt64(count()) "
                  "FROM ");
    ch_table(x, &sql, "profiles");
    sb_puts(&sql, " WHERE service = ");
    ch_sql_str(&sql, service);
    ch_host_lists_sql(&sql, f, "host");
    sb_puts(&sql, " FORMAT RowBinary");
    int rc = run(x, &sql, &res, err);
    if (rc == 0) {
        struct rb_reader r = {(const unsigned char *)res.buf,
                              (const unsigned char *)res.buf + res.len, 0};
        int64_t a = rd_i64(&r), b = rd_i64(&r);
        uint64_t n = rd_u64(&r);
        if (r.bad)
            rc = gp_err_set(err, -EPROTO, "clickhouse: malformed time range answer");
        else if (!n)
            rc = gp_err_set(err, -ENOENT, "no data for service %s", service);
        else {
            *first = a;
            *last = b;
        }
    }
    sb_free(&sql);
    sb_free(&res);
    return rc;
}

int chx_series(void *impl, const char *service, int64_t start, int64_t end, int64_t bucket_secs,
               const struct index_filter *f, index_series_cb cb, void *ctx, struct gp_err *err)
{
    struct chx *x = impl;
    struct strbuf sql = STRBUF_INIT, res = STRBUF_INIT, w = STRBUF_INIT;
    sb_printf(&w, " AND minute >= %lld AND minute < %lld", (long long)index_floor_to(start, 60),
              (long long)end);
    sb_printf(&sql,
              "SELECT toInt64(intDiv(p_minute, %lld) * %lld) AS b, toString(p_host) AS h, "
              "toUInt64(sum(p_samples)), toUInt32(count()), "
              "if(countIf(p_cpu >= 0) = 0, -1., avgIf(p_cpu, p_cpu >= 0)), "
              "if(countIf(p_cpu >= 0) = 0, -1., maxIf(p_cpu, p_cpu >= 0)), "
              "if(countIf(p_mem >= 0) = 0, -1., avgIf(p_mem, p_mem >= 0)), "
              "if(countIf(p_mem >= 0) = 0, -1., maxIf(p_mem, p_mem >= 0)) FROM ",
              (long long)bucket_secs, (long long)bucket_secs);
    profiles_sql(x, &sql, service, f, sb_str(&w));
    sb_puts(&sql, " GROUP BY b, h ORDER BY b, h FORMAT RowBinary");
    int rc = run(x, &sql, &res, err);
    struct rb_reader r = {(const unsigned char *)res.buf, (const unsigned char *)res.buf + res.len,
                          0};
    while (rc == 0 && r.p < r.end) {
        struct index_series_point pt = {0};
        pt.bucket = rd_i64(&r);
        size_t hl;
        const char *h = rd_str(&r, &hl);
        pt.samples = rd_u64(&r);
        pt.profiles = rd_u32(&r);
        pt.cpu_avg = rd_f64(&r);
        pt.cpu_max = rd_f64(&r);
        pt.mem_avg = rd_f64(&r);
        pt.mem_max = rd_f64(&r);
        char *hs = r.bad ? NULL : strndup(h, hl);
        if (r.bad)
            rc = gp_err_set(err, -EPROTO, "clickhouse: malformed series answer");
        else if (!hs)
            rc = gp_err_set(err, -ENOMEM, "out of memory");
        else {
            pt.hostname = hs;
            rc = cb(&pt, ctx);
        }
        free(hs);
    }
    sb_free(&w);
    sb_free(&sql);
    sb_free(&res);
    return rc;
}

int chx_services(void *impl, index_service_cb cb, void *ctx, struct gp_err *err)
{
    struct chx *x = impl;
    struct strbuf sql = STRBUF_INIT, res = STRBUF_INIT;
    sb_puts(&sql, "SELECT toString(service) AS s, toInt64(min(start_time)), "
                  "toInt64(max(start_time)), toUInt64(uniqExact(pid)) FROM ");
    ch_table(x, &sql, "profiles");
    sb_puts(&sql, " GROUP BY s ORDER BY s FORMAT RowBinary");
    int rc = run(x, &sql, &res, err);
    struct rb_reader r = {(const unsigned char *)res.buf, (const unsigned char *)res.buf + res.len,
                          0};
    while (rc == 0 && r.p < r.end) {
        size_t sl;
        const char *s = rd_str(&r, &sl);
        struct index_service_info si = {NULL, rd_i64(&r), rd_i64(&r), rd_u64(&r)};
        char *name = r.bad ? NULL : strndup(s, sl);
        if (r.bad)
            rc = gp_err_set(err, -EPROTO, "clickhouse: malformed services answer");
        else if (!name)
            rc = gp_err_set(err, -ENOMEM, "out of memory");
        else {
            si.service = name;
            rc = cb(&si, ctx);
        }
        free(name);
    }
    sb_free(&sql);
    sb_free(&res);
    return rc;
}
