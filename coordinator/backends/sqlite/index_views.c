/* backends/sqlite/index_views.c — the SQLite sample index's summaries: a service's time range,
 * metric series per host and bucket, the services, and the distinct values of a dimension. */
#include "coordinator/backends/sqlite/index_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int six_time_range(void *impl, const char *service, const struct index_filter *f, int64_t *first,
                   int64_t *last, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = six_get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    int64_t sid;
    if ((rc = six_name_id(c, "services", service, 0, &sid, err)) < 0)
        return rc == -ENOENT ? gp_err_set(err, -ENOENT, "no data for service %s", service) : rc;
    struct hostsel hs;
    if ((rc = six_resolve_hosts(c, f, &hs, err)) < 0 || hs.none) {
        free(hs.ids);
        return rc < 0 ? rc : gp_err_set(err, -ENOENT, "no data for service %s", service);
    }
    struct strbuf sql = STRBUF_INIT;
    sb_puts(&sql, "SELECT MIN(start_time), MAX(start_time), COUNT(*) FROM profiles WHERE "
                  "service_id = ?");
    if (!hs.all)
        six_host_sql(&sql, &hs, "host_id");
    free(hs.ids);
    if (sql.oom)
        return gp_err_set(err, -ENOMEM, "out of memory");
    sqlite3_stmt *st;
    rc = sq_prepare(c, sb_str(&sql), &st, err);
    sb_free(&sql);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, sid);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW && sqlite3_column_int64(st, 2) > 0) {
        *first = sqlite3_column_int64(st, 0);
        *last = sqlite3_column_int64(st, 1);
        rc = 0;
    } else if (s == SQLITE_ROW) {
        rc = gp_err_set(err, -ENOENT, "no data for service %s", service);
    } else {
        rc = sq_error(c, s, err, "index time range");
    }
    sqlite3_reset(st);
    return rc;
}

int six_series(void *impl, const char *service, int64_t start, int64_t end, int64_t bucket_secs,
               const struct index_filter *f, index_series_cb cb, void *ctx, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = six_get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    int64_t sid;
    if ((rc = six_name_id(c, "services", service, 0, &sid, err)) < 0)
        return rc == -ENOENT ? 0 : rc;
    struct hostsel hs;
    if ((rc = six_resolve_hosts(c, f, &hs, err)) < 0 || hs.none) {
        free(hs.ids);
        return rc;
    }
    struct strbuf sql = STRBUF_INIT;
    sb_printf(&sql,
              "SELECT (p.minute / %lld) * %lld AS b, h.name, SUM(p.samples), COUNT(*), "
              "AVG(p.cpu_avg), MAX(p.cpu_avg), AVG(p.mem_avg), MAX(p.mem_avg) "
              "FROM profiles p JOIN hosts h ON h.id = p.host_id "
              "WHERE p.service_id = ? AND p.minute >= ? AND p.minute < ?",
              (long long)bucket_secs, (long long)bucket_secs);
    if (!hs.all)
        six_host_sql(&sql, &hs, "p.host_id");
    free(hs.ids);
    sb_puts(&sql, " GROUP BY b, p.host_id ORDER BY b, h.name");
    if (sql.oom)
        return gp_err_set(err, -ENOMEM, "out of memory");
    sqlite3_stmt *st;
    int owned;
    rc = sq_prepare_ex(c, sb_str(&sql), &st, &owned, err);
    sb_free(&sql);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, sid);
    sqlite3_bind_int64(st, 2, index_floor_to(start, 60));
    sqlite3_bind_int64(st, 3, end);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct index_series_point pt = {
                .bucket = sqlite3_column_int64(st, 0),
                .hostname = (const char *)sqlite3_column_text(st, 1),
                .samples = (uint64_t)sqlite3_column_int64(st, 2),
                .profiles = (uint32_t)sqlite3_column_int64(st, 3),
                .cpu_avg = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_double(st, 4),
                .cpu_max = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_double(st, 5),
                .mem_avg = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_double(st, 6),
                .mem_max = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_double(st, 7),
        };
        if ((rc = cb(&pt, ctx)) != 0)
            break;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = sq_error(c, s, err, "index series");
    sq_done(st, owned);
    return rc;
}

int six_services(void *impl, index_service_cb cb, void *ctx, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = six_get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st;
    int owned;
    if ((rc = sq_prepare_ex(c,
                            "SELECT s.name, MIN(p.start_time), MAX(p.start_time), COUNT(*) "
                            "FROM profiles p JOIN services s ON s.id = p.service_id "
                            "GROUP BY p.service_id ORDER BY s.name",
                            &st, &owned, err)) < 0)
        return rc;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct index_service_info si = {
                .service = (const char *)sqlite3_column_text(st, 0),
                .first = sqlite3_column_int64(st, 1),
                .last = sqlite3_column_int64(st, 2),
                .profiles = (uint64_t)sqlite3_column_int64(st, 3),
        };
        if ((rc = cb(&si, ctx)) != 0)
            break;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = sq_error(c, s, err, "index services");
    sq_done(st, owned);
    return rc;
}

struct valagg {
    char *name;
    uint64_t samples;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct valagg *)a)->name, ((const struct valagg *)b)->name);
}

static int by_samples(const void *a, const void *b)
{
    const struct valagg *x = a, *y = b;
    if (x->samples != y->samples)
        return x->samples > y->samples ? -1 : 1;
    return strcmp(x->name, y->name);
}

int six_values(void *impl, const char *service, int64_t start, int64_t end,
               enum index_dimension dim, index_value_cb cb, void *ctx, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = six_get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    if (dim == INDEX_DIM_HOST) {
        int64_t sid;
        if ((rc = six_name_id(c, "services", service, 0, &sid, err)) < 0)
            return rc == -ENOENT ? 0 : rc;
        sqlite3_stmt *st;
        int owned;
        if ((rc = sq_prepare_ex(c,
                                "SELECT h.name, SUM(p.samples) AS n FROM profiles p JOIN hosts h "
                                "ON h.id = p.host_id WHERE p.service_id = ? AND p.minute >= ? "
                                "AND p.minute < ? GROUP BY p.host_id ORDER BY n DESC, h.name",
                                &st, &owned, err)) < 0)
            return rc;
        sqlite3_bind_int64(st, 1, sid);
        sqlite3_bind_int64(st, 2, index_floor_to(start, 60));
        sqlite3_bind_int64(st, 3, end);
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW)
            if ((rc = cb((const char *)sqlite3_column_text(st, 0),
                         (uint64_t)sqlite3_column_int64(st, 1), ctx)) != 0)
                break;
        if (rc == 0 && s != SQLITE_DONE)
            rc = sq_error(c, s, err, "index values");
        sq_done(st, owned);
        return rc;
    }
    struct index_query q = {.service = service, .start = start, .end = end};
    struct index_query_stats stats = {0};
    struct kept *k;
    size_t n;
    if ((rc = sq_exec_simple(c, "BEGIN", err)) < 0)
        return rc;
    rc = six_collect(x, c, &q, &k, &n, &stats, 0, err);
    if (rc < 0) {
        sq_exec_simple(c, "ROLLBACK", NULL);
        return rc;
    }
    struct valagg *v = calloc(n ? n : 1, sizeof(*v));
    size_t nv = 0;
    sqlite3_stmt *st;
    const char *sql = dim == INDEX_DIM_CONTAINER ? "SELECT container FROM stacks WHERE id = ?"
                                                 : "SELECT comm FROM stacks WHERE id = ?";
    if (!v)
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    else
        rc = sq_prepare(c, sql, &st, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_bind_int64(st, 1, k[i].id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            if (!(v[nv].name = strdup(t ? t : "")))
                rc = gp_err_set(err, -ENOMEM, "out of memory");
            else
                v[nv++].samples = k[i].count;
        }
        sqlite3_reset(st);
    }
    sq_exec_simple(c, "COMMIT", NULL);
    free(k);
    if (rc == 0 && nv) {
        qsort(v, nv, sizeof(*v), by_name);
        size_t w = 0;
        for (size_t i = 1; i < nv; i++) {
            if (strcmp(v[i].name, v[w].name) == 0) {
                v[w].samples += v[i].samples;
                free(v[i].name);
            } else {
                v[++w] = v[i];
            }
        }
        nv = w + 1;
        qsort(v, nv, sizeof(*v), by_samples);
        for (size_t i = 0; i < nv; i++)
            if ((rc = cb(v[i].name, v[i].samples, ctx)) != 0)
                break;
    }
    for (size_t i = 0; v && i < nv; i++)
        free(v[i].name);
    free(v);
    return rc;
}
